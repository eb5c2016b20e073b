import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from recipients.models import Household
from relief import bulk
from relief.models import AuditEvent


@pytest.fixture
def few_rows_per_statement(monkeypatch):
    # Three rows per INSERT on SQLite, so 7 rows take two full statements and
    # a shorter last one.
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 3)


def test_it_inserts_every_row_with_its_values_and_the_defaults(areas, few_rows_per_statement):
    rows = [
        {
            "number": f"130123100201{n:04d}",
            "village_id": areas.a.pk,
            "address": "东关村",
            "notes": "",
        }
        for n in range(1, 8)
    ]

    assert bulk.insert(Household, rows) == 7

    made = list(Household.objects.order_by("number"))
    assert [h.number for h in made] == [row["number"] for row in rows]
    assert {h.village_id for h in made} == {areas.a.pk}
    assert {h.address for h in made} == {"东关村"}
    # Left out: auto_now(_add) columns get the time.
    assert all(h.created_at is not None for h in made)


def test_it_stores_json_and_times_as_the_orm_reads_them(people, areas, few_rows_per_statement):
    at = timezone.make_aware(datetime.datetime(2027, 1, 15, 9, 30))
    rows = [
        {
            "at": at,
            "actor_id": people.clerk_a.pk,
            "action": "test.bulk",
            "area_id": areas.a.pk,
            "target_id": "",
            "target_repr": "",
            "from_state": "",
            "to_state": "",
            "reason": "",
            "data": {"row": n, "amount": str(Decimal("600.00")), "名": "张三"},
        }
        for n in range(4)
    ]

    assert bulk.insert(AuditEvent, rows) == 4

    events = list(AuditEvent.objects.filter(action="test.bulk").order_by("pk"))
    # Left out: target_type (NULL).
    assert {e.target_type_id for e in events} == {None}
    assert [e.data for e in events] == [
        {"row": n, "amount": "600.00", "名": "张三"} for n in range(4)
    ]
    assert {e.at for e in events} == {at}


def test_it_inserts_nothing_for_no_rows(areas):
    assert bulk.insert(Household, []) == 0
    assert not Household.objects.exists()


def test_history_rows_carry_the_user_the_reason_and_the_kind(people, areas):
    row = {"number": "1301231002010001", "village_id": areas.a.pk, "address": "", "notes": ""}
    bulk.insert(Household, [row])
    household = Household.objects.get(number="1301231002010001")
    row.update(id=household.pk, created_at=household.created_at)

    assert bulk.history(Household, [row], user_id=people.clerk_a.pk, reason="名册导入") == 1

    record = household.history.get()
    assert (record.history_type, record.history_user_id, record.history_change_reason) == (
        "+",
        people.clerk_a.pk,
        "名册导入",
    )
