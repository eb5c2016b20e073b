"""Households in bulk for generated data (benchmarks, the big-campaign tests):
bulk inserts, bypassing the services and their checks, so only for data that
is built to be measured, never for residents' records."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from recipients.choices import Relation
from recipients.models import Household, Person
from recipients.services import household_number, last_household_sequences
from relief import idnumber


def households_with_heads(
    homes: list,
    name_of: Callable[[int, object], str],
    *,
    born_from: datetime.date = datetime.date(1940, 1, 1),
) -> list:
    """One household per entry of `homes` (its village), numbered after the
    village's last, each with a head named `name_of(n, household)` and a valid
    ID number no one on file has: bulk inserts, for building bench data."""
    used = set(Person.objects.values_list("id_number", flat=True))
    sequence = last_household_sequences({v.pk: v for v in homes}.values())
    households = []
    for i, home in enumerate(homes):
        sequence[home.pk] += 1
        households.append(
            Household(
                village=home,
                number=household_number(home, sequence[home.pk]),
                address=f"{home.name}东大街{i % 199 + 1}号",
            )
        )
    households = Household.objects.bulk_create(households, batch_size=1000)
    persons, serial = [], 0
    for n, household in enumerate(households):
        while True:  # a valid ID number no one on file has
            born = born_from + datetime.timedelta(days=serial // 500)
            number = idnumber.make("130123", born, (serial % 500) * 2 + 1)
            serial += 1
            if number not in used:
                used.add(number)
                break
        persons.append(
            Person(
                household=household,
                name=name_of(n, household),
                id_number=number,
                birth_date=idnumber.birth_date(number),  # Person.save is bypassed
                sex=idnumber.sex(number),
                relation=Relation.HEAD,
            )
        )
    Person.objects.bulk_create(persons, batch_size=1000)
    return households
