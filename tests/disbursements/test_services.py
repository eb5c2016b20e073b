"""The disbursement services: each path of a payment, who may take it, and
what is refused with nothing changed (domain.md §4.7, §5)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from applications.choices import State
from applications.workflow import WorkflowError
from campaigns import services as campaign_services
from campaigns.choices import CampaignStatus, StandardKind
from campaigns.models import Category, FundShare, FundSource
from disbursements import chain, services
from disbursements.choices import Action, Evidence, Kind, Method, PaymentState, ProxyStatus
from disbursements.models import Payment, PaymentEvent, PaymentShare, ProxyException
from relief.models import AuditEvent
from tests.conftest import make_household, valid_id

from .conftest import jpeg, png, receipt, walk

pytestmark = pytest.mark.django_db


def by_name(payments: list[Payment], name: str) -> Payment:
    return next(p for p in payments if p.recipient_name == name)


def events(payment: Payment) -> list[str]:
    return list(payment.events.order_by("seq").values_list("action", flat=True))


# -- planning ---------------------------------------------------------------------------


def test_it_plans_one_payment_per_approved_application_to_the_head(people, campaign, planned):
    assert [(p.recipient_name, p.amount, p.state, p.instalment) for p in planned] == [
        ("张三", Decimal("500.00"), PaymentState.PLANNED, 1),
        ("赵六", Decimal("500.00"), PaymentState.PLANNED, 1),
        ("李四", Decimal("500.00"), PaymentState.PLANNED, 1),
    ]
    zhang = by_name(planned, "张三")
    assert zhang.recipient_id_number == zhang.application.household.head.id_number
    assert zhang.number == f"{zhang.application.number}-1"
    assert list(zhang.shares.values_list("payer", "amount")) == [
        ("城关镇财政所", Decimal("500.00"))
    ]
    assert events(zhang) == [Action.PLANNED]
    assert chain.verify(campaign).ok


def test_it_plans_nothing_twice(people, campaign, planned):
    assert services.plan_payments(people.finance, campaign) == 0
    assert Payment.objects.filter(campaign=campaign).count() == 3


def test_it_plans_only_inside_the_planners_area(people, campaign, approved):
    assert services.plan_payments(people.township_clerk_t2, campaign) == 0
    assert not Payment.objects.exists()


def test_it_refuses_planning_to_a_village_clerk(people, campaign, approved):
    with pytest.raises(WorkflowError):
        services.plan_payments(people.clerk_a, campaign)
    assert not Payment.objects.exists()


def test_it_refuses_planning_in_an_archived_campaign(people, campaign, approved):
    campaign.status = CampaignStatus.ARCHIVED
    campaign.save()
    with pytest.raises(WorkflowError, match="2026年春节慰问"):
        services.plan_payments(people.township_clerk, campaign)
    assert not Payment.objects.exists()


def test_it_pays_an_annual_standard_in_instalments_with_each_payers_share(people, areas, campaign):
    """深度困难职工 7900元/户/年, quarterly, paid half by the district and half by
    the town: four payments 1975.00, three months apart, each split in two."""
    source = FundSource.objects.create(
        campaign=campaign, name="帮扶资金", payer="区", budget=100000
    )
    FundShare.objects.create(fund_source=source, payer="区财政", percent=50)
    FundShare.objects.create(fund_source=source, payer="镇财政", percent=50)
    deep = Category.objects.create(
        campaign=campaign,
        name="深度困难职工",
        kind=StandardKind.INSTALMENTS,
        annual=7901,
        instalments=4,
        fund_source=source,
    )
    home = make_household(people.superuser, areas.a, "钱七")
    walk(people, campaign, home, State.APPROVED, category=deep)
    services.plan_payments(people.finance, campaign, first_on=datetime.date(2026, 1, 31))
    rows = list(Payment.objects.order_by("instalment"))
    assert [(p.instalment, p.instalments, p.amount, p.planned_on) for p in rows] == [
        (1, 4, Decimal("1975.25"), datetime.date(2026, 1, 31)),
        (2, 4, Decimal("1975.25"), datetime.date(2026, 4, 30)),
        (3, 4, Decimal("1975.25"), datetime.date(2026, 7, 31)),
        (4, 4, Decimal("1975.25"), datetime.date(2026, 10, 31)),
    ]
    assert sum(p.amount for p in rows) == Decimal("7901.00")
    assert list(rows[0].shares.values_list("payer", "amount")) == [
        ("区财政", Decimal("987.63")),
        ("镇财政", Decimal("987.62")),
    ]


def test_it_plans_goods_as_goods(people, areas, campaign):
    rice = Category.objects.create(campaign=campaign, name="敬老院集中供养", goods=100)
    walk(
        people,
        campaign,
        make_household(people.superuser, areas.a, "孙八"),
        State.APPROVED,
        category=rice,
    )
    services.plan_payments(people.finance, campaign)
    payment = Payment.objects.get()
    assert (payment.method, payment.cash, payment.goods) == (Method.GOODS, 0, Decimal("100.00"))


def test_it_arranges_a_bank_transfer_only_with_an_account(people, planned):
    zhang = by_name(planned, "张三")
    with pytest.raises(WorkflowError):
        services.arrange(people.finance, zhang, services.Arrangement(method=Method.BANK))
    services.arrange(
        people.finance,
        zhang,
        services.Arrangement(method=Method.BANK, account="6217 0000 1234 5678", cadres="王会计"),
    )
    zhang.refresh_from_db()
    assert (zhang.method, zhang.account, zhang.masked_account) == (
        Method.BANK,
        "6217000012345678",
        "****5678",
    )
    assert events(zhang) == [Action.PLANNED, Action.ARRANGED]


# -- handing over and signing -----------------------------------------------------------


def test_it_hands_over_once_however_often_it_is_asked(people, planned):
    zhang = by_name(planned, "张三")
    services.hand_over(people.clerk_a, zhang, cadres="村支书 王某")
    again = services.hand_over(people.clerk_a, zhang)
    assert again.state == PaymentState.HANDED_OVER
    assert again.cadres == "村支书 王某"
    assert events(zhang) == [Action.PLANNED, Action.HANDED_OVER]
    assert (
        AuditEvent.objects.filter(action="payment.handed_over", target_id=str(zhang.pk)).count()
        == 1
    )


def test_it_refuses_the_clerk_of_another_village(people, planned):
    zhang = by_name(planned, "张三")
    with pytest.raises(WorkflowError):
        services.hand_over(people.clerk_b, zhang)
    with pytest.raises(WorkflowError):
        services.sign(people.clerk_b, zhang, receipt())
    zhang.refresh_from_db()
    assert zhang.state == PaymentState.PLANNED
    assert events(zhang) == [Action.PLANNED]


def test_it_signs_on_the_pad_and_keeps_the_evidence(people, planned):
    zhang = by_name(planned, "张三")
    # Planned yesterday, signed offline 20 minutes ago, sent now.
    Payment.objects.filter(pk=zhang.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )
    signed_at = timezone.now() - datetime.timedelta(minutes=20)
    photo = SimpleUploadedFile("visit.jpg", jpeg(), content_type="image/jpeg")
    services.sign(people.clerk_a, zhang, receipt(key="tablet-1", signed_at=signed_at, photo=photo))
    zhang.refresh_from_db()
    assert zhang.state == PaymentState.SIGNED
    assert zhang.evidence == Evidence.PAD
    assert zhang.signed_at == signed_at  # signed offline earlier, recorded now
    assert zhang.signature.read() == png()
    assert len(zhang.signature_sha256) == len(zhang.photo_sha256) == 64
    assert zhang.handed_over_by == people.clerk_a
    assert events(zhang) == [Action.PLANNED, Action.HANDED_OVER, Action.SIGNED]


def test_it_records_a_resent_receipt_once(people, planned):
    zhang = by_name(planned, "张三")
    first = services.sign(people.clerk_a, zhang, receipt(key="tablet-7"))
    second = services.sign(people.clerk_a, zhang, receipt(key="tablet-7"))
    assert first.pk == second.pk
    assert events(zhang) == [Action.PLANNED, Action.HANDED_OVER, Action.SIGNED]


def test_it_refuses_a_second_receipt_under_another_key(people, planned):
    zhang = by_name(planned, "张三")
    services.sign(people.clerk_a, zhang, receipt(key="tablet-1"))
    with pytest.raises(WorkflowError, match=zhang.number):
        services.sign(people.clerk_a, zhang, receipt(key="tablet-2"))
    assert events(zhang).count(Action.SIGNED) == 1


def test_it_refuses_a_key_already_used_for_another_payment(people, planned):
    zhang, zhao = by_name(planned, "张三"), by_name(planned, "赵六")
    services.sign(people.clerk_a, zhang, receipt(key="tablet-1"))
    with pytest.raises(WorkflowError):
        services.sign(people.clerk_a, zhao, receipt(key="tablet-1"))
    zhao.refresh_from_db()
    assert zhao.state == PaymentState.PLANNED


@pytest.mark.parametrize(
    "fields",
    [
        {"signature": png(ink=False)},
        {"countersignature": png(ink=False)},
        {"signature": b"not an image"},
        {"signature": b""},
        {"signature": b"\x89PNG\r\n\x1a\n" + b"0" * 100},
    ],
    ids=["blank", "blank-cadre", "garbage", "empty", "broken-png"],
)
def test_it_refuses_a_receipt_without_a_real_signature(people, planned, fields):
    zhang = by_name(planned, "张三")
    with pytest.raises(WorkflowError):
        services.sign(people.clerk_a, zhang, receipt(**fields))
    zhang.refresh_from_db()
    assert (zhang.state, zhang.signature_sha256) == (PaymentState.PLANNED, "")
    assert events(zhang) == [Action.PLANNED]


@pytest.mark.parametrize("days", [1, -30], ids=["future", "before-it-was-planned"])
def test_it_takes_the_servers_time_for_an_implausible_device_clock(people, planned, days):
    zhang = by_name(planned, "张三")
    services.sign(
        people.clerk_a, zhang, receipt(signed_at=timezone.now() + datetime.timedelta(days=days))
    )
    zhang.refresh_from_db()
    assert abs(zhang.signed_at - timezone.now()) < datetime.timedelta(minutes=1)


def proxy(**fields) -> services.Proxy:
    values = {"name": "张小三", "id_number": valid_id(), "relation": "儿子", "reason": "本人卧床"}
    values.update(fields)
    return services.Proxy(**values)


def test_it_refuses_a_proxy_without_an_approved_exception(people, planned):
    zhang = by_name(planned, "张三")
    with pytest.raises(WorkflowError, match="严禁代领"):
        services.sign(people.clerk_a, zhang, receipt(by_proxy=True))
    services.request_proxy(people.clerk_a, zhang, proxy())
    with pytest.raises(WorkflowError, match="严禁代领"):  # requested, not yet approved
        services.sign(people.clerk_a, zhang, receipt(by_proxy=True))
    zhang.refresh_from_db()
    assert zhang.state == PaymentState.PLANNED


def test_it_accepts_a_proxy_approved_by_a_supervisor(people, planned):
    zhang = by_name(planned, "张三")
    exception = services.request_proxy(people.clerk_a, zhang, proxy())
    services.decide_proxy(people.supervisor, exception, approve=True, note="核实属实")
    services.sign(people.clerk_a, zhang, receipt(by_proxy=True))
    zhang.refresh_from_db()
    assert zhang.proxy == exception
    assert zhang.events.get(action=Action.SIGNED).record["proxy"] == exception.pk


def test_it_refuses_a_refused_proxy(people, planned):
    zhang = by_name(planned, "张三")
    exception = services.request_proxy(people.township_clerk, zhang, proxy())
    services.decide_proxy(people.supervisor, exception, approve=False, note="本人可到场")
    with pytest.raises(WorkflowError):
        services.decide_proxy(people.supervisor, exception, approve=True)
    with pytest.raises(WorkflowError, match="严禁代领"):
        services.sign(people.clerk_a, zhang, receipt(by_proxy=True))


def test_it_checks_the_proxys_id_number_and_who_decides(people, planned):
    zhang = by_name(planned, "张三")
    with pytest.raises(WorkflowError):
        services.request_proxy(people.clerk_a, zhang, proxy(id_number="130123196001010001"))
    with pytest.raises(WorkflowError):
        services.request_proxy(people.clerk_a, zhang, proxy(id_number=zhang.recipient_id_number))
    with pytest.raises(WorkflowError):
        services.request_proxy(people.clerk_a, zhang, proxy(relation=" "))
    exception = services.request_proxy(people.clerk_a, zhang, proxy())
    with pytest.raises(WorkflowError):  # a clerk may not approve
        services.decide_proxy(people.township_clerk, exception, approve=True)
    assert ProxyException.objects.get().status == ProxyStatus.REQUESTED


def test_it_fails_a_payment_with_its_reason_and_never_signs_it_after(people, planned):
    li = by_name(planned, "李四")
    with pytest.raises(WorkflowError):
        services.fail(people.clerk_b, li, "other", "  ")
    services.fail(people.clerk_b, li, "deceased", "2026年1月去世")
    li.refresh_from_db()
    assert (li.state, li.failure_reason, li.failure_note) == (
        PaymentState.FAILED,
        "deceased",
        "2026年1月去世",
    )
    with pytest.raises(WorkflowError):
        services.sign(people.clerk_b, li, receipt())
    with pytest.raises(WorkflowError):
        services.hand_over(people.clerk_b, li)


def test_it_attaches_a_photo_as_an_event(people, planned):
    zhang = by_name(planned, "张三")
    services.attach_photo(
        people.clerk_a, zhang, SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")
    )
    with pytest.raises(WorkflowError):
        services.attach_photo(
            people.clerk_a, zhang, SimpleUploadedFile("a.pdf", b"%PDF-1.4 x", content_type="x")
        )
    assert events(zhang) == [Action.PLANNED, Action.PHOTO]


# -- paper sheets -----------------------------------------------------------------------


def scan_file() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "东关村签收表.pdf", b"%PDF-1.4 signed sheet", content_type="application/pdf"
    )


def test_it_ticks_off_lines_against_the_scan(people, areas, campaign, planned):
    zhang, zhao = by_name(planned, "张三"), by_name(planned, "赵六")
    scan = services.attach_scan(people.township_clerk, campaign, areas.a, scan_file())
    assert services.confirm_from_scan(people.township_clerk, scan, [zhang.pk, zhao.pk]) == 2
    zhang.refresh_from_db()
    assert (zhang.state, zhang.evidence, zhang.scan) == (PaymentState.SIGNED, Evidence.SHEET, scan)
    # Ticking again signs nothing twice.
    assert services.confirm_from_scan(people.township_clerk, scan, [zhang.pk]) == 0
    assert events(zhang).count(Action.SIGNED) == 1


def test_it_refuses_lines_of_another_village_or_a_proxy_without_exception(
    people, areas, campaign, planned
):
    zhang, li = by_name(planned, "张三"), by_name(planned, "李四")
    scan = services.attach_scan(people.township_clerk, campaign, areas.a, scan_file())
    with pytest.raises(WorkflowError):
        services.confirm_from_scan(people.township_clerk, scan, [zhang.pk, li.pk])
    with pytest.raises(WorkflowError, match=zhang.number):
        services.confirm_from_scan(people.township_clerk, scan, [zhang.pk], by_proxy=[zhang.pk])
    assert not Payment.objects.filter(state=PaymentState.SIGNED).exists()
    with pytest.raises(WorkflowError):  # a village clerk does not file scans
        services.attach_scan(people.clerk_a, campaign, areas.a, scan_file())


# -- corrections ------------------------------------------------------------------------


def test_it_corrects_a_signed_record_by_reversal_and_replacement(people, planned):
    zhang = by_name(planned, "张三")
    services.sign(people.clerk_a, zhang, receipt())
    signed = Payment.objects.get(pk=zhang.pk)
    reversal, replacement = services.correct(
        people.finance,
        zhang,
        services.Correction(cash=Decimal("600"), goods=Decimal("0"), method=Method.CASH),
        "签收表金额为600元，录入有误",
    )
    original = Payment.objects.get(pk=zhang.pk)
    assert chain.snapshot(original, []) | {"shares": []} == chain.snapshot(signed, []) | {
        "shares": []
    }  # the signed record itself is untouched
    assert (reversal.kind, reversal.amount, reversal.corrects) == (
        Kind.REVERSAL,
        Decimal("-500.00"),
        original,
    )
    assert (replacement.kind, replacement.amount, replacement.signature_sha256) == (
        Kind.REPLACEMENT,
        Decimal("600.00"),
        original.signature_sha256,
    )
    net = sum(
        Payment.objects.filter(application=zhang.application).values_list("amount", flat=True)
    )
    assert net == Decimal("600.00")
    assert list(PaymentShare.objects.filter(payment=reversal).values_list("amount", flat=True)) == [
        Decimal("-500.00")
    ]
    with pytest.raises(WorkflowError):  # corrected once; correct the replacement instead
        services.correct(
            people.finance,
            zhang,
            services.Correction(cash=Decimal("700"), goods=Decimal("0"), method=Method.CASH),
            "again",
        )


def test_it_refuses_corrections_of_unsigned_records_and_by_clerks(people, planned):
    zhang = by_name(planned, "张三")
    fix = services.Correction(cash=Decimal("600"), goods=Decimal("0"), method=Method.CASH)
    with pytest.raises(WorkflowError):
        services.correct(people.finance, zhang, fix, "x")
    services.sign(people.clerk_a, zhang, receipt())
    with pytest.raises(WorkflowError):
        services.correct(people.township_clerk, zhang, fix, "x")
    with pytest.raises(WorkflowError):
        services.correct(people.finance, zhang, fix, "  ")
    assert Payment.objects.filter(application=zhang.application).count() == 1


# -- finance ----------------------------------------------------------------------------


def test_it_books_signed_records_and_closes_a_settled_village(people, areas, campaign, planned):
    zhang, zhao = by_name(planned, "张三"), by_name(planned, "赵六")
    services.sign(people.clerk_a, zhang, receipt())
    assert services.book(people.finance, campaign, areas.a) == 1
    with pytest.raises(WorkflowError):  # 赵六 not yet reached
        services.close_village(people.finance, campaign, areas.a)
    services.fail(people.clerk_a, zhao, "not_found", "外出务工")
    closing = services.close_village(people.finance, campaign, areas.a)
    assert closing.figures["signed_amount"] == "500.00"
    assert closing.figures["failed_amount"] == "500.00"
    zhang.refresh_from_db()
    assert zhang.booked_by == people.finance
    with pytest.raises(WorkflowError):  # closed: nothing of the village changes
        services.attach_photo(
            people.clerk_a, zhang, SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")
        )
    assert chain.verify(campaign).ok


def test_it_refuses_closing_with_signed_records_not_booked(people, areas, campaign, planned):
    for payment in planned[:2]:
        services.sign(people.clerk_a, payment, receipt())
    with pytest.raises(WorkflowError, match="2"):
        services.close_village(people.finance, campaign, areas.a)
    with pytest.raises(WorkflowError):
        services.book(people.township_clerk, campaign, areas.a)


def test_it_keeps_the_chain_and_the_audit_log_in_step(people, areas, campaign, planned):
    zhang, zhao, li = (by_name(planned, n) for n in ("张三", "赵六", "李四"))
    services.sign(people.clerk_a, zhang, receipt())
    services.hand_over(people.clerk_a, zhao)
    services.fail(people.clerk_b, li, "refused")
    services.book(people.finance, campaign, areas.a)
    chained = list(PaymentEvent.objects.filter(campaign=campaign).order_by("seq"))
    assert [e.seq for e in chained] == list(range(1, 9))
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(chained))
    logged = AuditEvent.objects.filter(action__startswith="payment.").exclude(
        action__in=["payment.scan"]
    )
    assert sorted(logged.values_list("data__seq", flat=True)) == list(range(1, 9))
    assert chain.verify(campaign).ok


def test_it_refuses_everything_in_a_draft_campaign(people, areas, campaign, planned):
    campaign_services.change_status(people.superuser, campaign, CampaignStatus.CLOSED)
    campaign.refresh_from_db()
    services.hand_over(people.clerk_a, by_name(planned, "张三"))  # closed for entry, still paying
    campaign.status = CampaignStatus.ARCHIVED
    campaign.save()
    with pytest.raises(WorkflowError):
        services.hand_over(people.clerk_a, by_name(planned, "赵六"))


def test_it_chains_the_hand_over_at_the_door_as_its_own_state(people, areas, campaign, planned):
    """Signed at the door (pad) or ticked off a scan while still planned: the
    hand-over event holds the record as handed over, the next one as signed."""
    zhang, zhao = by_name(planned, "张三"), by_name(planned, "赵六")
    services.sign(people.clerk_a, zhang, receipt())
    scan = services.attach_scan(people.township_clerk, campaign, areas.a, scan_file())
    services.confirm_from_scan(people.township_clerk, scan, [zhao.pk])
    for payment in (zhang, zhao):
        handed, signed = payment.events.filter(seq__gt=3).order_by("seq")
        assert (handed.action, handed.from_state, handed.to_state) == (
            Action.HANDED_OVER,
            PaymentState.PLANNED,
            PaymentState.HANDED_OVER,
        )
        assert (handed.record["state"], handed.record["signature"], handed.record["scan"]) == (
            PaymentState.HANDED_OVER,
            "",
            None,
        )
        assert (signed.from_state, signed.to_state, signed.record["state"]) == (
            PaymentState.HANDED_OVER,
            PaymentState.SIGNED,
            PaymentState.SIGNED,
        )
    assert chain.verify(campaign).ok


def test_it_refuses_a_scan_of_a_village_outside_the_campaign(people, areas, campaign, planned):
    with pytest.raises(WorkflowError):
        services.attach_scan(people.superuser, campaign, areas.c, scan_file())
