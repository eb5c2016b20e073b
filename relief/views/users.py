from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relief import services
from relief.access import requires
from relief.forms import RoleGrantForm, UserCreateForm, UserEditForm
from relief.models import AuditEvent, RoleAssignment, User
from relief.pagination import paginate


def _users(request: HttpRequest, action: str):
    """Accounts the user may see or act on: those of offices inside their areas.
    Superuser accounts are managed by superusers only."""
    users = User.objects.restrict(request.user, action)
    if not request.user.is_superuser:
        users = users.filter(is_superuser=False)
    return users


@requires("relief.view_user")
def user_list(request: HttpRequest) -> HttpResponse:
    users = (
        _users(request, "view")
        .select_related("area")
        .prefetch_related(Prefetch("roles", queryset=RoleAssignment.objects.select_related("area")))
    )
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(Q(username__icontains=query) | Q(name__contains=query))
    return render(
        request,
        "relief/user_list.html",
        {
            "page": paginate(request, users.order_by("area__code", "username")),
            "can_add": request.user.has_perm("relief.add_user"),
        },
    )


@requires("relief.add_user")
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, actor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                request.user,
                username=data["username"],
                name=data["name"],
                phone=data["phone"],
                area=data["area"],
                password=data["password1"],
            )
        except services.AdministrationError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Account created. Now give it its roles."))
            return redirect("user_detail", pk=user.pk)
    return render(request, "relief/user_form.html", {"form": form, "creating": True})


@requires("relief.view_user")
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(_users(request, "view").select_related("area"), pk=pk)
    roles = user.roles.select_related("area__parent")
    events = (
        AuditEvent.objects.restrict(request.user, "view")
        .filter(target_type=ContentType.objects.get_for_model(User), target_id=str(user.pk))
        .select_related("actor")[:20]
    )
    can_grant = request.user.has_perm("relief.add_roleassignment")
    return render(
        request,
        "relief/user_detail.html",
        {
            "account": user,
            "roles": roles,
            "events": events,
            "grant_form": RoleGrantForm(actor=request.user, user=user) if can_grant else None,
            "can_change": request.user.has_perm("relief.change_user", user),
            "can_revoke": request.user.has_perm("relief.delete_roleassignment"),
        },
    )


@requires("relief.change_user")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(_users(request, "change").select_related("area"), pk=pk)
    form = UserEditForm(request.POST or None, actor=request.user, user=user)
    if form.is_valid():
        try:
            services.update_user(request.user, user, **form.cleaned_data)
        except services.AdministrationError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("user_detail", pk=user.pk)
    return render(request, "relief/user_form.html", {"form": form, "account": user})


@requires("relief.change_user")
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(_users(request, "change"), pk=pk)
    form = SetPasswordForm(user, request.POST or None)
    if form.is_valid():
        services.set_password(request.user, user, form.cleaned_data["new_password1"])
        messages.success(request, _("Password set."))
        return redirect("user_detail", pk=user.pk)
    return render(request, "relief/user_password.html", {"form": form, "account": user})


@requires("relief.add_roleassignment")
@require_POST
def role_grant(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(_users(request, "view"), pk=pk)
    form = RoleGrantForm(request.POST, actor=request.user, user=user)
    if form.is_valid():
        try:
            services.grant_role(request.user, user, **form.cleaned_data)
        except services.AdministrationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Role granted."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("user_detail", pk=user.pk)


@requires("relief.delete_roleassignment")
@require_POST
def role_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(
        RoleAssignment.objects.restrict(request.user, "delete").select_related("user", "area"),
        pk=pk,
    )
    try:
        services.revoke_role(request.user, assignment, reason=request.POST.get("reason", ""))
    except services.AdministrationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Role revoked."))
    return redirect("user_detail", pk=assignment.user_id)
