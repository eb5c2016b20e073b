"""The rules of domain.md §5 as the workflow enforces them: each refusal, and
that a refused action changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from applications import services
from applications.choices import COMMITTED, Channel, ObjectionStatus, State
from applications.models import Application, Disqualification, Notice, Objection
from applications.workflow import WorkflowError
from campaigns import services as campaign_services
from campaigns.choices import ApprovalLevel, CampaignStatus, StandardKind
from campaigns.models import AreaQuota, Campaign, CampaignKind, Category, FundSource
from recipients import services as registry
from recipients.choices import Relation
from recipients.models import Household, Person
from relief.choices import Role
from relief.models import AuditEvent
from tests.conftest import as_input, make_household, make_user

from .conftest import entry, past_notice_start, walk

pytestmark = pytest.mark.django_db

CONTACT = "民政办 0311-1234567"


def today() -> datetime.date:
    return timezone.localdate()


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def events(action: str, app: Application | None = None):
    found = AuditEvent.objects.filter(action=action)
    return found.filter(target_id=str(app.pk)) if app is not None else found


def open_campaign(people, area, *, name: str, kind: str = "春节慰问", year: int = 2026) -> Campaign:
    """Another open campaign: 一般困难户 500 yuan per household from 县财政."""
    campaign = campaign_services.create_campaign(
        people.superuser, area=area, kind=kind, name=name, issuer="示范县总工会", year=year
    )
    source = FundSource.objects.create(
        campaign=campaign, name="县财政", payer="县财政局", budget=10000
    )
    Category.objects.create(campaign=campaign, name="一般困难户", cash=500, fund_source=source)
    return campaign_services.change_status(people.superuser, campaign, CampaignStatus.OPEN)


def to_notice(
    people, campaign, households, *, starts_on: datetime.date | None = None, **entry_fields
) -> list[Application]:
    """Applications of these households, entered, appraised, reviewed and put
    into one notice of their township (by default one that ended yesterday)."""
    apps = [
        services.create_application(people.superuser, campaign, h, entry(campaign, **entry_fields))
        for h in households
    ]
    ids = [a.pk for a in apps]
    services.submit(people.superuser, ids).raise_if_refused()
    by_village: dict = {}
    for app in apps:
        by_village.setdefault(app.village, []).append(app.pk)
    for village, pks in by_village.items():
        services.record_appraisal(
            people.superuser,
            campaign,
            village,
            held_on=today(),
            members="村支书、村委委员、村民代表",
            votes=[services.Vote(pk, True, 7, 0, 0) for pk in pks],
        )
    services.first_review(people.township_clerk, ids).raise_if_refused()
    services.publish_notice(
        people.supervisor,
        campaign,
        apps[0].village.parent,
        starts_on=starts_on or past_notice_start(campaign),
        contact=CONTACT,
    )
    return [fresh(a) for a in apps]


def households(people, village, *names: str) -> list[Household]:
    return [make_household(people.superuser, village, name) for name in names]


# -- 1. one household, one active application per campaign ---------------------------------


def test_it_refuses_a_second_application_of_the_household_naming_the_first(
    people, campaign, household_a
):
    first = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    assert first.number in refused.value.message
    assert list(Application.objects.values_list("number", flat=True)) == [first.number]
    assert events("application.create").count() == 1


@pytest.mark.parametrize("end", [State.WITHDRAWN, State.REJECTED])
def test_it_allows_a_new_application_after_the_first_is_withdrawn_or_rejected(
    people, campaign, household_a, end
):
    first = walk(people, campaign, household_a, end)
    assert first.state == end
    second = services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    assert second.number != first.number
    assert second.state == State.DRAFT
    assert Application.objects.filter(household=household_a).count() == 2
    # And the new one is again the only active one.
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.clerk_a, campaign, household_a, entry(campaign))
    assert second.number in refused.value.message


# -- 2. the same person in two households --------------------------------------------------


def test_it_flags_a_person_moved_between_two_applying_households_without_refusing(
    people, campaign, household_a, household_b
):
    head = household_a.members.get(name="张三")
    moving = household_a.members.get(name="张小三")
    # 张小三 leaves 张三's household and joins 李四's, through the registry.
    registry.update_household(
        people.superuser,
        household_a,
        village=household_a.village,
        address=household_a.address,
        members=[as_input(head), as_input(moving, delete=True)],
        reason="迁出",
    )
    li_si = household_b.members.get()
    registry.update_household(
        people.superuser,
        household_b,
        village=household_b.village,
        address=household_b.address,
        members=[
            as_input(li_si),
            registry.MemberInput(
                name=moving.name, id_number=moving.id_number, relation=Relation.OTHER
            ),
        ],
        reason="迁入",
    )
    assert Person.objects.get(id_number=moving.id_number).household == household_b

    app_a = services.create_application(people.superuser, campaign, household_a, entry(campaign))
    app_b = services.create_application(people.superuser, campaign, household_b, entry(campaign))
    result = services.submit(people.superuser, [app_a.pk, app_b.pk])

    assert result.refused == []
    app_a, app_b = fresh(app_a), fresh(app_b)
    assert app_a.state == app_b.state == State.SUBMITTED
    assert any(app_a.number in flag and "张小三" in flag for flag in app_b.flags), app_b.flags
    assert any(app_b.number in flag and "张小三" in flag for flag in app_a.flags), app_a.flags


def test_it_does_not_flag_households_that_share_no_one(people, campaign, household_a, household_b):
    apps = [
        services.create_application(people.superuser, campaign, h, entry(campaign))
        for h in (household_a, household_b)
    ]
    services.submit(people.superuser, [a.pk for a in apps]).raise_if_refused()
    assert [fresh(a).flags for a in apps] == [[], []]


# -- 3. disqualification (取消其次年补助资格) ------------------------------------------------


def test_it_bars_a_household_rejected_for_a_false_claim_from_other_campaigns(
    people, areas, campaign, household_a
):
    app = walk(people, campaign, household_a, State.SUBMITTED)
    until = today() + datetime.timedelta(days=365)
    result = services.reject(people.clerk_a, [app.pk], "虚报家庭收入", barred_until=until)
    assert [a.pk for a in result.done] == [app.pk]

    bar = Disqualification.objects.get()
    assert (bar.household, bar.until, bar.reason, bar.application) == (
        household_a,
        until,
        "虚报家庭收入",
        app,
    )
    assert bar.recorded_by == people.clerk_a
    event = AuditEvent.objects.get(action="household.disqualify")
    assert event.data["until"] == until.isoformat()
    assert event.data["application"] == app.number

    other = open_campaign(people, areas.county, name="2026年送温暖", kind="送温暖")
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.clerk_a, other, household_a, entry(other))
    assert "虚报家庭收入" in refused.value.message
    assert until.isoformat() in refused.value.message
    assert not Application.objects.filter(campaign=other).exists()
    # Nor in the same campaign, where the rejected application no longer holds a place.
    with pytest.raises(WorkflowError, match="虚报家庭收入"):
        services.create_application(people.clerk_a, campaign, household_a, entry(campaign))

    # Once the bar has expired the household may apply again.
    Disqualification.objects.filter(pk=bar.pk).update(until=today() - datetime.timedelta(days=1))
    again = services.create_application(people.clerk_a, other, household_a, entry(other))
    assert again.state == State.DRAFT


def test_it_lets_a_household_apply_whose_bar_has_expired(people, campaign, household_b):
    Disqualification.objects.create(
        household=household_b,
        until=today() - datetime.timedelta(days=1),
        reason="冒领慰问金",
        recorded_by=people.supervisor,
    )
    app = services.create_application(
        people.clerk_b, campaign, household_b, entry(campaign), submit=True
    )
    assert app.state == State.SUBMITTED


def test_it_holds_a_bar_through_its_last_day(people, campaign, household_b):
    Disqualification.objects.create(
        household=household_b, until=today(), reason="冒领慰问金", recorded_by=people.supervisor
    )
    with pytest.raises(WorkflowError, match="冒领慰问金"):
        services.create_application(people.clerk_b, campaign, household_b, entry(campaign))
    assert not Application.objects.exists()


def test_it_refuses_to_approve_a_household_barred_while_in_notice(people, campaign, household_a):
    (app,) = to_notice(people, campaign, [household_a])
    Disqualification.objects.create(
        household=household_a,
        until=today() + datetime.timedelta(days=30),
        reason="虚报家庭收入",
        recorded_by=people.supervisor,
    )
    result = services.approve(people.supervisor, [app.pk])
    assert result.done == []
    assert "虚报家庭收入" in result.refused[0][1]
    assert fresh(app).state == State.IN_NOTICE
    assert not events("application.approve").exists()


# -- 4. at most N aids of one kind per household per year ----------------------------------


@pytest.fixture
def capped(people, campaign):
    CampaignKind.objects.filter(name="春节慰问").update(per_year=1)
    campaign.kind.refresh_from_db()
    return campaign


def test_it_refuses_a_second_aid_of_the_kind_in_the_year_naming_the_first(
    people, areas, capped, household_a
):
    first = walk(people, capped, household_a, State.SUBMITTED)
    county = open_campaign(people, areas.county, name="2026年县级春节慰问")
    with pytest.raises(WorkflowError) as refused:
        services.create_application(people.clerk_a, county, household_a, entry(county))
    assert first.number in refused.value.message
    assert "2026年春节慰问" in refused.value.message
    assert not Application.objects.filter(campaign=county).exists()


def test_it_counts_the_cap_in_another_township_campaign_of_the_same_kind(
    people, areas, capped, household_a
):
    walk(people, capped, household_a, State.APPROVED)
    also_t1 = open_campaign(people, areas.t1, name="2026年春节慰问（补充）")
    with pytest.raises(WorkflowError, match=r"\d{4}-\d{3}-\d{5}"):
        services.create_application(people.clerk_a, also_t1, household_a, entry(also_t1))
    assert Application.objects.filter(household=household_a).count() == 1


def test_it_does_not_cap_another_kind_or_another_year(people, areas, capped, household_a):
    walk(people, capped, household_a, State.SUBMITTED)
    other_kind = open_campaign(people, areas.county, name="2026年送温暖", kind="送温暖")
    last_year = open_campaign(people, areas.county, name="2025年春节慰问", year=2025)
    for other in (other_kind, last_year):
        app = services.create_application(
            people.clerk_a, other, household_a, entry(other), submit=True
        )
        assert app.state == State.SUBMITTED


def test_it_does_not_count_a_withdrawn_application_toward_the_cap(
    people, areas, capped, household_a
):
    first = walk(people, capped, household_a, State.SUBMITTED)
    services.withdraw(people.clerk_a, first, "重复申请")
    county = open_campaign(people, areas.county, name="2026年县级春节慰问")
    app = services.create_application(
        people.clerk_a, county, household_a, entry(county), submit=True
    )
    assert app.state == State.SUBMITTED


def test_it_checks_the_cap_again_when_a_draft_is_submitted(people, areas, capped, household_a):
    draft = services.create_application(people.clerk_a, capped, household_a, entry(capped))
    county = open_campaign(people, areas.county, name="2026年县级春节慰问")
    other = services.create_application(
        people.clerk_a, county, household_a, entry(county), submit=True
    )
    with pytest.raises(WorkflowError) as refused:
        services.submit_application(people.clerk_a, draft)
    assert other.number in refused.value.message
    assert fresh(draft).state == State.DRAFT
    assert not events("application.submit", draft).exists()


# -- 5. an amount outside the standard -----------------------------------------------------


@pytest.fixture
def range_category(campaign):
    return Category.objects.create(
        campaign=campaign,
        name="大病困难户",
        kind=StandardKind.RANGE,
        range_min=200,
        range_max=600,
        range_soft=True,
        range_outside_level=ApprovalLevel.COUNTY,
        fund_source=campaign.fund_sources.get(),
    )


def test_it_needs_a_reason_and_the_county_for_an_amount_outside_the_range(
    people, areas, campaign, household_a, range_category
):
    outside = entry(campaign, category=range_category, proposed=Decimal(800))
    app = services.create_application(people.clerk_a, campaign, household_a, outside)
    assert app.amount == Decimal(800)
    assert app.needs_reason

    with pytest.raises(WorkflowError):
        services.submit_application(people.clerk_a, app)
    assert fresh(app).state == State.DRAFT
    assert not events("application.submit", app).exists()

    outside.amount_reason = "户主患尿毒症，透析费用高"
    services.update_application(people.clerk_a, app, outside)
    services.submit_application(people.clerk_a, app)
    app = fresh(app)
    assert app.state == State.SUBMITTED
    assert app.approval_level == ApprovalLevel.COUNTY

    services.record_appraisal(
        people.clerk_a,
        campaign,
        areas.a,
        held_on=today(),
        members="村支书、村民代表",
        votes=[services.Vote(app.pk, True, 9, 0, 0)],
    )
    services.first_review(people.township_clerk, [app.pk]).raise_if_refused()
    services.publish_notice(
        people.supervisor,
        campaign,
        areas.t1,
        starts_on=past_notice_start(campaign),
        contact=CONTACT,
    )
    services.approve(people.supervisor, [app.pk]).raise_if_refused()
    assert fresh(app).state == State.AWAITING_COUNTY

    # The township cannot give the county's approval.
    refused = services.county_approve(people.supervisor, [app.pk])
    assert refused.done == [] and len(refused.refused) == 1
    assert fresh(app).state == State.AWAITING_COUNTY

    services.county_approve(people.approver, [app.pk]).raise_if_refused()
    app = fresh(app)
    assert app.state == State.APPROVED
    assert app.amount == Decimal(800)
    assert events("application.county_approve", app).get().actor == people.approver


def test_it_keeps_an_amount_inside_the_range_at_the_township(
    people, campaign, household_a, range_category
):
    app = walk(
        people, campaign, household_a, State.IN_NOTICE, category=range_category, proposed=400
    )
    assert app.approval_level == ApprovalLevel.TOWNSHIP
    assert not app.needs_reason
    services.approve(people.supervisor, [app.pk]).raise_if_refused()
    app = fresh(app)
    assert app.state == State.APPROVED
    assert app.amount == Decimal(400)


# -- 6. 回避 ---------------------------------------------------------------------------------


@pytest.fixture
def in_notice(people, campaign, household_a):
    (app,) = to_notice(people, campaign, [household_a])
    return app


def _refused_without_change(result, app) -> None:
    assert result.done == []
    assert [a.pk for a, _message in result.refused] == [app.pk]
    assert "回避" in result.refused[0][1]
    after = fresh(app)
    assert (after.state, after.returned_to, after.notice_id) == (
        State.IN_NOTICE,
        "",
        app.notice_id,
    )


def test_it_keeps_a_supervisor_related_to_the_household_from_deciding(
    people, household_a, in_notice
):
    services.declare_recusal(people.supervisor, people.supervisor, household_a, "表兄弟")
    app = in_notice
    _refused_without_change(services.approve(people.supervisor, [app.pk]), app)
    _refused_without_change(
        services.return_applications(people.supervisor, [app.pk], State.APPRAISED, "重新核实"),
        app,
    )
    _refused_without_change(services.reject(people.supervisor, [app.pk], "不符合条件"), app)
    assert "表兄弟" in services.approve(people.supervisor, [app.pk]).refused[0][1]
    assert not AuditEvent.objects.filter(
        action__in=["application.approve", "application.return", "application.reject"]
    ).exists()


def test_it_keeps_a_member_of_the_household_from_deciding(people, areas, household_a, in_notice):
    own = household_a.members.get(name="张小三")
    relative = make_user("relative", Role.TOWNSHIP_SUPERVISOR, areas.t1, id_number=own.id_number)
    app = in_notice
    _refused_without_change(services.approve(relative, [app.pk]), app)
    _refused_without_change(services.reject(relative, [app.pk], "不符合条件"), app)


def test_it_lets_another_supervisor_decide(people, areas, household_a, in_notice):
    services.declare_recusal(people.supervisor, people.supervisor, household_a, "表兄弟")
    other = make_user("supervisor_2", Role.TOWNSHIP_SUPERVISOR, areas.t1)
    services.approve(other, [in_notice.pk]).raise_if_refused()
    assert fresh(in_notice).state == State.APPROVED
    assert events("application.approve", in_notice).get().actor == other


# -- 7. quotas and budgets -----------------------------------------------------------------


def test_it_refuses_an_approval_beyond_the_category_quota(
    people, campaign, household_a, household_b
):
    campaign.categories.update(quota=1)
    first, second = to_notice(people, campaign, [household_a, household_b])
    services.approve(people.supervisor, [first.pk]).raise_if_refused()
    result = services.approve(people.supervisor, [second.pk])
    assert result.done == []
    assert "一般困难户" in result.refused[0][1]
    assert fresh(first).state == State.APPROVED
    assert fresh(second).state == State.IN_NOTICE
    assert events("application.approve").count() == 1


def test_it_refuses_an_approval_beyond_the_village_quota_only_in_that_village(
    people, areas, campaign, household_a, household_b
):
    AreaQuota.objects.create(category=campaign.categories.get(), area=areas.a, count=1)
    [zhao] = households(people, areas.a, "赵六")
    a1, a2, b = to_notice(people, campaign, [household_a, zhao, household_b])
    services.approve(people.supervisor, [a1.pk]).raise_if_refused()
    result = services.approve(people.supervisor, [a2.pk])
    assert result.done == []
    assert "东关村" in result.refused[0][1]
    assert fresh(a2).state == State.IN_NOTICE
    services.approve(people.supervisor, [b.pk]).raise_if_refused()
    assert fresh(b).state == State.APPROVED


def _committed(source: FundSource) -> Decimal:
    total = Application.objects.filter(fund_source=source, state__in=COMMITTED).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal(0)


def test_it_refuses_an_approval_the_budget_cannot_pay(people, areas, campaign, household_a):
    source = campaign.fund_sources.get()
    FundSource.objects.filter(pk=source.pk).update(budget=1000)
    apps = to_notice(people, campaign, [household_a, *households(people, areas.b, "钱七", "孙八")])
    for app in apps[:2]:
        services.approve(people.supervisor, [app.pk]).raise_if_refused()
    result = services.approve(people.supervisor, [apps[2].pk])
    assert result.done == []
    assert "镇财政" in result.refused[0][1]
    assert [fresh(a).state for a in apps] == [State.APPROVED, State.APPROVED, State.IN_NOTICE]
    assert _committed(source) == Decimal(1000)


def test_it_approves_in_bulk_only_as_many_as_the_budget_pays(people, areas, campaign):
    source = campaign.fund_sources.get()
    FundSource.objects.filter(pk=source.pk).update(budget=1500)
    homes = households(people, areas.a, "甲", "乙", "丙") + households(people, areas.b, "丁", "戊")
    apps = to_notice(people, campaign, homes)

    result = services.approve(people.supervisor, Application.objects.filter(campaign=campaign))

    assert len(result.done) == 3
    assert len(result.refused) == 2
    assert all("镇财政" in message for _app, message in result.refused)
    states = sorted(fresh(a).state for a in apps)
    assert states == [State.APPROVED] * 3 + [State.IN_NOTICE] * 2
    assert events("application.approve").count() == 3
    assert _committed(source) == Decimal(1500) <= source.budget


def test_it_never_commits_more_than_the_budget_over_several_batches(people, areas, campaign):
    source = campaign.fund_sources.get()
    FundSource.objects.filter(pk=source.pk).update(budget=1200)
    apps = to_notice(people, campaign, households(people, areas.a, "一", "二", "三", "四"))
    for batch in ([apps[0].pk], [apps[1].pk, apps[2].pk], [apps[3].pk]):
        services.approve(people.supervisor, batch)
        assert _committed(source) <= Decimal(1200)
    assert _committed(source) == Decimal(1000)


# -- 8. the public notice and objections ---------------------------------------------------


def test_it_refuses_approval_before_the_notice_ends(people, campaign, household_a):
    (app,) = to_notice(people, campaign, [household_a], starts_on=today())
    result = services.approve(people.supervisor, [app.pk])
    assert result.done == []
    assert app.notice.ends_on.isoformat() in result.refused[0][1]
    assert fresh(app).state == State.IN_NOTICE
    assert not events("application.approve").exists()


def _object(people, app: Application, **fields) -> Objection:
    values = {
        "received_on": app.notice.ends_on,
        "channel": Channel.PHONE,
        "content": "该户有两套住房，不属于困难户",
        "objector": "村民王某",
    }
    values.update(fields)
    return services.record_objection(people.township_clerk, app, **values)


def test_it_holds_approval_while_an_objection_is_open_and_not_once_dismissed(
    people, campaign, in_notice
):
    objection = _object(people, in_notice)
    result = services.approve(people.supervisor, [in_notice.pk])
    assert result.done == [] and len(result.refused) == 1
    assert fresh(in_notice).state == State.IN_NOTICE

    services.resolve_objection(
        people.supervisor, objection, upheld=False, finding="经入户核实，住房系租用"
    )
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    assert fresh(in_notice).state == State.IN_NOTICE
    services.approve(people.supervisor, [in_notice.pk]).raise_if_refused()
    assert fresh(in_notice).state == State.APPROVED


def test_it_returns_an_application_to_the_township_review_when_an_objection_is_upheld(
    people, campaign, in_notice
):
    objection = _object(people, in_notice)
    services.resolve_objection(
        people.supervisor, objection, upheld=True, finding="经核实，该户收入超过标准"
    )
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.UPHELD
    assert objection.resolved_by == people.supervisor
    app = fresh(in_notice)
    assert (app.state, app.returned_to, app.notice) == (State.RETURNED, State.APPRAISED, None)
    returned = events("application.return", app).get()
    assert returned.reason == "经核实，该户收入超过标准"
    assert returned.to_state == f"{State.RETURNED}:{State.APPRAISED}"
    # It waits for the township's review again, not for approval.
    assert services.approve(people.supervisor, [app.pk]).done == []
    services.first_review(people.township_clerk, [app.pk]).raise_if_refused()
    assert fresh(app).state == State.REVIEWED


def test_it_refuses_an_objection_received_outside_the_notice(people, campaign, in_notice):
    notice = in_notice.notice
    for day in (
        notice.starts_on - datetime.timedelta(days=1),
        today() + datetime.timedelta(days=1),
    ):
        with pytest.raises(WorkflowError) as refused:
            _object(people, in_notice, received_on=day)
        assert notice.starts_on.isoformat() in refused.value.message
    assert not Objection.objects.exists()
    assert not events("application.objection").exists()


def test_it_refuses_an_objection_to_an_application_not_in_notice(people, campaign, household_a):
    app = walk(people, campaign, household_a, State.REVIEWED)
    with pytest.raises(WorkflowError):
        services.record_objection(
            people.township_clerk,
            app,
            received_on=today(),
            channel=Channel.VISIT,
            content="不符合条件",
        )
    assert not Objection.objects.exists()


def test_it_needs_a_finding_to_resolve_an_objection(people, campaign, in_notice):
    objection = _object(people, in_notice)
    with pytest.raises(WorkflowError):
        services.resolve_objection(people.supervisor, objection, upheld=True, finding="  ")
    objection.refresh_from_db()
    assert (objection.status, objection.finding, objection.resolved_by) == (
        ObjectionStatus.OPEN,
        "",
        None,
    )
    assert fresh(in_notice).state == State.IN_NOTICE


def test_it_refuses_to_resolve_an_objection_twice(people, campaign, in_notice):
    objection = _object(people, in_notice)
    services.resolve_objection(people.supervisor, objection, upheld=False, finding="查无实据")
    with pytest.raises(WorkflowError):
        services.resolve_objection(people.supervisor, objection, upheld=True, finding="改判成立")
    objection.refresh_from_db()
    assert (objection.status, objection.finding) == (ObjectionStatus.DISMISSED, "查无实据")
    assert fresh(in_notice).state == State.IN_NOTICE
    assert not events("application.objection_upheld").exists()
    assert Notice.objects.count() == 1
