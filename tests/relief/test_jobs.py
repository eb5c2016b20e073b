"""Background jobs (relief.jobs): inline for small work, the database queue and
its worker for big work; progress, result, failure; a job runs once and is
its owner's alone."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from relief import jobs
from relief.models import AuditEvent, Job, JobStatus
from tests.conftest import redis_answers

calls: list[int] = []


@jobs.handler("test.echo")
def _echo(job: Job, progress: jobs.Progress) -> jobs.Output:
    calls.append(job.pk)
    total = job.params.get("rows", 3)
    for done in range(total + 1):
        progress(done, total, "counting")
    return jobs.Output(name="echo.txt", content=f"rows={total}".encode())


@jobs.handler("test.refuse")
def _refuse(job: Job, progress: jobs.Progress) -> None:
    raise jobs.JobError("名册为空")


@jobs.handler("test.crash")
def _crash(job: Job, progress: jobs.Progress) -> None:
    raise RuntimeError("bug")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    calls.clear()


def test_it_runs_small_work_inline_and_keeps_the_result(people):
    job = jobs.start(people.clerk_a, "test.echo", "echo", {"rows": 5}, background=False)
    assert job.status == JobStatus.DONE
    assert (job.done, job.total, job.percent) == (5, 5, 100)
    assert job.result.read() == b"rows=5"
    assert job.result_name == "echo.txt"


def test_it_queues_big_work_until_commit_and_the_worker_runs_it(
    people, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The worker closes connections older than CONN_MAX_AGE between tasks; in
    # this test that would be the test's own transaction (PostgreSQL).
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.start(people.clerk_a, "test.echo", "echo", {"rows": 2}, background=True)
        # Nothing runs before the transaction that made the job commits.
        assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert calls == []
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert calls == [job.pk]
    assert job.result.read() == b"rows=2"


def test_it_runs_a_job_once_even_when_delivered_twice(people):
    job = Job.objects.create(kind="test.echo", title="echo", owner=people.clerk_a)
    jobs.execute(job.pk)
    jobs.execute(job.pk)
    assert calls == [job.pk]
    job.refresh_from_db()
    assert job.attempts == 1


def test_it_marks_a_refused_job_failed_with_the_reason(people):
    job = jobs.start(people.clerk_a, "test.refuse", "refuse", {}, background=False)
    assert job.status == JobStatus.FAILED
    assert job.error == "名册为空"
    assert not job.result


def test_it_marks_a_crashed_job_failed_without_showing_the_exception(people):
    job = jobs.start(people.clerk_a, "test.crash", "crash", {}, background=False)
    assert job.status == JobStatus.FAILED
    assert "bug" not in job.error
    assert job.error


def test_it_shows_progress_and_reloads_the_page_when_done(client, people):
    job = Job.objects.create(
        kind="test.echo", title="echo", owner=people.clerk_a, done=50, total=200
    )
    client.force_login(people.clerk_a)
    response = client.get(reverse("job_progress", args=[job.pk]))
    assert response.status_code == 200
    assert b'value="25"' in response.content
    assert "HX-Refresh" not in response
    jobs.execute(job.pk)
    response = client.get(reverse("job_progress", args=[job.pk]))
    assert response["HX-Refresh"] == "true"
    response = client.get(reverse("job_download", args=[job.pk]))
    assert b"".join(response.streaming_content) == b"rows=3"


def test_it_writes_a_new_stage_at_once_but_throttles_the_counts(people):
    job = Job.objects.create(kind="test.echo", title="echo", owner=people.clerk_a)
    progress = jobs.Progress(job, every=60)
    progress(0, 10, "reading")
    progress(5, 10)  # within the minute: not written
    assert (Job.objects.get(pk=job.pk).stage, Job.objects.get(pk=job.pk).done) == ("reading", 0)
    progress(5, 10, "writing")  # a new stage: written whatever the time
    row = Job.objects.get(pk=job.pk)
    assert (row.stage, row.done) == ("writing", 5)
    assert row.heartbeat_at is not None


def test_it_hides_a_job_from_everyone_but_its_owner(client, people):
    job = jobs.start(people.clerk_a, "test.echo", "echo", {}, background=False)
    client.force_login(people.clerk_b)
    for name in ("job_detail", "job_progress", "job_download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404


# -- a worker that died -------------------------------------------------------------


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _running(owner, worker: str, *, attempts: int = 1, heartbeat=None) -> Job:
    """A job as a worker leaves it when it is killed in the middle of the work."""
    return Job.objects.create(
        kind="test.echo",
        title="echo",
        owner=owner,
        params={"rows": 4, "language": "zh-hans"},
        status=JobStatus.RUNNING,
        attempts=attempts,
        worker=worker,
        heartbeat_at=heartbeat or timezone.now(),
        done=2,
        total=4,
        stage="counting",
    )


def test_it_queues_again_a_job_whose_worker_process_is_gone(
    people, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    dead = jobs.worker_identity(_dead_pid()).rsplit(":", 1)[0] + ":12345"
    job = _running(people.clerk_a, dead)
    with django_capture_on_commit_callbacks(execute=True):  # the queue runs it at once
        changed = jobs.recover()
    assert [j.pk for j in changed] == [job.pk]
    job.refresh_from_db()
    # Run again from the start by the (immediate) queue, on commit.
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    assert calls == [job.pk]
    assert job.result.read() == b"rows=4"
    event = AuditEvent.objects.get(action="job.recovered")
    assert (event.target_id, event.from_state, event.to_state) == (
        str(job.pk),
        JobStatus.RUNNING,
        JobStatus.QUEUED,
    )
    assert event.data["worker"] == dead


def test_it_fails_a_job_clearly_once_its_attempts_are_spent(people, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = _running(people.clerk_a, f"{socket.gethostname()}:{_dead_pid()}:1", attempts=2)
    jobs.recover()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "2" in job.error and "工作进程" in job.error  # in the owner's language
    assert job.finished_at is not None
    assert calls == []


def test_it_leaves_alone_a_job_whose_worker_is_alive(people):
    job = _running(people.clerk_a, jobs.worker_identity())
    assert jobs.recover() == []
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == (JobStatus.RUNNING, 1, 2)


def test_it_tells_a_reused_pid_from_the_worker_that_died(
    people, django_capture_on_commit_callbacks
):
    # Our own pid, but a process started at another time: the worker is gone.
    host, pid, _start = jobs.worker_identity().split(":")
    job = _running(people.clerk_a, f"{host}:{pid}:1")
    with django_capture_on_commit_callbacks(execute=True):
        assert [j.pk for j in jobs.recover()] == [job.pk]


def test_it_judges_a_worker_on_another_machine_by_its_sign_of_life(
    people, settings, django_capture_on_commit_callbacks
):
    settings.JOB_STALE_SECONDS = 600
    now = timezone.now()
    quiet = _running(people.clerk_a, "other-host:42:7", heartbeat=now - timedelta(seconds=601))
    lively = _running(people.clerk_a, "other-host:43:7", heartbeat=now - timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        changed = jobs.recover(now=now)
    assert [j.pk for j in changed] == [quiet.pk]
    lively.refresh_from_db()
    assert lively.status == JobStatus.RUNNING


def test_it_records_who_runs_a_job_and_beats_while_it_runs(people, settings, monkeypatch):
    settings.JOB_HEARTBEAT_SECONDS = 0.01
    seen: list[tuple[str, str]] = []

    @jobs.handler("test.slow")
    def _slow(job: Job, progress: jobs.Progress) -> None:
        first = Job.objects.get(pk=job.pk).heartbeat_at
        time.sleep(0.3)
        seen.append((Job.objects.get(pk=job.pk).worker, str(first)))

    job = Job.objects.create(kind="test.slow", title="slow", owner=people.clerk_a)
    beats = []
    real = jobs._Heartbeat.run

    def counting(self):
        beats.append(self.job_id)
        real(self)

    monkeypatch.setattr(jobs._Heartbeat, "run", counting)
    jobs.execute(job.pk, heartbeat=True)
    assert seen[0][0] == jobs.worker_identity()
    assert beats == [job.pk]
    assert not any(t.name == f"job-{job.pk}-heartbeat" for t in threading.enumerate())
    job.refresh_from_db()
    assert job.status == JobStatus.DONE


def test_the_worker_command_takes_up_jobs_left_running_first(people, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )
    job = _running(people.clerk_a, f"{socket.gethostname()}:{_dead_pid()}:1")
    # recover() queues it on commit of its own transaction; in this test's
    # transaction on_commit would wait for the test's end, so run it directly.
    monkeypatch.setattr(transaction, "on_commit", lambda callback, **kwargs: callback())
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2


# -- the same jobs on Redis with RQ (requirements-rq.txt) ------------------------------


@pytest.fixture
def on_rq(settings):
    """TASKS on RQ with a Redis database of its own, emptied before and after."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.TASKS = {"default": {"BACKEND": settings.RQ_BACKEND, "QUEUES": ["default"]}}
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.mark.skipif(not redis_answers(), reason="needs Redis on 127.0.0.1:6379")
def test_it_runs_the_same_jobs_on_redis_with_rq(
    people, on_rq, django_capture_on_commit_callbacks, monkeypatch
):
    import django_rq
    from django_rq.management.commands.rqworker import Command as RQWorker

    # The worker closes every connection when it starts; in this test that
    # would be the test's own transaction (PostgreSQL).
    monkeypatch.setattr("django_rq.management.commands.rqworker.reset_db_connections", lambda: None)

    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.start(people.clerk_a, "test.echo", "echo", {"rows": 2}, background=True)
    assert django_rq.get_queue("default").count == 1  # on Redis, not in the database
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    # A worker without fork, so it shares this test's database transaction.
    call_command(
        RQWorker(),
        "default",
        burst=True,
        job_class="django_tasks_rq.Job",
        worker_class="rq.worker.SimpleWorker",
        verbosity=0,
    )
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert calls == [job.pk]
    assert job.result.read() == b"rows=2"
    assert django_rq.get_queue("default").count == 0


def test_the_worker_command_runs_rqs_worker_when_the_queue_is_redis(people, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": settings.RQ_BACKEND, "QUEUES": ["default"]}}
    ran: list[tuple] = []
    monkeypatch.setattr(
        "relief.management.commands.worker.call_command",
        lambda *args, **kwargs: ran.append((args, kwargs)),
    )
    job = _running(people.clerk_a, f"{socket.gethostname()}:{_dead_pid()}:1", attempts=3)
    call_command("worker", "--batch", verbosity=0)
    assert ran == [
        (
            ("rqworker", "default"),
            {"job_class": "django_tasks_rq.Job", "burst": True, "verbosity": 0},
        )
    ]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED  # recovered first, whatever the queue
