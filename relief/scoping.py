"""The one path by which records are limited to a user's areas.

A user holds roles, each bound to one area. A role's Django group says *what* the
role may do (permissions); the role's area says *where*: the area and everything
below it. So "where may this user do X" is the set of areas of the roles whose
group holds permission X, and a record is inside when its area's code starts
with one of those areas' significant digits (see relief.areacodes).

Every queryset a view, export or form field shows goes through
`ScopedQuerySet.restrict()`; every check on one record through `allows()`.
Each model says how to reach its area with `scope_path` ("" for Area itself).

A model may also set `scope_covers_below = True` (campaigns): such a record
applies to its whole subtree, so *viewing* it is allowed to users whose area
lies below its area as well, e.g. a village clerk sees the township's campaign.
Changing it still needs a role at or above its area.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any, Self

from django.contrib.auth.models import AnonymousUser, Permission
from django.db import models

if TYPE_CHECKING:
    from relief.models import Area, User

    AnyUser = User | AnonymousUser


@dataclass(frozen=True)
class Grant:
    """One role of a user, with the area it covers."""

    role: str
    area_id: int
    area_code: str
    area_name: str
    prefix: str

    @property
    def role_label(self) -> str:
        from relief.choices import Role

        return str(Role(self.role).label)


def grants(user: AnyUser) -> tuple[Grant, ...]:
    """The user's roles; fetched once per request and kept on the user object."""
    if not user.is_authenticated:
        return ()
    cached = getattr(user, "_scope_grants", None)
    if cached is None:
        from relief.areacodes import prefix_of
        from relief.models import RoleAssignment

        rows = RoleAssignment.objects.filter(user=user).values_list(
            "role", "area_id", "area__code", "area__name"
        )
        cached = tuple(
            Grant(role, area_id, code, name, prefix_of(code)) for role, area_id, code, name in rows
        )
        user._scope_grants = cached
    return cached


def role_permissions(user: AnyUser) -> dict[str, frozenset[str]]:
    """For each role the user holds, the permissions ("app.codename") of its group."""
    cached = getattr(user, "_scope_role_perms", None)
    if cached is None:
        roles = {grant.role for grant in grants(user)}
        found: dict[str, set[str]] = {role: set() for role in roles}
        if roles:
            rows = Permission.objects.filter(group__name__in=roles).values_list(
                "group__name", "content_type__app_label", "codename"
            )
            for role, app_label, codename in rows:
                found[role].add(f"{app_label}.{codename}")
        cached = {role: frozenset(perms) for role, perms in found.items()}
        user._scope_role_perms = cached
    return cached


def forget(user: AnyUser) -> None:
    """Drop what this user object remembers, after their roles change."""
    for attr in ("_scope_grants", "_scope_role_perms", "_scope_area_ids"):
        if hasattr(user, attr):
            delattr(user, attr)


# Above this many areas the ids stay a subquery (a province-wide view): a
# literal list that long costs more to send and plan than it saves.
AREA_ID_LIST_LIMIT = 1000


def area_ids(user: AnyUser, inside: models.Q) -> list[int] | models.QuerySet:
    """The ids of the areas matching `inside`, as a list when there are few, kept
    on the user object for the request.

    A list, not a subquery: the database then knows which areas and so how many
    records will match. With a subquery PostgreSQL guessed, and a village
    clerk's household list (ORDER BY number LIMIT 25) walked the whole number
    index of a million households, filtering (0.8 s); with the village's id it
    reads its 25 rows from the (village, number) index (0.2 ms).
    """
    from relief.models import Area

    cache: dict[str, Any] = getattr(user, "_scope_area_ids", None) or {}
    key = str(inside)  # a Q's str() spells out its conditions and values
    if key not in cache:
        ids = list(
            Area.objects.filter(inside).values_list("pk", flat=True)[: AREA_ID_LIST_LIMIT + 1]
        )
        cache[key] = (
            ids if len(ids) <= AREA_ID_LIST_LIMIT else Area.objects.filter(inside).values("pk")
        )
        if user.is_authenticated:
            user._scope_area_ids = cache
    return cache[key]


def model_permissions(user: AnyUser) -> set[str]:
    """Every permission the user holds somewhere, whatever the area."""
    return set().union(*role_permissions(user).values()) if user.is_authenticated else set()


def area_prefixes(user: AnyUser, perm: str) -> list[str] | None:
    """The significant digits of the areas where the user holds `perm`.

    None means everywhere (an active superuser); an empty list means nowhere.
    Nested areas collapse into the outer one.
    """
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    perms = role_permissions(user)
    found = sorted({g.prefix for g in grants(user) if perm in perms.get(g.role, ())})
    return [p for p in found if not any(p != q and p.startswith(q) for q in found)]


def perm_name(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def scope_area(obj: models.Model) -> Area | None:
    """The area a record belongs to, following its model's scope_path."""
    path = type(obj).scope_path
    current: Any = obj
    for attr in path.split("__") if path else ():
        current = getattr(current, attr)
        if current is None:
            return None
    return current


def covering_codes(user: AnyUser, perm: str) -> set[str]:
    """The codes of the areas above the user's areas where they hold `perm`:
    the records there that cover their area (scope_covers_below)."""
    from relief.areacodes import ancestor_codes

    perms = role_permissions(user)
    return {
        code
        for grant in grants(user)
        if perm in perms.get(grant.role, ())
        for code in ancestor_codes(grant.area_code)
    }


def _reaches_down(model: type[models.Model], perm: str) -> bool:
    return getattr(model, "scope_covers_below", False) and perm.split(".")[-1].startswith("view_")


def allows(user: AnyUser, perm: str, obj: models.Model) -> bool:
    """May the user do `perm` on this record (or, for an Area, inside this area)?"""
    prefixes = area_prefixes(user, perm)
    if prefixes is None:
        return True
    area = scope_area(obj)
    if area is None:
        return False
    if any(area.code.startswith(p) for p in prefixes):
        return True
    return _reaches_down(type(obj), perm) and area.code in covering_codes(user, perm)


class ScopedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may see or act on."""

    def restrict(
        self,
        user: AnyUser,
        action: str = "view",
        *,
        perm: str | None = None,
        within: Area | None = None,
    ) -> Self:
        """Records inside the areas where the user holds `perm` (and inside
        the area `within`, when given).

        `perm` defaults to "<app>.<action>_<model>" for this queryset's model;
        pass another model's permission to ask, say, which villages a user may
        add households in: Area.objects.restrict(user, perm="recipients.add_household").
        """

        perm = perm or perm_name(self.model, action)
        prefixes = area_prefixes(user, perm)
        path = self.model.scope_path
        result = self
        if within is not None and not (
            prefixes is not None
            and not _reaches_down(self.model, perm)
            and all(p.startswith(within.prefix) for p in prefixes)
        ):
            # Unless everything the user may see lies inside `within` already
            # (a county official at the county: one filter, not the same twice).
            if path:
                whole = len(within.prefix) == len(within.code)  # a village: itself only
                inner = (
                    [within.pk] if whole else area_ids(user, models.Q(code__prefix=within.prefix))
                )
                result = result.filter(**{f"{path}__in": inner})
            else:
                result = result.filter(code__prefix=within.prefix)
        if prefixes is None:
            return result
        if not prefixes:
            return result.none()
        inside = reduce(or_, (models.Q(code__prefix=p) for p in prefixes))
        down = _reaches_down(self.model, perm)
        if down:
            inside |= models.Q(code__in=covering_codes(user, perm))
        if not path:
            return result.filter(inside)
        # Through the ids of the areas inside, so the database reads the records
        # from their area's index instead of joining every record to its area.
        # A village's prefix is its whole code: its grant already holds its id.
        leaves = {g.prefix: g.area_id for g in grants(user) if len(g.prefix) == len(g.area_code)}
        if not down and all(p in leaves for p in prefixes):
            return result.filter(**{f"{path}__in": [leaves[p] for p in prefixes]})
        return result.filter(**{f"{path}__in": area_ids(user, inside)})
