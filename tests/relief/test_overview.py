"""The overview after sign-in (relief.overview, the home page): what waits for
each persona, what is due, what changed since the previous visit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications import services as workflow_services
from applications.choices import State
from applications.models import Application
from campaigns.choices import Deliverable
from campaigns.models import Deadline
from disbursements import services as payment_services
from disbursements.choices import PaymentState
from disbursements.models import Payment
from relief.models import AuditEvent, Job, JobStatus
from relief.overview import overview, since_for
from tests.applications import conftest as workflow_fixtures
from tests.applications.conftest import entry, open_campaign, walk
from tests.conftest import make_household, valid_id
from tests.disbursements import conftest as payment_fixtures
from tests.disbursements.conftest import receipt
from tests.test_authorization import PERSONAS
from tests.test_authorization import objects as authorization_objects

HOUR_AGO = datetime.timedelta(hours=1)

# Fixtures of the workflow, the payments and the authorization walk.
campaign = workflow_fixtures.campaign
media = payment_fixtures.media
objects = authorization_objects


def waiting(result, kind: str) -> list:
    return [item for item in result.waiting if item.kind == kind]


def counted(result, kind: str) -> int:
    return sum(item.count for item in waiting(result, kind))


def at(people, campaign, village, stage: str, name: str) -> Application:
    return walk(people, campaign, make_household(people.superuser, village, name), stage)


@pytest.fixture
def workload(people, areas, campaign):
    """Village A: two submitted, one appraised, one draft; village B: one
    submitted and one in notice; township T2 (village C): one submitted."""
    other = open_campaign(people, areas.t2, "东岭乡送温暖")
    apps = {
        "a1": at(people, campaign, areas.a, State.SUBMITTED, "张一"),
        "a2": at(people, campaign, areas.a, State.SUBMITTED, "张二"),
        "a3": at(people, campaign, areas.a, State.APPRAISED, "张三"),
        "a4": at(people, campaign, areas.a, State.DRAFT, "张四"),
        "b1": at(people, campaign, areas.b, State.SUBMITTED, "李一"),
        "b2": at(people, campaign, areas.b, State.IN_NOTICE, "李二"),
        "c1": at(people, other, areas.c, State.SUBMITTED, "王一"),
    }
    return apps


def records(campaign, **filters) -> int:
    return Application.objects.filter(campaign=campaign, **filters).count()


# -- waiting for me -------------------------------------------------------------------------


def test_it_counts_the_applications_waiting_at_each_personas_step(
    people,
    areas,
    campaign,
    workload,
):
    since = timezone.now() - HOUR_AGO
    a = overview(people.clerk_a, since)
    b = overview(people.clerk_b, since)
    office = overview(people.township_clerk, since)
    supervisor = overview(people.supervisor, since)

    assert (
        counted(a, "applications") == records(campaign, village=areas.a, state=State.SUBMITTED) == 2
    )
    assert counted(a, "drafts") == records(campaign, village=areas.a, state=State.DRAFT) == 1
    assert (
        counted(b, "applications") == records(campaign, village=areas.b, state=State.SUBMITTED) == 1
    )
    assert not waiting(b, "drafts")
    # The office's first review; the appraisal is the villages' work.
    assert counted(office, "applications") == records(campaign, state=State.APPRAISED) == 1
    # The leadership approves what is in notice.
    reviewing = (State.FIRST_REVIEWED, State.REVIEWED, State.IN_NOTICE)
    assert counted(supervisor, "applications") == records(campaign, state__in=reviewing) == 1
    # Each line leads to the campaign's queue filtered to the user's work.
    queue = reverse("applications:queue", args=[campaign.pk])
    assert waiting(a, "applications")[0].url == f"{queue}?mine=1"
    assert waiting(a, "applications")[0].campaign == campaign.name
    # Township T2's campaign is nobody's work in T1.
    assert all(item.campaign == campaign.name for item in a.waiting + office.waiting)


def test_its_waiting_count_is_the_queues(client, people, campaign, workload):
    client.force_login(people.clerk_a)
    page = client.get(reverse("applications:queue", args=[campaign.pk]))
    shown = overview(people.clerk_a, timezone.now() - HOUR_AGO)
    assert page.context["waiting"] == counted(shown, "applications")


def test_it_lists_open_objections_to_those_who_record_and_resolve_them(
    people,
    areas,
    campaign,
    workload,
):
    in_notice = workload["b2"]
    workflow_services.record_objection(
        people.supervisor,
        in_notice,
        received_on=in_notice.notice.starts_on,
        channel="phone",
        content="收入不实",
    )
    since = timezone.now() - HOUR_AGO
    for persona in ("supervisor", "township_clerk"):
        found = waiting(overview(getattr(people, persona), since), "objection")
        assert [item.url for item in found] == [
            reverse("applications:detail", args=[in_notice.pk])
        ], persona
    for persona in ("clerk_a", "clerk_b", "finance", "township_clerk_t2"):
        assert not waiting(overview(getattr(people, persona), since), "objection"), persona


@pytest.fixture
def paying(people, areas, campaign):
    """Approved and planned: two households of village A (one planned for
    yesterday), one of village B."""
    for village, name in ((areas.a, "张三"), (areas.a, "赵六"), (areas.b, "李四")):
        at(people, campaign, village, State.APPROVED, name)
    payment_services.plan_payments(people.township_clerk, campaign)
    found = list(Payment.objects.filter(campaign=campaign).order_by("number"))
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Payment.objects.filter(pk=found[0].pk).update(planned_on=yesterday)
    return found


def test_it_gives_each_visiting_clerk_their_own_villages_visits(people, areas, paying):
    since = timezone.now() - HOUR_AGO
    a = waiting(overview(people.clerk_a, since), "visits")
    b = waiting(overview(people.clerk_b, since), "visits")
    assert [(i.place, i.count, i.overdue) for i in a] == [(areas.a.name, 2, 1)]
    assert [(i.place, i.count, i.overdue) for i in b] == [(areas.b.name, 1, 0)]
    assert a[0].url == reverse("disbursements:visit_list", args=[paying[0].campaign_id, areas.a.pk])


def test_it_shows_finance_the_receipts_missing_and_the_sheets_to_book(
    people,
    areas,
    campaign,
    paying,
):
    zhang, _zhao, li = paying
    payment_services.hand_over(people.clerk_a, zhang)
    payment_services.sign(people.clerk_b, li, receipt())
    since = timezone.now() - HOUR_AGO
    finance = overview(people.finance, since)

    unsigned = waiting(finance, "unsigned")
    assert [(i.place, i.count) for i in unsigned] == [(areas.a.name, 1)]
    assert unsigned[0].count == Payment.objects.filter(state=PaymentState.HANDED_OVER).count()
    assert unsigned[0].amount == zhang.amount
    to_book = waiting(finance, "to_book")
    assert [(i.count, i.amount) for i in to_book] == [(1, Decimal("500.00"))]
    assert to_book[0].url == reverse("disbursements:finance", args=[campaign.pk])
    # The township office files the scans too; the village clerks do not.
    assert counted(overview(people.township_clerk, since), "unsigned") == 1
    assert not waiting(overview(people.clerk_a, since), "unsigned")
    assert not waiting(overview(people.township_clerk, since), "to_book")


def test_it_shows_the_supervisor_the_proxies_to_decide(people, paying):
    zhang = paying[0]
    payment_services.request_proxy(
        people.clerk_a, zhang, payment_services.Proxy("张小三", valid_id(), "儿子", "户主住院")
    )
    since = timezone.now() - HOUR_AGO
    found = waiting(overview(people.supervisor, since), "proxy")
    assert [i.url for i in found] == [reverse("disbursements:payment", args=[zhang.pk])]
    assert not waiting(overview(people.township_clerk, since), "proxy")


def test_it_lists_the_users_own_jobs_running_or_failed_lately(people):
    mine = Job.objects.create(kind="t", title="台账", owner=people.clerk_a, status="running")
    failed = Job.objects.create(
        kind="t",
        title="名单",
        owner=people.clerk_a,
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
    )
    Job.objects.create(kind="t", title="旧", owner=people.clerk_a, status=JobStatus.DONE)
    Job.objects.create(kind="t", title="别人的", owner=people.clerk_b, status="running")
    found = overview(people.clerk_a, timezone.now() - HOUR_AGO)
    urls = {i.url for i in found.waiting if i.kind.startswith("job")}
    assert urls == {reverse("job_detail", args=[mine.pk]), reverse("job_detail", args=[failed.pk])}


# -- due ------------------------------------------------------------------------------------


def test_it_lists_deadlines_soon_and_those_passed_but_not_met(people, areas, campaign, workload):
    today = timezone.localdate()
    passed = Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.APPLICATIONS,
        level="village",
        due_on=today - datetime.timedelta(days=2),
    )
    soon = Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.VILLAGE_LIST,
        level="village",
        due_on=today + datetime.timedelta(days=5),
    )
    Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.SUMMARY,
        level="township",
        due_on=today + datetime.timedelta(days=40),
    )
    since = timezone.now() - HOUR_AGO
    a = overview(people.clerk_a, since, today)
    b = overview(people.clerk_b, since, today)

    # Village A still holds a draft after the applications deadline: overdue.
    assert [(d.on, d.overdue, d.outstanding, d.days) for d in a.due] == [
        (passed.due_on, True, 1, -2),
        (soon.due_on, False, records(campaign, village=areas.a, state=State.SUBMITTED), 5),
    ]
    assert a.due[0].url == reverse("applications:queue", args=[campaign.pk]) + "?state=draft"
    # Village B has no draft: that deadline is met there, and is not listed.
    assert [(d.on, d.overdue) for d in b.due] == [(soon.due_on, False)]


def test_it_lists_notices_ending_soon(people, areas, campaign):
    app = at(people, campaign, areas.a, State.REVIEWED, "张三")
    today = timezone.localdate()
    workflow_services.publish_notice(
        people.supervisor, campaign, areas.t1, starts_on=today, contact="民政办"
    )
    app.refresh_from_db()
    since = timezone.now() - HOUR_AGO
    for persona in ("clerk_a", "clerk_b", "supervisor"):
        due = overview(getattr(people, persona), since, today).due
        notices = [d for d in due if d.notice]
        assert [(d.on, d.days) for d in notices] == [
            (app.notice.ends_on, (app.notice.ends_on - today).days)
        ], persona
    assert not [d for d in overview(people.township_clerk_t2, since, today).due if d.notice]


# -- changed since my last visit ------------------------------------------------------------


def test_it_lists_changes_in_the_users_areas_but_not_their_own(people, areas, campaign):
    since = timezone.now() - HOUR_AGO
    theirs = at(people, campaign, areas.a, State.SUBMITTED, "张三")  # by the superuser
    home = make_household(people.superuser, areas.a, "赵六")
    own = workflow_services.create_application(people.clerk_a, campaign, home, entry(campaign))
    in_b = at(people, campaign, areas.b, State.SUBMITTED, "李四")

    a = overview(people.clerk_a, since)
    records_a = {c.record for c in a.changes}
    assert theirs.number in records_a
    assert own.number not in records_a  # the user's own entry
    assert in_b.number not in records_a  # village B is not clerk A's
    expected = AuditEvent.objects.filter(at__gt=since, area=areas.a).exclude(actor=people.clerk_a)
    assert a.changes_total == expected.count() == sum(n for _label, n in a.change_counts)
    link = next(c.url for c in a.changes if c.record == theirs.number)
    assert link == reverse("applications:detail", args=[theirs.pk])

    b = overview(people.clerk_b, since)
    assert {c.record for c in b.changes} == {in_b.number}
    office = overview(people.township_clerk, since)
    assert {theirs.number, own.number, in_b.number} <= {c.record for c in office.changes}
    # Nothing before the previous visit.
    assert not overview(people.township_clerk, timezone.now()).changes


def test_it_lists_at_most_twenty_changes_and_counts_them_all(people, areas, campaign):
    since = timezone.now() - HOUR_AGO
    for n in range(10):  # two events each: entered, submitted
        at(people, campaign, areas.a, State.SUBMITTED, f"张{n}")
    found = overview(people.township_clerk, since)
    assert len(found.changes) == 20 < found.changes_total
    assert found.changes_total == AuditEvent.objects.filter(at__gt=since).count()
    newest = list(AuditEvent.objects.filter(at__gt=since).order_by("-at", "-pk")[:20])
    assert [c.at for c in found.changes] == [e.at for e in newest]


def test_the_previous_visit_moves_on_with_each_sign_in(client, people):
    user = people.clerk_a
    user.set_password("Correct-horse-9")
    user.save()
    assert user.previous_visit is None
    now = timezone.now()
    assert abs(since_for(user, now) - (now - datetime.timedelta(days=7))) < HOUR_AGO

    client.post(reverse("login"), {"username": "clerk_a", "password": "Correct-horse-9"})
    user.refresh_from_db()
    first = user.last_login
    assert first is not None and user.previous_visit is None
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": "clerk_a", "password": "Correct-horse-9"})
    user.refresh_from_db()
    assert user.previous_visit == first and user.last_login > first
    assert since_for(user) == first


# -- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS[1:])
def test_the_page_renders_for_every_persona(client, people, objects, persona):
    client.force_login(getattr(people, persona))
    page = client.get(reverse("home"))
    assert page.status_code == 200
    html = page.text
    assert 'id="waiting"' in html
    shown = page.context["overview"]
    if shown.waiting:
        assert 'class="nothing-waiting"' not in html
        for item in shown.waiting:
            if item.url:
                assert f'href="{item.url}"'.replace("&", "&amp;") in html
    else:
        assert "nothing-waiting" in html


def test_the_page_shows_each_persona_their_work_and_not_the_other_villages(
    client,
    people,
    objects,
):
    # The supervisor decides the proxy request and the objection of village A.
    client.force_login(people.supervisor)
    html = client.get(reverse("home")).text
    assert reverse("disbursements:payment", args=[objects.payment.pk]) in html
    assert reverse("applications:detail", args=[objects.application.pk]) in html
    # The clerk of village B sees none of village A's work or changes.
    client.force_login(people.clerk_b)
    page = client.get(reverse("home"))
    shown = page.context["overview"]
    assert not shown.waiting and not shown.changes
    assert objects.application.number not in page.text
    assert reverse("disbursements:visit_list", args=[objects.paying.pk, objects.area.pk]) not in (
        page.text
    )
    # The clerk of village A has the visit to make there.
    client.force_login(people.clerk_a)
    html = client.get(reverse("home")).text
    assert reverse("disbursements:visit_list", args=[objects.paying.pk, objects.area.pk]) in html


def test_a_user_without_roles_sees_nothing_waiting_and_no_other_section(client, people):
    client.force_login(people.nobody)
    page = client.get(reverse("home"))
    assert "nothing-waiting" in page.text
    assert 'id="due"' not in page.text and 'id="changes"' not in page.text


# -- a bounded number of queries ------------------------------------------------------------


def _busy_campaign(people, areas, name: str):
    """An open campaign of T1 with work at every step in both villages."""
    found = open_campaign(people, areas.t1, name)
    today = timezone.localdate()
    Deadline.objects.create(
        campaign=found, deliverable=Deliverable.APPLICATIONS, level="village", due_on=today
    )
    Deadline.objects.create(
        campaign=found,
        deliverable=Deliverable.SIGNED_SHEETS,
        level="township",
        due_on=today - datetime.timedelta(days=1),
    )
    for village in (areas.a, areas.b):
        for stage in (State.DRAFT, State.SUBMITTED, State.APPRAISED, State.APPROVED):
            at(people, found, village, stage, f"{village.name}{stage}")
    payment_services.plan_payments(people.township_clerk, found)
    payments = list(Payment.objects.filter(campaign=found).order_by("number"))
    payment_services.hand_over(people.clerk_a, payments[0])
    payment_services.request_proxy(
        people.clerk_b, payments[1], payment_services.Proxy("代领人", valid_id(), "儿子", "住院")
    )
    return found


def _queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


MAX_QUERIES = 30


@pytest.mark.parametrize(
    "persona", ["clerk_a", "township_clerk", "supervisor", "finance", "auditor", "superuser"]
)
def test_the_page_reads_a_bounded_number_of_queries(
    client, people, areas, persona, django_assert_max_num_queries
):
    user = getattr(people, persona)
    _busy_campaign(people, areas, "活动一")
    client.force_login(user)
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(reverse("home"))
    one = _queries(client, user)
    for n in range(2, 6):
        _busy_campaign(people, areas, f"活动{n}")
    client.force_login(user)
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(reverse("home"))
    five = _queries(client, user)
    assert five == one
    # The figures did grow with the campaigns; the queries did not.
    shown = overview(user, timezone.now() - HOUR_AGO)
    if persona == "auditor":  # reads everything, acts on nothing
        assert not shown.waiting and shown.changes_total > 0
    else:
        assert len({i.campaign for i in shown.waiting}) == 5
