"""`manage.py seed_demo`: the demo county, its accounts and households."""

from io import StringIO

from django.core.management import call_command

from recipients.models import Household, Person
from relief import demo, idnumber
from relief.choices import AreaLevel, Role
from relief.models import Area, RoleAssignment, User


def seed(households=60) -> str:
    out = StringIO()
    call_command("seed_demo", households=households, stdout=out)
    return out.getvalue()


def test_it_builds_the_county_accounts_and_households(db, settings):
    output = seed()
    assert Area.objects.filter(level=AreaLevel.TOWNSHIP).count() == 2
    assert Area.objects.filter(level=AreaLevel.VILLAGE).count() == 6
    assert Household.objects.count() == 60
    # One account per role per area the role is held at.
    assert RoleAssignment.objects.filter(role=Role.VILLAGE_CLERK).count() == 6
    assert RoleAssignment.objects.filter(role=Role.TOWNSHIP_CLERK).count() == 2
    assert RoleAssignment.objects.filter(role=Role.COUNTY_APPROVER).count() == 1
    for username in (
        "vclerk-dongguan",
        "tclerk-chengguan",
        "approver-shifan",
        "admin-shifan",
        "sysadmin",
    ):
        assert username in output
        assert User.objects.get(username=username).check_password(settings.DEMO_PASSWORD)
    assert f"password: {settings.DEMO_PASSWORD}" in output


def test_every_demo_person_has_a_valid_unique_id_number(db):
    seed()
    numbers = list(Person.objects.values_list("id_number", "sex", "birth_date"))
    assert len({n for n, _s, _b in numbers}) == len(numbers)
    for number, sex, born in numbers:
        assert idnumber.validate(number) == number
        assert idnumber.sex(number) == sex and idnumber.birth_date(number) == born
    assert all(h.head is not None for h in Household.objects.prefetch_related("members"))


def test_it_adds_no_second_copy_when_run_again(db):
    seed()
    again = seed()
    assert Household.objects.count() == 60 and User.objects.filter(username="sysadmin").count() == 1
    assert "already hold 60 households" in again


def test_a_demo_village_clerk_sees_only_their_village(db):
    seed()
    clerk = User.objects.get(username="vclerk-dongguan")
    villages = set(Household.objects.restrict(clerk).values_list("village__code", flat=True))
    assert villages == {"130123100201"}


def test_numbers_continue_after_households_filed_by_hand(db):
    seed(households=10)
    villages = list(Area.objects.filter(level=AreaLevel.VILLAGE))
    demo.generate_households(villages, 10, seed=7)
    numbers = list(Household.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 20
