from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.choices import Channel, State
from applications.models import Application
from applications.services import Entry
from applications.workflow import ADD
from campaigns.calculation import fields_used
from campaigns.choices import StackingPolicy, StandardKind
from campaigns.evidence import DERIVED
from campaigns.models import Campaign, Category, EvidenceField
from recipients.models import Household
from relief import idnumber
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def areas_within(user: User, perm: str, campaign: Campaign, level: str) -> QuerySet[Area]:
    """The areas of one level inside the campaign's area where the user holds `perm`."""
    return (
        Area.objects.restrict(user, perm=perm)
        .filter(level=level, code__startswith=prefix_of(campaign.area.code))
        .order_by("code")
    )


def find_household(user: User, campaign: Campaign, text: str) -> Household:
    """The household a clerk means by a household number, a member's ID number
    or a member's name, among those they may enter applications for."""
    text = text.strip()
    mine = Household.objects.restrict(user, perm=ADD).filter(
        village__code__startswith=prefix_of(campaign.area.code)
    )
    found = mine.filter(number=text).first()
    if found is None and len(idnumber.normalize(text)) == 18:
        found = mine.filter(members__id_number=idnumber.normalize(text)).first()
    if found is not None:
        return found
    named = list(mine.filter(members__name=text).distinct()[:6])
    if len(named) == 1:
        return named[0]
    if named:
        raise forms.ValidationError(
            _("Several households have a member called %(name)s: %(numbers)s. Enter the number.")
            % {"name": text, "numbers": "、".join(h.number for h in named[:5])}
        )
    raise forms.ValidationError(
        _("No household of yours in the campaign's area matches “%(text)s”.") % {"text": text}
    )


class ApplicationForm(forms.Form):
    """The clerk's entry form. Evidence fields are those any category of the
    campaign reads (facts from the register excepted); each is marked with the
    categories that use it, so the page shows only the chosen one's."""

    household = forms.CharField(
        label=gettext_lazy("Household"),
        help_text=gettext_lazy("Household number, a member's ID number, or a member's name"),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), label=gettext_lazy("Category")
    )
    also = forms.ModelMultipleChoiceField(
        queryset=Category.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Also falls under"),
    )
    cause = forms.ChoiceField(label=gettext_lazy("Cause of hardship"))
    cause_detail = forms.CharField(
        label=gettext_lazy("Cause in detail"), required=False, max_length=200
    )
    degree = forms.ChoiceField(label=gettext_lazy("Degree of hardship"))
    proposed = forms.DecimalField(
        label=gettext_lazy("Amount proposed"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    amount_reason = forms.CharField(
        label=gettext_lazy("Reason for the amount"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Needed when the amount is outside the standard."),
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        campaign: Campaign,
        application: Application | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        from applications.models import Application as Model

        self.user, self.campaign, self.application = user, campaign, application
        categories = list(
            campaign.categories.select_related("fund_source", "campaign", "base_field")
            .prefetch_related("tiers", "fund_source__shares")
            .order_by("order", "pk")
        )
        queryset = campaign.categories.order_by("order", "pk")
        self.fields["category"].queryset = queryset
        self.fields["category"].widget.attrs["data-standard"] = ""
        self.fields["cause"].choices = [("", "—"), *Model._meta.get_field("cause").choices]
        self.fields["degree"].choices = Model._meta.get_field("degree").choices
        if campaign.stacking == StackingPolicy.EXCLUSIVE:
            del self.fields["also"]
        else:
            self.fields["also"].queryset = queryset
        catalogue = EvidenceField.catalogue()
        users: dict[str, list[str]] = {}
        ranged = []
        for category in categories:
            for key in fields_used(category.rule(catalogue)):
                users.setdefault(key, []).append(str(category.pk))
            if category.kind == StandardKind.RANGE:
                ranged.append(str(category.pk))
        self.fields["proposed"].widget.attrs["data-for"] = " ".join(ranged)
        self.evidence_keys = []
        for spec in EvidenceField.objects.filter(key__in=set(users) - set(DERIVED)):
            self.fields[f"fact_{spec.key}"] = _evidence_field(spec, " ".join(users[spec.key]))
            self.evidence_keys.append(spec.key)
        if application is not None:
            del self.fields["household"]
            self.initial.update(
                {
                    "category": application.category_id,
                    "also": list(application.also.values_list("pk", flat=True)),
                    "cause": application.cause,
                    "cause_detail": application.cause_detail,
                    "degree": application.degree,
                    "proposed": application.proposed,
                    "amount_reason": application.amount_reason,
                    **{f"fact_{k}": v for k, v in application.facts.items()},
                }
            )
        else:
            self.fields["household"].widget.attrs.update({"autofocus": True, "autocomplete": "off"})

    def evidence(self) -> list[forms.BoundField]:
        return [self[f"fact_{k}"] for k in self.evidence_keys]

    def clean_household(self) -> Household:
        return find_household(self.user, self.campaign, self.cleaned_data["household"])

    def entry(self) -> Entry:
        data = self.cleaned_data
        category = data["category"]
        facts = {}
        for key in self.evidence_keys:
            value = data.get(f"fact_{key}")
            if value not in (None, ""):
                facts[key] = str(value) if not isinstance(value, bool) else value
        return Entry(
            category=category,
            cause=data["cause"],
            cause_detail=data["cause_detail"],
            degree=data["degree"],
            facts=facts,
            also=[c for c in data.get("also", []) if c != category],
            proposed=data["proposed"],
            amount_reason=data["amount_reason"],
        )


def _evidence_field(spec: EvidenceField, used_by: str) -> forms.Field:
    attrs = {"data-for": used_by}
    if spec.type == "yes_no":
        field: forms.Field = forms.NullBooleanField(
            label=spec.name,
            required=False,
            widget=forms.NullBooleanSelect(attrs=attrs),
        )
    elif spec.type == "choice":
        options = [("", "—")] + [(o, o) for o in spec.spec().options]
        field = forms.ChoiceField(
            label=spec.name, choices=options, required=False, widget=forms.Select(attrs=attrs)
        )
    else:
        field = forms.DecimalField(
            label=spec.name,
            required=False,
            min_value=0,
            max_digits=14,
            decimal_places=2,
            widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
        )
    field.help_text = spec.unit or spec.help_text
    return field


class StepForm(forms.Form):
    """One decision on one application (the buttons of its page)."""

    step = forms.CharField()
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    comment = forms.CharField(required=False, max_length=500)
    to_stage = forms.ChoiceField(required=False, choices=[("", "—"), *State.choices])


class BulkForm(StepForm):
    STEPS = ["first_review", "second_review", "approve", "county_approve", "return", "reject"]
    ids = forms.ModelMultipleChoiceField(queryset=Application.objects.none(), required=False)
    everything = forms.BooleanField(required=False)
    filters = forms.CharField(required=False)

    def __init__(self, *args: Any, applications: QuerySet[Application], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = applications

    def clean_step(self) -> str:
        if self.cleaned_data["step"] not in self.STEPS:
            raise forms.ValidationError(_("Choose an action."))
        return self.cleaned_data["step"]


class ApplicationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Search"), help_text=gettext_lazy("Number or name")
    )
    village = django_filters.ModelChoiceFilter(
        queryset=Area.objects.none(),
        label=gettext_lazy("Village"),
        empty_label=gettext_lazy("All"),
    )
    state = django_filters.ChoiceFilter(
        choices=State.choices,
        method="at_stage",
        label=gettext_lazy("State"),
        empty_label=gettext_lazy("All"),
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.none(),
        label=gettext_lazy("Category"),
        empty_label=gettext_lazy("All"),
    )

    class Meta:
        model = Application
        fields = ["q", "village", "state", "category"]

    def __init__(self, *args: Any, user: User, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["village"].queryset = areas_within(
            user, "applications.view_application", campaign, AreaLevel.VILLAGE
        )
        self.filters["category"].queryset = campaign.categories.order_by("order", "pk")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__startswith=value)
            | Q(household__number__startswith=value)
            | Q(household__members__name__startswith=value)
        ).distinct()

    def at_stage(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(state=value) if value else queryset


class MeetingForm(forms.Form):
    held_on = forms.DateField(label=gettext_lazy("Held on"), widget=DATE)
    members = forms.CharField(
        label=gettext_lazy("Members present"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("村支两委、村民代表、监委会成员、老党员…: names and roles"),
    )
    minutes = forms.CharField(
        label=gettext_lazy("Minutes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    scan = forms.FileField(label=gettext_lazy("Scan of the minutes"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["held_on"].initial = timezone.localdate()


class NoticeForm(forms.Form):
    area = forms.ModelChoiceField(queryset=Area.objects.none(), label=gettext_lazy("Area"))
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=DATE)
    contact = forms.CharField(
        label=gettext_lazy("Contact for objections"),
        max_length=200,
        help_text=gettext_lazy("Who takes objections and how: office, person, telephone."),
    )
    place = forms.CharField(
        label=gettext_lazy("Posted at"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("e.g. 便民服务大厅、政府网站"),
    )

    def __init__(self, *args: Any, areas: QuerySet[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["area"].label_from_instance = lambda a: f"{a.name} ({a.code})"
        self.fields["starts_on"].initial = timezone.localdate()


class ObjectionForm(forms.Form):
    received_on = forms.DateField(label=gettext_lazy("Received on"), widget=DATE)
    channel = forms.ChoiceField(label=gettext_lazy("Received by"), choices=Channel.choices)
    objector = forms.CharField(
        label=gettext_lazy("Raised by"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Leave empty if anonymous."),
    )
    content = forms.CharField(
        label=gettext_lazy("Objection"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Finding"),
        choices=[
            ("dismissed", gettext_lazy("Dismissed: the application stays in the notice")),
            ("upheld", gettext_lazy("Upheld: back to the township review")),
        ],
        widget=forms.RadioSelect,
    )
    finding = forms.CharField(
        label=gettext_lazy("Written finding"), widget=forms.Textarea(attrs={"rows": 3})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    description = forms.CharField(label=gettext_lazy("Description"), required=False, max_length=200)


class RecusalForm(forms.Form):
    relation = forms.CharField(
        label=gettext_lazy("Relation"),
        max_length=100,
        help_text=gettext_lazy("e.g. 近亲属、姻亲"),
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=gettext_lazy("Who")
    )

    def __init__(self, *args: Any, users: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if users is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = users
            self.fields["user"].empty_label = _("Myself")
