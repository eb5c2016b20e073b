from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from relief.choices import Role
from relief.scoping import ScopedQuerySet


def _valid_id_number(value: str) -> None:
    from relief import idnumber

    idnumber.validate(value)


class UserManager(DjangoUserManager.from_queryset(ScopedQuerySet)):
    """Django's user manager (create_user, create_superuser) with `restrict()`."""


class User(AbstractUser):
    """An account. Chinese names are one field, so first/last name are dropped.

    `area` is the office the account belongs to: administrators of that area
    (or above) manage it, and every role of the user lies inside it.
    """

    first_name = None
    last_name = None
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # Reviewers step aside (回避) from applications of their own household:
    # the workflow finds it by this number among the household's members.
    id_number = models.CharField(
        _("ID number"),
        max_length=18,
        blank=True,
        validators=[_valid_id_number],
        help_text=_("Keeps the user from reviewing their own household's applications."),
    )
    area = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("office area"),
        help_text=_("The area whose administrators manage this account."),
    )

    # The sign-in before the current one: the overview lists what changed since.
    previous_visit = models.DateTimeField(
        _("previous visit"), null=True, blank=True, editable=False
    )

    objects = UserManager()
    scope_path = "area"
    REQUIRED_FIELDS = ["name"]

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return f"{self.name} ({self.username})" if self.name else self.username

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A role a user holds in one area (and everything below it)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=32, choices=Role)
    area = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        related_name="role_assignments",
        verbose_name=_("area"),
    )
    granted_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "area"

    class Meta:
        ordering = ["user", "role"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "area"], name="unique_role_per_area"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.area}"
