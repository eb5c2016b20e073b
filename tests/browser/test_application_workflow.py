"""One application walked from entry to approval through the real screens:
entered by the village clerk, appraised, returned by the township and sent up
again, reviewed, put in public notice, objected to, the objection dismissed,
and approved.

Elements are found by id, name and value rather than by their words, so the
walk does not depend on the wording of the translation."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import Page, expect

from applications.choices import HardshipCause, State
from applications.models import Application
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from relief.models import AuditEvent
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

RETURN_REASON = "家庭收入证明缺少村委会盖章，请补充后重新提交"
FINDING = "经入户核实，该户张三患慢性病长期住院，家庭无稳定收入，异议不成立"


@pytest.fixture
def campaign(campaign_t1, people):
    """Township T1's campaign 2026年春节慰问, open: 一般困难户 500 yuan."""
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign_t1.refresh_from_db()
    return campaign_t1


def step_form(step: str) -> str:
    """A decision form on the application page, by its step."""
    return f"form:has(input[name=step][value={step}])"


def step_button(step: str) -> str:
    return f"{step_form(step)} button[type=submit]"


def submit(page: Page, selector: str) -> None:
    """Click a submit button and wait for the page the POST redirects to."""
    with page.expect_navigation():
        page.click(selector)


def expect_state(page: Page, state: str) -> None:
    expect(page.locator("h1 .badge").first).to_have_class(re.compile(rf"\bstate-{state}\b"))


def appraise(page: Page, campaign, app: Application) -> None:
    """The village clerk records a meeting that passed the application."""
    page.goto(f"/campaigns/{campaign.pk}/appraisal/")
    page.fill("#id_held_on", timezone.localdate().isoformat())
    page.fill("#id_members", "村支书王建国、村委委员李红、村民代表7人")
    page.select_option(f"select[name=outcome_{app.pk}]", "passed")
    page.fill(f"input[name=for_{app.pk}]", "7")
    page.fill(f"input[name=against_{app.pk}]", "0")
    page.fill(f"input[name=abstain_{app.pk}]", "0")
    page.click("form:has(input[name=village][type=hidden]) button[type=submit]")
    page.wait_for_url(f"**/campaigns/{campaign.pk}/applications/")
    expect(page.locator(".messages .success")).to_be_visible()


def test_one_application_from_entry_to_approval(
    transactional_db, open_page, people, areas, household_a, campaign
):
    today = timezone.localdate()
    clerk, township, supervisor = open_page(), open_page(), open_page()
    sign_in(clerk, "clerk_a")
    sign_in(township, "township_clerk")
    sign_in(supervisor, "supervisor")

    # 1. Entry, from the keyboard: the cursor starts in the household field
    # and Enter saves and submits.
    entry_url = f"/campaigns/{campaign.pk}/applications/new/"
    clerk.goto(entry_url)
    household = clerk.locator("#id_household")
    expect(household).to_be_focused()
    clerk.keyboard.type(household_a.number)
    clerk.select_option("#id_category", label="一般困难户")
    clerk.select_option("#id_cause", HardshipCause.ILLNESS.value)
    clerk.fill("#id_cause_detail", "户主张三患慢性病")
    with clerk.expect_navigation():
        clerk.press("#id_cause_detail", "Enter")
    clerk.wait_for_url(f"**{entry_url}")
    app = Application.objects.get(campaign=campaign, household=household_a)
    assert app.state == State.SUBMITTED and app.amount == 500
    expect(clerk.locator(".messages .success")).to_contain_text(app.number)
    # Ready for the next household: an empty form, the cursor back in place.
    expect(household).to_have_value("")
    expect(clerk.locator("#id_cause_detail")).to_have_value("")
    expect(household).to_be_focused()
    expect(clerk.locator(f"table.list a[href='/applications/{app.pk}/']")).to_have_text(app.number)
    screenshot(clerk, "application-entry")

    # 2. The village appraisal passes it.
    appraise(clerk, campaign, app)
    app.refresh_from_db()
    assert app.state == State.APPRAISED

    # 3. The township returns it to the clerk's draft, with the reason.
    detail_url = f"/applications/{app.pk}/"
    township.goto(detail_url)
    expect_state(township, State.APPRAISED)
    township.select_option("#return-to", State.DRAFT.value)
    township.fill("#return-reason", RETURN_REASON)
    submit(township, step_button("return"))
    expect_state(township, State.RETURNED)
    expect(township.locator(".deadline-alert").first).to_contain_text(RETURN_REASON)
    app.refresh_from_db()
    assert (app.state, app.returned_to) == (State.RETURNED, State.DRAFT)

    # The clerk sees why, submits it again, and the village appraises it again.
    clerk.goto(detail_url)
    expect_state(clerk, State.RETURNED)
    expect(clerk.locator(".deadline-alert").first).to_contain_text(RETURN_REASON)
    submit(clerk, step_button("submit"))
    expect_state(clerk, State.SUBMITTED)
    appraise(clerk, campaign, app)
    app.refresh_from_db()
    assert app.state == State.APPRAISED

    # 4. The township's first review (no second review in this campaign).
    township.goto(detail_url)
    township.fill(f"{step_form('first_review')} input[name=comment]", "材料齐全")
    submit(township, step_button("first_review"))
    expect_state(township, State.REVIEWED)

    # 5. The public notice, started long enough ago that it has ended.
    starts_on = today - datetime.timedelta(days=campaign.notice_days)
    ends_on = starts_on + datetime.timedelta(days=campaign.notice_days - 1)
    supervisor.goto(f"/campaigns/{campaign.pk}/notices/new/")
    supervisor.select_option("#id_area", str(areas.t1.pk))
    supervisor.fill("#id_starts_on", starts_on.isoformat())
    supervisor.fill("#id_contact", "城关镇民政办 0311-1234567")
    supervisor.fill("#id_place", "便民服务大厅")
    supervisor.click("form:has(#id_contact) button[type=submit]")
    supervisor.wait_for_url("**/notices/*/")
    expect(supervisor.locator(".messages .success")).to_contain_text(starts_on.isoformat())
    expect(supervisor.locator("main")).to_contain_text(app.number)

    # 6. An objection received during the notice holds the approval back.
    supervisor.goto(detail_url)
    expect_state(supervisor, State.IN_NOTICE)
    received_on = ends_on - datetime.timedelta(days=1)
    supervisor.fill("#id_received_on", received_on.isoformat())
    supervisor.fill("#id_objector", "东关村村民")
    supervisor.fill("#id_content", "反映该户有子女在外务工，收入较高，不应享受慰问")
    submit(supervisor, "form[action$='/objections/'] button[type=submit]")
    expect(supervisor.locator(".messages .success")).to_be_visible()
    objection = supervisor.locator(".objection")
    expect(objection).to_have_count(1)
    expect(objection.locator(".badge.warn")).to_be_visible()  # open
    expect(objection).to_contain_text(received_on.isoformat())
    screenshot(supervisor, "application-objection")

    # The page holds the approval back and says why (the service refuses it
    # too: tests/applications/test_rules.py).
    expect(supervisor.locator(step_button("approve"))).to_be_disabled()
    expect(supervisor.locator("#waiting-for")).not_to_be_empty()
    expect_state(supervisor, State.IN_NOTICE)
    app.refresh_from_db()
    assert app.state == State.IN_NOTICE

    # The objection is dismissed with a written finding; then it is approved.
    objection.locator("input[name=outcome][value=dismissed]").check()
    objection.locator("textarea[name=finding]").fill(FINDING)
    submit(supervisor, "form[action$='/resolve/'] button[type=submit]")
    expect(supervisor.locator(".messages .success")).to_be_visible()
    expect(objection.locator(".badge.warn")).to_have_count(0)
    expect(objection).to_contain_text(FINDING)
    expect(supervisor.locator("form[action$='/resolve/']")).to_have_count(0)

    submit(supervisor, step_button("approve"))
    expect(supervisor.locator(".messages .success")).to_contain_text(app.number)
    expect_state(supervisor, State.APPROVED)
    expect(supervisor.locator(step_button("approve"))).to_have_count(0)
    screenshot(supervisor, "application-approved")

    # 7. The record: approved, and every step in the audit trail, in order.
    app.refresh_from_db()
    assert app.state == State.APPROVED and app.decided_at is not None
    actions = list(
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Application), target_id=str(app.pk)
        )
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == [
        f"application.{a}"
        for a in (
            "create",
            "submit",
            "appraise",
            "return",
            "submit",
            "appraise",
            "first_review",
            "publish",
            "objection",
            "objection_dismissed",
            "approve",
        )
    ]
    returned = AuditEvent.objects.get(
        target_id=str(app.pk), action="application.return", reason=RETURN_REASON
    )
    assert returned.actor == people.township_clerk
    assert returned.to_state == f"{State.RETURNED}:{State.DRAFT}"
