"""Fixtures of the roster import's tests: the fixture files, an upload of one
of them, and the register the duplicate cases meet."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from applications.choices import State
from applications.roster import read, services
from recipients import services as registry
from recipients.choices import Relation
from tests.applications.conftest import walk

from .fixtures.make_fixtures import ID

FIXTURES = Path(__file__).parent / "fixtures"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The header of most fixture files.
HEADER = [
    "序号",
    "姓名",
    "身份证号",
    "村/社区",
    "类别",
    "人口",
    "致困原因",
    "联系电话",
    "金额",
    "住址",
]
# relief/idnumber.py's and cells.id_number's messages, in English.
CHECKSUM = (
    "The check digit (the last character) does not match the other digits: "
    "one of them is probably mistyped."
)
EXCEL_HINT = (
    "The number was stored as a number in Excel, which keeps only 15 digits: "
    "format the column as text and type the number again."
)


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def table(name: str) -> read.Table:
    return read.read(fixture_path(name), name)


def uploaded(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    """A file as the upload form receives it: a fixture's bytes, or `content`."""
    data = fixture_path(name).read_bytes() if content is None else content
    return SimpleUploadedFile(name, data, content_type=XLSX)


def upload(actor, campaign, name: str, content: bytes | None = None):
    return services.upload(actor, campaign, uploaded(name, content))


def xlsx(rows: list[list[object]]) -> bytes:
    """An .xlsx of these rows, made here."""
    book = openpyxl.Workbook()
    for values in rows:
        book.active.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded rosters go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def english():
    """The import's messages are not translated yet: compare them in English."""
    with translation.override("en"):
        yield


def _household(actor, village, *members, phone: str = ""):
    """A household filed through the register: (name, ID key) pairs, the first the head."""
    people = [
        registry.MemberInput(
            name=name,
            id_number=ID[key],
            relation=Relation.HEAD if i == 0 else Relation.CHILD,
            phone=phone if i == 0 else "",
        )
        for i, (name, key) in enumerate(members)
    ]
    return registry.create_household(actor, village=village, address="东大街9号", members=people)


@pytest.fixture
def on_file(people, areas, campaign):
    """The register duplicates_file.xlsx and duplicates_db.xlsx meet:
    华大 and 华小, one household of 东关村; 金一 of 东关村 with a draft
    application in the campaign; 魏二 of 东岭村 (东岭乡, outside 城关镇);
    陶三 and 姜四 of 东关村 with their phone numbers."""
    admin = people.superuser
    hua = _household(admin, areas.a, ("华大", "hua_head"), ("华小", "hua_child"))
    jin = _household(admin, areas.a, ("金一", "jin_applied"))
    applied = walk(people, campaign, jin, State.DRAFT)
    wei = _household(admin, areas.c, ("魏二", "wei_outside"))
    tao = _household(admin, areas.a, ("陶三", "tao_on_file"), phone="13900000001")
    jiang = _household(admin, areas.a, ("姜四", "jiang_phone"), phone="13800000000")
    return SimpleNamespace(hua=hua, jin=jin, applied=applied, wei=wei, tao=tao, jiang=jiang)
