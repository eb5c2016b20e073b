"""Two people acting at the same moment, each on their own database connection.

Only PostgreSQL has the row locks these rely on (SQLite serialises whole
writes and ignores SELECT ... FOR UPDATE), so the tests run there only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from applications import rules, services
from applications.choices import ACTIVE, COMMITTED, State
from applications.models import Application
from applications.workflow import WorkflowError
from campaigns.models import FundSource
from relief.choices import Role
from relief.models import AuditEvent
from tests.conftest import make_household, make_user

from .conftest import entry, walk

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT ... FOR UPDATE) are PostgreSQL's; run with DATABASE_URL",
    ),
]

TIMEOUT = 20  # seconds: a lock that never comes fails the test instead of hanging it


def in_parallel(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run each call in its own thread (so its own database connection), all
    released at the same moment; ("ok", value) or ("error", exception) each."""
    start = threading.Barrier(len(calls), timeout=TIMEOUT)
    outcomes: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait()
            outcomes[index] = ("ok", call())
        except Exception as error:
            outcomes[index] = ("error", error)
        finally:
            connection.close()  # this thread's connection

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
        assert not thread.is_alive(), "a thread is stuck (a lock never released?)"
    return outcomes


def waiting_for_a_lock() -> bool:
    """Whether some session of this database waits for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_two_approvers_and_the_last_of_the_budget(people, areas, campaign, monkeypatch):
    """The fund source has room for one more application of 500 and two
    supervisors approve one each at once: one is approved, the other refused
    for the fund source, and the budget holds."""
    source = FundSource.objects.get(campaign=campaign)
    # 500 already committed, budget 1,000: room for exactly one more.
    earlier = walk(people, campaign, make_household(people.superuser, areas.a, "赵六"), "approved")
    FundSource.objects.filter(pk=source.pk).update(budget=Decimal(1000))
    first = walk(people, campaign, make_household(people.superuser, areas.a, "张三"), "in_notice")
    second = walk(people, campaign, make_household(people.superuser, areas.b, "李四"), "in_notice")
    assert earlier.state == State.APPROVED
    assert first.state == second.state == State.IN_NOTICE
    assert first.amount == second.amount == 500
    one = make_user("supervisor_1", Role.TOWNSHIP_SUPERVISOR, areas.t1)
    two = make_user("supervisor_2", Role.TOWNSHIP_SUPERVISOR, areas.t1)

    # Both hold the lock on their own application before either looks at the
    # budget: without the fund source's lock both would read 500 committed and
    # both would be approved.
    both_locked = threading.Barrier(2, timeout=TIMEOUT)
    over_budget = rules.over_budget

    def racing(apps: list[Application]) -> rules.Refusals:
        both_locked.wait()
        return over_budget(apps)

    monkeypatch.setattr(rules, "over_budget", racing)
    outcomes = in_parallel(
        lambda: services.approve(one, [first.pk]),
        lambda: services.approve(two, [second.pk]),
    )

    assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
    results = [value for _kind, value in outcomes]
    assert sorted(len(r.done) for r in results) == [0, 1]
    refused = next(r for r in results if not r.done)
    assert len(refused.refused) == 1
    _app, message = refused.refused[0]
    # "镇财政 cannot pay 500: budget 1,000, already approved 1,000, left 0.": the
    # budget was read after the other approval had been committed.
    assert source.name in message
    assert message.count("1,000") == 2, message

    states = dict(
        Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "state")
    )
    assert sorted(states.values()) == [State.APPROVED, State.IN_NOTICE]
    winner = next(r for r in results if r.done).done[0]
    assert states[winner.pk] == State.APPROVED
    committed = Application.objects.filter(fund_source=source, state__in=COMMITTED).aggregate(
        total=Sum("amount")
    )["total"]
    assert committed == Decimal(1000) <= FundSource.objects.get(pk=source.pk).budget
    events = AuditEvent.objects.filter(
        action="application.approve", target_id__in=[str(first.pk), str(second.pk)]
    )
    assert [e.target_id for e in events] == [str(winner.pk)]


def test_two_clerks_enter_the_same_household_at_once(people, areas, campaign, monkeypatch):
    """One application is filed; the other clerk is told the household has one."""
    household = make_household(people.superuser, areas.a, "张三")
    other_clerk = make_user("clerk_a2", Role.VILLAGE_CLERK, areas.a)

    # Whoever takes the campaign's lock first holds it until the other is seen
    # waiting for it: they really were at the same point at the same time.
    seen_waiting = []
    disqualified = rules.disqualified

    def holding(apps: list[Application], on) -> rules.Refusals:
        deadline = time.monotonic() + TIMEOUT / 2
        while not waiting_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        seen_waiting.append(waiting_for_a_lock())
        return disqualified(apps, on)

    monkeypatch.setattr(rules, "disqualified", holding)
    outcomes = in_parallel(
        lambda: services.create_application(people.clerk_a, campaign, household, entry(campaign)),
        lambda: services.create_application(other_clerk, campaign, household, entry(campaign)),
    )

    kinds = sorted(kind for kind, _value in outcomes)
    assert kinds == ["error", "ok"], outcomes
    created = next(value for kind, value in outcomes if kind == "ok")
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, WorkflowError), error
    assert household.number in error.message
    assert seen_waiting == [True]  # only the first got this far, and the other waited
    active = Application.objects.filter(campaign=campaign, household=household, state__in=ACTIVE)
    assert list(active.values_list("pk", flat=True)) == [created.pk]
    assert AuditEvent.objects.filter(action="application.create").count() == 1
