"""A generated county campaign of any size, for the dashboard's benchmark and
its big-campaign test: a county of `townships` × `villages` villages (its own
area codes, beside the demo county), three categories, two fund sources, a
passed and a coming deadline, and `count` applications in every state, the
approved ones with payments in every state.

Bulk inserts, not the services (50,000 applications through the workflow
would take many minutes): the payments carry no payer shares and no chained
events, which the dashboard does not read; `manage.py verify_chain` would
rightly refuse them. Never run against an office's database.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from applications.choices import HardshipCause, State
from applications.models import Application
from campaigns.choices import CampaignStatus, Deliverable
from campaigns.models import Campaign, CampaignKind, Category, Deadline, FundSource
from disbursements.choices import Kind, Method, PaymentState
from disbursements.models import Payment
from recipients.generate import households_with_heads
from recipients.models import Person
from relief.choices import AreaLevel
from relief.models import Area

COUNTY = "130124000000"

# Of every 20 applications, how many are in each state (approved the most).
STATES = (
    [State.DRAFT] * 2
    + [State.SUBMITTED, State.APPRAISED, State.FIRST_REVIEWED, State.REVIEWED]
    + [State.IN_NOTICE, State.AWAITING_COUNTY, State.RETURNED, State.REJECTED]
    + [State.APPROVED] * 10
)
# Of every 20 approved applications, the fate of their payment (None: not planned).
PAYMENTS = (
    [PaymentState.SIGNED] * 10
    + [PaymentState.HANDED_OVER] * 3
    + [PaymentState.PLANNED] * 4
    + [PaymentState.FAILED]
    + [None] * 2
)


def ensure_county(townships: int, villages: int, code: str = COUNTY) -> Area:
    """The county with its townships and villages (bulk, codes in order)."""
    county = Area.objects.filter(code=code).first()
    if county is None:
        county = Area(code=code, name="生成县")
        county.clean()
        county.save()
    prefix = code[:6]
    wanted_townships = [f"{prefix}{t:03d}000" for t in range(1, townships + 1)]
    have = set(Area.objects.filter(code__startswith=prefix).values_list("code", flat=True))
    Area.objects.bulk_create(
        Area(code=c, name=f"生成{c[6:9]}镇", level=AreaLevel.TOWNSHIP, parent=county)
        for c in wanted_townships
        if c not in have
    )
    parents = {a.code: a for a in Area.objects.filter(code__in=wanted_townships)}
    Area.objects.bulk_create(
        Area(code=v, name=f"{c[6:9]}镇{v[9:]}村", level=AreaLevel.VILLAGE, parent=parents[c])
        for c in wanted_townships
        for v in (f"{c[:9]}{n:03d}" for n in range(1, villages + 1))
        if v not in have
    )
    return county


@transaction.atomic
def generate_campaign(
    count: int,
    *,
    townships: int = 10,
    villages: int = 20,
    name: str | None = None,
    seed: int = 7,
    today: datetime.date | None = None,
    area: Area | None = None,
) -> Campaign:
    """`area`: an existing county (or township) to use, with its villages,
    instead of generating one of `townships` × `villages`."""
    today = today or timezone.localdate()
    rng = random.Random(seed)
    county = area or ensure_county(townships, villages)
    places = list(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county.prefix).order_by(
            "code"
        )
    )
    kind, _created = CampaignKind.objects.get_or_create(name="春节慰问")
    campaign = Campaign.objects.create(
        name=name or f"生成：{count} 份申请",
        issuer="生成县民政局",
        area=county,
        year=today.year,
        kind=kind,
        status=CampaignStatus.OPEN,
        published_on=today - datetime.timedelta(days=40),
    )
    sources = [
        FundSource.objects.create(
            campaign=campaign, name="县财政", payer="县财政局", budget=Decimal(500) * count
        ),
        FundSource.objects.create(
            campaign=campaign,
            name="慈善会",
            payer="县慈善会",
            budget=Decimal(300) * count,
            order=1,
        ),
    ]
    categories = [
        Category.objects.create(
            campaign=campaign, name="一般困难户", cash=Decimal(300), fund_source=sources[0]
        ),
        Category.objects.create(
            campaign=campaign,
            name="重点困难户",
            cash=Decimal(500),
            goods=Decimal(100),
            fund_source=sources[0],
            order=1,
        ),
        Category.objects.create(
            campaign=campaign, name="特困老人", cash=Decimal(400), fund_source=sources[1], order=2
        ),
    ]
    Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.APPLICATIONS,
        due_on=today - datetime.timedelta(days=10),
    )
    Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.DISBURSEMENT,
        level=AreaLevel.TOWNSHIP,
        due_on=today + datetime.timedelta(days=20),
    )
    households = households_with_heads(
        [places[rng.randrange(len(places))] for _n in range(count)],
        lambda n, _household: f"生成{n:06d}",
    )
    heads = dict(
        Person.objects.filter(household__in=[h.pk for h in households]).values_list(
            "household_id", "id_number"
        )
    )
    now = timezone.now()
    applications = []
    for n, household in enumerate(households):
        category = categories[n % len(categories)]
        state = STATES[rng.randrange(len(STATES))]
        applications.append(
            Application(
                number=f"G{campaign.pk}-{n:06d}",
                campaign=campaign,
                household=household,
                village_id=household.village_id,
                category=category,
                fund_source_id=category.fund_source_id,
                state=state,
                cause=HardshipCause.ILLNESS,
                amount=category.cash + category.goods,
                cash=category.cash,
                goods=category.goods,
                late=n % 50 == 0,
                decided_at=now if state == State.APPROVED else None,
            )
        )
    Application.objects.bulk_create(applications, batch_size=2000)
    approved = Application.objects.filter(campaign=campaign, state=State.APPROVED).values_list(
        "pk", "number", "village_id", "fund_source_id", "cash", "goods", "household_id"
    )
    payments = []
    for pk, number, village, source, cash, goods, household in approved:
        state = PAYMENTS[rng.randrange(len(PAYMENTS))]
        if state is None:
            continue
        handed = state in (PaymentState.HANDED_OVER, PaymentState.SIGNED)
        payments.append(
            Payment(
                number=f"{number}-1",
                campaign=campaign,
                application_id=pk,
                village_id=village,
                kind=Kind.PAYMENT,
                state=state,
                method=Method.CASH,
                cash=cash,
                goods=goods,
                amount=cash + goods,
                fund_source_id=source,
                recipient_name=f"户主{household}",
                recipient_id_number=heads[household],
                planned_on=today,
                handed_over_at=now if handed else None,
                signed_at=now if state == PaymentState.SIGNED else None,
                failed_at=now if state == PaymentState.FAILED else None,
            )
        )
    Payment.objects.bulk_create(payments, batch_size=2000)
    return campaign
