"""Shared fixtures: a small area tree and one persona per role.

示范县 130123000000 (county)
  城关镇 130123100000 (township T1)
    东关村 130123100201 (village A)
    西关村 130123100202 (village B)
  东岭乡 130123200000 (township T2)
    东岭村 130123200201 (village C)
"""

from __future__ import annotations

import datetime
import itertools
import socket
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from recipients import services as registry
from recipients.choices import Relation
from recipients.models import Household, Person
from relief import idnumber
from relief.choices import Role
from relief.models import Area, RoleAssignment, User


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """Tests read Chinese pages: make sure the catalogue is compiled and current."""
    call_command("compilemessages", ignore_patterns=[".venv"], verbosity=0)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def ledger_key_dir(settings, tmp_path_factory) -> None:
    """Signing keys a test makes (the demo seed makes one) stay out of var/keys."""
    settings.LEDGER_KEY_DIR = tmp_path_factory.mktemp("keys")


def make_area(code: str, name: str) -> Area:
    area = Area(code=code, name=name)
    area.clean()
    area.save()
    return area


@pytest.fixture
def areas(db) -> SimpleNamespace:
    county = make_area("130123000000", "示范县")
    t1 = make_area("130123100000", "城关镇")
    t2 = make_area("130123200000", "东岭乡")
    return SimpleNamespace(
        county=county,
        t1=t1,
        t2=t2,
        a=make_area("130123100201", "东关村"),
        b=make_area("130123100202", "西关村"),
        c=make_area("130123200201", "东岭村"),
    )


def make_user(username: str, role: str | None = None, area: Area | None = None, **extra) -> User:
    user = User.objects.create_user(
        username=username, password="pw-not-used", name=username, area=area, **extra
    )
    if role is not None:
        RoleAssignment.objects.create(user=user, role=role, area=area)
    return user


@pytest.fixture
def people(areas) -> SimpleNamespace:
    """One persona per role, and the ones who must be refused."""
    return SimpleNamespace(
        clerk_a=make_user("clerk_a", Role.VILLAGE_CLERK, areas.a),
        clerk_b=make_user("clerk_b", Role.VILLAGE_CLERK, areas.b),
        township_clerk=make_user("township_clerk", Role.TOWNSHIP_CLERK, areas.t1),
        township_clerk_t2=make_user("township_clerk_t2", Role.TOWNSHIP_CLERK, areas.t2),
        supervisor=make_user("supervisor", Role.TOWNSHIP_SUPERVISOR, areas.t1),
        finance=make_user("finance", Role.FINANCE_OFFICER, areas.t1),
        approver=make_user("approver", Role.COUNTY_APPROVER, areas.county),
        auditor=make_user("auditor", Role.AUDITOR, areas.county),
        admin=make_user("admin", Role.ADMINISTRATOR, areas.county),
        admin_t2=make_user("admin_t2", Role.ADMINISTRATOR, areas.t2),
        nobody=make_user("nobody", None, areas.county),
        superuser=make_user("superuser", None, None, is_superuser=True, is_staff=True),
    )


_serial = itertools.count(1)


def valid_id(place: str = "130123", born: datetime.date | None = None, male: bool = True) -> str:
    """A fresh well-formed ID number; each call gives another."""
    n = next(_serial)
    born = born or datetime.date(1960, 1, 1) + datetime.timedelta(days=n * 37 % 20000)
    sequence = (n % 500) * 2 + (1 if male else 0)
    return idnumber.make(place, born, sequence)


def member(name: str, relation: str = Relation.HEAD, id_number: str | None = None, **fields):
    return registry.MemberInput(
        name=name, id_number=id_number or valid_id(), relation=relation, **fields
    )


def as_input(person: Person, **changes: object) -> registry.MemberInput:
    """A member as the registry's services take it, with `changes`."""
    values = {field: getattr(person, field) for field in registry.PERSON_FIELDS}
    return registry.MemberInput(**{**values, "pk": person.pk, **changes})


def inputs_of(household: Household, **changes: dict) -> list:
    """The member rows of a household as the registry's update service takes them,
    with `changes` by member name."""
    return [as_input(p, **changes.get(p.name, {})) for p in household.members.order_by("id")]


def make_household(
    actor: User, village: Area, *names: str, address: str = "东大街1号"
) -> Household:
    """A household filed through the service: the first name is the head."""
    members = [member(names[0])] + [member(n, Relation.CHILD) for n in names[1:]]
    return registry.create_household(actor, village=village, address=address, members=members)


@pytest.fixture
def household_a(people, areas) -> Household:
    return make_household(people.superuser, areas.a, "张三", "张小三")


@pytest.fixture
def household_b(people, areas) -> Household:
    return make_household(people.superuser, areas.b, "李四")


@pytest.fixture
def household_c(people, areas) -> Household:
    return make_household(people.superuser, areas.c, "王五")


@pytest.fixture
def campaign_t1(people, areas):
    """A draft campaign of township T1 with one fund source and one category."""
    from campaigns import services as campaign_services
    from campaigns.models import Category, FundSource

    campaign = campaign_services.create_campaign(
        people.superuser,
        area=areas.t1,
        kind="春节慰问",
        name="2026年春节慰问",
        issuer="城关镇人民政府",
        year=2026,
    )
    source = FundSource.objects.create(
        campaign=campaign, name="镇财政", payer="城关镇财政所", budget=10000
    )
    Category.objects.create(
        campaign=campaign, name="一般困难户", cash=500, planned_count=20, fund_source=source
    )
    return campaign


def redis_answers() -> bool:
    """Whether a Redis server listens on 127.0.0.1:6379 (the RQ tests need one)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True
