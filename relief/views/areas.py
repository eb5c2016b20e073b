from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from relief import area_import, services
from relief.access import requires
from relief.choices import AreaLevel
from relief.forms import AreaForm, AreaImportForm, AreaRenameForm
from relief.models import Area
from relief.pagination import paginate

UPLOADS = "uploads/areas"
SESSION_KEY = "area_import_uploads"


@requires("relief.view_area")
def area_list(request: HttpRequest) -> HttpResponse:
    areas = Area.objects.restrict(request.user, "view").select_related("parent")
    query = request.GET.get("q", "").strip()
    if query:
        areas = areas.filter(Q(code__prefix=query) | Q(name__contains=query))
    level = request.GET.get("level", "")
    if level in AreaLevel.values:
        areas = areas.filter(level=level)
    areas = areas.annotate(children_count=Count("children", distinct=True))
    return render(
        request,
        "relief/area_list.html",
        {
            "page": paginate(request, areas.order_by("code")),
            "levels": AreaLevel.choices,
            "can_add": request.user.has_perm("relief.add_area"),
            "can_change": request.user.has_perm("relief.change_area"),
        },
    )


@requires("relief.add_area")
def area_create(request: HttpRequest) -> HttpResponse:
    form = AreaForm(request.POST or None)
    if form.is_valid():
        try:
            area = services.create_area(request.user, **form.cleaned_data)
        except services.AdministrationError as error:
            form.add_error(error.field, error.message)
        except PermissionDenied:
            form.add_error("code", _("This area is outside the areas you administer."))
        else:
            messages.success(request, _("Area %(name)s added.") % {"name": area.name})
            return redirect("area_list")
    return render(request, "relief/area_form.html", {"form": form, "creating": True})


@requires("relief.change_area")
def area_edit(request: HttpRequest, pk: int) -> HttpResponse:
    area = get_object_or_404(Area.objects.restrict(request.user, "change"), pk=pk)
    form = AreaRenameForm(request.POST or None, initial={"name": area.name})
    if form.is_valid():
        services.rename_area(request.user, area, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("area_list")
    return render(request, "relief/area_form.html", {"form": form, "area": area})


@requires("relief.add_area")
@require_http_methods(["GET", "POST"])
def area_import_view(request: HttpRequest) -> HttpResponse:
    """Upload a code table, see what it would do, then confirm. The upload is
    kept on disk between the two steps, so a confirmation imports exactly the
    file that was previewed."""
    if request.method == "POST" and "token" in request.POST:
        return _confirm(request, request.POST["token"])
    form = AreaImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        token = secrets.token_hex(16) + Path(upload.name).suffix.lower()
        path = _upload_path(token)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-4:], token]
        request.session[f"{SESSION_KEY}:{token}"] = upload.name
        context.update(_preview(request, path, upload.name), token=token)
    return render(request, "relief/area_import.html", context)


def _preview(request: HttpRequest, path: Path, name: str) -> dict[str, object]:
    try:
        with path.open("rb") as stream:
            rows = area_import.read_rows(stream, name)
    except area_import.AreaFileError as error:
        return {"file_error": str(error)}
    return {"plan": area_import.plan(request.user, rows), "filename": name}


def _confirm(request: HttpRequest, token: str) -> HttpResponse:
    if token not in request.session.get(SESSION_KEY, []):
        messages.error(request, _("That upload has expired; upload the file again."))
        return redirect("area_import")
    path = _upload_path(token)
    name = request.session.get(f"{SESSION_KEY}:{token}", token)
    if not path.exists():
        messages.error(request, _("That upload has expired; upload the file again."))
        return redirect("area_import")
    context = _preview(request, path, name)
    plan = context.get("plan")
    if plan is None or not plan.ok:
        # The data changed since the preview: show the new findings.
        return render(
            request,
            "relief/area_import.html",
            {"form": AreaImportForm(), "token": token, **context},
            status=400,
        )
    area_import.apply(request.user, plan, source=name)
    path.unlink(missing_ok=True)
    request.session[SESSION_KEY] = [t for t in request.session[SESSION_KEY] if t != token]
    messages.success(
        request,
        _("Imported: %(created)d added, %(renamed)d renamed, %(unchanged)d unchanged.")
        % {"created": len(plan.create), "renamed": len(plan.rename), "unchanged": plan.unchanged},
    )
    return redirect("area_list")


def _upload_path(token: str) -> Path:
    safe = Path(token).name  # the token came from the session, but never trust a path
    return Path(settings.MEDIA_ROOT) / UPLOADS / safe
