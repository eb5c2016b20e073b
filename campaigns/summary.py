"""A category's standard and eligibility in words, for pages and printouts."""

from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns import conditions as cond
from campaigns.budget import unit_bounds
from campaigns.choices import RoundingStep, StandardKind, Unit
from campaigns.conditions import fmt
from campaigns.models import Category, EvidenceField, rule_from_json


def summarize(category: Category) -> str:
    per = _("per person") if category.unit == Unit.PERSON else _("per household")
    kind = category.kind
    if kind == StandardKind.FIXED:
        parts = []
        if category.cash:
            parts.append(_("%(amount)s cash") % {"amount": fmt(category.cash)})
        if category.goods:
            parts.append(_("%(amount)s in goods") % {"amount": fmt(category.goods)})
        return f"{fmt(category.cash + category.goods)} {per}（{' + '.join(parts)}）"
    if kind == StandardKind.RANGE:
        text = f"{unit_bounds(category)} {per}"
        return text + (_("; soft: outside with a reason") if category.range_soft else "")
    if kind == StandardKind.INSTALMENTS:
        return _("%(annual)s a year, in %(count)s instalments") % {
            "annual": fmt(category.annual or 0),
            "count": category.instalments,
        }
    if kind == StandardKind.PERCENTAGE:
        base = category.base_field.name if category.base_field else "?"
        text = f"{base} × {fmt(category.rate or 0)}%"
        extras = []
        if category.rounding != RoundingStep.CENT:
            extras.append(RoundingStep(category.rounding).label)
        if category.floor is not None:
            extras.append(_("at least %(floor)s") % {"floor": fmt(category.floor)})
        if category.cap is not None:
            extras.append(_("at most %(cap)s") % {"cap": fmt(category.cap)})
        if category.not_above_base:
            extras.append(_("never above the base"))
        return text + ("（" + "，".join(str(e) for e in extras) + "）" if extras else "")
    tiers = " / ".join(f"{t.name} {fmt(t.cash + t.goods)}" for t in category.tiers.all())
    return f"{tiers} {per}"


def eligibility_text(category: Category, fields: dict[str, cond.FieldSpec] | None = None) -> str:
    fields = EvidenceField.catalogue() if fields is None else fields
    return cond.render(rule_from_json(category.eligibility, fields), fields)
