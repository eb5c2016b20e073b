from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from relief import idnumber
from relief.areacodes import normalize_area_code
from relief.choices import Role
from relief.models import Area, User


def _area_field(field: forms.ModelChoiceField) -> None:
    field.label_from_instance = lambda area: f"{area.code} {area.name}"


class AreaForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Area code"),
        max_length=20,
        help_text=gettext_lazy("12 digits (统计用区划代码); the level and parent follow from it."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)

    def clean_code(self) -> str:
        return normalize_area_code(self.cleaned_data["code"])


class AreaRenameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


class AreaImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Code table"),
        help_text=gettext_lazy(
            "A .csv or .xlsx file with the columns 统计用区划代码 and 名称 (a title row above "
            "them is fine). Parents must be on file or in the same file."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".csv", ".xlsx"):
            raise ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ValidationError(_("The file is too large."))
        return upload


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=gettext_lazy("User name"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=gettext_lazy("Letters, digits and @ . + - _ only."),
    )
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    area = forms.ModelChoiceField(label=gettext_lazy("Office area"), queryset=Area.objects.none())
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.restrict(actor, perm="relief.add_user")
        _area_field(self.fields["area"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class UserEditForm(forms.Form):
    # A plain form, not a ModelForm: validating must not touch the account, whose
    # current office the service checks the actor's rights against.
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    area = forms.ModelChoiceField(label=gettext_lazy("Office area"), queryset=Area.objects.none())
    is_active = forms.BooleanField(
        label=gettext_lazy("Active"),
        required=False,
        help_text=gettext_lazy("An inactive account cannot sign in."),
    )
    id_number = forms.CharField(
        label=gettext_lazy("ID number"),
        max_length=20,
        required=False,
        help_text=gettext_lazy(
            "Keeps the user from reviewing their own household's applications (回避)."
        ),
    )

    def __init__(self, *args: Any, actor: User, user: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": user.name,
                "phone": user.phone,
                "area": user.area_id,
                "is_active": user.is_active,
                "id_number": user.id_number,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.restrict(actor, perm="relief.change_user")
        _area_field(self.fields["area"])

    def clean_id_number(self) -> str:
        raw = self.cleaned_data["id_number"]
        return idnumber.validate(raw) if raw.strip() else ""


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    area = forms.ModelChoiceField(label=gettext_lazy("Area"), queryset=Area.objects.none())

    def __init__(self, *args: Any, actor: User, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = Area.objects.restrict(actor, perm="relief.add_roleassignment")
        if user.area is not None:
            areas = areas.filter(code__prefix=user.area.prefix)
        else:
            areas = areas.none()
        self.fields["area"].queryset = areas
        _area_field(self.fields["area"])
