"""The office's disbursement screens: a campaign's 三个一 reconciliation, a
village's payments with the tick-off against the scanned payment sheet, one
payment with its chained events and evidence, and the finance office's
booking (记账) and closing of villages.

Views read through the scoped querysets (a record outside the user's areas is
404) and hand every change to disbursements.services; a refusal comes back as
a message and a redirect, never an error page."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Case, Count, Exists, F, OuterRef, QuerySet, Subquery, Sum, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from disbursements import services
from disbursements.choices import FailureReason, Kind, PaymentState, ProxyStatus
from disbursements.forms import (
    ArrangementForm,
    ConfirmForm,
    CorrectionForm,
    DecideProxyForm,
    FailForm,
    HandOverForm,
    PaymentFilterForm,
    PhotoForm,
    PlanForm,
    ProxyForm,
    ScanForm,
)
from disbursements.models import (
    Payment,
    PaymentEvent,
    ProxyException,
    SheetScan,
    VillageClosing,
)
from disbursements.reconciliation import late_filter, not_reached, reconcile
from relief.access import requires
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area, User
from relief.pagination import paginate
from relief.scoping import allows

VIEW = services.VIEW
VIEW_SCAN = "disbursements.view_sheetscan"
VIEW_APPLICATIONS = "applications.view_application"  # the payment sheet and the ledger
EVIDENCE = ("signature", "countersignature", "photo")
NOT_REACHED_SHOWN = 100  # the village page lists this many; the figures count them all


# -- lookups ----------------------------------------------------------------------------


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.restrict(request.user).select_related("area"), pk=pk)


def _villages(user: User, perm: str, campaign: Campaign) -> QuerySet[Area]:
    """The campaign's villages where the user holds `perm`."""
    return (
        Area.objects.restrict(user, perm=perm)
        .filter(level=AreaLevel.VILLAGE, code__startswith=prefix_of(campaign.area.code))
        .order_by("code")
    )


def _village(request: HttpRequest, campaign: Campaign, pk: int) -> Area:
    return get_object_or_404(_villages(request.user, VIEW, campaign), pk=pk)


def _payment(request: HttpRequest, pk: int) -> Payment:
    return get_object_or_404(
        Payment.objects.restrict(request.user).select_related(
            "campaign__area",
            "village",
            "application",
            "fund_source",
            "corrects",
            "scan",
            "proxy",
            "handed_over_by",
            "signed_recorded_by",
            "booked_by",
        ),
        pk=pk,
    )


def _errors(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _done(
    request: HttpRequest, back: str, action: Callable[[], str], *, form: Any = None
) -> HttpResponse:
    """Run a service call: its message on success, its refusal as an error."""
    if form is not None and not form.is_valid():
        messages.error(request, _errors(form) or _("The request was not understood."))
        return redirect(back)
    try:
        text = action()
    except services.WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, text)
    return redirect(back)


# -- the campaign: 三个一 ------------------------------------------------------------------


@requires(VIEW)
def campaign(request: HttpRequest, campaign: int) -> HttpResponse:
    """The campaign's reconciliation per village (一个不漏, 一分不留, 第一时间)."""
    found = _campaign(request, campaign)
    user = request.user
    figures = reconcile(found, user=user)
    can_plan = user.has_perm(services.PLAN)
    plan_villages = _villages(user, services.PLAN, found) if can_plan else Area.objects.none()
    sheets = set(
        _villages(user, VIEW_APPLICATIONS, found)
        .filter(pk__in=[line.village_id for line in figures.lines])
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "disbursements/campaign.html",
        {
            "campaign": found,
            "figures": figures,
            "sheets": sheets,
            "can_plan": can_plan,
            "plannable": services.plannable(user, found).count() if can_plan else 0,
            "plan_form": PlanForm(villages=plan_villages),
            "can_export": allows(user, VIEW_APPLICATIONS, found.area),
            "can_book": user.has_perm(services.BOOK),
        },
    )


@requires(services.PLAN)
@require_POST
def plan(request: HttpRequest, campaign: int) -> HttpResponse:
    found = _campaign(request, campaign)
    form = PlanForm(request.POST, villages=_villages(request.user, services.PLAN, found))
    back = reverse("disbursements:campaign", args=[found.pk])

    def act() -> str:
        data = form.cleaned_data
        count = services.plan_payments(
            request.user, found, village=data["village"], first_on=data["first_on"]
        )
        if not count:
            raise services.WorkflowError(_("No approved application is waiting for its payments."))
        return _("%(count)d payments planned.") % {"count": count}

    return _done(request, back, act, form=form)


# -- a village ------------------------------------------------------------------------------


def _not_reached(campaign: Campaign, village: Area) -> QuerySet:
    """一个不漏: the approved applications not reached yet, with the head of
    household and the state of their first payment, in one query."""
    first = Payment.objects.filter(application=OuterRef("pk"), kind=Kind.PAYMENT).order_by(
        "instalment"
    )
    return (
        not_reached(campaign, village)
        .with_head()
        .annotate(
            head_name=F("head__name"),
            head_id_number=F("head__id_number"),
            payment_state=Subquery(first.values("state")[:1]),
            payment_failure=Subquery(first.values("failure_reason")[:1]),
        )
        .values(
            "pk",
            "number",
            "amount",
            "head_name",
            "head_id_number",
            "payment_state",
            "payment_failure",
        )
    )


@requires(VIEW)
def village(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    """A village's payments, who is not reached yet, and the tick-off of the
    signed payment sheet against its scan."""
    found = _campaign(request, campaign)
    place = _village(request, found, village)
    user = request.user
    figures = reconcile(found, user=user, villages=[place])
    line = figures.lines[0]
    payments = Payment.objects.restrict(user).filter(campaign=found, village=place)
    filters = PaymentFilterForm(request.GET or None)
    listed = payments
    if filters.is_valid() and filters.cleaned_data["state"]:
        listed = listed.filter(state=filters.cleaned_data["state"])
    late = Case(When(late_filter(figures.deadline), then=True), default=False)
    page = paginate(request, listed.annotate(late=late).order_by("number"))
    can_scan = user.has_perm(services.SCAN, place) and not line.closed
    open_payments = (
        payments.filter(state__in=services.OPEN_STATES)
        .annotate(
            proxy_approved=Exists(
                ProxyException.objects.filter(payment=OuterRef("pk"), status=ProxyStatus.APPROVED)
            )
        )
        .order_by("number")
    )
    scans = (
        SheetScan.objects.restrict(user)
        .filter(campaign=found, village=place)
        .select_related("uploaded_by")
    )
    chosen = request.GET.get("scan", "")
    return render(
        request,
        "disbursements/village.html",
        {
            "campaign": found,
            "village": place,
            "line": line,
            "deadline": figures.deadline,
            "page": page,
            "filters": filters,
            "not_reached": list(_not_reached(found, place)[:NOT_REACHED_SHOWN]),
            "failure_reasons": FailureReason.choices,
            "closing": VillageClosing.objects.filter(campaign=found, village=place)
            .select_related("closed_by")
            .first(),
            "scans": scans,
            "chosen_scan": int(chosen) if chosen.isdecimal() else None,
            "can_scan": can_scan,
            "open_payments": open_payments if can_scan else [],
            "scan_form": ScanForm(),
            "can_sheet": allows(user, VIEW_APPLICATIONS, place),
            # The visiting team's tablet view (disbursements.views.visit).
            "can_visit": not line.closed and user.has_perm(services.HAND_OVER, place),
        },
    )


@requires(services.SCAN)
@require_POST
def scan_upload(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    """File the scan of the village's signed sheet; the tick-off comes next."""
    found = _campaign(request, campaign)
    place = _village(request, found, village)
    back = reverse("disbursements:village", args=[found.pk, place.pk])
    form = ScanForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return redirect(back)
    try:
        scan = services.attach_scan(request.user, found, place, form.cleaned_data["file"])
    except services.WorkflowError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(
        request, _("Scan %(name)s filed: tick off the lines it shows signed.") % {"name": scan.name}
    )
    return redirect(f"{back}?scan={scan.pk}#tick-off")


@requires(services.SCAN)
@require_POST
def confirm(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    """Sign the ticked lines against the scan (Evidence.SHEET)."""
    found = _campaign(request, campaign)
    place = _village(request, found, village)
    user = request.user
    back = reverse("disbursements:village", args=[found.pk, place.pk])
    form = ConfirmForm(
        request.POST,
        scans=SheetScan.objects.restrict(user).filter(campaign=found, village=place),
        payments=Payment.objects.restrict(user).filter(
            campaign=found, village=place, state__in=services.OPEN_STATES
        ),
    )

    def act() -> str:
        data = form.cleaned_data
        count = services.confirm_from_scan(
            user,
            data["scan"],
            [p.pk for p in data["payments"]],
            by_proxy=[p.pk for p in data["by_proxy"]],
        )
        return _("%(count)d lines signed against the scan.") % {"count": count}

    return _done(request, back, act, form=form)


@requires(VIEW_SCAN)
def scan(request: HttpRequest, pk: int) -> FileResponse:
    found = get_object_or_404(SheetScan.objects.restrict(request.user), pk=pk)
    return FileResponse(found.file.open("rb"), filename=found.name)


# -- one payment ----------------------------------------------------------------------------


@requires(VIEW)
def payment(request: HttpRequest, pk: int) -> HttpResponse:
    """One payment: its fields, payer shares, chained events, evidence, proxy
    exceptions and corrections, with the actions the user may take."""
    found = _payment(request, pk)
    user = request.user
    closed = VillageClosing.objects.filter(
        campaign_id=found.campaign_id, village_id=found.village_id
    ).exists()
    is_open = found.state in services.OPEN_STATES and not closed
    proxies = list(found.proxy_exceptions.select_related("requested_by", "decided_by"))
    corrected = (
        found.kind != Kind.REVERSAL
        and found.state == PaymentState.SIGNED
        and not found.corrections.exists()
    )
    return render(
        request,
        "disbursements/payment.html",
        {
            "payment": found,
            "shares": found.shares.all(),
            "events": _events(found),
            "proxies": proxies,
            "corrections": found.corrections.order_by("-kind", "pk"),  # the reversal first
            "closed": closed,
            "evidence": [w for w in EVIDENCE if getattr(found, w)],
            "can_arrange": found.state == PaymentState.PLANNED
            and not closed
            and found.kind == Kind.PAYMENT
            and user.has_perm(services.PLAN, found),
            "can_hand_over": found.state == PaymentState.PLANNED
            and not closed
            and user.has_perm(services.HAND_OVER, found),
            "can_fail": is_open and user.has_perm(services.HAND_OVER, found),
            "can_request_proxy": found.state in services.OPEN_STATES
            and user.has_perm(services.REQUEST_PROXY, found),
            "can_decide": user.has_perm(services.APPROVE_PROXY, found),
            "can_photo": not closed
            and found.booked_at is None
            and found.kind == Kind.PAYMENT
            and user.has_perm(services.HAND_OVER, found),
            "can_correct": corrected and not closed and user.has_perm(services.CORRECT, found),
            "arrange_form": ArrangementForm.for_payment(found),
            "hand_over_form": HandOverForm(initial={"cadres": found.cadres}),
            "fail_form": FailForm(),
            "proxy_form": ProxyForm(),
            "decide_form": DecideProxyForm(),
            "photo_form": PhotoForm(),
            "correction_form": CorrectionForm.for_payment(found),
        },
    )


def _state_label(value: str) -> str:
    return str(PaymentState(value).label) if value in PaymentState.values else value


def _events(found: Payment) -> list[PaymentEvent]:
    """The payment's links of the chain, with its states in words."""
    events = list(found.events.select_related("actor").order_by("seq"))
    for event in events:
        event.from_label = _state_label(event.from_state)
        event.to_label = _state_label(event.to_state)
    return events


@requires(VIEW)
def evidence(request: HttpRequest, pk: int, which: str) -> FileResponse:
    """A signature, countersignature or photo of a payment, for those who may
    see the payment: media files are never linked directly."""
    found = _payment(request, pk)
    if which not in EVIDENCE or not getattr(found, which):
        raise Http404
    file = getattr(found, which)
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return FileResponse(file.open("rb"), content_type=content_type)


def _back(found: Payment) -> str:
    return reverse("disbursements:payment", args=[found.pk])


@requires(services.PLAN)
@require_POST
def arrange(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = ArrangementForm(request.POST)

    def act() -> str:
        services.arrange(request.user, found, form.arrangement())
        return _("Payment %(number)s arranged.") % {"number": found.number}

    return _done(request, _back(found), act, form=form)


@requires(services.HAND_OVER)
@require_POST
def hand_over(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = HandOverForm(request.POST)

    def act() -> str:
        services.hand_over(request.user, found, cadres=form.cleaned_data["cadres"])
        return _("Payment %(number)s handed over.") % {"number": found.number}

    return _done(request, _back(found), act, form=form)


@requires(services.HAND_OVER)
@require_POST
def fail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = FailForm(request.POST)

    def act() -> str:
        data = form.cleaned_data
        services.fail(request.user, found, data["reason"], data["note"])
        return _("Payment %(number)s failed: the money goes back to the fund.") % {
            "number": found.number
        }

    return _done(request, _back(found), act, form=form)


@requires(services.HAND_OVER)
@require_POST
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = PhotoForm(request.POST, request.FILES)

    def act() -> str:
        services.attach_photo(request.user, found, form.cleaned_data["photo"])
        return _("Photo attached to %(number)s.") % {"number": found.number}

    return _done(request, _back(found), act, form=form)


@requires(services.REQUEST_PROXY)
@require_POST
def proxy_request(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = ProxyForm(request.POST)

    def act() -> str:
        services.request_proxy(request.user, found, form.proxy())
        return _("Proxy exception requested: a supervisor decides on it.")

    return _done(request, _back(found), act, form=form)


@requires(services.APPROVE_PROXY)
@require_POST
def proxy_decide(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_object_or_404(
        ProxyException.objects.restrict(request.user).select_related("payment"), pk=pk
    )
    form = DecideProxyForm(request.POST)

    def act() -> str:
        approve = form.cleaned_data["decision"] == "approve"
        services.decide_proxy(request.user, exception, approve, form.cleaned_data["note"])
        if approve:
            return _("Collection by %(name)s approved.") % {"name": exception.name}
        return _("Collection by %(name)s refused.") % {"name": exception.name}

    return _done(request, _back(exception.payment), act, form=form)


@requires(services.CORRECT)
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    found = _payment(request, pk)
    form = CorrectionForm(request.POST)

    def act() -> str:
        reversal, replacement = services.correct(
            request.user, found, form.correction(), form.cleaned_data["reason"]
        )
        return _("%(number)s corrected: reversal %(reversal)s and replacement %(replacement)s.") % {
            "number": found.number,
            "reversal": reversal.number,
            "replacement": replacement.number,
        }

    return _done(request, _back(found), act, form=form)


# -- finance: 记账 and closing ---------------------------------------------------------------


@requires(services.BOOK)
def finance(request: HttpRequest, campaign: int) -> HttpResponse:
    """Per village: signed records not booked yet, booking, and closing."""
    found = _campaign(request, campaign)
    user = request.user
    figures = reconcile(found, user=user)
    ids = [line.village_id for line in figures.lines]
    unbooked = {
        row["village_id"]: row
        for row in Payment.objects.restrict(user)
        .filter(campaign=found, state=PaymentState.SIGNED, booked_at=None)
        .values("village_id")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    }
    closings = {
        c.village_id: c
        for c in VillageClosing.objects.restrict(user)
        .filter(campaign=found)
        .select_related("closed_by")
    }
    bookable = set(
        Area.objects.restrict(user, perm=services.BOOK)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    rows = [
        {
            "line": line,
            "unbooked": unbooked.get(line.village_id, {}).get("n", 0),
            "unbooked_amount": unbooked.get(line.village_id, {}).get("total"),
            "closing": closings.get(line.village_id),
            "can_book": line.village_id in bookable,
        }
        for line in figures.lines
    ]
    return render(
        request,
        "disbursements/finance.html",
        {"campaign": found, "figures": figures, "rows": rows},
    )


def _finance_village(request: HttpRequest, campaign: int, village: int) -> tuple[Campaign, Area]:
    found = _campaign(request, campaign)
    return found, _village(request, found, village)


@requires(services.BOOK)
@require_POST
def book(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    found, place = _finance_village(request, campaign, village)

    def act() -> str:
        count = services.book(request.user, found, place)
        return _("%(village)s: %(count)d signed records booked.") % {
            "village": place.name,
            "count": count,
        }

    return _done(request, reverse("disbursements:finance", args=[found.pk]), act)


@requires(services.BOOK)
@require_POST
def close_village(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    found, place = _finance_village(request, campaign, village)

    def act() -> str:
        services.close_village(request.user, found, place)
        return _("%(village)s is closed for this campaign.") % {"village": place.name}

    return _done(request, reverse("disbursements:finance", args=[found.pk]), act)


urlpatterns = [
    path("disbursements/<int:campaign>/", campaign, name="campaign"),
    path("disbursements/<int:campaign>/plan/", plan, name="plan"),
    path("disbursements/<int:campaign>/village/<int:village>/", village, name="village"),
    path(
        "disbursements/<int:campaign>/village/<int:village>/scan/",
        scan_upload,
        name="scan_upload",
    ),
    path("disbursements/<int:campaign>/village/<int:village>/confirm/", confirm, name="confirm"),
    path("disbursements/<int:campaign>/finance/", finance, name="finance"),
    path("disbursements/<int:campaign>/finance/<int:village>/book/", book, name="book"),
    path(
        "disbursements/<int:campaign>/finance/<int:village>/close/",
        close_village,
        name="close_village",
    ),
    path("disbursements/scan/<int:pk>/", scan, name="scan"),
    path("disbursements/payment/<int:pk>/", payment, name="payment"),
    path("disbursements/payment/<int:pk>/evidence/<str:which>/", evidence, name="evidence"),
    path("disbursements/payment/<int:pk>/arrange/", arrange, name="arrange"),
    path("disbursements/payment/<int:pk>/hand-over/", hand_over, name="hand_over"),
    path("disbursements/payment/<int:pk>/fail/", fail, name="fail"),
    path("disbursements/payment/<int:pk>/photo/", photo, name="photo"),
    path("disbursements/payment/<int:pk>/proxy/", proxy_request, name="proxy_request"),
    path("disbursements/payment/<int:pk>/correct/", correct, name="correct"),
    path("disbursements/proxy/<int:pk>/decide/", proxy_decide, name="proxy_decide"),
]
