"""The pages work under the Content-Security-Policy: Chromium, enforcing the
policy the server sends, reports no violation and logs no error on the key
pages of a village clerk's day, including the htmx search and the tablet's
visit pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from tests.browser.conftest import sign_in
from tests.disbursements.conftest import approved, planned  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

# Reports every securitypolicyviolation event of every page to the test. An
# init script runs before the page's own scripts and is not subject to the
# page's policy; window.reportViolation is exposed by the test.
LISTEN = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.reportViolation(
    [e.effectiveDirective, e.blockedURI || "inline", e.sourceFile + ":" + e.lineNumber].join(" ")
  );
});
"""


@pytest.fixture
def campaign(campaign_t1, people):
    """Township T1's campaign, open, with approved applications and planned payments."""
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign_t1.refresh_from_db()
    return campaign_t1


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def watched(browser, live_server):
    """A page whose policy violations, console errors and warnings and uncaught
    exceptions are collected in `problems`."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, base_url=live_server.url, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    problems: list[str] = []
    context.expose_function("reportViolation", lambda text: problems.append(f"CSP: {text}"))
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield page, problems
    context.close()


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def test_the_key_pages_run_under_the_policy_without_a_violation(
    transactional_db,
    watched,
    people,
    areas,
    campaign,
    approved,  # noqa: F811
    planned,  # noqa: F811
    media,
):
    page, problems = watched
    visit(page, "/login/")
    sign_in(page, "clerk_a")
    page.wait_for_load_state("networkidle")

    visit(page, "/")  # the overview
    visit(page, "/households/")
    # The search runs through htmx: the list is swapped in, the URL pushed.
    page.fill("#id_q", "张")
    page.wait_for_url("**/households/?*q=*")
    page.wait_for_load_state("networkidle")
    expect(page.locator("body")).to_contain_text("张三")

    application = approved[0]
    visit(page, f"/applications/{application.pk}/")
    expect(page.locator("body")).to_contain_text(application.number)
    visit(page, f"/campaigns/{campaign.pk}/")  # the timeline, placed by relief.js
    visit(page, f"/campaigns/{campaign.pk}/dashboard/")
    expect(page.locator("svg.chart").first).to_be_visible()

    # The tablet: villages, the day's list with the queue, the signing page.
    visit(page, "/visits/")
    visit(page, f"/visits/{campaign.pk}/{areas.a.pk}/")
    expect(page.locator("#visit-waiting .visit-row").first).to_be_visible()
    payment = next(p for p in planned if p.village_id == areas.a.pk)
    visit(page, f"/visits/payment/{payment.pk}/")
    expect(page.locator("canvas[data-pad=signature]")).to_be_visible()

    assert problems == []

    # The listener works and the browser enforces the policy: an inline
    # style set now is refused and reported.
    page.evaluate("document.body.setAttribute('style', 'background: red')")
    page.wait_for_timeout(300)
    assert any(p.startswith("CSP: style-src-attr") for p in problems), problems
