"""The visiting team's tablet view (上户发放): pick the campaign and village,
the day's list of households to visit, and the signing page where the
recipient and the cadre sign on the screen and a photo is taken.

The signing page does not post a form: static/js/visit.js saves each receipt
in the tablet's own storage first and then sends it to `receipt`, retrying
until the connection holds. The receipt names itself with a key made on the
tablet, so a resend (a reply lost on a flaky line, a retry from another page)
is recorded once (services.sign). `receipt` therefore answers whatever the
tablet sends in JSON the script can act on, never with an error page; only
the access layer's sign-in redirect and 403 are not JSON, and the script
keeps the receipt until a new sign-in lets it through.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from disbursements import services
from disbursements.choices import FailureReason, Kind, PaymentState
from disbursements.models import Payment
from relief import idnumber, money
from relief.access import requires
from relief.choices import AreaLevel
from relief.models import Area

HAND_OVER = services.HAND_OVER
OPEN_STATES = services.OPEN_STATES
# Campaigns in which receipts can be taken (services._check_campaign refuses the others).
PAYING = (CampaignStatus.OPEN, CampaignStatus.CLOSED)
# What the tablet may call its submission: the UUID visit.js makes.
KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
DATA_URL = re.compile(r"^data:(?P<type>[\w/+.-]+)?(?:;[\w=.-]+)*?;base64,(?P<data>.*)$", re.S)
# A photo arrives downscaled (about 1280 px, JPEG); anything far bigger is not
# from the page and is refused before it is decoded.
PHOTO_MAX_BYTES = 4 * 1024 * 1024


def _payments(request: HttpRequest) -> QuerySet[Payment]:
    """The payments the user may hand over and take receipts for."""
    return Payment.objects.restrict(request.user, perm=HAND_OVER)


# -- choosing the village ---------------------------------------------------------------


@requires(HAND_OVER)
def start(request: HttpRequest) -> HttpResponse:
    """The campaigns and villages with households still to visit."""
    today = timezone.localdate()
    rows = (
        _payments(request)
        .filter(kind=Kind.PAYMENT, state__in=OPEN_STATES, campaign__status__in=PAYING)
        .values("campaign_id", "campaign__name", "village_id", "village__name", "village__code")
        .annotate(
            open=Count("pk"),
            due=Count("pk", filter=Q(planned_on__lte=today) | Q(planned_on=None)),
        )
        .order_by("-campaign_id", "village__code")
    )
    return render(request, "disbursements/visit_start.html", {"rows": list(rows)})


# -- the day's list ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One household of the day's list."""

    payment: Payment
    masked_id: str
    goods: str
    due: bool
    done: bool


def _row(payment: Payment, today: datetime.date) -> Row:
    return Row(
        payment=payment,
        masked_id=idnumber.mask(payment.recipient_id_number),
        goods=payment.goods_line,
        due=payment.planned_on is None or payment.planned_on <= today,
        done=payment.settled,
    )


@requires(HAND_OVER)
def day_list(request: HttpRequest, campaign: int, village: int) -> HttpResponse:
    """今日上户名单: the village's payments still to make, those planned for
    today or earlier first (all of them with ?all=1), then those settled today."""
    found = get_object_or_404(
        Campaign.objects.restrict(request.user).select_related("area"), pk=campaign
    )
    place = get_object_or_404(
        Area.objects.restrict(request.user, perm=HAND_OVER).filter(level=AreaLevel.VILLAGE),
        pk=village,
    )
    if not found.area.contains(place):
        raise Http404
    today = timezone.localdate()
    everything = request.GET.get("all") == "1"
    payments = _payments(request).filter(campaign=found, village=place, kind=Kind.PAYMENT)
    waiting = payments.filter(state__in=OPEN_STATES)
    due = Q(planned_on__lte=today) | Q(planned_on=None)
    later = waiting.exclude(due).count()
    if not everything:
        waiting = waiting.filter(due)
    # Due ones first, by date then number; "planned_on" nulls count as due today.
    ordered = sorted(
        waiting.order_by("number"),
        key=lambda p: (p.planned_on is not None and p.planned_on > today, p.planned_on or today),
    )
    settled_today = payments.filter(
        Q(state=PaymentState.SIGNED, signed_at__date=today)
        | Q(state=PaymentState.FAILED, failed_at__date=today)
    ).order_by("-signed_at", "-failed_at", "number")
    rows = [_row(p, today) for p in ordered]
    done = [_row(p, today) for p in settled_today]
    return render(
        request,
        "disbursements/visit_list.html",
        {
            "campaign": found,
            "village": place,
            "rows": rows,
            "done": done,
            "everything": everything,
            "later": later,
            "today": today,
        },
    )


# -- the signing page -------------------------------------------------------------------


@requires(HAND_OVER)
@require_http_methods(["GET", "POST"])
def sign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """签收: the household's details, the two signature pads and the photo;
    a POST records that the payment could not be made (services.fail)."""
    payment = get_object_or_404(
        _payments(request).select_related("campaign", "village", "application__household"),
        pk=pk,
    )
    back = reverse("disbursements:visit_list", args=[payment.campaign_id, payment.village_id])
    if request.method == "POST":
        return _fail(request, payment, back)
    context: dict[str, Any] = {
        "payment": payment,
        "address": payment.application.household.address,
        "figures": money.yuan(payment.amount),
        "capitals": money.in_capitals(payment.amount) if payment.amount >= 0 else "",
        "goods": payment.goods_line,
        "proxy": services.approved_proxy(payment) if payment.state in OPEN_STATES else None,
        "reasons": FailureReason.choices,
        "cadres": payment.cadres or request.user.get_full_name() or request.user.get_username(),
        "back": back,
        "open": payment.state in OPEN_STATES,
    }
    return render(request, "disbursements/visit_sign.html", context)


def _fail(request: HttpRequest, payment: Payment, back: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    if reason not in FailureReason.values:
        messages.error(request, _("Choose why the payment could not be made."))
        return redirect("disbursements:visit_sign", payment.pk)
    try:
        payment = services.fail(request.user, payment, reason, request.POST.get("note", ""))
    except services.WorkflowError as error:
        messages.error(request, error.message)
        return redirect("disbursements:visit_sign", payment.pk)
    messages.success(
        request,
        _("Payment %(number)s recorded as not made: %(reason)s.")
        % {"number": payment.number, "reason": payment.get_failure_reason_display()},
    )
    return redirect(back)


# -- the receipt the page's script sends ------------------------------------------------


class BadInput(Exception):
    """What the tablet sent cannot be read; the message says what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


def _done(payment: Payment) -> JsonResponse:
    return JsonResponse(
        {
            "ok": True,
            "number": payment.number,
            "state": payment.state,
            "signed_at": payment.signed_at.isoformat() if payment.signed_at else None,
        }
    )


def _decoded(text: str, what: str) -> bytes:
    """The bytes of a data URL ("data:image/png;base64,…") or of bare base64."""
    match = DATA_URL.match(text.strip())
    body = match.group("data") if match else text.strip()
    try:
        return base64.b64decode(re.sub(r"\s+", "", body), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadInput(_("The %(what)s could not be read.") % {"what": what}) from error


def _image_field(request: HttpRequest, name: str, what: str, *, limit: int) -> bytes | None:
    """A file upload or a data URL in the form field `name`; None when absent."""
    upload = request.FILES.get(name)
    if upload is not None:
        if upload.size > limit:
            raise BadInput(_("The %(what)s is missing or too large.") % {"what": what})
        return upload.read()
    text = request.POST.get(name, "")
    if not text.strip():
        return None
    if len(text) > limit * 4 // 3 + 100:
        raise BadInput(_("The %(what)s is missing or too large.") % {"what": what})
    return _decoded(text, what)


def _signature(request: HttpRequest, name: str, what: str) -> bytes:
    data = _image_field(request, name, what, limit=services.SIGNATURE_MAX_BYTES)
    if not data:
        raise BadInput(_("The %(what)s is missing.") % {"what": what})
    return data


def _photo(request: HttpRequest) -> UploadedFile | None:
    data = _image_field(request, "photo", _("photo"), limit=PHOTO_MAX_BYTES)
    if data is None:
        return None
    # services.sign reads the photo as an upload (its type from its first bytes).
    return SimpleUploadedFile("photo.jpg", data, content_type="application/octet-stream")


def _signed_at(text: str) -> datetime.datetime | None:
    """The device's signing time; what cannot be read counts as "now" (services)."""
    try:
        return parse_datetime(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _read_receipt(request: HttpRequest) -> services.Receipt:
    key = request.POST.get("key", "").strip()
    if not KEY.match(key):
        raise BadInput(_("The submission has no valid key: reload the page and sign again."))
    return services.Receipt(
        signature=_signature(request, "signature", _("recipient's signature")),
        countersignature=_signature(request, "countersignature", _("cadre's signature")),
        device=(request.POST.get("device") or request.headers.get("User-Agent", ""))[:200],
        key=key,
        signed_at=_signed_at(request.POST.get("signed_at", "")),
        photo=_photo(request),
        by_proxy=request.POST.get("by_proxy", "") in ("1", "true", "on"),
        cadres=request.POST.get("cadres", "")[:100],
    )


@requires(HAND_OVER)
@require_POST
def receipt(request: HttpRequest, pk: int) -> JsonResponse:
    """Record a receipt sent by the signing page: JSON {"ok": true, "number",
    "state"} or {"ok": false, "error"} with 400 (what was sent is unusable),
    404 (not a payment the user reaches) or 409 (the payment cannot take it)."""
    payment = _payments(request).select_related("campaign", "village").filter(pk=pk).first()
    if payment is None:
        return _refused(_("This payment is not one you can take receipts for."), 404)
    try:
        data = _read_receipt(request)
    except BadInput as error:
        return _refused(error.message, 400)
    try:
        signed = services.sign(request.user, payment, data)
    except services.WorkflowError as error:
        # Two sends of one receipt at once (the online event and the timer):
        # the other one recorded it, which is what this one wanted.
        fresh = Payment.objects.get(pk=payment.pk)
        if fresh.client_key == data.key:
            return _done(fresh)
        return _refused(error.message, 409 if fresh.settled else 400)
    return _done(signed)


urlpatterns = [
    path("visits/", start, name="visit_start"),
    path("visits/<int:campaign>/<int:village>/", day_list, name="visit_list"),
    path("visits/payment/<int:pk>/", sign_page, name="visit_sign"),
    path("visits/payment/<int:pk>/receipt/", receipt, name="visit_receipt"),
]
