"""The ledger workbook (发放台账): its rows (payment records, and approved
applications not yet planned), its subtotals and budget sheet, the same
totals computed in Python, in the database and by LibreOffice recalculating
the file's formulas, its print set-up, and the command (which signs it: the
signature itself is tested in tests/disbursements/test_signing.py).

Applications and payments are made through the real services (walk,
disbursements.services). Assertions read data and numbers; headers are
checked in English (translation.override)."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext
from openpyxl import load_workbook

from applications.choices import COMMITTED, State
from applications.models import Application
from campaigns import services as campaign_services
from campaigns.choices import ApprovalLevel, CampaignStatus, StandardKind
from campaigns.models import Category, FundShare, FundSource
from disbursements import services as disbursement_services
from disbursements import signing
from disbursements.choices import Method, PaymentState
from disbursements.models import ChainHead
from documents import ledger
from documents.ledger import write_ledger
from tests.applications.conftest import open_campaign, walk
from tests.conftest import make_area, make_household
from tests.disbursements.signing_fixtures import fresh_key, pay

pytestmark = pytest.mark.django_db

FIRST = ledger.FIRST_ITEM_ROW
COUNTY_REASON = "户主患尿毒症，透析费用高"

# -- data -----------------------------------------------------------------------------------


def make_ledger_campaign(people, areas, campaign_t1) -> SimpleNamespace:
    """Township T1's campaign with two fund sources (the second split 50/50
    between two payers) and three categories, and seven applications:

    东关村: 张三 一般困难户 500, 赵六 重点困难户 800 + goods 200, 孙七 大病困难户 333.33
    西关村: 李四 一般困难户 500 (approved); 周八 大病困难户 800 (awaiting the county);
            吴九 (in notice); 郑十 (rejected)
    """
    district = FundSource.objects.create(
        campaign=campaign_t1, name="区财政", payer="区财政局", budget=20000, order=1
    )
    FundShare.objects.create(fund_source=district, payer="区财政局", percent=50)
    FundShare.objects.create(fund_source=district, payer="城关镇财政所", percent=50)
    key = Category.objects.create(
        campaign=campaign_t1,
        name="重点困难户",
        cash=800,
        goods=200,
        fund_source=district,
        order=1,
    )
    illness = Category.objects.create(
        campaign=campaign_t1,
        name="大病困难户",
        kind=StandardKind.RANGE,
        range_min=200,
        range_max=600,
        range_soft=True,
        range_outside_level=ApprovalLevel.COUNTY,
        fund_source=district,
        order=2,
    )
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign = campaign_t1
    campaign.refresh_from_db()

    def home(village, name):
        return make_household(people.superuser, village, name)

    apps = SimpleNamespace(
        zhang=walk(people, campaign, home(areas.a, "张三"), State.APPROVED),
        zhao=walk(people, campaign, home(areas.a, "赵六"), State.APPROVED, category=key),
        sun=walk(
            people,
            campaign,
            home(areas.a, "孙七"),
            State.APPROVED,
            category=illness,
            proposed=Decimal("333.33"),
        ),
        li=walk(people, campaign, home(areas.b, "李四"), State.APPROVED),
        zhou=walk(
            people,
            campaign,
            home(areas.b, "周八"),
            State.AWAITING_COUNTY,
            category=illness,
            proposed=Decimal(800),
            amount_reason=COUNTY_REASON,
        ),
        wu=walk(people, campaign, home(areas.b, "吴九"), State.IN_NOTICE),
        zheng=walk(people, campaign, home(areas.b, "郑十"), State.REJECTED),
    )
    return SimpleNamespace(campaign=campaign, apps=apps, key=key, illness=illness)


@pytest.fixture
def data(people, areas, campaign_t1) -> SimpleNamespace:
    return make_ledger_campaign(people, areas, campaign_t1)


def money(value) -> Decimal:
    """A number as openpyxl reads it back (float or int) as an exact Decimal."""
    return Decimal(str(value))


def item_rows(path) -> list[tuple]:
    """The item rows, each as long as the columns (a row read back ends at its
    last cell holding a value)."""
    sheet = load_workbook(path, read_only=True).worksheets[0]
    width = len(ledger.COLUMNS)
    return [
        tuple(row) + (None,) * (width - len(row))
        for row in sheet.iter_rows(min_row=FIRST, values_only=True)
        if any(row)
    ]


def head(app: Application):
    return app.household.members.get(relation="head")


# -- LibreOffice ---------------------------------------------------------------------------

# CSV export of every sheet to its own file (the last option, -1; LibreOffice
# 7.4 and later), UTF-8 (76), values in full rather than as formatted (the
# ninth option, false: "1833.33", not "1,833.33").
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice() -> str:
    """LibreOffice's soffice, or a failure that says how to get it: these tests
    are part of the normal suite and are never skipped."""
    found = shutil.which("soffice")
    if found is None:
        pytest.fail(
            "LibreOffice is not installed (soffice not on PATH): the workbook tests open the "
            "exported files in it. Install it with scripts/system-deps.sh "
            "(Debian package libreoffice-calc-nogui).",
            pytrace=False,
        )
    return found


def recalculated(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as LibreOffice shows it after loading it,
    formulas recalculated (openpyxl stores no cached values, so every figure a
    formula shows was computed by LibreOffice). A private profile directory, so
    parallel runs never share one."""
    profile = Path(tempfile.mkdtemp(prefix="lo-"))
    out = Path(tempfile.mkdtemp(prefix="lo-csv-"))
    try:
        result = subprocess.run(
            [
                soffice(),
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                CSV_FILTER,
                "--outdir",
                str(out),
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        names = load_workbook(path, read_only=True).sheetnames
        sheets = {}
        for name in names:
            converted = out / f"{path.stem}-{name}.csv"
            assert converted.exists(), (
                f"LibreOffice wrote no {converted.name}: {result.stdout}{result.stderr}"
            )
            sheets[name] = list(csv.reader(converted.read_text(encoding="utf-8").splitlines()))
        return sheets
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def shown(text: str) -> Decimal:
    """A figure LibreOffice computed, as a Decimal."""
    return Decimal(text)


def table_after_header(rows: list[list[str]], header_row: int) -> list[list[str]]:
    return [r for r in rows[header_row:] if any(r)]


# -- the rows ------------------------------------------------------------------------------


def test_it_lists_each_approved_application_with_its_recipient_and_money(data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    write_ledger(data.campaign, path)
    rows = item_rows(path)
    apps = data.apps
    # Village by village (area code), then by application number; nothing that
    # is not approved.
    assert [r[1] for r in rows] == [a.number for a in (apps.zhang, apps.zhao, apps.sun, apps.li)]
    zhao = head(apps.zhao)
    row = rows[1]
    assert row[:9] == (
        2,
        apps.zhao.number,
        apps.zhao.household.number,
        "赵六",
        zhao.id_number,  # in full: the ledger is for finance and auditors
        "东关村",
        "重点困难户",
        "区财政",
        "区财政局 50%、城关镇财政所 50%",
    )
    assert [money(v) for v in row[9:12]] == [Decimal(800), Decimal(200), Decimal(1000)]
    # No payment planned yet: no method, date or cadre, not signed, no payment
    # record, not booked; its status says so.
    assert row[12:15] == (None, None, None)
    assert row[15] == gettext("No")
    assert row[16:] == (None, pgettext("ledger", "Not yet planned"), None)
    assert rows[2][3] == "孙七" and money(rows[2][11]) == Decimal("333.33")
    assert rows[3][5:9] == ("西关村", "一般困难户", "镇财政", "城关镇财政所")


def test_it_writes_money_as_exact_decimals(data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    write_ledger(data.campaign, path)
    with zipfile.ZipFile(path) as archive:
        items = archive.read("xl/worksheets/sheet1.xml").decode()
    # openpyxl writes 16 significant digits; amounts have at most 14.
    assert "<v>333.33</v>" in items
    assert "<v>1000</v>" in items


def test_it_writes_the_headers_and_sheets_in_the_active_language(data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    with translation.override("en"):
        write_ledger(data.campaign, path)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "Payment ledger",
        "Subtotals by village",
        "Subtotals by fund source",
        "Budget",
    ]
    sheet = book.worksheets[0]
    titles = [r[0] for r in sheet.iter_rows(max_row=ledger.TITLE_ROWS, values_only=True)]
    assert titles[:3] == ["城关镇人民政府", "2026年春节慰问", "Payment ledger"]
    # No payment yet: the chain is at its start.
    assert titles[3].startswith(f"Payment chain head: event #0, hash {'0' * 64}. Exported ")
    header = next(sheet.iter_rows(min_row=ledger.HEADER_ROW, max_row=ledger.HEADER_ROW))
    assert [c.value for c in header] == [
        "No.",
        "Application number",
        "Household number",
        "Head of household or payee",
        "ID number",
        "Village",
        "Category",
        "Fund source",
        "Payer",
        "Cash",
        "Goods at cash value",
        "Amount",
        "Payment method",
        "Paid on",
        "Paid by",
        "Signed for",
        "Payment number",
        "Status",
        "Booked on",
    ]


def test_it_sets_the_sheet_up_for_reading_and_printing(data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    write_ledger(data.campaign, path)
    sheet = load_workbook(path).worksheets[0]
    assert sheet.freeze_panes == f"A{FIRST}"
    assert sheet.print_title_rows == f"$1:${ledger.HEADER_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.auto_filter.ref == f"A{ledger.HEADER_ROW}:S{FIRST + 3}"
    assert sheet.column_dimensions["E"].width == 21  # an 18-digit ID number fits
    for column in "JKL":
        assert sheet[f"{column}{FIRST}"].number_format == "#,##0.00"
    assert sheet[f"A{FIRST}"].number_format == "General"


def test_it_keeps_text_that_looks_like_a_formula_as_text(people, areas, tmp_path):
    campaign = open_campaign(people, areas.t1, "2026年送温暖")
    walk(people, campaign, make_household(people.superuser, areas.a, "=1+2"), State.APPROVED)
    path = tmp_path / "ledger.xlsx"
    write_ledger(campaign, path)
    assert item_rows(path)[0][3] == "=1+2"
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_it_drops_characters_a_spreadsheet_cannot_hold(people, areas, tmp_path):
    campaign = open_campaign(people, areas.t1, "2026年送温暖")
    app = walk(people, campaign, make_household(people.superuser, areas.a, "王五"), State.APPROVED)
    # As an old import might have left it: a control character in the name.
    app.household.members.update(name="王\x0b五")
    path = tmp_path / "ledger.xlsx"
    write_ledger(campaign, path)
    assert item_rows(path)[0][3] == "王五"


def test_it_lists_each_payment_record_with_how_when_and_by_whom_it_was_paid(
    people, areas, campaign_t1, settings, tmp_path
):
    """张三 signed for (cadre 王干部), 赵六 handed over, 孙七 planned, 李四
    signed for then corrected to 450 (its reversal at its negative, its
    replacement) and booked: one row per record, in order, with its own money."""
    data = pay(people, make_ledger_campaign(people, areas, campaign_t1), settings, tmp_path)
    path = tmp_path / "ledger.xlsx"
    totals = write_ledger(data.campaign, path)
    rows = item_rows(path)
    apps, payments = data.apps, data.payments
    li = payments[apps.li.pk].number
    assert [r[16] for r in rows] == [
        payments[apps.zhang.pk].number,
        payments[apps.zhao.pk].number,
        payments[apps.sun.pk].number,
        li,
        f"{li}-R",
        f"{li}-C",
    ]
    assert [r[1] for r in rows] == [a.number for a in (apps.zhang, apps.zhao, apps.sun)] + [
        apps.li.number
    ] * 3
    today = timezone.localdate()
    midnight = datetime.datetime.combine(today, datetime.time())
    cash = str(Method.CASH.label)
    yes, no = gettext("Yes"), gettext("No")
    state = {value: str(label) for value, label in PaymentState.choices}
    reversal = pgettext("ledger", "Reversal of %(number)s") % {"number": li}
    replacement = pgettext("ledger", "Replaces %(number)s") % {"number": li}
    by_li = people.clerk_b.name
    # method (as planned, until handed over), paid on, paid by, signed, status, booked on
    assert [r[12:16] + r[17:] for r in rows] == [
        (cash, midnight, "王干部", yes, state["signed"], None),
        (cash, midnight, people.clerk_a.name, no, state["handed_over"], None),
        (cash, None, None, no, state["planned"], None),
        (cash, midnight, by_li, yes, state["signed"], midnight),
        (cash, midnight, by_li, yes, reversal, midnight),
        (cash, midnight, by_li, yes, replacement, midnight),
    ]
    # The money of each record; the recipient as filed on it.
    assert [tuple(money(v) for v in r[9:12]) for r in rows] == [
        (Decimal(500), Decimal(0), Decimal(500)),
        (Decimal(800), Decimal(200), Decimal(1000)),
        (Decimal("333.33"), Decimal(0), Decimal("333.33")),
        (Decimal(500), Decimal(0), Decimal(500)),
        (Decimal(-500), Decimal(0), Decimal(-500)),
        (Decimal(450), Decimal(0), Decimal(450)),
    ]
    assert rows[4][3:5] == ("李四", head(apps.li).id_number)
    sheet = load_workbook(path).worksheets[0]
    for column in "NS":  # paid on, booked on
        assert sheet[f"{column}{FIRST + 3}"].number_format == "yyyy-mm-dd"
    # The totals: what was approved and the net of the correction (-50).
    assert totals.total.count == 6
    assert totals.total.amount == Decimal("2333.33") - 50
    assert (totals.by_village["西关村"].count, totals.by_village["西关村"].amount) == (3, 450)
    # The chain head of exactly these records, printed in the title.
    head_row = ChainHead.objects.get(campaign=data.campaign)
    assert totals.chain_head == (head_row.seq, head_row.hash)
    title = load_workbook(path, read_only=True).worksheets[0]["A4"].value
    assert f"#{head_row.seq}" in title and head_row.hash in title

    # LibreOffice's COUNTIF/SUMIF count the reversal and its negative amount.
    _items, by_village, _by_source, _budget = recalculated(path).values()
    lines = table_after_header(by_village, ledger.HEADER_ROW)
    assert [(r[0], r[1], shown(r[4])) for r in lines] == [
        ("东关村", "3", Decimal("1833.33")),
        ("西关村", "3", Decimal(450)),
        (lines[-1][0], "6", Decimal("2283.33")),
    ]


def test_it_writes_to_a_binary_file(data):
    out = io.BytesIO()
    totals = write_ledger(data.campaign, out)
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
    assert sum(1 for _r in sheet.iter_rows(min_row=FIRST)) == totals.total.count == 4


def test_it_reports_progress(data, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "PROGRESS_EVERY", 3)
    calls = []
    write_ledger(data.campaign, tmp_path / "ledger.xlsx", progress=lambda *a: calls.append(a))
    assert calls == [(3, 4), (4, 4)]


def test_it_writes_an_empty_ledger(people, areas, tmp_path):
    campaign = open_campaign(people, areas.t1, "2026年送温暖")
    path = tmp_path / "ledger.xlsx"
    totals = write_ledger(campaign, path)
    assert item_rows(path) == []
    assert (totals.total.count, totals.total.amount, totals.by_village) == (0, 0, {})
    assert [line.name for line in totals.budget] == ["镇财政"]


# -- the totals ----------------------------------------------------------------------------


def test_it_totals_by_village_and_fund_source_as_the_database_does(data, tmp_path):
    totals = write_ledger(data.campaign, tmp_path / "ledger.xlsx")
    approved = Application.objects.filter(campaign=data.campaign, state=State.APPROVED)

    def database(key):
        return {
            row[key]: (row["n"], row["cash"], row["goods"], row["amount"])
            for row in approved.values(key)
            .annotate(n=Count("pk"), cash=Sum("cash"), goods=Sum("goods"), amount=Sum("amount"))
            .order_by()
        }

    def computed(groups):
        return {k: (s.count, s.cash, s.goods, s.amount) for k, s in groups.items()}

    assert computed(totals.by_village) == database("village__name")
    assert computed(totals.by_fund_source) == database("fund_source__name")
    assert computed(totals.by_village) == {
        "东关村": (3, Decimal("1633.33"), Decimal(200), Decimal("1833.33")),
        "西关村": (1, Decimal(500), Decimal(0), Decimal(500)),
    }
    everything = approved.aggregate(n=Count("pk"), amount=Sum("amount"))
    assert (totals.total.count, totals.total.amount) == (everything["n"], everything["amount"])
    assert totals.total.amount == Decimal("2333.33")


def test_it_shows_the_budget_committed_and_approved_per_fund_source(data, tmp_path):
    totals = write_ledger(data.campaign, tmp_path / "ledger.xlsx")
    lines = {line.name: line for line in totals.budget}
    assert list(lines) == ["镇财政", "区财政"]
    town, district = lines["镇财政"], lines["区财政"]
    assert (town.payers, town.budget, town.committed, town.approved, town.remaining) == (
        "城关镇财政所",
        Decimal(10000),
        Decimal(1000),
        Decimal(1000),
        Decimal(9000),
    )
    # 周八's 800 awaits the county: committed, not yet approved.
    assert (district.budget, district.committed, district.approved, district.remaining) == (
        Decimal(20000),
        Decimal("2133.33"),
        Decimal("1333.33"),
        Decimal("18666.67"),
    )
    committed = Application.objects.filter(
        fund_source__name="区财政", campaign=data.campaign, state__in=COMMITTED
    ).aggregate(total=Sum("amount"))["total"]
    assert district.committed == committed


def test_it_recalculates_to_the_same_totals_in_libreoffice(data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    totals = write_ledger(data.campaign, path)
    sheets = recalculated(path)
    items, by_village, by_source, budget = sheets.values()

    assert len(table_after_header(items, ledger.HEADER_ROW)) == 4
    assert items[ledger.HEADER_ROW + 1][11] == "1000"  # 赵六's amount

    def subtotals(rows, key_columns):
        found = {}
        *lines, total = table_after_header(rows, ledger.HEADER_ROW)
        for row in lines:
            count, cash, goods, amount = row[key_columns:]
            found[row[0]] = (int(count), shown(cash), shown(goods), shown(amount))
        count, cash, goods, amount = total[key_columns:]
        return found, (int(count), shown(cash), shown(goods), shown(amount))

    def expected(groups):
        return {k: (s.count, s.cash, s.goods, s.amount) for k, s in groups.items()}

    grand = (totals.total.count, totals.total.cash, totals.total.goods, totals.total.amount)
    assert subtotals(by_village, 1) == (expected(totals.by_village), grand)
    assert subtotals(by_source, 2) == (expected(totals.by_fund_source), grand)

    *lines, total = table_after_header(budget, ledger.HEADER_ROW)
    assert {row[0]: tuple(shown(v) for v in row[2:]) for row in lines} == {
        line.name: (line.budget, line.committed, line.approved, line.remaining)
        for line in totals.budget
    }
    assert [shown(v) for v in total[2:]] == [
        Decimal(30000),
        Decimal("3133.33"),
        Decimal("2333.33"),
        Decimal("27666.67"),
    ]


def test_it_keeps_villages_of_the_same_name_and_patterned_names_apart_in_libreoffice(
    people, areas, tmp_path
):
    """Two 东关村 in one county, and a fund source whose name COUNTIF would read
    as a pattern (县财政* would also count 县财政专项's items): each line still
    counts its own items, and only those."""
    namesake = make_area("130123200202", "东关村")
    campaign = open_campaign(people, areas.county, "2026年县级送温暖", budget=100000)
    FundSource.objects.filter(campaign=campaign).update(name="县财政*")
    special = FundSource.objects.create(
        campaign=campaign, name="县财政专项", payer="县财政局", budget=100000, order=1
    )
    key = Category.objects.create(
        campaign=campaign, name="重点困难户", cash=800, fund_source=special
    )
    for village, name, category in (
        (areas.a, "张三", {}),
        (areas.a, "李四", {"category": key}),
        (namesake, "王五", {}),
    ):
        home = make_household(people.superuser, village, name)
        walk(people, campaign, home, State.APPROVED, **category)
    path = tmp_path / "ledger.xlsx"
    totals = write_ledger(campaign, path)
    assert {k: v.count for k, v in totals.by_village.items()} == {
        "城关镇东关村": 2,
        "东岭乡东关村": 1,
    }

    sheets = recalculated(path)
    _items, by_village, by_source, _budget = sheets.values()
    lines = table_after_header(by_village, ledger.HEADER_ROW)
    assert [(r[0], r[1], r[4]) for r in lines] == [
        ("城关镇东关村", "2", "1300"),
        ("东岭乡东关村", "1", "500"),
        (lines[-1][0], "3", "1800"),
    ]
    lines = table_after_header(by_source, ledger.HEADER_ROW)
    assert [(r[0], r[2], r[5]) for r in lines] == [
        ("县财政*", "2", "1000"),
        ("县财政专项", "1", "800"),
        (lines[-1][0], "3", "1800"),
    ]


# -- queries -------------------------------------------------------------------------------


def test_it_reads_the_ledger_in_the_same_number_of_queries_for_3_or_30_items(
    people, areas, tmp_path, django_assert_max_num_queries
):
    campaign = open_campaign(people, areas.t1, "2026年送温暖", budget=100000)

    def approve(n, start):
        for i in range(start, start + n):
            village = (areas.a, areas.b)[i % 2]
            home = make_household(people.superuser, village, f"户主{i}")
            walk(people, campaign, home, State.APPROVED)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            write_ledger(campaign, tmp_path / "ledger.xlsx", progress=lambda *a: None)
        return len(captured)

    def plan():
        disbursement_services.plan_payments(people.township_clerk, campaign)

    # Payment records and applications not yet planned, users who handed
    # them over, corrections: all in the rows' one query.
    approve(3, 0)
    plan()
    approve(1, 3)
    few = queries()
    approve(26, 4)
    plan()
    approve(3, 30)
    # The campaign's set-up (categories with tiers, pairs and quotas; fund sources
    # with shares: 6), the villages, the count for the progress, the rows (with
    # the chain head), the budget's sums.
    with django_assert_max_num_queries(10):
        many = queries()
    assert many == few


# -- the command ---------------------------------------------------------------------------


def test_it_exports_the_ledger_from_the_command_line(data, tmp_path, settings):
    fresh_key(settings, tmp_path)
    path = tmp_path / "ledger.xlsx"
    out = io.StringIO()
    call_command("export_ledger", str(data.campaign.pk), out=str(path), stdout=out)
    assert len(item_rows(path)) == 4
    assert str(path) in out.getvalue()
    assert signing.verify_ledger(path, (tmp_path / "ledger.xlsx.sig").read_bytes()).valid
    by_name = tmp_path / "by-name.xlsx"
    call_command(
        "export_ledger",
        data.campaign.name,
        "--out",
        str(by_name),
        "--no-sign",
        stdout=io.StringIO(),
    )
    assert len(item_rows(by_name)) == 4
    assert not (tmp_path / "by-name.xlsx.sig").exists()


def test_it_refuses_an_unknown_or_ambiguous_campaign(people, areas, data, tmp_path):
    path = tmp_path / "ledger.xlsx"
    with pytest.raises(CommandError, match="999999"):
        call_command("export_ledger", "999999", out=str(path))
    with pytest.raises(CommandError, match="no such campaign"):
        call_command("export_ledger", "no such campaign", out=str(path))
    open_campaign(people, areas.t2, data.campaign.name)
    with pytest.raises(CommandError, match=str(data.campaign.pk)):
        call_command("export_ledger", data.campaign.name, out=str(path))
    assert not path.exists()


def test_it_says_when_it_cannot_write_the_file(data, tmp_path, settings):
    fresh_key(settings, tmp_path)
    with pytest.raises(CommandError, match="missing"):
        call_command("export_ledger", str(data.campaign.pk), out=str(tmp_path / "missing/x.xlsx"))
