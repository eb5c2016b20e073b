"""Campaign set-up changes: rights by area, states, copying, deadlines, audit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from campaigns import services
from campaigns.choices import CampaignStatus, Deliverable, StandardKind
from campaigns.models import AreaQuota, Campaign, Deadline, FundShare, Phase, Tier
from relief.choices import AreaLevel
from relief.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_lets_an_administrator_set_up_a_campaign_in_their_area(people, areas):
    campaign = services.create_campaign(
        people.admin, area=areas.t1, kind="送温暖", name="送温暖", issuer="城关镇", year=2026
    )
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.kind.name == "送温暖"
    event = AuditEvent.objects.get(action="campaign.create")
    assert event.actor == people.admin and event.area == areas.t1


def test_it_refuses_an_administrator_of_another_township(people, areas):
    with pytest.raises(services.CampaignError, match="城关镇"):
        services.create_campaign(
            people.admin_t2, area=areas.t1, kind="送温暖", name="x", issuer="x", year=2026
        )
    assert not Campaign.objects.exists()


def test_it_refuses_a_clerk_who_may_only_read_campaigns(people, areas):
    with pytest.raises(services.CampaignError):
        services.create_campaign(
            people.township_clerk, area=areas.t1, kind="送温暖", name="x", issuer="x", year=2026
        )


def test_it_adds_a_new_kind_typed_by_the_user(people, areas):
    campaign = services.create_campaign(
        people.admin, area=areas.t1, kind=" 重阳节慰问 ", name="x", issuer="x", year=2026
    )
    assert campaign.kind.name == "重阳节慰问"


def test_it_opens_only_a_campaign_without_errors(people, campaign_t1):
    category = campaign_t1.categories.get()
    category.kind = StandardKind.RANGE  # a range without a minimum: an error
    category.save()
    with pytest.raises(services.CampaignError, match="一般困难户"):
        services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN)
    category.range_min = Decimal(200)
    category.save()
    opened = services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN)
    assert opened.status == CampaignStatus.OPEN
    event = AuditEvent.objects.get(action="campaign.status")
    assert (event.from_state, event.to_state) == ("draft", "open")


def test_it_refuses_an_illegal_transition_and_changes_nothing(people, campaign_t1):
    with pytest.raises(services.CampaignError):
        services.change_status(people.admin, campaign_t1, CampaignStatus.CLOSED)
    campaign_t1.refresh_from_db()
    assert campaign_t1.status == CampaignStatus.DRAFT
    assert not AuditEvent.objects.filter(action="campaign.status").exists()


def test_it_asks_a_reason_to_reopen_a_closed_campaign(people, campaign_t1):
    services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN)
    services.change_status(people.admin, campaign_t1, CampaignStatus.CLOSED)
    with pytest.raises(services.CampaignError):
        services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN, "  ")
    reopened = services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN, "补录漏报户")
    assert reopened.status == CampaignStatus.OPEN
    assert AuditEvent.objects.filter(reason="补录漏报户").exists()


def test_it_freezes_the_set_up_of_a_closed_campaign(people, campaign_t1):
    services.change_status(people.admin, campaign_t1, CampaignStatus.OPEN)
    services.change_status(people.admin, campaign_t1, CampaignStatus.CLOSED)
    with pytest.raises(services.CampaignError):
        services.update_campaign(people.admin, campaign_t1, name="改名")
    campaign_t1.refresh_from_db()
    assert campaign_t1.name == "2026年春节慰问"


def test_it_copies_last_years_campaign_with_dates_a_year_later(people, areas, campaign_t1):
    campaign_t1.published_on = datetime.date(2024, 2, 29)
    campaign_t1.save()
    Phase.objects.create(
        campaign=campaign_t1,
        name="摸底审核",
        starts_on=datetime.date(2026, 1, 5),
        ends_on=datetime.date(2026, 1, 17),
    )
    Phase.objects.create(campaign=campaign_t1, name="入户慰问", to_be_announced=True, order=1)
    Deadline.objects.create(
        campaign=campaign_t1,
        deliverable=Deliverable.VILLAGE_LIST,
        level=AreaLevel.VILLAGE,
        due_on=datetime.date(2026, 1, 17),
        hard=True,
    )
    source = campaign_t1.fund_sources.get()
    FundShare.objects.create(fund_source=source, payer="区财政", percent=50)
    FundShare.objects.create(fund_source=source, payer="镇财政", percent=50)
    first = campaign_t1.categories.get()
    second = campaign_t1.categories.create(
        name="重度困难", kind=StandardKind.TIERED, fund_source=source
    )
    Tier.objects.create(category=second, name="重度", cash=4000, conditions=[])
    AreaQuota.objects.create(category=first, area=areas.a, count=3)
    first.stacks_with.add(second)

    copy = services.copy_campaign(people.admin, campaign_t1, year=2027)

    assert copy.name == "2027年春节慰问" and copy.year == 2027
    assert copy.status == CampaignStatus.DRAFT and copy.copied_from == campaign_t1
    assert copy.published_on == datetime.date(2025, 2, 28)  # 29 Feb has no 2025
    assert [(p.name, p.starts_on, p.ends_on, p.to_be_announced) for p in copy.phases.all()] == [
        ("摸底审核", datetime.date(2027, 1, 5), datetime.date(2027, 1, 17), False),
        ("入户慰问", None, None, True),
    ]
    assert copy.deadlines.get().due_on == datetime.date(2027, 1, 17)
    new_source = copy.fund_sources.get()
    assert [(s.payer, s.percent) for s in new_source.shares.all()] == [
        ("区财政", Decimal(50)),
        ("镇财政", Decimal(50)),
    ]
    new_first = copy.categories.get(name="一般困难户")
    new_second = copy.categories.get(name="重度困难")
    assert new_first.fund_source == new_source  # the copy's own source, not last year's
    assert new_first.cash == Decimal(500) and new_first.planned_count == 20
    assert list(new_first.stacks_with.all()) == [new_second]
    assert [(q.area, q.count) for q in new_first.area_quotas.all()] == [(areas.a, 3)]
    assert new_second.tiers.get().cash == Decimal(4000)
    # Last year's campaign is untouched.
    assert campaign_t1.categories.count() == 2 and campaign_t1.fund_sources.count() == 1


def test_it_refuses_a_late_submission_after_a_hard_deadline(areas, campaign_t1):
    Deadline.objects.create(
        campaign=campaign_t1,
        deliverable=Deliverable.VILLAGE_LIST,
        title="村级名单上报",
        level=AreaLevel.VILLAGE,
        due_on=datetime.date(2026, 1, 17),
        hard=True,
    )
    on_time = services.check_deadline(
        campaign_t1, Deliverable.VILLAGE_LIST, areas.a, datetime.date(2026, 1, 17)
    )
    assert not on_time.late and not on_time.refused
    late = services.check_deadline(
        campaign_t1, Deliverable.VILLAGE_LIST, areas.a, datetime.date(2026, 1, 18)
    )
    assert late.refused and "2026-01-17" in late.message and "逾期不接收" in late.message
    # The deadline is for villages: a township's submission is not bound by it.
    township = services.check_deadline(
        campaign_t1, Deliverable.VILLAGE_LIST, areas.t1, datetime.date(2026, 2, 1)
    )
    assert township.deadline is None and not township.late


def test_it_flags_a_late_submission_after_a_soft_deadline(areas, campaign_t1):
    Deadline.objects.create(
        campaign=campaign_t1,
        deliverable=Deliverable.SUMMARY,
        level=AreaLevel.TOWNSHIP,
        due_on=datetime.date(2026, 3, 1),
        hard=False,
    )
    late = services.check_deadline(
        campaign_t1, Deliverable.SUMMARY, areas.t1, datetime.date(2026, 3, 2)
    )
    assert late.late and not late.refused


def test_it_shows_each_area_the_deadlines_of_its_level_and_below(areas, campaign_t1):
    village = Deadline.objects.create(
        campaign=campaign_t1,
        deliverable=Deliverable.VILLAGE_LIST,
        level=AreaLevel.VILLAGE,
        due_on=datetime.date(2026, 1, 17),
    )
    township = Deadline.objects.create(
        campaign=campaign_t1,
        deliverable=Deliverable.SUMMARY,
        level=AreaLevel.TOWNSHIP,
        due_on=datetime.date(2026, 3, 1),
    )
    on = datetime.date(2026, 1, 20)
    assert services.due_next(campaign_t1, [areas.a], on) == ([village], [])
    assert services.due_next(campaign_t1, [areas.t1], on) == ([village], [township])
    assert services.due_next(campaign_t1, [], on) == ([village], [township])
