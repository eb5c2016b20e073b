"""Authentication backend: permissions come only from the user's roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import models
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
