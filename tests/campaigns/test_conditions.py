"""The condition notation: parsing, errors, evaluation and the overlap analysis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns import conditions as cond
from campaigns.conditions import Condition, FieldSpec

FIELDS = {
    "medical_self_pay": FieldSpec("medical_self_pay", "合规自付医疗费"),
    "dibao": FieldSpec("dibao", "低保户", "yes_no"),
    "income_per_capita": FieldSpec("income_per_capita", "家庭人均月收入"),
    "disabled_members": FieldSpec("disabled_members", "残疾人数", "number"),
    "hardship_cause": FieldSpec("hardship_cause", "致困原因", "choice", ("因病", "因残", "因灾")),
}


def test_it_reads_names_keys_units_and_connectives():
    rule = cond.parse(
        "低保户 = 是 且 合规自付医疗费 >= 4万\n"
        "dibao = no and medical_self_pay >= 80,000元\n"
        "残疾人数 ≥ 2 或 致困原因 in 因灾、因残  # two alternatives on one line",
        FIELDS,
    )
    assert rule == (
        (Condition("dibao", "=", True), Condition("medical_self_pay", ">=", Decimal(40000))),
        (Condition("dibao", "=", False), Condition("medical_self_pay", ">=", Decimal(80000))),
        (Condition("disabled_members", ">=", Decimal(2)),),
        (Condition("hardship_cause", "in", ("因灾", "因残")),),
    )


def test_it_reads_a_multiple_of_the_poverty_line():
    (group,) = cond.parse("家庭人均月收入 < 1.5 × 低保线", FIELDS)
    assert group == (Condition("income_per_capita", "<", Decimal("1.5"), times_line=True),)
    (group,) = cond.parse("家庭人均月收入 <= 150% 低保线", FIELDS)
    assert group[0].value == Decimal("1.5")
    facts = {"income_per_capita": 900}
    assert cond.test(group[0], facts, line=Decimal(650)) is True  # 900 <= 975
    assert cond.test(group[0], facts, line=Decimal(500)) is False  # 900 > 750
    assert cond.test(group[0], facts, line=None) is None  # no line set: undecided


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("收入 > 5", "收入"),  # no such field
        ("合规自付医疗费 >= 很多", "很多"),  # not a number
        ("低保户 >= 是", "低保户"),  # yes/no with an order
        ("低保户 = 也许", "也许"),
        ("致困原因 = 因穷", "因穷"),  # not an option
        ("合规自付医疗费", "合规自付医疗费"),  # no operator
    ],
)
def test_it_names_the_line_and_the_problem(text, says):
    with pytest.raises(cond.ConditionError) as caught:
        cond.parse("残疾人数 >= 1\n" + text, FIELDS)
    assert caught.value.line == 2
    assert says in caught.value.message


def test_it_renders_what_it_reads():
    text = (
        "低保户 = 是 且 合规自付医疗费 >= 40,000\n"
        "致困原因 in 因病、因残\n"
        "家庭人均月收入 < 2 × 低保线"
    )
    rule = cond.parse(text, FIELDS)
    assert cond.render(rule, FIELDS) == text
    assert cond.parse(cond.render(rule, FIELDS), FIELDS) == rule


def test_it_keeps_bounds_explicit():
    at_least = Condition("medical_self_pay", ">=", Decimal(40000))
    above = Condition("medical_self_pay", ">", Decimal(40000))
    facts = {"medical_self_pay": Decimal(40000)}
    assert cond.test(at_least, facts) is True
    assert cond.test(above, facts) is False


def test_it_reports_missing_facts_only_where_they_decide():
    rule = cond.parse("低保户 = 是 且 合规自付医疗费 >= 40000\n残疾人数 >= 2", FIELDS)
    # Not 低保: the first line fails whatever the cost, so only 残疾人数 is asked for.
    result = cond.evaluate(rule, {"dibao": False})
    assert not result.holds and result.missing == {"disabled_members"}
    result = cond.evaluate(rule, {"dibao": True})
    assert result.missing == {"medical_self_pay", "disabled_members"}


def test_it_finds_where_two_groups_meet_and_where_one_contradicts_itself():
    heavy = cond.parse("低保户 = 是 且 合规自付医疗费 >= 40000", FIELDS)[0]
    middle = cond.parse(
        "低保户 = 是 且 合规自付医疗费 >= 20000 且 合规自付医疗费 <= 40000", FIELDS
    )[0]
    middle_open = cond.parse(
        "低保户 = 是 且 合规自付医疗费 >= 20000 且 合规自付医疗费 < 40000", FIELDS
    )[0]
    assert cond.witness(heavy + middle) == {"dibao": True, "medical_self_pay": Decimal(40000)}
    assert cond.witness(heavy + middle_open) is None
    never = cond.parse("合规自付医疗费 > 50000 且 合规自付医疗费 < 20000", FIELDS)[0]
    assert cond.witness(never) is None
    assert cond.witness(cond.parse("低保户 = 是 且 低保户 = 否", FIELDS)[0]) is None
    assert cond.witness(cond.parse("致困原因 = 因病 且 致困原因 in 因灾、因残", FIELDS)[0]) is None


def test_it_reads_money_as_written_by_clerks():
    assert cond.parse_amount("1.6万元") == Decimal(16000)
    assert cond.parse_amount("2,776,000") == Decimal(2776000)
    assert cond.parse_amount("12350.5") == Decimal("12350.5")
    with pytest.raises(ValueError):
        cond.parse_amount("Infinity")
