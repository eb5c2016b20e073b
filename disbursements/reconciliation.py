"""三个一 (domain.md §4.8): per campaign and village, is every approved household
reached (一个不漏), every yuan delivered and signed for or returned, nothing
withheld (一分不留), and was it delivered by the deadline (第一时间)?

The figures balance to the cent for every village:

    approved + corrections = signed + pending + failed

where pending is what is approved but not yet signed for (no payment planned
yet, planned, or handed over without a receipt), failed is money returned to
the fund, and corrections the net of reversals and replacements of signed
records. A handful of grouped queries, whatever the number of villages.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from applications.choices import State
from applications.models import Application
from campaigns.choices import Deliverable
from campaigns.models import Campaign
from disbursements.choices import Kind, PaymentState
from disbursements.models import Payment, VillageClosing
from relief.models import Area, User

ZERO = Decimal("0.00")
VIEW = "disbursements.view_payment"


@dataclass
class Line:
    """One village's figures (or the total's, with village_id None)."""

    village_id: int | None
    village: str
    approved_count: int = 0
    approved_amount: Decimal = ZERO
    unplanned_count: int = 0  # approved applications without payments yet
    unplanned_amount: Decimal = ZERO
    planned_count: int = 0
    planned_amount: Decimal = ZERO
    handed_over_count: int = 0  # handed over, no receipt yet
    handed_over_amount: Decimal = ZERO
    signed_count: int = 0
    signed_amount: Decimal = ZERO
    failed_count: int = 0  # returned to the fund
    failed_amount: Decimal = ZERO
    corrections_amount: Decimal = ZERO
    booked_amount: Decimal = ZERO
    reached_count: int = 0  # households handed something
    late_count: int = 0  # handed over after the deadline
    late_amount: Decimal = ZERO
    overdue_count: int = 0  # still not handed over, deadline passed
    closed: bool = False
    village_code: str = ""

    @property
    def pending_count(self) -> int:
        return self.planned_count + self.handed_over_count

    @property
    def pending_amount(self) -> Decimal:
        return self.unplanned_amount + self.planned_amount + self.handed_over_amount

    @property
    def not_reached_count(self) -> int:
        return self.approved_count - self.reached_count

    @property
    def balanced(self) -> bool:
        return self.approved_amount + self.corrections_amount == (
            self.signed_amount + self.pending_amount + self.failed_amount
        )

    def add(self, other: Line) -> None:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (money as text), for the closing record and the audit log."""
        return {
            k: str(v) if isinstance(v, Decimal) else v
            for k, v in asdict(self).items()
            if k not in ("village_id", "village", "village_code")
        }


# The figures a total adds up (not the ids, names and flags).
_SUMMED = tuple(
    f.name for f in fields(Line) if f.type in ("int", "Decimal") and f.name != "village_id"
)


@dataclass
class Reconciliation:
    campaign: Campaign
    deadline: datetime.date | None
    lines: list[Line] = field(default_factory=list)
    total: Line = field(default_factory=lambda: Line(None, ""))
    # The payments' figures per fund source id (None: no source), for the dashboard.
    sources: dict[int | None, Line] = field(default_factory=dict)


def disbursement_deadline(campaign: Campaign) -> datetime.date | None:
    """第一时间: the last day payments are due (the latest disbursement deadline)."""
    return (
        campaign.deadlines.filter(deliverable=Deliverable.DISBURSEMENT)
        .order_by("-due_on")
        .values_list("due_on", flat=True)
        .first()
    )


def late_filter(deadline: datetime.date | None) -> Q:
    """Handed over after it was due: the first instalment by the campaign's
    deadline, later instalments by their own planned date."""
    handed = TruncDate("handed_over_at")
    later = Q(instalment__gt=1, handed_over_at__isnull=False, planned_on__lt=handed)
    if deadline is None:
        return later
    # From the first moment of the day after, in the office's time zone: a plain
    # comparison the database makes on the stored value (handed_over_at__date
    # would convert every row's timestamp first, in Python on SQLite).
    zone = timezone.get_current_timezone()
    day_after = datetime.datetime.combine(
        deadline + datetime.timedelta(days=1), datetime.time(), tzinfo=zone
    )
    first = Q(instalment=1, handed_over_at__gte=day_after)
    return first | later


def reconcile(
    campaign: Campaign,
    *,
    user: User | None = None,
    villages: list[Area] | None = None,
    area: Area | None = None,
    today: datetime.date | None = None,
) -> Reconciliation:
    """The campaign's figures per village, limited to the user's areas, to
    `villages`, and to the villages under `area`."""
    today = today or timezone.localdate()
    deadline = disbursement_deadline(campaign)
    apps: QuerySet[Application] = Application.objects.filter(
        campaign=campaign, state=State.APPROVED
    )
    payments: QuerySet[Payment] = Payment.objects.filter(campaign=campaign)
    if user is not None:
        apps = apps.restrict(user, perm=VIEW, within=area)
        payments = payments.restrict(user, perm=VIEW, within=area)
    elif area is not None:
        # Through the area ids, as restrict() does: no join of every record to its area.
        inside = Area.objects.filter(code__prefix=area.prefix).values("pk")
        apps = apps.filter(village__in=inside)
        payments = payments.filter(village__in=inside)
    if villages is not None:
        apps = apps.filter(village__in=villages)
        payments = payments.filter(village__in=villages)
    lines: dict[int, Line] = {}

    def line(village_id: int) -> Line:
        if village_id not in lines:
            lines[village_id] = Line(village_id, "")
        return lines[village_id]

    for village_id, n, total, unplanned_n, unplanned, reached_n in _approved(campaign, apps):
        found = line(village_id)
        found.approved_count += n
        found.approved_amount += total
        found.unplanned_count += unplanned_n
        found.unplanned_amount += unplanned
        found.reached_count += reached_n
    by_source: dict[int | None, Line] = {}
    for row in (
        payments.values("village_id", "state", "kind", "fund_source_id")
        .annotate(
            n=Count("pk"),
            total=Coalesce(Sum("amount"), ZERO),
            booked=Coalesce(Sum("amount", filter=Q(booked_at__isnull=False)), ZERO),
            late_n=Count("pk", filter=late_filter(deadline)),
            late=Coalesce(Sum("amount", filter=late_filter(deadline)), ZERO),
        )
        .order_by()
    ):
        for found in (
            line(row["village_id"]),
            by_source.setdefault(row["fund_source_id"], Line(None, "")),
        ):
            _count_payments(found, row)
    if deadline is not None and today > deadline:
        for row in (
            payments.filter(kind=Kind.PAYMENT, instalment=1, state=PaymentState.PLANNED)
            .values("village_id")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            line(row["village_id"]).overdue_count += row["n"]
        for found in lines.values():
            found.overdue_count += found.unplanned_count
    closed = set(
        VillageClosing.objects.filter(campaign=campaign, village_id__in=lines)
        .order_by()  # not the model's ordering: it joins the campaign and the area
        .values_list("village_id", flat=True)
    )
    names, codes = {}, {}
    for pk, name, code in Area.objects.filter(pk__in=lines).values_list("pk", "name", "code"):
        names[pk], codes[pk] = name, code
    if villages is not None:
        for village in villages:
            line(village.pk)
            names[village.pk], codes[village.pk] = village.name, village.code
    result = Reconciliation(campaign, deadline, sources=by_source)
    for village_id in sorted(lines, key=lambda pk: codes.get(pk, "")):
        found = lines[village_id]
        found.village = names.get(village_id, "")
        found.village_code = codes.get(village_id, "")
        found.closed = village_id in closed
        result.lines.append(found)
        result.total.add(found)
    return result


def _approved(
    campaign: Campaign, apps: QuerySet[Application]
) -> Iterator[tuple[int, int, Decimal, int, Decimal, int]]:
    """Per village: the approved applications (count, amount), those without
    any payment yet (unplanned) and those handed something (reached).

    Each database gets the shape it runs fastest (bench/dashboard.py, 25,000
    approved applications): PostgreSQL hashes the campaign's payments once and
    groups the applications by the two flags (~60 ms; under FILTERs ~100 ms).
    SQLite looks the flags up per application and would sort every row to
    group by them (~125 ms), so it aggregates under FILTERs instead, with the
    unplanned test on the payments' application index and the reached one
    against the list of reached applications it builds once (~85 ms).
    """
    amount = Coalesce("amount", F("cash") + F("goods"))
    approved = Coalesce(Sum(amount), ZERO)
    planned = Exists(Payment.objects.filter(application=OuterRef("pk")))
    handed = Payment.objects.filter(
        kind=Kind.PAYMENT, state__in=(PaymentState.HANDED_OVER, PaymentState.SIGNED)
    )
    if connection.vendor == "postgresql":
        reached = Exists(handed.filter(application=OuterRef("pk")))
        for row in (
            apps.annotate(planned=planned, reached=reached)
            .values_list("village_id", "planned", "reached")
            .annotate(n=Count("pk"), total=approved)
            .order_by()
        ):
            village_id, is_planned, is_reached, n, total = row
            yield (
                village_id,
                n,
                total,
                0 if is_planned else n,
                ZERO if is_planned else total,
                n if is_reached else 0,
            )
        return
    unplanned = Q(~planned)
    yield from (
        apps.values_list("village_id")
        .annotate(
            n=Count("pk"),
            total=approved,
            unplanned_n=Count("pk", filter=unplanned),
            unplanned=Coalesce(Sum(amount, filter=unplanned), ZERO),
            reached_n=Count(
                "pk", filter=Q(pk__in=handed.filter(campaign=campaign).values("application_id"))
            ),
        )
        .order_by()
    )


def _count_payments(found: Line, row: dict[str, Any]) -> None:
    """Add one group of payments (of one state and kind) to a line."""
    state, kind, n, total = row["state"], row["kind"], row["n"], row["total"]
    if kind != Kind.PAYMENT:
        found.corrections_amount += total
    else:
        found.late_count += row["late_n"]
        found.late_amount += row["late"]
    found.booked_amount += row["booked"]
    if state == PaymentState.PLANNED:
        found.planned_count += n
        found.planned_amount += total
    elif state == PaymentState.HANDED_OVER:
        found.handed_over_count += n
        found.handed_over_amount += total
    elif state == PaymentState.SIGNED:
        found.signed_count += n if kind == Kind.PAYMENT else 0
        found.signed_amount += total
    elif state == PaymentState.FAILED:
        found.failed_count += n
        found.failed_amount += total


def not_reached(campaign: Campaign, village: Area) -> QuerySet[Application]:
    """一个不漏: the village's approved applications nothing was handed over to yet."""
    return (
        Application.objects.filter(campaign=campaign, village=village, state=State.APPROVED)
        .exclude(
            payments__kind=Kind.PAYMENT,
            payments__state__in=(PaymentState.HANDED_OVER, PaymentState.SIGNED),
        )
        .order_by("number")
    )
