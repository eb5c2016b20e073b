"""Downloads of the campaign's documents. Small ones are made while the user
waits; big ones (more rows than the settings allow) go to the background
worker and the user is taken to the job's page, with its progress bar and,
when done, the file. Every download is an audit event (who took which list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from applications.models import Application, Notice
from campaigns.models import Campaign
from disbursements.signing import SigningError
from documents.ledger import ledger_item_count
from documents.notice import notice_rows
from documents.payment_sheet import payment_rows
from relief import audit, jobs
from relief.access import requires
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area
from relief.scoping import allows

VIEW = "applications.view_application"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.restrict(request.user).select_related("area"), pk=pk)


def _deliver(
    request: HttpRequest,
    *,
    kind: str,
    title: str,
    file: str,
    rows: int,
    limit: int,
    params: dict[str, Any],
    make: Callable[[], bytes],
    content_type: str,
    target: Any,
    area: Area,
) -> HttpResponse:
    audit.record(
        request.user, "document." + kind.split(".")[1], target, area=area, file=file, rows=rows
    )
    if rows > limit:
        job = jobs.start(
            request.user, kind, title, {**params, "file": file, "rows": rows}, background=True
        )
        return redirect("job_detail", pk=job.pk)
    response = HttpResponse(make(), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, file)
    return response


@requires("applications.view_notice")
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """公示名单 of a notice, or of one village of a township's notice (?village=)."""
    from documents.notice import render_notice

    notice = get_object_or_404(
        Notice.objects.restrict(request.user).select_related("campaign", "area"), pk=pk
    )
    village = None
    if request.GET.get("village"):
        village = get_object_or_404(
            Area.objects.filter(
                level=AreaLevel.VILLAGE, code__startswith=prefix_of(notice.area.code)
            ),
            pk=request.GET["village"] if request.GET["village"].isdecimal() else 0,
        )
    rows = notice_rows(notice, village).count
    if not rows:
        messages.error(request, _("The public notice lists no application."))
        return redirect("applications:notice_detail", pk=notice.pk)
    name = f"{notice.campaign.name}-{(village or notice.area).name}-" + _("public notice") + ".pdf"
    return _deliver(
        request,
        kind="documents.notice",
        title=_("Public notice %(area)s") % {"area": (village or notice.area).name},
        file=name,
        rows=rows,
        limit=settings.BACKGROUND_PDF_ROWS,
        params={"notice": notice.pk, "village": village.pk if village else None},
        make=lambda: render_notice(notice, village),
        content_type=PDF,
        target=notice,
        area=village or notice.area,
    )


@requires(VIEW)
def payment_sheet_pdf(request: HttpRequest, pk: int, village: int) -> HttpResponse:
    """慰问金发放表 of one village, full ID numbers: for the user's own villages."""
    from documents.payment_sheet import render_payment_sheet

    campaign = _campaign(request, pk)
    place = get_object_or_404(
        Area.objects.restrict(request.user, perm=VIEW).filter(
            level=AreaLevel.VILLAGE, code__startswith=prefix_of(campaign.area.code)
        ),
        pk=village,
    )
    rows = len(payment_rows(campaign, place))
    if not rows:
        messages.error(
            request, _("%(village)s has no approved application.") % {"village": place.name}
        )
        return redirect("applications:queue", pk=campaign.pk)
    return _deliver(
        request,
        kind="documents.payment_sheet",
        title=_("Payment sheet %(village)s") % {"village": place.name},
        file=f"{campaign.name}-{place.name}-" + _("payment sheet") + ".pdf",
        rows=rows,
        limit=settings.BACKGROUND_PDF_ROWS,
        params={"campaign": campaign.pk, "village": place.pk},
        make=lambda: render_payment_sheet(campaign, place),
        content_type=PDF,
        target=campaign,
        area=place,
    )


def _whole_campaign(request: HttpRequest, campaign: Campaign) -> None:
    """The ledger and statistics cover every village of the campaign: for those
    whose area holds the whole campaign (township staff, finance, auditors)."""
    if not allows(request.user, VIEW, campaign.area):
        raise PermissionDenied


@requires(VIEW)
def signed_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    """发放台账, signed: a .zip of the workbook and its signature file
    (disbursements.signing); never handed out unsigned."""
    import io

    from disbursements import signing
    from documents.ledger import write_signed_ledger

    campaign = _campaign(request, pk)
    _whole_campaign(request, campaign)
    try:
        signing.load_private_key(signing.active_key())
    except SigningError as error:
        messages.error(
            request,
            _("The ledger is only handed out signed, and it cannot be signed now: %(error)s")
            % {"error": error},
        )
        # Back to the page with the link (the queue, the finance or payments page).
        back = request.headers.get("referer", "")
        if url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(back)
        return redirect("applications:queue", pk=campaign.pk)
    stem = f"{campaign.name}-" + _("ledger")

    def make() -> bytes:
        out = io.BytesIO()
        write_signed_ledger(campaign, out, stem + ".xlsx")
        return out.getvalue()

    return _deliver(
        request,
        kind="documents.ledger",
        title=_("Ledger %(campaign)s") % {"campaign": campaign.name},
        file=stem + ".zip",
        rows=ledger_item_count(campaign),
        limit=settings.BACKGROUND_ROWS,
        params={"campaign": campaign.pk},
        make=make,
        content_type=ZIP,
        target=campaign,
        area=campaign.area,
    )


@requires(VIEW)
def statistics_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    from documents.statistics import write_statistics

    campaign = _campaign(request, pk)
    _whole_campaign(request, campaign)
    return _workbook(
        request,
        campaign,
        kind="documents.statistics",
        title=_("Statistics %(campaign)s") % {"campaign": campaign.name},
        file=f"{campaign.name}-" + _("statistics") + ".xlsx",
        rows=Application.objects.filter(campaign=campaign).count(),
        write=lambda out: write_statistics(campaign, out),
    )


def _workbook(
    request: HttpRequest,
    campaign: Campaign,
    *,
    kind: str,
    title: str,
    file: str,
    rows: int,
    write: Callable[[Any], object],
) -> HttpResponse:
    import io

    def make() -> bytes:
        out = io.BytesIO()
        write(out)
        return out.getvalue()

    return _deliver(
        request,
        kind=kind,
        title=title,
        file=file,
        rows=rows,
        limit=settings.BACKGROUND_ROWS,
        params={"campaign": campaign.pk},
        make=make,
        content_type=XLSX,
        target=campaign,
        area=campaign.area,
    )
