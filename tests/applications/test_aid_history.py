"""The household's aid history (issue 7 item 2): each application's figures as
the payment records have them, the flags of the rules that carry across
campaigns, and what a user of another area is kept from."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext

from applications import services
from applications.aid_history import aid_history
from applications.choices import State
from applications.models import Disqualification
from campaigns.choices import StandardKind
from campaigns.models import CampaignKind, Category
from disbursements import services as payments
from disbursements.choices import FailureReason, Kind, Method, PaymentState
from disbursements.models import Payment
from recipients import services as registry
from tests.conftest import make_household
from tests.disbursements.conftest import media, receipt  # noqa: F401  (media: a fixture)

from .conftest import entry, open_campaign, walk

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def as_user(client, user):
    client.force_login(user)
    return client


def page_of(client, user, household):
    return as_user(client, user).get(reverse("recipients:household_detail", args=[household.pk]))


def cap_text(count: int, limit: int, kind: str, year: int) -> str:
    return ngettext(
        "Cap reached: %(count)d of %(limit)d %(kind)s aid in %(year)s",
        "Cap reached: %(count)d of %(limit)d %(kind)s aids in %(year)s",
        limit,
    ) % {"count": count, "limit": limit, "kind": kind, "year": year}


def set_cap(name: str, per_year: int | None) -> None:
    CampaignKind.objects.filter(name=name).update(per_year=per_year)


def by_instalment(app) -> list[Payment]:
    return list(Payment.objects.filter(application=app, kind=Kind.PAYMENT).order_by("instalment"))


@pytest.fixture
def aided(people, areas, campaign, household_a):
    """household_a's aid in two years: in 2026 (the township's 春节慰问) 300
    cash + 200 goods, signed for and corrected to 400 + 200; in 2025 a
    困难职工帮扶 of 8000 a year in four instalments: the first signed for, the
    second handed over, the third failed, the fourth planned."""
    centenarian = Category.objects.create(
        campaign=campaign,
        name="百岁老人",
        cash=300,
        goods=200,
        fund_source=campaign.fund_sources.get(),
    )
    spring = walk(people, campaign, household_a, State.APPROVED, category=centenarian)
    payments.plan_payments(people.township_clerk, campaign)
    [gift] = by_instalment(spring)
    payments.arrange(
        people.township_clerk,
        gift,
        payments.Arrangement(
            method=Method.CASH, goods_items=[{"item": "大米", "quantity": "10kg"}]
        ),
    )
    payments.sign(people.clerk_a, gift, receipt())
    payments.correct(
        people.finance,
        gift,
        payments.Correction(cash=Decimal("400"), goods=Decimal("200"), method=Method.CASH),
        "签收表现金为400元",
    )
    last_year = open_campaign(
        people, areas.t1, "2025年困难职工帮扶", kind="困难职工帮扶", year=2025
    )
    deep = Category.objects.create(
        campaign=last_year,
        name="深度困难职工",
        kind=StandardKind.INSTALMENTS,
        annual=8000,
        instalments=4,
        fund_source=last_year.fund_sources.get(),
    )
    union = walk(people, last_year, household_a, State.APPROVED, category=deep)
    payments.plan_payments(people.township_clerk, last_year)
    first, second, third, _fourth = by_instalment(union)
    payments.sign(people.clerk_a, first, receipt())
    payments.hand_over(people.clerk_a, second)
    payments.fail(people.clerk_a, third, FailureReason.NOT_FOUND)
    return spring, union


# -- the figures -------------------------------------------------------------------------


def test_it_lists_each_application_by_year_with_its_payments_summed(people, aided):
    spring, union = aided
    history = aid_history(people.clerk_a, spring.household)
    assert [y.year for y in history.years] == [2026, 2025]
    [new], [old] = (y.aids for y in history.years)
    assert (new.application, old.application) == (spring, union)

    # 2026: 500 approved, signed for, corrected to 600: a reversal and a replacement.
    records = list(Payment.objects.filter(application=spring).order_by("number"))
    assert [(p.kind, p.amount) for p in records] == [
        (Kind.PAYMENT, Decimal("500.00")),
        (Kind.REPLACEMENT, Decimal("600.00")),
        (Kind.REVERSAL, Decimal("-500.00")),
    ]
    assert new.payments == records
    assert (new.application.amount, new.application.cash, new.application.goods) == (
        Decimal("500.00"),
        Decimal("300.00"),
        Decimal("200.00"),
    )
    assert new.paid == Decimal("600.00") == sum(p.amount for p in records)
    assert (new.unsigned, new.failed) == (0, 0)
    assert (new.instalments_paid, new.instalments, new.signed) == (1, 1, True)
    assert new.what == [pgettext("aid", "Cash"), pgettext("aid", "Goods")]
    assert new.goods == "大米 10kg"
    assert new.last_on == timezone.localdate(records[0].signed_at) == today()

    # 2025: 8000 in four instalments of 2000: one signed, one handed over, one failed.
    states = [p.state for p in old.payments]
    assert states == [
        PaymentState.SIGNED,
        PaymentState.HANDED_OVER,
        PaymentState.FAILED,
        PaymentState.PLANNED,
    ]
    assert old.application.amount == Decimal("8000.00")
    assert (old.paid, old.unsigned, old.failed) == (
        Decimal("2000.00"),
        Decimal("2000.00"),
        Decimal("2000.00"),
    )
    assert (old.instalments_paid, old.instalments, old.signed) == (1, 4, False)
    assert old.what == [pgettext("aid", "Cash")]
    assert old.last_on == today()

    # Totals: per year and overall, what was signed for.
    assert [(y.approved, y.paid, y.unsigned) for y in history.years] == [
        (Decimal("500.00"), Decimal("600.00"), Decimal("0.00")),
        (Decimal("8000.00"), Decimal("2000.00"), Decimal("2000.00")),
    ]
    signed = Payment.objects.filter(
        application__household=spring.household, state=PaymentState.SIGNED
    )
    assert history.paid == Decimal("2600.00") == sum(p.amount for p in signed)
    assert history.approved == Decimal("8500.00")
    assert history.flags == []


def test_it_shows_an_application_without_payments_as_not_paid(people, campaign, household_a):
    draft = walk(people, campaign, household_a, State.SUBMITTED)
    [aid] = aid_history(people.clerk_a, household_a).aids
    assert aid.application == draft
    assert (aid.paid, aid.instalments, aid.signed, aid.last_on, aid.payments) == (
        0,
        0,
        False,
        None,
        [],
    )
    assert aid.what == [pgettext("aid", "Cash")]  # from the application: 500 cash
    assert aid_history(people.clerk_a, household_a).approved == 0  # not approved yet


def test_it_shows_the_aid_on_the_household_page(client, people, aided):
    spring, _union = aided
    page = page_of(client, people.clerk_a, spring.household)
    assert page.status_code == 200
    assert page.context["history"].paid == Decimal("2600.00")
    for app in aided:
        assert reverse("applications:detail", args=[app.pk]) in page.text
    for record in Payment.objects.filter(application__in=aided):
        assert reverse("disbursements:payment", args=[record.pk]) in page.text
    assert "2025年困难职工帮扶" in page.text and "百岁老人" in page.text
    assert "大米 10kg" in page.text
    assert "2,600" in page.text and "8,500" in page.text
    assert 'class="signed-yes"' in page.text and 'class="signed-no"' in page.text


# -- the flags ---------------------------------------------------------------------------


def test_it_flags_a_bar_in_force_and_an_expired_one_as_past(
    client, people, areas, campaign, household_a
):
    app = walk(people, campaign, household_a, State.SUBMITTED)
    until = today() + datetime.timedelta(days=365)
    services.reject(people.superuser, [app.pk], "虚报家庭收入", barred_until=until)
    Disqualification.objects.create(
        household=household_a,
        until=today() - datetime.timedelta(days=1),
        reason="擅自扩大范围",
        recorded_by=people.supervisor,
    )
    history = aid_history(people.clerk_a, household_a)
    in_force = gettext("Disqualified until %(until)s: %(reason)s") % {
        "until": until.isoformat(),
        "reason": "虚报家庭收入",
    }
    expired = gettext("Disqualification ended %(until)s: %(reason)s") % {
        "until": (today() - datetime.timedelta(days=1)).isoformat(),
        "reason": "擅自扩大范围",
    }
    assert [(f.kind, f.text) for f in history.current_flags] == [("bar", in_force)]
    assert [(f.kind, f.text) for f in history.past_flags] == [("bar", expired)]
    # The day it ends the bar still holds, as the rule reads it; the day after, it is past.
    assert aid_history(people.clerk_a, household_a, today=until).current_flags
    assert not aid_history(
        people.clerk_a, household_a, today=until + datetime.timedelta(days=1)
    ).current_flags
    page = page_of(client, people.clerk_a, household_a).text
    assert in_force in page and expired in page
    assert page.index(in_force) < page.index(reverse("applications:detail", args=[app.pk]))


def test_it_flags_the_yearly_cap_reached(client, people, campaign, household_a):
    set_cap("春节慰问", 1)
    walk(people, campaign, household_a, State.SUBMITTED)
    flags = aid_history(people.clerk_a, household_a).current_flags
    assert [(f.kind, f.text) for f in flags] == [("cap", cap_text(1, 1, "春节慰问", 2026))]
    assert cap_text(1, 1, "春节慰问", 2026) in page_of(client, people.clerk_a, household_a).text


def test_it_does_not_flag_a_cap_not_reached_or_no_cap(people, campaign, household_a):
    walk(people, campaign, household_a, State.SUBMITTED)
    set_cap("春节慰问", 2)
    assert aid_history(people.clerk_a, household_a).flags == []
    set_cap("春节慰问", None)
    assert aid_history(people.clerk_a, household_a).flags == []


def test_it_counts_the_cap_as_the_rule_does(people, areas, campaign, household_a):
    """A draft does not count, nor a withdrawn one, nor an application of another kind."""
    set_cap("春节慰问", 1)
    set_cap("送温暖", 1)
    draft = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    assert aid_history(people.clerk_a, household_a).flags == []
    services.submit_application(people.clerk_a, draft)
    assert len(aid_history(people.clerk_a, household_a).flags) == 1
    services.withdraw(people.clerk_a, draft, "不再申请")
    assert aid_history(people.clerk_a, household_a).flags == []


def test_it_flags_the_cap_in_the_year_of_an_open_campaign(people, areas, household_a):
    set_cap("春节慰问", 1)
    this_year = open_campaign(people, areas.t1, "本年春节慰问", kind="春节慰问", year=today().year)
    walk(people, this_year, household_a, State.SUBMITTED)
    ahead = open_campaign(people, areas.t1, "来年送温暖", kind="送温暖", year=today().year + 1)
    assert [f.text for f in aid_history(people.clerk_a, household_a).flags] == [
        cap_text(1, 1, "春节慰问", today().year)
    ]
    set_cap("送温暖", 1)
    walk(people, ahead, household_a, State.SUBMITTED)
    assert [f.text for f in aid_history(people.clerk_a, household_a).flags] == [
        cap_text(1, 1, "送温暖", today().year + 1),
        cap_text(1, 1, "春节慰问", today().year),
    ]


# -- areas -------------------------------------------------------------------------------


def test_it_refuses_the_household_of_another_village(client, people, aided):
    spring, _union = aided
    assert page_of(client, people.clerk_b, spring.household).status_code == 404
    assert page_of(client, people.township_clerk_t2, spring.household).status_code == 404


def move(people, household, village) -> None:
    members = [
        registry.MemberInput(name=p.name, id_number=p.id_number, relation=p.relation, pk=p.pk)
        for p in household.members.all()
    ]
    registry.update_household(
        people.superuser,
        household,
        village=village,
        address="西关村新址",
        members=members,
        reason="迁居",
    )


def test_it_hides_a_moved_households_application_from_the_new_villages_clerk(
    client, people, areas, campaign, household_a
):
    set_cap("春节慰问", 1)
    app = walk(people, campaign, household_a, State.APPROVED)
    payments.plan_payments(people.township_clerk, campaign)
    move(people, household_a, areas.b)

    history = aid_history(people.clerk_b, household_a)
    assert history.aids == [] and history.paid == 0
    # The cap counts across areas, and says so in figures only.
    assert [f.text for f in history.flags] == [cap_text(1, 1, "春节慰问", 2026)]
    assert all(app.number not in f.text and campaign.name not in f.text for f in history.flags)

    page = page_of(client, people.clerk_b, household_a)
    assert page.status_code == 200
    assert app.number not in page.text
    assert reverse("applications:detail", args=[app.pk]) not in page.text
    assert reverse("disbursements:payment", args=[app.payments.get().pk]) not in page.text
    assert cap_text(1, 1, "春节慰问", 2026) in page.text
    # The township sees both villages: the application is there.
    assert [a.application for a in aid_history(people.township_clerk, household_a).aids] == [app]


# -- queries -----------------------------------------------------------------------------


def aid_in(people, area, household, n: int) -> None:
    """`n` approved applications of `household` in `n` campaigns, each paid in
    two instalments: one signed for, one handed over."""
    for i in range(n):
        other = open_campaign(people, area, f"帮扶{i}", kind="困难职工帮扶", year=2020 + i)
        category = Category.objects.create(
            campaign=other,
            name="分期",
            kind=StandardKind.INSTALMENTS,
            annual=1000,
            instalments=2,
            fund_source=other.fund_sources.get(),
        )
        app = walk(people, other, household, State.APPROVED, category=category)
        payments.plan_payments(people.township_clerk, other)
        first, second = by_instalment(app)
        payments.sign(people.clerk_a, first, receipt())
        payments.hand_over(people.clerk_a, second)


@pytest.mark.parametrize("n", [1, 10])
def test_it_reads_the_history_in_a_fixed_number_of_queries(
    client, django_assert_max_num_queries, people, areas, n
):
    set_cap("困难职工帮扶", 1)
    home = make_household(people.superuser, areas.a, "钱七")
    aid_in(people, areas.t1, home, n)
    Disqualification.objects.create(
        household=home, until=today(), reason="虚报", recorded_by=people.supervisor
    )
    clerk = type(people.clerk_a).objects.get(pk=people.clerk_a.pk)  # nothing cached
    with django_assert_max_num_queries(8):
        history = aid_history(clerk, home)
        assert len(history.aids) == n
        assert history.paid == Decimal(500 * n)
        assert len(history.current_flags) == n + 1  # the bar, and each year's cap
    client = as_user(client, people.clerk_a)
    client.get(reverse("recipients:household_detail", args=[home.pk]))  # warm the session
    # 17 with the ids of the areas whose campaigns the clerk sees (relief.scoping.area_ids)
    with django_assert_max_num_queries(17):
        page = client.get(reverse("recipients:household_detail", args=[home.pk]))
    assert page.status_code == 200
    assert len(page.context["history"].aids) == n
