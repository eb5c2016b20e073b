"""The set-up checks shown on the campaign page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns import checks
from campaigns.choices import StandardKind
from campaigns.conditions import parse
from campaigns.models import AreaQuota, EvidenceField, FundShare, Tier, rule_to_json

pytestmark = pytest.mark.django_db


def rule(text: str) -> list:
    return rule_to_json(parse(text, EvidenceField.catalogue()))


def messages(campaign, severity=None) -> list[str]:
    return [f.message for f in checks.findings(campaign) if severity in (None, f.severity)]


def test_it_finds_nothing_wrong_with_a_sound_campaign(campaign_t1):
    # 20 households × 500 = 10,000 = the budget.
    assert messages(campaign_t1) == []


def test_it_reports_a_budget_the_planned_recipients_cannot_use_up(campaign_t1):
    source = campaign_t1.fund_sources.get()
    source.budget = Decimal(10400)
    source.save()
    (message,) = messages(campaign_t1, checks.WARNING)
    assert "镇财政" in message and "10,000" in message and "400" in message


def test_it_reports_a_budget_too_small_even_at_the_lowest_standard(campaign_t1):
    category = campaign_t1.categories.get()
    category.kind = StandardKind.RANGE
    category.range_min, category.range_max = Decimal(600), Decimal(800)
    category.save()  # 20 × 600 = 12,000 > 10,000
    (message,) = messages(campaign_t1, checks.ERROR)
    assert "12,000" in message and "10,000" in message


def test_it_reports_payer_shares_that_do_not_add_up(campaign_t1):
    source = campaign_t1.fund_sources.get()
    FundShare.objects.create(fund_source=source, payer="区财政", percent=50)
    FundShare.objects.create(fund_source=source, payer="镇财政", percent=40)
    (message,) = messages(campaign_t1, checks.ERROR)
    assert "90" in message


def test_it_reports_overlapping_tier_bounds_with_an_example(campaign_t1):
    category = campaign_t1.categories.get()
    category.kind = StandardKind.TIERED
    category.save()
    Tier.objects.create(
        category=category,
        name="重度",
        cash=4000,
        order=0,
        conditions=rule("低保户 = 是 且 合规自付医疗费 >= 40000"),
    )
    middle = Tier.objects.create(
        category=category,
        name="中度",
        cash=2000,
        order=1,
        conditions=rule("低保户 = 是 且 合规自付医疗费 >= 20000 且 合规自付医疗费 <= 40000"),
    )
    Tier.objects.create(category=category, name="一般", cash=600, order=2, conditions=[])
    found = messages(campaign_t1, checks.WARNING)
    # One overlap, at the shared bound; the catch-all last tier is "otherwise"
    # and overlaps nothing.
    (overlap,) = found
    assert "重度" in overlap and "中度" in overlap and "40,000" in overlap

    middle.conditions = rule("低保户 = 是 且 合规自付医疗费 >= 20000 且 合规自付医疗费 < 40000")
    middle.save()
    assert not [m for m in messages(campaign_t1) if "重度" in m and "中度" in m]


def test_it_reports_tiers_after_a_catch_all_and_conditions_that_never_hold(campaign_t1):
    category = campaign_t1.categories.get()
    category.kind = StandardKind.TIERED
    category.eligibility = rule("合规自付医疗费 > 50000 且 合规自付医疗费 < 20000")
    category.save()
    Tier.objects.create(category=category, name="一般", cash=600, order=0, conditions=[])
    Tier.objects.create(
        category=category, name="重度", cash=4000, order=1, conditions=rule("残疾人数 >= 2")
    )
    found = " ".join(messages(campaign_t1))
    assert "重度" in found and "一般" in found  # 重度 comes after the catch-all
    assert "50,000" in found  # the eligibility line that can never hold


def test_it_compares_quotas_with_the_budget_and_with_each_other(areas, campaign_t1):
    category = campaign_t1.categories.get()
    category.quota = 25  # 25 × 500 = 12,500 > 10,000; and 20 planned is fine
    category.save()
    AreaQuota.objects.create(category=category, area=areas.a, count=20)
    AreaQuota.objects.create(category=category, area=areas.b, count=10)
    found = messages(campaign_t1, checks.WARNING)
    assert any("12,500" in m for m in found)
    assert any("30" in m and "25" in m for m in found)


def test_it_warns_of_a_category_nobody_pays_for(campaign_t1):
    campaign_t1.categories.create(name="孤儿", cash=100)
    assert any("孤儿" in m for m in messages(campaign_t1, checks.WARNING))


def test_it_does_not_call_a_budget_unspendable_when_a_category_has_no_count(campaign_t1):
    source = campaign_t1.fund_sources.get()
    source.budget = Decimal(12000)
    source.save()
    assert len(messages(campaign_t1, checks.WARNING)) == 1  # 20 × 500 < 12,000
    campaign_t1.categories.create(name="临时困难户", cash=300, fund_source=source)
    assert messages(campaign_t1, checks.WARNING) == []  # it may take the rest
