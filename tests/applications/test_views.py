"""The workflow's screens as each persona uses them: what they may see in their
area, what the queue, entry, application, appraisal, notice and bulk pages do
with good and bad input, and the query counts of the lists.

Assertions read the database, the view's context, application and household
numbers and names; messages are checked by their level and the numbers in
them, not by their wording."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from applications import services
from applications.choices import HardshipCause, ObjectionStatus, State
from applications.models import (
    Application,
    AppraisalMeeting,
    Attachment,
    Notice,
    Objection,
    Recusal,
)
from campaigns.models import CampaignKind, Category
from relief.models import Area, AuditEvent
from tests.conftest import make_household

from .conftest import entry, open_campaign, past_notice_start, walk

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100
CONTACT = "民政办 0311-1234567"
MEMBERS = "村支书、村委委员、村民代表"


# -- helpers -----------------------------------------------------------------------------


def as_user(client, user):
    client.force_login(user)
    return client


def today() -> datetime.date:
    return timezone.localdate()


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def notes(response) -> list[tuple[str, str]]:
    """The messages the request left for the next page: (level, text)."""
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def levels(response) -> list[str]:
    return [level for level, _text in notes(response)]


def listed(response) -> set[str]:
    """The application numbers on the queue page shown."""
    return {app.number for app in response.context["page"]}


def households(people, village, prefix: str, n: int):
    return [make_household(people.superuser, village, f"{prefix}{i}") for i in range(n)]


def submitted(people, campaign, homes) -> list[Application]:
    apps = [
        services.create_application(people.superuser, campaign, h, entry(campaign)) for h in homes
    ]
    services.submit(people.superuser, [a.pk for a in apps]).raise_if_refused()
    return [fresh(a) for a in apps]


def appraised(people, campaign, apps: list[Application]) -> list[Application]:
    by_village: dict[int, list[Application]] = {}
    for app in apps:
        by_village.setdefault(app.village_id, []).append(app)
    for village_id, group in by_village.items():
        services.record_appraisal(
            people.superuser,
            campaign,
            Area.objects.get(pk=village_id),
            held_on=today(),
            members=MEMBERS,
            votes=[services.Vote(a.pk, True, 7, 0, 0) for a in group],
        )
    return [fresh(a) for a in apps]


def reviewed(people, campaign, homes) -> list[Application]:
    apps = appraised(people, campaign, submitted(people, campaign, homes))
    services.first_review(people.superuser, [a.pk for a in apps]).raise_if_refused()
    return [fresh(a) for a in apps]


def queries(client, url: str) -> int:
    client.get(url)  # warm up: the first request after sign-in refreshes the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def queue_url(campaign) -> str:
    return reverse("applications:queue", args=[campaign.pk])


def detail_url(app: Application) -> str:
    return reverse("applications:detail", args=[app.pk])


def act_url(app: Application) -> str:
    return reverse("applications:act", args=[app.pk])


def bulk_url(campaign) -> str:
    return reverse("applications:bulk", args=[campaign.pk])


def entry_url(campaign) -> str:
    return reverse("applications:entry", args=[campaign.pk])


def entry_post(campaign, household: str, **fields) -> dict[str, object]:
    data: dict[str, object] = {
        "household": household,
        "category": campaign.categories.get(name="一般困难户").pk,
        "cause": HardshipCause.ILLNESS,
        "cause_detail": "",
        "degree": "general",
        "proposed": "",
        "amount_reason": "",
    }
    data.update(fields)
    return data


def bulk_post(step: str, ids=(), **fields) -> dict[str, object]:
    data: dict[str, object] = {
        "step": step,
        "ids": [str(i) for i in ids],
        "filters": "",
        "reason": "",
        "comment": "",
        "to_stage": "",
    }
    data.update(fields)
    return data


def timeline_lines(page: str) -> int:
    timeline = page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    return timeline.count("<li>")


def step_offered(page: str, step: str) -> bool:
    return f'name="step" value="{step}"' in page


# -- area scoping, per view ---------------------------------------------------------------


def test_it_lists_in_the_queue_only_the_clerks_own_village(
    client, people, campaign, household_a, household_b
):
    app_a = walk(people, campaign, household_a, State.SUBMITTED)
    app_b = walk(people, campaign, household_b, State.SUBMITTED)
    response = as_user(client, people.clerk_b).get(queue_url(campaign))
    assert response.status_code == 200
    assert listed(response) == {app_b.number}
    assert app_a.number not in response.text and household_a.number not in response.text
    assert [row["name"] for row in response.context["counts"]["rows"]] == ["西关村"]


def test_it_shows_an_application_only_inside_the_users_area(client, people, campaign, household_a):
    app = walk(people, campaign, household_a, State.SUBMITTED)
    url = detail_url(app)
    for outsider in (people.clerk_b, people.township_clerk_t2):
        assert as_user(client, outsider).get(url).status_code == 404
    for insider in (people.clerk_a, people.supervisor):
        response = as_user(client, insider).get(url)
        assert response.status_code == 200
        assert app.number in response.text


def test_it_lists_on_the_notice_only_the_applications_the_user_may_see(
    client, people, areas, campaign, household_a, household_b
):
    app_a, app_b = reviewed(people, campaign, [household_a, household_b])
    notice = services.publish_notice(
        people.supervisor, campaign, areas.t1, starts_on=today(), contact=CONTACT
    )
    url = reverse("applications:notice_detail", args=[notice.pk])

    page = as_user(client, people.clerk_a).get(url)
    assert page.status_code == 200
    assert [a.number for a in page.context["applications"]] == [app_a.number]
    assert app_b.number not in page.text and page.context["total"] == 500

    page = as_user(client, people.supervisor).get(url)
    assert [a.number for a in page.context["applications"]] == [app_a.number, app_b.number]
    assert page.context["total"] == 1000

    assert as_user(client, people.township_clerk_t2).get(url).status_code == 404


def test_it_serves_an_attachment_only_inside_the_area(
    client, people, campaign, household_a, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    app = walk(people, campaign, household_a, State.DRAFT)
    attachment = services.attach(people.clerk_a, app, SimpleUploadedFile("户口本.png", PNG))
    url = reverse("applications:attachment", args=[attachment.pk])
    for outsider in (people.clerk_b, people.township_clerk_t2):
        assert as_user(client, outsider).get(url).status_code == 404
    response = as_user(client, people.clerk_a).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    response.close()


def test_it_ignores_bulk_ids_outside_the_users_village(
    client, people, campaign, household_a, household_b
):
    app_a = walk(people, campaign, household_a, State.SUBMITTED)
    app_b = walk(people, campaign, household_b, State.SUBMITTED)
    client = as_user(client, people.clerk_b)
    for step in ("return", "reject"):
        response = client.post(
            bulk_url(campaign),
            bulk_post(step, [app_a.pk], to_stage=State.DRAFT, reason="材料不实"),
        )
        assert response.status_code == 302
        assert set(levels(response)) == {"error"}
    assert fresh(app_a).state == State.SUBMITTED
    assert not AuditEvent.objects.filter(
        target_id=str(app_a.pk), action__in=["application.return", "application.reject"]
    ).exists()
    # The same post on the clerk's own village's application is taken.
    client.post(
        bulk_url(campaign), bulk_post("return", [app_b.pk], to_stage=State.DRAFT, reason="补充")
    )
    assert (fresh(app_b).state, fresh(app_b).returned_to) == (State.RETURNED, State.DRAFT)


def test_it_does_not_widen_a_bulk_action_when_the_filter_is_outside_the_users_area(
    client, people, areas, campaign, household_a, household_b
):
    """Everything matching village A, posted by the clerk of village B: the
    filter is not one of theirs, so nothing matches; it must not be dropped
    and the step taken on every application the clerk sees."""
    app_a = walk(people, campaign, household_a, State.SUBMITTED)
    app_b = walk(people, campaign, household_b, State.SUBMITTED)
    response = as_user(client, people.clerk_b).post(
        bulk_url(campaign),
        bulk_post("reject", everything="1", filters=f"village={areas.a.pk}", reason="材料不实"),
    )
    assert response.status_code == 302
    assert fresh(app_a).state == State.SUBMITTED
    assert fresh(app_b).state == State.SUBMITTED  # not rejected by a filter it ignored
    assert not AuditEvent.objects.filter(action="application.reject").exists()


def test_it_answers_404_to_a_step_on_an_application_of_another_township(
    client, people, campaign, household_a
):
    app = walk(people, campaign, household_a, State.APPRAISED)
    response = as_user(client, people.township_clerk_t2).post(
        act_url(app), {"step": "first_review", "comment": "材料齐全"}
    )
    assert response.status_code == 404
    assert fresh(app).state == State.APPRAISED
    assert not AuditEvent.objects.filter(action="application.first_review").exists()


# -- the queue ----------------------------------------------------------------------------


@pytest.fixture
def review_work(people, areas, campaign, household_a, household_b):
    """Village A: one appraised, one submitted; village B: one returned to the
    appraisal stage (from reviewed)."""
    appraised_a = walk(people, campaign, household_a, State.APPRAISED)
    returned_b = walk(people, campaign, household_b, State.REVIEWED)
    services.return_applications(
        people.superuser, [returned_b.pk], State.APPRAISED, "入户核实不符"
    ).raise_if_refused()
    submitted_a = walk(
        people, campaign, make_household(people.superuser, areas.a, "赵六"), State.SUBMITTED
    )
    return appraised_a, fresh(returned_b), submitted_a


def test_it_lists_appraised_and_returned_to_appraised_as_the_township_clerks_work(
    client, people, campaign, review_work
):
    appraised_a, returned_b, _submitted_a = review_work
    assert (returned_b.state, returned_b.returned_to) == (State.RETURNED, State.APPRAISED)
    response = as_user(client, people.township_clerk).get(queue_url(campaign), {"mine": "1"})
    assert response.status_code == 200 and response.context["mine"] is True
    assert {appraised_a.number, returned_b.number} <= listed(response)


def test_it_leaves_submitted_applications_out_of_the_township_clerks_work(
    client, people, campaign, review_work
):
    appraised_a, returned_b, submitted_a = review_work
    response = as_user(client, people.township_clerk).get(queue_url(campaign), {"mine": "1"})
    assert submitted_a.number not in listed(response)
    assert listed(response) == {appraised_a.number, returned_b.number}
    assert response.context["waiting"] == 2


def test_it_lists_reviewed_and_in_notice_as_the_supervisors_work(
    client, people, areas, campaign, household_a, household_b
):
    in_notice = walk(people, campaign, household_a, State.IN_NOTICE)
    ready = walk(people, campaign, household_b, State.REVIEWED)
    waiting_appraisal = walk(
        people, campaign, make_household(people.superuser, areas.a, "赵六"), State.SUBMITTED
    )
    waiting_review = walk(
        people, campaign, make_household(people.superuser, areas.b, "钱七"), State.APPRAISED
    )
    client = as_user(client, people.supervisor)
    mine = client.get(queue_url(campaign), {"mine": "1"})
    assert listed(mine) == {in_notice.number, ready.number}
    assert mine.context["waiting"] == 2
    everything = client.get(queue_url(campaign))
    assert listed(everything) == {
        in_notice.number,
        ready.number,
        waiting_appraisal.number,
        waiting_review.number,
    }


def test_it_narrows_the_queue_by_village_state_and_category(
    client, people, areas, campaign, household_a, household_b
):
    severe = Category.objects.create(
        campaign=campaign,
        name="重病患者",
        cash=800,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
    )
    a_submitted = walk(people, campaign, household_a, State.SUBMITTED)
    b_draft = walk(people, campaign, household_b, State.DRAFT)
    a_severe = walk(
        people,
        campaign,
        make_household(people.superuser, areas.a, "赵六"),
        State.DRAFT,
        category=severe,
    )
    client = as_user(client, people.township_clerk)
    url = queue_url(campaign)
    assert listed(client.get(url)) == {a_submitted.number, b_draft.number, a_severe.number}
    assert listed(client.get(url, {"village": areas.b.pk})) == {b_draft.number}
    assert listed(client.get(url, {"village": areas.a.pk})) == {
        a_submitted.number,
        a_severe.number,
    }
    assert listed(client.get(url, {"state": State.SUBMITTED})) == {a_submitted.number}
    assert listed(client.get(url, {"state": State.DRAFT})) == {b_draft.number, a_severe.number}
    assert listed(client.get(url, {"category": severe.pk})) == {a_severe.number}
    both = client.get(url, {"village": areas.a.pk, "state": State.DRAFT})
    assert listed(both) == {a_severe.number}


def test_it_counts_applications_per_village_and_state(
    client, people, areas, campaign, household_a, household_b
):
    walk(people, campaign, household_a, State.SUBMITTED)
    walk(people, campaign, make_household(people.superuser, areas.a, "赵六"), State.SUBMITTED)
    walk(people, campaign, make_household(people.superuser, areas.a, "孙八"), State.DRAFT)
    walk(people, campaign, household_b, State.APPRAISED)
    walk(people, campaign, make_household(people.superuser, areas.b, "钱七"), State.SUBMITTED)

    response = as_user(client, people.township_clerk).get(queue_url(campaign))
    counts = response.context["counts"]
    assert [s for s, _label in counts["states"]] == [
        State.DRAFT,
        State.SUBMITTED,
        State.APPRAISED,
    ]
    assert counts["rows"] == [
        {"pk": areas.a.pk, "name": "东关村", "cells": [1, 2, 0], "approved": 0},
        {"pk": areas.b.pk, "name": "西关村", "cells": [0, 1, 1], "approved": 0},
    ]
    assert counts["totals"] == [1, 3, 1]
    # The same figures on the page.
    table = response.text.split('<table class="list counts">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", body)
    ]
    # Each village row ends with its payment sheet's link (none: nothing approved).
    assert cells[:10] == ["东关村", "1", "2", "", "", "西关村", "", "1", "1", ""]
    assert cells[11:] == ["1", "3", "1", ""]  # the totals, after their label


# -- query counts -------------------------------------------------------------------------


def test_it_renders_the_queue_in_the_same_number_of_queries_for_5_or_40(
    client, people, areas, campaign
):
    first = submitted(people, campaign, households(people, areas.a, "甲", 3))
    first += submitted(people, campaign, households(people, areas.b, "乙", 2))
    appraised(people, campaign, first[:2])
    client = as_user(client, people.township_clerk)
    urls = [queue_url(campaign), f"{queue_url(campaign)}?mine=1"]
    few = [queries(client, url) for url in urls]
    assert len(client.get(urls[0]).context["page"]) == 5

    more = submitted(people, campaign, households(people, areas.a, "丙", 20))
    more += submitted(people, campaign, households(people, areas.b, "丁", 15))
    appraised(people, campaign, more[:10])
    assert len(client.get(urls[0]).context["page"]) == 25  # a full page of the 40
    assert [queries(client, url) for url in urls] == few


def test_it_renders_a_notice_in_the_same_number_of_queries_for_5_or_40(
    client, people, areas, campaign
):
    reviewed(people, campaign, households(people, areas.a, "甲", 3))
    reviewed(people, campaign, households(people, areas.b, "乙", 2))
    small = services.publish_notice(
        people.supervisor,
        campaign,
        areas.t1,
        starts_on=past_notice_start(campaign),
        contact=CONTACT,
    )
    reviewed(people, campaign, households(people, areas.a, "丙", 20))
    reviewed(people, campaign, households(people, areas.b, "丁", 20))
    large = services.publish_notice(
        people.supervisor, campaign, areas.t1, starts_on=today(), contact=CONTACT
    )
    assert (small.applications.count(), large.applications.count()) == (5, 40)
    for notice in (small, large):  # an objection on each: the badge is counted in the query
        app = notice.applications.first()
        services.record_objection(
            people.supervisor,
            app,
            received_on=notice.starts_on,
            channel="phone",
            content="反映收入较高",
        )
    client = as_user(client, people.supervisor)
    few = queries(client, reverse("applications:notice_detail", args=[small.pk]))
    many = queries(client, reverse("applications:notice_detail", args=[large.pk]))
    assert many == few


# -- entry --------------------------------------------------------------------------------


def test_it_enters_and_submits_an_application_by_household_number(
    client, people, campaign, household_a
):
    client = as_user(client, people.clerk_a)
    response = client.post(entry_url(campaign), entry_post(campaign, household_a.number))
    assert response.status_code == 302 and response["Location"] == entry_url(campaign)
    app = Application.objects.get(campaign=campaign, household=household_a)
    assert (app.state, app.amount, app.created_by) == (State.SUBMITTED, 500, people.clerk_a)
    [(level, text)] = notes(response)
    assert level == "success" and app.number in text and "500" in text
    # The next screen lists it among the clerk's recent entries.
    assert app.number in client.get(entry_url(campaign)).text


def test_it_finds_the_household_by_a_members_id_number(client, people, campaign, household_a):
    child = household_a.members.get(name="张小三")
    response = as_user(client, people.clerk_a).post(
        entry_url(campaign), entry_post(campaign, child.id_number)
    )
    assert response.status_code == 302
    assert Application.objects.get().household == household_a


def test_it_asks_for_the_number_when_a_name_is_shared_by_two_households(
    client, people, areas, campaign
):
    first = make_household(people.superuser, areas.a, "刘洋")
    second = make_household(people.superuser, areas.a, "刘洋", address="西大街2号")
    response = as_user(client, people.clerk_a).post(
        entry_url(campaign), entry_post(campaign, "刘洋")
    )
    assert response.status_code == 400
    [error] = response.context["form"].errors["household"]
    assert first.number in error and second.number in error
    assert first.number in response.text and second.number in response.text
    assert not Application.objects.exists()


@pytest.mark.parametrize("user", ["clerk_a", "superuser"])
def test_it_refuses_a_household_outside_the_campaign_area(
    client, people, campaign, household_c, user
):
    response = as_user(client, getattr(people, user)).post(
        entry_url(campaign), entry_post(campaign, household_c.number)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["household"]
    assert not Application.objects.exists()


def test_it_saves_a_draft_when_asked(client, people, campaign, household_a):
    response = as_user(client, people.clerk_a).post(
        entry_url(campaign), entry_post(campaign, household_a.number, draft="1")
    )
    assert response.status_code == 302
    app = Application.objects.get()
    assert app.state == State.DRAFT
    [(level, text)] = notes(response)
    assert level == "success" and app.number in text


def test_it_offers_the_evidence_a_categorys_conditions_read(client, people, campaign, household_a):
    dibao = Category.objects.create(
        campaign=campaign,
        name="低保困难户",
        cash=800,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
        eligibility=[[["dibao", "=", True, False]]],
    )
    client = as_user(client, people.clerk_a)
    page = client.get(entry_url(campaign))
    assert page.status_code == 200
    assert "fact_dibao" in page.context["form"].fields
    assert 'name="fact_dibao"' in page.text and "低保户" in page.text
    assert f'data-for="{dibao.pk}"' in page.text

    response = client.post(
        entry_url(campaign),
        entry_post(campaign, household_a.number, category=dibao.pk, fact_dibao="true"),
    )
    assert response.status_code == 302
    app = Application.objects.get()
    assert (app.category, app.facts, app.amount, app.state) == (
        dibao,
        {"dibao": True},
        800,
        State.SUBMITTED,
    )


def test_it_answers_a_refused_submission_with_the_reason_and_submits_nothing(
    client, people, campaign, household_a
):
    dibao = Category.objects.create(
        campaign=campaign,
        name="低保困难户",
        cash=800,
        planned_count=5,
        fund_source=campaign.fund_sources.get(),
        eligibility=[[["dibao", "=", True, False]]],
    )
    response = as_user(client, people.clerk_a).post(
        entry_url(campaign),
        entry_post(campaign, household_a.number, category=dibao.pk, fact_dibao="false"),
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not Application.objects.exclude(state=State.DRAFT).exists()


# -- the application page -----------------------------------------------------------------


def test_it_shows_the_calculation_and_one_timeline_line_per_event(
    client, people, campaign, household_a
):
    app = walk(people, campaign, household_a, State.APPRAISED)
    assert app.explanation
    page = as_user(client, people.clerk_a).get(detail_url(app)).text
    assert escape(app.explanation) in page
    events = AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Application), target_id=str(app.pk)
    )
    assert events.count() == 3  # create, submit, appraise
    assert timeline_lines(page) == 3


def test_it_offers_approval_only_to_whom_may_approve(client, people, campaign, household_a):
    app = walk(people, campaign, household_a, State.IN_NOTICE)
    assert app.notice.ends_on < today()
    supervisor = as_user(client, people.supervisor).get(detail_url(app)).text
    assert step_offered(supervisor, "approve") and step_offered(supervisor, "return")
    clerk = as_user(client, people.clerk_a).get(detail_url(app)).text
    assert not step_offered(clerk, "approve") and not step_offered(clerk, "return")


def test_it_returns_an_application_to_the_clerk_with_the_reason(
    client, people, campaign, household_a
):
    app = walk(people, campaign, household_a, State.APPRAISED)
    response = as_user(client, people.township_clerk).post(
        act_url(app), {"step": "return", "to_stage": State.DRAFT, "reason": "缺少收入证明"}
    )
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    app = fresh(app)
    assert (app.state, app.returned_to) == (State.RETURNED, State.DRAFT)
    event = AuditEvent.objects.get(action="application.return", target_id=str(app.pk))
    assert (event.actor, event.reason) == (people.township_clerk, "缺少收入证明")
    [(level, text)] = notes(response)
    assert level == "success" and app.number in text
    # The clerk may now change it.
    assert (
        as_user(client, people.clerk_a).get(reverse("applications:edit", args=[app.pk])).status_code
        == 200
    )


@pytest.mark.parametrize("user", ["supervisor", "clerk_a"])
def test_it_refuses_a_step_the_application_is_not_at_with_a_message(
    client, people, campaign, household_a, user
):
    app = walk(people, campaign, household_a, State.DRAFT)
    response = as_user(client, getattr(people, user)).post(
        act_url(app), {"step": "approve", "comment": ""}
    )
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    assert levels(response) == ["error"]
    assert fresh(app).state == State.DRAFT
    assert not AuditEvent.objects.filter(action="application.approve").exists()


def test_it_refuses_to_return_without_a_reason(client, people, campaign, household_a):
    app = walk(people, campaign, household_a, State.APPRAISED)
    response = as_user(client, people.township_clerk).post(
        act_url(app), {"step": "return", "to_stage": State.DRAFT, "reason": "  "}
    )
    assert response.status_code == 302
    assert levels(response) == ["error"]
    assert fresh(app).state == State.APPRAISED
    assert not AuditEvent.objects.filter(action="application.return").exists()


# -- changing an application --------------------------------------------------------------


def test_it_saves_a_change_to_a_draft(client, people, campaign, household_a):
    app = walk(people, campaign, household_a, State.DRAFT)
    url = reverse("applications:edit", args=[app.pk])
    client = as_user(client, people.clerk_a)
    assert client.get(url).status_code == 200
    data = entry_post(campaign, "", cause=HardshipCause.DISABILITY, cause_detail="户主腿部残疾")
    del data["household"]
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    app = fresh(app)
    assert (app.cause, app.cause_detail, app.state) == (
        HardshipCause.DISABILITY,
        "户主腿部残疾",
        State.DRAFT,
    )
    assert AuditEvent.objects.filter(action="application.update", target_id=str(app.pk)).exists()


def test_it_will_not_change_a_submitted_application(client, people, campaign, household_a):
    app = walk(people, campaign, household_a, State.SUBMITTED)
    url = reverse("applications:edit", args=[app.pk])
    client = as_user(client, people.clerk_a)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    [(level, text)] = notes(response)
    assert level == "error" and app.number in text
    data = entry_post(campaign, "", cause=HardshipCause.DISABILITY)
    del data["household"]
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    after = fresh(app)
    assert (after.cause, after.state) == (HardshipCause.ILLNESS, State.SUBMITTED)
    assert not AuditEvent.objects.filter(action="application.update").exists()


# -- objections ---------------------------------------------------------------------------


@pytest.fixture
def in_notice(people, campaign, household_a) -> Application:
    return walk(people, campaign, household_a, State.IN_NOTICE)


def record_objection(client, app: Application):
    return client.post(
        reverse("applications:objection_create", args=[app.pk]),
        {
            "received_on": app.notice.ends_on.isoformat(),
            "channel": "phone",
            "objector": "东关村村民",
            "content": "反映该户子女在外务工，收入较高",
        },
    )


def test_it_records_and_dismisses_an_objection(client, people, in_notice):
    client = as_user(client, people.supervisor)
    response = record_objection(client, in_notice)
    assert response.status_code == 302 and response["Location"] == detail_url(in_notice)
    assert levels(response) == ["success"]
    objection = Objection.objects.get()
    assert (objection.application, objection.status, objection.recorded_by) == (
        in_notice,
        ObjectionStatus.OPEN,
        people.supervisor,
    )
    assert objection.content in client.get(detail_url(in_notice)).text

    response = client.post(
        reverse("applications:objection_resolve", args=[objection.pk]),
        {"outcome": "dismissed", "finding": "经入户核实，异议不成立"},
    )
    assert response.status_code == 302 and response["Location"] == detail_url(in_notice)
    objection.refresh_from_db()
    assert (objection.status, objection.finding, objection.resolved_by) == (
        ObjectionStatus.DISMISSED,
        "经入户核实，异议不成立",
        people.supervisor,
    )
    assert fresh(in_notice).state == State.IN_NOTICE


def test_it_sends_the_application_back_when_an_objection_is_upheld(client, people, in_notice):
    record_objection(as_user(client, people.township_clerk), in_notice)
    objection = Objection.objects.get()
    client = as_user(client, people.supervisor)
    client.post(
        reverse("applications:objection_resolve", args=[objection.pk]),
        {"outcome": "upheld", "finding": "核实该户收入超标"},
    )
    app = fresh(in_notice)
    assert (app.state, app.returned_to, app.notice) == (State.RETURNED, State.APPRAISED, None)
    assert Objection.objects.get().status == ObjectionStatus.UPHELD


def test_it_refuses_an_objection_without_content_with_a_message(client, people, in_notice):
    response = as_user(client, people.supervisor).post(
        reverse("applications:objection_create", args=[in_notice.pk]),
        {"received_on": in_notice.notice.ends_on.isoformat(), "channel": "phone", "content": ""},
    )
    assert response.status_code == 302 and levels(response) == ["error"]
    assert not Objection.objects.exists()


# -- attachments --------------------------------------------------------------------------


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def test_it_keeps_an_uploaded_photo_with_the_application(
    client, people, campaign, household_a, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    app = walk(people, campaign, household_a, State.DRAFT)
    response = as_user(client, people.clerk_a).post(
        reverse("applications:attach", args=[app.pk]),
        {"file": SimpleUploadedFile("户口本.png", PNG), "description": "户口本首页"},
    )
    assert response.status_code == 302 and response["Location"] == detail_url(app)
    assert levels(response) == ["success"]
    attachment = Attachment.objects.get()
    assert (attachment.application, attachment.name, attachment.size) == (app, "户口本.png", 108)
    assert (attachment.content_type, attachment.description) == ("image/png", "户口本首页")
    assert (tmp_path / attachment.file.name).read_bytes() == PNG
    page = client.get(detail_url(app)).text
    assert reverse("applications:attachment", args=[attachment.pk]) in page


def test_it_refuses_a_text_file_and_stores_nothing(
    client, people, campaign, household_a, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    app = walk(people, campaign, household_a, State.DRAFT)
    response = as_user(client, people.clerk_a).post(
        reverse("applications:attach", args=[app.pk]),
        {
            "file": SimpleUploadedFile(
                "说明.txt", "家庭情况说明".encode(), content_type="text/plain"
            )
        },
    )
    assert response.status_code == 302
    [(level, text)] = notes(response)
    assert level == "error" and "说明.txt" in text
    assert not Attachment.objects.exists()
    assert _files(tmp_path) == []


# -- the village appraisal ----------------------------------------------------------------


@pytest.fixture
def waiting(people, areas, campaign, household_a, household_b):
    """Village A: two submitted and a draft; village B: one submitted."""
    a1 = walk(people, campaign, household_a, State.SUBMITTED)
    a2 = walk(people, campaign, make_household(people.superuser, areas.a, "赵六"), State.SUBMITTED)
    a_draft = walk(people, campaign, make_household(people.superuser, areas.a, "孙八"), State.DRAFT)
    b1 = walk(people, campaign, household_b, State.SUBMITTED)
    return a1, a2, a_draft, b1


def appraisal_url(campaign) -> str:
    return reverse("applications:appraisal", args=[campaign.pk])


def test_it_lists_the_villages_submitted_applications_for_the_appraisal(
    client, people, areas, campaign, waiting
):
    a1, a2, a_draft, b1 = waiting
    page = as_user(client, people.clerk_a).get(appraisal_url(campaign))
    assert page.status_code == 200
    assert page.context["village"] == areas.a
    assert [a.number for a in page.context["waiting"]] == [a1.number, a2.number]
    assert a_draft.number not in page.text and b1.number not in page.text


def test_it_records_the_appraisal_and_moves_the_passed_ones_on(
    client, people, areas, campaign, waiting
):
    a1, a2, _a_draft, b1 = waiting
    response = as_user(client, people.clerk_a).post(
        appraisal_url(campaign),
        {
            "village": areas.a.pk,
            "held_on": today().isoformat(),
            "members": MEMBERS,
            "minutes": "",
            f"outcome_{a1.pk}": "passed",
            f"for_{a1.pk}": "7",
            f"against_{a1.pk}": "0",
            f"abstain_{a1.pk}": "1",
            f"outcome_{a2.pk}": "passed",
            f"outcome_{b1.pk}": "passed",  # not of the clerk's village: ignored
        },
    )
    assert response.status_code == 302 and response["Location"] == queue_url(campaign)
    assert (fresh(a1).state, fresh(a2).state, fresh(b1).state) == (
        State.APPRAISED,
        State.APPRAISED,
        State.SUBMITTED,
    )
    meeting = AppraisalMeeting.objects.get()
    assert (meeting.village, meeting.members, meeting.recorded_by) == (
        areas.a,
        MEMBERS,
        people.clerk_a,
    )
    vote = meeting.votes.get(application=a1)
    assert (vote.passed, vote.votes_for, vote.votes_against, vote.abstentions) == (True, 7, 0, 1)


def test_it_needs_a_remark_for_an_application_not_passed(client, people, areas, campaign, waiting):
    a1, a2, _a_draft, _b1 = waiting
    response = as_user(client, people.clerk_a).post(
        appraisal_url(campaign),
        {
            "village": areas.a.pk,
            "held_on": today().isoformat(),
            "members": MEMBERS,
            f"outcome_{a1.pk}": "passed",
            f"outcome_{a2.pk}": "failed",
            f"remark_{a2.pk}": "",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert (fresh(a1).state, fresh(a2).state) == (State.SUBMITTED, State.SUBMITTED)
    assert not AppraisalMeeting.objects.exists()


def test_it_survives_a_vote_count_that_is_not_a_plain_number(
    client, people, areas, campaign, waiting
):
    a1, *_rest = waiting
    response = as_user(client, people.clerk_a).post(
        appraisal_url(campaign),
        {
            "village": areas.a.pk,
            "held_on": today().isoformat(),
            "members": MEMBERS,
            f"outcome_{a1.pk}": "passed",
            f"for_{a1.pk}": "²",  # str.isdigit() says yes, int() says no
        },
    )
    assert response.status_code in (302, 400)


def test_it_survives_a_malformed_village_on_the_appraisal_page(client, people, campaign):
    response = as_user(client, people.township_clerk).get(appraisal_url(campaign), {"village": "x"})
    assert response.status_code == 200


# -- the public notice --------------------------------------------------------------------


def test_it_publishes_a_notice_and_puts_the_applications_in_it(
    client, people, areas, campaign, household_a, household_b
):
    app_a, app_b = reviewed(people, campaign, [household_a, household_b])
    client = as_user(client, people.supervisor)
    url = reverse("applications:notice_create", args=[campaign.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert {(w["village__name"], w["n"]) for w in page.context["waiting"]} == {
        ("东关村", 1),
        ("西关村", 1),
    }
    response = client.post(
        url,
        {
            "area": areas.t1.pk,
            "starts_on": today().isoformat(),
            "contact": CONTACT,
            "place": "便民服务大厅",
        },
    )
    notice = Notice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("applications:notice_detail", args=[notice.pk])
    assert (notice.area, notice.starts_on, notice.contact) == (areas.t1, today(), CONTACT)
    for app in (app_a, app_b):
        app = fresh(app)
        assert (app.state, app.notice) == (State.IN_NOTICE, notice)
    page = client.get(response["Location"])
    assert app_a.number in page.text and app_b.number in page.text


# -- bulk actions -------------------------------------------------------------------------


def test_it_approves_the_ticked_applications(
    client, people, areas, campaign, household_a, household_b
):
    app_a = walk(people, campaign, household_a, State.IN_NOTICE)
    app_b = walk(people, campaign, household_b, State.IN_NOTICE)
    left = walk(
        people, campaign, make_household(people.superuser, areas.a, "赵六"), State.IN_NOTICE
    )
    response = as_user(client, people.supervisor).post(
        bulk_url(campaign), bulk_post("approve", [app_a.pk, app_b.pk], comment="批量审批")
    )
    assert response.status_code == 302 and response["Location"].startswith(queue_url(campaign))
    assert (fresh(app_a).state, fresh(app_b).state, fresh(left).state) == (
        State.APPROVED,
        State.APPROVED,
        State.IN_NOTICE,
    )
    [(level, text)] = notes(response)
    assert level == "success" and "2" in text
    approved = AuditEvent.objects.filter(action="application.approve")
    assert {(e.actor, e.data["comment"]) for e in approved} == {(people.supervisor, "批量审批")}
    assert approved.count() == 2


def test_it_approves_everything_matching_the_filters(
    client, people, areas, campaign, household_a, household_b
):
    a_ready = walk(people, campaign, household_a, State.IN_NOTICE)
    b_ready = walk(people, campaign, household_b, State.IN_NOTICE)
    a_early = walk(
        people, campaign, make_household(people.superuser, areas.a, "赵六"), State.SUBMITTED
    )
    filters = f"village={areas.a.pk}"
    response = as_user(client, people.supervisor).post(
        bulk_url(campaign), bulk_post("approve", everything="1", filters=filters)
    )
    assert response.status_code == 302
    assert response["Location"] == f"{queue_url(campaign)}?{filters}"
    assert (fresh(a_ready).state, fresh(b_ready).state, fresh(a_early).state) == (
        State.APPROVED,
        State.IN_NOTICE,
        State.SUBMITTED,
    )
    messages = notes(response)
    assert [level for level, _text in messages] == ["success", "warning"]
    assert a_early.number in messages[1][1]


def test_it_refuses_a_bulk_return_without_a_reason(
    client, people, campaign, household_a, household_b
):
    apps = [walk(people, campaign, h, State.IN_NOTICE) for h in (household_a, household_b)]
    response = as_user(client, people.supervisor).post(
        bulk_url(campaign), bulk_post("return", [a.pk for a in apps], to_stage=State.APPRAISED)
    )
    assert response.status_code == 302
    assert levels(response) == ["error"]
    assert [fresh(a).state for a in apps] == [State.IN_NOTICE, State.IN_NOTICE]
    assert not AuditEvent.objects.filter(action="application.return").exists()


# -- the household page: applications and relations (回避) -------------------------------


def test_it_shows_the_households_applications_and_where_it_may_apply(
    client, people, areas, campaign, household_a
):
    app = walk(people, campaign, household_a, State.SUBMITTED)
    other = open_campaign(people, areas.t1, "2026年送温暖")
    page = as_user(client, people.clerk_a).get(
        reverse("recipients:household_detail", args=[household_a.pk])
    )
    assert page.status_code == 200
    assert [a.number for a in page.context["applications"]] == [app.number]
    assert detail_url(app) in page.text
    assert page.context["open_campaigns"] == [other]
    assert f"{entry_url(other)}?household={household_a.number}" in page.text
    assert f"{entry_url(campaign)}?household=" not in page.text


def test_it_records_a_supervisors_own_relation(client, people, household_a):
    response = as_user(client, people.supervisor).post(
        reverse("applications:recusal_create", args=[household_a.pk]), {"relation": "近亲属"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("recipients:household_detail", args=[household_a.pk])
    recusal = Recusal.objects.get()
    assert (recusal.user, recusal.household, recusal.relation, recusal.recorded_by) == (
        people.supervisor,
        household_a,
        "近亲属",
        people.supervisor,
    )


def test_it_never_lets_a_village_clerk_declare_another_users_relation(client, people, household_a):
    client = as_user(client, people.clerk_a)
    page = client.get(reverse("recipients:household_detail", args=[household_a.pk]))
    assert "user" not in page.context["recusal_form"].fields
    response = client.post(
        reverse("applications:recusal_create", args=[household_a.pk]),
        {"relation": "表亲", "user": people.supervisor.pk},
    )
    assert response.status_code == 302
    assert not Recusal.objects.filter(user=people.supervisor).exists()
    assert list(Recusal.objects.values_list("user", "recorded_by")) == [
        (people.clerk_a.pk, people.clerk_a.pk)
    ]


# -- campaign kinds: the yearly limit -----------------------------------------------------


def kind_limit(client, kind, value):
    return client.post(reverse("campaigns:kind_limit", args=[kind.pk]), {"per_year": value})


def test_it_sets_a_kinds_yearly_limit(client, people):
    kind = CampaignKind.objects.get(name="春节慰问")
    client = as_user(client, people.admin)
    assert client.get(reverse("campaigns:kind_list")).status_code == 200
    response = kind_limit(client, kind, "1")
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:kind_list")
    assert levels(response) == ["success"]
    kind.refresh_from_db()
    assert kind.per_year == 1
    kind_limit(client, kind, "")
    kind.refresh_from_db()
    assert kind.per_year is None


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0"])
def test_it_refuses_a_limit_that_is_not_a_positive_whole_number(client, people, value):
    kind = CampaignKind.objects.get(name="春节慰问")
    kind.per_year = 2
    kind.save()
    response = kind_limit(as_user(client, people.admin), kind, value)
    assert response.status_code == 302
    assert levels(response) == ["error"]
    kind.refresh_from_db()
    assert kind.per_year == 2


def test_it_refuses_a_superscript_digit_as_a_limit_with_a_message(client, people):
    kind = CampaignKind.objects.get(name="春节慰问")
    response = kind_limit(as_user(client, people.admin), kind, "²")
    assert response.status_code == 302
    assert levels(response) == ["error"]
    kind.refresh_from_db()
    assert kind.per_year is None


def test_it_forbids_a_village_clerk_to_set_a_limit(client, people):
    kind = CampaignKind.objects.get(name="春节慰问")
    response = kind_limit(as_user(client, people.clerk_a), kind, "1")
    assert response.status_code == 403
    kind.refresh_from_db()
    assert kind.per_year is None
