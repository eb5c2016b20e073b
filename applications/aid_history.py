"""A household's aid across campaigns and years (救助记录): what each of its
applications brought, what was paid and signed for and when, and the flags
of the rules that carry across campaigns (取消补助资格, a kind's yearly cap).

Six queries whatever the number of applications and payments (plus the two
reading the user's roles, once per request): the applications with their
campaigns, kinds and categories; their payments (prefetched); the
disqualifications; the years of the open campaigns; the cap counts grouped
by kind and year; the household's village (none if the caller joined it).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from applications import rules
from applications.choices import State
from applications.models import Application, Disqualification
from campaigns.calculation import money
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from disbursements.choices import Kind, Method, PaymentState
from disbursements.models import Payment
from recipients.models import Household
from relief.areacodes import ancestor_codes
from relief.models import User

ZERO = Decimal("0.00")
VIEW_PAYMENT = "disbursements.view_payment"


@dataclass(frozen=True)
class Flag:
    """A rule that bears on the household's next aid. `past` for a bar that
    has expired: shown, muted, for the record."""

    kind: str  # "bar" or "cap"
    text: str
    past: bool = False


@dataclass
class Aid:
    """One application of the household and what came of it."""

    application: Application
    payments: list[Payment]  # the records the user may see, in number order
    what: list[str]  # cash / bank / goods
    goods: str  # the goods items, 大米 10kg、食用油 5L
    paid: Decimal  # signed for, net of reversals and replacements
    unsigned: Decimal  # handed over, not signed for
    failed: Decimal
    last_on: datetime.date | None  # handed over or signed, the latest record
    instalments_paid: int
    instalments: int  # 0: nothing planned yet

    @property
    def year(self) -> int:
        return self.application.campaign.year

    @property
    def signed(self) -> bool:
        """Every instalment signed for."""
        return self.instalments > 0 and self.instalments_paid == self.instalments


@dataclass
class Year:
    year: int
    aids: list[Aid] = field(default_factory=list)

    @property
    def approved(self) -> Decimal:
        return _approved(self.aids)

    @property
    def paid(self) -> Decimal:
        return money(sum((a.paid for a in self.aids), ZERO))

    @property
    def unsigned(self) -> Decimal:
        return money(sum((a.unsigned for a in self.aids), ZERO))


@dataclass
class AidHistory:
    years: list[Year]  # newest first
    flags: list[Flag]  # in force first
    can_view_payments: bool

    @property
    def aids(self) -> list[Aid]:
        return [aid for year in self.years for aid in year.aids]

    @property
    def current_flags(self) -> list[Flag]:
        return [f for f in self.flags if not f.past]

    @property
    def past_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.past]

    @property
    def approved(self) -> Decimal:
        return _approved(self.aids)

    @property
    def paid(self) -> Decimal:
        """The money the household signed for, all years."""
        return money(sum((y.paid for y in self.years), ZERO))

    @property
    def unsigned(self) -> Decimal:
        return money(sum((y.unsigned for y in self.years), ZERO))


def _approved(aids: list[Aid]) -> Decimal:
    return money(
        sum(
            (a.application.amount or ZERO for a in aids if a.application.state == State.APPROVED),
            ZERO,
        )
    )


def aid_history(user: User, household: Household, today: datetime.date | None = None) -> AidHistory:
    """The household's applications the user may see, by year (newest first),
    with their payments summed up, and the flags of the rules."""
    today = today or timezone.localdate()
    can_view_payments = user.has_perm(VIEW_PAYMENT)
    payments = Payment.objects.restrict(user, perm=VIEW_PAYMENT).order_by("number")
    applications = (
        Application.objects.restrict(user)
        .filter(household=household)
        .select_related("campaign__kind", "category")
        .prefetch_related(Prefetch("payments", queryset=payments, to_attr="visible_payments"))
        .order_by("-campaign__year", "-created_at", "-pk")
    )
    years: dict[int, Year] = {}
    for app in applications:
        aid = _aid(app, app.visible_payments if can_view_payments else [])
        years.setdefault(aid.year, Year(aid.year)).aids.append(aid)
    return AidHistory(
        years=list(years.values()),
        flags=bar_flags(user, household, today) + cap_flags(user, household, today),
        can_view_payments=can_view_payments,
    )


def _aid(app: Application, payments: list[Payment]) -> Aid:
    # A corrected record is replaced: what the household got is read off the
    # records not reversed and not corrected.
    corrected = {p.corrects_id for p in payments if p.corrects_id}
    current = [p for p in payments if p.kind != Kind.REVERSAL and p.pk not in corrected]
    originals = [p for p in payments if p.kind == Kind.PAYMENT]

    def total(state: str) -> Decimal:
        return money(sum((p.amount for p in payments if p.state == state), ZERO))

    moments = [p.signed_at or p.handed_over_at for p in payments]
    moments = [m for m in moments if m is not None]
    cash = any(p.cash for p in current) if current else bool(app.cash)
    goods = any(p.goods for p in current) if current else bool(app.goods)
    what = []
    if cash:
        bank = any(p.method == Method.BANK for p in current)
        what.append(pgettext("aid", "Bank transfer") if bank else pgettext("aid", "Cash"))
    if goods:
        what.append(pgettext("aid", "Goods"))
    return Aid(
        application=app,
        payments=payments,
        what=what,
        goods="、".join(line for p in current for line in p.goods_lines()),
        # A reversal keeps the signed state of the record it reverses, with
        # the amount negated: the sum of the signed records is what was paid.
        paid=total(PaymentState.SIGNED),
        unsigned=total(PaymentState.HANDED_OVER),
        failed=total(PaymentState.FAILED),
        last_on=timezone.localdate(max(moments)) if moments else None,
        instalments_paid=sum(1 for p in originals if p.state == PaymentState.SIGNED),
        instalments=max((p.instalments for p in originals), default=0),
    )


def bar_flags(user: User, household: Household, today: datetime.date) -> list[Flag]:
    """取消补助资格: each bar, in force (until today included, as the rule
    reads it) or past."""
    bars = (
        Disqualification.objects.restrict(user, perm="recipients.view_household")
        .filter(household=household)
        .order_by("-until", "-pk")
    )
    flags = []
    for bar in bars:
        values = {"until": bar.until.isoformat(), "reason": bar.reason}
        if bar.until >= today:
            flags.append(Flag("bar", _("Disqualified until %(until)s: %(reason)s") % values))
        else:
            flags.append(
                Flag("bar", _("Disqualification ended %(until)s: %(reason)s") % values, past=True)
            )
    return sorted(flags, key=lambda f: f.past)


def cap_flags(user: User, household: Household, today: datetime.date) -> list[Flag]:
    """Each capped kind the household has reached the yearly limit of, this
    year and in the year of each open campaign that covers it. Counted over
    every area, as the rule counts (rules.cap_counted), and told as figures
    only: no campaign or application of another area is named."""
    covering = {household.village.code, *ancestor_codes(household.village.code)}
    years = {today.year} | set(
        Campaign.objects.restrict(user)
        .filter(status=CampaignStatus.OPEN, area__code__in=covering)
        .values_list("year", flat=True)
    )
    rows = (
        rules.cap_counted()
        .filter(household=household, campaign__year__in=years, campaign__kind__per_year__gte=1)
        .values("campaign__year", "campaign__kind__name", "campaign__kind__per_year")
        .annotate(n=Count("pk"))
        .order_by("-campaign__year", "campaign__kind__name")
    )
    return [
        Flag(
            "cap",
            ngettext(
                "Cap reached: %(count)d of %(limit)d %(kind)s aid in %(year)s",
                "Cap reached: %(count)d of %(limit)d %(kind)s aids in %(year)s",
                row["campaign__kind__per_year"],
            )
            % {
                "count": row["n"],
                "limit": row["campaign__kind__per_year"],
                "kind": row["campaign__kind__name"],
                "year": row["campaign__year"],
            },
        )
        for row in rows
        if row["n"] >= row["campaign__kind__per_year"]
    ]
