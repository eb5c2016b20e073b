"""The budget table: category × count × rate = total, by section and fund
source (domain.md §3 item 1), with ranges where the standard is a range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from campaigns.calculation import money
from campaigns.choices import StandardKind
from campaigns.conditions import fmt
from campaigns.models import Campaign, Category, FundSource

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Bounds:
    """An amount known exactly (low == high), within a range, or open above (high None)."""

    low: Decimal
    high: Decimal | None

    def times(self, n: int) -> Bounds:
        return Bounds(money(self.low * n), None if self.high is None else money(self.high * n))

    @staticmethod
    def total(items: Iterable[Bounds]) -> Bounds:
        low, high, open_above = ZERO, ZERO, False
        for b in items:
            low += b.low
            if b.high is None:
                open_above = True
            else:
                high += b.high
        return Bounds(low, None if open_above else high)

    @property
    def exact(self) -> bool:
        return self.high == self.low

    def __str__(self) -> str:
        if self.high is None:
            return f"≥ {fmt(self.low)}"
        return fmt(self.low) if self.exact else f"{fmt(self.low)}–{fmt(self.high)}"


def unit_bounds(category: Category) -> Bounds:
    """What one household (or person) of the category may receive."""
    kind = category.kind
    if kind == StandardKind.RANGE:
        low = money(category.range_min or 0)
        return Bounds(low, None if category.range_max is None else money(category.range_max))
    if kind == StandardKind.INSTALMENTS:
        annual = money(category.annual or 0)
        return Bounds(annual, annual)
    if kind == StandardKind.PERCENTAGE:
        return Bounds(
            money(category.floor or 0), None if category.cap is None else money(category.cap)
        )
    if kind == StandardKind.TIERED:
        amounts = [money(t.cash + t.goods) for t in category.tiers.all()] or [ZERO]
        return Bounds(min(amounts), max(amounts))
    each = money(category.cash + category.goods)
    return Bounds(each, each)


@dataclass
class Row:
    category: Category
    count: int | None
    cash: Decimal | None  # per unit, for a fixed standard or a tier-less display
    goods: Decimal | None
    rate: Bounds
    total: Bounds | None


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)

    @property
    def total(self) -> Bounds:
        return Bounds.total(r.total for r in self.rows if r.total is not None)


@dataclass
class SourceLine:
    name: str
    payers: str
    budget: Decimal
    planned: Bounds
    count: int
    uncounted: bool = False  # some of its categories have no planned count

    @property
    def over(self) -> bool:
        """Even the lowest standard for the planned count exceeds the budget."""
        return self.count > 0 and self.planned.low > self.budget

    @property
    def underspent(self) -> bool:
        """Even the highest standard for the planned count leaves money unspent."""
        return (
            self.count > 0
            and not self.uncounted
            and self.planned.high is not None
            and self.planned.high < self.budget
        )

    @property
    def feasible(self) -> bool:
        return not (self.over or self.underspent)


@dataclass
class BudgetTable:
    sections: list[Section]
    sources: list[SourceLine]
    total: Bounds
    budget: Decimal
    unfunded: list[Category]


def budget_table(
    campaign: Campaign, setup: tuple[list[Category], list[FundSource]] | None = None
) -> BudgetTable:
    """`setup` may be passed when the caller has read it already (Campaign.load_setup())."""
    categories, fund_sources = setup or campaign.load_setup()
    sections: dict[str, Section] = {}
    per_source: dict[int, list[Row]] = {}
    for category in categories:
        rate = unit_bounds(category)
        fixed = category.kind == StandardKind.FIXED
        count = category.planned_count
        row = Row(
            category,
            count,
            money(category.cash) if fixed else None,
            money(category.goods) if fixed else None,
            rate,
            rate.times(count) if count is not None else None,
        )
        sections.setdefault(category.section, Section(category.section)).rows.append(row)
        if category.fund_source_id:
            per_source.setdefault(category.fund_source_id, []).append(row)
    sources = []
    for source in fund_sources:
        rows = per_source.get(source.pk, [])
        shares = list(source.shares.all())
        payers = (
            "、".join(f"{s.payer} {fmt(s.percent)}%" for s in shares) if shares else source.payer
        )
        sources.append(
            SourceLine(
                source.name,
                payers,
                money(source.budget),
                Bounds.total(r.total for r in rows if r.total is not None),
                sum(r.count or 0 for r in rows),
                uncounted=any(r.count is None for r in rows),
            )
        )
    all_rows = [r for s in sections.values() for r in s.rows]
    return BudgetTable(
        sections=list(sections.values()),
        sources=sources,
        total=Bounds.total(r.total for r in all_rows if r.total is not None),
        budget=money(sum((s.budget for s in sources), ZERO)),
        unfunded=[c for c in categories if c.fund_source_id is None],
    )
