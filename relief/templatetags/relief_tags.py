from django import template
from django.core.paginator import Paginator

from relief import idnumber

register = template.Library()


@register.filter
def mask_id(number: str) -> str:
    """An ID number as lists and public documents show it: 130123********1234."""
    return idnumber.mask(number or "")


@register.filter
def elided_pages(paginator: Paginator, number: int) -> list[int | str]:
    """Page numbers around the current one, with … for the gaps."""
    return list(paginator.get_elided_page_range(number, on_each_side=2, on_ends=1))
