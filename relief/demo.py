"""Demo data: one county with two townships and six villages, one account per
role per area, and households with valid (fictitious) ID numbers.

Deterministic (a seeded random generator), and fast enough to generate 100,000
households for the benchmark: rows are inserted in bulk, with one history row
each so the household pages show where they came from.
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from recipients.choices import DisabilityGrade, Relation
from recipients.models import Household, Person
from recipients.services import household_number, last_household_sequences
from relief import idnumber
from relief.choices import Role
from relief.models import Area, RoleAssignment, User
from relief.roles import ROLE_LEVELS

# (code, name, ascii slug for account names)
COUNTY = ("130123000000", "示范县", "shifan")
TOWNSHIPS = [
    ("130123100000", "城关镇", "chengguan"),
    ("130123200000", "东岭乡", "dongling"),
]
VILLAGES = [
    ("130123100001", "南街社区", "nanjie"),
    ("130123100201", "东关村", "dongguan"),
    ("130123100202", "西关村", "xiguan"),
    ("130123200201", "东岭村", "donglingcun"),
    ("130123200202", "石桥村", "shiqiao"),
    ("130123200203", "河湾村", "hewan"),
]
ROLE_PREFIX = {
    Role.VILLAGE_CLERK: "vclerk",
    Role.TOWNSHIP_CLERK: "tclerk",
    Role.TOWNSHIP_SUPERVISOR: "supervisor",
    Role.FINANCE_OFFICER: "finance",
    Role.COUNTY_APPROVER: "approver",
    Role.AUDITOR: "auditor",
    Role.ADMINISTRATOR: "admin",
}
SUPERUSER = "sysadmin"

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏"
    "卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯"
    "邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅志海燕鹏辉亮珍凤淑"
    "德胜福贵春生文斌永宏晓东小花金振树林长青"
)
STREETS = [
    "东大街",
    "西大街",
    "南街",
    "北街",
    "中心街",
    "建设路",
    "胜利路",
    "幸福巷",
    "和平路",
    "新村",
]
# Demo staff: one name per account, in the order the accounts are made.
STAFF_NAMES = [
    "李秀英",
    "王建军",
    "张丽华",
    "刘志强",
    "陈晓梅",
    "杨德胜",
    "赵春燕",
    "黄立新",
    "周玉兰",
    "吴国平",
    "徐海燕",
    "孙文斌",
    "胡桂芳",
    "朱永红",
    "高建华",
    "林淑珍",
    "何振国",
    "郭晓东",
    "马金凤",
    "罗长青",
]
OTHER_BIRTHPLACES = ["130102", "130104", "131102", "130602", "410102", "370102", "140105"]


@dataclass
class Account:
    username: str
    role: str
    area: Area


def ensure_areas() -> list[Area]:
    """The demo county, townships and villages (created if missing)."""
    areas = []
    for code, name, _slug in [COUNTY, *TOWNSHIPS, *VILLAGES]:
        area = Area.objects.filter(code=code).first()
        if area is None:
            area = Area(code=code, name=name)
            area.clean()
            area.save()
        areas.append(area)
    return areas


def ensure_accounts(password: str | None = None) -> list[Account]:
    """One account per role per area the role is held at, all with the demo password."""
    password = password or settings.DEMO_PASSWORD
    slugs = {code: slug for code, _name, slug in [COUNTY, *TOWNSHIPS, *VILLAGES]}
    areas = Area.objects.filter(code__in=slugs)
    accounts = []
    names = itertools.cycle(STAFF_NAMES)
    for role, prefix in ROLE_PREFIX.items():
        for area in areas:
            if area.level not in ROLE_LEVELS[role]:
                continue
            username = f"{prefix}-{slugs[area.code]}"
            user, _created = User.objects.get_or_create(username=username)
            user.name, user.area = next(names), area
            user.set_password(password)
            user.is_active = True
            user.save()
            RoleAssignment.objects.get_or_create(user=user, role=role, area=area)
            accounts.append(Account(username, role, area))
    root, _created = User.objects.get_or_create(
        username=SUPERUSER, defaults={"name": "系统管理员", "is_superuser": True, "is_staff": True}
    )
    root.set_password(password)
    root.save()
    return accounts


def generate_households(villages: list[Area], count: int, *, seed: int = 2026) -> int:
    """Add `count` households spread over `villages`; returns the number of persons."""
    rng = random.Random(seed)
    used_ids = set(Person.objects.values_list("id_number", flat=True))
    next_seq = last_household_sequences(villages)
    persons_total = 0
    batch = 2000
    for start in range(0, count, batch):
        households, members = [], []
        for _i in range(start, min(count, start + batch)):
            village = villages[rng.randrange(len(villages))]
            next_seq[village.pk] += 1
            household = Household(
                village=village,
                number=household_number(village, next_seq[village.pk]),
                address=f"{village.name}{rng.choice(STREETS)}{rng.randint(1, 199)}号",
            )
            households.append(household)
            members.append(list(_family(rng, used_ids)))
        with transaction.atomic():
            created = bulk_create_with_history(
                households, Household, batch_size=500, default_change_reason="演示数据"
            )
            persons = []
            for household, family in zip(created, members, strict=True):
                for person in family:
                    person.household = household
                    persons.append(person)
            bulk_create_with_history(
                persons, Person, batch_size=1000, default_change_reason="演示数据"
            )
        persons_total += len(persons)
    return persons_total


def _family(rng: random.Random, used_ids: set[str]) -> Iterator[Person]:
    """A plausible household: a head, often a spouse, children, sometimes a parent."""
    surname = rng.choice(SURNAMES)
    head_age = rng.randint(25, 92)
    head_male = rng.random() < 0.7
    yield _person(rng, used_ids, surname, Relation.HEAD, head_age, head_male, phone=True)
    if head_age < 85 and rng.random() < 0.7:
        spouse_age = max(20, head_age + rng.randint(-5, 5))
        yield _person(
            rng, used_ids, rng.choice(SURNAMES), Relation.SPOUSE, spouse_age, not head_male
        )
    if head_age < 70:
        for _c in range(rng.choice([0, 1, 1, 2, 2, 3])):
            child_age = max(0, head_age - rng.randint(20, 35))
            yield _person(rng, used_ids, surname, Relation.CHILD, child_age, rng.random() < 0.5)
    if head_age < 55 and rng.random() < 0.25:
        yield _person(
            rng,
            used_ids,
            surname,
            Relation.PARENT,
            head_age + rng.randint(22, 32),
            rng.random() < 0.5,
        )


def _person(
    rng: random.Random,
    used_ids: set[str],
    surname: str,
    relation: str,
    age: int,
    male: bool,
    *,
    phone: bool = False,
) -> Person:
    today = datetime.date.today()
    while True:
        born = today - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
        place = "130123" if rng.random() < 0.85 else rng.choice(OTHER_BIRTHPLACES)
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)  # odd for men
        number = idnumber.make(place, born, sequence)
        if number not in used_ids:
            used_ids.add(number)
            break
    grade = rng.choice(["1", "2", "3", "4"]) if rng.random() < 0.07 else DisabilityGrade.NONE
    return Person(
        name=surname + "".join(rng.choice(GIVEN) for _g in range(rng.choice([1, 2, 2]))),
        id_number=number,
        birth_date=idnumber.birth_date(number),
        sex=idnumber.sex(number),
        relation=relation,
        phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}" if phone else "",
        disability_grade=grade,
        locally_registered=rng.random() < 0.95,
    )
