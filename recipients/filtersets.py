from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from recipients.models import Household, Person
from relief import idnumber
from relief.choices import AreaLevel
from relief.models import Area, User


class HouseholdFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=_("Search"), help_text=_("Name, ID number or household number")
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
        text = idnumber.normalize(value)
        if not text:
            return queryset
        members = Person.objects.filter(household=OuterRef("pk"))
        if text[:-1].isdigit() and len(text) >= 4:
            # Digits: an ID number (or its start) or a household number.
            return queryset.filter(
                Exists(members.filter(id_number__startswith=text)) | Q(number__contains=text)
            )
        return queryset.filter(
            Exists(members.filter(name__contains=value.strip()))
            | Q(address__contains=value.strip())
        )

    def in_township(self, queryset: QuerySet, name: str, value: Area | None) -> QuerySet:
        return queryset.filter(village__parent=value) if value else queryset

    def with_disabled_member(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        disabled = Exists(
            Person.objects.filter(household=OuterRef("pk")).exclude(disability_grade="")
        )
        return queryset.filter(disabled if value == "yes" else ~disabled)
