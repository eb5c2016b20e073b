"""`manage.py import_roster`: the same checks as the screens, a preview on
--dry-run, exit status 1 when rows were refused. The command speaks the
project's language (LANGUAGE_CODE): expected texts are made with the same
gettext calls in that language."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext, ngettext

from applications.models import Application
from applications.roster.models import RosterImport, RosterStatus
from recipients.models import Household, Person

from .conftest import HEADER, fixture_path

pytestmark = pytest.mark.django_db


def run(campaign, name: str, *args: str, user: str | None = "township_clerk", path=None):
    """(exit status, stdout, stderr) of the command."""
    out, err = io.StringIO(), io.StringIO()
    options = ["--user", user] if user else []
    try:
        call_command(
            "import_roster",
            str(campaign.pk) if hasattr(campaign, "pk") else campaign,
            str(path or fixture_path(name)),
            *args,
            *options,
            stdout=out,
            stderr=err,
        )
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def said(msgid: str, **values) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(msgid) % values


def summary(rows=0, new=0, existing=0, update=0, refused=0) -> str:
    return said(
        "%(rows)d rows: %(new)d new households, %(existing)d households on file "
        "(%(update)d phone numbers updated), %(refused)d refused.",
        rows=rows,
        new=new,
        existing=existing,
        update=update,
        refused=refused,
    )


def counts() -> tuple[int, int, int]:
    return Household.objects.count(), Person.objects.count(), Application.objects.count()


def test_it_previews_on_a_dry_run_and_imports_nothing(campaign, people, on_file):
    before = counts()
    status, out, _err = run(campaign, "duplicates_db.xlsx", "--dry-run")
    assert status == 1
    assert counts() == before
    lines = out.splitlines()
    assert lines[0] == summary(rows=5, new=1, existing=1, update=1, refused=2)
    outside = said(
        "This person is on file in %(township)s, outside your area: ask that office.",
        township="东岭乡",
    )
    assert any(line.split()[:2] == ["3", "身份证号"] and outside in line for line in lines)
    assert any(
        line.split()[:2] == ["2", "身份证号"] and on_file.jin.number in line for line in lines
    )
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.CHECKED


def test_it_exits_zero_on_a_dry_run_of_a_clean_file(campaign, people):
    before = counts()
    status, out, _err = run(campaign, "clean.xlsx", "--dry-run")
    assert status == 0
    assert out.splitlines() == [summary(rows=6, new=6)]
    assert counts() == before


def test_it_imports_nothing_and_exits_one_when_rows_are_refused(campaign, people, on_file):
    before = counts()
    status, _out, err = run(campaign, "duplicates_db.xlsx")
    assert status == 1
    assert counts() == before
    with translation.override(settings.LANGUAGE_CODE):
        refused = ngettext(
            "%(count)d row has problems, so nothing was imported. Correct the file and "
            "upload it again, or choose to import only the valid rows.",
            "%(count)d rows have problems, so nothing was imported. Correct the file and "
            "upload it again, or choose to import only the valid rows.",
            2,
        ) % {"count": 2}
    assert err.strip() == refused
    assert RosterImport.objects.get().status == RosterStatus.CHECKED


def test_it_imports_the_valid_rows_when_asked_and_still_exits_one(campaign, people, on_file):
    households, persons, applications = counts()
    status, out, _err = run(campaign, "duplicates_db.xlsx", "--valid-only")
    assert status == 1
    assert counts() == (households + 1, persons + 1, applications + 3)
    prefix = f"2026-{campaign.pk:03d}-"
    assert out.splitlines()[-1] == said(
        "Imported %(n)d applications (%(first)s – %(last)s); %(h)d new households.",
        n=3,
        first=prefix + "00002",
        last=prefix + "00004",
        h=1,
    )
    roster = RosterImport.objects.get()
    assert (roster.status, roster.valid_only) == (RosterStatus.IMPORTED, True)
    assert roster.uploaded_by == people.township_clerk


def test_it_imports_a_clean_file_and_exits_zero(campaign, people, tmp_path):
    report = tmp_path / "result.xlsx"
    status, out, err = run(campaign, "clean.xlsx", "--report", str(report))
    assert (status, err) == (0, "")
    assert counts() == (6, 6, 6)
    assert out.splitlines()[-1] == said("Result sheet: %(path)s", path=report)
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))
    assert list(rows[0][: len(HEADER)]) == HEADER
    numbers = sorted(r[-1] for r in rows[1:])
    assert numbers == [f"2026-{campaign.pk:03d}-{n:05d}" for n in range(1, 7)]


def test_it_writes_the_report_of_a_refused_import(campaign, people, on_file, tmp_path):
    report = tmp_path / "result.xlsx"
    status, _out, _err = run(campaign, "duplicates_db.xlsx", "--report", str(report))
    assert status == 1
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))
    reasons = [r[-2] for r in rows[1:]]
    assert reasons[0].startswith("身份证号：") and on_file.applied.number in reasons[0]
    assert reasons[1].startswith("身份证号：")
    assert [r[-1] for r in rows[1:]] == [None] * 5


def test_it_finds_the_campaign_by_name_and_defaults_to_the_only_superuser(campaign, people):
    status, _out, _err = run(campaign.name, "clean.xlsx", "--dry-run", user=None)
    assert status == 0
    assert RosterImport.objects.get().uploaded_by == people.superuser


@pytest.mark.parametrize(
    ("campaign_key", "name", "args", "message"),
    [
        ("999", "clean.xlsx", {}, "No campaign %(key)s."),
        ("没有这个活动", "clean.xlsx", {}, "No campaign %(key)s."),
        (None, "missing.xlsx", {}, "No file %(path)s."),
        (None, "clean.xlsx", {"user": "ghost"}, "No active account %(name)s."),
    ],
)
def test_it_stops_with_an_error(campaign, people, campaign_key, name, args, message):
    with pytest.raises(CommandError) as caught:
        run(campaign_key or campaign, name, **args)
    values = {"key": campaign_key, "path": fixture_path(name), "name": "ghost"}
    assert str(caught.value) == said(message, **values)
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("name", ["not_a_spreadsheet.xlsx", "no_header.xlsx"])
def test_it_stops_with_the_reason_a_file_cannot_be_read(campaign, people, name):
    with pytest.raises(CommandError) as caught:
        run(campaign, name)
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.FAILED
    assert str(caught.value) == roster.error
    assert counts() == (0, 0, 0)


def test_it_stops_for_a_user_who_may_enter_nowhere_in_the_campaign(campaign, people):
    with pytest.raises(CommandError) as caught:
        run(campaign, "clean.xlsx", user="auditor")
    assert str(caught.value) == said(
        "You may not enter applications in any village of this campaign."
    )
    assert not RosterImport.objects.exists()
