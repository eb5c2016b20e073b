"""A village clerk files a household in a real browser."""

import pytest

from recipients.models import Household
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import valid_id

pytestmark = pytest.mark.browser


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def test_a_village_clerk_files_a_household_with_two_members(
    transactional_db, open_page, people, areas, household_b
):
    page = open_page()
    sign_in(page, "clerk_a")
    page.click("text=户籍档案")
    page.click("text=新建档案")
    page.wait_for_url("**/households/new/")

    # Village A is the clerk's only village: it is chosen already.
    assert page.input_value("#id_village") == str(areas.a.pk)
    page.fill("#id_address", "东关村东大街18号")
    head_id, spouse_id = valid_id(male=True), valid_id(male=False)
    page.fill("#id_members-0-name", "周建国")
    page.fill("#id_members-0-id_number", head_id)
    page.fill("#id_members-1-name", "吴桂兰")
    page.select_option("#id_members-1-relation", "spouse")
    page.fill("#id_members-1-id_number", wrong_check_digit(spouse_id))

    # The ID is checked as it is typed...
    live = page.locator("#member-2 .id-check")
    live.get_by_text("校验位").wait_for()
    # ...and an extra empty row, added and left blank, is ignored.
    page.click("text=添加成员")
    page.locator("#id_members-2-name").wait_for()

    page.click("text=保存建档")
    error = page.locator("#member-2 .errorlist")
    assert "校验位（最后一位）与前17位不符" in error.inner_text()
    assert Household.objects.count() == 1  # only village B's
    screenshot(page, "household-form-checksum-error")

    page.fill("#id_members-1-id_number", spouse_id)
    live.get_by_text("出生日期").wait_for()
    page.click("text=保存建档")
    page.wait_for_url("**/households/*/")
    assert "已建档" in page.inner_text(".messages")
    body = page.inner_text("main")
    assert "周建国" in body and "吴桂兰" in body and spouse_id in body
    household = Household.objects.get(village=areas.a)
    assert sorted(household.members.values_list("name", flat=True)) == ["吴桂兰", "周建国"]
    screenshot(page, "household-detail")

    # A household of village B, opened by URL, is refused.
    response = page.goto(f"/households/{household_b.pk}/")
    assert response.status == 404
    assert "未找到" in page.inner_text("main")
    response = page.goto(f"/households/{household_b.pk}/edit/")
    assert response.status == 404


def test_the_list_filters_as_the_clerk_types(transactional_db, open_page, people, areas):
    from tests.conftest import make_household

    make_household(people.superuser, areas.a, "欧阳明")
    make_household(people.superuser, areas.b, "司马光")
    page = open_page()
    sign_in(page, "township_clerk")
    page.goto("/households/")
    assert "欧阳明" in page.inner_text("#household-table")
    page.fill("#id_q", "司马")
    page.wait_for_url("**/households/?q=*")
    page.locator("#household-table").get_by_text("司马光").wait_for()
    assert "欧阳明" not in page.inner_text("#household-table")


def test_it_switches_to_english_and_back(transactional_db, open_page, people):
    page = open_page()
    sign_in(page, "clerk_a")
    assert "工作台" in page.inner_text("nav")
    page.select_option("#language-select", "en")
    page.wait_for_load_state()
    page.get_by_text("Overview").first.wait_for()
    assert "Households" in page.inner_text("nav")
    page.select_option("#language-select", "zh-hans")
    page.get_by_text("工作台").first.wait_for()
