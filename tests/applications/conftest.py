"""Fixtures of the workflow: an open campaign of township T1 and a helper that
walks an application to any stage through the services."""

from __future__ import annotations

import datetime

import pytest

from applications import services
from applications.choices import HardshipCause, State
from applications.models import Application
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus


@pytest.fixture
def campaign(campaign_t1, people):
    """Township T1's campaign, open: 一般困难户 500 yuan per household, budget 10,000."""
    campaign_services.change_status(people.superuser, campaign_t1, CampaignStatus.OPEN)
    campaign_t1.refresh_from_db()
    return campaign_t1


def entry(campaign, **overrides) -> services.Entry:
    fields = {
        "category": campaign.categories.get(name="一般困难户"),
        "cause": HardshipCause.ILLNESS,
        "degree": "general",
        "facts": {},
    }
    fields.update(overrides)
    return services.Entry(**fields)


def past_notice_start(campaign) -> datetime.date:
    """A start date whose notice period has ended yesterday."""
    return datetime.date.today() - datetime.timedelta(days=campaign.notice_days)


def walk(people, campaign, household, stage: str, **entry_fields) -> Application:
    """An application of `household` brought to `stage` by the right personas."""
    clerk = people.superuser
    app = services.create_application(clerk, campaign, household, entry(campaign, **entry_fields))
    path = State.forward()
    target = path.index(stage) if stage in path else None
    if stage in (State.DRAFT,):
        return app
    if stage in (State.WITHDRAWN,):
        services.withdraw(clerk, app, "不再申请")
        return _fresh(app)
    if stage in (State.REJECTED, State.RETURNED):
        services.submit_application(clerk, app)
        if stage == State.REJECTED:
            services.reject(clerk, [app.pk], "材料不实").raise_if_refused()
        else:
            services.return_applications(
                clerk, [app.pk], State.DRAFT, "补充材料"
            ).raise_if_refused()
        return _fresh(app)
    services.submit_application(clerk, app)
    if target >= path.index(State.APPRAISED):
        services.record_appraisal(
            clerk,
            campaign,
            household.village,
            held_on=datetime.date.today(),
            members="村支书、村委委员、村民代表",
            votes=[services.Vote(app.pk, True, 7, 0, 0)],
        )
    if target >= path.index(State.FIRST_REVIEWED):
        services.first_review(clerk, [app.pk]).raise_if_refused()
    if target >= path.index(State.IN_NOTICE):
        township = household.village.parent
        area = township if campaign.notice_level == "township" else household.village
        services.publish_notice(
            clerk,
            campaign,
            area,
            starts_on=past_notice_start(campaign),
            contact="民政办 0311-1234567",
        )
    if target >= path.index(State.AWAITING_COUNTY):
        services.approve(clerk, [app.pk]).raise_if_refused()
    if target >= path.index(State.APPROVED) and _fresh(app).state != State.APPROVED:
        services.county_approve(clerk, [app.pk], "省总工会批准").raise_if_refused()
    return _fresh(app)


def _fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def open_campaign(people, area, name: str, *, budget: int = 10000, cash: int = 500, **fields):
    """Another open campaign of `area` with one category 一般困难户 (`cash` per
    household) paid from one fund source of `budget`."""
    from campaigns.models import Category, FundSource

    campaign = campaign_services.create_campaign(
        people.superuser,
        area=area,
        kind=fields.pop("kind", "送温暖"),
        name=name,
        issuer=f"{area.name}人民政府",
        year=fields.pop("year", 2026),
        **fields,
    )
    source = FundSource.objects.create(
        campaign=campaign, name="镇财政", payer="财政所", budget=budget
    )
    Category.objects.create(
        campaign=campaign, name="一般困难户", cash=cash, planned_count=10, fund_source=source
    )
    campaign_services.change_status(people.superuser, campaign, CampaignStatus.OPEN)
    campaign.refresh_from_db()
    return campaign
