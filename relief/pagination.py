from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def paginate(request: HttpRequest, queryset: QuerySet) -> Page:
    """The requested page of a list; a malformed or out-of-range page number
    gives the nearest real page rather than an error."""
    try:
        per_page = int(request.GET.get("per_page", ""))
    except ValueError:
        per_page = settings.PAGE_SIZES[0]
    if per_page not in settings.PAGE_SIZES:
        per_page = settings.PAGE_SIZES[0]
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    page.page_sizes = settings.PAGE_SIZES  # for the "rows per page" links
    return page
