"""Two clerks, or one tablet sending twice, at the same moment: each payment
is handed over, signed and planned once (PostgreSQL: row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from applications.choices import State
from disbursements import chain, services
from disbursements.choices import Action, PaymentState
from disbursements.models import Payment, PaymentEvent
from tests.applications.test_concurrency import in_parallel
from tests.conftest import make_household

from .conftest import receipt, walk

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT ... FOR UPDATE) are PostgreSQL's; run with DATABASE_URL",
    ),
]


@pytest.fixture
def payment(people, areas, campaign) -> Payment:
    walk(people, campaign, make_household(people.superuser, areas.a, "张三"), State.APPROVED)
    services.plan_payments(people.township_clerk, campaign)
    return Payment.objects.get()


def test_it_records_two_concurrent_hand_overs_once(people, campaign, payment):
    outcomes = in_parallel(
        lambda: services.hand_over(people.clerk_a, payment),
        lambda: services.hand_over(people.township_clerk, payment),
    )
    assert [kind for kind, _value in outcomes] == ["ok", "ok"]
    assert PaymentEvent.objects.filter(payment=payment, action=Action.HANDED_OVER).count() == 1
    assert Payment.objects.get().state == PaymentState.HANDED_OVER
    assert chain.verify(campaign).ok


def test_it_records_a_receipt_sent_twice_at_once_once(people, campaign, payment):
    outcomes = in_parallel(
        lambda: services.sign(people.clerk_a, payment, receipt(key="tablet-1")),
        lambda: services.sign(people.clerk_a, payment, receipt(key="tablet-1")),
    )
    # The second waits for the first's lock, then finds its own key recorded.
    assert [kind for kind, _value in outcomes] == ["ok", "ok"]
    assert PaymentEvent.objects.filter(payment=payment, action=Action.SIGNED).count() == 1
    assert Payment.objects.filter(client_key="tablet-1").count() == 1
    assert chain.verify(campaign).ok


def test_it_plans_once_when_two_clerks_plan_at_once(people, areas, campaign):
    for name in ("张三", "李四", "王五"):
        walk(people, campaign, make_household(people.superuser, areas.a, name), State.APPROVED)
    outcomes = in_parallel(
        lambda: services.plan_payments(people.township_clerk, campaign),
        lambda: services.plan_payments(people.finance, campaign),
    )
    assert sorted(value for _kind, value in outcomes) == [0, 3]
    assert Payment.objects.count() == 3
    assert chain.verify(campaign).ok


def test_it_verifies_the_chain_as_it_stood_while_a_payment_moves_on(
    people, campaign, payment, monkeypatch
):
    """An auditor verifies the chain while a clerk hands a payment over: the
    verification reads the chain, its head and the payments at one moment, so
    the event written meanwhile is no false alarm ("events were removed",
    "no longer matches")."""
    before = chain.verify(campaign).events
    hashing, meanwhile = chain.event_hash, []
    verifier = threading.get_ident()

    def hand_over_meanwhile(event: PaymentEvent) -> str:
        # Once, from the verification (the hand-over hashes its event too).
        if threading.get_ident() == verifier and not meanwhile:
            meanwhile.extend(in_parallel(lambda: services.hand_over(people.clerk_a, payment)))
        return hashing(event)

    monkeypatch.setattr(chain, "event_hash", hand_over_meanwhile)
    report = chain.verify(campaign)
    monkeypatch.undo()

    assert [kind for kind, _value in meanwhile] == ["ok"]
    assert report.problems == []
    assert report.events == before
    after = chain.verify(campaign)
    assert after.ok and after.events == before + 1
