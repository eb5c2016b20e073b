"""Carrying out a roster import through the services: all rows or nothing,
or (valid_only) exactly the valid rows in one go; once only; the result
sheet; a saved column mapping; the clerk's own villages."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal

import openpyxl
import pytest

from applications.choices import State
from applications.models import Application
from applications.roster import report, services, write
from applications.roster.check import Kind
from applications.roster.models import ColumnMapping, RosterImport, RosterStatus
from applications.workflow import WorkflowError
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from recipients import services as registry
from recipients.choices import Relation
from recipients.models import Household, Person
from relief.models import AuditEvent
from tests.applications.conftest import walk
from tests.conftest import inputs_of, member

from .conftest import HEADER, table, upload, xlsx
from .fixtures.make_fixtures import ID

pytestmark = pytest.mark.django_db

ODD = {
    "name": "户主名",
    "id_number": "证件号",
    "village": "所在村组",
    "category": "对象类型",
    "household_size": "户口人数",
}


def counts() -> dict[str, int]:
    return {
        "households": Household.objects.count(),
        "people": Person.objects.count(),
        "applications": Application.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def checked(actor, campaign, name: str, content: bytes | None = None) -> RosterImport:
    roster = upload(actor, campaign, name, content)
    assert services.preview(actor, roster) is not None, roster.error
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED
    return roster


def refusal(call) -> str:
    with pytest.raises(WorkflowError) as caught:
        call()
    return caught.value.message


def sheet_rows(content: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(r) for r in book.active.iter_rows(values_only=True)]


# -- all or nothing ---------------------------------------------------------------------


def test_it_imports_nothing_from_a_roster_with_refused_rows(people, campaign, on_file, english):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "duplicates_db.xlsx")
    before = counts()
    message = refusal(lambda: services.carry_out(clerk, roster, valid_only=False))
    assert message == (
        "2 rows have problems, so nothing was imported. Correct the file and upload it again, "
        "or choose to import only the valid rows."
    )
    assert counts() == before
    roster.refresh_from_db()
    assert (roster.status, roster.result) == (RosterStatus.CHECKED, {})


def test_it_imports_exactly_the_valid_rows_when_asked(people, campaign, on_file):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "duplicates_db.xlsx")
    before = counts()
    result = services.carry_out(clerk, roster, valid_only=True)
    assert counts() == {
        "households": before["households"] + 1,
        "people": before["people"] + 1,
        "applications": before["applications"] + 3,
        "audit": before["audit"] + 3 + 1,  # one per application, one for the roster
    }
    prefix = f"2026-{campaign.pk:03d}-"
    assert result == {
        "applications": 3,
        "households": 1,
        "updated": 1,
        "skipped": 2,
        "first": prefix + "00002",
        "last": prefix + "00004",
        "by_kind": {Kind.EXISTING: 1, Kind.UPDATE: 1, Kind.NEW: 1},
        "rows": {"4": prefix + "00002", "5": prefix + "00003", "6": prefix + "00004"},
    }
    made = Application.objects.filter(campaign=campaign).exclude(pk=on_file.applied.pk)
    assert {app.household_id for app in made} == {
        on_file.tao.pk,
        on_file.jiang.pk,
        Person.objects.get(id_number=ID["qi_new"]).household_id,
    }
    for app in made:
        assert app.state == State.DRAFT
        assert app.amount == Decimal("500.00")  # the campaign's standard
        assert app.category.name == "一般困难户"
        assert app.created_by == clerk
        assert app.cause == "illness"
    new = Person.objects.get(id_number=ID["qi_new"])
    assert (new.name, new.relation, new.phone) == ("戚五", Relation.HEAD, "13900000003")
    assert new.household.village.name == "西关村"
    assert new.household.number == "130123100202-00001"
    assert (new.sex, str(new.birth_date)) == ("M", "1970-08-21")
    assert Person.objects.get(id_number=ID["jiang_phone"]).phone == "13900000002"
    roster.refresh_from_db()
    assert (roster.status, roster.valid_only) == (RosterStatus.IMPORTED, True)
    assert roster.imported_at is not None
    events = AuditEvent.objects.filter(action="application.create", data__roster=roster.pk)
    assert sorted(e.data["row"] for e in events) == [4, 5, 6]


def test_it_imports_a_clean_roster_whole(people, campaign):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "clean.xlsx")
    before = counts()
    result = services.carry_out(clerk, roster, valid_only=False)
    assert (result["applications"], result["households"], result["skipped"]) == (6, 6, 0)
    assert counts()["applications"] == before["applications"] + 6
    numbers = sorted(Household.objects.values_list("number", flat=True))
    assert numbers == [
        "130123100201-00001",
        "130123100201-00002",
        "130123100201-00003",
        "130123100202-00001",
        "130123100202-00002",
        "130123100202-00003",
    ]
    assert set(Application.objects.values_list("state", flat=True)) == {State.DRAFT}


def test_it_numbers_new_households_after_one_that_moved_away(people, campaign, areas):
    """A household keeps its number when it moves: the village it left must
    not issue that number again (it is unique), the one it joined must not
    count it as its own."""
    clerk = people.township_clerk
    moved = registry.create_household(
        clerk, village=areas.a, address="东关村1号", members=[member("迁走")]
    )
    assert moved.number == "130123100201-00001"
    registry.update_household(
        clerk, moved, village=areas.b, address="西关村9号", members=inputs_of(moved)
    )
    roster = checked(clerk, campaign, "clean.xlsx")
    result = services.carry_out(clerk, roster, valid_only=False)
    assert result["households"] == 6
    numbers = sorted(Household.objects.exclude(pk=moved.pk).values_list("village__code", "number"))
    assert numbers == [
        ("130123100201", "130123100201-00002"),
        ("130123100201", "130123100201-00003"),
        ("130123100201", "130123100201-00004"),
        ("130123100202", "130123100202-00001"),
        ("130123100202", "130123100202-00002"),
        ("130123100202", "130123100202-00003"),
    ]


def test_it_imports_nothing_when_a_person_is_filed_while_it_writes(
    people, campaign, areas, english, monkeypatch
):
    """Another clerk files one of the roster's people after the check, before
    the write: the INSERT hits the unique ID number, and the clerk gets a
    message, not a 500, with nothing imported."""
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "clean.xlsx")
    rows = table("clean.xlsx").rows
    header = next(i for i, row in enumerate(rows) if "身份证号" in row)
    id_number = str(rows[header + 1][rows[header].index("身份证号")])
    numbering = write.last_household_sequences

    def meanwhile(villages):
        registry.create_household(
            people.clerk_a,
            village=areas.a,
            address="东关村5号",
            members=[member("同号人", id_number=id_number)],
        )
        return numbering(villages)

    monkeypatch.setattr(write, "last_household_sequences", meanwhile)
    before = counts()

    message = refusal(lambda: services.carry_out(clerk, roster, valid_only=False))

    assert message == (
        "The register changed while importing; nothing was imported. Check the roster again."
    )
    assert counts() == before
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED


def test_it_imports_a_roster_once(people, campaign, english):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "clean.xlsx")
    services.carry_out(clerk, roster, valid_only=False)
    before = counts()
    for valid_only in (False, True):
        message = refusal(lambda v=valid_only: services.carry_out(clerk, roster, valid_only=v))
        assert message == "This roster cannot be imported now (it is Imported)."
    assert refusal(lambda: services.preview(clerk, roster)) == (
        "This roster has been imported already."
    )
    assert counts() == before


def test_it_imports_nothing_when_no_row_is_valid(people, campaign, english):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "empty_name.xlsx")
    before = counts()
    message = refusal(lambda: services.carry_out(clerk, roster, valid_only=True))
    assert message == "No row of the roster can be imported."
    assert counts() == before


def test_it_checks_the_roster_again_when_importing(people, campaign, english):
    """A household that applies between the preview and the import is refused then."""
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "clean.xlsx")
    assert roster.preview["counts"]["refused"] == 0
    household = registry.create_household(
        people.superuser,
        village=people.clerk_a.area,
        address="东大街1号",
        members=[registry.MemberInput(name="苗一", id_number=ID["miao"], relation=Relation.HEAD)],
    )
    walk(people, campaign, household, State.DRAFT)
    before = counts()
    message = refusal(lambda: services.carry_out(clerk, roster, valid_only=False))
    assert message.startswith("1 row has problems, so nothing was imported.")
    assert counts() == before
    result = services.carry_out(clerk, roster, valid_only=True)
    assert (result["applications"], result["skipped"]) == (5, 1)
    roster.refresh_from_db()
    assert roster.preview["lines"][0]["kind"] == Kind.DUPLICATE_DB


def test_it_is_refused_to_anyone_but_the_uploader(people, campaign, english):
    roster = checked(people.township_clerk, campaign, "clean.xlsx")
    before = counts()
    for other in (people.clerk_a, people.superuser):
        assert refusal(lambda o=other: services.carry_out(o, roster, valid_only=True)) == (
            "Only the clerk who uploaded a roster can import it."
        )
        assert refusal(lambda o=other: services.preview(o, roster)) == (
            "Only the clerk who uploaded a roster can import it."
        )
    assert counts() == before


def test_it_imports_nothing_into_a_closed_campaign(people, campaign, english):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "clean.xlsx")
    campaign_services.change_status(people.superuser, campaign, CampaignStatus.CLOSED)
    before = counts()
    message = refusal(lambda: services.carry_out(clerk, roster, valid_only=True))
    assert message == f"The campaign {campaign} is not open."
    assert counts() == before


def test_it_refuses_the_rows_of_a_village_outside_the_clerks_own(people, campaign, english):
    clerk = people.clerk_a
    roster = checked(clerk, campaign, "village_b_row.xlsx")
    assert [(line["row"], line["problems"]) for line in roster.preview["lines"]] == [
        (2, []),
        (
            3,
            [
                [
                    "村/社区",
                    "“西关村” is not a village of the campaign's area where you may enter "
                    "applications.",
                ]
            ],
        ),
    ]
    result = services.carry_out(clerk, roster, valid_only=True)
    assert result["applications"] == 1
    assert list(Household.objects.values_list("village__name", flat=True)) == ["东关村"]
    assert not Person.objects.filter(id_number=ID["lang"]).exists()


# -- files that cannot be used ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("not_a_spreadsheet.xlsx", "The file cannot be read as a spreadsheet ("),
        ("no_header.xlsx", "No header row found in the first 20 rows"),
    ],
)
def test_it_marks_a_roster_that_cannot_be_read(people, campaign, english, name, start):
    clerk = people.township_clerk
    roster = upload(clerk, campaign, name)
    before = counts()
    assert services.preview(clerk, roster) is None
    roster.refresh_from_db()
    assert roster.status == RosterStatus.FAILED
    assert roster.error.startswith(start)
    event = AuditEvent.objects.get(action="roster.check")
    assert (event.to_state, event.reason) == (RosterStatus.FAILED, roster.error)
    # A roster that cannot be read is not imported: refused as any roster not checked.
    assert refusal(lambda: services.carry_out(clerk, roster, valid_only=True)) == (
        "This roster cannot be imported now (it is Cannot be read)."
    )
    assert counts()["applications"] == before["applications"]


def test_it_refuses_an_upload_that_is_no_roster(people, campaign, english, media):
    clerk = people.township_clerk
    before = RosterImport.objects.count()
    assert refusal(lambda: upload(clerk, campaign, "roster.txt", b"abc")) == (
        "Upload an Excel file (.xlsx or .xls) or a .csv file, not “roster.txt”."
    )
    assert refusal(lambda: upload(people.township_clerk_t2, campaign, "clean.xlsx")) == (
        "You may not enter applications in any village of this campaign."
    )
    assert RosterImport.objects.count() == before


def test_it_refuses_an_upload_above_the_size_limit(people, campaign, english, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
    message = refusal(
        lambda: upload(people.township_clerk, campaign, "big.csv", b"x" * (2**20 + 1))
    )
    assert message == "The file is 1.0 MB; a roster may be at most 1 MB."
    assert not RosterImport.objects.exists()


# -- the result sheet -------------------------------------------------------------------


def test_it_reports_the_reason_of_every_refused_row_and_the_number_of_every_import(
    people, campaign, on_file, english
):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "duplicates_db.xlsx")
    services.carry_out(clerk, roster, valid_only=True)
    roster.refresh_from_db()
    rows = sheet_rows(report.report(table("duplicates_db.xlsx"), roster.preview, roster.result))
    assert rows[0] == [*HEADER, "Outcome", "Reasons", "Application"]
    assert [r[1] for r in rows[1:]] == ["金一", "魏二", "陶三", "姜四", "戚五"]
    prefix = f"2026-{campaign.pk:03d}-"
    assert [tuple(r[-3:]) for r in rows[1:]] == [
        (
            "Not imported（Already applied）",
            f"身份证号：Household {on_file.jin.number} already has application "
            f"{on_file.applied.number} in this campaign.",
            None,
        ),
        (
            "Not imported（Outside your area）",
            "身份证号：This person is on file in 东岭乡, outside your area: ask that office.",
            None,
        ),
        ("Household on file", None, prefix + "00002"),
        (
            "Household on file, phone updated",
            "The phone number on file (13800000000) becomes 13900000002.",
            prefix + "00003",
        ),
        ("New household", None, prefix + "00004"),
    ]


def test_it_reports_a_roster_before_its_import(people, campaign, english):
    clerk = people.township_clerk
    roster = checked(clerk, campaign, "title_rows.xlsx")
    rows = sheet_rows(report.report(table("title_rows.xlsx"), roster.preview))
    assert rows[0][:3] == ["序号", "姓名", "身份证号"]
    assert [(r[1], r[-3], r[-1]) for r in rows[1:]] == [
        ("赵一", "New household", None),
        ("钱二", "New household", None),
    ]


# -- column mapping ---------------------------------------------------------------------


def test_it_reads_the_next_roster_with_the_columns_saved(people, campaign):
    clerk = people.township_clerk
    first = upload(clerk, campaign, "odd_headers_1.xlsx")
    assert services.preview(clerk, first) is None  # no header it knows
    plan = services.preview(clerk, first, mapping=ODD)
    assert [(line.row, line.kind) for line in plan.lines] == [(2, Kind.NEW), (3, Kind.NEW)]
    first.refresh_from_db()
    services.save_mapping(clerk, first)
    saved = ColumnMapping.objects.get(campaign=campaign)
    assert {k: saved.mapping[k] for k in ODD} == ODD
    assert saved.updated_by == clerk

    second = checked(clerk, campaign, "odd_headers_2.xlsx")
    assert [(line["row"], line["name"], line["kind"]) for line in second.preview["lines"]] == [
        (2, "常三", Kind.NEW),
        (3, "马四", Kind.NEW),
    ]
    result = services.carry_out(clerk, second, valid_only=False)
    assert result["applications"] == 2
    assert set(Person.objects.values_list("name", flat=True)) == {"常三", "马四"}


def test_it_saves_no_mapping_for_someone_elses_roster(people, campaign, english):
    roster = checked(people.township_clerk, campaign, "clean.xlsx")
    assert refusal(lambda: services.save_mapping(people.clerk_a, roster)) == (
        "There is no column mapping to save."
    )
    assert not ColumnMapping.objects.exists()


# -- what the database can hold ---------------------------------------------------------


def test_it_never_writes_an_address_longer_than_the_register_holds(people, campaign):
    """住址 is free text on a roster; the household's address holds 200
    characters (PostgreSQL refuses a longer one: the import would fail with a
    database error instead of refusing the row)."""
    clerk = people.township_clerk
    content = xlsx(
        [
            HEADER,
            [1, "谢一", ID["xie"], "东关村", "一般困难户", 3, "因病", "", "", "东" * 300],
            [2, "邹二", ID["zou"], "东关村", "一般困难户", 3, "因病", "", "", "东大街1号"],
        ]
    )
    roster = checked(clerk, campaign, "long.xlsx", content)
    with contextlib.suppress(WorkflowError):  # refusing the row is as good as cutting it
        services.carry_out(clerk, roster, valid_only=True)
    limit = Household._meta.get_field("address").max_length
    addresses = list(Household.objects.values_list("address", flat=True))
    assert "东大街1号" in addresses
    assert [len(a) for a in addresses if len(a) > limit] == []
