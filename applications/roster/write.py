"""Carrying out a checked plan: households, people and draft applications,
written set-based (a few INSERTs per thousand rows, not one per row).

The caller runs this inside the import's transaction with the plan made in
that same transaction, so what is written is what was just checked.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from applications.assess import assessed
from applications.choices import State
from applications.models import Application
from applications.roster.check import Kind, Line, Plan
from recipients.choices import Relation
from recipients.models import Household, Person
from recipients.services import household_number, last_household_sequences
from relief import bulk, idnumber
from relief.models import Area, AuditEvent, User

BATCH = 1000


def write(actor: User, plan: Plan, *, reason: str, roster_id: int) -> dict[str, Any]:
    """Write the plan's valid lines; returns the counts and the numbers made."""
    campaign = plan.campaign
    lines = plan.valid
    new = [line for line in lines if line.kind == Kind.NEW]
    villages = sorted({line.village.pk for line in new if line.village})
    # Household numbers are issued per village one after another: the village
    # rows are locked (in id order, as create_household does) while we count.
    # By the numbers' prefix, so a household that moved away keeps its number.
    locked = Area.objects.select_for_update().filter(pk__in=villages).order_by("pk")
    next_number = last_household_sequences(list(locked))
    now = timezone.now()

    households: list[dict[str, Any]] = []
    for line in new:
        village = line.village
        next_number[village.pk] += 1
        line.household_number = household_number(village, next_number[village.pk])
        households.append(
            {
                "number": line.household_number,
                "village_id": village.pk,
                "address": line.values.get("address") or village.name,
                "notes": "",
                "created_at": now,
            }
        )
    floor = Household.objects.aggregate(top=Max("pk"))["top"] or 0
    bulk.insert(Household, households)
    made = {n: None for n in (h["number"] for h in households)}
    for number, pk in Household.objects.filter(pk__gt=floor, village__in=villages).values_list(
        "number", "pk"
    ):
        if number in made:
            made[number] = pk
    for line, household in zip(new, households, strict=True):
        household["id"] = line.household_id = made[household["number"]]
    bulk.history(Household, households, user_id=actor.pk, reason=reason)

    people = [
        {
            "household_id": line.household_id,
            "name": line.values["name"],
            "id_number": line.values["id_number"],
            "sex": idnumber.sex(line.values["id_number"]),
            "birth_date": idnumber.birth_date(line.values["id_number"]),
            "relation": Relation.HEAD,
            "phone": line.values.get("phone", ""),
            "disability_grade": "",
            "locally_registered": True,
            "notes": "",
        }
        for line in new
    ]
    floor = Person.objects.aggregate(top=Max("pk"))["top"] or 0
    bulk.insert(Person, people)
    # Read back by the ids above the floor, not by a list of 20,000 households
    # (a query that took longer to build than to run). Rows another clerk
    # filed meanwhile may be among them: ID numbers are unique, so ours are
    # picked out by theirs.
    ids = {person["id_number"]: None for person in people}
    for number, pk in (
        Person.objects.filter(pk__gt=floor).values_list("id_number", "pk").iterator(chunk_size=5000)
        if people
        else ()
    ):
        if number in ids:
            ids[number] = pk
    for person in people:
        person["id"] = ids[person["id_number"]]
    bulk.history(Person, people, user_id=actor.pk, reason=reason)

    updates = {line.person_id: line.values["phone"] for line in lines if line.kind == Kind.UPDATE}
    changed = list(Person.objects.filter(pk__in=updates)) if updates else []
    for person in changed:
        person.phone = updates[person.pk]
    if changed:
        bulk_update_with_history(
            changed,
            Person,
            ["phone"],
            batch_size=BATCH,
            default_user=actor,
            default_change_reason=reason,
        )

    sequence = Application.objects.filter(campaign=campaign).count()
    floor = Application.objects.aggregate(top=Max("pk"))["top"] or 0
    applications: list[dict[str, Any]] = []
    for line in lines:
        sequence += 1
        applications.append(
            {
                "number": f"{campaign.year}-{campaign.pk:03d}-{sequence:05d}",
                "campaign_id": campaign.pk,
                "household_id": line.household_id,
                "village_id": line.village.pk,
                "category_id": line.category.pk,
                "state": State.DRAFT,
                "cause": line.values["cause_code"],
                "cause_detail": line.values["cause_detail"][:200],
                "degree": line.values["degree_code"],
                "facts": line.values.get("facts", {}),
                "proposed": line.values.get("amount"),
                "amount_reason": line.values.get("amount_reason", ""),
                "created_by_id": actor.pk,
                "flags": [],
                **assessed(line.assessment),
            }
        )
    bulk.insert(Application, applications)
    numbers = {a["number"] for a in applications}
    app_ids = {
        number: pk
        for number, pk in Application.objects.filter(campaign=campaign, pk__gt=floor)
        .values_list("number", "pk")
        .iterator(chunk_size=5000)
        if number in numbers
    }
    _audit(actor, applications, app_ids, lines, roster_id, now)
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        counts[line.kind] += 1
    return {
        "applications": len(applications),
        "households": len(households),
        "updated": len(changed),
        "skipped": len(plan.lines) - len(lines),
        "first": applications[0]["number"] if applications else "",
        "last": applications[-1]["number"] if applications else "",
        "by_kind": dict(counts),
        "rows": {str(line.row): a["number"] for line, a in zip(lines, applications, strict=True)},
    }


def _audit(
    actor: User,
    applications: list[dict[str, Any]],
    ids: dict[str, int],
    lines: list[Line],
    roster_id: int,
    now: datetime.datetime,
) -> None:
    content_type = ContentType.objects.get_for_model(Application).pk
    reason = _("Imported from a roster")
    bulk.insert(
        AuditEvent,
        (
            {
                "at": now,
                "actor_id": actor.pk,
                "action": "application.create",
                "target_type_id": content_type,
                "target_id": str(ids[app["number"]]),
                "target_repr": app["number"],
                "area_id": app["village_id"],
                "from_state": "",
                "to_state": State.DRAFT,
                "reason": reason,
                "data": {"roster": roster_id, "row": line.row, "amount": str(app["amount"])},
            }
            for app, line in zip(applications, lines, strict=True)
        ),
    )
