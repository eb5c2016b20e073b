"""The campaign dashboard: its figures equal what the records add up to, at
every level, for every persona's part of the campaign; it never shows another
area's records; and it costs a fixed number of queries."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from applications.choices import State
from applications.models import Application
from campaigns.choices import Deliverable
from campaigns.models import Campaign, Deadline
from disbursements.choices import PaymentState
from disbursements.models import Payment
from relief.choices import Role
from relief.models import Area, User
from reports.figures import dashboard, default_area
from reports.generate import generate_campaign
from tests.conftest import make_user

ZERO = Decimal("0.00")


def url(campaign: Campaign, area: Area | None = None) -> str:
    path = reverse("reports:dashboard", args=[campaign.pk])
    return f"{path}?area={area.pk}" if area else path


def expected(campaign: Campaign, prefix: str) -> dict[str, object]:
    """The figures counted one record at a time, in Python, without the
    dashboard's queries: per area prefix of the child level, and in total."""
    apps = list(
        Application.objects.filter(campaign=campaign, village__code__startswith=prefix).values(
            "state", "amount", "cash", "goods", "village__code", "category__name", "late"
        )
    )
    payments = list(
        Payment.objects.filter(campaign=campaign, village__code__startswith=prefix).values(
            "state", "amount", "fund_source__name"
        )
    )
    states: dict[str, int] = defaultdict(int)
    approved, categories = ZERO, defaultdict(lambda: ZERO)
    for a in apps:
        states[a["state"]] += 1
        if a["state"] == State.APPROVED:
            amount = a["amount"] if a["amount"] is not None else a["cash"] + a["goods"]
            approved += amount
            categories[a["category__name"]] += amount
    by_source: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for p in payments:
        by_source[(p["fund_source__name"], p["state"])] += p["amount"]
    return {
        "applications": len(apps),
        "states": dict(states),
        "approved": approved,
        "categories": dict(categories),
        "signed": sum((p["amount"] for p in payments if p["state"] == PaymentState.SIGNED), ZERO),
        "by_source": dict(by_source),
        "late": sum(1 for a in apps if a["late"]),
    }


def assert_adds_up(board, campaign: Campaign) -> None:
    whole = expected(campaign, board.area.prefix)
    assert board.total.applications == whole["applications"]
    assert {s.state: s.count for s in board.funnel if s.count} == whole["states"]
    assert board.total.three.approved_amount == whole["approved"]
    assert board.total.three.signed_amount == whole["signed"]
    assert board.total.late_submitted == whole["late"]
    assert {c.name: c.approved.amount for c in board.categories if c.approved.count} == whole[
        "categories"
    ]
    for source in board.sources:
        assert source.signed == whole["by_source"].get((source.name, PaymentState.SIGNED), ZERO)
        assert source.failed == whole["by_source"].get((source.name, PaymentState.FAILED), ZERO)
    assert sum(s.approved for s in board.sources) == whole["approved"]
    # Every child area's line equals its own records, and the lines add up.
    for line in board.lines:
        part = expected(campaign, line.area.prefix)
        assert line.applications == part["applications"], line.area.name
        assert line.three.approved_amount == part["approved"], line.area.name
        assert line.three.signed_amount == part["signed"], line.area.name
        assert line.three.balanced
    assert sum(line.applications for line in board.lines) == whole["applications"]
    assert board.total.three.balanced


# -- the demo campaign --------------------------------------------------------------


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", households=60, stdout=StringIO())
    return Campaign.objects.get(name="2027年春节慰问")


def test_it_adds_up_the_demo_campaign_for_each_persona(demo):
    for username in ("approver-shifan", "supervisor-chengguan", "vclerk-dongguan", "sysadmin"):
        user = User.objects.get(username=username)
        board = dashboard(demo, user, default_area(user, demo))
        assert board.total.applications > 0, username
        if username != "vclerk-dongguan":
            assert_adds_up(board, demo)
    # The demo's payments are in every state, so each column is tested.
    board = dashboard(demo, User.objects.get(username="sysadmin"), demo.area)
    source = board.sources[0]
    assert source.signed and source.handed_over and source.failed and source.not_delivered


def test_it_shows_a_village_clerk_only_their_village(demo, client):
    clerk = User.objects.get(username="vclerk-dongguan")
    village = Area.objects.get(name="东关村")
    board = dashboard(demo, clerk, default_area(clerk, demo))
    assert board.area == village and board.at_bottom
    assert board.total.applications == expected(demo, village.prefix)["applications"]
    assert not board.whole and all(s.budget is None for s in board.sources)
    client.force_login(clerk)
    response = client.get(url(demo))
    assert response.status_code == 200
    names = {line.area.name for line in response.context["board"].lines}
    assert names == {"东关村"}
    # Another village of the same township is not found, nor is a made-up id.
    other = Area.objects.get(name="西关村")
    assert client.get(url(demo, other)).status_code == 404
    assert client.get(url(demo) + "?area=x").status_code == 404
    assert client.get(url(demo) + "?area=999999").status_code == 404
    # From the township's level the clerk still sees only their own village.
    township = village.parent
    response = client.get(url(demo, township))
    assert response.status_code == 200
    board = response.context["board"]
    assert [line.area.name for line in board.lines] == ["东关村"]
    assert board.total.applications == expected(demo, village.prefix)["applications"]


# -- drill-down and scope, with the test personas ------------------------------------


@pytest.fixture
def county_campaign(people, areas):
    """A generated campaign of the test county: 300 applications over its
    three villages (A and B of township T1, C of T2)."""
    return generate_campaign(300, area=areas.county, name="县级测试")


def test_it_drills_down_from_county_to_village(county_campaign, people, areas, client):
    client.force_login(people.approver)
    board = client.get(url(county_campaign)).context["board"]
    assert board.area == areas.county and board.whole
    assert [line.area for line in board.lines] == [areas.t1, areas.t2]
    assert_adds_up(board, county_campaign)
    board = client.get(url(county_campaign, areas.t1)).context["board"]
    assert [line.area for line in board.lines] == [areas.a, areas.b]
    assert board.trail == [areas.county] and not board.whole
    assert_adds_up(board, county_campaign)
    board = client.get(url(county_campaign, areas.a)).context["board"]
    assert board.at_bottom and board.trail == [areas.county, areas.t1]
    assert_adds_up(board, county_campaign)


def test_it_keeps_a_township_to_its_villages(county_campaign, people, areas, client):
    client.force_login(people.supervisor)  # of township T1
    response = client.get(url(county_campaign))
    board = response.context["board"]
    assert board.area == areas.t1
    assert [line.area for line in board.lines] == [areas.a, areas.b]
    assert board.total.applications == expected(county_campaign, areas.t1.prefix)["applications"]
    assert "东岭村" not in response.content.decode()
    assert client.get(url(county_campaign, areas.t2)).status_code == 404
    assert client.get(url(county_campaign, areas.c)).status_code == 404
    # The county level shows T1 alone, with T1's figures only.
    board = client.get(url(county_campaign, areas.county)).context["board"]
    assert [line.area for line in board.lines] == [areas.t1]
    assert board.total.applications == expected(county_campaign, areas.t1.prefix)["applications"]


def test_it_refuses_whom_the_campaign_is_not_for(county_campaign, people, client):
    client.force_login(people.nobody)
    assert client.get(url(county_campaign)).status_code == 403
    client.force_login(people.admin)  # no right to residents' applications
    assert client.get(url(county_campaign)).status_code == 403


def test_it_names_the_areas_behind_a_passed_deadline(county_campaign, people, areas):
    Deadline.objects.filter(campaign=county_campaign).delete()
    Deadline.objects.create(
        campaign=county_campaign,
        deliverable=Deliverable.APPLICATIONS,
        due_on=datetime.date.today() - datetime.timedelta(days=3),
    )
    drafts = Application.objects.filter(campaign=county_campaign, state=State.DRAFT)
    drafts.exclude(village=areas.c).update(state=State.SUBMITTED)
    board = dashboard(county_campaign, people.approver, areas.county)
    [line] = board.deadlines
    assert line.passed and line.days_late == 3
    assert [(area_line.area, n) for area_line, n in line.behind] == [
        (areas.t2, drafts.filter(village=areas.c).count())
    ]
    drafts.update(state=State.SUBMITTED)
    assert dashboard(county_campaign, people.approver, areas.county).deadlines == []


def test_it_draws_every_chart_with_its_table(county_campaign, people, client):
    county_campaign.categories.filter(name="特困老人").update(name="<b>特困</b>老人")
    client.force_login(people.approver)
    page = client.get(url(county_campaign)).content.decode()
    assert page.count('<svg class="chart"') == 4
    for table in ("table-funnel", "table-sources", "table-areas", "table-categories"):
        assert f'id="{table}"' in page
    assert "<b>特困</b>" not in page and "&lt;b&gt;特困&lt;/b&gt;老人" in page


def test_it_costs_the_same_queries_for_one_village_or_many(
    people, areas, client, django_assert_max_num_queries
):
    small = generate_campaign(40, townships=1, villages=1, name="小")
    large = generate_campaign(400, townships=4, villages=6, name="大")
    superuser = User.objects.get(username="superuser")
    client.force_login(superuser)
    counts = []
    for campaign in (small, large):
        client.get(url(campaign))  # session and caches
        with django_assert_max_num_queries(30) as captured:
            assert client.get(url(campaign)).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_it_adds_up_a_generated_campaign_of_50000_applications(db):
    campaign = generate_campaign(50_000)
    official = make_user("county", Role.COUNTY_APPROVER, campaign.area)
    board = dashboard(campaign, official, campaign.area)
    assert board.total.applications == 50_000
    assert len(board.lines) == 10
    assert_adds_up(board, campaign)
    township = board.lines[3].area
    assert_adds_up(dashboard(campaign, official, township), campaign)
