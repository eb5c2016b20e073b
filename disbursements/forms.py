"""Forms of the office's disbursement screens. They only read and check what
the user typed; every decision is disbursements.services'."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from disbursements import services
from disbursements.choices import FailureReason, Method, PaymentState
from disbursements.models import Payment, SheetScan
from relief.models import Area

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# "大米 10kg", "食用油×2桶", "棉被, 1条": the item, a separator, the quantity.
GOODS_LINE = re.compile(r"^(?P<item>.+?)\s*(?:[×xX*,，:：]|\s)\s*(?P<quantity>[^\s×*,，:：]+)$")


class PlanForm(forms.Form):
    """Plan the payments of the approved applications without one."""

    village = forms.ModelChoiceField(
        queryset=Area.objects.none(),
        required=False,
        label=gettext_lazy("Village"),
        empty_label=gettext_lazy("All villages"),
    )
    first_on = forms.DateField(
        label=gettext_lazy("First payment on"),
        required=False,
        widget=DATE,
        help_text=gettext_lazy("Later instalments follow every three months. Today if empty."),
    )

    def __init__(self, *args: Any, villages: QuerySet[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages


def parse_goods(text: str) -> list[dict[str, str]]:
    """One item a line, "大米 10kg" → {"item": "大米", "quantity": "10kg"}."""
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        found = GOODS_LINE.match(line)
        if found is None:
            raise forms.ValidationError(
                _("Line %(line)d: write the item and its quantity, e.g. 大米 10kg.")
                % {"line": number}
            )
        items.append({"item": found["item"].strip(), "quantity": found["quantity"]})
    return items


class ArrangementForm(forms.Form):
    """How and when a planned payment is made."""

    method = forms.ChoiceField(choices=Method.choices, label=gettext_lazy("Method"))
    account = forms.CharField(
        label=gettext_lazy("Account"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("Bank account or one-card number, for a transfer."),
    )
    planned_on = forms.DateField(label=gettext_lazy("Planned for"), required=False, widget=DATE)
    cadres = forms.CharField(
        label=gettext_lazy("Delivering cadres"), required=False, max_length=100
    )
    goods = forms.CharField(
        label=gettext_lazy("Goods"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One item a line with its quantity, e.g. 大米 10kg."),
    )

    @classmethod
    def for_payment(cls, payment: Payment) -> ArrangementForm:
        goods = "\n".join(payment.goods_lines())
        return cls(
            initial={
                "method": payment.method,
                "account": payment.account,
                "planned_on": payment.planned_on,
                "cadres": payment.cadres,
                "goods": goods,
            }
        )

    def clean_goods(self) -> list[dict[str, str]]:
        return parse_goods(self.cleaned_data["goods"])

    def arrangement(self) -> services.Arrangement:
        data = self.cleaned_data
        return services.Arrangement(
            method=data["method"],
            account=data["account"],
            planned_on=data["planned_on"],
            cadres=data["cadres"],
            goods_items=data["goods"],
        )


class HandOverForm(forms.Form):
    cadres = forms.CharField(
        label=gettext_lazy("Delivering cadres"), required=False, max_length=100
    )


class FailForm(forms.Form):
    reason = forms.ChoiceField(choices=FailureReason.choices, label=gettext_lazy("Reason"))
    note = forms.CharField(
        label=gettext_lazy("What happened"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ProxyForm(forms.Form):
    """代领: who collects instead of the recipient, and why."""

    name = forms.CharField(label=gettext_lazy("Proxy's name"), max_length=50)
    id_number = forms.CharField(label=gettext_lazy("Proxy's ID number"), max_length=20)
    relation = forms.CharField(label=gettext_lazy("Relation to the recipient"), max_length=50)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def proxy(self) -> services.Proxy:
        return services.Proxy(**self.cleaned_data)


class DecideProxyForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", pgettext_lazy("proxy", "Approve")),
            ("refuse", pgettext_lazy("proxy", "Refuse")),
        ],
        label=gettext_lazy("Decision"),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)


class PhotoForm(forms.Form):
    photo = forms.FileField(label=gettext_lazy("Photo"))


class CorrectionForm(forms.Form):
    """What a signed record should have said, and why."""

    cash = forms.DecimalField(
        label=gettext_lazy("Cash"), min_value=0, max_digits=14, decimal_places=2
    )
    goods = forms.DecimalField(
        label=gettext_lazy("Goods at cash value"), min_value=0, max_digits=14, decimal_places=2
    )
    method = forms.ChoiceField(choices=Method.choices, label=gettext_lazy("Method"))
    account = forms.CharField(label=gettext_lazy("Account"), required=False, max_length=40)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @classmethod
    def for_payment(cls, payment: Payment) -> CorrectionForm:
        return cls(
            initial={
                "cash": payment.cash,
                "goods": payment.goods,
                "method": payment.method,
                "account": payment.account,
            }
        )

    def correction(self) -> services.Correction:
        data = self.cleaned_data
        return services.Correction(
            cash=data["cash"], goods=data["goods"], method=data["method"], account=data["account"]
        )


class ScanForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Scan of the signed payment sheet"),
        help_text=gettext_lazy("PDF, JPEG or PNG."),
    )


class ConfirmForm(forms.Form):
    """Tick off against a scan the lines signed on the paper sheet."""

    scan = forms.ModelChoiceField(
        queryset=SheetScan.objects.none(), label=gettext_lazy("Against the scan")
    )
    payments = forms.ModelMultipleChoiceField(
        queryset=Payment.objects.none(), label=gettext_lazy("Signed lines")
    )
    by_proxy = forms.ModelMultipleChoiceField(
        queryset=Payment.objects.none(),
        required=False,
        label=gettext_lazy("Signed by an approved proxy"),
    )

    def __init__(
        self,
        *args: Any,
        scans: QuerySet[SheetScan],
        payments: QuerySet[Payment],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scan"].queryset = scans
        self.fields["payments"].queryset = payments
        self.fields["by_proxy"].queryset = payments

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ticked = {p.pk for p in data.get("payments", [])}
        stray = [p.number for p in data.get("by_proxy", []) if p.pk not in ticked]
        if stray:
            raise forms.ValidationError(
                _("Tick the line as signed too: %(numbers)s.") % {"numbers": ", ".join(stray)}
            )
        return data


class PaymentFilterForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("", gettext_lazy("All states")), *PaymentState.choices],
        required=False,
        label=gettext_lazy("State"),
    )
