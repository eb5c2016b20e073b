"""A household's change history for its page: who, when, what, old -> new, why.

Built from django-simple-history's tables in a fixed number of queries: all
historical rows of the household and of every person who was ever a member
(removed members included), paired with their previous version in Python.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from recipients.models import Household, Person
from relief.models import Area


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class Entry:
    at: datetime.datetime
    user: str
    subject: str  # "household" or the member's name
    kind: str  # created / changed / removed
    reason: str
    changes: list[Change] = field(default_factory=list)


KIND = {"+": "created", "~": "changed", "-": "removed"}


def timeline(household: Household) -> list[Entry]:
    """Every recorded change of the household and its members, newest first."""
    rows = list(household.history.select_related("history_user").order_by("history_id"))
    rows += list(
        Person.history.filter(household_id=household.pk)
        .select_related("history_user")
        .order_by("history_id")
    )
    village_ids = {r.village_id for r in rows if r.instance_type is Household}
    villages = dict(Area.objects.filter(pk__in=village_ids).values_list("pk", "name"))

    entries: list[Entry] = []
    previous: dict[tuple[type, int], Any] = {}
    for row in rows:
        model = row.instance_type
        key = (model, row.id)
        before = previous.get(key)
        previous[key] = row
        subject = _("Household") if model is Household else row.name
        entry = Entry(
            at=row.history_date,
            user=_user_label(row.history_user),
            subject=subject,
            kind=KIND[row.history_type],
            reason=row.history_change_reason or "",
        )
        for model_field in _tracked_fields(model):
            new = _display(model_field, getattr(row, model_field.attname), villages)
            old = (
                _display(model_field, getattr(before, model_field.attname), villages)
                if before
                else ""
            )
            if row.history_type == "+" and new:
                entry.changes.append(Change(str(model_field.verbose_name), "", new))
            elif row.history_type == "~" and old != new:
                entry.changes.append(Change(str(model_field.verbose_name), old, new))
        if row.history_type != "~" or entry.changes:
            entries.append(entry)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _tracked_fields(model: type[models.Model]) -> list[models.Field]:
    skip = {"id", "created_at", "updated_at", "household", "sex", "birth_date"}
    return [f for f in model._meta.concrete_fields if f.name not in skip]


def _display(model_field: models.Field, value: Any, villages: dict[int, str]) -> str:
    if value is None or value == "":
        return ""
    if model_field.name == "village":
        return villages.get(value, str(value))
    if isinstance(model_field, models.BooleanField):
        return _("Yes") if value else _("No")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def _user_label(user: Any) -> str:
    if user is None:
        return _("system")
    return user.name or user.username
