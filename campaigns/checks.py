"""Checks while a campaign is set up (issue: budget feasibility, quotas, rules
that can never apply, overlapping tiers).

Each finding is an error (the campaign cannot open until it is fixed) or a
warning (shown on the campaign page; the campaign may still open).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from campaigns import conditions as cond
from campaigns.budget import Bounds, unit_bounds
from campaigns.choices import StackingPolicy, StandardKind
from campaigns.conditions import fmt
from campaigns.models import Campaign, Category, EvidenceField, FundSource, rule_from_json

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: str
    message: str
    subject: str = ""  # the category or fund source it concerns


def findings(
    campaign: Campaign,
    setup: tuple[list[Category], list[FundSource]] | None = None,
    fields: dict[str, cond.FieldSpec] | None = None,
) -> list[Finding]:
    """`setup` and `fields` may be passed when the caller has read them already
    (Campaign.load_setup(), EvidenceField.catalogue())."""
    categories, sources = setup or campaign.load_setup()
    fields = EvidenceField.catalogue() if fields is None else fields
    found: list[Finding] = []
    for category in categories:
        found += _standard(category, fields)
        found += _rules(category, fields, campaign.poverty_line)
    found += _budgets(categories, sources)
    found += _stacking(campaign, categories)
    return sorted(found, key=lambda f: f.severity != ERROR)


def _standard(category: Category, fields: dict) -> list[Finding]:
    name = category.name
    problems: list[str] = []
    kind = category.kind
    if kind == StandardKind.FIXED and not (category.cash or category.goods):
        problems.append(_("the standard pays nothing: enter cash, goods or both."))
    if kind == StandardKind.RANGE:
        if category.range_min is None:
            problems.append(_("the range has no minimum."))
        elif category.range_max is not None and category.range_max < category.range_min:
            problems.append(_("the range's maximum is below its minimum."))
    if kind == StandardKind.INSTALMENTS and not category.annual:
        problems.append(_("the annual amount is missing."))
    if kind == StandardKind.PERCENTAGE:
        if category.base_field is None or category.rate is None:
            problems.append(_("a percentage needs a base field and a rate."))
        if (
            category.cap is not None
            and category.floor is not None
            and category.floor > category.cap
        ):
            problems.append(_("the floor is above the cap."))
    if kind == StandardKind.TIERED and not category.tiers.all():
        problems.append(_("a tiered standard needs at least one tier."))
    found = [Finding(ERROR, f"{name}: {p}", name) for p in problems]
    if category.fund_source is None:
        found.append(
            Finding(WARNING, _("%(name)s: no fund source pays for it.") % {"name": name}, name)
        )
    return found


def _rules(category: Category, fields: dict, line: Decimal | None) -> list[Finding]:
    name = category.name
    found: list[Finding] = []
    for number, group in enumerate(rule_from_json(category.eligibility, fields), start=1):
        if cond.witness(group, line) is None:
            found.append(
                Finding(
                    WARNING,
                    _("%(name)s: eligibility line %(n)s can never hold: %(rule)s.")
                    % {
                        "name": name,
                        "n": number,
                        "rule": " 且 ".join(cond.describe(c, fields) for c in group),
                    },
                    name,
                )
            )
    if category.kind != StandardKind.TIERED:
        return found
    tiers = [(t.name, rule_from_json(t.conditions, fields)) for t in category.tiers.all()]
    for index, (tier, rule) in enumerate(tiers):
        earlier_catch_all = next((n for n, r in tiers[:index] if not r), None)
        if earlier_catch_all:
            found.append(
                Finding(
                    WARNING,
                    _(
                        "%(name)s: tier %(tier)s never applies: the tier "
                        "%(other)s before it applies to everyone."
                    )
                    % {"name": name, "tier": tier, "other": earlier_catch_all},
                    name,
                )
            )
            continue
        for group in rule:
            if cond.witness(group, line) is None:
                found.append(
                    Finding(
                        WARNING,
                        _("%(name)s: a condition of tier %(tier)s can never hold: %(rule)s.")
                        % {
                            "name": name,
                            "tier": tier,
                            "rule": " 且 ".join(cond.describe(c, fields) for c in group),
                        },
                        name,
                    )
                )
        for other, other_rule in tiers[index + 1 :]:
            overlap = _overlap(rule, other_rule, line)
            if overlap is not None:
                example = "，".join(
                    f"{fields[k].name if k in fields else k} = {_shown(v)}"
                    for k, v in sorted(overlap.items())
                )
                found.append(
                    Finding(
                        WARNING,
                        _(
                            "%(name)s: tiers %(a)s and %(b)s overlap, e.g. "
                            "at %(example)s; the first "
                            "listed applies. Make one bound exclusive (> "
                            "instead of >=) if that is not meant."
                        )
                        % {"name": name, "a": tier, "b": other, "example": example},
                        name,
                    )
                )
    return found


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return fmt(value)
    return str(value)


def _overlap(a: cond.Rule, b: cond.Rule, line: Decimal | None) -> dict | None:
    """Facts under which both tiers' conditions hold; catch-all tiers (no
    conditions) are "otherwise" and overlap nothing by design."""
    if not a or not b:
        return None
    for ga in a:
        for gb in b:
            both = cond.witness(ga + gb, line)
            if both is not None:
                return both
    return None


def _budgets(categories: list[Category], sources: list[FundSource]) -> list[Finding]:
    found: list[Finding] = []
    by_source: dict[int, list[Category]] = {}
    for category in categories:
        bounds = unit_bounds(category)
        if (
            category.quota is not None
            and category.planned_count is not None
            and category.planned_count > category.quota
        ):
            found.append(
                Finding(
                    WARNING,
                    _("%(name)s: %(count)s planned but the quota is %(quota)s.")
                    % {
                        "name": category.name,
                        "count": category.planned_count,
                        "quota": category.quota,
                    },
                    category.name,
                )
            )
        area_total = sum(q.count for q in category.area_quotas.all())
        if category.quota is not None and area_total > category.quota:
            found.append(
                Finding(
                    WARNING,
                    _(
                        "%(name)s: the areas' quotas add up to %(sum)s, "
                        "above the campaign quota of %(quota)s."
                    )
                    % {"name": category.name, "sum": area_total, "quota": category.quota},
                    category.name,
                )
            )
        source = category.fund_source
        if source is None:
            continue
        by_source.setdefault(source.pk, []).append(category)
        if (
            category.quota is not None
            and bounds.high is not None
            and category.quota * bounds.high > source.budget
        ):
            found.append(
                Finding(
                    WARNING,
                    _(
                        "%(name)s: the quota of %(quota)s at up to %(high)s each needs up to "
                        "%(total)s, more than %(source)s's budget of %(budget)s."
                    )
                    % {
                        "name": category.name,
                        "quota": category.quota,
                        "high": fmt(bounds.high),
                        "total": fmt(category.quota * bounds.high),
                        "source": source.name,
                        "budget": fmt(source.budget),
                    },
                    category.name,
                )
            )
    for source in sources:
        shares = list(source.shares.all())
        if shares and sum(s.percent for s in shares) != 100:
            found.append(
                Finding(
                    ERROR,
                    _("%(source)s: the payers' shares add up to %(sum)s%%, not 100%%.")
                    % {"source": source.name, "sum": fmt(sum(s.percent for s in shares))},
                    source.name,
                )
            )
        paid = by_source.get(source.pk, [])
        members = [c for c in paid if c.planned_count is not None]
        if not members:
            continue
        # A category without a planned count may take any amount of what is left.
        uncounted = len(members) < len(paid)
        total = Bounds.total(unit_bounds(c).times(c.planned_count) for c in members)
        args = {"source": source.name, "budget": fmt(source.budget)}
        if total.low > source.budget:
            found.append(
                Finding(
                    ERROR,
                    _(
                        "%(source)s: the planned recipients need at least "
                        "%(low)s, more than the budget of %(budget)s."
                    )
                    % {**args, "low": fmt(total.low)},
                    source.name,
                )
            )
        elif not uncounted and total.high is not None and total.high < source.budget:
            found.append(
                Finding(
                    WARNING,
                    _(
                        "%(source)s: the budget of %(budget)s cannot be spent in full: the planned "
                        "recipients get at most %(high)s, leaving %(left)s."
                    )
                    % {**args, "high": fmt(total.high), "left": fmt(source.budget - total.high)},
                    source.name,
                )
            )
    return found


def _stacking(campaign: Campaign, categories: list[Category]) -> list[Finding]:
    if campaign.stacking == StackingPolicy.HIGHEST_PLUS and not campaign.top_up:
        return [Finding(WARNING, _("The stacking policy adds a top-up, but the top-up is 0."))]
    if campaign.stacking == StackingPolicy.PAIRS and not any(
        c.stacks_with.all() for c in categories
    ):
        return [
            Finding(
                WARNING, _("The stacking policy lets named pairs add up, but no pair is named.")
            )
        ]
    return []
