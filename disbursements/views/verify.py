"""The auditors' pages: check an exported ledger against its signature file,
and the office's public keys (disbursements.signing, docs/ledger-signing.md).

Verification reads the uploaded files only and changes nothing; every
verification is an audit event (who checked which ledger, and the verdict)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disbursements import signing
from disbursements.models import SigningKey
from relief import audit
from relief.access import requires

VERIFY = "disbursements.verify_ledger"
# A ledger of 100,000 items is about 6 MB and its signature file 2 MB.
LEDGER_MAX_BYTES = 100 * 1024 * 1024
SIGNATURE_MAX_BYTES = 32 * 1024 * 1024


def _limited(upload: UploadedFile, limit: int) -> UploadedFile:
    if upload.size > limit:
        raise forms.ValidationError(
            _("The file is %(size)s; at most %(limit)s is accepted.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
        )
    return upload


class VerifyForm(forms.Form):
    ledger = forms.FileField(
        label=gettext_lazy("Ledger (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )
    signature = forms.FileField(
        label=gettext_lazy("Signature file (.sig)"),
        help_text=gettext_lazy("The file exported with the ledger: its name ends in .xlsx.sig."),
        widget=forms.ClearableFileInput(attrs={"accept": ".sig"}),
    )

    def clean_ledger(self) -> UploadedFile:
        return _limited(self.cleaned_data["ledger"], LEDGER_MAX_BYTES)

    def clean_signature(self) -> UploadedFile:
        return _limited(self.cleaned_data["signature"], SIGNATURE_MAX_BYTES)


def _verify(ledger: UploadedFile, signature: UploadedFile) -> signing.Verdict:
    """The verdict on the uploaded pair. The ledger goes to a temporary file
    of its own (an upload may be held in memory); nothing of it is kept."""
    folder = Path(tempfile.mkdtemp(prefix="verify-ledger-"))
    try:
        target = folder / "ledger.xlsx"
        with target.open("wb") as handle:
            for chunk in ledger.chunks():
                handle.write(chunk)
        return signing.verify_ledger(target, signature.read())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@requires(VERIFY)
def verify_ledger(request: HttpRequest) -> HttpResponse:
    """Upload a ledger and its signature file; see the verdict."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    verdict, signed_by = None, ""
    if request.method == "POST" and form.is_valid():
        ledger, signature = form.cleaned_data["ledger"], form.cleaned_data["signature"]
        verdict = _verify(ledger, signature)
        audit.record(
            request.user,
            "ledger.verified",
            valid=verdict.valid,
            file=ledger.name[:200],
            key=verdict.key_id,
            campaign=verdict.campaign_id if verdict.signature_checked else None,
            chain_head=verdict.chain_seq if verdict.signature_checked else None,
            findings=verdict.messages[:10],
        )
        if verdict.signature_checked:
            signed_by = signing.signed_by(verdict)
    return render(
        request,
        "disbursements/verify_ledger.html",
        {"form": form, "verdict": verdict, "signed_by": signed_by},
        status=400 if form.errors else 200,
    )


@requires(VERIFY)
def public_keys(request: HttpRequest) -> HttpResponse:
    """The office's public keys, active and retired: what a signature is checked with."""
    keys = list(SigningKey.objects.order_by("-created_at", "-id"))
    return render(request, "disbursements/verify_keys.html", {"keys": keys})


urlpatterns: list[URLPattern] = [
    path("ledgers/verify/", verify_ledger, name="verify_ledger"),
    path("ledgers/keys/", public_keys, name="public_keys"),
]
