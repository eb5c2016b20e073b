"""The role table in relief/roles.py is what the groups hold after migrate."""

from django.contrib.auth.models import Group

from relief.choices import Role
from relief.roles import ROLE_PERMISSIONS


def test_every_role_has_a_group_holding_exactly_its_permissions(db):
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == perms, f"{role}: named in the table but missing: {perms - held}"
