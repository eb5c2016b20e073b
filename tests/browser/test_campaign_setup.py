"""An administrator sets up a small campaign through the screens."""

from decimal import Decimal

import pytest

from campaigns.models import Campaign
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_an_administrator_sets_up_a_campaign_and_tries_its_standard(
    transactional_db, open_page, people, areas
):
    page = open_page()
    sign_in(page, "admin")
    page.click("nav >> text=活动")
    page.click("text=新建活动")
    page.fill("#id_name", "2026年春节送温暖")
    page.fill("#id_issuer", "城关镇人民政府")
    page.select_option("#id_area", str(areas.t1.pk))
    page.fill("#id_kind_name", "送温暖")
    page.select_option("#id_stacking", "highest_plus")
    page.fill("#id_top_up", "1000")
    page.click("text=创建活动")
    page.get_by_text("活动已创建").wait_for()
    campaign = Campaign.objects.get()

    # A fund source paid half by the district, half by the township (区、镇各半).
    page.click(".page-head >> text=资金来源")
    page.fill("#id_sources-0-name", "低保户慰问金")
    page.fill("#id_sources-0-payer", "区民政局")
    page.fill("#id_sources-0-budget", "17000")
    page.fill("#id_sources-0-shares_text", "区财政 50%、镇财政 50%")
    page.click("main button:has-text('保存')")
    page.get_by_text("资金来源已保存").wait_for()

    # A category with a soft range: only the range's fields are shown.
    page.click("text=添加类别")
    assert page.is_visible("#id_cash") and not page.is_visible("#id_range_min")
    page.fill("#id_name", "低保户")
    page.select_option("#id_kind", "range")
    assert page.is_visible("#id_range_min") and not page.is_visible("#id_cash")
    page.fill("#id_range_min", "200")
    page.fill("#id_range_max", "400")
    page.check("#id_range_soft")
    page.fill("#id_planned_count", "40")
    page.select_option("#id_fund_source", label="低保户慰问金")
    page.fill("#id_eligibility_text", "低保户 = 是")
    page.click("text=保存类别")
    page.get_by_text("类别“低保户”已保存").wait_for()

    # The budget table and the check: 40 × 400 = 16,000 < 17,000.
    budget = page.locator("table.budget")
    assert "8,000–16,000" in budget.inner_text()
    page.get_by_text("无法足额使用").first.wait_for()
    screenshot(page, "campaign-detail")

    # Try the standard: 450 is outside the soft range, allowed with a reason.
    page.click("text=试算")
    page.select_option("#id_dibao", "true")
    page.fill("#id_proposed", "450")
    page.click("text=计算")
    result = page.locator("#try-result")
    result.get_by_text("须书面说明理由").first.wait_for()
    assert "450" in result.inner_text() and "区财政 225" in result.inner_text()
    screenshot(page, "campaign-try")

    category = campaign.categories.get()
    assert (category.range_min, category.range_max, category.range_soft) == (
        Decimal(200),
        Decimal(400),
        True,
    )
    assert [(s.payer, s.percent) for s in category.fund_source.shares.all()] == [
        ("区财政", Decimal(50)),
        ("镇财政", Decimal(50)),
    ]
