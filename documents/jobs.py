"""Big documents as background jobs (relief.jobs): a notice or payment sheet
of hundreds of names takes seconds to lay out, a ledger of 100,000 items
longer; the worker makes them and the user downloads the file from the job."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from django.utils.translation import gettext as _

from applications.models import Notice
from campaigns.models import Campaign
from disbursements.signing import SigningError
from documents.ledger import write_signed_ledger
from documents.notice import render_notice
from documents.payment_sheet import render_payment_sheet
from documents.pdf import DocumentError
from documents.statistics import write_statistics
from relief import jobs
from relief.models import Area, Job


def _village(job: Job) -> Area | None:
    pk = job.params.get("village")
    return Area.objects.get(pk=pk) if pk else None


def _pdf(job: Job, progress: jobs.Progress, make: Callable[[], bytes]) -> bytes:
    rows = job.params.get("rows", 0)
    progress(0, rows, _("Laying out the pages"))
    try:
        content = make()
    except DocumentError as error:
        raise jobs.JobError(error.message) from error
    progress(rows, rows, _("Done"))
    return content


@jobs.handler("documents.notice")
def notice_pdf(job: Job, progress: jobs.Progress) -> jobs.Output:
    notice = Notice.objects.select_related("campaign", "area").get(pk=job.params["notice"])
    village = _village(job)
    content = _pdf(job, progress, lambda: render_notice(notice, village))
    return jobs.Output(name=job.params["file"], content=content)


@jobs.handler("documents.payment_sheet")
def payment_sheet_pdf(job: Job, progress: jobs.Progress) -> jobs.Output:
    campaign = Campaign.objects.get(pk=job.params["campaign"])
    village = _village(job)
    content = _pdf(job, progress, lambda: render_payment_sheet(campaign, village))
    return jobs.Output(name=job.params["file"], content=content)


def _workbook(job: Job, write: Callable[[Path], object]) -> jobs.Output:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        path = Path(handle.name)
    write(path)
    return jobs.Output(name=job.params["file"], path=path)


@jobs.handler("documents.ledger")
def ledger_xlsx(job: Job, progress: jobs.Progress) -> jobs.Output:
    """The signed ledger: a .zip of the workbook and its signature file."""
    campaign = Campaign.objects.get(pk=job.params["campaign"])
    name = job.params["file"].removesuffix(".zip") + ".xlsx"
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as handle:
        path = Path(handle.name)
    try:
        write_signed_ledger(
            campaign,
            path,
            name,
            progress=lambda done, total: progress(done, total, _("Writing rows")),
        )
    except BaseException as error:
        path.unlink(missing_ok=True)
        if isinstance(error, SigningError):
            raise jobs.JobError(str(error)) from error
        raise
    return jobs.Output(name=job.params["file"], path=path)


@jobs.handler("documents.statistics")
def statistics_xlsx(job: Job, progress: jobs.Progress) -> jobs.Output:
    campaign = Campaign.objects.get(pk=job.params["campaign"])
    return _workbook(job, lambda path: write_statistics(campaign, path))
