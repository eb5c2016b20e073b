"""Carrying out a checked plan: households, people and draft applications,
written set-based (a few INSERTs per thousand rows, not one per row).

The caller runs this inside the import's transaction with the plan made in
that same transaction, so what is written is what was just checked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from applications.assess import apply
from applications.choices import State
from applications.models import Application
from applications.roster.check import Kind, Line, Plan
from recipients.choices import Relation
from recipients.models import Household, Person
from relief import idnumber
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
    list(Area.objects.select_for_update().filter(pk__in=villages).order_by("pk").values_list("pk"))
    last = dict(
        Household.objects.filter(village__in=villages)
        .values("village")
        .annotate(last=Max("number"))
        .values_list("village", "last")
    )
    next_number = {v: int(last[v].rsplit("-", 1)[1]) if last.get(v) else 0 for v in villages}

    households = []
    for line in new:
        village = line.village
        next_number[village.pk] += 1
        household = Household(
            village=village,
            number=f"{village.code}-{next_number[village.pk]:05d}",
            address=line.values.get("address") or village.name,
        )
        households.append(household)
    households = bulk_create_with_history(
        households, Household, batch_size=BATCH, default_user=actor, default_change_reason=reason
    )
    people = []
    for line, household in zip(new, households, strict=True):
        line.household_id, line.household_number = household.pk, household.number
        number = line.values["id_number"]
        people.append(
            Person(
                household_id=household.pk,
                name=line.values["name"],
                id_number=number,
                sex=idnumber.sex(number),
                birth_date=idnumber.birth_date(number),
                relation=Relation.HEAD,
                phone=line.values.get("phone", ""),
            )
        )
    bulk_create_with_history(
        people, Person, batch_size=BATCH, default_user=actor, default_change_reason=reason
    )

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
    applications = []
    for line in lines:
        sequence += 1
        app = Application(
            number=f"{campaign.year}-{campaign.pk:03d}-{sequence:05d}",
            campaign=campaign,
            household_id=line.household_id,
            village=line.village,
            category=line.category,
            cause=line.values["cause_code"],
            cause_detail=line.values["cause_detail"][:200],
            degree=line.values["degree_code"],
            facts=line.values.get("facts", {}),
            proposed=line.values.get("amount"),
            amount_reason=line.values.get("amount_reason", ""),
            created_by=actor,
        )
        apply(app, line.assessment)
        applications.append(app)
    applications = Application.objects.bulk_create(applications, batch_size=BATCH)
    _audit(actor, applications, lines, roster_id)
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        counts[line.kind] += 1
    return {
        "applications": len(applications),
        "households": len(households),
        "updated": len(changed),
        "skipped": len(plan.lines) - len(lines),
        "first": applications[0].number if applications else "",
        "last": applications[-1].number if applications else "",
        "by_kind": dict(counts),
        "rows": {str(line.row): app.number for line, app in zip(lines, applications, strict=True)},
    }


def _audit(actor: User, applications: list[Application], lines: list[Line], roster_id: int) -> None:
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(Application)
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                at=now,
                actor=actor,
                action="application.create",
                target_type=content_type,
                target_id=str(app.pk),
                target_repr=app.number,
                area_id=app.village_id,
                to_state=State.DRAFT,
                reason=_("Imported from a roster"),
                data={"roster": roster_id, "row": line.row, "amount": str(app.amount)},
            )
            for app, line in zip(applications, lines, strict=True)
        ),
        batch_size=BATCH,
    )
