"""/health/: the database and the background queue, for probes that do not
sign in; a failing check is a 503 naming the reason, never a 500."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from relief import jobs
from relief.models import Job, JobStatus
from tests.conftest import redis_answers

URL = "/health/"


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 600


def _waiting_task(waited: timedelta, **fields) -> DBTaskResult:
    """A task as the real queue stores it, enqueued `waited` ago."""
    result = jobs.run_job.enqueue(123)
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - waited, **fields)
    return DBTaskResult.objects.get(pk=result.id)


def test_the_url_is_named_health():
    assert reverse("health") == URL


def test_it_is_ok_with_a_database_and_an_empty_queue(client, db):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    queue = body["checks"]["queue"]
    assert queue["status"] == "ok"
    assert (queue["backend"], queue["tasks_waiting"], queue["oldest_waiting_seconds"]) == (
        "database",
        0,
        None,
    )
    assert (queue["jobs_queued"], queue["max_wait_seconds"]) == (0, 600)


def test_it_answers_anonymous_callers_without_a_redirect_to_sign_in(client, db):
    assert "_auth_user_id" not in client.session
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_answers_head_and_refuses_posts(client, db):
    assert client.head(URL).status_code == 200
    # As a real client meets it: with CSRF checks on, still 405, not 403.
    response = Client(enforce_csrf_checks=True).post(URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_it_reports_waiting_work_that_is_within_the_limit(client, people):
    _waiting_task(timedelta(seconds=120))
    Job.objects.create(kind="roster.import", title="张三 名册", owner=people.clerk_a)
    response = client.get(URL)
    assert response.status_code == 200
    queue = response.json()["checks"]["queue"]
    assert queue["tasks_waiting"] == 1
    assert 120 <= queue["oldest_waiting_seconds"] < 180
    assert queue["jobs_queued"] == 1
    assert queue["oldest_job_queued_seconds"] < 60
    # Counts and ages only: no job title, owner or argument.
    text = response.content.decode()
    assert "张三" not in text and "clerk_a" not in text and "123" not in text


def test_it_fails_when_a_task_has_waited_longer_than_the_limit(client, db, settings):
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 300
    _waiting_task(timedelta(seconds=900))
    _waiting_task(timedelta(seconds=10))
    response = client.get(URL)
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    queue = body["checks"]["queue"]
    assert queue["status"] == "fail"
    assert queue["tasks_waiting"] == 2
    assert 900 <= queue["oldest_waiting_seconds"] < 960
    assert "limit 300 s" in queue["reason"]


def test_it_counts_only_tasks_that_wait_for_a_worker(client, db, settings):
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 300
    now = timezone.now()
    # Running, finished, and scheduled for later: none of them waits for a worker.
    _waiting_task(timedelta(hours=2), status=TaskResultStatus.RUNNING, started_at=now)
    _waiting_task(timedelta(hours=2), status=TaskResultStatus.SUCCESSFUL, finished_at=now)
    _waiting_task(timedelta(hours=2), run_after=now + timedelta(hours=1))
    # Scheduled an hour after it was enqueued, due 100 s ago: it has waited 100 s.
    _waiting_task(timedelta(hours=2), run_after=now - timedelta(seconds=100))
    response = client.get(URL)
    assert response.status_code == 200
    queue = response.json()["checks"]["queue"]
    assert (queue["tasks_waiting"], queue["tasks_running"]) == (1, 1)
    assert 100 <= queue["oldest_waiting_seconds"] < 160


def test_it_judges_another_backend_by_the_jobs_still_queued(client, people, settings):
    _waiting_task(timedelta(hours=1))  # a left-over row of the database queue: not looked at
    # Redis's queue is not in the database: a job still queued is what waits.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 300
    job = Job.objects.create(kind="roster.import", title="名册", owner=people.clerk_a)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["checks"]["queue"]["backend"] == "other"
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=400))
    response = client.get(URL)
    assert response.status_code == 503
    queue = response.json()["checks"]["queue"]
    assert "tasks_waiting" not in queue
    assert 400 <= queue["oldest_job_queued_seconds"] < 460
    assert queue["reason"].startswith("a job has waited")


def test_it_fails_with_503_when_the_database_does_not_answer(client, db):
    with mock.patch.object(
        CursorWrapper, "execute", side_effect=OperationalError("could not connect to server")
    ):
        response = client.get(URL)
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {
        "status": "fail",
        "reason": "the database did not answer",
    }
    assert body["checks"]["queue"]["status"] == "fail"
    # The driver's message (hosts, accounts) stays in the log.
    assert "could not connect" not in response.content.decode()


def test_it_fails_with_503_when_the_queue_cannot_be_read(client, db):
    with mock.patch.object(Job.objects, "filter", side_effect=OperationalError("no such table")):
        response = client.get(URL)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["queue"] == {"status": "fail", "reason": "the queue could not be read"}


def test_it_runs_a_small_fixed_number_of_queries(client, people):
    def statements() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        # Transaction control (PostgreSQL's statement timeout, the test's
        # savepoints) aside: the probe itself, the task queue and the jobs.
        return [
            q["sql"]
            for q in captured.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL"))
        ]

    empty = statements()
    assert len(empty) == 3
    for _ in range(5):
        _waiting_task(timedelta(seconds=5))
        Job.objects.create(kind="roster.import", title="名册", owner=people.clerk_a)
    Job.objects.create(
        kind="roster.import", title="名册", owner=people.clerk_a, status=JobStatus.RUNNING
    )
    assert len(statements()) == len(empty)


# -- on RQ, Redis as well ----------------------------------------------------------------


def _on_rq(settings, url: str) -> None:
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.TASKS = {"default": {"BACKEND": settings.RQ_BACKEND, "QUEUES": ["default"]}}


def test_it_fails_with_503_when_the_queues_redis_does_not_answer(client, db, settings):
    # Port 1: nothing listens there, the connection is refused at once.
    _on_rq(settings, "redis://:secret@127.0.0.1:1/0")
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"] == {
        "status": "fail",
        "reason": "the task queue's Redis did not answer",
    }
    # Neither the address nor its password: the details go to the log.
    assert "127.0.0.1" not in response.content.decode()
    assert "secret" not in response.content.decode()


@pytest.mark.skipif(not redis_answers(), reason="needs Redis on 127.0.0.1:6379")
def test_it_is_ok_on_rq_when_redis_answers(client, db, settings):
    _on_rq(settings, "redis://127.0.0.1:6379/15")
    response = client.get(URL)
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["redis"]["status"] == "ok"
    assert checks["queue"]["backend"] == "other"


def test_it_fails_with_503_when_rq_names_no_redis_for_its_queue(client, db, settings):
    settings.RQ_QUEUES = {}
    settings.TASKS = {"default": {"BACKEND": settings.RQ_BACKEND, "QUEUES": ["default"]}}
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "fail"


def test_it_does_not_look_for_redis_on_the_database_queue(client, db):
    assert "redis" not in client.get(URL).json()["checks"]
