"""The payment sheet (慰问金发放表) as a PDF: one village's approved
applications with the full ID number, amounts in figures and capitals, a
subtotal per printed page and the total on the last; and the command."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext as _

from applications import services
from documents.payment_sheet import ROWS_PER_PAGE, paginate, payment_rows, render_payment_sheet
from documents.pdf import DocumentError
from relief.money import in_capitals, yuan

from .conftest import (
    approved,
    big_campaign,
    household,
    names,
    pdf_fonts,
    pdf_pages,
    pdf_text,
    save_first_page_png,
    through_notice,
    unspaced,
)

pytestmark = pytest.mark.django_db

# A name as long as they come (a Uyghur name written in Chinese characters):
# it wraps in its cell without making the row taller than the page allows.
LONG_NAME = "阿卜杜热合曼·买买提明"


def chinese(render, *args):
    with translation.override("zh-hans"):
        return render(*args)


@pytest.fixture
def village_a(people, areas):
    """Two full pages of 东关村 approved in a campaign of three categories
    (500, 800 and 1,234.56 yuan) from two fund sources; besides them one
    approved in 西关村 and one of 东关村 only in notice, neither on the sheet."""
    campaign = big_campaign(people, areas.t1)
    categories = list(campaign.categories.order_by("cash"))
    count = 2 * ROWS_PER_PAGE
    listed = [LONG_NAME, *names(count - 1)]
    homes = [household(people, areas.a, name) for name in listed]
    apps = approved(
        people, campaign, homes, [categories[i % len(categories)] for i in range(count)]
    )
    approved(people, campaign, [household(people, areas.b, "冯淑芬")])
    through_notice(people, campaign, [household(people, areas.a, "褚淑芬")])
    return campaign, {app.household.head.id_number: app for app in apps}


def test_it_lists_the_villages_approved_ones_with_full_ids_in_one_query(people, areas):
    campaign = big_campaign(people, areas.t1)
    special = campaign.categories.get(name="特困供养人员")
    homes = [household(people, areas.a, "张建国"), household(people, areas.a, "王志强")]
    apps = approved(people, campaign, homes, [None, special])
    approved(people, campaign, [household(people, areas.b, "李秀英")])
    with CaptureQueriesContext(connection) as queries:
        rows = payment_rows(campaign, areas.a)
    assert len(queries) == 1
    assert [(r.position, r.name, r.number) for r in rows] == [
        (1, "张建国", apps[0].number),
        (2, "王志强", apps[1].number),
    ]
    assert rows[0].id_number == homes[0].head.id_number
    assert (rows[0].category, rows[0].fund_source, rows[0].amount) == (
        "一般困难户",
        "镇财政",
        Decimal(500),
    )
    assert (rows[1].category, rows[1].fund_source, rows[1].amount) == (
        "特困供养人员",
        "区财政",
        Decimal("1234.56"),
    )
    assert rows[1].capitals == "壹仟贰佰叁拾肆元伍角陆分"


def test_it_cuts_pages_of_a_fixed_number_of_rows(people, areas):
    campaign = big_campaign(people, areas.t1)
    approved(people, campaign, [household(people, areas.a, n) for n in names(3)])
    rows = payment_rows(campaign, areas.a)
    pages = paginate(rows * 9, per_page=10)  # 27 rows
    assert [len(p.rows) for p in pages] == [10, 10, 7]
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[2].subtotal == 7 * Decimal(500)


def test_it_prints_every_page_with_its_subtotal_and_the_total_on_the_last(village_a, areas):
    campaign, by_id = village_a
    pdf = chinese(render_payment_sheet, campaign, areas.a)
    fonts = pdf_fonts(pdf)
    assert any("Noto" in name and "CJK" in name and embedded for name, embedded in fonts), fonts
    # As many printed pages as pages cut: a full last page, with the total, fits.
    pages = pdf_pages(pdf)
    assert pages == len(by_id) // ROWS_PER_PAGE == 2
    seen = {}
    for n in range(1, pages + 1):
        text = pdf_text(pdf, n)
        flat = unspaced(text)
        on_page = {number: app for number, app in by_id.items() if number in text}
        assert len(on_page) == ROWS_PER_PAGE, n
        seen.update(on_page)
        subtotal = sum((app.amount for app in on_page.values()), Decimal(0))
        # The page's subtotal line: the sum of this page's amounts, in figures and capitals.
        assert re.search(
            rf"{re.escape(yuan(subtotal))}\s+{re.escape(in_capitals(subtotal))}", text
        ), (n, subtotal, text[-600:])
        for app in on_page.values():
            assert app.household.head.name in unspaced(pdf_text(pdf, n, raw=True))
            assert unspaced(in_capitals(app.amount)) in flat
        with translation.override("zh-hans"):
            footer = _("Page %(page)s of %(pages)s") % {"page": n, "pages": pages}
        assert unspaced(footer) in flat
    assert seen.keys() == by_id.keys()
    total = sum((app.amount for app in by_id.values()), Decimal(0))
    last = pdf_text(pdf, pages)
    assert re.search(rf"{re.escape(yuan(total))}\s+{re.escape(in_capitals(total))}", last)
    assert in_capitals(total) not in pdf_text(pdf, 1)
    # The long name is there, wrapped in its cell or not.
    assert LONG_NAME in unspaced(pdf_text(pdf, raw=True))
    assert "冯淑芬" not in pdf_text(pdf) and "褚淑芬" not in pdf_text(pdf)
    save_first_page_png(pdf, "payment-sheet")


def test_it_refuses_a_village_without_approved_applications(people, areas):
    campaign = big_campaign(people, areas.t1)
    (app,) = through_notice(people, campaign, [household(people, areas.a, "张建国")])
    with pytest.raises(DocumentError):
        render_payment_sheet(campaign, areas.a)
    services.approve(people.superuser, [app.pk]).raise_if_refused()
    assert render_payment_sheet(campaign, areas.a).startswith(b"%PDF")


def test_it_writes_the_sheet_from_the_command_line(people, areas, tmp_path):
    campaign = big_campaign(people, areas.t1)
    (app,) = approved(people, campaign, [household(people, areas.a, "张建国")])
    out = tmp_path / "sheet.pdf"
    call_command("render_payment_sheet", campaign.name, "--area", areas.a.code, "--out", str(out))
    text = pdf_text(out.read_bytes())
    assert app.household.head.id_number in text
    assert "伍佰元整" in text


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("999", "130123100201"),  # no such campaign
        (None, "999999999999"),  # no such area
        (None, "130123100000"),  # a township, not a village
        (None, "130123100202"),  # a village with no approved application
    ],
)
def test_it_fails_in_the_command_when_nothing_matches(people, areas, tmp_path, key, code):
    campaign = big_campaign(people, areas.t1)
    approved(people, campaign, [household(people, areas.a, "张建国")])
    out = tmp_path / "sheet.pdf"
    with pytest.raises(CommandError):
        call_command(
            "render_payment_sheet", key or str(campaign.pk), "--area", code, "--out", str(out)
        )
    assert not out.exists()
