"""The application services: entry, changes, the village appraisal, the public
notice, attachments and bulk decisions, each with the events it writes."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from applications import services
from applications.choices import State
from applications.models import (
    Application,
    AppraisalMeeting,
    AppraisalVote,
    Attachment,
    Notice,
)
from applications.workflow import WorkflowError
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, Category, FundSource
from recipients.models import Household
from relief.models import AuditEvent
from tests.conftest import make_household

from .conftest import entry, past_notice_start, walk

pytestmark = pytest.mark.django_db

CONTACT = "民政办 0311-1234567"
MEMBERS = "村支书、村委委员、村民代表"


def today() -> datetime.date:
    return timezone.localdate()


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def events(action: str, app: Application | None = None):
    found = AuditEvent.objects.filter(action=action)
    return found.filter(target_id=str(app.pk)) if app is not None else found


def households(people, village, *names: str) -> list[Household]:
    return [make_household(people.superuser, village, name) for name in names]


def submitted(people, campaign, homes) -> list[Application]:
    apps = [
        services.create_application(people.superuser, campaign, h, entry(campaign)) for h in homes
    ]
    services.submit(people.superuser, [a.pk for a in apps]).raise_if_refused()
    return [fresh(a) for a in apps]


# -- create_application --------------------------------------------------------------------


def test_it_numbers_applications_by_year_campaign_and_sequence(
    people, campaign, household_a, household_b
):
    first = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    second = services.create_application(people.clerk_b, campaign, household_b, entry(campaign))
    pattern = re.compile(r"^(\d{4})-(\d{3})-(\d{5})$")
    assert pattern.match(first.number) and pattern.match(second.number)
    assert first.number == f"2026-{campaign.pk:03d}-00001"
    assert second.number == f"2026-{campaign.pk:03d}-00002"
    assert second.number > first.number


def test_it_computes_the_amount_and_records_the_entry(people, campaign, household_a):
    app = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    app = fresh(app)
    assert (app.state, app.amount, app.cash) == (State.DRAFT, Decimal(500), Decimal(500))
    assert app.village == household_a.village
    assert app.fund_source == campaign.fund_sources.get()
    assert app.created_by == people.clerk_a
    event = events("application.create", app).get()
    assert event.actor == people.clerk_a
    assert event.to_state == State.DRAFT
    assert Decimal(event.data["amount"]) == Decimal(500)
    assert event.target_repr == app.number
    assert event.area == household_a.village


def test_it_submits_at_once_when_asked(people, campaign, household_a):
    app = services.create_application(
        people.clerk_a, campaign, household_a, entry(campaign), submit=True
    )
    assert app.state == State.SUBMITTED
    mine = AuditEvent.objects.filter(target_id=str(app.pk), action__startswith="application.")
    assert [e.action for e in mine.order_by("id")] == ["application.create", "application.submit"]


def test_it_refuses_a_household_outside_the_campaign_area(people, campaign, household_c):
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.superuser, campaign, household_c, entry(campaign))
    assert household_c.number in refused.value.message
    assert "城关镇" in refused.value.message
    assert not Application.objects.exists()
    assert not events("application.create").exists()


def test_it_refuses_a_category_of_another_campaign(people, areas, campaign, household_a):
    other = campaign_services.create_campaign(
        people.superuser, area=areas.t1, kind="送温暖", name="2026年送温暖", issuer="x", year=2026
    )
    foreign = Category.objects.create(campaign=other, name="一般困难户", cash=300)
    with pytest.raises(WorkflowError):
        services.create_application(
            people.clerk_a, campaign, household_a, entry(campaign, category=foreign)
        )
    with pytest.raises(WorkflowError):
        services.create_application(
            people.clerk_a, campaign, household_a, entry(campaign, also=[foreign])
        )
    assert not Application.objects.exists()


def test_it_refuses_entry_in_a_campaign_that_is_not_open(people, campaign, household_a):
    campaign_services.change_status(people.superuser, campaign, CampaignStatus.CLOSED)
    campaign.refresh_from_db()
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    assert "2026年春节慰问" in refused.value.message
    assert not Application.objects.exists()


def test_it_refuses_entry_in_a_draft_campaign(people, campaign_t1, household_a):
    with pytest.raises(WorkflowError):
        services.create_application(people.superuser, campaign_t1, household_a, entry(campaign_t1))
    assert not Application.objects.exists()


def test_it_refuses_a_clerk_of_another_village(people, campaign, household_a):
    with pytest.raises(WorkflowError):
        services.create_application(people.clerk_b, campaign, household_a, entry(campaign))
    assert not Application.objects.exists()


def test_it_refuses_roles_that_do_not_enter_applications(people, campaign, household_a):
    for who in (people.supervisor, people.finance, people.auditor, people.nobody):
        with pytest.raises(WorkflowError):
            services.create_application(who, campaign, household_a, entry(campaign))
    assert not Application.objects.exists()


# -- update_application --------------------------------------------------------------------


@pytest.fixture
def severe(campaign):
    return Category.objects.create(
        campaign=campaign, name="特困户", cash=800, fund_source=campaign.fund_sources.get()
    )


def test_it_changes_a_draft_and_records_before_and_after(people, campaign, household_a, severe):
    app = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    services.update_application(
        people.clerk_a, app, entry(campaign, category=severe), reason="核实后改为特困户"
    )
    app = fresh(app)
    assert (app.category, app.amount, app.state) == (severe, Decimal(800), State.DRAFT)
    event = events("application.update", app).get()
    assert event.actor == people.clerk_a
    assert event.reason == "核实后改为特困户"
    assert event.data["before"]["category"] == "一般困难户"
    assert Decimal(event.data["before"]["amount"]) == Decimal(500)
    assert event.data["after"]["category"] == "特困户"
    assert Decimal(event.data["after"]["amount"]) == Decimal(800)


def test_it_changes_an_application_returned_to_the_clerk(people, campaign, household_a, severe):
    app = walk(people, campaign, household_a, State.RETURNED)
    assert (app.state, app.returned_to) == (State.RETURNED, State.DRAFT)
    services.update_application(people.clerk_a, app, entry(campaign, category=severe))
    app = fresh(app)
    assert app.amount == Decimal(800)
    assert events("application.update", app).count() == 1
    # Sent up again, it waits for the village.
    services.submit_application(people.clerk_a, app)
    assert fresh(app).state == State.SUBMITTED


@pytest.mark.parametrize("stage", [State.SUBMITTED, State.APPRAISED, State.APPROVED])
def test_it_refuses_to_change_an_application_once_submitted(
    people, campaign, household_a, severe, stage
):
    app = walk(people, campaign, household_a, stage)
    with pytest.raises(WorkflowError) as refused:
        services.update_application(people.superuser, app, entry(campaign, category=severe))
    assert app.number in refused.value.message
    after = fresh(app)
    assert (after.category.name, after.amount, after.state) == ("一般困难户", Decimal(500), stage)
    assert not events("application.update").exists()


def test_it_refuses_a_clerk_of_another_village_to_change_a_draft(
    people, campaign, household_a, severe
):
    app = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    with pytest.raises(WorkflowError):
        services.update_application(people.clerk_b, app, entry(campaign, category=severe))
    assert fresh(app).amount == Decimal(500)
    assert not events("application.update").exists()


# -- record_appraisal ----------------------------------------------------------------------


def test_it_records_a_meeting_that_passes_some_and_fails_others(people, areas, campaign):
    apps = submitted(people, campaign, households(people, areas.a, "甲", "乙", "丙"))
    meeting = services.record_appraisal(
        people.clerk_a,
        campaign,
        areas.a,
        held_on=today(),
        members=MEMBERS,
        minutes="逐户评议",
        votes=[
            services.Vote(apps[0].pk, True, 9, 0, 1),
            services.Vote(apps[1].pk, True, 8, 1, 1),
            services.Vote(apps[2].pk, False, 2, 7, 1, remark="家有经营性收入"),
        ],
    )
    assert (meeting.village, meeting.recorded_by, meeting.held_on) == (
        areas.a,
        people.clerk_a,
        today(),
    )
    assert AppraisalVote.objects.filter(meeting=meeting).count() == 3
    assert [fresh(a).state for a in apps] == [State.APPRAISED, State.APPRAISED, State.REJECTED]
    rejected = events("application.reject", apps[2]).get()
    assert "家有经营性收入" in rejected.reason
    assert rejected.data["meeting"] == meeting.pk
    assert events("application.appraise").count() == 2
    record = AuditEvent.objects.get(action="appraisal.record")
    assert (record.data["passed"], record.data["failed"]) == (2, 1)


def test_it_needs_a_remark_for_each_application_not_passed(people, areas, campaign, household_a):
    (app,) = submitted(people, campaign, [household_a])
    with pytest.raises(WorkflowError):
        services.record_appraisal(
            people.clerk_a,
            campaign,
            areas.a,
            held_on=today(),
            members=MEMBERS,
            votes=[services.Vote(app.pk, False, 1, 8, 0, remark=" ")],
        )
    assert not AppraisalMeeting.objects.exists()
    assert fresh(app).state == State.SUBMITTED


def test_it_refuses_a_clerk_of_another_village_to_record_the_appraisal(
    people, areas, campaign, household_a
):
    (app,) = submitted(people, campaign, [household_a])
    for village in (areas.a, areas.b):
        with pytest.raises(WorkflowError):
            services.record_appraisal(
                people.clerk_b,
                campaign,
                village,
                held_on=today(),
                members=MEMBERS,
                votes=[services.Vote(app.pk, True, 9, 0, 0)],
            )
    assert not AppraisalMeeting.objects.exists()
    assert fresh(app).state == State.SUBMITTED


@pytest.mark.parametrize("draft_passed", [True, False])
def test_it_records_nothing_when_one_listed_application_is_not_submitted(
    people, areas, campaign, household_a, draft_passed
):
    (ready,) = submitted(people, campaign, [household_a])
    [home] = households(people, areas.a, "赵六")
    draft = services.create_application(people.clerk_a, campaign, home, entry(campaign))
    with pytest.raises(WorkflowError) as refused:
        services.record_appraisal(
            people.clerk_a,
            campaign,
            areas.a,
            held_on=today(),
            members=MEMBERS,
            votes=[
                services.Vote(ready.pk, True, 9, 0, 0),
                services.Vote(draft.pk, draft_passed, 5, 4, 0, remark="" if draft_passed else "x"),
            ],
        )
    assert draft.number in refused.value.message
    assert not AppraisalMeeting.objects.exists()
    assert not AppraisalVote.objects.exists()
    assert (fresh(ready).state, fresh(draft).state) == (State.SUBMITTED, State.DRAFT)
    assert not AuditEvent.objects.filter(
        action__in=["application.appraise", "application.reject", "appraisal.record"]
    ).exists()


def test_it_refuses_an_application_of_another_village_in_the_meeting(
    people, areas, campaign, household_a, household_b
):
    ours, theirs = submitted(people, campaign, [household_a, household_b])
    with pytest.raises(WorkflowError):
        services.record_appraisal(
            people.superuser,
            campaign,
            areas.a,
            held_on=today(),
            members=MEMBERS,
            votes=[services.Vote(ours.pk, True), services.Vote(theirs.pk, True)],
        )
    assert not AppraisalMeeting.objects.exists()
    assert [fresh(a).state for a in (ours, theirs)] == [State.SUBMITTED, State.SUBMITTED]


# -- publish_notice ------------------------------------------------------------------------


def test_it_puts_every_reviewed_application_of_the_township_in_one_notice(
    people, areas, campaign, household_a, household_b
):
    Campaign.objects.filter(pk=campaign.pk).update(notice_days=3)
    campaign.refresh_from_db()
    reviewed_a = walk(people, campaign, household_a, State.REVIEWED)
    reviewed_b = walk(people, campaign, household_b, State.REVIEWED)
    [zhao] = households(people, areas.a, "赵六")
    appraised = walk(people, campaign, zhao, State.APPRAISED)

    notice = services.publish_notice(
        people.supervisor,
        campaign,
        areas.t1,
        starts_on=today(),
        contact=CONTACT,
        place="便民服务大厅",
    )

    assert notice.starts_on == today()
    assert notice.ends_on == today() + datetime.timedelta(days=2)
    assert (notice.area, notice.published_by, notice.contact) == (
        areas.t1,
        people.supervisor,
        CONTACT,
    )
    assert {a.pk for a in notice.applications.all()} == {reviewed_a.pk, reviewed_b.pk}
    assert {fresh(a).state for a in (reviewed_a, reviewed_b)} == {State.IN_NOTICE}
    assert (fresh(appraised).state, fresh(appraised).notice) == (State.APPRAISED, None)
    assert events("application.publish").count() == 2
    published = AuditEvent.objects.get(action="notice.publish")
    assert published.data["count"] == 2
    assert published.data["ends_on"] == notice.ends_on.isoformat()


def test_it_posts_a_village_notice_with_only_that_village(
    people, areas, campaign, household_a, household_b
):
    Campaign.objects.filter(pk=campaign.pk).update(notice_level="village")
    campaign.refresh_from_db()
    ours = walk(people, campaign, household_a, State.REVIEWED)
    theirs = walk(people, campaign, household_b, State.REVIEWED)
    notice = services.publish_notice(
        people.supervisor, campaign, areas.a, starts_on=today(), contact=CONTACT
    )
    assert notice.ends_on == today() + datetime.timedelta(days=campaign.notice_days - 1)
    assert (fresh(ours).state, fresh(ours).notice) == (State.IN_NOTICE, notice)
    assert (fresh(theirs).state, fresh(theirs).notice) == (State.REVIEWED, None)


def test_it_refuses_a_notice_by_an_area_of_the_wrong_level(people, areas, campaign, household_a):
    app = walk(people, campaign, household_a, State.REVIEWED)
    with pytest.raises(WorkflowError):
        services.publish_notice(
            people.supervisor, campaign, areas.a, starts_on=today(), contact=CONTACT
        )
    assert not Notice.objects.exists()
    assert fresh(app).state == State.REVIEWED


def test_it_refuses_a_notice_with_nothing_waiting(people, areas, campaign, household_a):
    app = walk(people, campaign, household_a, State.APPRAISED)
    with pytest.raises(WorkflowError) as refused:
        services.publish_notice(
            people.supervisor, campaign, areas.t1, starts_on=today(), contact=CONTACT
        )
    assert "城关镇" in refused.value.message
    assert not Notice.objects.exists()
    assert not AuditEvent.objects.filter(action="notice.publish").exists()
    assert fresh(app).state == State.APPRAISED


def test_it_refuses_a_notice_without_a_contact(people, areas, campaign, household_a):
    app = walk(people, campaign, household_a, State.REVIEWED)
    with pytest.raises(WorkflowError):
        services.publish_notice(
            people.supervisor, campaign, areas.t1, starts_on=today(), contact=" "
        )
    assert not Notice.objects.exists()
    assert fresh(app).state == State.REVIEWED


def test_it_refuses_a_notice_by_someone_of_another_township(people, areas, campaign, household_a):
    app = walk(people, campaign, household_a, State.REVIEWED)
    for who in (people.township_clerk_t2, people.clerk_a, people.finance):
        with pytest.raises(WorkflowError):
            services.publish_notice(who, campaign, areas.t1, starts_on=today(), contact=CONTACT)
    assert not Notice.objects.exists()
    assert fresh(app).state == State.REVIEWED


# -- attachments ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def draft(people, campaign, household_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return services.create_application(people.clerk_a, campaign, household_a, entry(campaign))


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("户口本.png", PNG, "image/png"),
        ("诊断证明.jpg", JPEG, "image/jpeg"),
        ("住院发票.pdf", PDF, "application/pdf"),
    ],
)
def test_it_keeps_a_photo_or_scan_with_the_application(
    people, draft, tmp_path, name, content, kind
):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    attachment = services.attach(people.clerk_a, draft, upload, description=" 佐证材料 ")
    attachment.refresh_from_db()
    assert (attachment.name, attachment.size, attachment.content_type) == (
        name,
        len(content),
        kind,
    )
    assert attachment.description == "佐证材料"
    assert attachment.uploaded_by == people.clerk_a
    stored = tmp_path / attachment.file.name
    assert stored.read_bytes() == content
    event = events("application.attach", draft).get()
    assert (event.actor, event.data["attachment"], event.data["name"]) == (
        people.clerk_a,
        attachment.pk,
        name,
    )


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64),
        ("照片.jpg", "这是一个改了扩展名的文本文件".encode()),
        ("scan.pdf", b""),
    ],
)
def test_it_refuses_a_file_that_is_not_a_photo_or_scan(people, draft, tmp_path, name, content):
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    with pytest.raises(WorkflowError) as refused:
        services.attach(people.clerk_a, draft, upload)
    assert name in refused.value.message
    assert not Attachment.objects.exists()
    assert _files(tmp_path) == []
    assert not events("application.attach").exists()


def test_it_refuses_a_file_larger_than_the_limit(people, draft, settings, tmp_path):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = PNG + b"\x00" * (1024 * 1024 + 1 - len(PNG))
    with pytest.raises(WorkflowError) as refused:
        services.attach(people.clerk_a, draft, SimpleUploadedFile("大图.png", big))
    assert "大图.png" in refused.value.message
    assert not Attachment.objects.exists()
    assert _files(tmp_path) == []
    # Exactly at the limit is accepted.
    exact = big[: 1024 * 1024]
    attachment = services.attach(people.clerk_a, draft, SimpleUploadedFile("刚好.png", exact))
    assert attachment.size == 1024 * 1024


def test_it_refuses_attachments_from_outside_the_village(people, draft, tmp_path):
    for who in (people.clerk_b, people.finance, people.nobody):
        with pytest.raises(WorkflowError):
            services.attach(who, draft, SimpleUploadedFile("户口本.png", PNG))
    assert not Attachment.objects.exists()
    assert _files(tmp_path) == []


# -- bulk decisions ------------------------------------------------------------------------


def test_it_approves_thirty_applications_at_once_with_one_event_each(people, areas, campaign):
    FundSource.objects.filter(campaign=campaign).update(budget=20000)
    homes = households(people, areas.a, *(f"甲{i}" for i in range(15)))
    homes += households(people, areas.b, *(f"乙{i}" for i in range(15)))
    apps = submitted(people, campaign, homes)
    for village in (areas.a, areas.b):
        services.record_appraisal(
            people.superuser,
            campaign,
            village,
            held_on=today(),
            members=MEMBERS,
            votes=[services.Vote(a.pk, True, 9, 0, 0) for a in apps if a.village == village],
        )
    ids = [a.pk for a in apps]
    services.first_review(people.township_clerk, ids).raise_if_refused()
    services.publish_notice(
        people.supervisor,
        campaign,
        areas.t1,
        starts_on=past_notice_start(campaign),
        contact=CONTACT,
    )
    assert Application.objects.filter(state=State.IN_NOTICE).count() == 30

    result = services.approve(
        people.supervisor, Application.objects.filter(campaign=campaign), comment="批量审批"
    )

    assert len(result.done) == 30 and result.refused == []
    assert Application.objects.filter(state=State.APPROVED).count() == 30
    approved = events("application.approve")
    assert approved.count() == 30
    assert sorted(int(e.target_id) for e in approved) == sorted(ids)
    assert {(e.actor, e.from_state, e.to_state) for e in approved} == {
        (people.supervisor, State.IN_NOTICE, State.APPROVED)
    }
    assert all(e.data["comment"] == "批量审批" for e in approved)
    assert not Application.objects.filter(decided_at=None).exists()


def test_it_takes_a_step_on_no_applications_as_nothing_to_do(people, campaign):
    """A bulk action whose filters match nothing (and a meeting deciding no one
    passed) runs the engine on an empty batch: no error, no event."""
    before = AuditEvent.objects.count()
    result = services.approve(people.supervisor, [])
    assert (result.done, result.refused) == ([], [])
    assert AuditEvent.objects.count() == before
