from __future__ import annotations

from decimal import Decimal

from django import template

from campaigns.conditions import fmt

register = template.Library()


@register.filter
def yuan(value: Decimal | int | None) -> str:
    """12350 → "12,350"; None → "—"."""
    if value is None or value == "":
        return "—"
    return fmt(Decimal(value))


@register.filter
def standard_summary(category: object) -> str:
    """The category's standard in one line, e.g. "200–600 per household (soft)"."""
    from campaigns.summary import summarize

    return summarize(category)  # type: ignore[arg-type]


@register.filter
def approval_label(value: str) -> str:
    from campaigns.choices import ApprovalLevel

    return str(ApprovalLevel(value).label) if value in ApprovalLevel.values else value
