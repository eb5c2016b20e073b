"""/health/: can the application serve pages and get its background work done?

For a load balancer, systemd or a monitoring probe, so it is public (no
sign-in), JSON, never cached, and never a 500: a failing check answers 503 and
says which check failed and why. It holds counts and ages only, nothing about
people, and no error text from the database (which may name hosts and
accounts): the details go to the log.

Is a worker alive? django-tasks' database queue records a worker only on the
task it claims (worker_ids, started_at); an idle worker writes nothing, so the
database cannot tell an idle worker from a stopped one. What it can tell is
whether work is waiting for one: a live worker claims a ready task within its
polling interval (a second), so a task waiting longer than
HEALTH_QUEUE_MAX_WAIT_SECONDS means the workers are stopped, stuck or all busy
for that long. Either way users are waiting, which is what this check fails on.
An empty queue with a stopped worker is healthy until the next job arrives;
systemd restarts the worker (docs/deploy.md). With another task backend
(Redis), whose queue is not in the database, the oldest relief Job still
queued stands for the oldest waiting task; and on RQ the Redis server itself
is pinged: without it nothing can be sent to the background at all.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, F, Min, Q, When
from django.db.models.functions import Greatest
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_tasks_db.backend import DatabaseBackend

# The names django_tasks_db itself uses: django-tasks' now, Django's own from 6.0.
from django_tasks_db.compat import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult, get_date_max

from relief.access import public
from relief.models import Job, JobStatus

logger = logging.getLogger(__name__)

# A probe must answer quickly: a query stuck behind a lock fails the check
# instead of holding a web worker (PostgreSQL only; SQLite has no such limit).
STATEMENT_TIMEOUT_MS = 2000


@public
# Nothing here accepts a POST; exempt from the CSRF check, a POST is answered
# 405 by require_safe rather than 403 for a missing token.
@csrf_exempt
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    database = _database()
    if database["status"] == "ok":
        queue = _queue(timezone.now())
    else:
        queue = {"status": "fail", "reason": "not checked: the database is unavailable"}
    checks = {"database": database, "queue": queue}
    if settings.TASKS["default"]["BACKEND"] == settings.RQ_BACKEND:
        checks["redis"] = _redis()
    ok = all(check["status"] == "ok" for check in checks.values())
    response = JsonResponse({"status": "ok" if ok else "fail", "checks": checks})
    response.status_code = 200 if ok else 503
    response["Cache-Control"] = "no-store"
    return response


@contextlib.contextmanager
def _bounded() -> Iterator[None]:
    """The queries inside run under a short statement timeout where the
    database has one; SET LOCAL ends with the transaction, so a reused
    connection keeps its usual settings."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [STATEMENT_TIMEOUT_MS])
        yield


def _database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with _bounded(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("health: the database check failed")
        return {"status": "fail", "reason": "the database did not answer"}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def _redis() -> dict[str, Any]:
    """Ping the Redis server RQ's queue lives on, as quickly as the database
    check: a probe that waits on a dead server holds a web worker."""
    import redis

    started = time.monotonic()
    try:
        # A queue missing from RQ_QUEUES or a malformed URL fails here too,
        # as a failed check rather than a 500.
        queue = settings.TASKS["default"].get("QUEUES", ["default"])[0]
        client = redis.Redis.from_url(
            settings.RQ_QUEUES[queue]["URL"],
            socket_connect_timeout=STATEMENT_TIMEOUT_MS / 1000,
            socket_timeout=STATEMENT_TIMEOUT_MS / 1000,
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        logger.exception("health: Redis did not answer")
        return {"status": "fail", "reason": "the task queue's Redis did not answer"}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def _queue(now: datetime.datetime) -> dict[str, Any]:
    limit = settings.HEALTH_QUEUE_MAX_WAIT_SECONDS
    try:
        with _bounded():
            tasks = _tasks(now)
            jobs = Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).aggregate(
                queued=Count("pk", filter=Q(status=JobStatus.QUEUED)),
                oldest_queued=Min("created_at", filter=Q(status=JobStatus.QUEUED)),
                running=Count("pk", filter=Q(status=JobStatus.RUNNING)),
            )
    except Exception:
        logger.exception("health: the queue check failed")
        return {"status": "fail", "reason": "the queue could not be read"}
    result: dict[str, Any] = {
        "status": "ok",
        **tasks,
        "jobs_queued": jobs["queued"],
        "oldest_job_queued_seconds": _age(now, jobs["oldest_queued"]),
        "jobs_running": jobs["running"],
        "max_wait_seconds": limit,
    }
    # Another backend's queue (Redis) is not visible from here; a job still
    # waiting in the database is then the sign that no worker took its task.
    if tasks["backend"] == "database":
        waited, what = result["oldest_waiting_seconds"], "a task"
    else:
        waited, what = result["oldest_job_queued_seconds"], "a job"
    if waited is not None and waited > limit:
        result["status"] = "fail"
        result["reason"] = (
            f"{what} has waited {waited} s for a worker (limit {limit} s): is the worker running?"
        )
    return result


def _tasks(now: datetime.datetime) -> dict[str, Any]:
    """Tasks waiting for a worker in django-tasks' database queue: READY and
    due. One without a run_after is stored with the far-future date and waits
    since it was enqueued; one with a run_after, since the later of the two."""
    if not isinstance(task_backends["default"], DatabaseBackend):
        return {"backend": "other"}
    never = get_date_max()
    waiting = Q(status=TaskResultStatus.READY) & (Q(run_after=never) | Q(run_after__lte=now))
    figures = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).aggregate(
        waiting=Count("pk", filter=waiting),
        oldest=Min(
            Case(
                When(run_after=never, then=F("enqueued_at")),
                default=Greatest("enqueued_at", "run_after"),
            ),
            filter=waiting,
        ),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
    )
    return {
        "backend": "database",
        "tasks_waiting": figures["waiting"],
        "oldest_waiting_seconds": _age(now, figures["oldest"]),
        "tasks_running": figures["running"],
    }


def _age(now: datetime.datetime, since: datetime.datetime | None) -> int | None:
    if since is None:
        return None
    return max(0, int((now - since).total_seconds()))
