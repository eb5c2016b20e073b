"""A township supervisor's overview, and a county official who drills down the
campaign dashboard from the county to one village and exports the figures."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest

from applications.choices import State
from applications.models import Application
from reports.generate import generate_campaign
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def approved_amount(campaign, village=None) -> Decimal:
    apps = Application.objects.filter(campaign=campaign, state=State.APPROVED)
    if village is not None:
        apps = apps.filter(village=village)
    return sum((a.amount for a in apps), Decimal(0))


def figure(page, name: str) -> str:
    return page.inner_text(f"#fig-{name}").replace(",", "").strip()


def test_a_county_official_drills_down_to_a_village_and_exports(
    transactional_db, open_page, people, areas, tmp_path
):
    campaign = generate_campaign(240, area=areas.county, name="县级慰问（浏览器）")
    page = open_page()
    sign_in(page, "approver")
    page.goto(f"/campaigns/{campaign.pk}/")
    page.click("text=仪表盘")
    page.wait_for_url(f"**/campaigns/{campaign.pk}/dashboard/")
    assert page.inner_text("#current-area") == "示范县"
    assert Decimal(figure(page, "approved")) == approved_amount(campaign)
    rows = page.locator("#table-areas tbody tr")
    assert rows.count() == 2  # the two townships
    assert page.locator("svg.chart").count() == 4
    screenshot(page, "dashboard-county")

    # County -> township: the villages of 城关镇 only.
    page.click("#table-areas a.drill >> text=城关镇")
    page.wait_for_url(f"**?area={areas.t1.pk}")
    assert page.inner_text("#current-area") == "城关镇"
    names = page.locator("#table-areas tbody tr td:first-child").all_inner_texts()
    assert [n.strip() for n in names] == ["东关村", "西关村"]
    assert Decimal(figure(page, "approved")) == approved_amount(
        campaign, areas.a
    ) + approved_amount(campaign, areas.b)

    # Township -> village: the bottom, with the way back up.
    page.click("#table-areas a.drill >> text=东关村")
    page.wait_for_url(f"**?area={areas.a.pk}")
    assert page.inner_text("#current-area") == "东关村"
    assert Decimal(figure(page, "approved")) == approved_amount(campaign, areas.a)
    assert page.locator(".crumbs a").all_inner_texts() == ["示范县", "城关镇"]
    # A chart's table is one click away.
    page.locator("section:has(#table-funnel) summary").click()
    assert page.locator("#table-funnel").is_visible()
    screenshot(page, "dashboard-village")

    # Export: the statistics of the campaign, as .xlsx.
    page.click("#dashboard-statistics")
    page.wait_for_url("**/statistics/**")
    with page.expect_download() as download:
        page.click("#statistics-xlsx")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx"
    book = openpyxl.load_workbook(path)
    text = " ".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
    assert campaign.name in text and "城关镇" in text


def test_a_township_supervisor_starts_from_the_overview(transactional_db, open_page, people, areas):
    from applications.queue import my_work

    campaign = generate_campaign(240, area=areas.county, name="县级慰问（浏览器）")
    mine = my_work(people.supervisor, Application.objects.filter(campaign=campaign)).count()
    assert mine > 0
    page = open_page()
    sign_in(page, "supervisor")
    # The overview: the applications at the supervisor's step, linked to the queue.
    row = page.locator("#waiting tr[data-kind='applications']").filter(has_text=campaign.name)
    assert int(row.get_attribute("data-count")) == mine
    screenshot(page, "overview-supervisor")
    row.locator("a").first.click()
    page.wait_for_url(f"**/campaigns/{campaign.pk}/applications/?mine=1")

    # The dashboard opens at the supervisor's township, with its villages only.
    page.goto(f"/campaigns/{campaign.pk}/dashboard/")
    assert page.inner_text("#current-area") == "城关镇"
    names = page.locator("#table-areas tbody tr td:first-child").all_inner_texts()
    assert [n.strip() for n in names] == ["东关村", "西关村"]
    assert "东岭乡" not in page.inner_text("main")
