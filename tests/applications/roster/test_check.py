"""The preview of a roster (check.plan): for each fixture file, exactly which
rows become what, and every (row, column, message) problem of the refused
ones. The township clerk of 城关镇 checks against the campaign of 城关镇
(villages 东关村 and 西关村, one category 一般困难户 at 500 yuan)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from applications.roster import check
from applications.roster.check import Kind
from applications.roster.read import RosterError, Table
from campaigns.models import Category

from .conftest import CHECKSUM, EXCEL_HINT, HEADER, table
from .fixtures.make_fixtures import ID, ID_AS_NUMBER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NEW, EXISTING, UPDATE, INVALID = Kind.NEW, Kind.EXISTING, Kind.UPDATE, Kind.INVALID
NOT_MINE = "“%s” is not a village of the campaign's area where you may enter applications."


def plan_of(people, campaign, name, actor=None, **kwargs) -> check.Plan:
    return check.plan(actor or people.township_clerk, campaign, table(name), **kwargs)


def outcome(plan: check.Plan) -> list[tuple[int, str]]:
    return [(line.row, line.kind) for line in plan.lines]


def problems(plan: check.Plan) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in plan.problems]


def villages(plan: check.Plan) -> list[str]:
    return [line.village.name if line.village else "" for line in plan.lines]


def of_rows(people, campaign, *rows, header=HEADER, actor=None) -> check.Plan:
    return check.plan(actor or people.township_clerk, campaign, Table(rows=[header, *rows]))


def row(name, number, village="东关村", **cells):
    defaults = [1, name, number, village, "一般困难户", 3, "因病", "", "", ""]
    values = dict(zip(HEADER, defaults, strict=True))
    values.update(cells)
    return list(values.values())


# -- the fixture files ------------------------------------------------------------------


def test_it_finds_the_header_under_a_merged_title_and_blank_rows(people, campaign):
    plan = plan_of(people, campaign, "title_rows.xlsx")
    assert plan.header_row == 4
    assert outcome(plan) == [(5, NEW), (6, NEW)]
    assert problems(plan) == []
    assert villages(plan) == ["东关村", "西关村"]
    assert [line.values["id_number"] for line in plan.lines] == [ID["zhao"], ID["qian"]]


def test_it_gives_a_village_merged_over_rows_to_each_of_them(people, campaign):
    plan = plan_of(people, campaign, "merged_village.xlsx")
    assert outcome(plan) == [(2, NEW), (3, NEW), (4, NEW), (5, NEW)]
    assert problems(plan) == []
    assert villages(plan) == ["东关村", "东关村", "东关村", "西关村"]


def test_it_reads_full_width_digits_and_spaces(people, campaign):
    plan = plan_of(people, campaign, "fullwidth.xlsx")
    assert outcome(plan) == [(2, NEW), (3, NEW)]
    assert problems(plan) == []
    values = [line.values for line in plan.lines]
    assert [v["id_number"] for v in values] == [ID["feng"], ID["chen"]]
    assert [v["amount"] for v in values] == [Decimal("500.00"), Decimal("500.00")]
    assert [v["household_size"] for v in values] == [3, 4]
    assert [line.warnings for line in plan.lines] == [[], []]


def test_it_reads_spaces_in_headers_and_names(people, campaign):
    plan = plan_of(people, campaign, "spaces.xlsx")
    assert plan.labels == {
        "seq": "序号",
        "name": "姓 名",
        "id_number": "身份证号码",
        "village": "村/社区",
        "category": "类别",
    }
    assert outcome(plan) == [(2, NEW), (3, NEW)]
    assert problems(plan) == []
    assert [line.values["name"] for line in plan.lines] == ["褚七", "卫 八"]
    assert villages(plan) == ["东关村", "西关村"]


def test_it_refuses_an_id_number_stored_as_a_number_and_takes_a_lower_case_x(people, campaign):
    plan = plan_of(people, campaign, "id_formats.xlsx")
    assert outcome(plan) == [(2, INVALID), (3, NEW)]
    assert problems(plan) == [(2, "身份证号", f"{CHECKSUM} {EXCEL_HINT}")]
    assert plan.lines[1].values["id_number"] == ID["lower_x"]
    assert ID["lower_x"].endswith("X")
    assert table("id_formats.xlsx").rows[1][2] == ID_AS_NUMBER


def test_it_takes_birth_dates_that_agree_with_the_id_number(people, campaign):
    plan = plan_of(people, campaign, "dates.xlsx")
    assert outcome(plan) == [(2, NEW), (3, NEW), (4, NEW), (5, INVALID), (6, INVALID)]
    assert problems(plan) == [
        (
            5,
            "出生日期",
            "The date of birth 1953-01-06 differs from the one in the ID number (1953-01-05).",
        ),
        (
            6,
            "出生日期",
            "The date of birth 1954-02-05 differs from the one in the ID number (1954-01-05).",
        ),
    ]
    assert [line.values["birth_date"] for line in plan.lines[:3]] == [
        datetime.date(1950, 1, 5),
        datetime.date(1951, 1, 5),
        datetime.date(1952, 1, 5),
    ]


def test_it_reads_amounts_with_commas_yuan_signs_and_floats(people, campaign):
    plan = plan_of(people, campaign, "amounts.xlsx")
    assert outcome(plan) == [(2, NEW), (3, NEW), (4, NEW)]
    assert problems(plan) == []
    assert [line.values["amount"] for line in plan.lines] == [
        Decimal("1500.00"),
        Decimal("600.00"),
        Decimal("600.00"),
    ]
    standard = "The roster says %s; the campaign's standard gives 500.00."
    assert [line.warnings for line in plan.lines] == [
        [standard % "1500.00"],
        [standard % "600.00"],
        [standard % "600.00"],
    ]
    assert plan.counts()["warnings"] == 3


def test_it_ignores_the_total_row_at_the_bottom(people, campaign):
    plan = plan_of(people, campaign, "total_row.xlsx")
    assert outcome(plan) == [(2, NEW), (3, NEW)]
    assert problems(plan) == []
    assert plan.counts()["rows"] == 2


@pytest.mark.parametrize(
    ("name", "ids", "sizes"),
    [
        ("gbk.csv", ["shi", "zhang"], [2, 4]),
        ("utf8_bom.csv", ["kong", "cao"], [1, 2]),
    ],
)
def test_it_reads_csv_files_in_gbk_and_in_utf8_with_a_bom(people, campaign, name, ids, sizes):
    plan = plan_of(people, campaign, name)
    assert plan.labels["seq"] == "序号"  # the BOM is not part of the first header
    assert outcome(plan) == [(2, NEW), (3, NEW)]
    assert problems(plan) == []
    assert [line.values["id_number"] for line in plan.lines] == [ID[k] for k in ids]
    assert [line.values["household_size"] for line in plan.lines] == sizes
    assert villages(plan) == ["东关村", "西关村"]


def test_it_refuses_duplicates_inside_the_file(people, campaign, on_file):
    plan = plan_of(people, campaign, "duplicates_file.xlsx")
    assert outcome(plan) == [
        (2, NEW),
        (3, Kind.DUPLICATE_FILE),
        (4, EXISTING),
        (5, Kind.DUPLICATE_FILE),
    ]
    assert problems(plan) == [
        (3, "身份证号", "The same ID number is on row 2."),
        (5, "身份证号", f"Household {on_file.hua.number} already applies on row 4."),
    ]
    assert plan.lines[2].household_id == on_file.hua.pk


def test_it_refuses_duplicates_against_the_register(people, campaign, on_file):
    plan = plan_of(people, campaign, "duplicates_db.xlsx")
    assert outcome(plan) == [
        (2, Kind.DUPLICATE_DB),
        (3, Kind.OUTSIDE),
        (4, EXISTING),
        (5, UPDATE),
        (6, NEW),
    ]
    assert problems(plan) == [
        (
            2,
            "身份证号",
            f"Household {on_file.jin.number} already has application "
            f"{on_file.applied.number} in this campaign.",
        ),
        (3, "身份证号", "This person is on file in 东岭乡, outside your area: ask that office."),
    ]
    assert plan.lines[2].household_id == on_file.tao.pk
    assert plan.lines[3].warnings == ["The phone number on file (13800000000) becomes 13900000002."]
    assert plan.counts() == {
        "rows": 5,
        "valid": 3,
        "refused": 2,
        "new": 1,
        "existing": 1,
        "update": 1,
        "invalid": 0,
        "duplicate_file": 0,
        "duplicate_db": 1,
        "outside": 1,
        "warnings": 1,
    }


def test_it_refuses_unknown_and_empty_villages(people, campaign):
    plan = plan_of(people, campaign, "unknown_village.xlsx")
    assert outcome(plan) == [(2, INVALID), (3, INVALID), (4, NEW), (5, INVALID)]
    assert problems(plan) == [
        (2, "村/社区", NOT_MINE % "南关村"),
        (3, "村/社区", NOT_MINE % "东岭村"),
        (5, "村/社区", "The village is empty."),
    ]


def test_it_refuses_an_unknown_category_and_takes_the_only_one_when_empty(people, campaign):
    plan = plan_of(people, campaign, "unknown_category.xlsx")
    assert outcome(plan) == [(2, INVALID), (3, NEW)]
    assert problems(plan) == [
        (2, "类别", "“低保户” is not a category of this campaign; it has: 一般困难户.")
    ]
    assert plan.lines[1].category.name == "一般困难户"


def test_it_refuses_a_bad_check_digit(people, campaign):
    plan = plan_of(people, campaign, "bad_checksum.xlsx")
    assert outcome(plan) == [(2, INVALID), (3, NEW)]
    assert problems(plan) == [(2, "身份证号", CHECKSUM)]


def test_it_refuses_an_empty_name_and_an_empty_id_number(people, campaign):
    plan = plan_of(people, campaign, "empty_name.xlsx")
    assert outcome(plan) == [(2, INVALID), (3, INVALID), (4, INVALID)]
    assert problems(plan) == [
        (2, "姓名", "姓名 is empty."),
        (3, "姓名", "姓名 is empty."),
        (4, "身份证号", "身份证号 is empty."),
    ]


def test_it_refuses_a_file_without_a_header_row(people, campaign):
    with pytest.raises(RosterError) as caught:
        plan_of(people, campaign, "no_header.xlsx")
    assert str(caught.value) == (
        "No header row found in the first 20 rows: the roster needs a row of column headings "
        "such as 姓名 and 身份证号."
    )


def test_it_refuses_a_row_for_a_village_outside_the_clerks_own(people, campaign):
    plan = plan_of(people, campaign, "village_b_row.xlsx", actor=people.clerk_a)
    assert outcome(plan) == [(2, NEW), (3, INVALID)]
    assert problems(plan) == [(3, "村/社区", NOT_MINE % "西关村")]
    plan = plan_of(people, campaign, "village_b_row.xlsx", actor=people.clerk_b)
    assert outcome(plan) == [(2, INVALID), (3, NEW)]
    assert outcome(plan_of(people, campaign, "village_b_row.xlsx")) == [(2, NEW), (3, NEW)]


def test_it_reads_odd_headers_only_with_a_mapping(people, campaign):
    with pytest.raises(RosterError):
        plan_of(people, campaign, "odd_headers_1.xlsx")
    mapping = {
        "name": "户主名",
        "id_number": "证件号",
        "village": "所在村组",
        "category": "对象类型",
    }
    mapping["household_size"] = "户口人数"
    plan = plan_of(people, campaign, "odd_headers_1.xlsx", mapping=mapping)
    assert plan.header_row == 1
    assert outcome(plan) == [(2, NEW), (3, NEW)]
    assert {key: plan.labels[key] for key in mapping} == mapping
    assert [line.values["household_size"] for line in plan.lines] == [2, 3]


def test_it_summarises_the_plan_for_the_preview(people, campaign, on_file):
    summary = plan_of(people, campaign, "duplicates_db.xlsx").summary()
    assert summary["header_row"] == 1
    assert summary["headers"] == HEADER
    assert summary["counts"]["refused"] == 2
    first, _outside, _existing, update, new = summary["lines"]
    assert first["row"] == 2
    assert first["id"] == ID["jin_applied"][:6] + "********" + ID["jin_applied"][-4:]
    assert first["problems"] == [
        [
            "身份证号",
            f"Household {on_file.jin.number} already has application "
            f"{on_file.applied.number} in this campaign.",
        ]
    ]
    assert (update["household"], update["amount"]) == (on_file.jiang.number, "500.00")
    assert (new["name"], new["village"], new["category"]) == ("戚五", "西关村", "一般困难户")
    assert ID["qi_new"] not in str(summary)  # only masked numbers are kept


# -- rows built here ----------------------------------------------------------------------


def test_it_refuses_a_person_on_file_under_another_name_or_village(people, campaign, on_file):
    plan = of_rows(
        people,
        campaign,
        row("陶叁", ID["tao_on_file"]),
        row("姜四", ID["jiang_phone"], "西关村"),
    )
    assert outcome(plan) == [(2, INVALID), (3, INVALID)]
    assert problems(plan) == [
        (
            2,
            "姓名",
            "The ID number belongs to 陶三 on file, not 陶叁: check the number.",
        ),
        (
            3,
            "村/社区",
            f"This person's household {on_file.jiang.number} is on file in 东关村, not 西关村.",
        ),
    ]


def test_it_refuses_bad_phones_degrees_and_long_names(people, campaign):
    header = [*HEADER, "困难程度"]
    plan = of_rows(
        people,
        campaign,
        [*row("张三", ID["xie"], 联系电话="12345"), "一般"],
        [*row("李" * 51, ID["zou"]), "较重"],
        [*row("王五", ID["yu"]), "很困难"],
        [*row("赵六", ID["bai"], 联系电话="0311-87654321"), "特别困难"],
        header=header,
    )
    assert outcome(plan) == [(2, INVALID), (3, INVALID), (4, INVALID), (5, NEW)]
    assert problems(plan) == [
        (
            2,
            "联系电话",
            "Enter an 11-digit mobile number or a landline with its area code, e.g. 0311-87654321.",
        ),
        (3, "姓名", "A name has at most 50 characters."),
        (4, "困难程度", "Write the degree of hardship as one of: 一般、较重、严重、特别困难."),
    ]
    assert plan.lines[3].values["degree_code"] == "severe"


def test_it_reports_every_problem_of_a_row(people, campaign):
    plan = of_rows(people, campaign, row("", ID["zhang_bad"], "南关村", 人口="许多", 金额="abc"))
    assert outcome(plan) == [(2, INVALID)]
    assert problems(plan) == [
        (2, "身份证号", CHECKSUM),
        (2, "人口", "“许多” is not a whole number."),
        (2, "金额", "“abc” is not an amount in yuan."),
        (2, "姓名", "姓名 is empty."),
        (2, "村/社区", NOT_MINE % "南关村"),
    ]


def test_it_skips_blank_rows_and_keeps_the_row_numbers(people, campaign):
    plan = of_rows(people, campaign, [""] * 10, row("张三", ID["xie"]), [None] * 3, [])
    assert outcome(plan) == [(3, NEW)]


def test_it_needs_a_column_for_the_name_the_id_and_the_village(people, campaign):
    with pytest.raises(RosterError) as caught:
        of_rows(people, campaign, ["张三", "东大街"], header=["姓名", "住址"])
    assert str(caught.value) == (
        "The roster has no column for: ID number、Village or community. "
        "Name the columns in the header row."
    )
    # A village clerk has one village: the column may be left out.
    plan = of_rows(
        people,
        campaign,
        ["张三", ID["xie"]],
        header=["姓名", "身份证号"],
        actor=people.clerk_a,
    )
    assert (outcome(plan), villages(plan)) == ([(2, NEW)], ["东关村"])


def test_it_needs_a_category_column_when_the_campaign_has_several(people, campaign):
    source = campaign.categories.get().fund_source
    Category.objects.create(campaign=campaign, name="低保户", cash=800, fund_source=source)
    with pytest.raises(RosterError) as caught:
        of_rows(people, campaign, ["张三", ID["xie"], "东关村"], header=["姓名", "身份证号", "村"])
    assert str(caught.value) == (
        "The roster has no column for: Category. Name the columns in the header row."
    )
    plan = of_rows(
        people,
        campaign,
        ["张三", ID["xie"], "东关村", "低保户"],
        ["李四", ID["zou"], "东关村", ""],
        header=["姓名", "身份证号", "村", "类别"],
    )
    assert outcome(plan) == [(2, NEW), (3, INVALID)]
    assert problems(plan) == [(3, "类别", "The category is empty.")]
    assert plan.lines[0].assessment.amount == Decimal("800.00")


def test_it_refuses_a_user_who_may_enter_nowhere_in_the_campaign(people, campaign):
    with pytest.raises(RosterError) as caught:
        plan_of(people, campaign, "clean.xlsx", actor=people.township_clerk_t2)
    assert str(caught.value) == "You may not enter applications in any village of this campaign."


def test_it_reads_the_evidence_a_categorys_conditions_need(people, campaign):
    """A column headed by an evidence field's name (低保户) feeds its condition;
    a household the condition refuses is still a draft, with the reason noted."""
    Category.objects.create(
        campaign=campaign,
        name="低保困难户",
        cash=800,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
        eligibility=[[["dibao", "=", True, False]]],
    )
    plan = of_rows(
        people,
        campaign,
        ["张三", ID["xie"], "东关村", "低保困难户", "是"],
        ["李四", ID["zou"], "东关村", "低保困难户", "否"],
        ["王五", ID["yu"], "东关村", "低保困难户", ""],
        ["赵六", ID["bai"], "东关村", "低保困难户", "也许"],
        ["钱七", ID["shui"], "东关村", "一般困难户", ""],
        header=["姓名", "身份证号", "村", "类别", "低保户"],
    )
    assert plan.labels["fact:dibao"] == "低保户"
    assert outcome(plan) == [(2, NEW), (3, NEW), (4, NEW), (5, INVALID), (6, NEW)]
    assert problems(plan) == [(5, "低保户", "Write 是 or 否, not “也许”.")]
    assert [line.values.get("facts") for line in plan.lines] == [
        {"dibao": True},
        {"dibao": False},
        {},
        None,
        {},
    ]
    assert [line.assessment.amount if line.assessment else None for line in plan.lines] == [
        Decimal("800.00"),
        None,
        None,
        None,
        Decimal("500.00"),
    ]
    assert [line.warnings for line in plan.lines] == [
        [],
        ["The household is not eligible for 低保困难户."],
        ["Evidence missing for 低保困难户: 低保户."],
        [],
        [],
    ]
