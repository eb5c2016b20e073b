"""Changes to the household registry. Views call these; nothing else writes
households or members.

Each function checks the actor's rights on the areas involved, runs in one
transaction with the rows it changes locked, and leaves a history record per
changed row with the actor and the reason given (django-simple-history), which
the household page shows as who, when, old -> new, why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast, Substr
from django.utils.translation import gettext as _

from recipients.choices import Relation
from recipients.models import Household, Person
from relief import idnumber
from relief.models import Area, User


class RegistryError(Exception):
    """A refusal to show the user, in their language.

    `member` is the position of the member it concerns in the list given to the
    service, `field` the field, so a form can put the message where it belongs.
    """

    def __init__(self, message: str, *, member: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.member = member
        self.field = field


@dataclass
class MemberInput:
    """A member as entered: a new one (pk None), a change to one on file, or a removal."""

    name: str
    id_number: str
    relation: str
    phone: str = ""
    disability_grade: str = ""
    locally_registered: bool = True
    notes: str = ""
    pk: int | None = None
    delete: bool = False


PERSON_FIELDS = tuple(f.name for f in fields(MemberInput) if f.name not in ("pk", "delete"))


def where_registered(user: User, id_number: str, *, exclude_pk: int | None = None) -> str | None:
    """If a person with this ID number is on file, say where, as far as the user
    may know: the household when they may see it, otherwise only the township."""
    person = (
        Person.objects.filter(id_number=idnumber.normalize(id_number))
        .exclude(pk=exclude_pk)
        .select_related("household__village__parent__parent")
        .first()
    )
    if person is None:
        return None
    if user.has_perm("recipients.view_person", person):
        return _(
            "This ID number is already on file: %(name)s, household %(number)s, %(village)s. "
            "Open that household instead of filing the person twice."
        ) % {
            "name": person.name,
            "number": person.household.number,
            "village": person.household.village.name,
        }
    township = person.household.village.parent
    return _(
        "This ID number is already on file in %(township)s, outside your area. "
        "Ask that township's civil-affairs office; do not file the person twice."
    ) % {"township": township.full_name() if township else "?"}


def last_household_sequences(villages: Iterable[Area]) -> dict[int, int]:
    """Each village's last household sequence number on file, by the village's
    pk (0 when it has none).

    By the number's prefix, not the household's present village: a household
    that moved keeps its number, and the village's next one must not repeat it.
    The sequence is read as the integer after the prefix and aggregated.
    Ordering by the number and taking the first made PostgreSQL walk the unique
    index backwards from the last village's numbers, 0.5 s per village at a
    million households; the aggregate reads only the village's range of the
    prefix index (11 ms).
    """
    found = {}
    for village in villages:
        prefix = f"{village.code}-"
        found[village.pk] = (
            Household.objects.filter(number__prefix=prefix).aggregate(
                last=Max(Cast(Substr("number", len(prefix) + 1), BigIntegerField()))
            )["last"]
            or 0
        )
    return found


def household_number(village: Area, sequence: int) -> str:
    """E.g. 130123100201-00042."""
    return f"{village.code}-{sequence:05d}"


def next_household_number(village: Area) -> str:
    """The village's next household number. Call with the village row locked:
    numbers are issued one at a time."""
    return household_number(village, last_household_sequences([village])[village.pk] + 1)


def create_household(
    actor: User,
    *,
    village: Area,
    address: str,
    members: list[MemberInput],
    notes: str = "",
    reason: str = "",
) -> Household:
    """File a new household with its members (建档)."""
    if not actor.has_perm("recipients.add_household", village):
        raise PermissionDenied
    _check_members(actor, members)
    try:
        with transaction.atomic():
            locked = Area.objects.select_for_update().get(pk=village.pk)
            household = Household(
                village=locked, address=address, notes=notes, number=next_household_number(locked)
            )
            _stamp(household, actor, reason)
            household.save()
            for member in members:
                _save_person(Person(household=household), member, actor, reason)
    except IntegrityError:
        _explain_conflict(actor, members)
    return household


def update_household(
    actor: User,
    household: Household,
    *,
    village: Area,
    address: str,
    members: list[MemberInput],
    notes: str = "",
    reason: str = "",
) -> Household:
    """Change a household's details and members; a move to another village
    needs the right to file households there too."""
    if not actor.has_perm("recipients.change_household", household):
        raise PermissionDenied
    if village.pk != household.village_id and not actor.has_perm(
        "recipients.add_household", village
    ):
        raise PermissionDenied
    if any(m.delete for m in members) and not actor.has_perm("recipients.delete_person", household):
        raise PermissionDenied
    _check_members(actor, members)
    try:
        with transaction.atomic():
            locked = Household.objects.select_for_update().get(pk=household.pk)
            on_file = {p.pk: p for p in Person.objects.select_for_update().filter(household=locked)}
            if any(m.pk is not None and m.pk not in on_file for m in members):
                raise RegistryError(_("A member was removed by someone else meanwhile; reload."))
            changed = {"village_id": village.pk, "address": address, "notes": notes}
            if any(getattr(locked, k) != v for k, v in changed.items()):
                for key, value in changed.items():
                    setattr(locked, key, value)
                _stamp(locked, actor, reason)
                locked.save()
            # Removals first, then members who stop being head, then the rest, so
            # the one-head-per-household constraint holds after every statement.
            for member in members:
                if member.delete and member.pk is not None:
                    person = on_file[member.pk]
                    _stamp(person, actor, reason)
                    person.delete()
            ordered = sorted(
                (m for m in members if not m.delete), key=lambda m: m.relation == Relation.HEAD
            )
            for member in ordered:
                person = on_file.get(member.pk) if member.pk else Person(household=locked)
                _save_person(person, member, actor, reason)
    except IntegrityError:
        _explain_conflict(actor, members)
    return locked


def _check_members(actor: User, members: list[MemberInput]) -> None:
    """The rules a household's member list must meet, checked before writing."""
    kept = [(i, m) for i, m in enumerate(members) if not m.delete]
    if not kept:
        raise RegistryError(_("A household needs at least one member."))
    heads = [i for i, m in kept if m.relation == Relation.HEAD]
    if len(heads) != 1:
        raise RegistryError(_("Exactly one member must be the head of household."))
    seen: dict[str, int] = {}
    for i, member in kept:
        number = idnumber.normalize(member.id_number)
        if number in seen:
            raise RegistryError(
                _("The same ID number is entered for two members."), member=i, field="id_number"
            )
        seen[number] = i
        elsewhere = where_registered(actor, number, exclude_pk=member.pk)
        if elsewhere:
            raise RegistryError(elsewhere, member=i, field="id_number")


def _explain_conflict(actor: User, members: list[MemberInput]) -> None:
    """After a unique constraint stopped a write: another clerk filed one of these
    ID numbers (or changed this household) between our checks and our writes."""
    _check_members(actor, members)
    raise RegistryError(_("Someone else changed this household meanwhile; reload and try again."))


def _save_person(person: Person, member: MemberInput, actor: User, reason: str) -> None:
    values: dict[str, Any] = {name: getattr(member, name) for name in PERSON_FIELDS}
    values["id_number"] = idnumber.validate(values["id_number"])
    if person.pk is not None and all(getattr(person, k) == v for k, v in values.items()):
        return  # unchanged: no history record
    for key, value in values.items():
        setattr(person, key, value)
    _stamp(person, actor, reason)
    person.save()


def _stamp(instance: Household | Person, actor: User, reason: str) -> None:
    """Who made the change and why, for the history record the save writes."""
    instance._history_user = actor
    instance._change_reason = reason
