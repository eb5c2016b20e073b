from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from relief import pruning


class Command(BaseCommand):
    help = (
        "Delete expired sessions, background jobs finished more than JOB_KEEP_DAYS ago "
        "with their files, task-queue rows finished more than TASK_RESULT_KEEP_DAYS ago "
        "and sign-in records older than ACCESS_LOG_KEEP_DAYS. The audit log is kept. "
        "Run daily (deploy/systemd/relief-prune.timer)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted, delete nothing."
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            pruned = pruning.prune(dry_run=dry_run)
            figures = {
                "sessions": pruned.sessions,
                "jobs": pruned.jobs,
                "job_days": settings.JOB_KEEP_DAYS,
                "files": pruned.files,
                "tasks": pruned.task_results,
                "task_days": settings.TASK_RESULT_KEEP_DAYS,
                "logs": pruned.access_logs,
                "log_days": settings.ACCESS_LOG_KEEP_DAYS,
            }
            if dry_run:
                text = _(
                    "Would delete: %(sessions)d expired sessions, %(jobs)d jobs finished more "
                    "than %(job_days)d days ago (%(files)d files), %(tasks)d task results "
                    "older than %(task_days)d days, %(logs)d sign-in records older than "
                    "%(log_days)d days."
                )
            else:
                text = _(
                    "Deleted: %(sessions)d expired sessions, %(jobs)d jobs finished more than "
                    "%(job_days)d days ago (%(files)d files), %(tasks)d task results older "
                    "than %(task_days)d days, %(logs)d sign-in records older than "
                    "%(log_days)d days."
                )
            self.stdout.write(text % figures)
            if pruned.kept:
                self.stderr.write(
                    _(
                        "%(count)d job files could not be deleted (see the log); their jobs "
                        "stay for the next run."
                    )
                    % {"count": len(pruned.kept)}
                )
                raise SystemExit(1)
