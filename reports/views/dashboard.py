"""The campaign dashboard: figures for one area, its child areas one click
down (county → township → village), each chart with its table beside it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campaigns.conditions import fmt
from campaigns.models import Campaign
from relief.access import requires
from relief.models import Area
from reports import charts
from reports.figures import VIEW, Dashboard, dashboard, default_area, visible_area


@requires(VIEW)
def campaign_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.restrict(request.user).select_related("area"), pk=pk
    )
    area = _area(request, campaign)
    board = dashboard(campaign, request.user, area)
    return render(
        request,
        "reports/dashboard.html",
        {"campaign": campaign, "board": board, "charts": _charts(board)},
    )


def _area(request: HttpRequest, campaign: Campaign) -> Area:
    """?area= names the area to look at; one outside the user's view is not
    found (the same answer as an area that does not exist)."""
    wanted = request.GET.get("area", "")
    if not wanted:
        return default_area(request.user, campaign)
    if not wanted.isdecimal():
        raise Http404
    area = Area.objects.filter(pk=int(wanted)).first()
    if area is None or not visible_area(request.user, campaign, area):
        raise Http404
    return area


def _charts(board: Dashboard) -> dict[str, object]:
    signed, handed, waiting, other = (
        charts.Series(_("Signed for"), "solid"),
        charts.Series(_("Handed over, no receipt"), "hatch"),
        charts.Series(_("Approved, not handed over"), "dots"),
        charts.Series(_("Budget left"), "open"),
    )
    funnel = [s for s in board.funnel if s.reached is not None]
    sources = board.sources
    source_series = [signed, handed, waiting] + ([other] if board.whole else [])
    returned = charts.Series(_("Failed, returned"), "open")
    return {
        "funnel": charts.bars(
            _("Applications that reached each stage"),
            [(s.label, s.reached or 0, str(s.reached)) for s in funnel],
        ),
        "sources": charts.stacked(
            _("Money by fund source"),
            source_series,
            [
                (
                    s.name or pgettext("fund source", "None"),
                    [s.signed, s.handed_over, s.not_delivered]
                    + ([max(s.remaining or 0, 0)] if board.whole else []),
                    fmt(s.budget if s.budget is not None else s.approved),
                )
                for s in sources
            ],
        ),
        "areas": charts.stacked(
            _("Drawdown by area"),
            [signed, handed, waiting, returned],
            [
                (
                    line.area.name,
                    [
                        line.three.signed_amount,
                        line.three.handed_over_amount,
                        line.three.unplanned_amount + line.three.planned_amount,
                        line.three.failed_amount,
                    ],
                    f"{line.signed_percent}%",
                )
                for line in board.lines
            ],
        ),
        "categories": charts.bars(
            _("Approved amount by category"),
            [(c.name, c.approved.amount, fmt(c.approved.amount)) for c in board.categories],
        ),
    }


urlpatterns = [
    path("campaigns/<int:pk>/dashboard/", campaign_dashboard, name="dashboard"),
]
