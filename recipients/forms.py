from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recipients.choices import Relation
from recipients.models import Household, Person
from recipients.services import PERSON_FIELDS, MemberInput, RegistryError, where_registered
from relief import idnumber
from relief.choices import AreaLevel
from relief.models import Area, User


class HouseholdForm(forms.ModelForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Kept in the household's history."),
    )

    class Meta:
        model = Household
        fields = ["village", "address", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        villages = Area.objects.restrict(user, perm="recipients.add_household").filter(
            level=AreaLevel.VILLAGE
        )
        if self.instance.pk:
            villages = villages | Area.objects.filter(pk=self.instance.village_id)
        else:
            del self.fields["reason"]
        field = self.fields["village"]
        field.queryset = villages.select_related("parent")
        field.label_from_instance = lambda area: f"{area.parent.name} · {area.name}"
        field.empty_label = _("Choose a village")
        if not self.instance.pk and len(field.queryset) == 1:
            # The instance's own (empty) village would win over field.initial.
            self.initial["village"] = field.queryset[0].pk


class MemberForm(forms.ModelForm):
    # Declared here rather than taken from the model so that a pasted number with
    # spaces or full-width digits reaches clean_id_number, which normalizes it,
    # instead of failing an 18-character limit first.
    # It is checked live as it is typed (htmx), with the result beside it.
    id_number = forms.CharField(
        label=gettext_lazy("ID number"),
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "hx-get": reverse_lazy("recipients:check_id_number"),
                "hx-trigger": "input changed delay:400ms, change",
                "hx-target": "next .id-check",
                "hx-swap": "innerHTML",
            }
        ),
    )

    class Meta:
        model = Person
        fields = [
            "name",
            "id_number",
            "relation",
            "phone",
            "disability_grade",
            "locally_registered",
            "notes",
        ]
        widgets = {"notes": forms.TextInput()}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.pk:
            self.fields["id_number"].widget.attrs["hx-vals"] = f'{{"exclude": {self.instance.pk}}}'

    def clean_id_number(self) -> str:
        number = idnumber.validate(self.cleaned_data["id_number"])
        elsewhere = where_registered(self.user, number, exclude_pk=self.instance.pk)
        if elsewhere:
            raise ValidationError(elsewhere, code="id_registered")
        return number

    def validate_unique(self) -> None:
        # clean_id_number checks uniqueness with a message that says where the
        # person is on file; the one-head rule is the formset's. The services
        # check both again inside their transaction.
        pass


class BaseMemberFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.has_changed() or f.instance.pk]
        kept = [f for f in kept if not self._should_delete_form(f)]
        if not kept:
            raise ValidationError(_("A household needs at least one member."))
        heads = [f for f in kept if f.cleaned_data.get("relation") == Relation.HEAD]
        if len(heads) != 1:
            raise ValidationError(_("Exactly one member must be the head of household."))
        seen: set[str] = set()
        for form in kept:
            number = form.cleaned_data.get("id_number")
            if number in seen:
                form.add_error("id_number", _("The same ID number is entered for two members."))
            seen.add(number)

    def member_inputs(self) -> tuple[list[MemberInput], list[forms.Form]]:
        """What the forms ask for, as the services take it, with the form each came from."""
        inputs, sources = [], []
        for form in self.forms:
            if not form.instance.pk and not form.has_changed():
                continue  # an empty extra row
            data = form.cleaned_data
            inputs.append(
                MemberInput(
                    pk=form.instance.pk,
                    delete=self._should_delete_form(form),
                    **{
                        name: data.get(name, getattr(form.instance, name)) for name in PERSON_FIELDS
                    },
                )
            )
            sources.append(form)
        return inputs, sources

    def show_error(self, error: RegistryError, sources: list[forms.Form]) -> None:
        """Put a service's refusal next to the field it is about."""
        if error.member is not None and error.field:
            sources[error.member].add_error(error.field, error.message)
        else:
            self._non_form_errors = self.error_class([error.message])


MemberFormSet = forms.inlineformset_factory(
    Household,
    Person,
    form=MemberForm,
    formset=BaseMemberFormSet,
    extra=0,
    can_delete=True,
)
