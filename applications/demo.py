"""Demo applications: next year's copy of the 城关镇 春节慰问 example, opened,
with applications at every stage of the workflow, made through the services
by the demo accounts of each role (so the timelines read as real ones)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from applications import services
from applications.choices import HardshipCause, State
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from recipients.models import Household
from relief.choices import Role
from relief.models import Area, RoleAssignment, User

SOURCE = ("2026年春节慰问", 2026, "130123100000")
PER_VILLAGE = 8


def _holder(role: str, area: Area) -> User:
    return RoleAssignment.objects.select_related("user").filter(role=role, area=area).first().user


def _year(source: Campaign, today: datetime.date) -> int:
    """The first year whose copy has its village list still ahead (hard deadline)."""
    first_due = min((d.due_on for d in source.deadlines.all()), default=None)
    years = 1
    while first_due and campaign_services.shift_years(first_due, years) < today:
        years += 1
    return source.year + years


def ensure_applications(root: User) -> Campaign | None:
    name, year, township_code = SOURCE
    source = Campaign.objects.filter(name=name, year=year, area__code=township_code).first()
    if source is None:
        return None
    today = timezone.localdate()
    target_year = _year(source, today)
    campaign = Campaign.objects.filter(copied_from=source, year=target_year).first()
    if campaign is not None and campaign.applications.exists():
        return campaign
    if campaign is None:
        campaign = campaign_services.copy_campaign(
            root, source, year=target_year, name=f"{target_year}年春节慰问"
        )
        campaign_services.update_campaign(
            root, campaign, published_on=today - datetime.timedelta(days=20)
        )
        campaign_services.change_status(root, campaign, CampaignStatus.OPEN)
        campaign.refresh_from_db()
    _walk(campaign, today)
    return campaign


def _walk(campaign: Campaign, today: datetime.date) -> None:
    township = campaign.area
    office = _holder(Role.TOWNSHIP_CLERK, township)
    supervisor = _holder(Role.TOWNSHIP_SUPERVISOR, township)
    category = campaign.categories.get(name="困难家庭")
    villages = Area.objects.filter(parent=township).order_by("code")
    facts = [
        {"dibao": True, "medical_self_pay": "45000"},  # 重度
        {"dibao": True, "medical_self_pay": "26000"},  # 中度
        {"dibao": False, "medical_self_pay": "3000"},  # 一般
    ]
    causes = [HardshipCause.ILLNESS, HardshipCause.DISABILITY, HardshipCause.OLD_AGE]
    for village in villages:
        clerk = _holder(Role.VILLAGE_CLERK, village)
        households = Household.objects.filter(village=village).order_by("number")[:PER_VILLAGE]
        apps = []
        for i, household in enumerate(households):
            entry = services.Entry(category, causes[i % 3], "general", facts[i % 3])
            apps.append(services.create_application(clerk, campaign, household, entry))
        # Two stay drafts; the others go up and the village meets on them.
        for app in apps[2:]:
            services.submit_application(clerk, app)
        decided = apps[3:]
        if decided:
            services.record_appraisal(
                clerk,
                campaign,
                village,
                held_on=today - datetime.timedelta(days=10),
                members="村党支部书记、村委会主任、村民代表5人、村务监督委员会成员",
                votes=[
                    services.Vote(a.pk, passed=a is not decided[-1], votes_for=7, votes_against=0)
                    if a is not decided[-1]
                    else services.Vote(a.pk, False, 2, 5, 0, "家庭收入高于标准")
                    for a in decided
                ],
            )
        reviewed = [a.pk for a in apps[4:-1]]
        services.first_review(office, reviewed[1:])
        if reviewed:
            services.return_applications(
                office, reviewed[:1], State.SUBMITTED, "请补充医疗费用票据后重新评议"
            )
    if not campaign.applications.filter(state=State.REVIEWED).exists():
        return  # a demo with few households per village gets no further
    start = today - datetime.timedelta(days=campaign.notice_days)
    services.publish_notice(
        supervisor, campaign, township, starts_on=start, contact="镇社会事务办 0311-87654321"
    )
    objected, *others = campaign.applications.filter(state=State.IN_NOTICE).order_by("number")
    services.record_objection(
        supervisor,
        objected,
        received_on=start,
        channel="phone",
        content="反映该户有子女在外务工，收入较高",
    )
    services.approve(supervisor, [a.pk for a in others[:-1]])
