"""A campaign from a YAML or JSON description (docs/campaign-format.md).

The whole file is checked before anything is written; an error names where it
is ("categories[3].standard.percentage.rate") and what is wrong, and nothing
is created. Then the campaign and its set-up are written in one transaction.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns import conditions as cond
from campaigns import services
from campaigns.choices import (
    ApprovalLevel,
    Deliverable,
    NoticeLevel,
    RoundingStep,
    StackingPolicy,
    StandardKind,
    Unit,
)
from campaigns.models import (
    AreaQuota,
    Campaign,
    Category,
    Deadline,
    EvidenceField,
    FundShare,
    FundSource,
    Phase,
    Tier,
    rule_to_json,
)
from relief.areacodes import normalize_area_code
from relief.choices import AreaLevel
from relief.models import Area, User


class LoadError(Exception):
    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


def read(path: Path) -> dict[str, Any]:
    """The description in a file: JSON for .json, YAML otherwise."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise LoadError(
            "", _("cannot read %(path)s: %(error)s") % {"path": path, "error": error}
        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise LoadError("", _("not valid YAML or JSON: %(error)s") % {"error": error}) from None
    if not isinstance(data, dict):
        raise LoadError("", _("the file must describe one campaign (a mapping at the top)."))
    return data


class _Reader:
    """Typed access to one mapping of the description, with its path for errors."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, Mapping):
            raise LoadError(where, _("expected a mapping of names to values."))
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def text(
        self, key: str, *, required: bool = False, default: str = "", max_length: int = 0
    ) -> str:
        value = self.get(key)
        if value is None or str(value).strip() == "":
            if required:
                raise LoadError(self.at(key), _("is required."))
            return default
        text = str(value).strip()
        if max_length and len(text) > max_length:
            raise LoadError(self.at(key), _("is longer than %(n)s characters.") % {"n": max_length})
        return text

    def money(self, key: str, *, required: bool = False) -> Decimal | None:
        value = self.get(key)
        if value is None:
            if required:
                raise LoadError(self.at(key), _("is required."))
            return None
        try:
            amount = cond.parse_amount(str(value))
        except ValueError:
            raise LoadError(
                self.at(key), _('"%(value)s" is not an amount.') % {"value": value}
            ) from None
        if amount < 0:
            raise LoadError(self.at(key), _("cannot be negative."))
        if amount.as_tuple().exponent < -2:
            raise LoadError(self.at(key), _("has more than two decimal places."))
        return amount

    def integer(self, key: str, *, default: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise LoadError(
                self.at(key), _('"%(value)s" is not a whole number.') % {"value": value}
            )
        return int(str(value).strip())

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise LoadError(self.at(key), _("is yes or no (true or false)."))
        return value

    def date(self, key: str) -> datetime.date | None:
        value = self.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            raise LoadError(
                self.at(key), _('"%(value)s" is not a date (YYYY-MM-DD).') % {"value": value}
            ) from None

    def choice(self, key: str, choices: type, default: str | None = None) -> str:
        value = self.get(key, default)
        if value not in choices.values:
            raise LoadError(
                self.at(key),
                _('"%(value)s" is not one of %(choices)s.')
                % {"value": value, "choices": ", ".join(choices.values)},
            )
        return value

    def items(self, key: str) -> list[Any]:
        value = self.get(key) or []
        if not isinstance(value, list):
            raise LoadError(self.at(key), _("expected a list."))
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise LoadError(self.at(unknown[0]), _("is not a known setting."))


def _rule(value: Any, where: str, fields: dict[str, cond.FieldSpec]) -> cond.Rule:
    if value is None:
        return ()
    lines = value if isinstance(value, list) else [value]
    try:
        return cond.parse("\n".join(str(line) for line in lines), fields)
    except cond.ConditionError as error:
        raise LoadError(where, str(error)) from None


def load(actor: User, data: dict[str, Any]) -> Campaign:
    """Check the whole description, then create the campaign in one transaction."""
    fields = EvidenceField.catalogue()
    top = _Reader(data, "")
    code = normalize_area_code(top.text("area", required=True))
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise LoadError("area", _("there is no area with the code %(code)s.") % {"code": code})
    campaign_fields = {
        "name": top.text("name", required=True),
        "issuer": top.text("issuer", required=True),
        "year": top.integer("year"),
        "description": top.text("description"),
        "published_on": top.date("published_on"),
        "stacking": top.choice("stacking", StackingPolicy, StackingPolicy.EXCLUSIVE),
        "top_up": top.money("top_up") or Decimal(0),
        "poverty_line": top.money("poverty_line"),
        "notice_days": top.integer("notice_days", default=7),
        "notice_level": top.choice("notice_level", NoticeLevel, NoticeLevel.TOWNSHIP),
        "second_review": top.flag("second_review"),
    }
    if campaign_fields["year"] is None:
        raise LoadError("year", _("is required."))
    kind = top.text("kind", required=True)
    phases = [_phase(item, f"phases[{i}]") for i, item in enumerate(top.items("phases"))]
    deadlines = [
        _deadline(item, f"deadlines[{i}]") for i, item in enumerate(top.items("deadlines"))
    ]
    sources = [
        _source(item, f"fund_sources[{i}]") for i, item in enumerate(top.items("fund_sources"))
    ]
    source_names = [s["name"] for s in sources]
    if len(set(source_names)) != len(source_names):
        raise LoadError("fund_sources", _("two fund sources have the same name."))
    categories = [
        _category(item, f"categories[{i}]", fields, source_names)
        for i, item in enumerate(top.items("categories"))
    ]
    names = [c["row"]["name"] for c in categories]
    if len(set(names)) != len(names):
        raise LoadError("categories", _("two categories have the same name."))
    for i, c in enumerate(categories):
        for other in c["adds_up_with"]:
            if other not in names:
                raise LoadError(
                    f"categories[{i}].adds_up_with",
                    _('there is no category "%(name)s".') % {"name": other},
                )
    for i, c in enumerate(categories):
        for quota_code, _count in c["area_quotas"]:
            if not Area.objects.filter(code=quota_code).exists():
                raise LoadError(
                    f"categories[{i}].area_quotas",
                    _("there is no area with the code %(code)s.") % {"code": quota_code},
                )
    top.done()

    with transaction.atomic():
        try:
            campaign = services.create_campaign(actor, area=area, kind=kind, **campaign_fields)
        except ValidationError as error:
            raise LoadError("", " ".join(error.messages)) from None
        except services.CampaignError as error:
            raise LoadError("area", error.message) from None

        def write(locked: Campaign) -> None:
            for order, row in enumerate(phases):
                Phase.objects.create(campaign=locked, order=order, **row)
            for row in deadlines:
                Deadline.objects.create(campaign=locked, **row)
            by_name: dict[str, FundSource] = {}
            for order, row in enumerate(sources):
                shares = row.pop("shares")
                by_name[row["name"]] = FundSource.objects.create(
                    campaign=locked, order=order, **row
                )
                for payer, percent in shares:
                    FundShare.objects.create(
                        fund_source=by_name[row["name"]], payer=payer, percent=percent
                    )
            created: dict[str, Category] = {}
            for order, c in enumerate(categories):
                row = c["row"]
                source = by_name.get(c["fund_source"]) if c["fund_source"] else None
                category = Category(campaign=locked, order=order, fund_source=source, **row)
                if c["base_field"]:
                    category.base_field = EvidenceField.objects.get(key=c["base_field"])
                category.save()
                created[row["name"]] = category
                for tier_order, tier in enumerate(c["tiers"]):
                    Tier.objects.create(category=category, order=tier_order, **tier)
                for quota_code, count in c["area_quotas"]:
                    AreaQuota.objects.create(
                        category=category, area=Area.objects.get(code=quota_code), count=count
                    )
            for c in categories:
                created[c["row"]["name"]].stacks_with.add(*(created[n] for n in c["adds_up_with"]))

        services.save_setup(actor, campaign, "load", write)
    return campaign


def _phase(item: Any, where: str) -> dict[str, Any]:
    r = _Reader(item, where)
    row = {
        "name": r.text("name", required=True, max_length=50),
        "starts_on": r.date("starts"),
        "ends_on": r.date("ends"),
        "to_be_announced": r.flag("tbd"),
    }
    if row["starts_on"] and row["ends_on"] and row["starts_on"] > row["ends_on"]:
        raise LoadError(where, _("the phase ends before it starts."))
    r.done()
    return row


def _deadline(item: Any, where: str) -> dict[str, Any]:
    r = _Reader(item, where)
    row = {
        "deliverable": r.choice("deliverable", Deliverable, Deliverable.OTHER),
        "title": r.text("title", max_length=100),
        "level": r.choice("level", AreaLevel, AreaLevel.VILLAGE),
        "due_on": r.date("due"),
        "hard": r.flag("hard"),
    }
    if row["due_on"] is None:
        raise LoadError(r.at("due"), _("is required."))
    r.done()
    return row


def _source(item: Any, where: str) -> dict[str, Any]:
    r = _Reader(item, where)
    name = r.text("name", required=True, max_length=100)
    row = {
        "name": name,
        "payer": r.text("payer", default=name, max_length=100),
        "budget": r.money("budget", required=True),
    }
    raw = r.get("shares") or {}
    if not isinstance(raw, Mapping):
        raise LoadError(
            r.at("shares"), _("expected payers and their percentages, e.g. 区财政: 50.")
        )
    shares = []
    for payer, percent in raw.items():
        try:
            value = Decimal(str(percent))
        except InvalidOperation:
            raise LoadError(f"{r.at('shares')}.{payer}", _("is not a percentage.")) from None
        if not 0 < value <= 100:
            raise LoadError(f"{r.at('shares')}.{payer}", _("must be above 0 and at most 100."))
        if value.as_tuple().exponent < -2:
            raise LoadError(f"{r.at('shares')}.{payer}", _("has more than two decimal places."))
        shares.append((str(payer), value))
    if shares and sum(v for _p, v in shares) != 100:
        raise LoadError(r.at("shares"), _("the payers' shares must add up to 100."))
    row["shares"] = shares
    r.done()
    return row


def _category(
    item: Any, where: str, fields: dict[str, cond.FieldSpec], sources: list[str]
) -> dict[str, Any]:
    r = _Reader(item, where)
    row: dict[str, Any] = {
        "name": r.text("name", required=True, max_length=100),
        "section": r.text("section", max_length=50),
        "unit": r.choice("unit", Unit, Unit.HOUSEHOLD),
        "planned_count": r.integer("count"),
        "quota": r.integer("quota"),
        "eligibility": rule_to_json(_rule(r.get("eligibility"), r.at("eligibility"), fields)),
    }
    fund_source = r.text("fund_source")
    if fund_source and fund_source not in sources:
        raise LoadError(
            r.at("fund_source"), _('there is no fund source "%(name)s".') % {"name": fund_source}
        )
    escalations = []
    for i, esc in enumerate(r.items("escalation")):
        e = _Reader(esc, f"{r.at('escalation')}[{i}]")
        rule = _rule(e.get("when"), e.at("when"), {**fields, **cond.OUTCOME_FIELDS})
        if len(rule) != 1 or len(rule[0]) != 1:
            raise LoadError(e.at("when"), _("write exactly one condition."))
        escalations.append([rule[0][0].to_json(), e.choice("level", ApprovalLevel)])
        e.done()
    row["escalations"] = escalations
    quotas = r.get("area_quotas") or {}
    if not isinstance(quotas, Mapping):
        raise LoadError(r.at("area_quotas"), _("expected area codes and counts."))
    q = _Reader(quotas, r.at("area_quotas"))
    area_quotas = [(normalize_area_code(k), q.integer(k)) for k in quotas]
    adds_up_with = r.items("adds_up_with")
    standard = _Reader(r.get("standard"), r.at("standard"))
    kinds = [k for k in StandardKind.values if k in standard.data]
    if len(kinds) != 1:
        raise LoadError(
            standard.where,
            _("give exactly one of: %(kinds)s.") % {"kinds": ", ".join(StandardKind.values)},
        )
    row["kind"] = kinds[0]
    params = standard.get(kinds[0])
    if row["kind"] == StandardKind.TIERED and isinstance(params, list):
        params = {"tiers": params}  # "tiered:" may list the tiers directly
    base_field, tiers = _standard(row, _Reader(params, standard.at(kinds[0])), fields)
    standard.done()
    r.done()
    return {
        "row": row,
        "fund_source": fund_source,
        "base_field": base_field,
        "tiers": tiers,
        "area_quotas": area_quotas,
        "adds_up_with": [str(n) for n in adds_up_with],
    }


def _standard(
    row: dict[str, Any], s: _Reader, fields: dict[str, cond.FieldSpec]
) -> tuple[str, list]:
    kind = row["kind"]
    base_field = ""
    tiers: list[dict[str, Any]] = []
    if kind == StandardKind.FIXED:
        row["cash"] = s.money("cash") or Decimal(0)
        row["goods"] = s.money("goods") or Decimal(0)
    elif kind == StandardKind.RANGE:
        row["range_min"] = s.money("min", required=True)
        row["range_max"] = s.money("max")
        row["range_soft"] = s.flag("soft")
        row["range_outside_level"] = s.choice(
            "outside_approval", ApprovalLevel, ApprovalLevel.COUNTY
        )
        if row["range_max"] is not None and row["range_max"] < row["range_min"]:
            raise LoadError(s.where, _("the maximum is below the minimum."))
    elif kind == StandardKind.INSTALMENTS:
        row["annual"] = s.money("annual", required=True)
        row["instalments"] = s.integer("count", default=4)
        if not 1 <= row["instalments"] <= 12:
            raise LoadError(s.at("count"), _("must be between 1 and 12."))
    elif kind == StandardKind.PERCENTAGE:
        base_field = s.text("base", required=True)
        if base_field not in fields:
            named = next((k for k, f in fields.items() if f.name == base_field), None)
            if named is None:
                raise LoadError(
                    s.at("base"), _('there is no evidence field "%(name)s".') % {"name": base_field}
                )
            base_field = named
        row["rate"] = s.money("rate", required=True)
        if row["rate"] > 1000:
            raise LoadError(s.at("rate"), _("must be at most 1000 (per cent)."))
        rounding = str(s.get("rounding", "0.01"))
        if rounding not in RoundingStep.values:
            raise LoadError(s.at("rounding"), _("round to 0.01, 1, 10 or 100 yuan."))
        row["rounding"] = rounding
        row["cap"] = s.money("cap")
        row["floor"] = s.money("floor")
        row["not_above_base"] = s.flag("not_above_base")
        threshold = _rule(s.get("threshold"), s.at("threshold"), fields)
        if threshold:
            if len(threshold) != 1 or len(threshold[0]) != 1:
                raise LoadError(s.at("threshold"), _("write exactly one condition."))
            row["threshold"] = threshold[0][0].to_json()
    else:
        raw = s.get("tiers") if isinstance(s.data, Mapping) else None
        if not isinstance(raw, list) or not raw:
            raise LoadError(s.at("tiers"), _("list at least one tier."))
        for i, item in enumerate(raw):
            t = _Reader(item, f"{s.at('tiers')}[{i}]")
            tiers.append(
                {
                    "name": t.text("name", required=True, max_length=50),
                    "cash": t.money("cash") or Decimal(0),
                    "goods": t.money("goods") or Decimal(0),
                    "conditions": rule_to_json(_rule(t.get("when"), t.at("when"), fields)),
                }
            )
            t.done()
    s.done()
    return base_field, tiers
