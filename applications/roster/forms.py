from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from applications.roster.read import EXTENSIONS


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster"),
        help_text=gettext_lazy(
            "An Excel (.xlsx, .xls) or .csv file with a header row: 姓名, 身份证号, 村/社区, "
            "类别… Title rows and blank rows above the header are fine."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(sorted(EXTENSIONS))}),
    )


class MappingForm(forms.Form):
    """Which of the file's columns holds each field; "" = not in the file."""

    save = forms.BooleanField(
        label=gettext_lazy("Use these columns for this campaign's next rosters"), required=False
    )

    def __init__(
        self,
        *args: Any,
        columns: list[tuple[str, str]],
        headers: list[str],
        initial_map: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *[(h, h) for h in headers if h]]
        self.keys = [key for key, _label in columns]
        for key, label in columns:
            self.fields[f"col_{key}"] = forms.ChoiceField(
                label=label, choices=choices, required=False, initial=initial_map.get(key, "")
            )

    def mapping(self) -> dict[str, str]:
        return {key: self.cleaned_data[f"col_{key}"] for key in self.keys}


class ImportForm(forms.Form):
    valid_only = forms.BooleanField(required=False)
