"""Background jobs: one mechanism for every long piece of work (roster imports,
big PDFs and ledgers).

A job is a row (relief.models.Job) that holds what the user sees: progress,
result file, error. The task queue (django-tasks; by default its database
backend, so no extra server: `manage.py db_worker`, started by `make run`) only
carries the job's id. Small work runs the same handler inline, in the request,
so both paths share one code path and one set of tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from relief.models import Job, JobStatus, User

logger = logging.getLogger(__name__)


class JobError(Exception):
    """A failure the user can act on; its message is shown as the job's error."""


@dataclass
class Output:
    """What a job produced: a download named `name`, given as bytes or as a
    path to a file the handler wrote (big ledgers are never held in memory)."""

    name: str
    content: bytes | None = None
    path: Path | None = None


Handler = Callable[[Job, "Progress"], Output | None]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does the work of jobs of this kind."""

    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        return function

    return register


class Progress:
    """Reports progress to the job's row, at most a few times a second.

    Call it outside the work's own transaction: an UPDATE inside it would stay
    invisible to the page polling for progress until the very end.
    """

    def __init__(self, job: Job, *, every: float = 0.3) -> None:
        self.job, self.every, self._last = job, every, 0.0

    def __call__(self, done: int, total: int, stage: str | None = None) -> None:
        now = time.monotonic()
        if now - self._last < self.every and done < total:
            return
        self._last = now
        fields: dict[str, Any] = {"done": done, "total": total}
        if stage is not None:
            fields["stage"] = stage
        Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)


def start(actor: User, kind: str, title: str, params: dict[str, Any], *, background: bool) -> Job:
    """Create a job; run it now (small work) or queue it for the worker once the
    surrounding transaction commits (so the worker never misses the row)."""
    if kind not in _HANDLERS:
        raise LookupError(f"no handler for jobs of kind {kind!r}")
    # The work speaks the language of the page that asked for it.
    params = {**params, "language": translation.get_language()}
    job = Job.objects.create(kind=kind, title=title[:200], owner=actor, params=params)
    if background:
        transaction.on_commit(lambda: run_job.enqueue(job.pk))
    else:
        execute(job.pk)
        job.refresh_from_db()
    return job


@task()
def run_job(job_id: int) -> None:
    execute(job_id)


def _claim(job_id: int) -> Job | None:
    """Mark the job running; None when it is not waiting (already taken by
    another worker, or a duplicate delivery of the same task): a job runs once."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        job.status, job.started_at = JobStatus.RUNNING, timezone.now()
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "attempts"])
    return job


def execute(job_id: int) -> None:
    job = _claim(job_id)
    if job is None:
        return
    try:
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            output = _HANDLERS[job.kind](job, Progress(job))
    except (JobError, ValidationError) as error:
        message = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        _finish(job, JobStatus.FAILED, error=message)
        return
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _finish(
            job,
            JobStatus.FAILED,
            error=_(
                "The job failed unexpectedly. The administrator can find the details in the log."
            ),
        )
        return
    _finish(job, JobStatus.DONE, output=output)


def _finish(job: Job, status: str, *, error: str = "", output: Output | None = None) -> None:
    job.refresh_from_db(fields=["done", "total", "stage"])
    if output is not None:
        job.result_name = output.name
        if output.path is not None:
            with output.path.open("rb") as handle:
                job.result.save(output.name, File(handle), save=False)
            output.path.unlink(missing_ok=True)
        else:
            job.result.save(output.name, ContentFile(output.content or b""), save=False)
    job.status, job.error, job.finished_at = status, error, timezone.now()
    if status == JobStatus.DONE and job.total:
        job.done = job.total
    job.save()
