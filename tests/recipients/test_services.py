"""Filing and changing households through the registry's services."""

import pytest
from django.core.exceptions import PermissionDenied

from recipients import services
from recipients.choices import Relation
from recipients.models import Household, Person
from tests.conftest import inputs_of, make_household, member, valid_id


def test_it_files_a_household_with_numbered_members(people, areas):
    head_id = valid_id(male=True)
    household = services.create_household(
        people.clerk_a,
        village=areas.a,
        address="东关村东大街5号",
        members=[member("赵大", id_number=head_id), member("赵小", Relation.CHILD)],
    )
    assert household.number == "130123100201-00001"
    assert household.head.name == "赵大"
    head = Person.objects.get(id_number=head_id)
    assert head.sex == "M"
    assert (
        head.birth_date.isoformat() == head_id[6:10] + "-" + head_id[10:12] + "-" + head_id[12:14]
    )
    second = make_household(people.clerk_a, areas.a, "钱一")
    assert second.number == "130123100201-00002"


def test_it_refuses_a_clerk_filing_in_another_village(people, areas):
    with pytest.raises(PermissionDenied):
        services.create_household(
            people.clerk_b, village=areas.a, address="x", members=[member("孙一")]
        )
    assert not Household.objects.exists()


def test_it_shows_where_an_id_is_on_file_when_the_clerk_may_see_it(people, areas, household_a):
    existing = household_a.head.id_number
    with pytest.raises(services.RegistryError) as caught:
        services.create_household(
            people.township_clerk,
            village=areas.b,
            address="x",
            members=[member("张三", id_number=existing)],
        )
    assert caught.value.member == 0 and caught.value.field == "id_number"
    assert household_a.number in caught.value.message and "东关村" in caught.value.message
    assert Household.objects.count() == 1


def test_it_names_only_the_township_when_the_id_is_outside_the_clerks_area(
    people, areas, household_c
):
    existing = household_c.head.id_number
    with pytest.raises(services.RegistryError) as caught:
        services.create_household(
            people.clerk_a,
            village=areas.a,
            address="x",
            members=[member("王五", id_number=existing)],
        )
    message = caught.value.message
    assert "东岭乡" in message and "不在您的管辖范围内" in message
    assert household_c.number not in message and "王五" not in message
    assert Household.objects.count() == 1


@pytest.mark.parametrize(
    "relations, expected",
    [
        ([Relation.CHILD], "有且只有一名户主"),
        ([Relation.HEAD, Relation.HEAD], "有且只有一名户主"),
        ([], "至少要有一名成员"),
    ],
)
def test_it_needs_exactly_one_head(people, areas, relations, expected):
    with pytest.raises(services.RegistryError, match=expected):
        services.create_household(
            people.clerk_a,
            village=areas.a,
            address="x",
            members=[member(f"成员{i}", r) for i, r in enumerate(relations)],
        )
    assert not Household.objects.exists()


def test_it_refuses_the_same_id_twice_in_one_household(people, areas):
    same = valid_id()
    with pytest.raises(services.RegistryError) as caught:
        services.create_household(
            people.clerk_a,
            village=areas.a,
            address="x",
            members=[member("甲", id_number=same), member("乙", Relation.SPOUSE, id_number=same)],
        )
    assert caught.value.member == 1


def test_it_records_who_changed_what_and_why(people, areas, household_a):
    services.update_household(
        people.clerk_a,
        household_a,
        village=areas.a,
        address="东关村新街8号",
        members=inputs_of(household_a, 张小三={"phone": "13800138000"}),
        reason="搬迁",
    )
    latest = household_a.history.latest()
    assert latest.history_user == people.clerk_a and latest.history_change_reason == "搬迁"
    assert latest.address == "东关村新街8号"
    child = Person.objects.get(name="张小三")
    assert child.history.latest().phone == "13800138000"
    assert child.history.latest().history_user == people.clerk_a


def test_it_writes_no_history_for_a_save_that_changes_nothing(people, areas, household_a):
    before = household_a.history.count(), Person.history.count()
    services.update_household(
        people.clerk_a,
        household_a,
        village=areas.a,
        address=household_a.address,
        members=inputs_of(household_a),
    )
    assert (household_a.history.count(), Person.history.count()) == before


def test_it_hands_headship_over_within_one_save(people, areas, household_a):
    services.update_household(
        people.clerk_a,
        household_a,
        village=areas.a,
        address=household_a.address,
        members=inputs_of(
            household_a,
            张三={"relation": Relation.PARENT},
            张小三={"relation": Relation.HEAD},
        ),
        reason="户主变更",
    )
    household_a.refresh_from_db()
    assert Household.objects.get(pk=household_a.pk).head.name == "张小三"


def test_it_removes_a_member_and_keeps_them_in_history(people, areas, household_a):
    rows = inputs_of(household_a, 张小三={"delete": True})
    services.update_household(
        people.clerk_a,
        household_a,
        village=areas.a,
        address=household_a.address,
        members=rows,
        reason="迁出",
    )
    assert list(household_a.members.values_list("name", flat=True)) == ["张三"]
    removed = Person.history.filter(name="张小三", history_type="-").get()
    assert removed.history_change_reason == "迁出"


def test_it_refuses_a_supervisor_editing(people, areas, household_a):
    with pytest.raises(PermissionDenied):
        services.update_household(
            people.supervisor,
            household_a,
            village=areas.a,
            address="x",
            members=inputs_of(household_a),
        )


def test_it_moves_a_household_only_where_the_clerk_may_file(people, areas, household_a):
    with pytest.raises(PermissionDenied):
        services.update_household(
            people.clerk_a,
            household_a,
            village=areas.b,
            address="x",
            members=inputs_of(household_a),
        )
    moved = services.update_household(
        people.township_clerk,
        household_a,
        village=areas.b,
        address="西关村1号",
        members=inputs_of(household_a),
    )
    assert moved.village == areas.b
    assert moved.number == household_a.number  # the number stays with the household


def test_it_turns_a_race_on_the_same_id_into_a_message(people, areas, monkeypatch):
    """Two clerks file the same person at once: the second insert hits the
    unique constraint after its check passed; the clerk gets the usual message."""
    contested = valid_id()
    real_check = services._check_members
    calls = {"n": 0}

    def check_then_lose_the_race(actor, members):
        calls["n"] += 1
        real_check(actor, members)
        if calls["n"] == 1:  # the other clerk files the same person right now
            make_household(people.superuser, areas.a, "抢先")
            Person.objects.filter(name="抢先").update(id_number=contested)

    monkeypatch.setattr(services, "_check_members", check_then_lose_the_race)
    with pytest.raises(services.RegistryError, match="已建档"):
        services.create_household(
            people.clerk_a,
            village=areas.a,
            address="x",
            members=[member("后到", id_number=contested)],
        )
    assert not Household.objects.filter(members__name="后到").exists()


def test_it_continues_a_villages_numbers_after_a_household_that_moved_away(
    people, areas, household_a
):
    """The number goes with the household: the village it left does not issue
    it again, the village it joined does not count it."""
    assert household_a.number.startswith(f"{areas.a.code}-")
    services.update_household(
        people.township_clerk,
        household_a,
        village=areas.b,
        address="西关村1号",
        members=inputs_of(household_a),
    )
    last = services.last_household_sequences([areas.a, areas.b])
    assert last == {areas.a.pk: int(household_a.number[-5:]), areas.b.pk: 0}
    after = make_household(people.clerk_a, areas.a, "新户")
    assert after.number == f"{areas.a.code}-{int(household_a.number[-5:]) + 1:05d}"
