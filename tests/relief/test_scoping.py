"""The one scoping path: restrict() for lists, allows() for one record."""

from recipients.models import Household, Person
from relief import scoping
from relief.choices import Role
from relief.models import Area, RoleAssignment
from tests.conftest import make_user


def numbers(qs):
    return sorted(h.number for h in qs)


def test_it_shows_a_village_clerk_only_their_village(people, household_a, household_b, household_c):
    assert numbers(Household.objects.restrict(people.clerk_a)) == [household_a.number]
    assert numbers(Household.objects.restrict(people.clerk_b)) == [household_b.number]


def test_it_shows_a_township_its_villages_and_the_county_everything(
    people, household_a, household_b, household_c
):
    assert numbers(Household.objects.restrict(people.township_clerk)) == numbers(
        [household_a, household_b]
    )
    assert numbers(Household.objects.restrict(people.township_clerk_t2)) == [household_c.number]
    everything = numbers([household_a, household_b, household_c])
    assert numbers(Household.objects.restrict(people.auditor)) == everything
    assert numbers(Household.objects.restrict(people.superuser)) == everything


def test_it_shows_nothing_to_a_role_without_the_permission(people, household_a):
    assert not Household.objects.restrict(people.admin).exists()  # administrators: no residents
    assert not Household.objects.restrict(people.nobody).exists()
    assert not Household.objects.restrict(people.supervisor, "change").exists()


def test_it_scopes_members_through_their_household(people, household_a, household_b):
    names = set(Person.objects.restrict(people.clerk_a).values_list("name", flat=True))
    assert names == {"张三", "张小三"}


def test_it_answers_for_one_record_the_same_way(people, household_a):
    assert scoping.allows(people.clerk_a, "recipients.change_household", household_a)
    assert not scoping.allows(people.clerk_b, "recipients.change_household", household_a)
    assert scoping.allows(people.supervisor, "recipients.view_household", household_a)
    assert not scoping.allows(people.supervisor, "recipients.change_household", household_a)
    # The same, through Django's has_perm and the role backend.
    assert people.clerk_a.has_perm("recipients.change_household", household_a)
    assert not people.clerk_b.has_perm("recipients.change_household", household_a)


def test_it_combines_roles_each_with_its_own_area_and_rights(areas, household_a, household_b):
    # A clerk of village B who also audits township T1 reads A but cannot edit it.
    user = make_user("both", Role.VILLAGE_CLERK, areas.b)
    RoleAssignment.objects.create(user=user, role=Role.AUDITOR, area=areas.t1)
    assert numbers(Household.objects.restrict(user, "view")) == numbers([household_a, household_b])
    assert numbers(Household.objects.restrict(user, "change")) == [household_b.number]


def test_it_narrows_to_an_area_but_never_widens(
    people, areas, household_a, household_b, household_c
):
    # The county auditor looking at township T1 sees T1's households only.
    assert numbers(Household.objects.restrict(people.auditor, within=areas.t1)) == numbers(
        [household_a, household_b]
    )
    assert numbers(Household.objects.restrict(people.superuser, within=areas.t2)) == [
        household_c.number
    ]
    # The clerk of village A looking at the whole county still sees village A only,
    # and nothing when looking at village B or at the other township.
    assert numbers(Household.objects.restrict(people.clerk_a, within=areas.county)) == [
        household_a.number
    ]
    assert not Household.objects.restrict(people.clerk_a, within=areas.b).exists()
    assert not Household.objects.restrict(people.clerk_a, within=areas.t2).exists()
    # Areas themselves (no scope path) are narrowed by their own code.
    inside = Area.objects.restrict(
        people.auditor, perm="recipients.view_household", within=areas.t1
    )
    assert set(inside.values_list("code", flat=True)) == {areas.t1.code, areas.a.code, areas.b.code}


def test_it_collapses_nested_areas(areas):
    user = make_user("nested", Role.AUDITOR, areas.county)
    RoleAssignment.objects.create(user=user, role=Role.AUDITOR, area=areas.t1)
    assert scoping.area_prefixes(user, "recipients.view_household") == ["130123"]


def test_it_restricts_form_choices_by_another_models_permission(people, areas):
    villages = Area.objects.restrict(people.township_clerk, perm="recipients.add_household")
    assert set(villages.filter(level="village")) == {areas.a, areas.b}


def test_it_refuses_an_inactive_user_everything(people, household_a):
    people.clerk_a.is_active = False
    assert not Household.objects.restrict(people.clerk_a).exists()
    assert not people.clerk_a.has_perm("recipients.view_household")


def test_it_grants_nothing_through_direct_user_permissions(people, household_a):
    from django.contrib.auth.models import Permission

    people.nobody.user_permissions.add(Permission.objects.get(codename="view_household"))
    scoping.forget(people.nobody)
    assert not people.nobody.has_perm("recipients.view_household")
    assert not Household.objects.restrict(people.nobody).exists()


def test_it_looks_up_roles_once_per_request(people, django_assert_num_queries):
    user = people.township_clerk
    with django_assert_num_queries(2):  # the roles, then their groups' permissions
        for _ in range(5):
            scoping.area_prefixes(user, "recipients.view_household")
            user.has_perm("recipients.add_household")
