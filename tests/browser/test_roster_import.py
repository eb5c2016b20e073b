"""A township clerk imports a village's roster through the screens: the
preview shows the refused row with its row number, column and reason, nothing
is imported until the clerk decides, and "only the valid rows" imports the
rest. Elements are found by id, name and URL rather than by their words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from applications.choices import State
from applications.models import Application
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from relief.models import Job, JobStatus
from tests.applications.roster.conftest import fixture_path
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(campaign_t1, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign_t1.refresh_from_db()
    return campaign_t1


def test_a_roster_with_a_bad_row_is_previewed_then_its_valid_rows_imported(
    transactional_db, open_page, people, campaign, settings
):
    # Above this many rows the worker checks the roster; the immediate backend
    # runs the job as the queue would, so the page shows it finished.
    settings.BACKGROUND_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    page = open_page()
    sign_in(page, "township_clerk")
    page.goto(f"/campaigns/{campaign.pk}/applications/")
    page.click(f"a[href='/campaigns/{campaign.pk}/rosters/']")
    page.set_input_files("#id_file", str(fixture_path("bad_checksum.xlsx")))
    with page.expect_navigation():
        page.click("form[enctype] button[type=submit]")
    assert Job.objects.get().status == JobStatus.DONE

    refused = page.locator("tr.refused")
    expect(refused).to_have_count(1)
    expect(refused.locator("td").first).to_have_text("2")  # the spreadsheet's row
    expect(refused).to_contain_text("身份证号")
    assert Application.objects.filter(campaign=campaign).count() == 0
    # "Import all" waits for the file to be corrected; the valid rows can go now.
    expect(page.locator("form[action$='/import/'] button:not([name])")).to_be_disabled()
    screenshot(page, "roster-preview")

    with page.expect_navigation():
        page.click("form[action$='/import/'] button[name=valid_only]")
    expect(page.locator(".messages .success")).to_be_visible()
    imported = Application.objects.get(campaign=campaign)
    assert imported.state == State.DRAFT
    assert imported.household.head.name == "云二"
    # Imported once: no import button any more.
    expect(page.locator("form[action$='/import/']")).to_have_count(0)
    expect(page.locator("a[href$='/result.xlsx']")).to_be_visible()
    screenshot(page, "roster-imported")
