"""Demo payments: the demo campaign's approved applications paid out in every
state a payment can be in, through disbursements.services by the demo
accounts of each role, so the chain verifies and the 三个一 figures balance.

The applications demo approves only a handful of households (some stay in the
earlier stages on purpose), so a few more households of each village of the
township go through the whole workflow first (a supplementary public notice,
补充公示), giving every village enough payments to show:

- 南街社区: signed on the tablet, signed on the paper sheet (ticked off against
  its scan), failed (the recipient died); everything booked and the village
  closed by the finance office;
- 东关村: signed on the tablet and later corrected by the finance office
  (reversal + replacement: 100 yuan less was signed for and returned),
  signed by a proxy whose exception a supervisor approved, handed over but
  not signed with a refused proxy exception, and one planned as a transfer
  to the one-card account; the signed ones booked before the correction, so
  the correction waits for booking;
- 西关村: signed on the sheet with a photo of the visit, handed over, and
  planned with the delivering cadres arranged.

The demo campaign pays every category in one instalment (春节慰问 has no
annual standard), so no quarterly payments are made up here.
"""

from __future__ import annotations

import datetime
import io
import random
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from applications import services as applications
from applications.choices import HardshipCause, State
from campaigns.models import Campaign
from disbursements import services
from disbursements.choices import FailureReason, Method
from disbursements.models import Payment
from recipients.choices import Relation
from recipients.models import Household
from relief import idnumber
from relief.choices import AreaLevel, Role
from relief.models import Area, RoleAssignment, User

EXTRA_PER_VILLAGE = 2  # households of each village approved for the payments demo
CLOSED_VILLAGE = "130123100001"  # 南街社区
CORRECTED_VILLAGE = "130123100201"  # 东关村
OPEN_VILLAGE = "130123100202"  # 西关村
FACTS = [
    {"dibao": False, "medical_self_pay": "3000"},  # 一般
    {"dibao": True, "medical_self_pay": "26000"},  # 中度
]


@dataclass(frozen=True)
class Staff:
    office: User  # the township's social affairs office
    supervisor: User
    finance: User
    approver: User | None


def _holder(role: str, area: Area) -> User | None:
    found = RoleAssignment.objects.select_related("user").filter(role=role, area=area).first()
    return found.user if found else None


def signature(seed: str, *, size: tuple[int, int] = (360, 140)) -> bytes:
    """A handwritten-looking signature as the tablet's pad sends it: dark
    strokes on a transparent canvas (PNG), the same for the same seed."""
    rng = random.Random(seed)
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    width, height = size
    for stroke in range(rng.randint(2, 4)):
        left = 20 + stroke * (width - 40) // 4
        points = [(left, rng.randint(40, height - 40))]
        for _step in range(rng.randint(4, 7)):
            x = min(width - 10, points[-1][0] + rng.randint(8, 30))
            points.append((x, rng.randint(25, height - 25)))
        draw.line(points, fill=(20, 20, 60, 255), width=rng.randint(3, 5), joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo(seed: str) -> SimpleUploadedFile:
    """A stand-in for the photo of the visit (a JPEG)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), (rng.randint(150, 220), 190, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 60, 220, 200), fill=(200, 60, 50))  # the red envelope
    out = io.BytesIO()
    image.save(out, "JPEG")
    return SimpleUploadedFile(f"{seed}.jpg", out.getvalue(), content_type="image/jpeg")


def sheet_scan(village: Area) -> SimpleUploadedFile:
    """A stand-in for the scan of the village's signed payment sheet (a PDF)."""
    body = b"%PDF-1.4\n% demo scan of a signed payment sheet\n%%EOF\n"
    return SimpleUploadedFile(f"{village.name}-签收表扫描件.pdf", body)


def _receipt(payment: Payment, *, by_proxy: bool = False) -> services.Receipt:
    return services.Receipt(
        signature=signature(f"{payment.number}-recipient"),
        countersignature=signature(f"{payment.number}-cadre"),
        device="演示平板 DEMO-01",
        key=f"demo-{payment.number}",
        by_proxy=by_proxy,
    )


def _proxy_for(payment: Payment) -> services.Proxy:
    """Another member of the recipient's household, or a neighbour."""
    member = (
        payment.application.household.members.exclude(relation=Relation.HEAD)
        .exclude(id_number=payment.recipient_id_number)
        .first()
    )
    if member is not None:
        return services.Proxy(
            name=member.name,
            id_number=member.id_number,
            relation=member.get_relation_display(),
            reason="户主卧病在床，无法签字，由家属代领并按手印确认",
        )
    number = idnumber.make("130123", datetime.date(1975, 5, 1), 2 * payment.pk + 1)
    return services.Proxy(
        name="邻居王某",
        id_number=number,
        relation="邻居",
        reason="户主外出就医，委托邻居代领",
    )


def _approve_more(campaign: Campaign, villages: list[Area], staff: Staff) -> None:
    """A few more households of each village through the whole workflow."""
    today = timezone.localdate()
    category = campaign.categories.get(name="困难家庭")
    waiting = []
    for village in villages:
        clerk = _holder(Role.VILLAGE_CLERK, village)
        if clerk is None:
            continue
        households = (
            Household.objects.filter(village=village)
            .exclude(applications__campaign=campaign)
            .order_by("number")[:EXTRA_PER_VILLAGE]
        )
        apps = []
        for i, household in enumerate(households):
            entry = applications.Entry(category, HardshipCause.ILLNESS, "general", FACTS[i % 2])
            app = applications.create_application(clerk, campaign, household, entry)
            applications.submit_application(clerk, app)
            apps.append(app)
        if not apps:
            continue
        applications.record_appraisal(
            clerk,
            campaign,
            village,
            held_on=today - datetime.timedelta(days=8),
            members="村党支部书记、村委会主任、村民代表5人、村务监督委员会成员",
            votes=[applications.Vote(a.pk, True, 7, 0, 0) for a in apps],
        )
        waiting.extend(a.pk for a in apps)
    if not waiting:
        return
    applications.first_review(staff.office, waiting).raise_if_refused()
    applications.publish_notice(
        staff.supervisor,
        campaign,
        campaign.area,
        starts_on=today - datetime.timedelta(days=campaign.notice_days),
        contact="镇社会事务办 0311-87654321（补充公示）",
    )
    applications.approve(staff.supervisor, waiting)
    county = list(
        campaign.applications.filter(pk__in=waiting, state=State.AWAITING_COUNTY).values_list(
            "pk", flat=True
        )
    )
    if county and staff.approver is not None:
        applications.county_approve(staff.approver, county, "县民政局审批同意")


def ensure_payments(campaign: Campaign | None) -> int:
    """Pay out the demo campaign once; returns how many payment records it has."""
    if campaign is None:
        return 0
    if campaign.payments.exists():
        return campaign.payments.count()
    township = campaign.area
    staff = Staff(
        office=_holder(Role.TOWNSHIP_CLERK, township),
        supervisor=_holder(Role.TOWNSHIP_SUPERVISOR, township),
        finance=_holder(Role.FINANCE_OFFICER, township),
        approver=_holder(Role.COUNTY_APPROVER, township.parent) if township.parent else None,
    )
    villages = list(Area.objects.filter(parent=township, level=AreaLevel.VILLAGE).order_by("code"))
    with transaction.atomic():
        _approve_more(campaign, villages, staff)
        services.plan_payments(staff.office, campaign, first_on=timezone.localdate())
        for village in villages:
            payments = list(Payment.objects.filter(campaign=campaign, village=village))
            clerk = _holder(Role.VILLAGE_CLERK, village) or staff.office
            if village.code == CLOSED_VILLAGE:
                _closed_village(campaign, village, payments, clerk, staff)
            elif village.code == CORRECTED_VILLAGE:
                _corrected_village(payments, clerk, staff, campaign, village)
            elif village.code == OPEN_VILLAGE:
                _open_village(campaign, village, payments, clerk, staff)
    return campaign.payments.count()


def _fresh(payment: Payment) -> Payment:
    return Payment.objects.select_related("application__household").get(pk=payment.pk)


def _closed_village(
    campaign: Campaign, village: Area, payments: list[Payment], clerk: User, staff: Staff
) -> None:
    """Everything paid or failed, booked, and the village closed."""
    on_sheet = []
    for i, payment in enumerate(payments):
        if i % 3 == 0:
            services.sign(clerk, payment, _receipt(payment))
        elif i % 3 == 1:
            services.hand_over(clerk, payment, cadres="社会事务办 刘志强、村委 张丽华")
            on_sheet.append(payment.pk)
        else:
            services.fail(clerk, payment, FailureReason.DECEASED, "户主已于走访前去世，款项退回")
    if on_sheet:
        scan = services.attach_scan(staff.office, campaign, village, sheet_scan(village))
        services.confirm_from_scan(staff.office, scan, on_sheet)
    services.book(staff.finance, campaign, village)
    services.close_village(staff.finance, campaign, village)


def _corrected_village(
    payments: list[Payment], clerk: User, staff: Staff, campaign: Campaign, village: Area
) -> None:
    """A correction after booking, a proxy approved and one refused, and an
    arranged bank transfer still to be made."""
    corrected = None
    for i, payment in enumerate(payments):
        payment = _fresh(payment)
        if i == 0:
            services.sign(clerk, payment, _receipt(payment))
            corrected = payment
        elif i == 1:
            exception = services.request_proxy(clerk, payment, _proxy_for(payment))
            services.decide_proxy(staff.supervisor, exception, True, "情况属实，同意代领")
            services.sign(clerk, payment, _receipt(payment, by_proxy=True))
        elif i == 2:
            services.hand_over(clerk, payment, cadres="包村干部 王建军")
            exception = services.request_proxy(clerk, payment, _proxy_for(payment))
            services.decide_proxy(
                staff.supervisor, exception, False, "本人可以到场，不同意代领，请本人签收"
            )
        else:
            services.arrange(
                staff.office,
                payment,
                services.Arrangement(
                    method=Method.BANK,
                    account="6217 0000 1234 5678 901",
                    planned_on=timezone.localdate() + datetime.timedelta(days=14),
                    cadres="镇财政所",
                ),
            )
    services.book(staff.finance, campaign, village)
    if corrected is not None:
        corrected.refresh_from_db()
        short = Decimal("100.00")
        services.correct(
            staff.finance,
            corrected,
            services.Correction(
                cash=corrected.cash - short, goods=corrected.goods, method=corrected.method
            ),
            "核对签收表原件：户主实际签收金额比记录少100元，差额已退回镇财政所，更正记录",
        )


def _open_village(
    campaign: Campaign, village: Area, payments: list[Payment], clerk: User, staff: Staff
) -> None:
    """Signed on the sheet with a photo, handed over, and planned with a team."""
    for i, payment in enumerate(payments):
        if i == 0:
            services.attach_photo(clerk, payment, photo(payment.number))
            services.hand_over(clerk, payment, cadres="包村干部 陈晓梅")
            scan = services.attach_scan(staff.office, campaign, village, sheet_scan(village))
            services.confirm_from_scan(staff.office, scan, [payment.pk])
        elif i == 1:
            services.hand_over(clerk, payment, cadres="包村干部 陈晓梅")
        else:
            services.arrange(
                staff.office,
                payment,
                services.Arrangement(
                    method=Method.CASH,
                    planned_on=timezone.localdate() + datetime.timedelta(days=7),
                    cadres="镇社会事务办 刘志强、村委 张丽华",
                    goods_items=[{"item": "大米", "quantity": "10kg"}],
                ),
            )
