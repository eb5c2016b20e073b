"""Random rosters: any cell a spreadsheet can hold (text in any script, huge
strings, numbers, floats with NaN and infinity, dates, booleans, empty), in
an .xlsx built here or a .csv. Whatever the file, the screens never answer
with a server error, and an import is all or nothing: every row, or exactly
the valid rows (valid_only), or none at all, never a part."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.conf import settings as settings_
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from applications.models import Application
from applications.roster import services
from applications.roster.check import Kind
from applications.roster.models import RosterImport, RosterStatus
from applications.workflow import WorkflowError
from recipients.models import Household, Person
from relief.models import Job

from .conftest import HEADER
from .fixtures.make_fixtures import ID, ID_AS_NUMBER

pytestmark = pytest.mark.django_db

COLUMNS = [*HEADER, "出生日期", "困难程度", "备注"]

TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")),
    max_size=30,
)
HUGE = st.builds(
    lambda piece, n: piece * n,
    st.sampled_from(["东", "a", "１", " ", "😀", "\u3000"]),
    st.sampled_from([300, 3000, 40000]),  # Excel holds 32,767 characters in a cell
)
ANY = st.one_of(
    st.none(),
    TEXT,
    HUGE,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(2100, 1, 1)),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(2100, 1, 1)),
    st.booleans(),
)
ON_FILE = ["hua_head", "hua_child", "jin_applied", "wei_outside", "tao_on_file", "jiang_phone"]
FRESH = [number for key, number in ID.items() if key not in (*ON_FILE, "zhang_bad")]


def _wide(number: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in number)


# What each column holds on a good row, so that many rows are valid and reach the register...
GOOD = {
    "序号": st.integers(1, 99),
    "姓名": st.sampled_from(["张三", "李 四", "  王五 ", "赵六"]),
    "身份证号": st.one_of(
        st.sampled_from(FRESH),
        st.sampled_from(FRESH).map(str.lower),
        st.sampled_from(FRESH).map(_wide),
    ),
    "村/社区": st.sampled_from(["东关村", "西关村", " 东关村 ", "城关镇西关村"]),
    "类别": st.sampled_from(["一般困难户", ""]),
    "人口": st.sampled_from([3, "3人", "３口", ""]),
    "致困原因": st.sampled_from(["因病", "下岗", ""]),
    "联系电话": st.sampled_from(["", "13800138000", "138 0013 8000"]),
    "金额": st.sampled_from(["", "1,500元", "￥600", 600.0, 500]),
    "住址": st.sampled_from(["", "东大街1号"]),
    "出生日期": st.just(""),
    "困难程度": st.sampled_from(["", "一般", "较重"]),
    "备注": st.sampled_from(["", "家庭困难"]),
}
# ... and what a clerk gets wrong in it.
BAD = {
    "姓名": st.sampled_from(["", "李" * 51]),
    "身份证号": st.one_of(
        st.sampled_from([ID_AS_NUMBER, ID["zhang_bad"], ""]),
        st.sampled_from(ON_FILE).map(ID.get),
    ),
    "村/社区": st.sampled_from(["东岭村", "南关村", ""]),
    "类别": st.just("低保户"),
    "人口": st.sampled_from(["许多", -1, 3.5]),
    "联系电话": st.just("12345"),
    "金额": st.sampled_from(["12.345", -5, "五百"]),
    "出生日期": st.sampled_from(["2024/1/5", "1950年1月5日", datetime.datetime(1952, 1, 5)]),
    "困难程度": st.just("很难"),
}


@st.composite
def row(draw) -> list[object]:
    """A good row with up to three cells spoilt, by a clerk's mistake or anything at all."""
    values = [draw(GOOD[column]) for column in COLUMNS]
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(COLUMNS) - 1))
        column = COLUMNS[index]
        values[index] = draw(st.one_of(BAD[column], ANY) if column in BAD else ANY)
    return values


@st.composite
def rosters(draw) -> tuple[str, bytes]:
    header = draw(st.one_of(st.just(COLUMNS), st.permutations(COLUMNS)))
    order = [COLUMNS.index(h) for h in header]
    rows = [[r[i] for i in order] for r in draw(st.lists(row(), min_size=1, max_size=6))]
    above = draw(st.lists(st.lists(ANY, max_size=3), max_size=2))
    form = draw(st.sampled_from(["xlsx", "xlsx", "csv", "csv", "bytes"]))
    if form == "bytes":  # anything at all, under a roster's name
        return draw(st.sampled_from(["roster.xlsx", "roster.xls", "roster.csv"])), draw(
            st.binary(min_size=1, max_size=300)
        )
    if form == "xlsx":
        return "roster.xlsx", _xlsx([*above, header, *rows])
    return "roster.csv", _csv([header, *rows])


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for values in rows:
        book.active.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


UNEXPECTED = "The job failed unexpectedly. The administrator can find the details in the log."


def crashed() -> list[str]:
    """Jobs that ended in an exception (the inline job turns it into a failed
    job, not a server error, so the page alone would not show it)."""
    texts = set()
    for language in ("en", settings_.LANGUAGE_CODE):
        with translation.override(language):
            texts.add(gettext(UNEXPECTED))
    return [job.title for job in Job.objects.filter(error__in=texts)]


def counts() -> tuple[int, int, int]:
    return Household.objects.count(), Person.objects.count(), Application.objects.count()


class rolled_back:
    """Each example starts from the same register: undo what it wrote."""

    def __enter__(self):
        self.point = transaction.savepoint()

    def __exit__(self, *exc):
        transaction.savepoint_rollback(self.point)


FUZZ = settings(
    deadline=None,
    database=None,  # no .hypothesis folder in the project
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(FUZZ, max_examples=25)
@given(roster=rosters(), valid_only=st.booleans())
def test_it_never_answers_a_roster_with_a_server_error(
    client, people, campaign, on_file, roster, valid_only
):
    """Upload, preview, import and result sheet through the screens (the test
    client raises a server error); the import is all or nothing there too."""
    name, data = roster
    client.force_login(people.township_clerk)
    with rolled_back():
        response = client.post(
            reverse("applications:roster_upload", args=[campaign.pk]),
            {"file": SimpleUploadedFile(name, data)},
        )
        assert response.status_code in (302, 400)
        if response.status_code == 400:
            event("refused at the upload")
            return
        upload = RosterImport.objects.latest("pk")
        detail = reverse("applications:roster_detail", args=[upload.pk])
        assert client.get(detail).status_code == 200
        assert client.get(detail, {"kind": "refused"}).status_code == 200
        before = counts()
        answer = client.post(
            reverse("applications:roster_import", args=[upload.pk]),
            {"valid_only": "on"} if valid_only else {},
        )
        assert answer.status_code == 302
        event("imported" if _all_or_nothing(upload, before, valid_only) else "not imported")
        assert client.get(detail).status_code == 200
        result = client.get(reverse("applications:roster_result", args=[upload.pk]))
        assert result.status_code in (200, 302)
        assert crashed() == []


@settings(FUZZ, max_examples=50)
@given(roster=rosters(), valid_only=st.booleans())
def test_it_imports_all_the_valid_rows_or_nothing(people, campaign, on_file, roster, valid_only):
    name, data = roster
    clerk = people.township_clerk
    with rolled_back():
        upload = services.upload(clerk, campaign, SimpleUploadedFile(name, data))
        plan = services.preview(clerk, upload)
        upload.refresh_from_db()
        if plan is None:
            event("the file cannot be used")
            assert upload.status == RosterStatus.FAILED and upload.error
            return
        valid, refused = plan.counts()["valid"], plan.counts()["refused"]
        before = counts()
        try:
            result = services.carry_out(clerk, upload, valid_only=valid_only)
        except WorkflowError:
            event("nothing imported")
            assert counts() == before
            assert valid == 0 or (refused and not valid_only)
            return
        assert valid and (valid_only or not refused)
        new = sum(1 for line in plan.valid if line.kind == Kind.NEW)
        assert counts() == (before[0] + new, before[1] + new, before[2] + valid)
        assert result["applications"] == valid
        assert set(result["rows"]) == {str(line.row) for line in plan.valid}
        event("imported all rows" if valid == len(plan.lines) else "imported the valid rows")


def _all_or_nothing(upload: RosterImport, before: tuple[int, int, int], valid_only: bool) -> bool:
    upload.refresh_from_db()
    if upload.status != RosterStatus.IMPORTED:
        assert counts() == before
        return False
    summary = upload.preview["counts"]
    assert valid_only or summary["refused"] == 0
    new = summary[Kind.NEW]
    assert counts() == (before[0] + new, before[1] + new, before[2] + summary["valid"])
    assert upload.result["applications"] == summary["valid"]
    return True
