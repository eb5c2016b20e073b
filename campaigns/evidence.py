"""Facts about a household that come from the register rather than from the
application: its size, its members' ages and disabilities, its registration.

These keys are in the evidence catalogue like any other field, so conditions
can use them ("最年长成员年龄 >= 100"); the workflow fills them from here and
the clerk does not type them.
"""

from __future__ import annotations

import datetime
from typing import Any

from recipients.models import Household, Person

DERIVED = ("household_size", "oldest_age", "disabled_members", "local_hukou")


def household_facts(household: Household, on: datetime.date | None = None) -> dict[str, Any]:
    return members_facts(list(household.members.all()), on)


def members_facts(members: list[Person], on: datetime.date | None = None) -> dict[str, Any]:
    """The same facts from members already read (an import reads thousands of
    households' members in a few queries)."""
    ages = [m.age(on) for m in members]
    return {
        "household_size": len(members),
        "oldest_age": max(ages, default=None),
        "disabled_members": sum(1 for m in members if m.disability_grade),
        # 户籍 in the area: the head's registration stands for the household.
        "local_hukou": next((m.locally_registered for m in members if m.is_head), None),
    }
