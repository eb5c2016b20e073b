"""A background job's page: its progress bar (polled by htmx) and, once done,
its result to download. A job is its owner's only."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from relief import audit
from relief.access import signed_in
from relief.models import Job


def _job(request: HttpRequest, pk: int) -> Job:
    return get_object_or_404(Job.objects.of(request.user), pk=pk)


@signed_in
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "relief/job_detail.html", {"job": _job(request, pk)})


@signed_in
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone; once the job has finished, the page it sits on
    is reloaded to show the outcome."""
    job = _job(request, pk)
    response = render(request, "relief/_job_progress.html", {"job": job})
    if job.finished:
        response["HX-Refresh"] = "true"
    return response


@signed_in
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    if not job.result:
        raise Http404
    # Results hold names and ID numbers (notices, sheets, ledgers, roster
    # reports): every download is an audit event, filed under the owner's
    # office, where the auditors who answer for it look.
    audit.record(
        request.user,
        "job.download",
        job,
        area=job.owner.area,
        kind=job.kind,
        file=job.result_name,
    )
    return FileResponse(job.result.open("rb"), as_attachment=True, filename=job.result_name)
