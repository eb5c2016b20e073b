"""What a household is owed: one pure module, no database.

Given a category's rule (its standard, eligibility, escalations and payer
shares) and a household's evidence, `compute` returns the amount, its cash and
goods parts, the instalments, the split by payer at the cent, the approval
level it needs, and an explanation a clerk can read:

    合规自付医疗费 12,350 × 80% = 9,880 → 9,900（四舍五入至 100 元）

Money is Decimal yuan throughout; amounts are rounded half-up (四舍五入), to
the cent unless the standard says 1, 10 or 100 yuan. `campaigns.models` turns
configured rows into these rules; the budget checks and the workflow call
`compute`, nothing else does arithmetic on standards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from campaigns.choices import ApprovalLevel, StackingPolicy, Unit
from campaigns.conditions import (
    OUTCOME_FIELDS,
    Condition,
    FieldSpec,
    Rule,
    describe,
    evaluate,
    fmt,
    test,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_to(value: Decimal, step: Decimal) -> Decimal:
    """Half-up to a multiple of `step` (四舍五入): 9,850 → 9,900 for step 100."""
    return money((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def round_down_to(value: Decimal, step: Decimal) -> Decimal:
    return money((value / step).quantize(Decimal(1), rounding=ROUND_DOWN) * step)


def step_words(step: Decimal) -> str:
    if step == CENT:
        return _("rounded to the cent")
    return _("rounded half-up to %(step)s yuan") % {"step": fmt(step)}


# -- standards ------------------------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    cash: Decimal = ZERO
    goods: Decimal = ZERO  # goods valued in cash (慰问品折算)
    unit: str = Unit.HOUSEHOLD


@dataclass(frozen=True)
class Range:
    low: Decimal
    high: Decimal | None = None  # None: no upper bound ("1000元起")
    # A soft range (原则上) accepts an amount outside with a written reason and
    # a higher approval; a hard one refuses it.
    soft: bool = False
    outside_level: str = ApprovalLevel.COUNTY
    unit: str = Unit.HOUSEHOLD


@dataclass(frozen=True)
class Instalments:
    annual: Decimal
    count: int = 4  # quarterly


@dataclass(frozen=True)
class Percentage:
    base_field: str
    rate: Decimal  # percent: 80 means 80 %
    step: Decimal = CENT
    cap: Decimal | None = None
    floor: Decimal | None = None
    not_above_base: bool = False
    # The household qualifies only when this holds (年度致困费用 >= 24,000).
    threshold: Condition | None = None


@dataclass(frozen=True)
class Tier:
    name: str
    cash: Decimal = ZERO
    goods: Decimal = ZERO
    when: Rule = ()  # () is "otherwise": a catch-all tier, normally the last


@dataclass(frozen=True)
class Tiered:
    tiers: tuple[Tier, ...]
    unit: str = Unit.HOUSEHOLD


Standard = Fixed | Range | Instalments | Percentage | Tiered


@dataclass(frozen=True)
class Escalation:
    """Approval moves up to `level` when the condition holds. The condition's
    field is an evidence field or "amount", the amount computed."""

    condition: Condition
    level: str


@dataclass(frozen=True)
class Share:
    payer: str
    percent: Decimal


@dataclass(frozen=True)
class CategoryRule:
    name: str
    standard: Standard
    eligibility: Rule = ()
    escalations: tuple[Escalation, ...] = ()
    shares: tuple[Share, ...] = ()  # empty: not yet funded, no split
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    line: Decimal | None = None  # the local 低保 line, for "× 低保线" conditions
    base_level: str = ApprovalLevel.TOWNSHIP


@dataclass
class Outcome:
    category: str
    eligible: bool
    amount: Decimal | None = None  # None: the reviewer must choose (a range)
    cash: Decimal = ZERO
    goods: Decimal = ZERO
    tier: str = ""
    instalments: tuple[Decimal, ...] = ()
    shares: tuple[tuple[str, Decimal], ...] = ()
    level: str = ApprovalLevel.TOWNSHIP
    needs_reason: bool = False
    lines: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    error: str = ""  # the proposed amount is not allowed

    @property
    def explanation(self) -> str:
        return "；".join(self.lines)


def fields_used(rule: CategoryRule) -> set[str]:
    """The evidence keys a rule reads: what an application for it must ask for
    (household facts from the register among them)."""
    used: set[str] = set()
    for group in rule.eligibility:
        used |= {c.field for c in group}
    for escalation in rule.escalations:
        used.add(escalation.condition.field)
    standard = rule.standard
    if isinstance(standard, Percentage):
        used.add(standard.base_field)
        if standard.threshold:
            used.add(standard.threshold.field)
    if isinstance(standard, Tiered):
        for tier in standard.tiers:
            for group in tier.when:
                used |= {c.field for c in group}
    if getattr(standard, "unit", "") == Unit.PERSON:
        used.add("persons")
    used -= set(OUTCOME_FIELDS)
    return used


# -- the calculation ------------------------------------------------------------


def compute(
    rule: CategoryRule, facts: Mapping[str, Any], proposed: Decimal | None = None
) -> Outcome:
    """What `facts` earn under `rule`. `proposed` is the reviewer's amount for
    a range standard (ignored by the others)."""
    out = Outcome(rule.name, eligible=True, level=rule.base_level)
    names = rule.fields
    eligibility = evaluate(rule.eligibility, facts, rule.line)
    if not eligibility.holds:
        out.eligible = False
        if eligibility.missing:
            _ask_for(out, eligibility.missing, names)
        else:
            out.lines.append(_("Not eligible: no condition of the category holds."))
        return out
    if eligibility.group:
        out.lines.append(
            _("Eligible: %(why)s.")
            % {"why": " 且 ".join(describe(c, names) for c in eligibility.group)}
        )
    standard = rule.standard
    if isinstance(standard, Fixed):
        _fixed(out, standard.cash, standard.goods, standard.unit, facts)
    elif isinstance(standard, Range):
        _range(out, standard, facts, proposed)
    elif isinstance(standard, Instalments):
        _instalments(out, standard)
    elif isinstance(standard, Percentage):
        _percentage(out, standard, facts, names, rule.line)
    else:
        _tiered(out, standard, facts, names, rule.line)
    if out.eligible and out.amount is not None and not out.error:
        _escalate(out, rule, facts)
        if rule.shares:
            out.shares = tuple(split(out.amount, rule.shares))
    return out


def _name(names: Mapping[str, FieldSpec], key: str) -> str:
    spec = names.get(key)
    return spec.name if spec else key


def _ask_for(out: Outcome, keys: set[str], names: Mapping[str, FieldSpec]) -> None:
    """Not decided: the evidence named is needed first."""
    out.eligible = False
    out.missing = tuple(sorted(keys))
    out.lines.append(
        _("Evidence missing: %(fields)s.")
        % {"fields": "、".join(_name(names, k) for k in out.missing)}
    )


def _persons(facts: Mapping[str, Any]) -> int:
    """Persons covered by a per-person standard: those the application names,
    else the household's size, else three (001/篇十二's default)."""
    for key in ("persons", "household_size"):
        value = facts.get(key)
        if value not in (None, ""):
            return max(int(Decimal(str(value))), 0)
    return 3


def _fixed(
    out: Outcome, cash: Decimal, goods: Decimal, unit: str, facts: Mapping[str, Any]
) -> None:
    cash, goods = money(cash), money(goods)
    each = cash + goods
    parts = (
        _("%(cash)s cash + %(goods)s goods") % {"cash": fmt(cash), "goods": fmt(goods)}
        if goods and cash
        else (_("%(goods)s in goods") % {"goods": fmt(goods)} if goods else fmt(cash))
    )
    if unit == Unit.PERSON:
        n = _persons(facts)
        out.cash, out.goods = cash * n, goods * n
        out.lines.append(
            _("%(each)s per person × %(n)s = %(total)s")
            % {"each": parts, "n": n, "total": fmt(each * n)}
        )
    else:
        out.cash, out.goods = cash, goods
        out.lines.append(_("%(each)s per household") % {"each": parts})
    out.amount = out.cash + out.goods


def _range(
    out: Outcome, standard: Range, facts: Mapping[str, Any], proposed: Decimal | None
) -> None:
    low = money(standard.low)
    high = None if standard.high is None else money(standard.high)
    bounds = (
        f"{fmt(low)}–{fmt(high)}" if high is not None else _("%(low)s or more") % {"low": fmt(low)}
    )
    per_person = standard.unit == Unit.PERSON
    n = _persons(facts) if per_person else 1
    if proposed is None:
        out.lines.append(_("The reviewer chooses an amount in %(bounds)s.") % {"bounds": bounds})
        return
    amount = money(proposed)
    if amount < 0:
        out.error = _("An amount cannot be negative.")
        return
    each = amount / n if per_person else amount
    inside = each >= low and (high is None or each <= high)
    out.amount = out.cash = amount
    if inside:
        out.lines.append(
            _("%(amount)s chosen within %(bounds)s") % {"amount": fmt(amount), "bounds": bounds}
        )
    elif standard.soft:
        out.needs_reason = True
        out.level = higher_level(out.level, standard.outside_level)
        out.lines.append(
            _(
                "%(amount)s is outside %(bounds)s: allowed with a written reason "
                "and %(level)s approval"
            )
            % {"amount": fmt(amount), "bounds": bounds, "level": ApprovalLevel(out.level).label}
        )
    else:
        out.amount = None
        out.cash = ZERO
        out.error = _("%(amount)s is outside the standard %(bounds)s.") % {
            "amount": fmt(amount),
            "bounds": bounds,
        }


def _instalments(out: Outcome, standard: Instalments) -> None:
    annual = money(standard.annual)
    out.amount = out.cash = annual
    out.instalments = tuple(
        amount
        for _payer, amount in split(
            annual, [Share(str(i), Decimal(1)) for i in range(standard.count)]
        )
    )
    out.lines.append(
        _("%(annual)s a year in %(count)s instalments of %(each)s")
        % {
            "annual": fmt(annual),
            "count": standard.count,
            "each": " / ".join(fmt(a) for a in sorted(set(out.instalments), reverse=True)),
        }
    )


def _percentage(
    out: Outcome,
    standard: Percentage,
    facts: Mapping[str, Any],
    names: Mapping[str, FieldSpec],
    line: Decimal | None,
) -> None:
    if standard.threshold is not None:
        held = test(standard.threshold, facts, line)
        if held is None:
            _ask_for(out, {standard.threshold.field}, names)
            return
        if not held:
            out.eligible = False
            out.lines.append(
                _("Does not qualify: %(condition)s does not hold (%(value)s).")
                % {
                    "condition": describe(standard.threshold, names),
                    "value": fmt(Decimal(str(facts[standard.threshold.field]))),
                }
            )
            return
    raw = facts.get(standard.base_field)
    if raw in (None, ""):
        _ask_for(out, {standard.base_field}, names)
        return
    base = money(Decimal(str(raw)))
    if base < 0:
        out.error = _("%(field)s cannot be negative.") % {
            "field": _name(names, standard.base_field)
        }
        return
    exact = base * standard.rate / HUNDRED  # unrounded: round once, to the step
    amount = round_to(exact, standard.step)
    text = f"{_name(names, standard.base_field)} {fmt(base)} × {fmt(standard.rate)}% = {fmt(exact)}"
    if amount != exact:
        text += f" → {fmt(amount)}（{step_words(standard.step)}）"
    out.lines.append(text)
    if standard.floor is not None and amount < standard.floor:
        amount = money(standard.floor)
        out.lines.append(_("raised to the floor of %(floor)s") % {"floor": fmt(amount)})
    if standard.cap is not None and amount > standard.cap:
        amount = money(standard.cap)
        out.lines.append(_("limited to the cap of %(cap)s") % {"cap": fmt(amount)})
    if standard.not_above_base and amount > base:
        # Stay on the rounding step while not exceeding the base.
        amount = round_down_to(base, standard.step)
        if standard.floor is not None and amount < standard.floor <= base:
            amount = money(standard.floor)
        out.lines.append(
            _("not above %(field)s: %(amount)s")
            % {"field": _name(names, standard.base_field), "amount": fmt(amount)}
        )
    out.amount = out.cash = amount


def _tiered(
    out: Outcome,
    standard: Tiered,
    facts: Mapping[str, Any],
    names: Mapping[str, FieldSpec],
    line: Decimal | None,
) -> None:
    missing: set[str] = set()
    for tier in standard.tiers:
        result = evaluate(tier.when, facts, line)
        if result.holds:
            out.tier = tier.name
            why = (
                " 且 ".join(describe(c, names) for c in result.group)
                if result.group
                else _("otherwise")
            )
            out.lines.append(_("Tier %(tier)s: %(why)s") % {"tier": tier.name, "why": why})
            _fixed(out, tier.cash, tier.goods, standard.unit, facts)
            return
        missing |= result.missing
    out.eligible = False
    if missing:
        _ask_for(out, missing, names)
    else:
        out.lines.append(_("No tier applies."))


def higher_level(a: str, b: str) -> str:
    """The higher of two approval levels."""
    return a if ApprovalLevel.rank(a) >= ApprovalLevel.rank(b) else b


def _escalate(out: Outcome, rule: CategoryRule, facts: Mapping[str, Any]) -> None:
    values = {**facts, "amount": out.amount, "tier": out.tier or None}
    names = {**rule.fields, **OUTCOME_FIELDS}
    for escalation in rule.escalations:
        if test(escalation.condition, values, rule.line) and ApprovalLevel.rank(
            escalation.level
        ) > ApprovalLevel.rank(out.level):
            out.level = escalation.level
            out.lines.append(
                _("%(condition)s: needs %(level)s approval")
                % {
                    "condition": describe(escalation.condition, names),
                    "level": ApprovalLevel(escalation.level).label,
                }
            )


# -- payer splits and stacking --------------------------------------------------


def split(amount: Decimal, shares: Sequence[Share]) -> list[tuple[str, Decimal]]:
    """Split `amount` by percentage shares at the cent; the parts add back to
    `amount` exactly. Cents left over by rounding down go to the largest
    remainders, ties to the earlier share (区、镇各半 of 0.01: the first pays)."""
    amount = money(amount)
    if not shares:
        return []
    if amount < 0:  # a reversal: split what it reverses, then turn the sign back
        return [(payer, -part) for payer, part in split(-amount, shares)]
    total = sum((s.percent for s in shares), Decimal(0))
    if total <= 0:
        raise ValueError("shares must add up to more than zero")
    cents = int(amount / CENT)
    exact = [Decimal(cents) * s.percent / total for s in shares]
    parts = [int(e) for e in exact]  # toward zero
    leftover = cents - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [(s.payer, Decimal(p) * CENT) for s, p in zip(shares, parts, strict=True)]


@dataclass
class Stacked:
    amount: Decimal
    kept: tuple[str, ...]
    lines: list[str]
    error: str = ""


def stack(
    policy: str,
    outcomes: Sequence[Outcome],
    *,
    top_up: Decimal = ZERO,
    pairs: frozenset[frozenset[str]] = frozenset(),
) -> Stacked:
    """What a household under several categories receives, by the campaign's
    stacking policy (domain.md §3.6). Only eligible outcomes with an amount count."""
    paying = [o for o in outcomes if o.eligible and o.amount is not None and not o.error]
    if not paying:
        return Stacked(ZERO, (), [_("No category applies.")])
    best = max(paying, key=lambda o: o.amount)  # type: ignore[arg-type, return-value]
    if len(paying) == 1:
        return Stacked(best.amount, (best.category,), [f"{best.category} {fmt(best.amount)}"])  # type: ignore[arg-type]
    names = "、".join(o.category for o in paying)
    if policy == StackingPolicy.EXCLUSIVE:
        return Stacked(
            ZERO,
            (),
            [],
            error=_(
                "Only one category per household in this campaign; "
                "this household falls under %(names)s."
            )
            % {"names": names},
        )
    if policy == StackingPolicy.PAIRS:
        allowed = all(
            frozenset({a.category, b.category}) in pairs
            for i, a in enumerate(paying)
            for b in paying[i + 1 :]
        )
        if allowed:
            total = money(sum((o.amount for o in paying), ZERO))  # type: ignore[misc]
            return Stacked(
                total,
                tuple(o.category for o in paying),
                [" + ".join(f"{o.category} {fmt(o.amount)}" for o in paying) + f" = {fmt(total)}"],  # type: ignore[arg-type]
            )
    lines = [
        _("The highest of %(names)s: %(best)s %(amount)s")
        % {"names": names, "best": best.category, "amount": fmt(best.amount)}
    ]  # type: ignore[arg-type]
    amount = best.amount
    if policy == StackingPolicy.HIGHEST_PLUS and top_up:
        amount = money(amount + top_up)  # type: ignore[operator]
        lines.append(
            _("plus the top-up %(top_up)s = %(amount)s")
            % {"top_up": fmt(money(top_up)), "amount": fmt(amount)}
        )
    return Stacked(amount, (best.category,), lines)  # type: ignore[arg-type]
