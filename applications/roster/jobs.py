"""The roster import as background jobs (relief.jobs): the check (preview) and
the import of a big roster run in the worker and report progress."""

from __future__ import annotations

from applications.roster import services
from applications.roster.models import RosterImport
from applications.workflow import WorkflowError
from relief import jobs
from relief.models import Job


def _roster(job: Job) -> RosterImport:
    return (
        RosterImport.objects.select_related("campaign__area")
        .defer(*services.BIG)
        .get(pk=job.params["roster"])
    )


@jobs.handler("roster.check")
def check_roster(job: Job, progress: jobs.Progress) -> None:
    try:
        services.preview(job.owner, _roster(job), progress=progress)
    except WorkflowError as error:
        raise jobs.JobError(error.message) from error


@jobs.handler("roster.import")
def import_roster(job: Job, progress: jobs.Progress) -> None:
    try:
        services.carry_out(
            job.owner, _roster(job), valid_only=job.params["valid_only"], progress=progress
        )
    except WorkflowError as error:
        raise jobs.JobError(error.message) from error
