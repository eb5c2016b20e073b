"""The statistics with filters and the year-over-year comparison: the figures
equal sums computed from the records, each filter narrows, a user sees only
their area's figures, a fixed number of queries whatever the number of
villages, the workbooks' SUM totals recalculate in LibreOffice to the page's,
and no query string a user can type gives a 500.

The data (see `statistics_data`): county campaigns, so both townships have
applications. The applications are written straight to the database: what is
counted is their fields, not how the workflow got them there."""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from applications.choices import HardshipCause, State
from applications.models import Application
from campaigns import services as campaign_services
from campaigns.models import Category, FundSource
from documents.statistics import Figure
from relief.models import AuditEvent
from reports import statistics
from reports.statistics import (
    ComparisonRefused,
    StatisticsFilter,
    check_comparable,
    compute_comparison,
    compute_statistics,
)
from reports.statistics_xlsx import FIRST_ROW
from tests.conftest import make_area, make_household
from tests.documents.test_ledger import recalculated, shown

pytestmark = pytest.mark.django_db

ZERO = Figure(0, Decimal("0.00"))
_numbers = itertools.count(1)


def day(month: int, date: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, month, date, 10, 0))


def county_campaign(people, areas, name: str, *, year: int, kind: str, categories: list[str]):
    campaign = campaign_services.create_campaign(
        people.superuser,
        area=areas.county,
        kind=kind,
        name=name,
        issuer="示范县民政局",
        year=year,
    )
    county = FundSource.objects.create(
        campaign=campaign, name="县财政", payer="县财政局", budget=100000, order=0
    )
    town = FundSource.objects.create(
        campaign=campaign, name="镇财政", payer="镇财政所", budget=100000, order=1
    )
    made = {
        name: Category.objects.create(
            campaign=campaign, name=name, cash=500, order=order, fund_source=county
        )
        for order, name in enumerate(categories)
    }
    return SimpleNamespace(campaign=campaign, county=county, town=town, categories=made)


def application(
    people,
    setup,
    village,
    category: str,
    amount,
    *,
    state=State.APPROVED,
    source=None,
    decided=None,
) -> Application:
    """One household's application, as the workflow would have left it."""
    home = make_household(people.superuser, village, f"户主{next(_numbers)}")
    number = next(_numbers)
    return Application.objects.create(
        number=f"{setup.campaign.year}-{setup.campaign.pk:03d}-{number:05d}",
        campaign=setup.campaign,
        household=home,
        village=village,
        category=setup.categories[category],
        fund_source=source or setup.county,
        state=state,
        cause=HardshipCause.ILLNESS,
        amount=Decimal(amount),
        cash=Decimal(amount),
        decided_at=decided,
    )


@pytest.fixture
def statistics_data(people, areas) -> SimpleNamespace:
    """Two county campaigns of kind 春节慰问 (2025, 2026) and one of 送温暖.

    2026: 东关村 (T1) 一般 500, 重点 800 (镇财政), 大病 333.33, 一般 500 rejected;
          西关村 (T1) 一般 500, 重点 800 in notice;
          东岭村 (T2) 一般 500, 大病 1234.56 (镇财政).
    2025: 东关村 一般 400 ×2; 西关村 五保户 300; 东岭村 重点 600.
    """
    now = county_campaign(
        people,
        areas,
        "2026年春节慰问",
        year=2026,
        kind="春节慰问",
        categories=["一般困难户", "重点困难户", "大病困难户"],
    )
    a, b, c = areas.a, areas.b, areas.c
    application(people, now, a, "一般困难户", "500", decided=day(1, 10))
    application(people, now, a, "重点困难户", "800", source=now.town, decided=day(1, 20))
    application(people, now, a, "大病困难户", "333.33", decided=day(1, 20))
    application(people, now, a, "一般困难户", "500", state=State.REJECTED, decided=day(1, 15))
    application(people, now, b, "一般困难户", "500", decided=day(1, 10))
    application(people, now, b, "重点困难户", "800", state=State.IN_NOTICE)
    application(people, now, c, "一般困难户", "500", decided=day(1, 25))
    application(people, now, c, "大病困难户", "1234.56", source=now.town, decided=day(2, 2))

    before = county_campaign(
        people,
        areas,
        "2025年春节慰问",
        year=2025,
        kind="春节慰问",
        categories=["一般困难户", "重点困难户", "五保户"],
    )
    application(people, before, a, "一般困难户", "400", decided=day(1, 5))
    application(people, before, a, "一般困难户", "400", decided=day(1, 5))
    application(people, before, b, "五保户", "300", decided=day(1, 5))
    application(people, before, c, "重点困难户", "600", decided=day(1, 5))

    other = county_campaign(
        people, areas, "2026年送温暖", year=2026, kind="送温暖", categories=["一般困难户"]
    )
    application(people, other, a, "一般困难户", "200", decided=day(1, 8))
    return SimpleNamespace(now=now, before=before, other=other)


def expected(applications, key) -> dict:
    """Figures per key(application), summed from the records in Python."""
    found: dict = defaultdict(lambda: ZERO)
    for app in applications:
        k = key(app)
        found[k] = Figure(found[k].count + 1, found[k].amount + app.amount)
    return dict(found)


def township_of(app: Application) -> str:
    return app.village.parent.name


def records(**filters):
    return list(Application.objects.filter(**filters).select_related("village__parent", "category"))


def get(client, user, name: str, query: dict | str = ""):
    client.force_login(user)
    return client.get(reverse(name), query)


# -- the figures -----------------------------------------------------------------------------


def test_it_counts_and_sums_by_category_and_township_as_the_records_do(
    people, areas, statistics_data
):
    campaign = statistics_data.now.campaign
    stats = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.county, campaigns=(campaign,))
    )
    approved = records(campaign=campaign, state=State.APPROVED)
    names = {areas.t1.pk: "城关镇", areas.t2.pk: "东岭乡"}
    assert [p.name for p in stats.places] == ["城关镇", "东岭乡"]
    assert {(c, names[p]): f for (c, p), f in stats.cells.items()} == expected(
        approved, lambda a: (a.category.name, township_of(a))
    )
    assert {names[p]: f for p, f in stats.by_place.items()} == expected(approved, township_of)
    assert stats.by_category == expected(approved, lambda a: a.category.name)
    assert stats.by_fund_source == expected(approved, lambda a: a.fund_source.name)
    assert stats.total == Figure(6, Decimal("3867.89"))
    # Columns in the categories' order; the total column is the sum of the lines.
    assert stats.categories == ["一般困难户", "重点困难户", "大病困难户"]
    assert stats.by_place[areas.t1.pk] == Figure(4, Decimal("2133.33"))
    assert stats.by_fund_source == {
        "县财政": Figure(4, Decimal("1833.33")),
        "镇财政": Figure(2, Decimal("2034.56")),
    }
    # By state: every state, the other filters applied.
    everything = records(campaign=campaign)
    assert stats.by_state == expected(everything, lambda a: a.state)
    assert list(stats.by_state) == [State.IN_NOTICE, State.APPROVED, State.REJECTED]
    assert stats.state_total == Figure(8, Decimal("5167.89"))


def test_it_breaks_a_township_down_to_its_villages_and_a_village_to_itself(
    people, areas, statistics_data
):
    campaign = statistics_data.now.campaign
    township = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.t1, campaigns=(campaign,))
    )
    assert [p.name for p in township.places] == ["东关村", "西关村"]
    approved = records(campaign=campaign, state=State.APPROVED, village__parent=areas.t1)
    assert {p: f for p, f in township.by_place.items()} == expected(
        approved, lambda a: a.village_id
    )
    assert township.total == Figure(4, Decimal("2133.33"))
    assert not any(p.drillable for p in township.places)

    village = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.a, campaigns=(campaign,))
    )
    assert [p.pk for p in village.places] == [areas.a.pk]
    assert village.total == Figure(3, Decimal("1633.33"))


@pytest.mark.parametrize(
    ("narrowing", "keep"),
    [
        ({"category": "大病困难户"}, lambda a: a.category.name == "大病困难户"),
        ({"fund_source": "镇财政"}, lambda a: a.fund_source.name == "镇财政"),
        (
            {"decided_from": datetime.date(2026, 1, 15), "decided_to": datetime.date(2026, 1, 25)},
            lambda a: (
                datetime.date(2026, 1, 15)
                <= timezone.localdate(a.decided_at)
                <= datetime.date(2026, 1, 25)
            ),
        ),
        ({"decided_from": datetime.date(2026, 2, 1)}, lambda a: a.decided_at >= day(2, 1)),
    ],
)
def test_it_narrows_by_each_filter(people, areas, statistics_data, narrowing, keep):
    campaign = statistics_data.now.campaign
    stats = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.county, campaigns=(campaign,), **narrowing)
    )
    approved = [a for a in records(campaign=campaign, state=State.APPROVED) if keep(a)]
    assert 0 < len(approved) < 6  # the filter keeps some, not all
    assert stats.total == expected(approved, lambda a: "total")["total"]
    assert stats.by_category == expected(approved, lambda a: a.category.name)
    assert {p.name: stats.by_place[p.pk] for p in stats.places if p.pk in stats.by_place} == (
        expected(approved, township_of)
    )


def test_it_narrows_by_state_and_by_campaign(people, areas, statistics_data):
    now, before = statistics_data.now.campaign, statistics_data.before.campaign
    rejected = compute_statistics(
        people.auditor,
        StatisticsFilter(area=areas.county, campaigns=(now,), state=State.REJECTED),
    )
    assert rejected.total == Figure(1, Decimal("500.00"))
    every = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.county, campaigns=(now,), state=None)
    )
    assert every.total == every.state_total == Figure(8, Decimal("5167.89"))
    # No campaign chosen: every campaign's approved applications, categories by name.
    both = compute_statistics(people.auditor, StatisticsFilter(area=areas.county))
    approved = records(state=State.APPROVED)
    assert both.by_category == expected(approved, lambda a: a.category.name)
    assert both.by_category["一般困难户"] == Figure(6, Decimal("2500.00"))
    assert both.total == Figure(11, Decimal("5767.89"))
    only_before = compute_statistics(
        people.auditor, StatisticsFilter(area=areas.county, campaigns=(before,))
    )
    assert only_before.total == Figure(4, Decimal("1700.00"))
    assert "五保户" in only_before.categories and "大病困难户" not in only_before.categories


# -- who sees what ---------------------------------------------------------------------------


def test_it_shows_a_village_clerk_only_their_village(client, people, areas, statistics_data):
    response = get(client, people.clerk_a, "reports:statistics")
    assert response.status_code == 200
    stats = response.context["stats"]
    assert stats.filter.area == areas.a
    assert [p.pk for p in stats.places] == [areas.a.pk]
    mine = records(state=State.APPROVED, village=areas.a)
    assert stats.total == expected(mine, lambda a: "total")["total"]
    # Even a campaign of the county, chosen explicitly, counts only village A.
    response = get(
        client,
        people.clerk_a,
        "reports:statistics",
        {"campaign": statistics_data.now.campaign.pk},
    )
    assert response.context["stats"].total == Figure(3, Decimal("1633.33"))
    # The county or another village is not one of their choices.
    for area in (areas.county, areas.t1, areas.b):
        response = get(client, people.clerk_a, "reports:statistics", {"area": area.pk})
        assert response.status_code == 400
        assert response.context["stats"] is None


def test_it_gives_a_township_t2_user_no_t1_figures(client, people, areas, statistics_data):
    response = get(client, people.township_clerk_t2, "reports:statistics")
    assert response.status_code == 200
    stats = response.context["stats"]
    assert stats.filter.area == areas.t2
    assert [p.name for p in stats.places] == ["东岭村"]
    assert (
        stats.total
        == expected(records(state=State.APPROVED, village__parent=areas.t2), lambda a: "total")[
            "total"
        ]
    )
    content = response.content.decode()
    assert "东关村" not in content and "西关村" not in content
    # Even from the county down, the scoping holds: the function counts only
    # what the user may see.
    county = compute_statistics(people.township_clerk_t2, StatisticsFilter(area=areas.county))
    assert set(county.by_place) == {areas.t2.pk}
    assert (
        get(
            client, people.township_clerk_t2, "reports:statistics", {"area": areas.t1.pk}
        ).status_code
        == 400
    )
    xlsx = get(client, people.township_clerk_t2, "reports:statistics_xlsx", {"area": areas.t1.pk})
    assert xlsx.status_code == 400


def test_it_refuses_those_without_the_right_to_see_applications(client, people, statistics_data):
    for name in ("reports:statistics", "reports:comparison", "reports:statistics_xlsx"):
        client.logout()
        assert client.get(reverse(name)).status_code == 302  # to the login page
        assert get(client, people.nobody, name).status_code == 403
        assert get(client, people.admin, name).status_code == 403


def test_it_links_each_township_to_its_villages(client, people, areas, statistics_data):
    campaign = statistics_data.now.campaign
    response = get(client, people.auditor, "reports:statistics", {"campaign": campaign.pk})
    content = response.content.decode()
    drill = f"campaign={campaign.pk}&amp;area={areas.t1.pk}"
    assert drill in content
    followed = get(
        client, people.auditor, "reports:statistics", {"campaign": campaign.pk, "area": areas.t1.pk}
    )
    stats = followed.context["stats"]
    assert [p.name for p in stats.places] == ["东关村", "西关村"]
    assert stats.total == Figure(4, Decimal("2133.33"))
    # Villages are the last level: no link further down; a link back up.
    assert f"area={areas.a.pk}" not in followed.content.decode()
    assert f"area={areas.county.pk}" in followed.content.decode()


def test_it_reads_a_fixed_number_of_queries_whatever_the_number_of_villages(
    client, people, areas, statistics_data, django_assert_max_num_queries
):
    client.force_login(people.auditor)  # of the county: through the scoping's subquery
    client.get(reverse("reports:statistics"))  # the session is saved once, on the first

    def queries(area) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("reports:statistics"), {"area": area.pk, "state": "all"})
        assert response.status_code == 200
        return len(captured)

    setup = statistics_data.now
    small = make_area("130123300000", "南山镇")
    village = make_area("130123300201", "南山村1")
    application(people, setup, village, "一般困难户", "500", decided=day(1, 10))
    one = queries(small)

    big = make_area("130123400000", "北河镇")
    for n in range(1, 21):
        place = make_area(f"130123400{n:03d}", f"北河村{n}")
        for category in ("一般困难户", "重点困难户"):
            application(people, setup, place, category, "500", decided=day(1, 10))
            application(people, setup, place, category, "300", state=State.REJECTED)
    response = client.get(reverse("reports:statistics"), {"area": big.pk, "state": "all"})
    assert len(response.context["stats"].places) == 20
    assert response.context["stats"].total == Figure(80, Decimal("32000.00"))
    assert queries(big) == one
    with django_assert_max_num_queries(15):
        client.get(reverse("reports:statistics"), {"area": big.pk})


# -- the workbook ----------------------------------------------------------------------------


def test_it_exports_what_the_page_shows_and_libreoffice_recalculates_its_totals(
    client, people, areas, statistics_data, tmp_path
):
    campaign = statistics_data.now.campaign
    query = {"campaign": campaign.pk, "fund_source": "县财政"}
    page = get(client, people.auditor, "reports:statistics", query)
    stats = page.context["stats"]
    assert f"?{page.context['query']}" in page.content.decode().replace("&amp;", "&")
    response = client.get(reverse("reports:statistics_xlsx"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "statistics.xlsx"
    path.write_bytes(response.content)

    counts, amounts, sources, states = recalculated(path).values()
    # The filters are in the title rows.
    assert "县财政" in counts[FIRST_ROW - 3][0] and campaign.name in counts[1][0]
    for rows, field in ((counts, "count"), (amounts, "amount")):
        header, *lines, total = [r for r in rows[FIRST_ROW - 2 :] if any(r)]
        assert header[1:-1] == stats.categories
        assert [line[0] for line in lines] == [line.place.name for line in stats.lines]
        for row, line in zip(lines, stats.lines, strict=True):
            assert [shown(v) for v in row[1:]] == [
                *(getattr(f, field) for f in line.figures),
                getattr(line.total, field),
            ]
        assert [shown(v) for v in total[1:]] == [
            *(getattr(f, field) for f in stats.category_totals),
            getattr(stats.total, field),
        ]
    *lines, total = [r for r in sources[FIRST_ROW - 1 :] if any(r)]
    assert {r[0]: Figure(int(r[1]), shown(r[2])) for r in lines} == stats.by_fund_source
    assert Figure(int(total[1]), shown(total[2])) == stats.total == Figure(4, Decimal("1833.33"))
    *lines, total = [r for r in states[FIRST_ROW - 1 :] if any(r)]
    assert Figure(int(total[1]), shown(total[2])) == stats.state_total

    event = AuditEvent.objects.get(action="document.statistics")
    assert event.actor == people.auditor and event.area == areas.county
    assert event.target_id == str(campaign.pk)
    assert event.data["filters"]["fund_source"] == "县财政"


# -- the comparison --------------------------------------------------------------------------


def test_it_compares_two_campaigns_of_a_kind_by_category_and_area(people, areas, statistics_data):
    before, now = statistics_data.before.campaign, statistics_data.now.campaign
    result = compute_comparison(people.auditor, before, now, areas.county)
    lines = {line.label: line for line in result.by_category}
    assert list(lines) == ["一般困难户", "重点困难户", "五保户", "大病困难户"]
    general = lines["一般困难户"]
    assert general.previous == Figure(2, Decimal("800.00"))
    assert general.current == Figure(3, Decimal("1500.00"))
    assert (general.count_change, general.count_change_percent) == (1, Decimal("50.0"))
    assert (general.amount_change, general.amount_change_percent) == (
        Decimal("700.00"),
        Decimal("87.5"),
    )
    key = lines["重点困难户"]
    assert (key.previous, key.current) == (Figure(1, Decimal("600.00")), Figure(1, Decimal(800)))
    assert key.amount_change_percent == Decimal("33.3")
    # A category only one campaign has: blank on the other side, no change.
    assert lines["五保户"].current is None and lines["五保户"].amount_change is None
    assert lines["大病困难户"].previous is None and lines["大病困难户"].count_change is None
    # Per township, and the total, from the records.
    for line in result.by_place:
        for campaign, figure in ((before, line.previous), (now, line.current)):
            mine = records(campaign=campaign, state=State.APPROVED, village__parent=line.place.pk)
            assert figure == expected(mine, lambda a: "t").get("t", ZERO)
    total = result.total
    assert (total.previous, total.current) == (
        Figure(4, Decimal("1700.00")),
        Figure(6, Decimal("3867.89")),
    )
    assert total.amount_change == Decimal("2167.89")
    assert total.amount_change_percent == Decimal("127.5")


def test_it_refuses_to_compare_campaigns_of_different_kinds(client, people, areas, statistics_data):
    before, other = statistics_data.before.campaign, statistics_data.other.campaign
    with pytest.raises(ComparisonRefused) as refused:
        compute_comparison(people.auditor, before, other, areas.county)
    with pytest.raises(ComparisonRefused) as same:
        check_comparable(before, before)
    query = {"previous": before.pk, "current": other.pk}
    for name in ("reports:comparison", "reports:comparison_xlsx"):
        response = get(client, people.auditor, name, query)
        assert response.status_code == 400
        assert str(refused.value) in response.content.decode()
        assert response.context["comparison"] is None
    response = get(
        client, people.auditor, "reports:comparison", {"previous": before.pk, "current": before.pk}
    )
    assert response.status_code == 400 and str(same.value) in response.content.decode()


def test_it_offers_the_latest_two_campaigns_of_a_kind(client, people, areas, statistics_data):
    response = get(client, people.auditor, "reports:comparison")
    assert response.status_code == 200
    result = response.context["comparison"]
    assert (result.previous, result.current) == (
        statistics_data.before.campaign,
        statistics_data.now.campaign,
    )
    assert response.context["form"]["previous"].value() == statistics_data.before.campaign.pk
    # Township T2 sees the county's campaigns, and only its own figures.
    response = get(client, people.township_clerk_t2, "reports:comparison")
    result = response.context["comparison"]
    assert [line.place.name for line in result.by_place] == ["东岭村"]
    assert (result.total.previous, result.total.current) == (
        Figure(1, Decimal("600.00")),
        Figure(2, Decimal("1734.56")),
    )
    # An area of T1 is not among their choices.
    query = {**result.query(), "area": areas.t1.pk}
    assert get(client, people.township_clerk_t2, "reports:comparison", query).status_code == 400


def test_it_has_nothing_to_compare_without_two_campaigns_of_a_kind(client, people, campaign_t1):
    # Township T2 sees no campaign; T1 has one.
    for user in (people.township_clerk_t2, people.township_clerk):
        response = get(client, user, "reports:comparison")
        assert response.status_code == 200 and response.context["comparison"] is None
        assert get(client, user, "reports:comparison_xlsx").status_code == 404


def test_it_exports_the_comparison_and_libreoffice_recalculates_its_totals(
    client, people, areas, statistics_data, tmp_path
):
    response = get(client, people.auditor, "reports:comparison")
    result = response.context["comparison"]
    assert f"?{response.context['query']}" in response.content.decode().replace("&amp;", "&")
    download = client.get(reverse("reports:comparison_xlsx"), result.query())
    assert download.status_code == 200
    path = tmp_path / "comparison.xlsx"
    path.write_bytes(download.content)
    assert len(load_workbook(path, read_only=True).sheetnames) == 2

    by_category, by_area = recalculated(path).values()
    for rows, lines in ((by_category, result.by_category), (by_area, result.by_place)):
        *body, total = [r for r in rows[FIRST_ROW - 1 :] if any(r)]
        assert [r[0] for r in body] == [line.label for line in lines]
        for row, line in zip(body, lines, strict=True):
            assert row[1] == ("" if line.previous is None else str(line.previous.count))
            assert row[5] == ("" if line.count_change is None else str(line.count_change))
        t = result.total
        assert [shown(v) for v in total[1:5]] == [
            t.previous.count,
            t.previous.amount,
            t.current.count,
            t.current.amount,
        ]
        assert [shown(v) for v in total[5:9]] == [
            t.count_change,
            t.count_change_percent,
            t.amount_change,
            t.amount_change_percent,
        ]
    event = AuditEvent.objects.get(action="document.statistics")
    assert event.data["report"] == "comparison" and event.area == areas.county


# -- query strings a user can type -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"area": "abc"},
        {"area": "99999999999999999999"},
        {"area": "-1"},
        {"campaign": "abc"},
        {"campaign": "99999999999999999999"},
        {"category": "没有的类别"},
        {"fund_source": "<script>"},
        {"state": "bogus"},
        {"decided_from": "2026-13-45"},
        {"decided_from": "2026-02-01", "decided_to": "2026-01-01"},
    ],
)
def test_it_answers_a_bad_filter_with_the_form_error(client, people, statistics_data, query):
    for name in ("reports:statistics", "reports:statistics_xlsx"):
        response = get(client, people.auditor, name, query)
        assert response.status_code == 400
        assert response.context["form"].errors
        assert response.context["stats"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"previous": "abc", "current": "1"},
        {"previous": "99999999999999999999", "current": "1"},
        {"current": "1"},
        {"area": "x"},
        {"state": "nope"},
    ],
)
def test_it_answers_a_bad_comparison_with_the_form_error(client, people, statistics_data, query):
    for name in ("reports:comparison", "reports:comparison_xlsx"):
        response = get(client, people.auditor, name, query)
        assert response.status_code == 400
        assert response.context["form"].errors


def test_it_refuses_campaigns_outside_the_users_area(client, people, areas, campaign_t1):
    """Township T2 does not see T1's campaign: an invalid choice, not a figure."""
    response = get(
        client, people.township_clerk_t2, "reports:statistics", {"campaign": campaign_t1.pk}
    )
    assert response.status_code == 400 and "campaign" in response.context["form"].errors
    other = campaign_services.create_campaign(
        people.superuser,
        area=areas.t2,
        kind="春节慰问",
        name="东岭乡春节慰问",
        issuer="东岭乡",
        year=2025,
    )
    query = {"previous": other.pk, "current": campaign_t1.pk}
    response = get(client, people.township_clerk_t2, "reports:comparison_xlsx", query)
    assert response.status_code == 400 and "current" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action="document.statistics").exists()


def test_it_names_each_area_by_its_township(areas):
    assert statistics.area_name(areas.a) == "城关镇 东关村"
    assert statistics.area_name(areas.county) == "示范县"
