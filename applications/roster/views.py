"""Screens of the roster import: upload, preview (with the column mapping and
every refused row), import, result report. Big rosters go to the worker and
the page shows a progress bar; small ones are done while the clerk waits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications import workflow
from applications.roster import read, report, services
from applications.roster.check import KINDS
from applications.roster.columns import BY_KEY, FACT_PREFIX
from applications.roster.forms import ImportForm, MappingForm, UploadForm
from applications.roster.models import RosterImport, RosterStatus
from applications.roster.report import kind_labels
from applications.workflow import WorkflowError
from campaigns.models import Campaign
from relief import audit, jobs
from relief.access import requires
from relief.pagination import paginate

ADD = workflow.ADD


def _roster(request: HttpRequest, pk: int) -> RosterImport:
    return get_object_or_404(
        RosterImport.objects.of(request.user).select_related("campaign__area", "job"), pk=pk
    )


def _rows(roster: RosterImport) -> int:
    """Rows in the file, to decide between doing it now and the worker."""
    with roster.file.open("rb") as handle:
        return len(read.read(handle, roster.file_name).rows)


def _run(request: HttpRequest, roster: RosterImport, kind: str, title: str, **params: Any) -> None:
    try:
        rows = _rows(roster)
    except read.RosterError:
        rows = 0  # the check itself reports the unreadable file
    job = jobs.start(
        request.user,
        kind,
        title,
        {"roster": roster.pk, **params},
        background=rows > settings.BACKGROUND_ROWS,
    )
    RosterImport.objects.filter(pk=roster.pk).update(job=job)


@requires(ADD)
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.restrict(request.user).select_related("area"), pk=pk
    )
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            roster = services.upload(request.user, campaign, form.cleaned_data["file"])
        except WorkflowError as error:
            form.add_error("file", error.message)
        else:
            _run(
                request,
                roster,
                "roster.check",
                _("Check roster %(file)s") % {"file": roster.file_name},
            )
            return redirect("applications:roster_detail", pk=roster.pk)
    earlier = RosterImport.objects.of(request.user).filter(campaign=campaign)[:10]
    return render(
        request,
        "applications/roster_upload.html",
        {"campaign": campaign, "form": form, "earlier": earlier},
        status=400 if form.errors else 200,
    )


@requires(ADD)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    roster = _roster(request, pk)
    job = roster.job
    if job is not None and not job.finished:
        return render(request, "applications/roster_detail.html", {"roster": roster, "job": job})
    preview = roster.preview or {}
    lines = preview.get("lines", [])
    kind = request.GET.get("kind", "")
    if kind == "refused":
        lines = [line for line in lines if line["problems"]]
    elif kind in KINDS:
        lines = [line for line in lines if line["kind"] == kind and not line["problems"]]
    page = paginate(request, lines)
    columns = _mapping_columns(roster)
    form = MappingForm(
        columns=columns, headers=preview.get("headers", []), initial_map=roster.mapping
    )
    return render(
        request,
        "applications/roster_detail.html",
        {
            "roster": roster,
            "job": job,
            "counts": preview.get("counts", {}),
            "page": page,
            "kind": kind,
            "kinds": kind_labels(),
            "mapping_form": form,
            "mapped": [(label, roster.mapping.get(key, "")) for key, label in columns],
        },
    )


def _mapping_columns(roster: RosterImport) -> list[tuple[str, str]]:
    keys = [k for k in BY_KEY if k != "seq"]
    facts = [k for k in roster.mapping if k.startswith(FACT_PREFIX)]
    labels = {k: str(BY_KEY[k].label) for k in keys}
    labels.update({k: k[len(FACT_PREFIX) :] for k in facts})
    return [(k, labels[k]) for k in [*keys, *facts]]


@requires(ADD)
@require_POST
def remap(request: HttpRequest, pk: int) -> HttpResponse:
    roster = _roster(request, pk)
    form = MappingForm(
        request.POST,
        columns=_mapping_columns(roster),
        headers=(roster.preview or {}).get("headers", []),
        initial_map=roster.mapping,
    )
    if not form.is_valid():
        messages.error(request, _("Choose the columns among the file's headers."))
        return redirect("applications:roster_detail", pk=roster.pk)
    chosen = form.mapping()
    RosterImport.objects.filter(pk=roster.pk).update(mapping=chosen)
    roster.mapping = chosen
    try:
        if form.cleaned_data["save"]:
            services.save_mapping(request.user, roster)
            messages.success(request, _("The columns are saved for this campaign's next rosters."))
    except WorkflowError as error:
        messages.error(request, error.message)
    if roster.status != RosterStatus.IMPORTED:
        _run(
            request, roster, "roster.check", _("Check roster %(file)s") % {"file": roster.file_name}
        )
    return redirect("applications:roster_detail", pk=roster.pk)


@requires(ADD)
@require_POST
def carry_out(request: HttpRequest, pk: int) -> HttpResponse:
    roster = _roster(request, pk)
    form = ImportForm(request.POST)
    valid_only = form.is_valid() and form.cleaned_data["valid_only"]
    if roster.status != RosterStatus.CHECKED:
        messages.error(request, _("This roster cannot be imported now."))
        return redirect("applications:roster_detail", pk=roster.pk)
    _run(
        request,
        roster,
        "roster.import",
        _("Import roster %(file)s") % {"file": roster.file_name},
        valid_only=valid_only,
    )
    roster.refresh_from_db()
    if roster.job and roster.job.status == "failed":
        messages.error(request, roster.job.error)
    elif roster.status == RosterStatus.IMPORTED:
        messages.success(
            request,
            _("%(count)s applications were filed as drafts.")
            % {"count": roster.result.get("applications", 0)},
        )
    return redirect("applications:roster_detail", pk=roster.pk)


@requires(ADD)
def result(request: HttpRequest, pk: int) -> HttpResponse:
    roster = _roster(request, pk)
    if not roster.preview:
        return redirect("applications:roster_detail", pk=roster.pk)
    with roster.file.open("rb") as handle:
        table = read.read(handle, roster.file_name)
    content = report.report(table, roster.preview, roster.result)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = roster.file_name.rsplit(".", 1)[0] + "-" + _("result") + ".xlsx"
    # The report repeats the roster's names and ID numbers: an export, audited
    # like the documents (documents.views).
    audit.record(request.user, "document.roster_result", roster, file=name, rows=len(table.rows))
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
