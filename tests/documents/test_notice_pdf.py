"""The public notice (公示名单) as a PDF: who is listed, what is never printed
(full ID numbers, phones, addresses), the layout over several pages, finding
the notice of an area, and the command."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext as _

from applications import services
from applications.choices import State
from campaigns.models import Category
from documents.notice import notice_for, notice_rows, render_notice
from documents.pdf import DocumentError, css_string, page_counter
from recipients.models import Person
from relief import idnumber

from .conftest import (
    CONTACT,
    PLACE,
    big_campaign,
    household,
    names,
    pdf_fonts,
    pdf_pages,
    pdf_text,
    save_first_page_png,
    squeeze,
    the_notice,
    through_notice,
    unspaced,
)

pytestmark = pytest.mark.django_db


def chinese(render, *args):
    """A document as the office prints it: in the site's language."""
    with translation.override("zh-hans"):
        return render(*args)


@pytest.fixture
def small(people, areas, campaign):
    """Township T1's notice: 张建国 (with a child) in 东关村, 李秀英 in 西关村."""
    homes = [
        household(people, areas.a, "张建国", "张小明"),
        household(people, areas.b, "李秀英"),
    ]
    apps = through_notice(people, campaign, homes)
    return the_notice(campaign), homes, apps


# -- the rows ------------------------------------------------------------------------


def test_it_lists_the_heads_by_village_and_number_in_one_query(people, areas, campaign):
    homes = [
        household(people, areas.b, "李秀英"),
        household(people, areas.a, "张建国", "张小明"),
        household(people, areas.a, "王志强"),
    ]
    apps = through_notice(people, campaign, homes)
    notice = the_notice(campaign)
    with CaptureQueriesContext(connection) as queries:
        found = notice_rows(notice)
    assert len(queries) == 1
    # 东关村 (…201) before 西关村 (…202); in a village, by application number.
    assert [r.name for r in found.rows] == ["张建国", "王志强", "李秀英"]
    assert [r.position for r in found.rows] == [1, 2, 3]
    assert [r.village for r in found.rows] == ["东关村", "东关村", "西关村"]
    head = Person.objects.get(name="张建国")
    assert found.rows[0].masked_id == idnumber.mask(head.id_number) != head.id_number
    assert (found.count, found.total) == (3, Decimal(1500))
    assert {r.number for r in found.rows} == {a.number for a in apps}


def test_it_filters_a_township_notice_to_one_village(small, areas):
    notice, _homes, _apps = small
    found = notice_rows(notice, areas.b)
    assert [r.name for r in found.rows] == ["李秀英"]
    assert (found.count, found.total) == (1, Decimal(500))


def test_it_lists_approved_ones_and_leaves_out_rejected_ones(people, areas, campaign):
    homes = [household(people, areas.a, n) for n in ("张建国", "王志强", "李秀英")]
    first, second, third = through_notice(people, campaign, homes)
    services.approve(people.superuser, [first.pk]).raise_if_refused()
    services.reject(people.superuser, [second.pk], "隐瞒收入").raise_if_refused()
    found = notice_rows(the_notice(campaign))
    assert [r.number for r in found.rows] == [first.number, third.number]


def test_it_keeps_what_the_county_sends_back_to_the_notice_and_drops_the_rest(
    people, areas, campaign
):
    """The county returns one to the township's approval (its notice stands)
    and one to the review (a new notice will list it), and rejects one."""
    county = Category.objects.create(
        campaign=campaign,
        name="特殊困难户",
        cash=800,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
        escalations=[[["amount", ">", "0", False], "county"]],
    )
    homes = [household(people, areas.a, n) for n in ("张建国", "王志强", "李秀英", "赵春生")]
    apps = through_notice(people, campaign, homes, [None, county, county, county])
    services.approve(people.superuser, [a.pk for a in apps]).raise_if_refused()
    general, back_to_notice, back_to_review, rejected = apps
    actor = people.superuser
    services.return_applications(
        actor, [back_to_notice.pk], State.IN_NOTICE, "补充公示说明"
    ).raise_if_refused()
    services.return_applications(
        actor, [back_to_review.pk], State.REVIEWED, "重新审核"
    ).raise_if_refused()
    services.reject(actor, [rejected.pk], "隐瞒收入").raise_if_refused()
    found = notice_rows(the_notice(campaign))
    assert [r.number for r in found.rows] == [general.number, back_to_notice.number]
    assert found.total == Decimal(1300)


# -- the PDF ---------------------------------------------------------------------------


def test_it_prints_names_and_masked_ids_in_an_embedded_cjk_font(small):
    notice, homes, _apps = small
    pdf = chinese(render_notice, notice)
    assert pdf.startswith(b"%PDF")
    fonts = pdf_fonts(pdf)
    assert any("Noto" in name and "CJK" in name and embedded for name, embedded in fonts), fonts
    assert all(embedded for _name, embedded in fonts), fonts
    text = pdf_text(pdf)
    for name in ("张建国", "李秀英", "东关村", "西关村", "一般困难户", "城关镇人民政府"):
        assert name in text
    assert CONTACT in squeeze(text) and PLACE in text
    assert "1,000.00" in text  # the total
    for person in Person.objects.filter(household__in=homes):
        # Nobody's full ID number, however pdftotext spaces it; the heads' masked.
        assert person.id_number not in text.replace(" ", "")
    for home in homes:
        assert idnumber.mask(home.head.id_number) in text
    assert "张小明" not in text  # a member, not the one aid is paid to
    assert "13912345678" not in text and "东大街" not in text  # phone, address
    save_first_page_png(pdf, "notice-small")


def test_it_prints_one_village_of_a_township_notice(small, areas):
    notice, _homes, _apps = small
    text = pdf_text(chinese(render_notice, notice, areas.a))
    assert "张建国" in text and "李秀英" not in text
    assert "500.00" in text and "1,000.00" not in text


def test_it_repeats_the_header_on_every_page_of_a_long_list(people, areas):
    campaign = big_campaign(people, areas.t1)
    listed = names(75)
    homes = [household(people, areas.a if i % 3 else areas.b, n) for i, n in enumerate(listed)]
    through_notice(people, campaign, homes)
    notice = the_notice(campaign)
    pdf = chinese(render_notice, notice)
    pages = pdf_pages(pdf)
    assert pages >= 3
    with translation.override("zh-hans"):
        header = [_("No."), _("ID number"), _("Category")]
        footers = [
            _("Page %(page)s of %(pages)s") % {"page": n, "pages": pages}
            for n in range(1, pages + 1)
        ]
    seen = []
    for n in range(1, pages + 1):
        text = squeeze(pdf_text(pdf, n))
        assert unspaced(footers[n - 1]) in unspaced(text), (n, text[-200:])
        seen += [name for name in listed if name in text]
        if n < pages or any(name in text for name in listed):
            assert all(label in text for label in header), (n, text[:300])
    # Every row printed once, none lost or repeated at a page break.
    assert sorted(seen) == sorted(listed)
    last = pdf_text(pdf, pages)
    assert "37,500.00" in last  # 75 × 500, after the last row
    save_first_page_png(pdf, "notice-long")


def test_it_refuses_a_notice_that_lists_no_one(people, areas, campaign):
    homes = [household(people, areas.a, "张建国")]
    (app,) = through_notice(people, campaign, homes)
    services.reject(people.superuser, [app.pk], "隐瞒收入").raise_if_refused()
    with pytest.raises(DocumentError):
        render_notice(the_notice(campaign))


def test_it_writes_the_page_footer_as_css_counters_in_the_active_language():
    with translation.override("en"):
        assert page_counter() == '"Page " counter(page) " of " counter(pages)'
    # Whatever a translation holds, it stays one CSS string: quotes and < escaped.
    assert css_string('a"b</style>') == '"a\\22 b\\3c /style\\3e "'


# -- which notice ----------------------------------------------------------------------


def test_it_finds_the_notice_of_an_area_or_of_a_village_in_it(small, areas, campaign):
    notice, _homes, _apps = small
    assert notice_for(campaign, areas.t1.code) == (notice, None)
    assert notice_for(campaign, areas.a.code) == (notice, areas.a)


def test_it_says_when_there_is_no_notice(small, areas, campaign):
    with translation.override("en"):
        with pytest.raises(DocumentError) as missing:
            notice_for(campaign, areas.c.code)
        assert "东岭村" in missing.value.message
        with pytest.raises(DocumentError) as unknown:
            notice_for(campaign, "999999999999")
        assert "999999999999" in unknown.value.message


def test_it_finds_a_villages_own_notice_under_village_level_notices(people, areas):
    from tests.applications.conftest import open_campaign

    campaign = open_campaign(people, areas.t1, "2026年送温暖", notice_level="village")
    through_notice(people, campaign, [household(people, areas.a, "张建国")])
    notice = the_notice(campaign)
    assert notice.area == areas.a
    assert notice_for(campaign, areas.a.code) == (notice, None)
    with pytest.raises(DocumentError):
        notice_for(campaign, areas.t1.code)


# -- the command ----------------------------------------------------------------------


def test_it_writes_the_notice_from_the_command_line(small, areas, campaign, tmp_path):
    out = tmp_path / "notice.pdf"
    call_command("render_notice", str(campaign.pk), "--area", areas.a.code, "--out", str(out))
    text = pdf_text(out.read_bytes())
    assert "张建国" in text and "李秀英" not in text
    by_name = tmp_path / "by-name.pdf"
    call_command("render_notice", campaign.name, "--area", areas.t1.code, "--out", str(by_name))
    assert "李秀英" in pdf_text(by_name.read_bytes())


@pytest.mark.parametrize(
    ("key", "code"),
    [("999", "130123100000"), ("没有这个活动", "130123100000"), (None, "999999999999")],
)
def test_it_fails_in_the_command_when_nothing_matches(small, campaign, tmp_path, key, code):
    out = tmp_path / "notice.pdf"
    with pytest.raises(CommandError):
        call_command("render_notice", key or str(campaign.pk), "--area", code, "--out", str(out))
    assert not out.exists()


def test_it_fails_in_the_command_for_a_folder_that_does_not_exist(small, areas, campaign, tmp_path):
    out = tmp_path / "missing" / "notice.pdf"
    with pytest.raises(CommandError):
        call_command("render_notice", str(campaign.pk), "--area", areas.a.code, "--out", str(out))


def test_it_fails_in_the_command_for_an_area_without_notice(small, areas, campaign, tmp_path):
    out = tmp_path / "notice.pdf"
    with pytest.raises(CommandError, match="东岭"):
        call_command("render_notice", str(campaign.pk), "--area", areas.t2.code, "--out", str(out))
    assert not out.exists()
