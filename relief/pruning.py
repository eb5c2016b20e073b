"""What piles up and is worth nothing after a while, deleted (`manage.py
prune`, daily): expired sessions, finished background jobs with their result
files, the task queue's finished rows, old sign-in records. Each kept for the
days the settings give (JOB_KEEP_DAYS, TASK_RESULT_KEEP_DAYS,
ACCESS_LOG_KEEP_DAYS). The audit log is not touched: it is the record.

A job's file is a ledger or a payment sheet with full ID numbers: deleting it
when nobody needs it any more is data protection, not only disk space.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from importlib import import_module

from axes.models import AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from relief import audit
from relief.models import Job, JobStatus

logger = logging.getLogger(__name__)

BATCH = 1000


DATABASE_SESSIONS = "django.contrib.sessions.backends.db"


@dataclass
class Pruned:
    sessions: int = 0
    jobs: int = 0
    files: int = 0
    task_results: int = 0
    access_logs: int = 0
    # Jobs whose file could not be deleted: their rows stay, for the next run.
    kept: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "sessions": self.sessions,
            "jobs": self.jobs,
            "files": self.files,
            "task_results": self.task_results,
            "access_logs": self.access_logs,
            "jobs_kept": len(self.kept),
        }


def prune(*, now: datetime.datetime | None = None, dry_run: bool = False) -> Pruned:
    """Delete what is past keeping; with dry_run, only count it."""
    now = now or timezone.now()
    pruned = Pruned()
    in_database = settings.SESSION_ENGINE == DATABASE_SESSIONS
    sessions = Session.objects.filter(expire_date__lt=now)
    jobs = Job.objects.filter(
        status__in=[JobStatus.DONE, JobStatus.FAILED],
        finished_at__lt=now - datetime.timedelta(days=settings.JOB_KEEP_DAYS),
    ).order_by("pk")
    task_results = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=now - datetime.timedelta(days=settings.TASK_RESULT_KEEP_DAYS),
    )
    access_logs = AccessLog.objects.filter(
        attempt_time__lt=now - datetime.timedelta(days=settings.ACCESS_LOG_KEEP_DAYS)
    )
    if dry_run:
        pruned.sessions = sessions.count() if in_database else 0
        pruned.jobs = jobs.count()
        pruned.files = jobs.exclude(result="").count()
        pruned.task_results = task_results.count()
        pruned.access_logs = access_logs.count()
        return pruned
    if in_database:
        pruned.sessions = sessions.delete()[0]
    else:
        # Another engine (cache, files) expires its own way: what
        # `manage.py clearsessions` calls.
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    _prune_jobs(jobs, pruned)
    pruned.task_results = task_results.delete()[0]
    pruned.access_logs = access_logs.delete()[0]
    audit.record(None, "system.prune", **pruned.counts())
    return pruned


def _prune_jobs(jobs: QuerySet[Job], pruned: Pruned) -> None:
    """The file first, then the row: a file that cannot be deleted keeps its
    row, so the next run tries again and no file is left behind unnamed."""
    while batch := list(jobs.exclude(pk__in=pruned.kept)[:BATCH]):
        gone: list[int] = []
        for job in batch:
            if job.result:
                try:
                    job.result.storage.delete(job.result.name)
                except Exception:  # OSError on disk; the S3 client raises its own
                    logger.exception("prune: the file of job %s could not be deleted", job.pk)
                    pruned.kept.add(job.pk)
                    continue
                pruned.files += 1
            gone.append(job.pk)
        with transaction.atomic():
            # Finished is final (only running jobs are retried), so the rows
            # read above are still the ones to go. Rosters keep theirs (SET_NULL).
            _total, by_model = Job.objects.filter(pk__in=gone).delete()
            pruned.jobs += by_model.get(Job._meta.label, 0)
