"""The roster import's screens as each persona uses them: upload, preview
with counts and refused rows, the column mapping, import (all, or only the
valid rows), the result sheet; the background path for a big roster; and
every persona who must be refused."""

from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.translation import gettext

from applications.models import Application
from applications.roster.check import Kind
from applications.roster.models import ColumnMapping, RosterImport, RosterStatus
from recipients.models import Household, Person
from relief.models import Job, JobStatus

from .conftest import HEADER, uploaded, xlsx
from .fixtures.make_fixtures import ID

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def as_user(client, user):
    client.force_login(user)
    return client


def notes(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def post_roster(client, campaign, name: str, content: bytes | None = None):
    return client.post(
        reverse("applications:roster_upload", args=[campaign.pk]),
        {"file": uploaded(name, content)},
    )


def detail_url(roster) -> str:
    return reverse("applications:roster_detail", args=[roster.pk])


def rows_shown(response) -> list[tuple[int, str, list]]:
    return [
        (line["row"], line["kind"], line["problems"])
        for line in response.context["page"].object_list
    ]


@pytest.fixture
def clerk(client, people):
    return as_user(client, people.township_clerk)


@pytest.fixture
def roster(clerk, campaign, on_file) -> RosterImport:
    """duplicates_db.xlsx uploaded and checked by the township clerk: rows 2
    and 3 refused, 4-6 valid."""
    response = post_roster(clerk, campaign, "duplicates_db.xlsx")
    assert response.status_code == 302
    return RosterImport.objects.get()


# -- upload and preview -----------------------------------------------------------------


def test_it_shows_the_upload_form_and_earlier_rosters(clerk, campaign, roster):
    response = clerk.get(reverse("applications:roster_upload", args=[campaign.pk]))
    assert response.status_code == 200
    assert list(response.context["earlier"]) == [roster]


def test_it_checks_an_upload_and_shows_the_preview(clerk, campaign, on_file):
    response = post_roster(clerk, campaign, "duplicates_db.xlsx")
    roster = RosterImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(roster)
    assert roster.status == RosterStatus.CHECKED
    assert roster.uploaded_by.username == "township_clerk"
    assert roster.job.status == JobStatus.DONE

    page = clerk.get(detail_url(roster))
    assert page.status_code == 200
    counts = page.context["counts"]
    assert (counts["rows"], counts["valid"], counts["refused"]) == (5, 3, 2)
    assert (counts["new"], counts["existing"], counts["update"]) == (1, 1, 1)
    assert (counts["duplicate_db"], counts["outside"]) == (1, 1)
    assert [(row, kind) for row, kind, _p in rows_shown(page)] == [
        (2, Kind.DUPLICATE_DB),
        (3, Kind.OUTSIDE),
        (4, Kind.EXISTING),
        (5, Kind.UPDATE),
        (6, Kind.NEW),
    ]
    html = page.content.decode()
    assert 'class="refused"><td class="num">2</td><td class="nowrap">金一</td>' in html
    assert 'class="refused"><td class="num">3</td><td class="nowrap">魏二</td>' in html
    assert on_file.applied.number in html
    assert ID["qi_new"] not in html  # ID numbers are shown masked
    assert 'name="valid_only"' in html

    refused = clerk.get(detail_url(roster), {"kind": "refused"})
    assert [(row, len(problems)) for row, _k, problems in rows_shown(refused)] == [(2, 1), (3, 1)]
    assert [row for row, _k, _p in rows_shown(clerk.get(detail_url(roster), {"kind": "new"}))] == [
        6
    ]
    assert not Application.objects.exclude(pk=on_file.applied.pk).exists()


@pytest.mark.parametrize(
    "name",
    ["gbk.csv", "utf8_bom.csv", "title_rows.xlsx", "merged_village.xlsx", "fullwidth.xlsx"],
)
def test_it_previews_each_clean_fixture_without_refusals(clerk, campaign, name):
    post_roster(clerk, campaign, name)
    page = clerk.get(detail_url(RosterImport.objects.get()))
    assert page.status_code == 200
    assert page.context["counts"]["refused"] == 0
    assert page.context["counts"]["valid"] >= 2


def test_it_refuses_a_file_that_is_not_a_spreadsheet_with_a_message(clerk, campaign):
    response = post_roster(clerk, campaign, "roster.txt", b"just some text")
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert "roster.txt" in response.context["form"].errors["file"][0]
    assert not RosterImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("not_a_spreadsheet.xlsx", None),
        ("no_header.xlsx", None),
        ("garbage.xls", b"\x00\x01\x02 not excel at all"),
        ("garbage.csv", b"\xff\xfe\xff\xff\x80"),
        ("empty.xlsx", b""),
    ],
)
def test_it_shows_why_a_file_cannot_be_read(clerk, campaign, name, content):
    response = post_roster(clerk, campaign, name, content)
    if response.status_code == 400:  # refused at the upload itself
        assert response.context["form"].errors["file"]
        return
    assert response.status_code == 302
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.FAILED
    assert roster.error
    page = clerk.get(detail_url(roster))
    assert page.status_code == 200
    assert roster.error in page.content.decode()
    result = clerk.get(reverse("applications:roster_result", args=[roster.pk]))
    assert result.status_code == 302  # nothing to report yet: back to the page


# -- import -----------------------------------------------------------------------------


def test_it_imports_only_the_valid_rows_through_the_page(clerk, campaign, roster, on_file):
    households, persons = Household.objects.count(), Person.objects.count()
    url = reverse("applications:roster_import", args=[roster.pk])
    response = clerk.post(url, {"valid_only": "on"})
    assert response.status_code == 302
    assert response["Location"] == detail_url(roster)
    assert [level for level, _text in notes(response)] == ["success"]
    assert "3" in notes(response)[0][1]
    roster.refresh_from_db()
    assert (roster.status, roster.valid_only) == (RosterStatus.IMPORTED, True)
    assert Application.objects.filter(campaign=campaign).count() == 4
    assert (Household.objects.count(), Person.objects.count()) == (households + 1, persons + 1)
    page = clerk.get(detail_url(roster))
    assert page.status_code == 200
    assert roster.result["first"] in page.content.decode()
    assert f'action="{url}"' not in page.content.decode()  # no second import button


def test_it_imports_nothing_when_all_rows_are_asked_for_and_some_are_refused(
    clerk, campaign, roster
):
    response = clerk.post(reverse("applications:roster_import", args=[roster.pk]))
    assert response.status_code == 302
    assert [level for level, _text in notes(response)] == ["error"]
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED
    assert Application.objects.filter(campaign=campaign).count() == 1


def test_it_refuses_a_second_import_through_the_page(clerk, campaign, roster):
    url = reverse("applications:roster_import", args=[roster.pk])
    clerk.post(url, {"valid_only": "on"})
    clerk.get(detail_url(roster))  # shows (and so uses up) the first import's message
    response = clerk.post(url, {"valid_only": "on"})
    assert response.status_code == 302
    assert [level for level, _text in notes(response)] == ["error"]
    assert Application.objects.filter(campaign=campaign).count() == 4


def test_it_refuses_an_import_by_get(clerk, roster):
    response = clerk.get(reverse("applications:roster_import", args=[roster.pk]))
    assert response.status_code == 405


def test_it_downloads_the_result_as_xlsx(clerk, campaign, roster, on_file):
    clerk.post(reverse("applications:roster_import", args=[roster.pk]), {"valid_only": "on"})
    roster.refresh_from_db()
    response = clerk.get(reverse("applications:roster_result", args=[roster.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = roster.file_name.rsplit(".", 1)[0] + "-" + gettext("result") + ".xlsx"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''" + quote(name)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][: len(HEADER)] == HEADER
    assert len(rows[0]) == len(HEADER) + 3
    by_name = {r[1]: r[len(HEADER) :] for r in rows[1:]}
    assert set(by_name) == {"金一", "魏二", "陶三", "姜四", "戚五"}
    for refused in ("金一", "魏二"):
        assert by_name[refused][1].startswith("身份证号：")
        assert by_name[refused][2] is None
    assert by_name["金一"][1].count(on_file.applied.number) == 1
    for imported, row in (("陶三", "4"), ("姜四", "5"), ("戚五", "6")):
        assert by_name[imported][2] == roster.result["rows"][row]


# -- column mapping ---------------------------------------------------------------------


def test_it_saves_the_columns_chosen_on_the_page(clerk, campaign):
    post_roster(clerk, campaign, "clean.xlsx")
    roster = RosterImport.objects.get()
    page = clerk.get(detail_url(roster))
    form = page.context["mapping_form"]
    data = {name: field.initial or "" for name, field in form.fields.items() if name != "save"}
    assert data["col_name"] == "姓名"
    data["col_address"] = ""  # the 住址 column is not read
    data["save"] = "on"
    response = clerk.post(reverse("applications:roster_remap", args=[roster.pk]), data)
    assert response.status_code == 302
    assert "success" in [level for level, _text in notes(response)]
    saved = ColumnMapping.objects.get(campaign=campaign)
    assert (saved.mapping["name"], saved.mapping["address"]) == ("姓名", "")
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED
    assert "address" not in roster.preview["columns"]


def test_it_refuses_columns_that_are_not_in_the_file(clerk, campaign):
    post_roster(clerk, campaign, "clean.xlsx")
    roster = RosterImport.objects.get()
    response = clerk.post(
        reverse("applications:roster_remap", args=[roster.pk]), {"col_name": "不存在的列"}
    )
    assert response.status_code == 302
    assert [level for level, _text in notes(response)] == ["error"]
    assert not ColumnMapping.objects.exists()


def test_it_lets_the_clerk_choose_a_column_it_did_not_recognise(clerk, campaign):
    """The header row is found (姓名, 身份证号) but 所在村组 is no wording for
    the village: the roster fails with "no column for: village", and the page
    must let the clerk pick 所在村组 among the file's headers."""
    content = xlsx(
        [
            ["姓名", "身份证号", "所在村组"],
            ["谢一", ID["xie"], "东关村"],
            ["邹二", ID["zou"], "西关村"],
        ]
    )
    post_roster(clerk, campaign, "village_odd.xlsx", content)
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.FAILED
    page = clerk.get(detail_url(roster))
    choices = [
        value for value, _label in page.context["mapping_form"].fields["col_village"].choices
    ]
    assert "所在村组" in choices
    response = clerk.post(
        reverse("applications:roster_remap", args=[roster.pk]),
        {"col_name": "姓名", "col_id_number": "身份证号", "col_village": "所在村组"},
    )
    assert response.status_code == 302
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED
    assert roster.preview["counts"]["valid"] == 2


# -- the background path ----------------------------------------------------------------


def test_it_checks_a_big_roster_in_the_background(
    clerk, campaign, settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_ROWS = 5
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_roster(clerk, campaign, "clean.xlsx")  # 7 rows
    assert response.status_code == 302
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.UPLOADED
    assert (roster.job.kind, roster.job.status) == ("roster.check", JobStatus.QUEUED)
    assert roster.job.owner.username == "township_clerk"
    waiting = clerk.get(detail_url(roster))
    assert waiting.status_code == 200
    assert waiting.context["job"] == roster.job
    assert "counts" not in waiting.context
    assert len(callbacks) == 1

    for callback in callbacks:
        callback()
    roster.refresh_from_db()
    assert (roster.status, roster.job.status) == (RosterStatus.CHECKED, JobStatus.DONE)
    page = clerk.get(detail_url(roster))
    assert page.context["counts"]["valid"] == 6


def test_it_imports_a_big_roster_in_the_background(
    clerk, campaign, settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_ROWS = 5
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        post_roster(clerk, campaign, "clean.xlsx")
    roster = RosterImport.objects.get()
    page = clerk.get(detail_url(roster))
    assert page.context["counts"]["valid"] == 6
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(reverse("applications:roster_import", args=[roster.pk]))
    assert response.status_code == 302
    roster.refresh_from_db()
    assert (roster.job.kind, roster.job.status) == ("roster.import", JobStatus.DONE)
    assert roster.status == RosterStatus.IMPORTED
    assert Application.objects.filter(campaign=campaign).count() == 6
    assert Job.objects.filter(owner__username="township_clerk").count() == 2


def test_it_shows_a_big_roster_that_cannot_be_read(
    clerk, campaign, settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_ROWS = 5
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        post_roster(clerk, campaign, "not_a_spreadsheet.xlsx")
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.FAILED
    assert clerk.get(detail_url(roster)).status_code == 200


# -- who may ----------------------------------------------------------------------------


def roster_urls(roster) -> list[tuple[str, str]]:
    return [
        ("get", detail_url(roster)),
        ("post", reverse("applications:roster_remap", args=[roster.pk])),
        ("post", reverse("applications:roster_import", args=[roster.pk])),
        ("get", reverse("applications:roster_result", args=[roster.pk])),
    ]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("clerk_a", 404),  # may enter, but the roster is not theirs
        ("clerk_b", 404),
        ("township_clerk_t2", 404),
        ("supervisor", 403),  # may not enter applications at all
        ("finance", 403),
        ("approver", 403),
        ("auditor", 403),
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_it_refuses_someone_elses_roster(client, people, campaign, roster, persona, status):
    as_user(client, getattr(people, persona))
    for method, url in roster_urls(roster):
        response = getattr(client, method)(url, {"valid_only": "on"})
        assert response.status_code == status, (persona, url)
    roster.refresh_from_db()
    assert roster.status == RosterStatus.CHECKED
    assert Application.objects.filter(campaign=campaign).count() == 1


def test_it_sends_an_anonymous_visitor_to_sign_in(client, campaign, roster):
    client.logout()
    upload = reverse("applications:roster_upload", args=[campaign.pk])
    for method, url in [("get", upload), *roster_urls(roster)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert "login" in response["Location"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("township_clerk_t2", 404), ("supervisor", 403), ("auditor", 403), ("nobody", 403)],
)
def test_it_refuses_an_upload_by_someone_who_may_not_enter_there(
    client, people, campaign, persona, status
):
    as_user(client, getattr(people, persona))
    url = reverse("applications:roster_upload", args=[campaign.pk])
    assert client.get(url).status_code == status
    assert post_roster(client, campaign, "clean.xlsx").status_code == status
    assert not RosterImport.objects.exists()


def test_it_lets_a_village_clerk_upload_only_for_their_village(client, people, campaign):
    as_user(client, people.clerk_a)
    post_roster(client, campaign, "village_b_row.xlsx")
    roster = RosterImport.objects.get()
    page = client.get(detail_url(roster))
    assert [(row, kind) for row, kind, _p in rows_shown(page)] == [
        (2, Kind.NEW),
        (3, Kind.INVALID),
    ]
    client.post(reverse("applications:roster_import", args=[roster.pk]), {"valid_only": "on"})
    assert list(Household.objects.values_list("village__name", flat=True)) == ["东关村"]


def test_it_keeps_nothing_when_the_disk_is_full(clerk, campaign, settings, tmp_path, monkeypatch):
    """The disk fills up while the upload is written: a clear page, no roster,
    no audit event, and no file cut short left in the media directory."""
    import errno
    import os

    from django.core.files.storage import FileSystemStorage

    from relief.models import AuditEvent

    settings.MEDIA_ROOT = tmp_path

    def full(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as half:
            half.write(b"PK\x03\x04 half a roster")
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    clerk.raise_request_exception = False  # answered by the server-error handler
    response = post_roster(clerk, campaign, "clean.xlsx")
    assert response.status_code == 507
    assert "服务器磁盘已满" in response.content.decode()
    assert not RosterImport.objects.exists()
    assert not AuditEvent.objects.filter(action="roster.upload").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
