"""What the campaign's rules make of an application's evidence: the amount,
its explanation, who must approve it, and what stops it being submitted."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from campaigns.calculation import ZERO, CategoryRule, Outcome, compute, higher_level, stack
from campaigns.choices import ApprovalLevel
from campaigns.evidence import household_facts
from campaigns.models import Category, EvidenceField

if TYPE_CHECKING:
    from applications.models import Application
    from campaigns.conditions import FieldSpec


@dataclass
class Assessment:
    amount: Decimal | None = None
    cash: Decimal = ZERO
    goods: Decimal = ZERO
    tier: str = ""
    level: str = ApprovalLevel.TOWNSHIP
    needs_reason: bool = False
    lines: list[str] = field(default_factory=list)
    problem: str = ""  # why it cannot go forward as it stands
    paying: Category | None = None  # whose fund source pays

    @property
    def explanation(self) -> str:
        return "\n".join(self.lines)


def _problem(outcome: Outcome, names: dict[str, FieldSpec]) -> str:
    if outcome.missing:
        return _("Evidence missing for %(category)s: %(fields)s.") % {
            "category": outcome.category,
            "fields": "、".join(names[k].name if k in names else k for k in outcome.missing),
        }
    if outcome.error:
        return outcome.error
    if not outcome.eligible:
        return _("The household is not eligible for %(category)s.") % {"category": outcome.category}
    if outcome.amount is None:
        return _("Enter the amount proposed for %(category)s.") % {"category": outcome.category}
    return ""


def assess(
    application: Application,
    categories: list[Category] | None = None,
    *,
    catalogue: dict[str, FieldSpec] | None = None,
    registered: dict[str, Any] | None = None,
    rules: dict[int, CategoryRule] | None = None,
) -> Assessment:
    """Compute the application's amount under its categories and the campaign's
    stacking policy. `categories` (the sought one first) may be passed for an
    unsaved application; `registered` the household's facts when already read;
    `rules` the categories' rules when already built (an import assesses
    thousands of rows against the same few categories)."""
    campaign = application.campaign
    catalogue = EvidenceField.catalogue() if catalogue is None else catalogue
    if categories is None:
        categories = [application.category, *application.also.all()]
    facts = {**(registered or household_facts(application.household)), **application.facts}
    outcomes = [
        compute(
            rules[c.pk] if rules and c.pk in rules else c.rule(catalogue),
            facts,
            application.proposed if i == 0 else None,
        )
        for i, c in enumerate(categories)
    ]
    result = Assessment()
    for outcome in outcomes:
        result.lines.append(f"{outcome.category}：{outcome.explanation}")
    problems = [_problem(o, catalogue) for o in outcomes]
    if len(outcomes) == 1:
        (outcome,) = outcomes
        result.problem = problems[0]
        if not result.problem:
            result.amount, result.cash, result.goods = outcome.amount, outcome.cash, outcome.goods
            result.tier, result.level = outcome.tier, outcome.level
            result.needs_reason = outcome.needs_reason
            result.paying = categories[0]
        return result
    # The sought category must hold; the others count where they hold.
    if problems[0]:
        result.problem = problems[0]
        return result
    stacked = stack(
        campaign.stacking,
        outcomes,
        top_up=campaign.top_up,
        pairs=campaign.stacking_pairs(),
    )
    result.lines.extend(stacked.lines)
    if stacked.error:
        result.problem = stacked.error
        return result
    kept = [(c, o) for c, o in zip(categories, outcomes, strict=True) if o.category in stacked.kept]
    result.amount = stacked.amount
    result.goods = sum((o.goods for _c, o in kept), ZERO)
    result.cash = stacked.amount - result.goods
    result.tier = "、".join(o.tier for _c, o in kept if o.tier)
    for _c, o in kept:
        result.level = higher_level(result.level, o.level)
        result.needs_reason = result.needs_reason or o.needs_reason
    result.paying = kept[0][0]
    return result


def assessed(result: Assessment) -> dict[str, Any]:
    """An assessment as the application's column values (attribute names)."""
    return {
        "amount": result.amount,
        "cash": result.cash,
        "goods": result.goods,
        "tier": result.tier,
        "approval_level": result.level,
        "needs_reason": result.needs_reason,
        "explanation": result.explanation,
        "problem": result.problem,
        "fund_source_id": result.paying.fund_source_id if result.paying else None,
    }


def apply(application: Application, result: Assessment) -> None:
    """Store an assessment on the application (not saved)."""
    for name, value in assessed(result).items():
        setattr(application, name, value)


ASSESSED_FIELDS = [
    "amount",
    "cash",
    "goods",
    "tier",
    "approval_level",
    "needs_reason",
    "explanation",
    "problem",
    "fund_source",
]
