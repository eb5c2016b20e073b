"""Background jobs (relief.jobs): inline for small work, the database queue and
its worker for big work; progress, result, failure; a job runs once and is
its owner's alone."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from relief import jobs
from relief.models import Job, JobStatus

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


def test_it_hides_a_job_from_everyone_but_its_owner(client, people):
    job = jobs.start(people.clerk_a, "test.echo", "echo", {}, background=False)
    client.force_login(people.clerk_b)
    for name in ("job_detail", "job_progress", "job_download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
