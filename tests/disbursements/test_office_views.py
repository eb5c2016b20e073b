"""The office's disbursement screens as each persona uses them: the campaign's
三个一, a village's payments and the tick-off against the scanned sheet, one
payment and its actions, and the finance office's booking and closing.

Assertions read the database, the views' context, numbers and status codes;
messages are checked by their level, not by their wording (the Chinese
catalogue does not hold the new strings yet)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.choices import State
from disbursements import services
from disbursements.choices import Evidence, Kind, Method, PaymentState, ProxyStatus
from disbursements.models import Payment, ProxyException, SheetScan, VillageClosing
from tests.applications.conftest import open_campaign, walk
from tests.conftest import make_household, valid_id

from .conftest import jpeg, receipt

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 signed sheet"


# -- helpers ------------------------------------------------------------------------------


def as_user(client, user):
    client.force_login(user)
    return client


def levels(response) -> list[str]:
    """The levels of the messages the request left, which are then dropped so
    that the next request's are read alone."""
    found = [m.level_tag for m in get_messages(response.wsgi_request)]
    response.client.cookies.pop("messages", None)
    return found


def fresh(payment: Payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def of_village(payments, village) -> list[Payment]:
    return [p for p in payments if p.village_id == village.pk]


def url(name: str, *args) -> str:
    return reverse(f"disbursements:{name}", args=args)


def proxy_data(**overrides) -> dict[str, str]:
    data = {
        "name": "张小三",
        "id_number": valid_id(),
        "relation": "儿子",
        "reason": "户主卧病在床",
    }
    data.update(overrides)
    return data


def approved_proxy(people, payment: Payment) -> ProxyException:
    exception = services.request_proxy(
        people.clerk_a,
        payment,
        services.Proxy("张小三", valid_id(), "儿子", "户主卧病在床"),
    )
    return services.decide_proxy(people.supervisor, exception, True)


def scan_of(people, campaign, village) -> SheetScan:
    return services.attach_scan(
        people.township_clerk, campaign, village, SimpleUploadedFile("sheet.pdf", PDF)
    )


# -- the campaign's 三个一 ---------------------------------------------------------------------


def test_it_shows_the_campaign_figures_to_the_office(client, people, areas, campaign, planned):
    a1, _a2 = of_village(planned, areas.a)
    services.sign(people.clerk_a, a1, receipt())
    response = as_user(client, people.township_clerk).get(url("campaign", campaign.pk))
    assert response.status_code == 200
    figures = response.context["figures"]
    assert [line.village_id for line in figures.lines] == [areas.a.pk, areas.b.pk]
    assert all(line.balanced for line in figures.lines) and figures.total.balanced
    assert figures.total.approved_amount == Decimal("1500.00")
    assert figures.total.signed_amount == Decimal("500.00")
    assert figures.total.planned_amount == Decimal("1000.00")
    assert response.context["can_plan"] and response.context["plannable"] == 0
    content = response.content.decode()
    assert url("village", campaign.pk, areas.a.pk) in content
    assert reverse("documents:payment_sheet_pdf", args=[campaign.pk, areas.a.pk]) in content
    assert reverse("documents:signed_ledger", args=[campaign.pk]) in content


def test_it_shows_a_village_clerk_only_their_own_village(client, people, areas, campaign, planned):
    response = as_user(client, people.clerk_a).get(url("campaign", campaign.pk))
    assert response.status_code == 200
    assert [line.village_id for line in response.context["figures"].lines] == [areas.a.pk]
    assert not response.context["can_plan"] and not response.context["can_export"]


@pytest.mark.parametrize(
    ("persona", "page", "finance"),
    [("township_clerk_t2", 404, 403), ("admin", 403, 403), ("nobody", 403, 403), (None, 302, 302)],
)
def test_it_refuses_the_campaign_page(client, people, campaign, planned, persona, page, finance):
    if persona:
        as_user(client, getattr(people, persona))
    assert client.get(url("campaign", campaign.pk)).status_code == page
    assert client.get(url("finance", campaign.pk)).status_code == finance


def test_it_plans_the_payments_from_the_campaign_page(client, people, campaign, approved):
    as_user(client, people.township_clerk)
    page = client.get(url("campaign", campaign.pk))
    assert page.context["plannable"] == 3
    first = datetime.date(2027, 1, 20)
    response = client.post(url("plan", campaign.pk), {"first_on": first.isoformat()})
    assert response.status_code == 302 and levels(response) == ["success"]
    assert Payment.objects.filter(campaign=campaign, planned_on=first).count() == 3
    again = client.post(url("plan", campaign.pk), {})
    assert levels(again) == ["error"]
    assert Payment.objects.filter(campaign=campaign).count() == 3


def test_it_plans_one_village_only(client, people, areas, campaign, approved):
    as_user(client, people.finance)
    response = client.post(url("plan", campaign.pk), {"village": areas.b.pk})
    assert levels(response) == ["success"]
    assert set(Payment.objects.values_list("village", flat=True)) == {areas.b.pk}


def test_it_refuses_planning_to_others(client, people, campaign, approved):
    assert as_user(client, people.clerk_a).post(url("plan", campaign.pk)).status_code == 403
    t2 = as_user(client, people.township_clerk_t2).post(url("plan", campaign.pk))
    assert t2.status_code == 404
    assert not Payment.objects.exists()


# -- a village ------------------------------------------------------------------------------


def test_it_lists_a_villages_payments_and_who_is_not_reached(
    client, people, areas, campaign, planned
):
    a1, a2 = of_village(planned, areas.a)
    services.sign(people.clerk_a, a1, receipt())
    services.fail(people.clerk_a, a2, "deceased")
    extra = walk(people, campaign, make_household(people.superuser, areas.a, "钱七"), "approved")
    response = as_user(client, people.clerk_a).get(url("village", campaign.pk, areas.a.pk))
    assert response.status_code == 200
    assert [p.number for p in response.context["page"]] == [a1.number, a2.number]
    not_reached = {row["number"]: row for row in response.context["not_reached"]}
    assert set(not_reached) == {a2.application.number, extra.number}
    assert not_reached[a2.application.number]["payment_state"] == PaymentState.FAILED
    assert not_reached[extra.number]["payment_state"] is None
    line = response.context["line"]
    assert (line.approved_count, line.not_reached_count, line.unplanned_count) == (3, 2, 1)
    content = response.content.decode()
    assert a1.recipient_id_number not in content  # masked
    assert a1.recipient_id_number[-4:] in content
    # A village clerk files no scans: no tick-off form.
    assert not response.context["can_scan"]


def test_it_filters_a_villages_payments_by_state(client, people, areas, campaign, planned):
    _a1, a2 = of_village(planned, areas.a)
    services.hand_over(people.clerk_a, a2)
    as_user(client, people.township_clerk)
    page = client.get(url("village", campaign.pk, areas.a.pk), {"state": "handed_over"})
    assert [p.pk for p in page.context["page"]] == [a2.pk]
    everything = client.get(url("village", campaign.pk, areas.a.pk), {"state": "nonsense"})
    assert len(everything.context["page"]) == 2


@pytest.mark.parametrize(("persona", "status"), [("clerk_b", 404), ("township_clerk_t2", 404)])
def test_it_hides_village_a_from_others(client, people, areas, campaign, planned, persona, status):
    as_user(client, getattr(people, persona))
    assert client.get(url("village", campaign.pk, areas.a.pk)).status_code == status


def test_it_lists_the_village_page_in_the_same_number_of_queries_for_3_or_30_payments(
    client, people, areas
):
    campaign = open_campaign(people, areas.t1, "2026年送温暖", budget=100000)

    def approve_and_plan(n: int, start: int) -> None:
        for i in range(start, start + n):
            home = make_household(people.superuser, areas.a, f"户主{i}")
            walk(people, campaign, home, State.APPROVED)
        services.plan_payments(people.township_clerk, campaign)

    def queries() -> int:
        page = url("village", campaign.pk, areas.a.pk) + "?per_page=50"
        client.get(page)  # warm up: the first request after sign-in refreshes the session
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page).status_code == 200
        return len(captured)

    as_user(client, people.township_clerk)
    approve_and_plan(3, 0)
    few = queries()
    approve_and_plan(27, 3)
    many = queries()
    assert Payment.objects.filter(campaign=campaign).count() == 30
    # The session and the user's roles (4), the ids of their areas, the campaign,
    # the village, the reconciliation line (6), the page of payments (2), the not
    # reached, the closing, the scans and the open lines for the tick-off.
    assert many == few <= 18


# -- the scanned sheet ------------------------------------------------------------------------


def test_it_files_a_scan_and_ticks_off_the_lines(client, people, areas, campaign, planned):
    a1, a2 = of_village(planned, areas.a)
    as_user(client, people.township_clerk)
    response = client.post(
        url("scan_upload", campaign.pk, areas.a.pk),
        {"file": SimpleUploadedFile("sheet.pdf", PDF)},
    )
    scan = SheetScan.objects.get()
    assert response.status_code == 302 and f"scan={scan.pk}" in response["Location"]
    page = client.get(url("village", campaign.pk, areas.a.pk), {"scan": scan.pk})
    assert page.context["can_scan"] and page.context["chosen_scan"] == scan.pk
    assert {p.pk for p in page.context["open_payments"]} == {a1.pk, a2.pk}
    done = client.post(
        url("confirm", campaign.pk, areas.a.pk), {"scan": scan.pk, "payments": [a1.pk]}
    )
    assert levels(done) == ["success"]
    a1, a2 = fresh(a1), fresh(a2)
    assert (a1.state, a1.evidence, a1.scan_id) == (PaymentState.SIGNED, Evidence.SHEET, scan.pk)
    assert a2.state == PaymentState.PLANNED
    download = client.get(url("scan", scan.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_it_refuses_a_proxy_line_without_an_approved_exception(
    client, people, areas, campaign, planned
):
    a1, a2 = of_village(planned, areas.a)
    scan = scan_of(people, campaign, areas.a)
    as_user(client, people.township_clerk)
    refused = client.post(
        url("confirm", campaign.pk, areas.a.pk),
        {"scan": scan.pk, "payments": [a1.pk, a2.pk], "by_proxy": [a2.pk]},
    )
    assert levels(refused) == ["error"]
    assert {fresh(a1).state, fresh(a2).state} == {PaymentState.PLANNED}
    exception = approved_proxy(people, a2)
    allowed = client.post(
        url("confirm", campaign.pk, areas.a.pk),
        {"scan": scan.pk, "payments": [a1.pk, a2.pk], "by_proxy": [a2.pk]},
    )
    assert levels(allowed) == ["success"]
    assert fresh(a2).proxy_id == exception.pk and fresh(a1).proxy_id is None


def test_it_wants_a_proxy_line_ticked_as_signed_too(client, people, areas, campaign, planned):
    a1, a2 = of_village(planned, areas.a)
    approved_proxy(people, a2)
    scan = scan_of(people, campaign, areas.a)
    response = as_user(client, people.township_clerk).post(
        url("confirm", campaign.pk, areas.a.pk),
        {"scan": scan.pk, "payments": [a1.pk], "by_proxy": [a2.pk]},
    )
    assert levels(response) == ["error"]
    assert fresh(a1).state == PaymentState.PLANNED


def test_it_refuses_the_scan_to_others(client, people, areas, campaign, planned):
    scan = scan_of(people, campaign, areas.a)
    upload = {"file": SimpleUploadedFile("sheet.pdf", PDF)}
    as_user(client, people.clerk_a)
    assert client.post(url("scan_upload", campaign.pk, areas.a.pk), upload).status_code == 403
    assert client.post(url("confirm", campaign.pk, areas.a.pk), {}).status_code == 403
    as_user(client, people.township_clerk_t2)
    upload = {"file": SimpleUploadedFile("sheet.pdf", PDF)}
    assert client.post(url("scan_upload", campaign.pk, areas.a.pk), upload).status_code == 404
    as_user(client, people.clerk_b)
    assert client.get(url("scan", scan.pk)).status_code == 404
    assert SheetScan.objects.count() == 1


def test_it_refuses_a_file_that_is_no_scan(client, people, areas, campaign, planned):
    response = as_user(client, people.township_clerk).post(
        url("scan_upload", campaign.pk, areas.a.pk),
        {"file": SimpleUploadedFile("sheet.txt", b"not a scan")},
    )
    assert levels(response) == ["error"] and not SheetScan.objects.exists()


# -- one payment ------------------------------------------------------------------------------


def test_it_shows_a_payment_with_its_chain_and_evidence(client, people, areas, campaign, planned):
    a1 = of_village(planned, areas.a)[0]
    services.sign(people.clerk_a, a1, receipt(photo=SimpleUploadedFile("p.jpg", jpeg())))
    as_user(client, people.clerk_a)
    response = client.get(url("payment", a1.pk))
    assert response.status_code == 200
    events = response.context["events"]
    assert [e.action for e in events] == ["planned", "handed_over", "signed"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert response.context["evidence"] == ["signature", "countersignature", "photo"]
    content = response.content.decode()
    assert events[-1].hash[:12] in content
    assert url("evidence", a1.pk, "signature") in content
    assert "/media/" not in content
    signature = client.get(url("evidence", a1.pk, "signature"))
    assert signature.status_code == 200 and signature["Content-Type"] == "image/png"
    assert b"".join(signature.streaming_content).startswith(b"\x89PNG")
    photo = client.get(url("evidence", a1.pk, "photo"))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert client.get(url("evidence", a1.pk, "file")).status_code == 404


def test_it_serves_no_evidence_that_is_not_there(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.clerk_a)
    assert client.get(url("evidence", a1.pk, "signature")).status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("clerk_b", 404),
        ("township_clerk_t2", 404),
        ("admin", 403),
        ("nobody", 403),
        (None, 302),
        ("auditor", 200),
        ("approver", 200),
    ],
)
def test_it_shows_village_as_payment_only_inside_the_area(
    client, people, areas, planned, persona, status
):
    a1 = of_village(planned, areas.a)[0]
    services.sign(people.clerk_a, a1, receipt())
    if persona:
        as_user(client, getattr(people, persona))
    assert client.get(url("payment", a1.pk)).status_code == status
    assert client.get(url("evidence", a1.pk, "signature")).status_code == status


def test_it_offers_each_persona_their_actions(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    offered = {}
    for persona in ("clerk_a", "township_clerk", "supervisor", "finance", "auditor"):
        response = as_user(client, getattr(people, persona)).get(url("payment", a1.pk))
        context = response.context
        names = context.keys()  # a ContextList: its iteration yields contexts, not names
        offered[persona] = {k for k in names if k.startswith("can_") and context[k]}
    assert offered["clerk_a"] == {"can_hand_over", "can_fail", "can_request_proxy", "can_photo"}
    assert offered["township_clerk"] == offered["clerk_a"] | {"can_arrange"}
    assert offered["supervisor"] == {"can_decide"}
    assert offered["finance"] == {"can_arrange", "can_hand_over", "can_fail", "can_photo"}
    assert offered["auditor"] == set()


def test_it_arranges_a_bank_transfer_with_goods(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.township_clerk)
    response = client.post(
        url("arrange", a1.pk),
        {
            "method": Method.BANK,
            "account": "6217 0000 1234 5678",
            "planned_on": "2027-01-25",
            "cadres": "王建军、李秀英",
            "goods": "大米 10kg\n食用油×2桶\n",
        },
    )
    assert response.status_code == 302 and levels(response) == ["success"]
    a1 = fresh(a1)
    assert (a1.method, a1.account, a1.cadres) == (
        Method.BANK,
        "621700001234" + "5678",
        "王建军、李秀英",
    )
    assert a1.planned_on == datetime.date(2027, 1, 25)
    assert a1.goods_items == [
        {"item": "大米", "quantity": "10kg"},
        {"item": "食用油", "quantity": "2桶"},
    ]
    assert a1.events.filter(action="arranged").exists()


def test_it_refuses_a_bank_transfer_without_an_account(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.township_clerk)
    response = client.post(url("arrange", a1.pk), {"method": Method.BANK})
    assert levels(response) == ["error"] and fresh(a1).method == Method.CASH
    bad_goods = client.post(url("arrange", a1.pk), {"method": Method.CASH, "goods": "大米"})
    assert levels(bad_goods) == ["error"] and fresh(a1).goods_items == []
    assert as_user(client, people.clerk_a).post(url("arrange", a1.pk)).status_code == 403


def test_it_hands_over_a_payment(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.clerk_a)
    response = client.post(url("hand_over", a1.pk), {"cadres": "包村干部 王建军"})
    assert response["Location"] == url("payment", a1.pk) and levels(response) == ["success"]
    a1 = fresh(a1)
    assert (a1.state, a1.cadres, a1.handed_over_by) == (
        PaymentState.HANDED_OVER,
        "包村干部 王建军",
        people.clerk_a,
    )
    services.fail(people.clerk_a, a1, "refused")
    again = client.post(url("hand_over", a1.pk), {})
    assert levels(again) == ["error"] and fresh(a1).state == PaymentState.FAILED


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clerk_b", 404), ("township_clerk_t2", 404), ("supervisor", 403), ("admin", 403)],
)
def test_it_refuses_handing_over_to_others(client, people, areas, planned, persona, status):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, getattr(people, persona))
    assert client.post(url("hand_over", a1.pk), {}).status_code == status
    assert client.post(url("fail", a1.pk), {"reason": "deceased"}).status_code == status
    assert fresh(a1).state == PaymentState.PLANNED


def test_it_records_a_failed_payment(client, people, areas, planned):
    a1, a2 = of_village(planned, areas.a)
    as_user(client, people.clerk_a)
    response = client.post(url("fail", a1.pk), {"reason": "deceased", "note": "已去世"})
    assert levels(response) == ["success"]
    a1 = fresh(a1)
    assert (a1.state, a1.failure_reason, a1.failure_note) == (
        PaymentState.FAILED,
        "deceased",
        "已去世",
    )
    unexplained = client.post(url("fail", a2.pk), {"reason": "other", "note": ""})
    assert levels(unexplained) == ["error"] and fresh(a2).state == PaymentState.PLANNED


def test_it_attaches_a_photo(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.clerk_a)
    response = client.post(url("photo", a1.pk), {"photo": SimpleUploadedFile("p.jpg", jpeg())})
    assert levels(response) == ["success"] and fresh(a1).photo
    text = client.post(url("photo", a1.pk), {"photo": SimpleUploadedFile("p.jpg", b"text")})
    assert levels(text) == ["error"]
    assert client.post(url("photo", a1.pk), {}).status_code == 302  # no file: a message


def test_it_asks_for_a_proxy_and_a_supervisor_decides(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.clerk_a)
    response = client.post(url("proxy_request", a1.pk), proxy_data())
    assert levels(response) == ["success"]
    exception = ProxyException.objects.get()
    assert (exception.status, exception.requested_by) == (ProxyStatus.REQUESTED, people.clerk_a)
    page = client.get(url("payment", a1.pk))
    assert page.context["proxies"] == [exception]
    # The clerk may not decide, nor may the supervisor of another township see it.
    assert (
        client.post(url("proxy_decide", exception.pk), {"decision": "approve"}).status_code == 403
    )
    as_user(client, people.supervisor)
    decided = client.post(
        url("proxy_decide", exception.pk), {"decision": "approve", "note": "属实"}
    )
    assert decided["Location"] == url("payment", a1.pk) and levels(decided) == ["success"]
    exception.refresh_from_db()
    assert (exception.status, exception.decided_by) == (ProxyStatus.APPROVED, people.supervisor)
    twice = client.post(url("proxy_decide", exception.pk), {"decision": "refuse"})
    assert levels(twice) == ["error"]
    exception.refresh_from_db()
    assert exception.status == ProxyStatus.APPROVED


def test_it_records_a_refused_proxy(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    exception = services.request_proxy(
        people.clerk_a, a1, services.Proxy("张小三", valid_id(), "儿子", "外出")
    )
    as_user(client, people.supervisor)
    client.post(url("proxy_decide", exception.pk), {"decision": "refuse", "note": "本人可到场"})
    exception.refresh_from_db()
    assert exception.status == ProxyStatus.REFUSED and exception.decision_note == "本人可到场"
    # Without an approved exception, a proxy's signature is refused.
    with pytest.raises(services.WorkflowError):
        services.sign(people.clerk_a, a1, receipt(by_proxy=True))


def test_it_refuses_an_incomplete_or_invalid_proxy(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    as_user(client, people.clerk_a)
    invalid = client.post(url("proxy_request", a1.pk), proxy_data(id_number="130123197501010000"))
    assert levels(invalid) == ["error"]
    missing = client.post(url("proxy_request", a1.pk), proxy_data(reason=""))
    assert levels(missing) == ["error"]
    assert not ProxyException.objects.exists()
    finance = as_user(client, people.finance).post(url("proxy_request", a1.pk), proxy_data())
    assert finance.status_code == 403
    clerk_b = as_user(client, people.clerk_b).post(url("proxy_request", a1.pk), proxy_data())
    assert clerk_b.status_code == 404


def test_it_corrects_a_signed_payment_by_reversal_and_replacement(client, people, areas, planned):
    a1 = of_village(planned, areas.a)[0]
    services.sign(people.clerk_a, a1, receipt())
    as_user(client, people.finance)
    assert client.get(url("payment", a1.pk)).context["can_correct"]
    response = client.post(
        url("correct", a1.pk),
        {"cash": "450.00", "goods": "50.00", "method": Method.CASH, "reason": "50元为慰问品"},
    )
    assert levels(response) == ["success"]
    reversal = Payment.objects.get(corrects=a1, kind=Kind.REVERSAL)
    replacement = Payment.objects.get(corrects=a1, kind=Kind.REPLACEMENT)
    assert reversal.amount == Decimal("-500.00") and replacement.amount == Decimal("500.00")
    assert (replacement.cash, replacement.goods) == (Decimal("450.00"), Decimal("50.00"))
    original = fresh(a1)
    assert (original.amount, original.state, original.cash) == (
        Decimal("500.00"),
        PaymentState.SIGNED,
        Decimal("500.00"),
    )
    # The original names both records, and each of them links back.
    page = client.get(url("payment", a1.pk))
    assert [c.pk for c in page.context["corrections"]] == [reversal.pk, replacement.pk]
    assert not page.context["can_correct"]
    content = page.content.decode()
    assert url("payment", reversal.pk) in content and url("payment", replacement.pk) in content
    for record in (reversal, replacement):
        linked = client.get(url("payment", record.pk)).content.decode()
        assert url("payment", a1.pk) in linked
    again = client.post(
        url("correct", a1.pk),
        {"cash": "400", "goods": "0", "method": Method.CASH, "reason": "再改"},
    )
    assert levels(again) == ["error"] and Payment.objects.filter(corrects=a1).count() == 2


def test_it_refuses_a_correction_without_reason_or_signature(client, people, areas, planned):
    a1, a2 = of_village(planned, areas.a)
    services.sign(people.clerk_a, a1, receipt())
    as_user(client, people.finance)
    no_reason = client.post(url("correct", a1.pk), {"cash": "400", "goods": "0", "method": "cash"})
    assert levels(no_reason) == ["error"]
    unsigned = client.post(
        url("correct", a2.pk), {"cash": "400", "goods": "0", "method": "cash", "reason": "错"}
    )
    assert levels(unsigned) == ["error"]
    assert not Payment.objects.exclude(kind=Kind.PAYMENT).exists()
    data = {"cash": "400", "goods": "0", "method": "cash", "reason": "错"}
    assert (
        as_user(client, people.township_clerk).post(url("correct", a1.pk), data).status_code == 403
    )
    assert as_user(client, people.supervisor).post(url("correct", a1.pk), data).status_code == 403


# -- finance: booking and closing -------------------------------------------------------------


def test_it_books_and_closes_a_village(client, people, areas, campaign, planned):
    a1, a2 = of_village(planned, areas.a)
    services.sign(people.clerk_a, a1, receipt())
    as_user(client, people.finance)
    page = client.get(url("finance", campaign.pk))
    rows = {row["line"].village_id: row for row in page.context["rows"]}
    assert (rows[areas.a.pk]["unbooked"], rows[areas.a.pk]["unbooked_amount"]) == (
        1,
        Decimal("500.00"),
    )
    assert rows[areas.a.pk]["can_book"] and rows[areas.a.pk]["closing"] is None
    booked = client.post(url("book", campaign.pk, areas.a.pk))
    assert booked["Location"] == url("finance", campaign.pk) and levels(booked) == ["success"]
    assert fresh(a1).booked_by == people.finance and fresh(a2).booked_at is None
    # a2 is still planned: the village cannot close yet.
    early = client.post(url("close_village", campaign.pk, areas.a.pk))
    assert levels(early) == ["error"] and not VillageClosing.objects.exists()
    services.fail(people.clerk_a, a2, "deceased")
    closed = client.post(url("close_village", campaign.pk, areas.a.pk))
    assert levels(closed) == ["success"]
    closing = VillageClosing.objects.get()
    assert (closing.village, closing.closed_by) == (areas.a, people.finance)
    page = client.get(url("finance", campaign.pk))
    rows = {row["line"].village_id: row for row in page.context["rows"]}
    assert rows[areas.a.pk]["closing"] == closing and rows[areas.a.pk]["line"].closed
    # Closed: nothing of the village changes any more.
    again = client.post(url("book", campaign.pk, areas.a.pk))
    assert levels(again) == ["error"]
    village = client.get(url("village", campaign.pk, areas.a.pk))
    assert village.context["closing"] == closing and not village.context["can_scan"]


def test_it_refuses_closing_with_signed_records_not_booked(
    client, people, areas, campaign, planned
):
    a1, a2 = of_village(planned, areas.a)
    services.sign(people.clerk_a, a1, receipt())
    services.fail(people.clerk_a, a2, "deceased")
    as_user(client, people.finance)
    response = client.post(url("close_village", campaign.pk, areas.a.pk))
    assert levels(response) == ["error"] and not VillageClosing.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("township_clerk", 403), ("supervisor", 403), ("clerk_a", 403), ("township_clerk_t2", 403)],
)
def test_it_refuses_booking_to_others(client, people, areas, campaign, planned, persona, status):
    a1 = of_village(planned, areas.a)[0]
    services.sign(people.clerk_a, a1, receipt())
    as_user(client, getattr(people, persona))
    assert client.get(url("finance", campaign.pk)).status_code == status
    assert client.post(url("book", campaign.pk, areas.a.pk)).status_code == status
    assert client.post(url("close_village", campaign.pk, areas.a.pk)).status_code == status
    assert fresh(a1).booked_at is None


def test_it_links_the_campaign_page_to_its_payments(client, people, campaign):
    as_user(client, people.finance)
    detail = client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    assert url("campaign", campaign.pk) in detail.content.decode()
    as_user(client, people.admin)
    detail = client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    assert url("campaign", campaign.pk) not in detail.content.decode()


def test_it_requires_post_for_every_action(client, people, areas, campaign, planned):
    a1 = of_village(planned, areas.a)[0]
    exception = services.request_proxy(
        people.clerk_a, a1, services.Proxy("张小三", valid_id(), "儿子", "外出")
    )
    as_user(client, people.superuser)
    for name, args in [
        ("plan", [campaign.pk]),
        ("scan_upload", [campaign.pk, areas.a.pk]),
        ("confirm", [campaign.pk, areas.a.pk]),
        ("book", [campaign.pk, areas.a.pk]),
        ("close_village", [campaign.pk, areas.a.pk]),
        ("arrange", [a1.pk]),
        ("hand_over", [a1.pk]),
        ("fail", [a1.pk]),
        ("photo", [a1.pk]),
        ("proxy_request", [a1.pk]),
        ("correct", [a1.pk]),
        ("proxy_decide", [exception.pk]),
    ]:
        assert client.get(url(name, *args)).status_code == 405, name
