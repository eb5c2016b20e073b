"""The admin's export of the registry (django-import-export)."""

from __future__ import annotations

from django.urls import reverse

from recipients.resources import HouseholdResource, PersonResource


def test_it_exports_households_with_their_village(household_a):
    data = HouseholdResource().export()
    assert data.headers == ["number", "村/社区", "村代码", "address", "created_at"]
    row = dict(zip(data.headers, data[0], strict=True))
    assert row["number"] == household_a.number
    assert row["村/社区"] == household_a.village.name


def test_it_exports_people_with_their_household(household_a):
    data = PersonResource().export()
    head = household_a.members.get(relation="head")
    rows = [dict(zip(data.headers, r, strict=True)) for r in data]
    assert {"户编号": household_a.number, "id_number": head.id_number}.items() <= rows[0].items()


def test_it_offers_the_export_to_the_superuser_only(client, people, household_a):
    url = reverse("admin:recipients_household_export")
    client.force_login(people.superuser)
    assert client.get(url).status_code == 200
    client.force_login(people.admin)
    assert client.get(url)["Location"].startswith("/admin/login/")
