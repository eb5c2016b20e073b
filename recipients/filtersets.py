from __future__ import annotations

import re
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from recipients.models import Household, Person
from relief import idnumber
from relief.choices import AreaLevel
from relief.models import Area, User

HOUSEHOLD_NUMBER = re.compile(r"\d{12}-\d*")
ID_NUMBER_START = re.compile(r"\d+X?")


class HouseholdFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        help_text=_("The start of a name, ID number or household number"),
    )
    township = django_filters.ModelChoiceFilter(
        queryset=Area.objects.none(),
        method="in_township",
        label=_("Township"),
        empty_label=_("All"),
    )
    village = django_filters.ModelChoiceFilter(
        queryset=Area.objects.none(), label=_("Village"), empty_label=_("All")
    )
    disabled = django_filters.ChoiceFilter(
        choices=[("yes", _("With a disabled member")), ("no", _("Without"))],
        method="with_disabled_member",
        label=_("Disability"),
        empty_label=_("All"),
    )
    sort = django_filters.OrderingFilter(
        fields=(("number", "number"), ("updated_at", "updated")),
        field_labels={"number": _("Household number"), "updated_at": _("Last changed")},
        label=_("Sort"),
    )

    class Meta:
        model = Household
        fields = ["q", "township", "village", "disabled"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The area choices go through the same scoping as the rows.
        areas = Area.objects.restrict(user, perm="recipients.view_household")
        self.filters["township"].queryset = areas.filter(level=AreaLevel.TOWNSHIP)
        self.filters["village"].queryset = areas.filter(level=AreaLevel.VILLAGE)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """By the start of a member's name, ID number or the household number.

        Every branch is a prefix match an index answers (see relief.lookups),
        so a county-wide search costs about what a village's does.
        """
        text = idnumber.normalize(value)
        if not text:
            return queryset
        if HOUSEHOLD_NUMBER.fullmatch(text):
            return queryset.filter(number__prefix=text)
        if ID_NUMBER_START.fullmatch(text):
            # One IN over a UNION, not an OR of two conditions: each side is then
            # read from its own index (an OR makes PostgreSQL scan every household).
            holders = Person.objects.filter(id_number__prefix=text).values("household_id")
            numbered = Household.objects.filter(number__prefix=text).values("pk")
            # (No ORDER BY inside a UNION: SQLite refuses it.)
            holders, numbered = holders.order_by(), numbered.order_by()
            return queryset.filter(pk__in=holders.union(numbered))
        named = Person.objects.filter(name__prefix=value.strip()).values("household_id")
        return queryset.filter(pk__in=named)

    def in_township(self, queryset: QuerySet, name: str, value: Area | None) -> QuerySet:
        return queryset.filter(village__parent=value) if value else queryset

    def with_disabled_member(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        disabled = Exists(
            Person.objects.filter(household=OuterRef("pk")).exclude(disability_grade="")
        )
        return queryset.filter(disabled if value == "yes" else ~disabled)
