"""The background worker. On the default queue (the database) it is
django-tasks' `db_worker`, with all its options; with TASKS_BACKEND set to RQ
it is django-rq's `rqworker` on the same tasks (`--batch` becomes `--burst`).
Either way it first takes up the jobs a dead worker left running and keeps
looking for such jobs while it runs (relief.jobs.recover)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django_tasks_db.management.commands import db_worker

from relief import jobs


def _on_rq() -> bool:
    return settings.TASKS["default"]["BACKEND"] == settings.RQ_BACKEND


class Command(db_worker.Command):
    help = "Run background jobs; take up again those a stopped worker left running."

    def add_arguments(self, parser: ArgumentParser) -> None:
        if _on_rq():
            parser.add_argument(
                "--batch", action="store_true", help="Stop when the queue is empty."
            )
        else:
            super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for job in jobs.recover():
            self.stderr.write(f"job {job.pk} ({job.kind}): its worker had stopped; {job.status}")
        reaper = jobs.Reaper()
        reaper.start()
        try:
            if _on_rq():
                call_command(
                    "rqworker",
                    *settings.TASKS["default"]["QUEUES"],
                    job_class="django_tasks_rq.Job",
                    burst=options["batch"],
                    verbosity=options["verbosity"],
                )
            else:
                super().handle(*args, **options)
        finally:
            reaper.stop()
