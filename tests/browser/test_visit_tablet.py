"""The visiting team on a tablet: the day's list of a village, a household
signed on the two pads with a photo, and a household signed with the network
cut: the receipt waits on the tablet, survives a reload and a dropped reply,
and is recorded exactly once when the network is back.

Elements are found by id and data attributes, states read from the database
and from data-state, not from the words on the page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, Route, expect

from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from disbursements.choices import Action, Evidence, PaymentState
from disbursements.models import Payment, PaymentEvent
from tests.browser.conftest import screenshot, sign_in
from tests.disbursements.conftest import approved, planned  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

TABLET = (1024, 768)  # landscape
PORTRAIT = (800, 1280)
RECEIPTS = "**/visits/payment/*/receipt/"


@pytest.fixture
def campaign(campaign_t1, people):
    """Township T1's campaign 2026年春节慰问, open: 一般困难户 500 yuan."""
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign_t1.refresh_from_db()
    return campaign_t1


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def in_a(planned, areas) -> list[Payment]:  # noqa: F811  (the imported fixture)
    """The two planned payments of village A (东关村): 张三's and 赵六's."""
    return [p for p in planned if p.village_id == areas.a.pk]


def camera_photo(tmp_path) -> str:
    """A 4:3 photo as a tablet's camera takes it, larger than the page sends."""
    image = Image.new("RGB", (2400, 1800), (90, 120, 150))
    draw = ImageDraw.Draw(image)
    for i in range(0, 2400, 60):
        draw.rectangle([i, 300 + i // 8, i + 40, 900 + i // 6], fill=(200, 160 + i % 80, 90))
    path = tmp_path / "IMG_2026_0001.jpg"
    image.save(path, "JPEG", quality=90)
    return str(path)


def sign_on(page: Page, pad: str) -> None:
    """Sign with the mouse: a zigzag across the pad, as a hand would."""
    canvas = page.locator(f"canvas[data-pad={pad}]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + 30, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 14):
        page.mouse.move(x + i * 22, y + (28 if i % 2 else -28), steps=5)
    page.mouse.up()
    expect(canvas).to_have_class("visit-pad has-ink")


def sign_with_a_finger(page: Page, pad: str) -> None:
    """Sign by touch, as on the tablet's screen (Chromium's touch input)."""
    canvas = page.locator(f"canvas[data-pad={pad}]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + 40, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    touch = "Input.dispatchTouchEvent"
    cdp.send(touch, {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, 40):
        point = {"x": x + i * 8, "y": y + (25 if (i // 4) % 2 else -25)}
        cdp.send(touch, {"type": "touchMove", "touchPoints": [point]})
    cdp.send(touch, {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    expect(canvas).to_have_class("visit-pad has-ink")


def fits(page: Page) -> None:
    """No sideways scrolling: the whole row, the pads and the buttons are on screen."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def wait_until(condition: Callable[[], bool], page: Page, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        page.wait_for_timeout(100)


def signed_events(payment: Payment) -> int:
    return PaymentEvent.objects.filter(payment=payment, action=Action.SIGNED).count()


def test_it_signs_a_household_on_the_pads_with_a_photo(
    transactional_db, open_page, people, areas, campaign, in_a, media, tmp_path
):
    page = open_page(*TABLET)
    sign_in(page, "clerk_a")

    # The village, then the day's list: both households of 东关村 are due today.
    page.goto("/visits/")
    page.click(f"a.visit-tile[data-village='{areas.a.pk}'][data-campaign='{campaign.pk}']")
    page.wait_for_url(f"**/visits/{campaign.pk}/{areas.a.pk}/")
    rows = page.locator("#visit-waiting .visit-row")
    expect(rows).to_have_count(2)
    payment = in_a[0]
    row = page.locator(f".visit-row[data-payment='{payment.pk}']")
    expect(row).to_have_attribute("data-state", PaymentState.PLANNED)
    expect(row).to_contain_text(payment.recipient_id_number[-4:])
    expect(row).not_to_contain_text(payment.recipient_id_number)  # masked in the list
    fits(page)
    screenshot(page, "visit-day-list")

    row.click()
    page.wait_for_url(f"**/visits/payment/{payment.pk}/")
    expect(page.locator(".visit-facts")).to_contain_text(payment.recipient_id_number)
    expect(page.locator(".visit-capitals")).to_contain_text("伍佰元整")
    sign_on(page, "signature")
    sign_on(page, "countersignature")
    page.set_input_files("#id_photo", camera_photo(tmp_path))
    expect(page.locator("#photo-preview")).to_be_visible()
    fits(page)
    screenshot(page, "visit-sign-filled")

    page.click("#visit-submit")

    status = page.locator("#visit-status")
    expect(status).to_have_attribute("data-state", "signed")
    expect(status).to_contain_text(payment.number)
    expect(page.locator("#visit-state-badge")).to_have_class(re.compile(r"\bstate-signed\b"))
    expect(page.locator("#receipt-form")).to_be_hidden()
    expect(page.locator("#visit-queue")).to_be_hidden()  # nothing left on the tablet
    signed = Payment.objects.get(pk=payment.pk)
    assert signed.state == PaymentState.SIGNED
    assert signed.evidence == Evidence.PAD
    assert signed.client_key and signed.device
    assert signed_events(signed) == 1
    # The photo left the tablet downscaled; the signatures on a transparent pad.
    with Image.open(signed.photo.path) as photo:
        assert photo.format == "JPEG" and max(photo.size) <= 1280
    for field in (signed.signature, signed.countersignature):
        with Image.open(field.path) as image:
            assert image.format == "PNG" and image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0
    screenshot(page, "visit-signed")

    # Back on the list it is done today; the other household still waits.
    page.click("#visit-status [data-status-back]")
    page.wait_for_url(f"**/visits/{campaign.pk}/{areas.a.pk}/")
    expect(page.locator(f"#visit-done .visit-row[data-payment='{payment.pk}']")).to_have_attribute(
        "data-state", PaymentState.SIGNED
    )
    expect(rows).to_have_count(1)
    screenshot(page, "visit-day-list-after")


@pytest.fixture
def touch_tablet(browser, live_server):
    """A portrait tablet with a touch screen."""
    width, height = PORTRAIT
    context = browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=True,
        base_url=live_server.url,
        locale="zh-CN",
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_it_sends_a_receipt_signed_offline_exactly_once(
    transactional_db, touch_tablet, people, areas, campaign, in_a, media
):
    page = touch_tablet
    context = page.context
    sign_in(page, "clerk_a")
    payment = in_a[1]
    day_list = f"/visits/{campaign.pk}/{areas.a.pk}/"
    page.goto(f"/visits/payment/{payment.pk}/")
    sign_with_a_finger(page, "signature")  # the recipient, on the screen
    sign_on(page, "countersignature")  # the cadre, with a stylus-like mouse

    # The network drops before the clerk confirms: the receipt stays on the tablet.
    context.set_offline(True)
    page.click("#visit-submit")
    status = page.locator("#visit-status")
    expect(status).to_have_attribute("data-state", "queued")
    expect(page.locator("#visit-queue li[data-status=waiting]")).to_have_count(1)
    assert Payment.objects.get(pk=payment.pk).state == PaymentState.PLANNED
    assert signed_events(payment) == 0
    fits(page)
    screenshot(page, "visit-queued")

    # A flaky line: "online" again, but every send fails on the way.
    tries: list[str] = []

    def drop(route: Route) -> None:
        tries.append(route.request.url)
        route.abort()

    page.route(RECEIPTS, drop)
    context.set_offline(False)  # the `online` event sends at once
    wait_until(lambda: len(tries) >= 1, page)
    expect(status).to_have_attribute("data-state", "queued")

    # Reloading the page sends again, and does not offer to sign a second time.
    page.reload()
    wait_until(lambda: len(tries) >= 2, page)
    expect(status).to_have_attribute("data-state", "queued")
    expect(page.locator("#visit-submit")).to_be_disabled()

    # The day's list shows what waits on the tablet.
    page.goto(day_list)
    wait_until(lambda: len(tries) >= 3, page)
    expect(page.locator("#visit-queue")).to_be_visible()
    expect(page.locator("#visit-queue li[data-status=waiting]")).to_have_count(1)
    expect(page.locator(f".visit-row[data-payment='{payment.pk}']")).to_have_attribute(
        "data-queued", "waiting"
    )
    screenshot(page, "visit-queued-list")
    assert signed_events(payment) == 0

    # The server records the receipt but its reply is lost: still queued here.
    page.unroute(RECEIPTS, drop)
    lost: list[int] = []

    def lose_the_reply(route: Route) -> None:
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)
        route.abort()

    page.route(RECEIPTS, lose_the_reply)
    page.click("#visit-queue [data-queue-send]")
    wait_until(lambda: bool(lost), page)
    assert lost == [200]
    assert Payment.objects.get(pk=payment.pk).state == PaymentState.SIGNED
    expect(page.locator("#visit-queue li[data-status=waiting]")).to_have_count(1)

    # Two retries at once (the network flaps twice): the same key again,
    # recorded already, so the tablet forgets it and nothing is recorded twice.
    page.evaluate(
        "window.dispatchEvent(new Event('online')); window.dispatchEvent(new Event('online'))"
    )
    expect(page.locator("#visit-queue")).to_be_hidden()
    row = page.locator(f".visit-row[data-payment='{payment.pk}']")
    expect(row).to_have_attribute("data-state", PaymentState.SIGNED)
    page.reload()
    expect(page.locator(f"#visit-done .visit-row[data-payment='{payment.pk}']")).to_be_visible()
    screenshot(page, "visit-after-reconnect")

    signed = Payment.objects.get(pk=payment.pk)
    assert signed.state == PaymentState.SIGNED and signed.client_key
    assert Payment.objects.filter(application=payment.application).count() == 1
    assert signed_events(signed) == 1
    assert PaymentEvent.objects.filter(payment=signed, action=Action.HANDED_OVER).count() == 1
