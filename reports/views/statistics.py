"""The statistics with filters (类别统计表 / 一览表) and the year-over-year
comparison, on screen and as .xlsx. The figures come from reports.statistics;
a bad filter (an id outside the user's areas, a date that is not one, dates
the wrong way round) is a form error shown with status 400, never a figure."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from relief import audit
from relief.access import requires
from relief.models import Area
from relief.scoping import allows
from reports.forms import ComparisonForm, StatisticsForm
from reports.statistics import (
    VIEW,
    Comparison,
    Statistics,
    compute_comparison,
    compute_statistics,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _statistics(request: HttpRequest) -> tuple[StatisticsForm, Statistics | None]:
    form = StatisticsForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return form, None
    flt = form.statistics_filter()
    return form, compute_statistics(request.user, flt) if flt is not None else None


def _statistics_page(
    request: HttpRequest, form: StatisticsForm, stats: Statistics | None
) -> HttpResponse:
    # The two tables by category and area: households, then amounts.
    matrices = [("households", False), ("amounts", True)]
    context: dict[str, Any] = {"form": form, "stats": stats, "matrices": matrices}
    if stats is not None:
        context.update(_links(stats.filter.query()))
        parent = stats.filter.area.parent
        # The way back up, if the user may see the area above.
        if parent is not None and allows(request.user, VIEW, parent):
            context["up"] = parent
    return render(request, "reports/statistics.html", context, status=400 if form.errors else 200)


def _links(query: dict[str, Any]) -> dict[str, str]:
    """The query string of the figures shown (for the export) and the same
    without the area (the drill-down links add theirs): the defaults a bare
    URL stands for are spelled out, so the links mean what the page shows."""
    return {
        "query": urlencode(query, doseq=True),
        "drill_query": urlencode({k: v for k, v in query.items() if k != "area"}, doseq=True),
    }


@requires(VIEW)
def statistics(request: HttpRequest) -> HttpResponse:
    form, stats = _statistics(request)
    return _statistics_page(request, form, stats)


@requires(VIEW)
def statistics_xlsx(request: HttpRequest) -> HttpResponse:
    from reports.statistics_xlsx import write_statistics_xlsx

    form, stats = _statistics(request)
    if stats is None:
        return _statistics_page(request, form, stats)
    flt = stats.filter
    campaign = flt.campaigns[0] if len(flt.campaigns) == 1 else None
    return _xlsx(
        request,
        file=f"{flt.area.name}-" + _("statistics") + ".xlsx",
        target=campaign,
        area=flt.area,
        rows=len(stats.places),
        data={"report": "statistics", "filters": flt.query()},
        write=lambda out: write_statistics_xlsx(stats, out),
    )


def _comparison(request: HttpRequest) -> tuple[ComparisonForm, Comparison | None]:
    form = ComparisonForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return form, None
    arguments = form.arguments()
    if arguments is None:
        return form, None
    return form, compute_comparison(request.user, **arguments)


@requires(VIEW)
def comparison(request: HttpRequest) -> HttpResponse:
    form, result = _comparison(request)
    return _comparison_page(request, form, result)


def _comparison_page(
    request: HttpRequest, form: ComparisonForm, result: Comparison | None
) -> HttpResponse:
    from reports.statistics_xlsx import comparison_headers

    context: dict[str, Any] = {"form": form, "comparison": result}
    if result is not None:
        context.update(
            _links(result.query()),
            headers=comparison_headers(result),
            tables=[("by-category", result.by_category), ("by-area", result.by_place)],
        )
    return render(request, "reports/comparison.html", context, status=400 if form.errors else 200)


@requires(VIEW)
def comparison_xlsx(request: HttpRequest) -> HttpResponse:
    from reports.statistics_xlsx import write_comparison_xlsx

    form, result = _comparison(request)
    if form.errors:
        return _comparison_page(request, form, result)
    if result is None:
        raise Http404(_("There are no two campaigns of one kind to compare."))
    return _xlsx(
        request,
        file=f"{result.previous.name}-{result.current.name}-" + _("comparison") + ".xlsx",
        target=result.current,
        area=result.area,
        rows=len(result.by_category) + len(result.by_place),
        data={"report": "comparison", "filters": result.query()},
        write=lambda out: write_comparison_xlsx(result, out),
    )


def _xlsx(
    request: HttpRequest,
    *,
    file: str,
    target: Campaign | None,
    area: Area,
    rows: int,
    data: dict[str, Any],
    write: Callable[[io.BytesIO], None],
) -> HttpResponse:
    """Write the workbook and record who took which figures: an audit event
    in the area the figures cover, as documents.views does for its downloads."""
    audit.record(
        request.user, "document.statistics", target, area=area, file=file, rows=rows, **data
    )
    out = io.BytesIO()
    write(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, file)
    return response


urlpatterns: list[URLPattern] = [
    path("statistics/", statistics, name="statistics"),
    path("statistics/statistics.xlsx", statistics_xlsx, name="statistics_xlsx"),
    path("statistics/comparison/", comparison, name="comparison"),
    path("statistics/comparison.xlsx", comparison_xlsx, name="comparison_xlsx"),
]
