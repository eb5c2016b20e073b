"""The visiting team's tablet view: the receipt endpoint the signing page's
script posts to (exactly once per key, JSON answers for every refusal, never
an error page), the day's list, the signing page and its "could not pay" path.

Assertions read the database, JSON fields, status codes and numbers; messages
are checked for being there, not for their wording (the new strings are not
in the Chinese catalogue yet)."""

from __future__ import annotations

import base64
import datetime
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from disbursements import services
from disbursements.choices import Action, Evidence, FailureReason, PaymentState
from disbursements.models import Payment, PaymentEvent
from disbursements.views import visit
from relief import idnumber, money
from tests.conftest import valid_id

from .conftest import jpeg, png

pytestmark = pytest.mark.django_db


# -- helpers -----------------------------------------------------------------------------


def as_user(client, user):
    client.force_login(user)
    return client


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def fields(**overrides) -> dict[str, object]:
    """A receipt as visit.js sends it: the recipient's signature as a file,
    the cadre's as a data URL (both are accepted), a fresh key."""
    values: dict[str, object] = {
        "signature": SimpleUploadedFile("signature.png", png(), content_type="image/png"),
        "countersignature": data_url(png()),
        "key": str(uuid.uuid4()),
        "signed_at": timezone.now().isoformat(),
        "device": "Mozilla/5.0 (Linux; Android 13; Tablet)",
        "cadres": "王干部",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def post_receipt(client, payment: Payment, **overrides):
    url = reverse("disbursements:visit_receipt", args=[payment.pk])
    return client.post(url, fields(**overrides))


def fresh(payment: Payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def events(payment: Payment, action: str | None = None) -> int:
    found = PaymentEvent.objects.filter(payment=payment)
    return (found.filter(action=action) if action else found).count()


@pytest.fixture
def in_a(planned, areas) -> list[Payment]:
    """The two planned payments of village A (张三, 赵六)."""
    return [p for p in planned if p.village_id == areas.a.pk]


@pytest.fixture
def in_b(planned, areas) -> Payment:
    return next(p for p in planned if p.village_id == areas.b.pk)


# -- the receipt endpoint ----------------------------------------------------------------


def test_it_signs_with_both_pads_and_a_photo(client, people, in_a, media):
    payment = in_a[0]
    key = str(uuid.uuid4())
    photo = SimpleUploadedFile("IMG_0001.jpg", jpeg(), content_type="image/jpeg")

    response = post_receipt(as_user(client, people.clerk_a), payment, key=key, photo=photo)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "ok": True,
        "number": payment.number,
        "state": PaymentState.SIGNED,
        "signed_at": body["signed_at"],
    }
    signed = fresh(payment)
    assert signed.state == PaymentState.SIGNED
    assert signed.evidence == Evidence.PAD
    assert signed.client_key == key
    assert signed.signed_recorded_by == people.clerk_a
    assert signed.cadres == "王干部"
    assert signed.device.startswith("Mozilla/5.0")
    assert signed.signature and signed.countersignature and signed.photo
    assert signed.photo.read() == jpeg()
    assert len(signed.photo_sha256) == 64
    # planned → handed over → signed, in one step at the door.
    assert [e.action for e in signed.events.order_by("seq")] == [
        Action.PLANNED,
        Action.HANDED_OVER,
        Action.SIGNED,
    ]


def test_it_records_a_resend_with_the_same_key_once(client, people, in_a):
    payment = in_a[0]
    key = str(uuid.uuid4())
    client = as_user(client, people.clerk_a)

    first = post_receipt(client, payment, key=key)
    second = post_receipt(client, payment, key=key)
    third = post_receipt(client, payment, key=key)

    assert first.status_code == second.status_code == third.status_code == 200
    assert first.json()["number"] == second.json()["number"] == third.json()["number"]
    assert third.json()["state"] == PaymentState.SIGNED
    assert events(payment, Action.SIGNED) == 1
    assert events(payment) == 3  # planned, handed over, signed
    assert Payment.objects.filter(client_key=key).count() == 1


def test_it_refuses_another_key_for_a_signed_payment_with_409(client, people, in_a):
    payment = in_a[0]
    client = as_user(client, people.clerk_a)
    assert post_receipt(client, payment).status_code == 200

    response = post_receipt(client, payment)  # signed again on another visit: a new key

    assert response.status_code == 409
    assert response.json()["ok"] is False
    assert response.json()["error"]
    assert events(payment, Action.SIGNED) == 1


def test_it_refuses_a_blank_signature_and_changes_nothing(client, people, in_a):
    payment = in_a[0]
    blank = SimpleUploadedFile("signature.png", png(ink=False), content_type="image/png")

    response = post_receipt(as_user(client, people.clerk_a), payment, signature=blank)

    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert response.json()["error"]
    assert fresh(payment).state == PaymentState.PLANNED
    assert not fresh(payment).signature
    assert events(payment) == 1  # planned only


@pytest.mark.parametrize(
    "overrides",
    [
        {"signature": "data:image/png;base64,@@not base64@@"},
        {"countersignature": "%%%"},
        {"signature": None},
        {"countersignature": ""},
        {"key": None},
        {"key": "x"},
        {"signature": data_url(b"GIF89a not an image")},
        {"photo": data_url(b"not a photo", "image/jpeg")},
        {"photo": "data:image/jpeg;base64,###"},
        {"signed_at": "yesterday-ish"},  # unreadable: recorded at the server's time
    ],
    ids=lambda o: ",".join(f"{k}={str(v)[:12]}" for k, v in o.items()),
)
def test_it_answers_bad_input_with_a_json_message(client, people, in_a, overrides):
    payment = in_a[0]

    response = post_receipt(as_user(client, people.clerk_a), payment, **overrides)

    if "signed_at" in overrides:
        assert response.status_code == 200
        assert abs(fresh(payment).signed_at - timezone.now()) < datetime.timedelta(minutes=1)
        return
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["ok"] is False
    assert response.json()["error"]
    assert fresh(payment).state == PaymentState.PLANNED


def test_it_keeps_the_time_a_receipt_was_signed_offline(client, people, in_a):
    payment = in_a[0]
    signed_at = timezone.now() - datetime.timedelta(hours=2)
    services.hand_over(people.clerk_a, payment)  # handed over before it was signed
    Payment.objects.filter(pk=payment.pk).update(handed_over_at=signed_at)

    response = post_receipt(
        as_user(client, people.clerk_a), payment, signed_at=signed_at.isoformat()
    )

    assert response.status_code == 200
    assert abs(fresh(payment).signed_at - signed_at) < datetime.timedelta(seconds=1)


def test_it_counts_a_resend_that_crossed_a_parallel_one_as_recorded(
    client, people, in_a, monkeypatch
):
    """The online event and the timer sent the same receipt at once: the
    second found the payment signed by the first, under its own key."""
    payment = in_a[0]
    real = services.sign

    def crossed(actor, payment, receipt):
        real(actor, payment, receipt)
        raise services.WorkflowError("Payment is signed already.")

    monkeypatch.setattr(visit.services, "sign", crossed)
    key = str(uuid.uuid4())

    response = post_receipt(as_user(client, people.clerk_a), payment, key=key)

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert events(payment, Action.SIGNED) == 1


def test_it_takes_a_proxy_only_with_an_approved_exception(client, people, in_a):
    payment = in_a[0]
    client = as_user(client, people.clerk_a)

    refused = post_receipt(client, payment, by_proxy="1")

    assert refused.status_code == 400
    assert fresh(payment).state == PaymentState.PLANNED
    exception = services.request_proxy(
        people.clerk_a,
        payment,
        services.Proxy(name="张小三", id_number=valid_id(), relation="儿子", reason="卧床不起"),
    )
    services.decide_proxy(people.supervisor, exception, approve=True)
    page = client.get(reverse("disbursements:visit_sign", args=[payment.pk]))
    assert b'name="by_proxy"' in page.content

    response = post_receipt(client, payment, by_proxy="1")

    assert response.status_code == 200
    assert fresh(payment).proxy == exception


def test_it_hides_another_villages_payment(client, people, in_a):
    payment = in_a[0]
    client = as_user(client, people.clerk_b)

    response = post_receipt(client, payment)

    assert response.status_code == 404
    assert response.json()["ok"] is False
    assert fresh(payment).state == PaymentState.PLANNED
    assert client.get(reverse("disbursements:visit_sign", args=[payment.pk])).status_code == 404
    day = reverse("disbursements:visit_list", args=[payment.campaign_id, payment.village_id])
    assert client.get(day).status_code == 404


def test_it_sends_the_anonymous_to_sign_in(client, in_a):
    response = post_receipt(client, in_a[0])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert fresh(in_a[0]).state == PaymentState.PLANNED


def test_it_forbids_the_auditor(client, people, in_a):
    client = as_user(client, people.auditor)

    assert post_receipt(client, in_a[0]).status_code == 403
    assert client.get(reverse("disbursements:visit_start")).status_code == 403
    assert client.get(reverse("disbursements:visit_sign", args=[in_a[0].pk])).status_code == 403
    assert fresh(in_a[0]).state == PaymentState.PLANNED


def test_it_takes_receipts_by_post_only(client, people, in_a):
    url = reverse("disbursements:visit_receipt", args=[in_a[0].pk])
    assert as_user(client, people.clerk_a).get(url).status_code == 405


# -- the pages ---------------------------------------------------------------------------


def test_it_offers_the_villages_with_households_to_visit(client, people, campaign, in_a, in_b):
    def villages(user) -> set[int]:
        response = as_user(client, user).get(reverse("disbursements:visit_start"))
        assert response.status_code == 200
        return {row["village_id"] for row in response.context["rows"]}

    assert villages(people.clerk_a) == {in_a[0].village_id}
    assert villages(people.township_clerk) == {in_a[0].village_id, in_b.village_id}
    assert villages(people.township_clerk_t2) == set()
    row = (
        as_user(client, people.clerk_a).get(reverse("disbursements:visit_start")).context["rows"][0]
    )
    assert (row["campaign_id"], row["open"], row["due"]) == (campaign.pk, 2, 2)


def test_it_lists_the_days_households_with_masked_ids(client, people, campaign, in_a):
    first, second = in_a
    later = timezone.localdate() + datetime.timedelta(days=7)
    services.arrange(
        people.township_clerk, second, services.Arrangement(method="cash", planned_on=later)
    )
    url = reverse("disbursements:visit_list", args=[campaign.pk, first.village_id])
    client = as_user(client, people.clerk_a)

    today = client.get(url)

    assert today.status_code == 200
    assert [r.payment.pk for r in today.context["rows"]] == [first.pk]
    assert today.context["later"] == 1
    html = today.content.decode()
    assert idnumber.mask(first.recipient_id_number) in html
    assert first.recipient_id_number not in html
    assert f'data-payment="{first.pk}"' in html
    assert f'data-payment="{second.pk}"' not in html

    everything = client.get(url, {"all": "1"})
    assert [r.payment.pk for r in everything.context["rows"]] == [first.pk, second.pk]
    assert [r.due for r in everything.context["rows"]] == [True, False]

    post_receipt(client, first)
    after = client.get(url)
    assert after.context["rows"] == []
    assert [r.payment.pk for r in after.context["done"]] == [first.pk]
    assert after.context["done"][0].done


def test_it_refuses_a_village_outside_the_campaign(client, people, campaign, in_a, areas):
    url = reverse("disbursements:visit_list", args=[campaign.pk, areas.c.pk])
    assert as_user(client, people.superuser).get(url).status_code == 404


def test_it_shows_the_signing_page_with_the_full_id_and_the_amount_in_words(client, people, in_a):
    payment = in_a[0]

    response = as_user(client, people.clerk_a).get(
        reverse("disbursements:visit_sign", args=[payment.pk])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert payment.recipient_id_number in html
    assert money.in_capitals(payment.amount) in html  # 伍佰元整
    assert money.yuan(payment.amount) in html
    assert 'id="receipt-form"' in html
    assert reverse("disbursements:visit_receipt", args=[payment.pk]) in html
    assert 'capture="environment"' in html
    assert 'data-pad="signature"' in html and 'data-pad="countersignature"' in html
    assert "<script>" not in html  # scripts come from static files only


def test_it_shows_a_signed_payment_as_done(client, people, in_a):
    payment = in_a[0]
    client = as_user(client, people.clerk_a)
    post_receipt(client, payment)

    html = client.get(reverse("disbursements:visit_sign", args=[payment.pk])).content.decode()

    assert 'id="receipt-form"' not in html
    assert 'data-state="signed"' in html


def test_it_records_a_payment_that_could_not_be_made(client, people, in_a):
    payment = in_a[0]
    url = reverse("disbursements:visit_sign", args=[payment.pk])
    client = as_user(client, people.clerk_a)

    response = client.post(url, {"reason": FailureReason.DECEASED, "note": "2月1日去世"})

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "disbursements:visit_list", args=[payment.campaign_id, payment.village_id]
    )
    failed = fresh(payment)
    assert (failed.state, failed.failure_reason, failed.failure_note) == (
        PaymentState.FAILED,
        FailureReason.DECEASED,
        "2月1日去世",
    )
    assert events(payment, Action.FAILED) == 1


@pytest.mark.parametrize(
    "data", [{"reason": "vanished"}, {}, {"reason": FailureReason.OTHER, "note": " "}]
)
def test_it_refuses_a_failure_without_a_reason(client, people, in_a, data):
    payment = in_a[0]
    url = reverse("disbursements:visit_sign", args=[payment.pk])
    client = as_user(client, people.clerk_a)

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == url
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    assert fresh(payment).state == PaymentState.PLANNED
