"""Accounts and roles, managed by administrators inside their own areas."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from relief import services
from relief.choices import Role
from relief.models import AuditEvent, RoleAssignment, User


def test_it_creates_an_account_in_the_administrators_area(client, people, areas):
    client.force_login(people.admin)
    response = client.post(
        reverse("user_create"),
        {
            "username": "new_clerk",
            "name": "新专干",
            "phone": "",
            "area": areas.a.pk,
            "password1": "Ch4nge-me-please",
            "password2": "Ch4nge-me-please",
        },
    )
    user = User.objects.get(username="new_clerk")
    assert response.status_code == 302 and response.url == reverse("user_detail", args=[user.pk])
    assert user.area == areas.a and user.check_password("Ch4nge-me-please")
    assert AuditEvent.objects.filter(action="user.create", actor=people.admin).exists()


def test_it_offers_only_areas_inside_the_administrators_reach(client, people, areas):
    client.force_login(people.admin_t2)
    page = client.get(reverse("user_create"))
    assert "东岭村" in page.text and "东关村" not in page.text
    response = client.post(
        reverse("user_create"),
        {
            "username": "x",
            "name": "x",
            "area": areas.a.pk,
            "password1": "Ch4nge-me-please",
            "password2": "Ch4nge-me-please",
        },
    )
    assert response.status_code == 200 and response.context["form"].errors["area"]
    assert not User.objects.filter(username="x").exists()


def test_it_refuses_a_weak_password_with_the_reason(client, people, areas):
    client.force_login(people.admin)
    response = client.post(
        reverse("user_create"),
        {
            "username": "weak",
            "name": "x",
            "area": areas.a.pk,
            "password1": "12345678",
            "password2": "12345678",
        },
    )
    assert "密码" in " ".join(response.context["form"].errors["password1"])
    assert not User.objects.filter(username="weak").exists()


def test_it_grants_a_role_at_the_right_level_only(people, areas):
    user = User.objects.create_user("helper", name="助手", area=areas.t1)
    with pytest.raises(services.AdministrationError, match="应设在"):
        services.grant_role(people.admin, user, role=Role.VILLAGE_CLERK, area=areas.t1)
    with pytest.raises(services.AdministrationError, match="不在该账号所属单位的范围内"):
        services.grant_role(people.admin, user, role=Role.VILLAGE_CLERK, area=areas.c)
    services.grant_role(people.admin, user, role=Role.VILLAGE_CLERK, area=areas.a)
    assert user.has_perm("recipients.add_household")
    event = AuditEvent.objects.get(action="role.grant")
    assert event.to_state == f"village_clerk@{areas.a.code}" and event.area == areas.a


def test_it_refuses_granting_outside_the_administrators_reach(people, areas):
    user = User.objects.create_user("far", name="远", area=areas.county)
    with pytest.raises(PermissionDenied):
        services.grant_role(people.admin_t2, user, role=Role.VILLAGE_CLERK, area=areas.a)
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_it_revokes_a_role_and_the_rights_go_with_it(client, people, areas):
    assignment = people.clerk_a.roles.get()
    client.force_login(people.admin)
    response = client.post(reverse("role_revoke", args=[assignment.pk]))
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    clerk = User.objects.get(pk=people.clerk_a.pk)
    assert not clerk.has_perm("recipients.view_household")
    assert AuditEvent.objects.filter(
        action="role.revoke", from_state__startswith="village_clerk"
    ).exists()


def test_it_hides_accounts_of_other_areas_and_superusers(client, people):
    client.force_login(people.admin_t2)
    page = client.get(reverse("user_list"))
    assert "township_clerk_t2" in page.text
    assert "clerk_a" not in page.text and "superuser" not in page.text
    assert client.get(reverse("user_detail", args=[people.clerk_a.pk])).status_code == 404
    assert (
        client.post(reverse("role_revoke", args=[people.clerk_a.roles.get().pk])).status_code == 404
    )


def test_it_refuses_moving_an_account_away_from_its_roles(client, people, areas):
    client.force_login(people.admin)
    response = client.post(
        reverse("user_edit", args=[people.clerk_a.pk]),
        {"name": "clerk_a", "phone": "", "area": areas.c.pk, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "请先撤销" in response.text
    people.clerk_a.refresh_from_db()
    assert people.clerk_a.area == areas.a


def test_it_deactivates_an_account_which_then_cannot_sign_in(client, people):
    client.force_login(people.admin)
    client.post(
        reverse("user_edit", args=[people.clerk_a.pk]),
        {"name": "clerk_a", "phone": "", "area": people.clerk_a.area_id},
    )
    people.clerk_a.refresh_from_db()
    assert not people.clerk_a.is_active
    client.logout()
    response = client.post(reverse("login"), {"username": "clerk_a", "password": "pw-not-used"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_it_sets_another_users_password(client, people):
    client.force_login(people.admin)
    response = client.post(
        reverse("user_password", args=[people.clerk_a.pk]),
        {"new_password1": "Another-g00d-one", "new_password2": "Another-g00d-one"},
    )
    assert response.status_code == 302
    people.clerk_a.refresh_from_db()
    assert people.clerk_a.check_password("Another-g00d-one")
    assert AuditEvent.objects.filter(action="user.set_password").exists()


def test_it_will_not_let_an_administrator_lock_themselves_out(people, areas):
    with pytest.raises(services.AdministrationError):
        services.update_user(
            people.admin, people.admin, name="a", phone="", area=areas.county, is_active=False
        )
    with pytest.raises(services.AdministrationError):
        services.revoke_role(people.admin, people.admin.roles.get())
