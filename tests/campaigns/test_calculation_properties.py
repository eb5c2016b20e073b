"""Properties of campaigns.calculation that hold for every amount, not only the
worked examples. Pure: no database."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from campaigns.calculation import (
    CategoryRule,
    Escalation,
    Fixed,
    Instalments,
    Outcome,
    Percentage,
    Range,
    Share,
    compute,
    split,
    stack,
)
from campaigns.choices import ApprovalLevel, StackingPolicy, Unit
from campaigns.conditions import Condition

D = Decimal
CENT = D("0.01")
STEPS = [CENT, D(1), D(10), D(100)]

amounts = st.decimals(min_value=0, max_value=10_000_000, places=2)
small_amounts = st.decimals(min_value=0, max_value=100_000, places=2)
rates = st.decimals(min_value=0, max_value=300, places=2)
steps = st.sampled_from(STEPS)
optional = st.none() | small_amounts
percents = st.decimals(min_value=D("0.01"), max_value=100, places=2)

fast = settings(max_examples=300, deadline=None)


def exact_share(base: Decimal, rate: Decimal) -> Decimal:
    return base * rate / 100  # exact: at most 14 significant digits here


def half_up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(D(1), rounding=ROUND_HALF_UP) * step


def percentage(
    base: Decimal,
    rate: Decimal,
    step: Decimal = CENT,
    cap: Decimal | None = None,
    floor: Decimal | None = None,
    not_above_base: bool = False,
) -> Outcome:
    standard = Percentage("base", rate, step, cap, floor, not_above_base)
    return compute(CategoryRule("医疗救助", standard), {"base": base})


def on_step(amount: Decimal, step: Decimal) -> bool:
    return amount % step == 0


# -- percentage of a base -----------------------------------------------------------


@fast
@given(base=amounts, rate=rates, step=steps, cap=optional, floor=optional, nab=st.booleans())
def test_it_never_pays_a_negative_amount(base, rate, step, cap, floor, nab):
    out = percentage(base, rate, step, cap, floor, nab)
    assert out.eligible and not out.error
    assert out.amount >= 0 and out.cash == out.amount and out.goods == 0


@fast
@given(base=amounts, rate=rates, step=steps, cap=small_amounts, floor=optional, nab=st.booleans())
def test_it_never_pays_above_the_cap(base, rate, step, cap, floor, nab):
    # The cap is applied after the floor, so it wins even over a floor above it.
    assert percentage(base, rate, step, cap, floor, nab).amount <= cap


@fast
@given(base=amounts, rate=rates, step=steps, cap=optional, floor=optional)
@example(base=D(12350), rate=D(100), step=D(100), cap=None, floor=None)
@example(base=D(40), rate=D(100), step=D(100), cap=None, floor=D(500))
def test_it_never_pays_above_the_base_when_told_not_to(base, rate, step, cap, floor):
    assert percentage(base, rate, step, cap, floor, not_above_base=True).amount <= base


@fast
@given(base=amounts, rate=rates, step=steps, cap=optional, floor=optional, nab=st.booleans())
def test_it_stays_on_the_rounding_step_unless_the_floor_or_the_cap_is_off_it(
    base, rate, step, cap, floor, nab
):
    """The exact property: the amount is a multiple of the step, or it is the
    floor or the cap themselves (which need not be on the step). "Not above the
    base" never leaves the step: it rounds the base down to the step."""
    amount = percentage(base, rate, step, cap, floor, nab).amount
    assert on_step(amount, step) or amount in (cap, floor)


@fast
@given(base=amounts, rate=rates, step=steps, cap=optional, floor=optional, nab=st.booleans())
def test_it_stays_on_the_step_whenever_the_floor_and_cap_are_on_it(
    base, rate, step, cap, floor, nab
):
    cap = None if cap is None else half_up(cap, step)
    floor = None if floor is None else half_up(floor, step)
    assert on_step(percentage(base, rate, step, cap, floor, nab).amount, step)


@fast
@given(base=amounts, rate=rates, step=steps)
@example(base=D("12312.50"), rate=D(80), step=D(100))  # 9,850 → 9,900
@example(base=D("2333.30"), rate=D(15), step=D(100))  # 349.995 → 300, not 400
@example(base=D("999.99"), rate=D(15), step=D(100))  # 149.9985 → 100, not 200
@example(base=D("3.33"), rate=D(15), step=D(1))  # 0.4995 → 0, not 1
def test_it_rounds_the_exact_percentage_half_up_once(base, rate, step):
    """With no cap, floor or base limit, the amount is base × rate rounded
    half-up to the step in one go (四舍五入), not first to the cent and then
    to the step."""
    out = percentage(base, rate, step)
    assert out.amount == half_up(exact_share(base, rate), step)
    assert abs(out.amount - exact_share(base, rate)) <= step / 2


@fast
@given(base=amounts, rate=rates, step=steps)
def test_it_rounds_to_the_step_below_the_base_when_rounding_up_would_exceed_it(base, rate, step):
    out = percentage(base, rate, step, not_above_base=True)
    rounded = percentage(base, rate, step).amount
    if rounded <= base:
        assert out.amount == rounded
    else:
        assert out.amount == (base / step).quantize(D(1), rounding=ROUND_DOWN) * step


@fast
@given(
    a=amounts,
    b=amounts,
    rate=rates,
    step=steps,
    cap=optional,
    floor=optional,
    nab=st.booleans(),
)
@example(a=D(149), b=D(160), rate=D(100), step=D(100), cap=None, floor=D(120), nab=True)
def test_it_never_pays_less_for_a_higher_base(a, b, rate, step, cap, floor, nab):
    low, high = sorted((a, b))
    assert (
        percentage(low, rate, step, cap, floor, nab).amount
        <= percentage(high, rate, step, cap, floor, nab).amount
    )


@fast
@given(base=amounts, rate=rates, step=steps, floor=small_amounts)
@example(base=D(160), rate=D(100), step=D(100), floor=D(120))  # 200 > 160: 100 < 120
@example(base=D("70.08"), rate=D("71.34"), step=D(100), floor=D("0.01"))
def test_it_keeps_the_floor_when_the_base_allows_it(base, rate, step, floor):
    """ "Not above the base" lowers an amount to the base (rounded down to the
    step), but not below a floor that is itself not above the base."""
    amount = percentage(base, rate, step, floor=floor, not_above_base=True).amount
    assert amount <= base
    if floor <= base:
        assert amount >= floor


@fast
@given(base=amounts, costs=small_amounts)
def test_it_pays_only_when_the_threshold_holds(base, costs):
    threshold = Condition("costs", ">=", D(24000))
    standard = Percentage("base", D(15), D(100), cap=D(10000), threshold=threshold)
    out = compute(CategoryRule("意外致困", standard), {"base": base, "costs": costs})
    assert out.eligible == (costs >= 24000)
    assert (out.amount is None) == (costs < 24000)


ESCALATIONS = (
    Escalation(Condition("base", ">", D(20000)), ApprovalLevel.PROVINCE),
    Escalation(Condition("base", ">", D(50000)), ApprovalLevel.NATIONAL),
)


@fast
@given(a=amounts, b=amounts)
@example(a=D(20000), b=D("20000.01"))
@example(a=D(50000), b=D("50000.01"))
def test_it_escalates_approval_with_the_amount_and_never_back_down(a, b):
    rule = CategoryRule(
        "深度", Percentage("base", D(100), D(100), not_above_base=True), escalations=ESCALATIONS
    )
    low, high = sorted((a, b))
    levels = [compute(rule, {"base": x}).level for x in (low, high)]
    assert ApprovalLevel.rank(levels[0]) <= ApprovalLevel.rank(levels[1])
    expected = (
        ApprovalLevel.NATIONAL
        if high > 50000
        else ApprovalLevel.PROVINCE
        if high > 20000
        else ApprovalLevel.TOWNSHIP
    )
    assert levels[1] == expected


# -- payer splits -------------------------------------------------------------------


share_lists = st.lists(
    st.tuples(st.text(min_size=1, max_size=4), percents), min_size=1, max_size=6
).map(lambda items: [Share(f"{i}{name}", pct) for i, (name, pct) in enumerate(items)])


@fast
@given(amount=amounts, shares=share_lists)
@example(amount=D("0.01"), shares=[Share("区", D(50)), Share("镇", D(50))])
@example(
    amount=D("100.00"),
    shares=[Share("a", D("33.33")), Share("b", D("33.33")), Share("c", D("33.34"))],
)
def test_it_splits_a_payment_into_parts_that_add_back_exactly(amount, shares):
    parts = split(amount, shares)
    assert [payer for payer, _part in parts] == [s.payer for s in shares]
    assert sum(part for _payer, part in parts) == amount
    total = sum(s.percent for s in shares)
    for (_payer, part), share in zip(parts, shares, strict=True):
        assert part >= 0
        assert part.as_tuple().exponent >= -2  # whole cents
        assert abs(part - amount * share.percent / total) < CENT


@fast
@given(amount=amounts)
def test_it_gives_the_odd_cent_of_an_even_split_to_the_payer_listed_first(amount):
    (first, a), (second, b) = split(amount, [Share("区", D(50)), Share("镇", D(50))])
    assert (first, second) == ("区", "镇")
    assert a - b in (0, CENT)


@fast
@given(base=amounts, step=steps, shares=share_lists)
def test_it_splits_every_computed_amount_between_the_payers(base, step, shares):
    rule = CategoryRule("x", Percentage("base", D(80), step), shares=tuple(shares))
    out = compute(rule, {"base": base})
    assert sum(part for _payer, part in out.shares) == out.amount


# -- instalments ----------------------------------------------------------------------


@fast
@given(annual=amounts, count=st.integers(min_value=1, max_value=12))
@example(annual=D(7900), count=4)
@example(annual=D(6300), count=4)
@example(annual=D("100.03"), count=4)
def test_it_pays_instalments_that_add_up_to_the_annual_amount(annual, count):
    out = compute(CategoryRule("生活救助", Instalments(annual, count)), {})
    assert out.amount == annual
    assert len(out.instalments) == count
    assert sum(out.instalments) == annual
    assert max(out.instalments) - min(out.instalments) <= CENT
    assert list(out.instalments) == sorted(out.instalments, reverse=True)  # extra cents first


# -- fixed and range ------------------------------------------------------------------


@fast
@given(cash=small_amounts, goods=small_amounts, persons=st.integers(min_value=0, max_value=20))
def test_it_pays_a_fixed_amount_per_person_times_the_persons(cash, goods, persons):
    rule = CategoryRule("百岁老人", Fixed(cash, goods, Unit.PERSON))
    out = compute(rule, {"persons": persons})
    assert (out.cash, out.goods) == (cash * persons, goods * persons)
    assert out.amount == (cash + goods) * persons


@fast
@given(low=small_amounts, width=small_amounts, proposed=small_amounts, soft=st.booleans())
def test_it_accepts_an_amount_in_the_range_and_flags_or_refuses_one_outside(
    low, width, proposed, soft
):
    high = low + width
    out = compute(CategoryRule("一般", Range(low, high, soft=soft)), {}, proposed)
    inside = low <= proposed <= high
    if inside:
        assert out.amount == proposed and not out.error and not out.needs_reason
        assert out.level == ApprovalLevel.TOWNSHIP
    elif soft:
        assert out.amount == proposed and out.needs_reason
        assert ApprovalLevel.rank(out.level) >= ApprovalLevel.rank(ApprovalLevel.COUNTY)
    else:
        assert out.amount is None and out.error


# -- stacking -------------------------------------------------------------------------


def paid(amounts_: list[Decimal]) -> list[Outcome]:
    return [Outcome(f"类别{i}", eligible=True, amount=a) for i, a in enumerate(amounts_)]


several = st.lists(small_amounts, min_size=2, max_size=5)


@fast
@given(amounts_=several, top_up=small_amounts)
def test_it_pays_the_highest_plus_the_top_up_under_highest_plus(amounts_, top_up):
    out = stack(StackingPolicy.HIGHEST_PLUS, paid(amounts_), top_up=top_up)
    assert not out.error
    assert out.amount == max(amounts_) + top_up
    assert len(out.kept) == 1


@fast
@given(amount=small_amounts, top_up=small_amounts)
def test_it_adds_no_top_up_to_a_household_under_one_category(amount, top_up):
    out = stack(StackingPolicy.HIGHEST_PLUS, paid([amount]), top_up=top_up)
    assert out.amount == amount


@fast
@given(amounts_=several)
def test_it_pays_only_the_highest_under_highest(amounts_):
    assert stack(StackingPolicy.HIGHEST, paid(amounts_)).amount == max(amounts_)


@fast
@given(amounts_=several)
def test_it_refuses_two_categories_under_exclusive(amounts_):
    out = stack(StackingPolicy.EXCLUSIVE, paid(amounts_))
    assert out.error and out.amount == 0 and out.kept == ()


@fast
@given(amounts_=several)
def test_it_adds_up_named_pairs_and_otherwise_pays_the_highest(amounts_):
    outcomes = paid(amounts_)
    names = [o.category for o in outcomes]
    every_pair = frozenset(frozenset({a, b}) for i, a in enumerate(names) for b in names[i + 1 :])
    assert stack(StackingPolicy.PAIRS, outcomes, pairs=every_pair).amount == sum(amounts_)
    some_missing = frozenset(list(every_pair)[1:])
    assert stack(StackingPolicy.PAIRS, outcomes, pairs=some_missing).amount == max(amounts_)


@fast
@given(amounts_=several, policy=st.sampled_from(StackingPolicy.values))
def test_it_ignores_categories_the_household_does_not_qualify_for(amounts_, policy):
    outcomes = [*paid(amounts_[:1]), Outcome("不符合", eligible=False)]
    out = stack(policy, outcomes, top_up=D(1000))
    assert out.amount == amounts_[0] and not out.error
