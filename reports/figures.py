"""A campaign's dashboard figures, for one area the user may look at.

The county sees its townships, a township its villages, a village itself; a
user with roles in several places sees, at each level, only the parts of it
their roles reach, and every figure counts only records inside their areas
(everything goes through `restrict()`). Moving down a level is a new call
with the child area.

Everything is a grouped query over the campaign's records, so the number of
queries does not depend on the number of applications, payments or areas:
one pass over the applications by village, state, category and fund source
(the funnel, each area's progress, who is late, the categories and the money
approved per source), and the 三个一 reconciliation
(disbursements.reconciliation), whose payments also give each fund source's
handed-over, signed and returned money. Both read covering indexes
(application_figures, payment_figures), not the wide rows. Villages are rolled
up to the child areas in Python by their code prefix. (Grouping by the child
areas' code digits in the database instead returns fewer rows but joins and
sorts every application: slower on SQLite, no faster on PostgreSQL.)
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from applications.choices import ACTIVE, BEHIND_DEADLINE, State
from applications.models import Application
from campaigns.calculation import money
from campaigns.choices import Deliverable
from campaigns.models import Campaign, Deadline
from disbursements.reconciliation import Line, Reconciliation, reconcile
from relief.areacodes import ancestor_codes
from relief.models import Area, User
from relief.scoping import area_prefixes

VIEW = "applications.view_application"
ZERO = Decimal("0.00")
AMOUNT = Coalesce("amount", F("cash") + F("goods"))

_FORWARD = State.forward()


@dataclass
class Figure:
    count: int = 0
    amount: Decimal = ZERO

    def add(self, count: int, amount: Decimal) -> None:
        self.count += count
        self.amount += amount


@dataclass
class AreaLine:
    """One child area (or the area itself at the bottom)."""

    area: Area
    states: dict[str, Figure] = field(default_factory=lambda: defaultdict(Figure))
    late_submitted: int = 0
    three: Line = field(default_factory=lambda: Line(None, ""))

    @property
    def applications(self) -> int:
        return sum(f.count for f in self.states.values())

    @property
    def approved(self) -> Figure:
        return self.states.get(State.APPROVED, Figure())

    @property
    def signed_percent(self) -> int:
        """Of the money approved, the share signed for (drawdown)."""
        approved = self.three.approved_amount + self.three.corrections_amount
        return _percent(self.three.signed_amount, approved)

    @property
    def reached_percent(self) -> int:
        return _percent(self.three.reached_count, self.three.approved_count)


@dataclass
class Stage:
    state: str
    label: str
    count: int
    amount: Decimal
    reached: int | None  # at this stage or beyond on the forward path; None off it


@dataclass
class CategoryLine:
    name: str
    approved: Figure
    in_progress: int  # active, not yet approved
    planned_count: int | None


@dataclass
class SourceLine:
    """Money of one fund source: budget (whole campaign only), approved,
    handed over awaiting a receipt, signed for, failed (returned)."""

    name: str
    budget: Decimal | None
    approved: Decimal = ZERO
    handed_over: Decimal = ZERO
    signed: Decimal = ZERO
    failed: Decimal = ZERO

    @property
    def not_delivered(self) -> Decimal:
        """Approved, not yet handed over (nor returned)."""
        return max(self.approved - self.handed_over - self.signed - self.failed, ZERO)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.approved

    @property
    def over(self) -> bool:
        return self.remaining is not None and self.remaining < 0


@dataclass
class DeadlineLine:
    deadline: Deadline
    days_left: int
    behind: list[tuple[AreaLine, int]]  # areas not done, with the applications still behind

    @property
    def passed(self) -> bool:
        return self.days_left < 0

    @property
    def days_late(self) -> int:
        return -self.days_left


@dataclass
class Dashboard:
    campaign: Campaign
    area: Area
    trail: list[Area]  # from the top the user may look at down to `area`'s parent
    whole: bool  # the figures cover the whole campaign (the budget applies)
    today: datetime.date
    funnel: list[Stage]
    categories: list[CategoryLine]
    sources: list[SourceLine]
    lines: list[AreaLine]
    total: AreaLine
    deadlines: list[DeadlineLine]
    reconciliation: Reconciliation  # per village, for whoever needs the detail

    @property
    def at_bottom(self) -> bool:
        return len(self.lines) == 1 and self.lines[0].area.pk == self.area.pk


def _percent(part: Decimal | int, whole: Decimal | int) -> int:
    return int(100 * part / whole) if whole else 0


def _covers(prefixes: list[str] | None, code: str) -> bool:
    """The user's view reaches all of the area with this code."""
    return prefixes is None or any(code.startswith(p) for p in prefixes)


def _touches(prefixes: list[str] | None, area: Area) -> bool:
    """The user's view reaches the area or something inside it."""
    return _covers(prefixes, area.code) or any(p.startswith(area.prefix) for p in prefixes or ())


def default_area(user: User, campaign: Campaign) -> Area:
    """Where the dashboard opens: the campaign's area for someone who sees it
    all or works in several of its parts, else the one area of their role."""
    prefixes = area_prefixes(user, VIEW)
    campaign_prefix = campaign.area.prefix
    if _covers(prefixes, campaign.area.code):
        return campaign.area
    inside = [p for p in prefixes or () if p.startswith(campaign_prefix)]
    if len(inside) == 1:
        found = Area.objects.filter(code=inside[0].ljust(12, "0")).first()
        if found is not None:
            return found
    return campaign.area


def visible_area(user: User, campaign: Campaign, area: Area) -> bool:
    """May the user look at the campaign's figures for this area?"""
    return area.code.startswith(campaign.area.prefix) and _touches(area_prefixes(user, VIEW), area)


def dashboard(
    campaign: Campaign, user: User, area: Area, *, today: datetime.date | None = None
) -> Dashboard:
    today = today or timezone.localdate()
    prefixes = area_prefixes(user, VIEW)
    applications: QuerySet[Application] = Application.objects.restrict(
        user, perm=VIEW, within=area
    ).filter(campaign=campaign)
    # One pass over the applications (an index covers the columns it reads, in
    # the order it groups them), folded here into the two shapes the figures
    # need: per village and state, and per state, category and fund source.
    per_village: dict[tuple[int, str], list[Any]] = {}
    per_kind: dict[tuple[str, int, int | None], list[Any]] = {}
    for village_id, state, category_id, source_id, n, amount, late in (
        applications.values_list("village_id", "state", "category_id", "fund_source_id")
        .annotate(n=Count("pk"), amount=Coalesce(Sum(AMOUNT), ZERO), late=Count("pk", Q(late=True)))
        .order_by()
    ):
        found = per_village.setdefault((village_id, state), [0, ZERO, 0])
        found[0] += n
        found[1] += amount
        found[2] += late
        kind = per_kind.setdefault((state, category_id, source_id), [0, ZERO])
        kind[0] += n
        kind[1] += amount
    rows = [
        {"state": s, "category_id": c, "fund_source_id": f, "n": n, "amount": money(amount)}
        for (s, c, f), (n, amount) in per_kind.items()
    ]
    reconciliation = reconcile(campaign, user=user, area=area, today=today)
    codes = {line.village_id: line.village_code for line in reconciliation.lines}
    missing = {village_id for village_id, _state in per_village} - codes.keys()
    codes.update(Area.objects.filter(pk__in=missing).values_list("pk", "code"))

    children = [c for c in Area.objects.filter(parent=area) if _touches(prefixes, c)]
    lines = [AreaLine(child) for child in children] or [AreaLine(area)]
    owner = _owner(lines)
    total = AreaLine(area)
    for (village_id, state), (n, amount, late) in per_village.items():
        amount = money(amount)
        for line in (total, owner(codes.get(village_id, ""))):
            if line is not None:
                line.states[state].add(n, amount)
                line.late_submitted += late
    for village_line in reconciliation.lines:
        line = owner(village_line.village_code)
        if line is not None:
            line.three.add(village_line)
    total.three = reconciliation.total

    whole = area.pk == campaign.area_id and _covers(prefixes, campaign.area.code)
    trail = [
        a
        for a in Area.objects.filter(code__in=ancestor_codes(area.code)).order_by("code")
        if visible_area(user, campaign, a)
    ]
    return Dashboard(
        campaign=campaign,
        area=area,
        trail=trail,
        whole=whole,
        today=today,
        funnel=_funnel(total),
        categories=_by_category(campaign, rows),
        sources=_by_source(campaign, rows, reconciliation.sources, whole),
        lines=lines,
        total=total,
        deadlines=_deadlines(campaign, lines, today),
        reconciliation=reconciliation,
    )


Owner = Callable[[str], "AreaLine | None"]


def _owner(lines: list[AreaLine]) -> Owner:
    """village code -> the line of the child area holding it."""
    by_prefix = {line.area.prefix: line for line in lines}
    lengths = sorted({len(p) for p in by_prefix}, reverse=True)

    def find(code: str) -> AreaLine | None:
        for length in lengths:
            line = by_prefix.get(code[:length])
            if line is not None:
                return line
        return None

    return find


def _funnel(total: AreaLine) -> list[Stage]:
    funnel = []
    for state in State.values:
        figure = total.states.get(state, Figure())
        reached = None
        if state in _FORWARD:
            beyond = _FORWARD[_FORWARD.index(state) :]
            reached = sum(total.states[s].count for s in beyond if s in total.states)
        funnel.append(Stage(state, str(State(state).label), figure.count, figure.amount, reached))
    return funnel


def _by_category(campaign: Campaign, rows: list[dict[str, Any]]) -> list[CategoryLine]:
    approved: dict[int, Figure] = defaultdict(Figure)
    in_progress: dict[int, int] = defaultdict(int)
    for row in rows:
        if row["state"] == State.APPROVED:
            approved[row["category_id"]].add(row["n"], money(row["amount"]))
        elif row["state"] in ACTIVE:
            in_progress[row["category_id"]] += row["n"]
    return [
        CategoryLine(
            c.name, approved.get(c.pk, Figure()), in_progress.get(c.pk, 0), c.planned_count
        )
        for c in campaign.categories.all()
    ]


def _by_source(
    campaign: Campaign,
    rows: list[dict[str, Any]],
    payments: dict[int | None, Line],
    whole: bool,
) -> list[SourceLine]:
    """`payments`: the reconciliation's payment figures per fund source id."""
    sources: dict[int | None, SourceLine] = {
        s.pk: SourceLine(s.name, money(s.budget) if whole else None)
        for s in campaign.fund_sources.all()
    }
    none = SourceLine("", None)
    for row in rows:
        if row["state"] == State.APPROVED:
            sources.get(row["fund_source_id"], none).approved += money(row["amount"])
    for source_id, paid in payments.items():
        line = sources.get(source_id, none)
        line.signed += paid.signed_amount
        line.handed_over += paid.handed_over_amount
        line.failed += paid.failed_amount
    result = list(sources.values())
    if none.approved or none.signed or none.handed_over or none.failed:
        result.append(none)
    return result


def _deadlines(
    campaign: Campaign, lines: list[AreaLine], today: datetime.date
) -> list[DeadlineLine]:
    """Deadlines not yet far behind: every one still ahead, and the passed ones
    with the areas that have not delivered."""
    result = []
    for deadline in campaign.deadlines.all():
        behind: list[tuple[AreaLine, int]] = []
        passed = deadline.due_on < today
        states = BEHIND_DEADLINE.get(deadline.deliverable)
        for line in lines:
            if states is not None:
                waiting = sum(line.states[s].count for s in states if s in line.states)
            elif deadline.deliverable == Deliverable.DISBURSEMENT:
                waiting = line.three.overdue_count if passed else line.three.not_reached_count
            elif deadline.deliverable == Deliverable.SIGNED_SHEETS:
                waiting = line.three.handed_over_count
            else:
                waiting = 0
            if waiting:
                behind.append((line, waiting))
        if passed and not behind:
            continue  # met everywhere: nothing to chase
        result.append(DeadlineLine(deadline, (deadline.due_on - today).days, behind))
    return result
