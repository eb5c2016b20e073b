"""Changes to areas, accounts and roles. Views call these; each checks the
actor's rights on the areas involved, runs in a transaction with the changed
rows locked, and writes an audit event (relief.audit.record)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from relief import scoping
from relief.areacodes import LEVELS_TOP_DOWN
from relief.audit import record
from relief.choices import AreaLevel, Role
from relief.models import Area, RoleAssignment, User
from relief.models.areas import find_parent
from relief.roles import ROLE_LEVELS


class AdministrationError(Exception):
    """A refusal to show the user, in their language."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _require(actor: User, perm: str, area: Area | None) -> None:
    """The actor must hold `perm` over `area`; an area-less record (a top-level
    area, a superuser's account) is for superusers only."""
    if area is None:
        if not (actor.is_active and actor.is_superuser):
            raise PermissionDenied
    elif not actor.has_perm(perm, area):
        raise PermissionDenied


# Areas ----------------------------------------------------------------------


def create_area(actor: User, *, code: str, name: str) -> Area:
    area = Area(code=code, name=name.strip())
    try:
        area.clean()  # level and parent, from the code
        area.clean_fields(exclude=["level", "parent"])
    except ValidationError as exc:
        raise AdministrationError(" ".join(exc.messages), field="code") from None
    _require(actor, "relief.add_area", area.parent)
    with transaction.atomic():
        try:
            area.save()
        except IntegrityError:
            raise AdministrationError(
                _("Area code %(code)s is already on file.") % {"code": code}, field="code"
            ) from None
        attach_orphans([area])
        record(actor, "area.create", area, to_state=area.name)
    return area


def rename_area(actor: User, area: Area, *, name: str, reason: str = "") -> Area:
    _require(actor, "relief.change_area", area)
    with transaction.atomic():
        locked = Area.objects.select_for_update().get(pk=area.pk)
        old = locked.name
        if old == name.strip():
            return locked
        locked.name = name.strip()
        locked.save(update_fields=["name"])
        record(actor, "area.rename", locked, from_state=old, to_state=locked.name, reason=reason)
    return locked


def attach_orphans(new_areas: list[Area]) -> None:
    """Top-level areas filed before an area above them existed (a county first,
    its city later) get that parent now. Top-level areas are few."""
    for area in Area.objects.filter(parent__isnull=True).exclude(pk__in=[a.pk for a in new_areas]):
        parent = find_parent(area.code)
        if parent is not None:
            area.parent = parent
            area.save(update_fields=["parent"])


# Accounts ---------------------------------------------------------------------


def create_user(
    actor: User, *, username: str, name: str, area: Area, password: str, phone: str = ""
) -> User:
    _require(actor, "relief.add_user", area)
    user = User(username=username.strip(), name=name.strip(), phone=phone.strip(), area=area)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AdministrationError(" ".join(exc.messages), field="password1") from None
    user.set_password(password)
    with transaction.atomic():
        if User.objects.filter(username__iexact=user.username).exists():
            raise AdministrationError(
                _("The user name %(username)s is taken.") % {"username": user.username},
                field="username",
            )
        user.save()
        record(actor, "user.create", user, to_state=user.username)
    return user


def update_user(
    actor: User,
    user: User,
    *,
    name: str,
    phone: str,
    area: Area,
    is_active: bool,
    id_number: str | None = None,
) -> User:
    """Change an account's details. Moving it to another office needs rights
    over both, and every role it holds must still lie inside the new office."""
    _require(actor, "relief.change_user", user.area)
    if area.pk != user.area_id:
        _require(actor, "relief.change_user", area)
    if user.pk == actor.pk and not is_active:
        raise AdministrationError(_("You cannot deactivate your own account."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        outside = [r for r in locked.roles.select_related("area") if not area.contains(r.area)]
        if outside:
            raise AdministrationError(
                _("This account holds roles outside %(area)s: %(roles)s. Revoke them first.")
                % {"area": area.name, "roles": ", ".join(str(r) for r in outside)},
                field="area",
            )
        fields = ["name", "phone", "area_id", "is_active", "id_number"]
        before = {f: getattr(locked, f) for f in fields}
        locked.name, locked.phone, locked.area, locked.is_active = name, phone, area, is_active
        if id_number is not None:
            locked.id_number = id_number
        after = {f: getattr(locked, f) for f in fields}
        if after == before:
            return locked
        locked.save(update_fields=["name", "phone", "area", "is_active", "id_number"])
        changed = [f for f in fields if before[f] != after[f]]
        record(
            actor,
            "user.update",
            locked,
            before={f: before[f] for f in changed},
            after={f: after[f] for f in changed},
        )
    return locked


def set_password(actor: User, user: User, password: str) -> None:
    _require(actor, "relief.change_user", user.area)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        record(actor, "user.set_password", locked)


# Roles ------------------------------------------------------------------------


def grant_role(actor: User, user: User, *, role: str, area: Area) -> RoleAssignment:
    """Give `user` a role over `area`. The area must be of a level the role is
    held at, lie inside the account's office, and inside the actor's own reach."""
    _require(actor, "relief.add_roleassignment", area)
    if role not in Role.values:
        raise AdministrationError(_("Unknown role."), field="role")
    if area.level not in ROLE_LEVELS[role]:
        raise AdministrationError(
            _("A %(role)s is appointed for a %(levels)s, not a %(level)s.")
            % {
                "role": Role(role).label,
                "levels": " / ".join(
                    str(AreaLevel(lv).label) for lv in LEVELS_TOP_DOWN if lv in ROLE_LEVELS[role]
                ),
                "level": area.get_level_display(),
            },
            field="area",
        )
    if user.area is None or not user.area.contains(area):
        raise AdministrationError(
            _("%(area)s is outside this account's office area.") % {"area": area.name},
            field="area",
        )
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, area=area, defaults={"granted_by": actor}
        )
        if not created:
            raise AdministrationError(_("The account already holds this role there."))
        record(actor, "role.grant", user, area=area, to_state=f"{role}@{area.code}")
    scoping.forget(user)
    return assignment


def revoke_role(actor: User, assignment: RoleAssignment, *, reason: str = "") -> None:
    _require(actor, "relief.delete_roleassignment", assignment.area)
    if assignment.user_id == actor.pk and assignment.role == Role.ADMINISTRATOR:
        raise AdministrationError(_("You cannot revoke your own administrator role."))
    with transaction.atomic():
        locked = RoleAssignment.objects.select_for_update().select_related("user", "area")
        locked = locked.filter(pk=assignment.pk).first()
        if locked is None:
            return  # already revoked: revoking twice is not an error
        record(
            actor,
            "role.revoke",
            locked.user,
            area=locked.area,
            from_state=f"{locked.role}@{locked.area.code}",
            reason=reason,
        )
        locked.delete()
    scoping.forget(assignment.user)
