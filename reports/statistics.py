"""类别统计表 / 一览表 with filters, and the year-over-year comparison of two
campaigns of the same kind (domain.md §4 step 8, §6).

Pure computation: the figures a user may see, read through the one scoping
path (`Application.objects.restrict`) and grouped by village in the database.
The villages are then rolled up, in Python and by area code, to the areas of
the table's axis: the children of the chosen area (a county's townships, a
township's villages; a village is its own line). So the number of queries
does not grow with the number of villages or applications.

A line counts applications; one household has one application in a campaign,
so within a campaign that is the number of households.

Categories and fund sources belong to one campaign: across campaigns they are
matched by name.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, QuerySet, Sum
from django.utils.translation import gettext as _

from applications.choices import State
from applications.models import Application
from campaigns.calculation import money
from campaigns.models import Campaign, Category
from documents.ledger import ZERO, no_fund_source
from documents.statistics import Figure
from relief.areacodes import LEVEL_DIGITS
from relief.choices import AreaLevel
from relief.models import Area
from relief.scoping import area_prefixes

if TYPE_CHECKING:
    from relief.scoping import AnyUser

VIEW = "applications.view_application"
NOTHING = Figure(0, ZERO)
PERCENT = Decimal("0.1")


# -- areas ------------------------------------------------------------------------------


def user_areas(user: AnyUser) -> QuerySet[Area]:
    """The areas whose figures the user may see: the choices of the filters."""
    return Area.objects.restrict(user, perm=VIEW).select_related("parent")


def default_area(user: AnyUser) -> Area | None:
    """The user's widest area (the first by code if several are as wide); for a
    superuser the first top-level area. None when the user sees no area."""
    prefixes = area_prefixes(user, VIEW)
    if prefixes is None:
        return Area.objects.filter(parent=None).select_related("parent").order_by("code").first()
    if not prefixes:
        return None
    widest = min(prefixes, key=lambda p: (len(p), p))
    return Area.objects.select_related("parent").filter(code=widest.ljust(12, "0")).first()


@dataclass(frozen=True)
class Place:
    """A line of the area axis."""

    pk: int
    code: str
    name: str
    level: str

    @property
    def prefix(self) -> str:
        return self.code[: LEVEL_DIGITS[self.level]]

    @property
    def drillable(self) -> bool:
        """Has areas below it to break its figures down into."""
        return self.level != AreaLevel.VILLAGE


def axis(area: Area) -> list[Place]:
    """The lines of the area axis: the area's children by code, or the village
    itself. One query."""
    if area.level == AreaLevel.VILLAGE:
        return [Place(area.pk, area.code, area.name, area.level)]
    return [
        Place(*row)
        for row in Area.objects.filter(parent=area)
        .order_by("code")
        .values_list("pk", "code", "name", "level")
    ]


class Rollup:
    """Maps a village's code to the line of the axis it belongs to. A village
    no child covers (not possible in a consistent area tree, whose villages
    hang under townships) counts on a line for the area itself, so the lines
    always add up to the total."""

    def __init__(self, area: Area, places: list[Place]) -> None:
        self.area = area
        self.places = places
        self.by_prefix = {place.prefix: place for place in places}
        self.lengths = sorted({len(p) for p in self.by_prefix}, reverse=True)
        self.rest: Place | None = None

    def place_of(self, village_code: str) -> Place:
        for length in self.lengths:
            place = self.by_prefix.get(village_code[:length])
            if place is not None:
                return place
        if self.rest is None:
            self.rest = Place(self.area.pk, self.area.code, self.area.name, AreaLevel.VILLAGE)
            self.places.append(self.rest)
        return self.rest


def overlaps(place: Place, area: Area) -> bool:
    """Does a campaign of `area` reach the place (one lies inside the other)?"""
    return place.code.startswith(area.prefix) or area.code.startswith(place.prefix)


# -- the filtered statistics --------------------------------------------------------------


@dataclass(frozen=True)
class StatisticsFilter:
    """What the statistics count. `campaigns` empty is every campaign the user
    sees; `category` and `fund_source` are names ("" for all); `state` None is
    every state; the dates bound the day of the decision (decided_at), both
    included."""

    area: Area
    campaigns: tuple[Campaign, ...] = ()
    category: str = ""
    fund_source: str = ""
    state: str | None = State.APPROVED
    decided_from: datetime.date | None = None
    decided_to: datetime.date | None = None

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) of each filter, as the page and the workbook print them."""
        dates = ""
        if self.decided_from or self.decided_to:
            start = self.decided_from.isoformat() if self.decided_from else "…"
            end = self.decided_to.isoformat() if self.decided_to else "…"
            dates = f"{start} – {end}"
        return [
            (_("Area"), area_name(self.area)),
            (_("Campaign"), "、".join(c.name for c in self.campaigns) or _("All campaigns")),
            (_("Category"), self.category or _("All")),
            (_("Fund source"), self.fund_source or _("All")),
            (_("State"), str(State(self.state).label) if self.state else _("All states")),
            (_("Decided"), dates or _("Any date")),
        ]

    def query(self) -> dict[str, Any]:
        """The filter as query-string values (for links, the export, the audit)."""
        values: dict[str, Any] = {"area": self.area.pk, "state": self.state or "all"}
        if self.campaigns:
            values["campaign"] = [c.pk for c in self.campaigns]
        if self.category:
            values["category"] = self.category
        if self.fund_source:
            values["fund_source"] = self.fund_source
        if self.decided_from:
            values["decided_from"] = self.decided_from.isoformat()
        if self.decided_to:
            values["decided_to"] = self.decided_to.isoformat()
        return values


def area_name(area: Area) -> str:
    """The area with the one above it (城关镇 东关村): village names repeat."""
    parent = area.parent if area.parent_id else None
    return f"{parent.name} {area.name}" if parent is not None else area.name


@dataclass(frozen=True)
class Line:
    """A line of the category table: one area's figure per category and its total."""

    place: Place
    figures: list[Figure]
    total: Figure


@dataclass
class Statistics:
    filter: StatisticsFilter
    places: list[Place]
    categories: list[str]  # the columns: category names
    cells: dict[tuple[str, int], Figure]  # (category, place pk)
    by_place: dict[int, Figure]
    by_category: dict[str, Figure]
    by_fund_source: dict[str, Figure]  # in the sources' order; no source last
    by_state: dict[str, Figure]  # every state, the state filter aside; in State order
    total: Figure
    state_total: Figure

    @property
    def lines(self) -> list[Line]:
        return [
            Line(
                place,
                [self.cells.get((c, place.pk), NOTHING) for c in self.categories],
                self.by_place.get(place.pk, NOTHING),
            )
            for place in self.places
        ]

    @property
    def category_totals(self) -> list[Figure]:
        return [self.by_category.get(c, NOTHING) for c in self.categories]

    @property
    def state_lines(self) -> list[tuple[str, Figure]]:
        return [(str(State(s).label), figure) for s, figure in self.by_state.items()]


def filtered(user: AnyUser, flt: StatisticsFilter, *, every_state: bool = False) -> QuerySet:
    """The applications the filter selects among those the user may see;
    `every_state` leaves the state filter out (for the table by state)."""
    applications = Application.objects.restrict(user, perm=VIEW).filter(
        village__code__prefix=flt.area.prefix
    )
    if flt.campaigns:
        applications = applications.filter(campaign__in=[c.pk for c in flt.campaigns])
    if flt.category:
        applications = applications.filter(category__name=flt.category)
    if flt.fund_source:
        applications = applications.filter(fund_source__name=flt.fund_source)
    if flt.decided_from:
        applications = applications.filter(decided_at__date__gte=flt.decided_from)
    if flt.decided_to:
        applications = applications.filter(decided_at__date__lte=flt.decided_to)
    if flt.state and not every_state:
        applications = applications.filter(state=flt.state)
    return applications


def compute_statistics(user: AnyUser, flt: StatisticsFilter) -> Statistics:
    """Counts and sums by category × area, by fund source, by state and in
    total, of the applications `flt` selects that `user` may see. Two queries
    (the axis and one GROUP BY village, category, fund source and state)
    whatever the number of villages or applications."""
    places = axis(flt.area)
    rollup = Rollup(flt.area, places)
    rows = (
        filtered(user, flt, every_state=True)
        .values_list("village__code", "category__name", "fund_source__name", "state")
        .annotate(
            n=Count("pk"),
            total=Sum("amount"),
            category_order=Min("category__order"),
            source_order=Min("fund_source__order"),
        )
        .order_by()
    )
    cells: dict[tuple[str, int], Figure] = {}
    by_source: dict[str | None, Figure] = {}
    by_state: dict[str, Figure] = {}
    category_order: dict[str, int] = {}
    source_order: dict[str | None, int] = {}
    for code, category, source, state, n, total, c_order, s_order in rows:
        # A database sum (in floating point on SQLite) back to exact cents.
        figure = Figure(n, money(total or ZERO))
        by_state[state] = add(by_state.get(state, NOTHING), figure)
        if flt.state and state != flt.state:
            continue
        key = (category, rollup.place_of(code).pk)
        cells[key] = add(cells.get(key, NOTHING), figure)
        by_source[source] = add(by_source.get(source, NOTHING), figure)
        category_order[category] = min(c_order, category_order.get(category, c_order))
        if source is not None:
            source_order[source] = min(s_order, source_order.get(source, s_order))

    categories = sorted(category_order, key=lambda name: (category_order[name], name))
    sources: list[str | None] = sorted(source_order, key=lambda name: (source_order[name], name))
    if None in by_source:
        sources.append(None)
    by_place: dict[int, Figure] = {}
    by_category: dict[str, Figure] = {}
    for (category, place), figure in cells.items():
        by_place[place] = add(by_place.get(place, NOTHING), figure)
        by_category[category] = add(by_category.get(category, NOTHING), figure)
    return Statistics(
        filter=flt,
        places=rollup.places,
        categories=categories,
        cells=cells,
        by_place=by_place,
        by_category=by_category,
        by_fund_source={
            no_fund_source() if s is None else s: by_source[s] for s in sources if s in by_source
        },
        by_state={s: by_state[s] for s in State.values if s in by_state},
        total=total_of(cells.values()),
        state_total=total_of(by_state.values()),
    )


def add(a: Figure, b: Figure) -> Figure:
    return Figure(a.count + b.count, a.amount + b.amount)


def total_of(figures: Iterable[Figure]) -> Figure:
    total = NOTHING
    for figure in figures:
        total = add(total, figure)
    return total


# -- year-over-year -----------------------------------------------------------------------


class ComparisonRefused(ValueError):
    """Two campaigns that cannot be compared; the message says why."""


def check_comparable(previous: Campaign, current: Campaign) -> None:
    """Raise ComparisonRefused unless the two are different campaigns of one kind."""
    if previous.pk == current.pk:
        raise ComparisonRefused(_("Choose two different campaigns to compare."))
    if previous.kind_id != current.kind_id:
        raise ComparisonRefused(
            _(
                "“%(previous)s” is a campaign of kind %(previous_kind)s and “%(current)s” "
                "of kind %(current_kind)s: only campaigns of the same kind can be compared."
            )
            % {
                "previous": previous.name,
                "previous_kind": previous.kind.name,
                "current": current.name,
                "current_kind": current.kind.name,
            }
        )


def latest_pair(user: AnyUser) -> tuple[Campaign, Campaign] | None:
    """The two latest campaigns the user sees of the kind that had the latest
    campaign among the kinds with two: (previous, current). One query."""
    campaigns = list(
        Campaign.objects.restrict(user)
        .select_related("kind", "area")
        .order_by("-year", "-created_at", "-pk")
    )
    seen: dict[int, Campaign] = {}
    for campaign in campaigns:
        if campaign.kind_id in seen:
            return campaign, seen[campaign.kind_id]
        seen[campaign.kind_id] = campaign
    return None


def change(previous: Any, current: Any) -> Any:
    """current − previous; None when either side is blank."""
    if previous is None or current is None:
        return None
    return current - previous


def change_percent(previous: Any, current: Any) -> Decimal | None:
    """The change as a percentage of `previous`, to 0.1; None when there is no
    base (blank or zero)."""
    if previous is None or current is None or not previous:
        return None
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(
        PERCENT, rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class ComparedLine:
    """One line of a comparison: blank (None) on the side of a campaign that
    has no such category, or does not reach the area."""

    label: str
    previous: Figure | None
    current: Figure | None
    place: Place | None = None

    @property
    def count_change(self) -> int | None:
        return change(self._count(self.previous), self._count(self.current))

    @property
    def count_change_percent(self) -> Decimal | None:
        return change_percent(self._count(self.previous), self._count(self.current))

    @property
    def amount_change(self) -> Decimal | None:
        return change(self._amount(self.previous), self._amount(self.current))

    @property
    def amount_change_percent(self) -> Decimal | None:
        return change_percent(self._amount(self.previous), self._amount(self.current))

    @staticmethod
    def _count(figure: Figure | None) -> int | None:
        return None if figure is None else figure.count

    @staticmethod
    def _amount(figure: Figure | None) -> Decimal | None:
        return None if figure is None else figure.amount


@dataclass
class Comparison:
    previous: Campaign
    current: Campaign
    area: Area
    state: str | None
    by_category: list[ComparedLine] = field(default_factory=list)
    by_place: list[ComparedLine] = field(default_factory=list)
    total: ComparedLine | None = None

    def describe(self) -> list[tuple[str, str]]:
        return [
            (_("Previous campaign"), self.previous.name),
            (_("Current campaign"), self.current.name),
            (_("Area"), area_name(self.area)),
            (_("State"), str(State(self.state).label) if self.state else _("All states")),
        ]

    def query(self) -> dict[str, Any]:
        return {
            "previous": self.previous.pk,
            "current": self.current.pk,
            "area": self.area.pk,
            "state": self.state or "all",
        }


def compute_comparison(
    user: AnyUser,
    previous: Campaign,
    current: Campaign,
    area: Area,
    state: str | None = State.APPROVED,
) -> Comparison:
    """Count and amount of each campaign per category (matched by name) and
    per area of the axis under `area`, with the change from `previous` to
    `current`, of the applications `user` may see. Raises ComparisonRefused for
    two campaigns of different kinds. Three queries (the categories, the axis,
    one GROUP BY), whatever the number of villages."""
    check_comparable(previous, current)
    pair = (previous, current)
    named: dict[int, dict[str, int]] = {previous.pk: {}, current.pk: {}}
    for campaign, name, order in Category.objects.filter(
        campaign__in=[previous.pk, current.pk]
    ).values_list("campaign", "name", "order"):
        named[campaign][name] = order
    places = axis(area)
    rollup = Rollup(area, places)
    applications = Application.objects.restrict(user, perm=VIEW).filter(
        village__code__prefix=area.prefix, campaign__in=[previous.pk, current.pk]
    )
    if state:
        applications = applications.filter(state=state)
    by_category: dict[tuple[int, str], Figure] = {}
    by_place: dict[tuple[int, int], Figure] = {}
    for campaign, code, category, n, total in (
        applications.values_list("campaign", "village__code", "category__name")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    ):
        figure = Figure(n, money(total or ZERO))
        key = (campaign, category)
        by_category[key] = add(by_category.get(key, NOTHING), figure)
        spot = (campaign, rollup.place_of(code).pk)
        by_place[spot] = add(by_place.get(spot, NOTHING), figure)

    orders = {**named[current.pk], **named[previous.pk]}
    names = sorted(orders, key=lambda name: (orders[name], name))
    result = Comparison(previous, current, area, state)
    result.by_category = [
        ComparedLine(
            name,
            *(
                by_category.get((c.pk, name), NOTHING) if name in named[c.pk] else None
                for c in pair
            ),
        )
        for name in names
    ]
    result.by_place = [
        ComparedLine(
            place.name,
            *(
                by_place.get((c.pk, place.pk), NOTHING) if overlaps(place, c.area) else None
                for c in pair
            ),
            place=place,
        )
        for place in rollup.places
    ]
    sums = [total_of(f for (c, _n), f in by_category.items() if c == side.pk) for side in pair]
    result.total = ComparedLine(_("Total"), *sums)
    return result
