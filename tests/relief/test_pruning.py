"""manage.py prune: what is past keeping goes, the rest stays, the audit log
records the run and is never pruned itself."""

from __future__ import annotations

import datetime
import io

import pytest
from axes.models import AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from relief import jobs, pruning
from relief.models import AuditEvent, Job, JobStatus

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture(autouse=True)
def keep_days(settings, tmp_path):
    settings.LANGUAGE_CODE = "en"  # the command's output, in the site's language
    settings.MEDIA_ROOT = tmp_path
    settings.JOB_KEEP_DAYS = 30
    settings.TASK_RESULT_KEEP_DAYS = 7
    settings.ACCESS_LOG_KEEP_DAYS = 180


def finished_job(owner, days_ago: float, *, status=JobStatus.DONE, file: bool = True) -> Job:
    job = Job.objects.create(kind="ledger", title="台账", owner=owner, status=status)
    if file:
        job.result.save("ledger.xlsx", ContentFile(b"full ID numbers"), save=False)
    job.finished_at = NOW - datetime.timedelta(days=days_ago)
    job.save()
    return job


def task_result(status: str, days_ago: float) -> DBTaskResult:
    result = jobs.run_job.enqueue(1)
    finished = NOW - datetime.timedelta(days=days_ago)
    DBTaskResult.objects.filter(pk=result.id).update(status=status, finished_at=finished)
    return DBTaskResult.objects.get(pk=result.id)


def test_it_deletes_jobs_finished_before_the_keep_days_and_their_files(people):
    old = finished_job(people.clerk_a, 31)
    old_failed = finished_job(people.clerk_a, 40, status=JobStatus.FAILED, file=False)
    recent = finished_job(people.clerk_a, 29)
    running = Job.objects.create(
        kind="ledger", title="台账", owner=people.clerk_a, status=JobStatus.RUNNING
    )
    old_file = old.result.name

    pruned = pruning.prune(now=NOW)

    assert (pruned.jobs, pruned.files) == (2, 1)
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not default_storage.exists(old_file)
    assert default_storage.exists(recent.result.name)
    assert not Job.objects.filter(pk=old_failed.pk).exists()


def test_it_keeps_a_job_whose_file_cannot_be_deleted_for_the_next_run(people, monkeypatch):
    stuck = finished_job(people.clerk_a, 31)
    other = finished_job(people.clerk_a, 32)
    delete = FileSystemStorage.delete

    def refuse(storage, name):
        if name == stuck.result.name:
            raise PermissionError(name)
        return delete(storage, name)

    monkeypatch.setattr(FileSystemStorage, "delete", refuse)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("prune", stdout=out, stderr=err)

    assert exited.value.code == 1
    assert "1 job files could not be deleted (see the log)" in err.getvalue()
    assert list(Job.objects.values_list("pk", flat=True)) == [stuck.pk]
    assert not Job.objects.filter(pk=other.pk).exists()


def test_it_deletes_expired_sessions_and_keeps_live_ones(db):
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=NOW - datetime.timedelta(minutes=1)
    )

    assert pruning.prune(now=NOW).sessions == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_it_deletes_finished_task_results_past_their_days_only(db):
    old_done = task_result(TaskResultStatus.SUCCESSFUL, 8)
    old_failed = task_result(TaskResultStatus.FAILED, 9)
    recent = task_result(TaskResultStatus.SUCCESSFUL, 6)
    waiting = jobs.run_job.enqueue(2)

    assert pruning.prune(now=NOW).task_results == 2
    left = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert left == {str(recent.pk), str(waiting.id)}
    assert str(old_done.pk) not in left and str(old_failed.pk) not in left


def test_it_deletes_sign_in_records_past_their_days(db):
    old = AccessLog.objects.create(username="clerk_a", ip_address="10.0.0.1", user_agent="x")
    AccessLog.objects.filter(pk=old.pk).update(attempt_time=NOW - datetime.timedelta(days=181))
    recent = AccessLog.objects.create(username="clerk_a", ip_address="10.0.0.1", user_agent="x")

    assert pruning.prune(now=NOW).access_logs == 1
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent.pk]


def test_a_dry_run_counts_and_deletes_nothing(people):
    finished_job(people.clerk_a, 31)
    task_result(TaskResultStatus.SUCCESSFUL, 8)
    events = AuditEvent.objects.count()
    out = io.StringIO()

    call_command("prune", "--dry-run", stdout=out)

    assert out.getvalue().startswith(
        "Would delete: 0 expired sessions, 1 jobs finished more than 30 days ago (1 files), "
        "1 task results older than 7 days, 0 sign-in records older than 180 days."
    )
    assert (Job.objects.count(), DBTaskResult.objects.count()) == (1, 1)
    assert AuditEvent.objects.count() == events


def test_it_records_the_run_in_the_audit_log_and_leaves_the_log_alone(people):
    finished_job(people.clerk_a, 31)
    old_event = AuditEvent.objects.create(action="test.old", data={})
    AuditEvent.objects.filter(pk=old_event.pk).update(at=NOW - datetime.timedelta(days=3650))

    call_command("prune", stdout=io.StringIO())

    event = AuditEvent.objects.get(action="system.prune")
    assert event.actor is None
    assert (event.data["jobs"], event.data["files"], event.data["jobs_kept"]) == (1, 1, 0)
    assert AuditEvent.objects.filter(pk=old_event.pk).exists()


def test_it_reports_in_the_sites_language(people, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    finished_job(people.clerk_a, 31)
    out = io.StringIO()
    call_command("prune", stdout=out)
    assert out.getvalue().startswith("已删除：")
