"""The statistics workbook (类别统计表): the figures equal the database's, the
sheets' SUM totals recalculate to them in LibreOffice, one aggregate query per
table, and the command. The data is the ledger tests' campaign (see
make_ledger_campaign): four approved applications, one awaiting the county,
one in notice, one rejected."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from applications.choices import State
from applications.models import Application
from documents import statistics
from documents.statistics import Figure, write_statistics
from tests.applications.conftest import open_campaign
from tests.documents.test_ledger import make_ledger_campaign, recalculated, shown

pytestmark = pytest.mark.django_db

HEADER_ROW = statistics.FIRST_ROW - 1  # 1-based; in a list of rows, its lines start here


@pytest.fixture
def data(people, areas, campaign_t1):
    return make_ledger_campaign(people, areas, campaign_t1)


def database(applications, *keys: str) -> dict:
    rows = applications.values_list(*keys).annotate(n=Count("pk"), total=Sum("amount")).order_by()
    return {
        (row[0] if len(keys) == 1 else tuple(row[:-2])): Figure(row[-2], row[-1]) for row in rows
    }


def test_it_counts_and_sums_the_approved_by_category_and_village_as_the_database_does(
    data, tmp_path
):
    figures = write_statistics(data.campaign, tmp_path / "statistics.xlsx")
    approved = Application.objects.filter(campaign=data.campaign, state=State.APPROVED)
    assert figures["by_category_village"] == database(approved, "category__name", "village__name")
    assert figures["by_category"] == database(approved, "category__name")
    assert figures["by_village"] == database(approved, "village__name")
    assert figures["by_fund_source"] == database(approved, "fund_source__name")
    assert figures["by_village"] == {
        "东关村": Figure(3, Decimal("1833.33")),
        "西关村": Figure(1, Decimal(500)),
    }
    assert figures["approved"] == Figure(4, Decimal("2333.33"))


def test_it_counts_every_application_by_state(data, tmp_path):
    figures = write_statistics(data.campaign, tmp_path / "statistics.xlsx")
    everything = Application.objects.filter(campaign=data.campaign)
    assert figures["by_state"] == database(everything, "state")
    assert figures["by_state"] == {
        State.APPROVED: Figure(4, Decimal("2333.33")),
        State.AWAITING_COUNTY: Figure(1, Decimal(800)),
        State.IN_NOTICE: Figure(1, Decimal(500)),
        State.REJECTED: Figure(1, Decimal(500)),
    }
    assert figures["all"] == Figure(7, Decimal("4133.33"))


def test_it_lists_a_fund_source_nothing_was_approved_from(people, areas, tmp_path):
    campaign = open_campaign(people, areas.t1, "2026年送温暖")
    path = tmp_path / "statistics.xlsx"
    figures = write_statistics(campaign, path)
    assert figures["by_fund_source"] == {"镇财政": Figure(0, Decimal(0))}
    assert figures["by_category_village"] == {} and figures["all"] == Figure(0, Decimal(0))
    sheet = load_workbook(path, read_only=True).worksheets[2]
    rows = list(sheet.iter_rows(min_row=statistics.FIRST_ROW, values_only=True))
    assert len(rows) == 2  # the fund source and the total
    assert rows[0][:4] == ("镇财政", "财政所", 0, 0)


def test_it_names_the_sheets_and_states_in_the_active_language(data, tmp_path):
    path = tmp_path / "statistics.xlsx"
    with translation.override("en"):
        write_statistics(data.campaign, path)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "Households by category",
        "Amounts by category",
        "By fund source",
        "By state",
    ]
    header = next(book.worksheets[0].iter_rows(min_row=HEADER_ROW, values_only=True))
    assert header == ("Village", "一般困难户", "重点困难户", "大病困难户", "Total")
    states = book.worksheets[3].iter_rows(min_row=statistics.FIRST_ROW, values_only=True)
    assert [r[0] for r in states] == [
        "In public notice",
        "Awaiting county approval",
        "Approved",
        "Rejected",
        "Total",
    ]


def test_it_recalculates_to_the_same_totals_in_libreoffice(data, tmp_path):
    path = tmp_path / "statistics.xlsx"
    figures = write_statistics(data.campaign, path)
    counts, amounts, by_source, by_state = recalculated(path).values()
    categories = ["一般困难户", "重点困难户", "大病困难户"]

    for rows, field in ((counts, "count"), (amounts, "amount")):
        *lines, total = [r for r in rows[HEADER_ROW:] if any(r)]
        for line in lines:
            village = line[0]
            cells = [shown(v) for v in line[1:]]
            expected = [
                getattr(figures["by_category_village"].get((c, village), Figure(0, 0)), field)
                for c in categories
            ]
            assert cells == [*expected, getattr(figures["by_village"][village], field)]
        assert [shown(v) for v in total[1:]] == [
            *(getattr(figures["by_category"].get(c, Figure(0, 0)), field) for c in categories),
            getattr(figures["approved"], field),
        ]

    *lines, total = [r for r in by_source[HEADER_ROW:] if any(r)]
    assert {r[0]: Figure(int(r[2]), shown(r[3])) for r in lines} == figures["by_fund_source"]
    assert Figure(int(total[2]), shown(total[3])) == figures["approved"]

    *lines, total = [r for r in by_state[HEADER_ROW:] if any(r)]
    assert Figure(int(total[1]), shown(total[2])) == figures["all"] == Figure(7, Decimal("4133.33"))


def test_it_reads_each_table_in_one_aggregate_query(data, tmp_path):
    with CaptureQueriesContext(connection) as captured:
        write_statistics(data.campaign, tmp_path / "statistics.xlsx")
    grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 3  # category × village, fund source, state
    assert len(captured) <= 12


def test_it_exports_the_statistics_from_the_command_line(data, tmp_path):
    path = tmp_path / "statistics.xlsx"
    out = io.StringIO()
    call_command("export_statistics", str(data.campaign.pk), "--out", str(path), stdout=out)
    assert load_workbook(path, read_only=True).sheetnames[2:] != []
    assert str(path) in out.getvalue()
    with pytest.raises(CommandError, match="999999"):
        call_command("export_statistics", "999999", out=str(tmp_path / "other.xlsx"))
    assert not (tmp_path / "other.xlsx").exists()
