"""三个一 (domain.md §4.8): the reconciliation's figures per state against
hand-computed values to the cent, the balance identity

    approved + corrections = signed + pending + failed

after every step (sign, fail, correct, book, close), 第一时间 (payments handed
over after the deadline), and the demo campaign of `manage.py seed_demo`."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from applications.choices import State
from campaigns.choices import Deliverable, StandardKind
from campaigns.models import Campaign, Category, Deadline
from disbursements import chain, services
from disbursements.choices import Evidence, Kind, Method, PaymentState, ProxyStatus
from disbursements.models import Payment, ProxyException, VillageClosing
from disbursements.reconciliation import Line, not_reached, reconcile
from tests.applications.conftest import open_campaign, walk
from tests.conftest import make_household

from .conftest import receipt

pytestmark = pytest.mark.django_db

D = Decimal
THIRD = D("333.33")  # a standard with cents: three of them are 999.99, not 1000


def approve(people, campaign, village, n: int, prefix: str, **entry) -> list:
    homes = [make_household(people.superuser, village, f"{prefix}{i}") for i in range(n)]
    return [walk(people, campaign, home, State.APPROVED, **entry) for home in homes]


def payments_of(campaign, village) -> list[Payment]:
    return list(Payment.objects.filter(campaign=campaign, village=village).order_by("number"))


def lines(campaign) -> tuple[dict[int, Line], Line]:
    figures = reconcile(campaign)
    return {line.village_id: line for line in figures.lines}, figures.total


def assert_balanced(campaign) -> None:
    by_village, total = lines(campaign)
    for line in [*by_village.values(), total]:
        assert line.balanced, line
        assert line.approved_amount == (
            line.signed_amount + line.pending_amount + line.failed_amount - line.corrections_amount
        )
    assert chain.verify(campaign).ok


@pytest.fixture
def cents(people, areas):
    """An open campaign of T1 paying 333.33 a household, three households
    approved in village A and two in B, their payments planned."""
    campaign = open_campaign(people, areas.t1, "2026年送温暖", cash=THIRD)
    approve(people, campaign, areas.a, 3, "甲")
    approve(people, campaign, areas.b, 2, "乙")
    services.plan_payments(people.township_clerk, campaign)
    return campaign


def test_it_counts_every_state_to_the_cent(people, areas, cents):
    a1, a2, a3 = payments_of(cents, areas.a)
    _b1, b2 = payments_of(cents, areas.b)
    services.sign(people.clerk_a, a1, receipt())
    services.hand_over(people.clerk_a, a2)
    services.fail(people.clerk_a, a3, "not_found")
    scan = services.attach_scan(
        people.township_clerk, cents, areas.b, SimpleUploadedFile("b.pdf", b"%PDF-1.4 b")
    )
    services.confirm_from_scan(people.township_clerk, scan, [b2.pk])
    approve(people, cents, areas.b, 1, "丙")  # approved after planning: no payment yet

    by_village, total = lines(cents)
    a, b = by_village[areas.a.pk], by_village[areas.b.pk]
    assert (a.approved_count, a.approved_amount) == (3, D("999.99"))
    assert (a.signed_count, a.signed_amount) == (1, THIRD)
    assert (a.handed_over_count, a.handed_over_amount) == (1, THIRD)
    assert (a.failed_count, a.failed_amount) == (1, THIRD)
    assert (a.planned_count, a.unplanned_count) == (0, 0)
    assert a.pending_amount == THIRD
    assert (a.reached_count, a.not_reached_count) == (2, 1)
    assert (b.approved_count, b.approved_amount) == (3, D("999.99"))
    assert (b.unplanned_count, b.unplanned_amount) == (1, THIRD)
    assert (b.planned_count, b.planned_amount) == (1, THIRD)
    assert (b.signed_count, b.signed_amount) == (1, THIRD)
    assert b.pending_amount == D("666.66")
    assert (b.reached_count, b.not_reached_count) == (1, 2)
    assert (total.approved_count, total.approved_amount) == (6, D("1999.98"))
    assert total.signed_amount == D("666.66")
    assert total.pending_amount == D("999.99")
    assert total.failed_amount == THIRD
    assert total.corrections_amount == D("0.00")
    assert total.approved_amount == total.signed_amount + total.pending_amount + (
        total.failed_amount
    )
    assert all(line.balanced for line in (a, b, total))
    # 一个不漏 names them: the failed one in A, the planned and the unplanned in B.
    assert set(not_reached(cents, areas.a)) == {a3.application}
    assert len(not_reached(cents, areas.b)) == 2


def test_it_limits_the_figures_to_the_users_villages(people, areas, cents):
    figures = reconcile(cents, user=people.clerk_a)
    assert [line.village_id for line in figures.lines] == [areas.a.pk]
    assert figures.total.approved_amount == D("999.99")
    assert reconcile(cents, user=people.township_clerk_t2).lines == []


def test_it_balances_after_each_step(people, areas, cents):
    a1, a2, a3 = payments_of(cents, areas.a)
    b1, b2 = payments_of(cents, areas.b)
    assert_balanced(cents)
    services.sign(people.clerk_a, a1, receipt())
    assert_balanced(cents)
    services.hand_over(people.clerk_a, a2)
    assert_balanced(cents)
    services.fail(people.clerk_a, a2, "deceased")
    assert_balanced(cents)
    services.fail(people.clerk_a, a3, "refused")
    assert_balanced(cents)
    services.book(people.finance, cents, areas.a)
    assert_balanced(cents)
    services.correct(
        people.finance,
        a1,
        services.Correction(cash=D("300.00"), goods=D("0.01"), method=Method.CASH),
        "签收表金额有误",
    )
    assert_balanced(cents)
    services.book(people.finance, cents, areas.a)
    services.close_village(people.finance, cents, areas.a)
    assert_balanced(cents)
    services.sign(people.clerk_b, b1, receipt())
    services.fail(people.clerk_b, b2, "not_found")
    assert_balanced(cents)

    by_village, total = lines(cents)
    a = by_village[areas.a.pk]
    # 333.33 signed, reversed (-333.33) and replaced by 300.01: 33.32 less.
    assert a.corrections_amount == D("-33.32")
    assert a.signed_amount == D("300.01") and a.signed_count == 1
    assert a.failed_amount == D("666.66") and a.failed_count == 2
    assert a.booked_amount == D("300.01")  # the original, its reversal and the replacement
    assert a.closed and not by_village[areas.b.pk].closed
    assert total.approved_amount == D("1666.65")
    assert total.signed_amount + total.pending_amount + total.failed_amount == D("1633.33")
    assert total.approved_amount + total.corrections_amount == D("1633.33")


def test_it_counts_payments_handed_over_after_the_deadline_as_late(people, areas, cents):
    a1, a2, _a3 = payments_of(cents, areas.a)
    today = timezone.localdate()
    deadline = Deadline.objects.create(
        campaign=cents, deliverable=Deliverable.DISBURSEMENT, due_on=today + datetime.timedelta(1)
    )
    services.hand_over(people.clerk_a, a1)
    by_village, total = lines(cents)
    assert total.late_count == 0 and total.overdue_count == 0

    deadline.due_on = today - datetime.timedelta(days=1)
    deadline.save()
    services.sign(people.clerk_a, a2, receipt())
    by_village, total = lines(cents)
    a = by_village[areas.a.pk]
    # Both were handed over today, after yesterday's deadline.
    assert (a.late_count, a.late_amount) == (2, D("666.66"))
    # a3 and both of B's are still planned with the deadline passed.
    assert a.overdue_count == 1 and total.overdue_count == 3
    assert reconcile(cents).deadline == deadline.due_on
    assert all(line.balanced for line in (*by_village.values(), total))


def test_it_counts_a_later_instalment_late_after_its_own_date(people, areas, campaign):
    """An annual standard paid quarterly: four payments three months apart,
    the odd cent on the first; one handed over after its planned date is late."""
    quarterly = Category.objects.create(
        campaign=campaign,
        name="深度困难职工",
        kind=StandardKind.INSTALMENTS,
        annual=D("1000.01"),
        instalments=4,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
    )
    approve(people, campaign, areas.a, 1, "职工", category=quarterly)
    today = timezone.localdate()
    services.plan_payments(
        people.township_clerk, campaign, first_on=today - datetime.timedelta(days=130)
    )
    first, second, third, fourth = payments_of(campaign, areas.a)
    assert [p.amount for p in (first, second, third, fourth)] == [
        D("250.01"),
        D("250.00"),
        D("250.00"),
        D("250.00"),
    ]
    assert second.planned_on < today < third.planned_on
    services.hand_over(people.clerk_a, first)  # no deadline: the first is not late
    services.hand_over(people.clerk_a, second)  # due about a month ago
    services.hand_over(people.clerk_a, third)  # due in about two months
    line = reconcile(campaign).lines[0]
    assert (line.late_count, line.late_amount) == (1, D("250.00"))
    assert (line.approved_amount, line.handed_over_amount, line.planned_amount) == (
        D("1000.01"),
        D("750.01"),
        D("250.00"),
    )
    assert line.approved_count == line.reached_count == 1 and line.balanced


# -- the demo campaign ----------------------------------------------------------------------


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", households=60, stdout=out)
    return out.getvalue()


def test_it_seeds_a_demo_campaign_with_payments_in_every_state(db):
    output = seed()
    campaign = Campaign.objects.get(pk__in=Payment.objects.values("campaign"))
    payments = Payment.objects.filter(campaign=campaign)
    assert "Payments in every state" in output
    kinds = set(payments.values_list("state", "kind"))
    assert {
        (PaymentState.PLANNED, Kind.PAYMENT),
        (PaymentState.HANDED_OVER, Kind.PAYMENT),
        (PaymentState.SIGNED, Kind.PAYMENT),
        (PaymentState.FAILED, Kind.PAYMENT),
        (PaymentState.SIGNED, Kind.REVERSAL),
        (PaymentState.SIGNED, Kind.REPLACEMENT),
    } <= kinds
    signed = payments.filter(state=PaymentState.SIGNED, kind=Kind.PAYMENT)
    assert {Evidence.PAD, Evidence.SHEET} <= set(signed.values_list("evidence", flat=True))
    assert signed.filter(evidence=Evidence.PAD).exclude(signature="").exists()
    assert signed.exclude(proxy=None).exists()
    assert payments.filter(failure_reason="deceased").exists()
    assert payments.exclude(photo="").exists()
    assert payments.filter(method=Method.BANK).exclude(account="").exists()
    assert set(ProxyException.objects.values_list("status", flat=True)) == {
        ProxyStatus.APPROVED,
        ProxyStatus.REFUSED,
    }
    assert payments.exclude(booked_at=None).exists()
    assert payments.filter(state=PaymentState.SIGNED, booked_at=None).exists()
    assert VillageClosing.objects.filter(campaign=campaign).count() == 1

    figures = reconcile(campaign)
    assert len(figures.lines) == 3
    for line in figures.lines:
        assert line.balanced, line.village
    total = figures.total
    assert total.balanced
    assert total.approved_amount == (
        total.signed_amount + total.pending_amount + total.failed_amount - total.corrections_amount
    )
    assert total.corrections_amount == D("-100.00")
    assert total.signed_count and total.handed_over_count and total.planned_count
    assert total.failed_count and total.not_reached_count
    closed = [line for line in figures.lines if line.closed]
    assert len(closed) == 1 and closed[0].pending_count == closed[0].unplanned_count == 0
    report = chain.verify(campaign)
    assert report.ok, report.problems
    assert report.payments == payments.count()

    # Seeding again adds nothing and leaves the chain whole.
    count = payments.count()
    seed()
    assert Payment.objects.filter(campaign=campaign).count() == count
    assert chain.verify(campaign).ok
