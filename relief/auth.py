"""Authentication backend: permissions come only from the user's roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from relief import scoping


class RoleBackend(ModelBackend):
    """Passwords as Django checks them; permissions through roles.

    Model-level: the user holds a permission if any of their roles' groups does.
    Object-level: only if a role holding it covers the record's area
    (scoping.allows). Direct per-user permissions are not used: every right
    must come from a role bound to an area.
    """

    def get_user_permissions(self, user_obj: Any, obj: models.Model | None = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: models.Model | None = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_group_permissions(user_obj)
        return scoping.model_permissions(user_obj)

    def get_all_permissions(self, user_obj: Any, obj: models.Model | None = None) -> set[str]:
        return self.get_group_permissions(user_obj, obj)

    def has_perm(self, user_obj: Any, perm: str, obj: models.Model | None = None) -> bool:
        if not user_obj.is_active:
            return False
        if obj is None:
            return perm in self.get_all_permissions(user_obj)
        return scoping.allows(user_obj, perm, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return user_obj.is_active and any(
            perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj)
        )


def record_visit(sender: Any, user: Any, **kwargs: Any) -> None:
    """On sign-in the last sign-in becomes the previous visit (the overview's
    "changed since"), then last_login moves to now. It stands in for Django's
    update_last_login, which would overwrite last_login before it is read."""
    user.previous_visit = user.last_login
    user.last_login = timezone.now()
    user.save(update_fields=["previous_visit", "last_login"])


# -- sign-in audit ------------------------------------------------------------------
# Connected in relief.apps.ReliefConfig.ready() to Django's auth signals. Each
# event names who (the account), when (the event's time) and from where (the
# address, as the login throttle sees it). A failed attempt keeps the user name
# that was typed and never the password.

USERNAME_MAX = 150  # the longest user name Django accepts; longer input is not one


def forwarded_ip(request: HttpRequest) -> str | None:
    """Behind the proxy (BEHIND_PROXY=1, AXES_CLIENT_IP_CALLABLE): the address
    the proxy saw, the last entry of X-Forwarded-For (our nginx sets it to
    $remote_addr; entries before the last could be typed by the client).
    Without it every sign-in would come from the proxy's own address, and
    five wrong passwords would lock the user name out for everyone."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.META.get("REMOTE_ADDR")


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address, as django-axes counts it for the lockout."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request)


def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    from relief import audit

    audit.record(user, "user.login", user, ip=client_ip(request))


def record_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "pk", None):
        return  # signing out without being signed in
    from relief import audit

    audit.record(user, "user.logout", user, ip=client_ip(request))


def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A refused sign-in. The event is filed under the account when the user
    name is one (its administrators and auditors then see it), else under no
    area (superusers only). Only the user name is taken from `credentials`:
    Django has masked the password there, and it is not kept even so."""
    from relief import audit

    field = get_user_model().USERNAME_FIELD
    tried = str(credentials.get(field) or "")[:USERNAME_MAX]
    account = get_user_model().objects.filter(**{field: tried}).first() if tried else None
    audit.record(
        None,
        "user.login_failed",
        account,
        username=tried,
        ip=client_ip(request),
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )
