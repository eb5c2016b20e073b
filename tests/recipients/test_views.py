"""The registry's pages, as clerks and reviewers use them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recipients.models import Household, Person
from relief import demo
from tests.conftest import make_household, valid_id

LIST = reverse("recipients:household_list")
CREATE = reverse("recipients:household_create")


def as_user(client, user):
    client.force_login(user)
    return client


def member_rows(*rows, existing=0):
    """POST data for the member formset: rows are dicts of member fields."""
    data = {
        "members-TOTAL_FORMS": str(len(rows)),
        "members-INITIAL_FORMS": str(existing),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        base = {
            "relation": "head",
            "disability_grade": "",
            "locally_registered": "on",
            "phone": "",
            "notes": "",
        }
        for key, value in {**base, **row}.items():
            if value is not None:
                data[f"members-{i}-{key}"] = value
    return data


# The list ---------------------------------------------------------------------


def test_it_lists_only_the_clerks_village(client, people, household_a, household_b):
    page = as_user(client, people.clerk_a).get(LIST)
    assert page.status_code == 200
    assert household_a.number in page.text and household_b.number not in page.text
    assert "张三" in page.text and "李四" not in page.text


def test_it_masks_id_numbers_in_the_list(client, people, household_a):
    page = as_user(client, people.clerk_a).get(LIST)
    full = household_a.head.id_number
    assert full not in page.text
    assert f"{full[:6]}********{full[-4:]}" in page.text


def test_it_searches_by_name_id_and_household_number(client, people, household_a, household_b):
    client = as_user(client, people.township_clerk)
    assert household_a.number in client.get(LIST, {"q": "张小"}).text
    assert household_b.number not in client.get(LIST, {"q": "张小"}).text
    head_id = household_b.head.id_number
    by_id = client.get(LIST, {"q": head_id[:14]}).text
    assert household_b.number in by_id and household_a.number not in by_id
    assert household_a.number in client.get(LIST, {"q": household_a.number}).text


def test_it_does_not_find_households_outside_the_area_by_search(client, people, household_c):
    page = as_user(client, people.clerk_a).get(LIST, {"q": "王五"})
    assert household_c.number not in page.text
    assert "没有符合条件的家庭" in page.text


def test_it_filters_by_village_and_disability(client, people, areas, household_a, household_b):
    client = as_user(client, people.township_clerk)
    page = client.get(LIST, {"village": areas.b.pk})
    assert household_b.number in page.text and household_a.number not in page.text
    Person.objects.filter(name="张小三").update(disability_grade="2")
    page = client.get(LIST, {"disabled": "yes"})
    assert household_a.number in page.text and household_b.number not in page.text
    page = client.get(LIST, {"disabled": "no"})
    assert household_b.number in page.text and household_a.number not in page.text


def test_it_offers_only_the_users_villages_as_filter_choices(client, people, areas):
    page = as_user(client, people.township_clerk).get(LIST)
    assert "东关村" in page.text and "西关村" in page.text and "东岭村" not in page.text


def test_it_ignores_a_filter_choice_outside_the_area(client, people, areas, household_c):
    page = as_user(client, people.clerk_a).get(LIST, {"village": areas.c.pk})
    assert household_c.number not in page.text


def test_it_returns_only_the_table_to_htmx(client, people, household_a):
    page = as_user(client, people.clerk_a).get(
        LIST, {"q": "张"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="household-table"
    )
    assert page.text.lstrip().startswith('<div id="household-table">')
    assert "<html" not in page.text


def test_it_survives_a_malformed_page_or_size(client, people, household_a):
    client = as_user(client, people.clerk_a)
    for params in ({"page": "abc"}, {"page": "999"}, {"per_page": "7"}, {"per_page": "x"}):
        assert client.get(LIST, params).status_code == 200


def _list_queries(client, per_page: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST, {"per_page": per_page})
    return len(queries), page.text.count("/households/") - page.text.count("/households/new/")


# The baseline: session, user, roles, role permissions, the ids of the areas
# inside (relief.scoping.area_ids), township and village choices, the count, the
# page, its members. Whatever the page size.
LIST_QUERIES = 10


@pytest.mark.parametrize("user", ["township_clerk", "superuser"])
def test_it_lists_10_or_100_rows_in_the_same_number_of_queries(client, people, areas, user):
    demo.generate_households([areas.a, areas.b], 120)
    client = as_user(client, getattr(people, user))
    client.get(LIST)  # the first request also refreshes the session's expiry
    small, rows_small = _list_queries(client, 10)
    large, rows_large = _list_queries(client, 100)
    assert rows_small >= 10 and rows_large >= 100  # the pages really hold those rows
    assert small == large
    if user == "township_clerk":
        assert large == LIST_QUERIES


# One household ------------------------------------------------------------------


def test_it_shows_a_household_with_full_ids_and_its_history(client, people, household_a):
    page = as_user(client, people.clerk_a).get(
        reverse("recipients:household_detail", args=[household_a.pk])
    )
    assert page.status_code == 200
    assert household_a.head.id_number in page.text  # in the office, in full
    assert "变更记录" in page.text and "新增" in page.text


def test_it_refuses_a_household_of_another_village(client, people, household_a):
    client = as_user(client, people.clerk_b)
    assert (
        client.get(reverse("recipients:household_detail", args=[household_a.pk])).status_code == 404
    )
    assert (
        client.get(reverse("recipients:household_edit", args=[household_a.pk])).status_code == 404
    )


def test_it_renders_the_history_in_a_fixed_number_of_queries(client, people, areas):
    household = make_household(people.superuser, areas.a, "甲", "乙", "丙", "丁")
    url = reverse("recipients:household_detail", args=[household.pk])
    client = as_user(client, people.clerk_a)
    client.get(url)  # the first request also refreshes the session's expiry
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(5):
        person = household.members.last()
        person.phone = f"1380013800{i}"
        person.save()
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(few)


# Filing and editing ----------------------------------------------------------


def test_it_files_a_household_from_the_form(client, people, areas):
    head, spouse = valid_id(male=True), valid_id(male=False)
    response = as_user(client, people.clerk_a).post(
        CREATE,
        {
            "village": areas.a.pk,
            "address": "东关村东大街9号",
            "notes": "",
            **member_rows(
                {"name": "周一", "id_number": head},
                {
                    "name": "吴二",
                    "id_number": spouse.lower(),
                    "relation": "spouse",
                    "phone": "13912345678",
                },
            ),
        },
    )
    household = Household.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("recipients:household_detail", args=[household.pk])
    assert sorted(household.members.values_list("name", flat=True)) == ["吴二", "周一"]
    assert Person.objects.get(name="吴二").id_number == spouse.upper()


def test_it_shows_a_checksum_error_next_to_the_field_and_files_nothing(client, people, areas):
    good = valid_id()
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = as_user(client, people.clerk_a).post(
        CREATE,
        {
            "village": areas.a.pk,
            "address": "x",
            **member_rows(
                {"name": "周一", "id_number": good},
                {"name": "吴二", "id_number": wrong, "relation": "spouse"},
            ),
        },
    )
    assert response.status_code == 400
    assert "校验位（最后一位）与前17位不符" in response.text
    assert response.context["formset"].forms[1].errors["id_number"]
    assert not Household.objects.exists() and not Person.objects.exists()


def test_it_refuses_a_village_outside_the_clerks_area_in_the_form(client, people, areas):
    response = as_user(client, people.clerk_a).post(
        CREATE,
        {
            "village": areas.b.pk,
            "address": "x",
            **member_rows({"name": "周一", "id_number": valid_id()}),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["village"]
    assert not Household.objects.exists()


def test_it_points_to_the_existing_household_for_a_duplicate_id(client, people, areas, household_a):
    response = as_user(client, people.township_clerk).post(
        CREATE,
        {
            "village": areas.b.pk,
            "address": "x",
            **member_rows({"name": "张三", "id_number": household_a.head.id_number}),
        },
    )
    assert response.status_code == 400
    assert household_a.number in response.text
    assert Household.objects.count() == 1


def test_it_edits_a_household_with_a_reason_and_shows_the_change(
    client, people, areas, household_a
):
    client = as_user(client, people.clerk_a)
    members = list(household_a.members.order_by("id"))
    rows = [
        {
            "id": str(p.pk),
            "name": p.name,
            "id_number": p.id_number,
            "relation": p.relation,
            "household": str(household_a.pk),
        }
        for p in members
    ]
    rows[1]["phone"] = "13700001111"
    response = client.post(
        reverse("recipients:household_edit", args=[household_a.pk]),
        {
            "village": areas.a.pk,
            "address": "东关村新址",
            "notes": "",
            "reason": "入户核实",
            **member_rows(*rows, existing=2),
        },
    )
    assert response.status_code == 302, response.context and response.context["formset"].errors
    page = client.get(reverse("recipients:household_detail", args=[household_a.pk]))
    assert "入户核实" in page.text and "东关村新址" in page.text and "13700001111" in page.text


def test_it_checks_an_id_number_as_it_is_typed(client, people, household_a, household_c):
    client = as_user(client, people.clerk_a)
    url = reverse("recipients:check_id_number")
    good = valid_id(born=__import__("datetime").date(1980, 5, 6), male=False)
    assert "出生日期 1980-05-06，女" in client.get(url, {"members-0-id_number": good}).text
    assert (
        "校验位"
        in client.get(
            url, {"members-0-id_number": good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1"}
        ).text
    )
    assert (
        household_a.number
        in client.get(url, {"members-1-id_number": household_a.head.id_number}).text
    )
    outside = client.get(url, {"members-1-id_number": household_c.head.id_number}).text
    assert "东岭乡" in outside and household_c.number not in outside
    mine = household_a.head
    assert "✓" in client.get(url, {"members-0-id_number": mine.id_number, "exclude": mine.pk}).text
