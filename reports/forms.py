"""The filters of the statistics and of the comparison: GET forms whose
choices are what the user may see (their areas, the campaigns scoping lets
them see), so an id from elsewhere is an invalid choice, never a figure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from applications.choices import State
from campaigns.models import Campaign, Category, FundSource
from relief.models import Area
from reports.statistics import (
    ComparisonRefused,
    StatisticsFilter,
    area_name,
    check_comparable,
    default_area,
    latest_pair,
    user_areas,
)

if TYPE_CHECKING:
    from relief.scoping import AnyUser

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ALL_STATES = "all"


def state_choices() -> list[tuple[str, Any]]:
    """Approved first (the default: what was granted), then every state, then each."""
    others = [(value, label) for value, label in State.choices if value != State.APPROVED]
    return [(State.APPROVED, State.APPROVED.label), (ALL_STATES, _("All states")), *others]


def state_of(value: str) -> str | None:
    """The state the field's value selects; None for every state."""
    if value == ALL_STATES:
        return None
    return value or State.APPROVED


def visible_campaigns(user: AnyUser) -> QuerySet[Campaign]:
    return (
        Campaign.objects.restrict(user)
        .select_related("kind", "area")
        .order_by("-year", "-created_at", "-pk")
    )


def campaign_label(campaign: Campaign) -> str:
    return f"{campaign.name} · {campaign.kind.name} · {campaign.year}"


class AreaField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        return area_name(obj)


class CampaignsField(forms.ModelMultipleChoiceField):
    # The largest id a database integer holds: a longer number would overflow
    # in the IN (...) query (SQLite raises) instead of being an invalid choice.
    MAX_ID = 2**63 - 1

    def _check_values(self, value: Any) -> QuerySet:
        for pk in value:
            text = str(pk)
            if not text.isdecimal() or int(text) > self.MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class StatisticsForm(forms.Form):
    """The filters of the statistics (a GET form: every field may be left out)."""

    area = AreaField(
        queryset=Area.objects.none(),
        required=False,
        label=_("Area"),
        empty_label=None,
        help_text=_("The table breaks its figures down to the areas one level below."),
    )
    campaign = CampaignsField(
        queryset=Campaign.objects.none(),
        required=False,
        label=_("Campaign"),
        help_text=_("None chosen: every campaign."),
    )
    category = forms.ChoiceField(required=False, label=_("Category"))
    fund_source = forms.ChoiceField(required=False, label=_("Fund source"))
    state = forms.ChoiceField(required=False, label=_("State"), choices=state_choices)
    decided_from = forms.DateField(required=False, label=_("Decided from"), widget=DATE)
    decided_to = forms.DateField(required=False, label=_("Decided until"), widget=DATE)

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["area"].queryset = user_areas(user)
        campaigns = visible_campaigns(user)
        field = self.fields["campaign"]
        field.queryset = campaigns
        field.label_from_instance = campaign_label
        # Categories and fund sources are matched by name across campaigns.
        self.fields["category"].choices = [("", _("All")), *_names(Category, campaigns)]
        self.fields["fund_source"].choices = [("", _("All")), *_names(FundSource, campaigns)]
        self._default_area: Area | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("decided_from"), data.get("decided_to")
        if start and end and start > end:
            self.add_error("decided_to", _("The end date is before the start date."))
        return data

    def default_area(self) -> Area | None:
        if self._default_area is None:
            self._default_area = default_area(self.user)
        return self._default_area

    def statistics_filter(self) -> StatisticsFilter | None:
        """The filter the form asks for (the defaults when it is not filled
        in); None when the user sees no area. Only for an unbound or valid form."""
        data = self.cleaned_data if self.is_bound else {}
        area = data.get("area") or self.default_area()
        if area is None:
            return None
        return StatisticsFilter(
            area=area,
            campaigns=tuple(data.get("campaign") or ()),
            category=data.get("category") or "",
            fund_source=data.get("fund_source") or "",
            state=state_of(data.get("state") or ""),
            decided_from=data.get("decided_from"),
            decided_to=data.get("decided_to"),
        )


def _names(model: type[Category] | type[FundSource], campaigns: QuerySet) -> list[tuple[str, str]]:
    names = (
        model.objects.filter(campaign__in=campaigns.order_by().values("pk"))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )
    return [(name, name) for name in names]


class ComparisonForm(forms.Form):
    """Two campaigns of one kind, the area and the state (GET)."""

    previous = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), label=_("Previous campaign"), empty_label=None
    )
    current = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), label=_("Current campaign"), empty_label=None
    )
    area = AreaField(
        queryset=Area.objects.none(), required=False, label=_("Area"), empty_label=None
    )
    state = forms.ChoiceField(required=False, label=_("State"), choices=state_choices)

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        campaigns = visible_campaigns(user)
        for name in ("previous", "current"):
            self.fields[name].queryset = campaigns
            self.fields[name].label_from_instance = campaign_label
        self.fields["area"].queryset = user_areas(user)
        self.pair = None if self.is_bound else latest_pair(user)
        if self.pair is not None:
            self.initial.update(previous=self.pair[0].pk, current=self.pair[1].pk)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        previous, current = data.get("previous"), data.get("current")
        if previous is not None and current is not None:
            try:
                check_comparable(previous, current)
            except ComparisonRefused as refusal:
                raise ValidationError(str(refusal), code="not_comparable") from None
        return data

    def arguments(self) -> dict[str, Any] | None:
        """compute_comparison's arguments after the user, from a valid form or
        the defaults (the latest two campaigns of a kind); None when there is
        nothing to compare or the user sees no area."""
        if self.is_bound:
            data = self.cleaned_data
            previous, current = data["previous"], data["current"]
        elif self.pair is not None:
            previous, current = self.pair
            data = {}
        else:
            return None
        area = data.get("area") or default_area(self.user)
        if area is None:
            return None
        return {
            "previous": previous,
            "current": current,
            "area": area,
            "state": state_of(data.get("state") or ""),
        }
