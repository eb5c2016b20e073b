"""The campaign summary (工作总结 figures, domain.md §4 step 8) as PDF and .xlsx.

One `Summary` holds what the township reports when the campaign ends: the
headline totals, the figures per village (the 三个一 reconciliation), per
category and per fund source, the verdict on each of the 三个一, the items that
went wrong (failed payments, payments handed over late, approved households
not reached), the public notices held and the objections handled.

Everything is read for one area as one user sees it: the dashboard's figures
(reports.figures) and the reconciliation are already restricted to the user's
areas, and the lists below go through `restrict()` too. Each part is one or a
few grouped queries, so the number of queries does not grow with the number
of villages or items. The PDF prints at most LIST_LIMIT items of each list
(and says how many more there are); the workbook (reports.summary_xlsx) has
every one of them.
"""

from __future__ import annotations

import datetime
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from applications.choices import ObjectionStatus, State
from applications.models import Application, Notice, Objection
from campaigns.calculation import money
from campaigns.models import Campaign
from disbursements.choices import FailureReason, Kind, PaymentState
from disbursements.models import Payment
from disbursements.reconciliation import Line, late_filter
from documents.ledger import Destination, no_fund_source
from documents.pdf import render_pdf
from relief import jobs
from relief.areacodes import ancestor_codes
from relief.models import Area, Job, User
from relief.money import in_capitals, yuan
from reports.figures import CategoryLine, SourceLine, dashboard, visible_area

VIEW = "applications.view_application"
VIEW_PAYMENT = "disbursements.view_payment"
ZERO = Decimal("0.00")
LIST_LIMIT = 30  # items of each list the PDF prints


# -- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    applications: int  # every application of the area, whatever its state
    approved_count: int
    approved_amount: Decimal
    signed_amount: Decimal  # corrections included
    returned_amount: Decimal  # failed payments, back to the fund
    handed_over_amount: Decimal  # handed over, no receipt yet
    pending_amount: Decimal  # approved, not signed for: handed over or not
    corrections_amount: Decimal
    reached_count: int
    reached_percent: int
    balanced: bool  # every village balances to the cent


@dataclass(frozen=True)
class Verdict:
    """One of the 三个一: met (True), missed (False) or not decided yet (None)."""

    key: str  # "reached", "withheld", "on_time"
    title: str
    met: bool | None
    text: str

    @property
    def status(self) -> str:
        if self.met is None:
            return pgettext("三个一", "Not yet decided")
        return pgettext("三个一", "Met") if self.met else pgettext("三个一", "Not met")


@dataclass(frozen=True)
class FailedItem:
    payment: str
    application: str
    village: str
    recipient: str
    amount: Decimal
    reason: str
    note: str
    failed_on: datetime.date | None


@dataclass(frozen=True)
class LateItem:
    payment: str
    application: str
    village: str
    recipient: str
    amount: Decimal
    handed_over_on: datetime.date
    due_on: datetime.date | None


@dataclass(frozen=True)
class UnreachedItem:
    application: str
    village: str
    name: str  # the head of household
    category: str
    amount: Decimal
    status: str  # why not: no payment planned, not handed over yet, failed


@dataclass(frozen=True)
class NoticeLine:
    area: str
    starts_on: datetime.date
    ends_on: datetime.date
    place: str
    contact: str

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


@dataclass(frozen=True)
class ObjectionLine:
    received_on: datetime.date
    application: str
    village: str
    status: str
    finding: str

    @property
    def status_label(self) -> str:
        return str(ObjectionStatus(self.status).label)


@dataclass
class Objections:
    lines: list[ObjectionLine] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def received(self) -> int:
        return len(self.lines)

    @property
    def upheld(self) -> int:
        return self._count(ObjectionStatus.UPHELD)

    @property
    def dismissed(self) -> int:
        return self._count(ObjectionStatus.DISMISSED)

    @property
    def handled(self) -> int:
        return self.upheld + self.dismissed

    @property
    def open(self) -> int:
        return self._count(ObjectionStatus.OPEN)


@dataclass
class Summary:
    campaign: Campaign
    area: Area
    whole: bool  # the whole campaign: the fund sources' budgets apply
    today: datetime.date
    deadline: datetime.date | None  # 第一时间: payments due by
    headline: Headline
    villages: list[Line]
    total: Line
    categories: list[CategoryLine]
    sources: list[SourceLine]
    three: list[Verdict]
    failed: list[FailedItem]
    late: list[LateItem]
    not_reached: list[UnreachedItem]
    notices: list[NoticeLine]
    objections: Objections

    @property
    def pdf_rows(self) -> int:
        """Table rows the PDF lays out (its lists cut at LIST_LIMIT)."""
        lists = (self.failed, self.late, self.not_reached, self.objections.lines)
        return (
            len(self.villages)
            + len(self.categories)
            + len(self.sources)
            + len(self.notices)
            + sum(min(len(items), LIST_LIMIT) for items in lists)
        )

    @property
    def xlsx_rows(self) -> int:
        lists = (self.failed, self.late, self.not_reached, self.objections.lines)
        return self.pdf_rows + sum(max(len(items) - LIST_LIMIT, 0) for items in lists)


def summary_figures(
    campaign: Campaign, user: User, area: Area, *, today: datetime.date | None = None
) -> Summary:
    """The campaign's summary for `area` as `user` may see it."""
    today = today or timezone.localdate()
    board = dashboard(campaign, user, area, today=today)
    reconciliation = board.reconciliation
    total = reconciliation.total
    balanced = total.balanced and all(line.balanced for line in reconciliation.lines)
    headline = Headline(
        applications=board.total.applications,
        approved_count=total.approved_count,
        approved_amount=money(total.approved_amount),
        signed_amount=money(total.signed_amount),
        returned_amount=money(total.failed_amount),
        handed_over_amount=money(total.handed_over_amount),
        pending_amount=money(total.pending_amount),
        corrections_amount=money(total.corrections_amount),
        reached_count=total.reached_count,
        reached_percent=board.total.reached_percent,
        balanced=balanced,
    )
    payments = Payment.objects.restrict(user, perm=VIEW_PAYMENT).filter(
        campaign=campaign, village__code__startswith=area.prefix
    )
    return Summary(
        campaign=campaign,
        area=area,
        whole=board.whole,
        today=today,
        deadline=reconciliation.deadline,
        headline=headline,
        villages=reconciliation.lines,
        total=total,
        categories=board.categories,
        sources=board.sources,
        three=_verdicts(reconciliation.lines, total, reconciliation.deadline, today),
        failed=_failed(payments),
        late=_late(payments, reconciliation.deadline),
        not_reached=_not_reached(campaign, user, area),
        notices=_notices(campaign, user, area),
        objections=_objections(campaign, user, area),
    )


def _verdicts(
    lines: list[Line], total: Line, deadline: datetime.date | None, today: datetime.date
) -> list[Verdict]:
    return [_reached(total), _withheld(lines, total), _on_time(total, deadline, today)]


def _reached(total: Line) -> Verdict:
    title = _("Every household reached (一个不漏)")
    approved, reached = total.approved_count, total.reached_count
    if not approved:
        return Verdict("reached", title, None, _("No approved application yet."))
    if reached >= approved:
        text = _("All %(approved)s approved households were reached.") % {"approved": approved}
        return Verdict("reached", title, True, text)
    text = _(
        "%(reached)s of %(approved)s approved households were reached; %(missing)s not yet."
    ) % {"reached": reached, "approved": approved, "missing": approved - reached}
    return Verdict("reached", title, False, text)


def _withheld(lines: list[Line], total: Line) -> Verdict:
    """一分不留: the figures balance and no money handed over waits for its
    receipt (possibly withheld); decided once nothing is left to deliver."""
    title = _("Every yuan delivered (一分不留)")
    unbalanced = [line.village for line in lines if not line.balanced]
    if unbalanced or not total.balanced:
        text = _("The figures do not balance in: %(villages)s.") % {
            "villages": "、".join(unbalanced) or _("Total")
        }
        return Verdict("withheld", title, False, text)
    if total.handed_over_count:
        text = _(
            "The figures balance to the cent, but %(amount)s yuan (%(count)s payments) was "
            "handed over without the recipient's receipt."
        ) % {"amount": yuan(total.handed_over_amount), "count": total.handed_over_count}
        return Verdict("withheld", title, False, text)
    if total.pending_amount:
        text = _(
            "The figures balance to the cent; %(amount)s yuan is approved and not yet delivered."
        ) % {"amount": yuan(total.pending_amount)}
        return Verdict("withheld", title, None, text)
    text = _(
        "The figures balance to the cent: %(signed)s yuan signed for, %(returned)s yuan "
        "returned to the fund."
    ) % {"signed": yuan(total.signed_amount), "returned": yuan(total.failed_amount)}
    return Verdict("withheld", title, True, text)


def _on_time(total: Line, deadline: datetime.date | None, today: datetime.date) -> Verdict:
    """第一时间: nothing handed over after it was due, nothing overdue. Later
    instalments are due on their own dates, so lateness counts without a deadline too."""
    title = _("Delivered on time (第一时间)")
    late, overdue = total.late_count, total.overdue_count
    if deadline is None:
        if late:
            text = _("%(late)s payments were handed over after their planned date.") % {
                "late": late
            }
            return Verdict("on_time", title, False, text)
        return Verdict("on_time", title, None, _("The campaign sets no disbursement deadline."))
    day = deadline.isoformat()
    if late or overdue:
        text = _(
            "Payments were due by %(day)s: %(late)s handed over late, %(overdue)s not handed "
            "over yet."
        ) % {"day": day, "late": late, "overdue": overdue}
        return Verdict("on_time", title, False, text)
    if not total.approved_count:
        return Verdict("on_time", title, None, _("No approved application yet."))
    if total.not_reached_count == 0 or today > deadline:
        # Past the deadline, whatever was not handed over failed (overdue is zero).
        text = _("Everything was handed over by the deadline, %(day)s.") % {"day": day}
        return Verdict("on_time", title, True, text)
    text = _("Nothing is late so far; payments are due by %(day)s.") % {"day": day}
    return Verdict("on_time", title, None, text)


def _local_date(value: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(value) if value is not None else None


def _failed(payments: QuerySet[Payment]) -> list[FailedItem]:
    rows = (
        payments.filter(state=PaymentState.FAILED)
        .order_by("village__code", "number")
        .values_list(
            "number",
            "application__number",
            "village__name",
            "recipient_name",
            "amount",
            "failure_reason",
            "failure_note",
            "failed_at",
        )
    )
    return [
        FailedItem(
            payment=number,
            application=application,
            village=village,
            recipient=recipient,
            amount=money(amount),
            reason=str(FailureReason(reason).label) if reason in FailureReason.values else "",
            note=note,
            failed_on=_local_date(failed_at),
        )
        for number, application, village, recipient, amount, reason, note, failed_at in rows
    ]


def _late(payments: QuerySet[Payment], deadline: datetime.date | None) -> list[LateItem]:
    rows = (
        payments.filter(late_filter(deadline), kind=Kind.PAYMENT)
        .order_by("village__code", "number")
        .values_list(
            "number",
            "application__number",
            "village__name",
            "recipient_name",
            "amount",
            "handed_over_at",
            "instalment",
            "planned_on",
        )
    )
    return [
        LateItem(
            payment=number,
            application=application,
            village=village,
            recipient=recipient,
            amount=money(amount),
            handed_over_on=timezone.localdate(handed),
            # The first instalment is due by the campaign's deadline, later ones on their date.
            due_on=deadline if instalment == 1 else planned_on,
        )
        for number, application, village, recipient, amount, handed, instalment, planned_on in rows
    ]


def _not_reached(campaign: Campaign, user: User, area: Area) -> list[UnreachedItem]:
    """一个不漏: approved applications nothing was handed over to, as the
    reconciliation counts them, with where their first payment stands."""
    own = Payment.objects.filter(application=OuterRef("pk"), kind=Kind.PAYMENT)
    first = own.order_by("instalment")
    rows = (
        Application.objects.restrict(user, perm=VIEW)
        .filter(campaign=campaign, state=State.APPROVED, village__code__startswith=area.prefix)
        .with_head()
        .annotate(
            reached=Exists(own.filter(state__in=(PaymentState.HANDED_OVER, PaymentState.SIGNED))),
            payment_state=Subquery(first.values("state")[:1]),
            payment_reason=Subquery(first.values("failure_reason")[:1]),
        )
        .filter(reached=False)
        .order_by("village__code", "number")
        .values_list(
            "number",
            "village__name",
            "head__name",
            "category__name",
            "amount",
            "cash",
            "goods",
            "payment_state",
            "payment_reason",
        )
    )
    return [
        UnreachedItem(
            application=number,
            village=village,
            name=name or "—",
            category=category,
            amount=money(amount if amount is not None else cash + goods),
            status=_why_not_reached(state, reason),
        )
        for number, village, name, category, amount, cash, goods, state, reason in rows
    ]


def _why_not_reached(state: str | None, reason: str | None) -> str:
    if state is None:
        return _("no payment planned")
    if state == PaymentState.FAILED:
        label = FailureReason(reason).label if reason in FailureReason.values else ""
        return (
            _("failed: %(reason)s") % {"reason": label} if label else pgettext("payment", "failed")
        )
    return _("not handed over yet")


def _notices(campaign: Campaign, user: User, area: Area) -> list[NoticeLine]:
    """The notices of the area, and those of the areas above it that listed
    its applications (a township's notice covers its villages)."""
    rows = (
        Notice.objects.restrict(user, perm="applications.view_notice")
        .filter(campaign=campaign)
        .filter(Q(area__code__startswith=area.prefix) | Q(area__code__in=ancestor_codes(area.code)))
        .order_by("starts_on", "area__code", "pk")
        .values_list("area__name", "starts_on", "ends_on", "place", "contact")
    )
    return [NoticeLine(*row) for row in rows]


def _objections(campaign: Campaign, user: User, area: Area) -> Objections:
    rows = (
        Objection.objects.restrict(user, perm="applications.view_objection")
        .filter(
            application__campaign=campaign,
            application__village__code__startswith=area.prefix,
        )
        .order_by("received_on", "pk")
        .values_list(
            "received_on",
            "application__number",
            "application__village__name",
            "status",
            "finding",
        )
    )
    return Objections([ObjectionLine(*row) for row in rows])


# -- the PDF -------------------------------------------------------------------------------


def render_summary_pdf(summary: Summary) -> bytes:
    """The summary as an A4 PDF (templates/reports/summary.html)."""
    headline = summary.headline

    def capitals(amount: Decimal) -> str:
        return in_capitals(amount) if amount >= 0 else "—"

    def cut(items: Sequence[Any]) -> dict[str, Any]:
        return {
            "items": [_shown(i) for i in items[:LIST_LIMIT]],
            "more": max(len(items) - LIST_LIMIT, 0),
        }

    sources_total = SourceLine("", None)
    for line in summary.sources:
        sources_total.approved += line.approved
        sources_total.handed_over += line.handed_over
        sources_total.signed += line.signed
        sources_total.failed += line.failed
    if summary.whole:
        sources_total.budget = sum((s.budget or ZERO for s in summary.sources), ZERO)
    categories = [
        {
            "name": c.name,
            "planned_count": c.planned_count,
            "in_progress": c.in_progress,
            "count": c.approved.count,
            "amount": yuan(c.approved.amount),
        }
        for c in summary.categories
    ]
    planned = [c.planned_count for c in summary.categories if c.planned_count is not None]
    line_extra = ("pending_amount", "balanced")
    source_extra = ("remaining", "over")
    return render_pdf(
        "reports/summary.html",
        {
            "summary": summary,
            "campaign": summary.campaign,
            "h": _shown(headline),
            "approved_capitals": capitals(headline.approved_amount),
            "signed_capitals": capitals(headline.signed_amount),
            "returned_capitals": capitals(headline.returned_amount),
            "villages": [_shown(line, *line_extra) for line in summary.villages],
            "total": _shown(summary.total, *line_extra),
            "categories": categories,
            "categories_total": {
                "planned": sum(planned) if planned else None,
                "in_progress": sum(c.in_progress for c in summary.categories),
                "count": sum(c.approved.count for c in summary.categories),
                "amount": yuan(sum((c.approved.amount for c in summary.categories), ZERO)),
            },
            "sources": [
                {**_shown(s, *source_extra), "name": s.name or no_fund_source()}
                for s in summary.sources
            ],
            "sources_total": _shown(sources_total, *source_extra),
            "failed": cut(summary.failed),
            "late": cut(summary.late),
            "not_reached": cut(summary.not_reached),
            "objection_lines": cut(summary.objections.lines),
        },
    )


def _shown(record: Any, *extra: str) -> dict[str, Any]:
    """A dataclass's fields (and the `extra` properties) for the template,
    amounts written as money documents write them ("2,700.00"): the
    template's number formats group digits by the language, or not at all."""
    names = [f.name for f in fields(record)] + list(extra)
    if hasattr(record, "status_label"):
        names.append("status_label")
    values = {name: getattr(record, name) for name in names}
    return {k: yuan(v) if isinstance(v, Decimal) else v for k, v in values.items()}


# -- the workbook --------------------------------------------------------------------------


def write_summary_xlsx(summary: Summary, out: Destination) -> None:
    """The summary as a workbook (reports.summary_xlsx)."""
    from reports.summary_xlsx import write_workbook

    write_workbook(summary, out)


def summary_xlsx_bytes(summary: Summary) -> bytes:
    out = io.BytesIO()
    write_summary_xlsx(summary, out)
    return out.getvalue()


# -- the background job --------------------------------------------------------------------


@jobs.handler("reports.summary")
def summary_job(job: Job, progress: jobs.Progress) -> jobs.Output:
    """A big campaign's summary, PDF or workbook (params["format"]), made for
    the job's owner: their areas decide what it covers, as on the page."""
    campaign = Campaign.objects.select_related("area").get(pk=job.params["campaign"])
    area = Area.objects.get(pk=job.params["area"])
    if not visible_area(job.owner, campaign, area):
        raise jobs.JobError(
            _("You may no longer see the figures of %(area)s.") % {"area": area.name}
        )
    rows = job.params.get("rows", 0)
    progress(0, rows, _("Adding up the figures"))
    summary = summary_figures(campaign, job.owner, area)
    if job.params.get("format") == "xlsx":
        output = _to_file(lambda path: write_summary_xlsx(summary, path), job.params["file"])
    else:
        output = jobs.Output(name=job.params["file"], content=render_summary_pdf(summary))
    progress(rows, rows, _("Done"))
    return output


def _to_file(write: Callable[[Path], object], name: str) -> jobs.Output:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        path = Path(handle.name)
    write(path)
    return jobs.Output(name=name, path=path)
