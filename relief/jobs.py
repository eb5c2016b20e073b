"""Background jobs: one mechanism for every long piece of work (roster imports,
big PDFs and ledgers).

A job is a row (relief.models.Job) that holds what the user sees: progress,
result file, error. The task queue (django-tasks; by default its database
backend, so no extra server: `manage.py worker`, started by `make run`) only
carries the job's id. Small work runs the same handler inline, in the request,
so both paths share one code path and one set of tests.

A handler is all or nothing: it writes in one transaction at its end (or only
returns its output, saved by _finish), so a job killed midway has left nothing
behind. recover() finds jobs whose worker died (its process is gone, or it has
given no sign of life for JOB_STALE_SECONDS) and queues them again from the
start, or marks them failed after JOB_MAX_ATTEMPTS.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import DatabaseError, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import task

from relief import audit
from relief.models import Job, JobStatus, User
from relief.storage import no_room

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
        new_stage = stage is not None and stage != self.job.stage
        if now - self._last < self.every and done < total and not new_stage:
            return
        self._last = now
        fields: dict[str, Any] = {"done": done, "total": total, "heartbeat_at": timezone.now()}
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
    execute(job_id, heartbeat=True)


def _claim(job_id: int) -> Job | None:
    """Mark the job running; None when it is not waiting (already taken by
    another worker, or a duplicate delivery of the same task): a job runs once."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        job.status, job.started_at = JobStatus.RUNNING, timezone.now()
        job.worker, job.heartbeat_at = worker_identity(), job.started_at
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "worker", "heartbeat_at", "attempts"])
    return job


def execute(job_id: int, *, heartbeat: bool = False) -> None:
    """Run a waiting job. `heartbeat`: in a worker, a thread marks the job
    alive every JOB_HEARTBEAT_SECONDS while the work runs (a long transaction
    reports no progress), so a worker on another machine can tell it from a
    dead one."""
    job = _claim(job_id)
    if job is None:
        return
    beat = _Heartbeat(job.pk) if heartbeat else None
    if beat is not None:
        beat.start()
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
    finally:
        if beat is not None:
            beat.stop()
    _finish(job, JobStatus.DONE, output=output)


class _Heartbeat(threading.Thread):
    """Marks a running job alive from its own database connection."""

    def __init__(self, job_id: int) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self._stopped = job_id, threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                # It fails on SQLite while the work holds the write lock: one
                # machine only, where recover() asks the process itself instead.
                with contextlib.suppress(DatabaseError):
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def worker_identity(pid: int | None = None) -> str:
    """host:pid:start of this process; the start time (from /proc) tells our
    process from a later one that was given the same pid."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid)}"


def _started(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # Field 22, counted after the command name, which may hold spaces.
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(worker: str) -> bool | None:
    """Is the process that claimed a job still running? None when it ran on
    another machine (or did not say who it was): only its heartbeat can tell."""
    host, _sep, rest = worker.partition(":")
    pid_text, _sep, started = rest.partition(":")
    if not worker or host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another account
    return _started(pid) == started


def recover(*, now: datetime.datetime | None = None) -> list[Job]:
    """Queue again, from the start, the running jobs whose worker died, or mark
    them failed once they have been tried JOB_MAX_ATTEMPTS times. Safe to run
    from any number of workers at once: each job is decided under its row lock.
    Returns the jobs changed."""
    now = now or timezone.now()
    silent_since = now - datetime.timedelta(seconds=settings.JOB_STALE_SECONDS)
    changed = []
    for job in Job.objects.filter(status=JobStatus.RUNNING).only("pk", "worker", "heartbeat_at"):
        alive = _alive(job.worker)
        if alive or (alive is None and (job.heartbeat_at or now) > silent_since):
            continue
        found = _give_up_or_retry(job.pk, job.worker, now)
        if found is not None:
            changed.append(found)
    return changed


class Reaper(threading.Thread):
    """Runs recover() every `every` seconds beside a worker, so a job whose
    worker died is taken up again without anyone restarting anything."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__(name="job-reaper", daemon=True)
        self.every, self._stopped = every, threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.every):
                try:
                    recover()
                except DatabaseError:
                    logger.warning("recovering jobs failed; trying again later", exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def _give_up_or_retry(job_id: int, worker: str, now: datetime.datetime) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING or job.worker != worker:
            return None  # it moved on meanwhile
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            job.status, job.stage, job.done, job.error = JobStatus.QUEUED, "", 0, ""
            transaction.on_commit(lambda: run_job.enqueue(job_id))
        else:
            with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
                job.error = ngettext(
                    "The worker stopped while running this job, so it was not tried again. "
                    "Nothing of it was saved; start it again, or ask the administrator to look "
                    "at the worker's log.",
                    "The worker stopped while running this job, %(count)d times, so it was not "
                    "tried again. Nothing of it was saved; start it again, or ask the "
                    "administrator to look at the worker's log.",
                    job.attempts,
                ) % {"count": job.attempts}
            job.status, job.finished_at = JobStatus.FAILED, now
        job.worker, job.heartbeat_at = "", None
        job.save()
        audit.record(
            None,
            "job.recovered",
            job,
            from_state=JobStatus.RUNNING,
            to_state=job.status,
            reason="worker stopped",
            worker=worker,
            attempts=job.attempts,
        )
    logger.warning("job %s: worker %s stopped; now %s", job_id, worker, job.status)
    return job


def _finish(job: Job, status: str, *, error: str = "", output: Output | None = None) -> None:
    job.refresh_from_db(fields=["done", "total", "stage"])
    if output is not None:
        try:
            _keep(job, output)
        except OSError as failure:
            if not no_room(failure):
                raise
            logger.error("job %s: no room for its result: %s", job.pk, failure)
            status, job.result_name = JobStatus.FAILED, ""
            error = _(
                "The server's disk is full, so the result could not be kept. Tell your "
                "administrator, then start the job again."
            )
    job.status, job.error, job.finished_at = status, error, timezone.now()
    if status == JobStatus.DONE and job.total:
        job.done = job.total
    job.save()


def _keep(job: Job, output: Output) -> None:
    job.result_name = output.name
    if output.path is not None:
        try:
            with output.path.open("rb") as handle:
                job.result.save(output.name, File(handle), save=False)
        finally:
            output.path.unlink(missing_ok=True)
    else:
        job.result.save(output.name, ContentFile(output.content or b""), save=False)
