"""Reading one roster cell, and one roster file, as clerks and spreadsheets
really write them: each reader against a table of what it must accept (and
what it makes of it) and what it must refuse (with the message the clerk
reads). Messages are compared in English (the new ones are not translated
yet)."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation

from applications.roster import cells, columns, read
from applications.roster.read import RosterError

from .conftest import CHECKSUM, EXCEL_HINT
from .fixtures.make_fixtures import ID, ID_AS_NUMBER


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def wide(text: str) -> str:
    """The full-width (全角) form of ASCII digits and letters."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def refused(reader, value) -> str:
    with pytest.raises(cells.CellError) as caught:
        reader(value)
    return str(caught.value)


# -- text, compact ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        (3.0, "3"),
        (3.5, "3.5"),
        (42, "42"),
        ("  张三  ", "张三"),
        ("林  七", "林 七"),
        ("卫\u3000\u3000八", "卫 八"),
        ("a\tb\nc", "a b c"),
        (wide("123"), "123"),
        (wide("Abc"), "Abc"),
        (datetime.datetime(2024, 1, 5, 8, 30), "2024-01-05"),
        (datetime.date(2024, 1, 5), "2024-01-05"),
    ],
)
def test_it_reads_a_cell_as_text(value, expected):
    assert cells.text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("姓 名", "姓名"),
        ("身份证号码 ", "身份证号码"),
        ("\u3000一般 困难户\u3000", "一般困难户"),
        (None, ""),
    ],
)
def test_it_reads_a_cell_as_text_without_spaces(value, expected):
    assert cells.compact(value) == expected


# -- ID numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID["zhao"], ID["zhao"]),
        (ID["lower_x"].lower(), ID["lower_x"]),
        (ID["lower_x"], ID["lower_x"]),
        (f"  {ID['zhao']}  ", ID["zhao"]),
        (f"{ID['zhao'][:6]} {ID['zhao'][6:14]} {ID['zhao'][14:]}", ID["zhao"]),
        (wide(ID["feng"]), ID["feng"]),
        (f"{wide(ID['feng'])[:6]}\u3000{wide(ID['feng'])[6:]}", ID["feng"]),
        (wide(ID["lower_x"].lower()), ID["lower_x"]),
        (int(ID["zhao"]), ID["zhao"]),
    ],
)
def test_it_reads_an_id_number(value, expected):
    assert cells.id_number(value) == expected


def test_it_reads_an_empty_id_cell_as_empty_for_the_row_check_to_name():
    # The row check says "身份证号 is empty." rather than "has 0 characters".
    assert cells.id_number("") == ""
    assert cells.id_number("\u3000 ") == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (ID["zhao"][:17], "An ID number has 18 characters; this one has 17."),
        (
            "130123800101001",
            "This is an old 15-digit ID number; enter the 18-digit number on the current card.",
        ),
        (ID["zhao"][:16] + "A1", "An ID number has 17 digits followed by a digit or X."),
        ("99" + ID["zhao"][2:], "The first two digits (99) are not a province code."),
        (
            ID["zhao"][:6] + "19801332" + ID["zhao"][14:],
            "Digits 7–14 (19801332) are not a valid birth date.",
        ),
        (ID["zhang_bad"], CHECKSUM),
        (ID_AS_NUMBER, f"{CHECKSUM} {EXCEL_HINT}"),
        (
            float(ID["zhao"][:15]),
            "This is an old 15-digit ID number; enter the 18-digit number on the current card. "
            + EXCEL_HINT,
        ),
        (3.5, "This is not an ID number."),
    ],
)
def test_it_refuses_an_id_number(value, message):
    assert refused(cells.id_number, value) == message


# -- amounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,500元", Decimal("1500.00")),
        ("￥600", Decimal("600.00")),
        ("¥600", Decimal("600.00")),
        (600.0, Decimal("600.00")),
        (600, Decimal("600.00")),
        (12.5, Decimal("12.50")),
        ("12.5", Decimal("12.50")),
        ("12.05元", Decimal("12.05")),
        (wide("500") + "元", Decimal("500.00")),
        (wide("1,500.50"), Decimal("1500.50")),
        ("1 500", Decimal("1500.00")),
        ("RMB 300", Decimal("300.00")),
        ("人民币300元", Decimal("300.00")),
        ("0", Decimal("0.00")),
        ("", None),
        ("  ", None),
        (None, None),
        ("元", None),
    ],
)
def test_it_reads_an_amount(value, expected):
    assert cells.amount(value) == expected


def test_it_reads_an_amount_excel_computed_with_a_float_error():
    """=3*33.3 shows 99.9 in Excel; the file holds 99.89999999999999. The clerk
    sees 99.9 and cannot act on "at most two decimals"."""
    assert cells.amount(3 * 33.3) == Decimal("99.90")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "“abc” is not an amount in yuan."),
        ("-5", "“-5” is not an amount in yuan."),
        ("1e5", "“1e5” is not an amount in yuan."),
        ("五百元", "“五百元” is not an amount in yuan."),
        ("1.2.3", "“1.2.3” is not an amount in yuan."),
        (-5.0, "An amount cannot be negative."),
        (-5, "An amount cannot be negative."),
        (True, "This is not an amount."),
        ("12.345", "An amount has at most two decimals (fen)."),
        (12.345, "An amount has at most two decimals (fen)."),
        (1e12, "The amount is too large."),
        ("1000000000000", "The amount is too large."),
        (1e40, "The amount is too large."),
        (float("inf"), "The amount is too large."),
    ],
)
def test_it_refuses_an_amount(value, message):
    assert refused(cells.amount, value) == message


# -- counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (3.0, 3),
        ("3", 3),
        ("3人", 3),
        ("3 口", 3),
        ("5名", 5),
        ("2个", 2),
        (wide("3") + "口", 3),
        ("\u3000４\u3000口", 4),
        ("0", 0),
        (999, 999),
        ("", None),
        (None, None),
        ("人", None),
    ],
)
def test_it_reads_a_count(value, expected):
    assert cells.count(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3.5", "“3.5” is not a whole number."),
        (3.5, "“3.5” is not a whole number."),
        ("三人", "“三人” is not a whole number."),
        ("1234567", "“1234567” is not a whole number."),
        (True, "This is not a whole number."),
        (-1, "-1 is not a plausible number here."),
        (1000, "1000 is not a plausible number here."),
        ("1000人", "1000 is not a plausible number here."),
    ],
)
def test_it_refuses_a_count(value, message):
    assert refused(cells.count, value) == message


# -- dates ------------------------------------------------------------------------------

JAN_5 = datetime.date(2024, 1, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024/1/5", JAN_5),
        ("2024年1月5日", JAN_5),
        ("2024年01月05日", JAN_5),
        ("2024-01-05", JAN_5),
        ("2024.1.5", JAN_5),
        ("20240105", JAN_5),
        (" 2024 / 1 / 5 ", JAN_5),
        (wide("2024/1/5"), JAN_5),
        (datetime.datetime(2024, 1, 5, 8, 30), JAN_5),
        (JAN_5, JAN_5),
        (45296, JAN_5),  # Excel's serial day number
        (45296.0, JAN_5),
        (20240105, JAN_5),
        ("", None),
        (None, None),
    ],
)
def test_it_reads_a_date(value, expected):
    assert cells.date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024/2/30", "“2024/2/30” is not a real date."),
        ("2024年13月1日", "“2024年13月1日” is not a real date."),
        ("yesterday", "“yesterday” is not a date such as 2024-01-31."),
        ("1/5/2024", "“1/5/2024” is not a date such as 2024-01-31."),
        (45296.5, "“45296.5” is not a date such as 2024-01-31."),
        (True, "“True” is not a date such as 2024-01-31."),
    ],
)
def test_it_refuses_a_date(value, message):
    assert refused(cells.date, value) == message


# -- yes/no, phone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("是", True),
        ("否", False),
        ("有", True),
        ("无", False),
        ("√", True),
        ("×", False),
        ("Y", True),
        ("no", False),
        (1, True),
        (0.0, False),
        (True, True),
        (False, False),
        ("", None),
        (None, None),
    ],
)
def test_it_reads_yes_or_no(value, expected):
    assert cells.yes_no(value) == expected


def test_it_refuses_what_is_neither_yes_nor_no():
    assert refused(cells.yes_no, "可能") == "Write 是 or 否, not “可能”."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        (13800138000.0, "13800138000"),
        (13800138000, "13800138000"),
        ("0311—87654321", "0311-87654321"),
        ("0311－87654321", "0311-87654321"),
        (wide("13800138000"), "13800138000"),
        ("", ""),
        (None, ""),
    ],
)
def test_it_reads_a_phone_number(value, expected):
    assert cells.phone(value) == expected


# -- headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("姓 名", "姓名"),
        ("身份证号码 ", "身份证号码"),
        ("金额（元）", "金额"),
        ("金额(元)", "金额"),
        ("姓名*", "姓名"),
        ("联系电话：", "联系电话"),
        ("ID", "id"),
    ],
)
def test_it_reads_a_header_for_matching(value, expected):
    assert columns.header_key(value) == expected


def test_it_finds_columns_by_their_wording_and_by_a_saved_mapping():
    headers = ["序号", "户主名", "身份证号码 ", "所在村组", "金额（元）", "备注"]
    found = columns.find(headers, list(columns.COLUMNS))
    assert found == {"seq": 0, "id_number": 2, "amount": 4, "amount_reason": 5}
    saved = {"name": "户主名", "village": "所在村组", "amount_reason": ""}
    found = columns.find(headers, list(columns.COLUMNS), saved)
    assert found == {"seq": 0, "name": 1, "id_number": 2, "village": 3, "amount": 4}


def test_it_finds_the_header_below_a_title_and_blank_rows():
    rows = [["2026年花名册", "", ""], ["", "", ""], ["填表单位：城关镇", "", ""]]
    rows += [["序号", "姓名", "身份证号"], [1, "张三", ID["zhao"]]]
    assert columns.header_row(rows, list(columns.COLUMNS)) == 3


def test_it_finds_no_header_when_under_two_columns_are_known():
    rows = [["张三", ID["zhao"], "东关村"], ["姓名", "户主名", "号码"]]
    assert columns.header_row(rows, list(columns.COLUMNS)) is None


def test_it_finds_no_header_below_the_twentieth_row():
    rows = [[""]] * 20 + [["姓名", "身份证号"]]
    assert columns.header_row(rows, list(columns.COLUMNS)) is None


# -- whole files ------------------------------------------------------------------------


def read_bytes(data: bytes, name: str) -> read.Table:
    return read.read(io.BytesIO(data), name)


def read_refused(data: bytes, name: str) -> str:
    with pytest.raises(RosterError) as caught:
        read_bytes(data, name)
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"abc",
            "roster.txt",
            "Upload an Excel file (.xlsx or .xls) or a .csv file, not “roster.txt”.",
        ),
        (b"abc", "roster", "Upload an Excel file (.xlsx or .xls) or a .csv file, not “roster”."),
        (b"", "roster.xlsx", "The file is empty."),
        (b"", "roster.csv", "The file is empty."),
        (b"\xff\xff\xff,\x80\x80", "roster.csv", "The .csv file is neither UTF-8 nor GBK text."),
    ],
)
def test_it_refuses_a_file_that_is_no_roster(data, name, message):
    assert read_refused(data, name) == message


def test_it_refuses_a_text_file_named_xlsx():
    message = read_refused(b"\xe5\xa7\x93\xe5\x90\x8d,ID\n", "roster.xlsx")
    assert message.startswith("The file cannot be read as a spreadsheet (")
    assert message.endswith("). Save it again from Excel.")


def test_it_refuses_a_file_above_the_row_limit(settings):
    settings.ROSTER_MAX_ROWS = 10
    data = "\n".join(["姓名,身份证号", *[f"张{i},{ID['zhao']}" for i in range(10)]]).encode()
    assert read_refused(data, "big.csv") == (
        "The file has 11 rows; a roster may have at most 10. Split it."
    )
    assert len(read_bytes(data.rsplit(b"\n", 1)[0], "ok.csv").rows) == 10


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_it_reads_csv_in_the_encodings_excel_writes(encoding):
    data = f"姓名,身份证号,村/社区\r\n张三,{ID['zhao']},东关村\r\n".encode(encoding)
    assert read_bytes(data, "r.CSV").rows == [
        ["姓名", "身份证号", "村/社区"],
        ["张三", ID["zhao"], "东关村"],
    ]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_it_reads_csv_with_the_delimiter_it_finds(delimiter):
    data = delimiter.join(["姓名", "身份证号", "金额"]) + "\n"
    data += delimiter.join(["张三", ID["zhao"], "1500"]) + "\n"
    assert read_bytes(data.encode(), "r.csv").rows[1] == ["张三", ID["zhao"], "1500"]


def test_it_keeps_the_row_numbers_of_a_sheet_with_blank_rows_above():
    from openpyxl import Workbook

    book = Workbook()
    book.active["B3"] = "姓名"
    book.active["C3"] = "身份证号"
    book.active["B4"] = "张三"
    out = io.BytesIO()
    book.save(out)
    table = read_bytes(out.getvalue(), "r.xlsx")
    assert table.rows[2][1:3] == ["姓名", "身份证号"]
    assert table.rows[3][1] == "张三"


def test_it_reads_the_first_sheet_with_data():
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    second = book.create_sheet("名单")
    second.append(["姓名", "身份证号"])
    out = io.BytesIO()
    book.save(out)
    table = read_bytes(out.getvalue(), "r.xlsx")
    assert (table.sheet, table.rows) == ("名单", [["姓名", "身份证号"]])


def test_it_fills_a_value_merged_over_rows_below_the_header():
    table = read.Table(
        rows=[["标题", ""], ["姓名", "村"], ["张三", "东关村"], ["李四", ""], ["王五", None]],
        merged=[((0, 0), (0, 1)), ((2, 1), (4, 1))],
    )
    read.fill_merged(table, 1)
    assert [row[1] for row in table.rows] == ["", "村", "东关村", "东关村", "东关村"]
