"""The campaign summary (工作总结 figures) as PDF or workbook, for the area the
user looks at (?area=, else the area their roles cover). Every download is
an audit event; a big campaign's goes to the background worker
(documents.views._deliver, the same path as the other documents)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from documents.views import PDF, XLSX, _deliver
from relief.access import requires
from relief.models import Area
from reports.figures import VIEW, default_area, visible_area
from reports.summary import render_summary_pdf, summary_figures, summary_xlsx_bytes


def _area(request: HttpRequest, campaign: Campaign) -> Area:
    """?area= names the area; one outside the user's view is not found, the
    same answer as an area that does not exist."""
    wanted = request.GET.get("area", "")
    if not wanted:
        return default_area(request.user, campaign)
    # Digits only, and few enough for the database's integers.
    number = int(wanted) if wanted.isdecimal() and len(wanted) <= 18 else None
    area = Area.objects.filter(pk=number).first() if number is not None else None
    if area is None or not visible_area(request.user, campaign, area):
        raise Http404
    return area


def _summary(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.restrict(request.user).select_related("area"), pk=pk
    )
    area = _area(request, campaign)
    summary = summary_figures(campaign, request.user, area)
    pdf = kind == "pdf"
    return _deliver(
        request,
        kind="reports.summary",
        title=_("Summary %(campaign)s %(area)s") % {"campaign": campaign.name, "area": area.name},
        file=f"{campaign.name}-{area.name}-" + _("summary") + (".pdf" if pdf else ".xlsx"),
        rows=summary.pdf_rows if pdf else summary.xlsx_rows,
        limit=settings.BACKGROUND_PDF_ROWS if pdf else settings.BACKGROUND_ROWS,
        params={"campaign": campaign.pk, "area": area.pk, "format": kind},
        make=(lambda: render_summary_pdf(summary)) if pdf else lambda: summary_xlsx_bytes(summary),
        content_type=PDF if pdf else XLSX,
        target=campaign,
        area=area,
    )


@requires(VIEW)
def summary_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _summary(request, pk, "pdf")


@requires(VIEW)
def summary_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    return _summary(request, pk, "xlsx")


urlpatterns = [
    path("campaigns/<int:pk>/summary.pdf", summary_pdf, name="summary_pdf"),
    path("campaigns/<int:pk>/summary.xlsx", summary_xlsx, name="summary_xlsx"),
]
