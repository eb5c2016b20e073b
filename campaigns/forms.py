"""Set-up forms: the campaign, its schedule, fund sources and categories."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import conditions as cond
from campaigns.choices import ApprovalLevel, StandardKind
from campaigns.models import (
    AreaQuota,
    Campaign,
    CampaignKind,
    Category,
    Deadline,
    EvidenceField,
    FundShare,
    FundSource,
    Phase,
    Tier,
    rule_from_json,
    rule_to_json,
)
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
RULE_HELP = gettext_lazy(
    "One alternative per line; join conditions with 且. E.g. 低保户 = 是 且 合规自付医疗费 >= 4万. "
    "Use >= to include a bound and > to exclude it. Empty: everyone."
)


def _label_area(field: forms.ModelChoiceField) -> None:
    field.label_from_instance = lambda area: f"{area.name}（{area.code}）"


class CampaignForm(forms.ModelForm):
    kind_name = forms.CharField(
        label=gettext_lazy("Kind"),
        max_length=50,
        help_text=gettext_lazy("Pick one or type a new kind."),
        widget=forms.TextInput(attrs={"list": "campaign-kinds"}),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "issuer",
            "area",
            "year",
            "description",
            "published_on",
            "stacking",
            "top_up",
            "poverty_line",
            "notice_days",
            "notice_level",
            "second_review",
        ]
        widgets = {"published_on": DATE, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        perm = "campaigns.change_campaign" if self.instance.pk else "campaigns.add_campaign"
        areas = Area.objects.restrict(user, perm=perm).exclude(level=AreaLevel.VILLAGE)
        self.fields["area"].queryset = areas.order_by("code")
        _label_area(self.fields["area"])
        if self.instance.pk:
            self.fields["kind_name"].initial = self.instance.kind.name
        self.kinds = list(CampaignKind.objects.values_list("name", flat=True))


class PhaseForm(forms.ModelForm):
    class Meta:
        model = Phase
        fields = ["name", "starts_on", "ends_on", "to_be_announced"]
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and start > end:
            self.add_error("ends_on", _("The phase ends before it starts."))
        return data


class DeadlineForm(forms.ModelForm):
    class Meta:
        model = Deadline
        fields = ["deliverable", "title", "level", "due_on", "hard"]
        widgets = {"due_on": DATE}


class OrderedFormSet(BaseInlineFormSet):
    """Saves rows in the order shown, so the page is the order. Always writes
    (`commit` is there for Django's signature): views call it inside the
    campaign's set-up service."""

    def save(self, commit: bool = True) -> list[Any]:
        saved = super().save(commit=False)
        for obj in self.deleted_objects:
            obj.delete()
        for position, form in enumerate(f for f in self.forms if f not in self.deleted_forms):
            if form.instance.pk or form.has_changed():
                form.instance.order = position
                form.instance.save()
                self.save_related(form)
        return saved

    def save_related(self, form: forms.ModelForm) -> None:
        """Rows hanging off a saved row; none by default."""


PhaseFormSet = inlineformset_factory(
    Campaign, Phase, form=PhaseForm, formset=OrderedFormSet, extra=1, can_delete=True
)
DeadlineFormSet = inlineformset_factory(
    Campaign, Deadline, form=DeadlineForm, extra=1, can_delete=True
)

_SHARE = re.compile(r"^\s*(?P<payer>.+?)\s*[:：]?\s*(?P<percent>[\d.]+)\s*%?\s*$")


def parse_shares(text: str) -> list[tuple[str, Decimal]]:
    """ "区财政 50%、镇财政 50%" (or one per line) → [(payer, percent)]."""
    shares = []
    for part in re.split(r"[\n、，,;；]+", text):
        if not part.strip():
            continue
        match = _SHARE.match(part)
        if not match:
            raise ValidationError(
                _('"%(part)s": write a payer and a percentage, e.g. 区财政 50%%.') % {"part": part}
            )
        try:
            percent = Decimal(match["percent"])
        except InvalidOperation:
            raise ValidationError(_('"%(part)s" has no percentage.') % {"part": part}) from None
        if not 0 < percent <= 100 or percent.as_tuple().exponent < -2:
            raise ValidationError(
                _("A share is above 0 and at most 100%, with at most two decimal places.")
            )
        shares.append((match["payer"], percent))
    if shares and sum(p for _payer, p in shares) != 100:
        raise ValidationError(
            _("The shares add up to %(sum)s%%, not 100%%.") % {"sum": sum(p for _x, p in shares)}
        )
    return shares


class FundSourceForm(forms.ModelForm):
    shares_text = forms.CharField(
        label=gettext_lazy("Split between payers"),
        required=False,
        help_text=gettext_lazy("E.g. 区财政 50%、镇财政 50%. Empty: the paying body pays all."),
    )

    class Meta:
        model = FundSource
        fields = ["name", "payer", "budget"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["shares_text"].initial = "、".join(
                f"{s.payer} {cond.fmt(s.percent)}%" for s in self.instance.shares.all()
            )

    def clean_shares_text(self) -> list[tuple[str, Decimal]]:
        return parse_shares(self.cleaned_data["shares_text"])

    def save_shares(self) -> None:
        """Replace the saved source's payer shares with those entered."""
        source = self.instance
        source.shares.all().delete()
        FundShare.objects.bulk_create(
            FundShare(fund_source=source, payer=payer, percent=percent)
            for payer, percent in self.cleaned_data["shares_text"]
        )


class BaseFundSourceFormSet(OrderedFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and form.instance.categories.exists():
                raise ValidationError(
                    _("%(name)s pays for categories: move them to another fund source first.")
                    % {"name": form.instance.name}
                )

    def save_related(self, form: forms.ModelForm) -> None:
        form.save_shares()


FundSourceFormSet = inlineformset_factory(
    Campaign,
    FundSource,
    form=FundSourceForm,
    formset=BaseFundSourceFormSet,
    extra=1,
    can_delete=True,
)


class RuleField(forms.CharField):
    """Conditions in the clerk's notation, stored as JSON."""

    widget = forms.Textarea(attrs={"rows": 3, "class": "mono"})

    def __init__(
        self, *args: Any, single: bool = False, extra_fields: dict | None = None, **kwargs: Any
    ):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", RULE_HELP)
        super().__init__(*args, **kwargs)
        self.single = single
        self.extra_fields = extra_fields or {}

    def parse(self, value: str) -> cond.Rule:
        fields = {**EvidenceField.catalogue(), **self.extra_fields}
        try:
            rule = cond.parse(value or "", fields)
        except cond.ConditionError as error:
            raise ValidationError(str(error)) from None
        if self.single and rule and (len(rule) > 1 or len(rule[0]) > 1):
            raise ValidationError(_("Write exactly one condition."))
        return rule


def _rendered(data: list, fields: dict) -> str:
    return cond.render(rule_from_json(data, fields), fields)


class CategoryForm(forms.ModelForm):
    eligibility_text = RuleField(label=gettext_lazy("Eligibility"))
    threshold_text = RuleField(
        label=gettext_lazy("Qualifying threshold"),
        single=True,
        help_text=gettext_lazy("One condition, e.g. 年度致困费用 >= 24000."),
        widget=forms.TextInput(attrs={"class": "mono"}),
    )
    escalation_text = forms.CharField(
        label=gettext_lazy("Approval escalation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
        help_text=gettext_lazy(
            "One per line: a condition, then => and the level. E.g. 金额 > 20000 => province, "
            "档次 = 重度 => county. "
            "Levels: township, county, city, province, national."
        ),
    )

    class Meta:
        model = Category
        fields = [
            "name",
            "section",
            "kind",
            "unit",
            "cash",
            "goods",
            "range_min",
            "range_max",
            "range_soft",
            "range_outside_level",
            "annual",
            "instalments",
            "base_field",
            "rate",
            "rounding",
            "cap",
            "floor",
            "not_above_base",
            "planned_count",
            "quota",
            "fund_source",
            "stacks_with",
        ]
        widgets = {"stacks_with": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["fund_source"].queryset = campaign.fund_sources.all()
        self.fields["stacks_with"].queryset = campaign.categories.exclude(pk=self.instance.pk)
        self.fields["base_field"].queryset = EvidenceField.objects.filter(type__in=cond.NUMERIC)
        catalogue = EvidenceField.catalogue()
        instance = self.instance
        self.fields["eligibility_text"].initial = _rendered(instance.eligibility, catalogue)
        if instance.threshold:
            self.fields["threshold_text"].initial = _rendered([[instance.threshold]], catalogue)
        with_amount = {**catalogue, **cond.OUTCOME_FIELDS}
        self.fields["escalation_text"].initial = "\n".join(
            f"{cond.describe(cond.Condition.from_json(c, with_amount), with_amount)} => {level}"
            for c, level in instance.escalations
        )
        self.amount_fields = with_amount
        self.fields["kind"].widget.attrs["data-standard"] = ""

    def clean_eligibility_text(self) -> list:
        return rule_to_json(
            self.fields["eligibility_text"].parse(self.cleaned_data["eligibility_text"])
        )

    def clean_threshold_text(self) -> list | None:
        rule = self.fields["threshold_text"].parse(self.cleaned_data["threshold_text"])
        return rule[0][0].to_json() if rule else None

    def clean_escalation_text(self) -> list:
        escalations = []
        for number, line in enumerate(self.cleaned_data["escalation_text"].splitlines(), start=1):
            if not line.strip():
                continue
            condition, arrow, level = line.partition("=>")
            level = level.strip()
            if not arrow or level not in ApprovalLevel.values:
                raise ValidationError(
                    _(
                        "Line %(n)s: end with => and a level "
                        "(township, county, city, province, national)."
                    )
                    % {"n": number}
                )
            try:
                rule = cond.parse(condition, self.amount_fields)
            except cond.ConditionError as error:
                raise ValidationError(
                    _("Line %(n)s: %(error)s") % {"n": number, "error": error.message}
                ) from None
            if len(rule) != 1 or len(rule[0]) != 1:
                raise ValidationError(_("Line %(n)s: write exactly one condition.") % {"n": number})
            escalations.append([rule[0][0].to_json(), level])
        return escalations

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        required = {
            StandardKind.RANGE: ["range_min"],
            StandardKind.INSTALMENTS: ["annual"],
            StandardKind.PERCENTAGE: ["base_field", "rate"],
        }.get(kind, [])
        for name in required:
            if data.get(name) in (None, ""):
                self.add_error(name, _("This standard needs it."))
        low, high = data.get("range_min"), data.get("range_max")
        if kind == StandardKind.RANGE and low is not None and high is not None and high < low:
            self.add_error("range_max", _("The maximum is below the minimum."))
        floor, cap = data.get("floor"), data.get("cap")
        if (
            kind == StandardKind.PERCENTAGE
            and floor is not None
            and cap is not None
            and floor > cap
        ):
            self.add_error("floor", _("The floor is above the cap."))
        if kind == StandardKind.FIXED and not (data.get("cash") or data.get("goods")):
            self.add_error("cash", _("Enter cash, goods or both."))
        name = data.get("name")
        if (
            name
            and self.campaign.categories.exclude(pk=self.instance.pk).filter(name=name).exists()
        ):
            self.add_error("name", _("The campaign already has a category of this name."))
        return data

    def save(self, commit: bool = True) -> Category:
        category = super().save(commit=False)
        category.campaign = self.campaign
        category.eligibility = self.cleaned_data["eligibility_text"]
        category.threshold = self.cleaned_data["threshold_text"]
        category.escalations = self.cleaned_data["escalation_text"]
        if commit:
            category.save()
            self.save_m2m()
        return category


class TierForm(forms.ModelForm):
    conditions_text = RuleField(label=gettext_lazy("When"), help_text="")

    class Meta:
        model = Tier
        fields = ["name", "cash", "goods"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conditions_text"].initial = _rendered(
            self.instance.conditions, EvidenceField.catalogue()
        )

    def clean_conditions_text(self) -> list:
        return rule_to_json(
            self.fields["conditions_text"].parse(self.cleaned_data["conditions_text"])
        )

    def save(self, commit: bool = True) -> Tier:
        self.instance.conditions = self.cleaned_data["conditions_text"]
        return super().save(commit=commit)


TierFormSet = inlineformset_factory(
    Category, Tier, form=TierForm, formset=OrderedFormSet, extra=1, can_delete=True
)


class AreaQuotaForm(forms.ModelForm):
    class Meta:
        model = AreaQuota
        fields = ["area", "count"]


class BaseAreaQuotaFormSet(BaseInlineFormSet):
    def __init__(self, *args: Any, campaign: Campaign, user: User, **kwargs: Any) -> None:
        self.areas = (
            Area.objects.restrict(user, perm="campaigns.change_campaign")
            .filter(code__prefix=prefix_of(campaign.area.code))
            .order_by("code")
        )
        super().__init__(*args, **kwargs)

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["area"].queryset = self.areas
        _label_area(form.fields["area"])


AreaQuotaFormSet = inlineformset_factory(
    Category, AreaQuota, form=AreaQuotaForm, formset=BaseAreaQuotaFormSet, extra=1, can_delete=True
)


class StatusForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)


class CopyForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100)


class TryForm(forms.Form):
    """The evidence a category's standard asks for, to try the calculation."""

    proposed = forms.DecimalField(
        label=gettext_lazy("Amount proposed"), required=False, min_value=0
    )

    def __init__(self, *args: Any, fields: list[EvidenceField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in fields:
            if spec.type == "yes_no":
                field: forms.Field = forms.NullBooleanField(label=spec.name, required=False)
            elif spec.type == "choice":
                options = [("", "—")] + [(o, o) for o in spec.spec().options]
                field = forms.ChoiceField(label=spec.name, choices=options, required=False)
            else:
                field = forms.DecimalField(label=spec.name, required=False, min_value=0)
            self.fields[spec.key] = field

    def facts(self) -> dict[str, Any]:
        return {
            k: v for k, v in self.cleaned_data.items() if k != "proposed" and v not in (None, "")
        }


class EvidenceFieldForm(forms.ModelForm):
    class Meta:
        model = EvidenceField
        fields = ["key", "name", "type", "options", "unit", "help_text"]
        widgets = {"options": forms.Textarea(attrs={"rows": 3})}
