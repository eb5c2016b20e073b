"""Configured rows turned into the calculation's rules: escalation by tier,
stacking pairs, payer shares from the fund source, household facts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from campaigns import calculation as calc
from campaigns.choices import StackingPolicy, StandardKind
from campaigns.conditions import OUTCOME_FIELDS, parse
from campaigns.evidence import household_facts
from campaigns.models import EvidenceField, FundShare, Tier, rule_to_json

pytestmark = pytest.mark.django_db


def test_it_escalates_approval_by_tier(campaign_t1):
    fields = {**EvidenceField.catalogue(), **OUTCOME_FIELDS}
    category = campaign_t1.categories.create(
        name="困难家庭",
        kind=StandardKind.TIERED,
        escalations=[[parse("档次 = 重度", fields)[0][0].to_json(), "county"]],
    )
    Tier.objects.create(
        category=category,
        name="重度",
        cash=4000,
        order=0,
        conditions=rule_to_json(parse("残疾人数 >= 2", fields)),
    )
    Tier.objects.create(category=category, name="一般", cash=600, order=1)
    rule = category.rule()
    heavy = calc.compute(rule, {"disabled_members": 2})
    assert (heavy.tier, heavy.amount, heavy.level) == ("重度", Decimal(4000), "county")
    assert "档次 = 重度" in heavy.explanation
    light = calc.compute(rule, {"disabled_members": 0})
    assert (light.tier, light.amount, light.level) == ("一般", Decimal(600), "township")


def test_it_splits_by_the_fund_sources_payers(campaign_t1):
    source = campaign_t1.fund_sources.get()
    category = campaign_t1.categories.get()
    assert calc.compute(category.rule(), {}).shares == (("城关镇财政所", Decimal(500)),)
    FundShare.objects.create(fund_source=source, payer="区财政", percent=Decimal("33.33"))
    FundShare.objects.create(fund_source=source, payer="镇财政", percent=Decimal("66.67"))
    category.cash = Decimal("1700.01")
    category.save()
    outcome = calc.compute(category.rule(), {})
    assert outcome.shares == (("区财政", Decimal("566.61")), ("镇财政", Decimal("1133.40")))
    assert sum(a for _p, a in outcome.shares) == outcome.amount


def test_it_adds_up_only_the_named_pairs(campaign_t1):
    campaign_t1.stacking = StackingPolicy.PAIRS
    campaign_t1.save()
    general = campaign_t1.categories.get()
    veteran = campaign_t1.categories.create(name="困难退伍军人", cash=600)
    elderly = campaign_t1.categories.create(name="百岁老人", cash=300, goods=200)
    general.stacks_with.add(veteran)
    pairs = campaign_t1.stacking_pairs()
    assert pairs == frozenset({frozenset({"一般困难户", "困难退伍军人"})})
    outcomes = [calc.compute(c.rule(), {}) for c in (general, veteran, elderly)]
    both = calc.stack(StackingPolicy.PAIRS, outcomes[:2], pairs=pairs)
    assert both.amount == Decimal(1100)
    three = calc.stack(StackingPolicy.PAIRS, outcomes, pairs=pairs)
    assert three.amount == Decimal(600) and three.kept == ("困难退伍军人",)  # not all pairs named


def test_it_reads_household_facts_from_the_register(household_a):
    facts = household_facts(household_a, on=datetime.date(2026, 1, 1))
    members = list(household_a.members.all())
    assert facts["household_size"] == len(members) == 2
    assert facts["oldest_age"] == max(m.age(datetime.date(2026, 1, 1)) for m in members)
    assert facts["disabled_members"] == 0
    assert facts["local_hukou"] is True


def test_it_splits_a_reversal_like_the_payment_it_reverses():
    shares = [calc.Share("区财政", Decimal(50)), calc.Share("镇财政", Decimal(50))]
    paid = calc.split(Decimal("1.01"), shares)
    reversed_ = calc.split(Decimal("-1.01"), shares)
    assert reversed_ == [(payer, -part) for payer, part in paid]
    assert sum(part for _p, part in reversed_) == Decimal("-1.01")
