"""Every change to a payment, named after what the office does (domain.md §4.7).

Views and commands call these; nothing else writes payments. Each function
checks the actor's right on the payment's village and the payment's state,
runs in one transaction with the campaign's chain head and the payment rows
locked (head first, always, so two clerks never deadlock), and appends one
chained event per payment changed (`disbursements.chain.append`), which also
writes the audit log. Refusals are `WorkflowError`s with a message for the
user.

Exactly once: the database allows one payment per instalment of an
application, and a state change re-reads the locked row, so a retry, a double
click or two clerks at once change it once; the second sees the new state. A
signing device names each submission with a key of its own (`Receipt.key`):
a submission queued offline and sent twice is recorded once.
"""

from __future__ import annotations

import datetime
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from applications.choices import State
from applications.models import Application
from applications.services import check_upload
from applications.workflow import WorkflowError
from campaigns import calculation as calc
from campaigns.choices import CampaignStatus, StandardKind
from campaigns.models import Campaign, FundSource
from disbursements import chain
from disbursements.choices import (
    Action,
    Evidence,
    FailureReason,
    Kind,
    Method,
    PaymentState,
    ProxyStatus,
)
from disbursements.models import (
    Payment,
    PaymentShare,
    ProxyException,
    SheetScan,
    VillageClosing,
)
from recipients.models import validate_id_number
from relief import audit, idnumber
from relief.areacodes import prefix_of
from relief.models import Area, User

__all__ = ["WorkflowError"]

VIEW = "disbursements.view_payment"
PLAN = "disbursements.add_payment"
HAND_OVER = "disbursements.hand_over_payment"
REQUEST_PROXY = "disbursements.add_proxyexception"
APPROVE_PROXY = "disbursements.approve_proxy"
SCAN = "disbursements.add_sheetscan"
BOOK = "disbursements.book_payment"
CORRECT = "disbursements.correct_payment"

CENT = Decimal("0.01")
OPEN_STATES = (PaymentState.PLANNED, PaymentState.HANDED_OVER)
SIGNATURE_MAX_BYTES = 512 * 1024
# A signing device's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=5)


# -- shared checks ----------------------------------------------------------------------


def _check_campaign(campaign: Campaign) -> None:
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.ARCHIVED):
        raise WorkflowError(
            _("Campaign %(campaign)s is %(status)s: nothing can be paid in it.")
            % {"campaign": campaign, "status": campaign.get_status_display()}
        )


def _closed(campaign: Campaign, village_id: int) -> bool:
    return VillageClosing.objects.filter(campaign=campaign, village_id=village_id).exists()


def _check_open_village(campaign: Campaign, village: Area) -> None:
    if _closed(campaign, village.pk):
        raise WorkflowError(
            _("The payments of %(village)s are booked and closed for this campaign.")
            % {"village": village.name}
        )


def _locked(payment: Payment) -> Payment:
    """The payment re-read under a row lock, after its campaign's chain head."""
    chain.lock_head(payment.campaign)
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("campaign", "village", "application")
        .get(pk=payment.pk)
    )


def _refuse_unless(payment: Payment, *states: str) -> None:
    if payment.state not in states:
        raise WorkflowError(
            _("Payment %(number)s is %(state)s already.")
            % {"number": payment.number, "state": payment.get_state_display()}
        )


def _may(actor: User, perm: str, payment: Payment, message: str) -> None:
    if not actor.has_perm(perm, payment):
        raise WorkflowError(message)


def _shares(payments: Sequence[Payment], sources: dict[int | None, FundSource | None]) -> None:
    rows = []
    for payment in payments:
        source = sources.get(payment.fund_source_id)
        split = calc.split(payment.amount, source.payer_shares()) if source else []
        rows.extend(PaymentShare(payment=payment, payer=p, amount=a) for p, a in split)
    PaymentShare.objects.bulk_create(rows, batch_size=chain.CHUNK)


def _instalment_parts(total: Decimal, count: int) -> list[Decimal]:
    """`total` in `count` parts at the cent, the odd cents on the first parts."""
    cents = int((total / CENT).to_integral_value())
    base, extra = divmod(cents, count)
    return [(base + (1 if i < extra else 0)) * CENT for i in range(count)]


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# -- planning ---------------------------------------------------------------------------


def plannable(
    actor: User, campaign: Campaign, village: Area | None = None
) -> QuerySet[Application]:
    """Approved applications the actor may plan payments for that have none yet."""
    apps = (
        Application.objects.restrict(actor, perm=PLAN)
        .filter(campaign=campaign, state=State.APPROVED)
        .exclude(payments__isnull=False)
        .exclude(village__in=VillageClosing.objects.filter(campaign=campaign).values("village"))
    )
    return apps.filter(village=village) if village is not None else apps


def plan_payments(
    actor: User,
    campaign: Campaign,
    *,
    village: Area | None = None,
    first_on: datetime.date | None = None,
) -> int:
    """Plan the payments of the approved applications that have none: one per
    instalment (an annual standard paid quarterly: four, three months apart),
    paid to the head of household, split between the paying levels of the
    fund source. Set-based; returns how many payments were planned."""
    if not actor.has_perm(PLAN):
        raise WorkflowError(_("You may not plan payments."))
    _check_campaign(campaign)
    first_on = first_on or timezone.localdate()
    with transaction.atomic():
        # The head lock makes planning one at a time per campaign: the second
        # of two clerks planning at once finds the payments already there.
        chain.lock_head(campaign)
        rows = list(
            plannable(actor, campaign, village)
            .with_head()
            .order_by("village__code", "number")
            .values_list(
                "pk",
                "number",
                "village_id",
                "fund_source_id",
                "cash",
                "goods",
                "category__kind",
                "category__instalments",
                "head__name",
                "head__id_number",
            )
        )
        payments = []
        for pk, number, village_id, source, cash, goods, kind, count, name, id_number in rows:
            if not name:
                raise WorkflowError(
                    _("Application %(number)s: the household has no head on file to pay.")
                    % {"number": number}
                )
            count = count if kind == StandardKind.INSTALMENTS else 1
            cash_parts = _instalment_parts(cash, count)
            goods_parts = _instalment_parts(goods, count)
            step = 12 // count if 12 % count == 0 else 1
            for i in range(count):
                payments.append(
                    Payment(
                        number=f"{number}-{i + 1}",
                        campaign=campaign,
                        application_id=pk,
                        village_id=village_id,
                        instalment=i + 1,
                        instalments=count,
                        method=Method.GOODS
                        if not cash_parts[i] and goods_parts[i]
                        else Method.CASH,
                        cash=cash_parts[i],
                        goods=goods_parts[i],
                        amount=cash_parts[i] + goods_parts[i],
                        fund_source_id=source,
                        recipient_name=name,
                        recipient_id_number=id_number,
                        planned_on=_add_months(first_on, i * step),
                    )
                )
        Payment.objects.bulk_create(payments, batch_size=chain.CHUNK)
        sources = {s.pk: s for s in campaign.fund_sources.prefetch_related("shares")}
        _shares(payments, sources)
        chain.append(campaign, actor, [chain.Change(p, Action.PLANNED, "") for p in payments])
    return len(payments)


@dataclass(frozen=True)
class Arrangement:
    """How a planned payment is to be made."""

    method: str
    account: str = ""
    planned_on: datetime.date | None = None
    cadres: str = ""
    goods_items: Sequence[dict[str, str]] = ()


def arrange(actor: User, payment: Payment, arrangement: Arrangement) -> Payment:
    """Change how and when a planned payment is made (bank account, date, team)."""
    _may(actor, PLAN, payment, _("You may not arrange this payment."))
    method = Method(arrangement.method)
    account = arrangement.account.strip().replace(" ", "")
    if method == Method.BANK and not account:
        raise WorkflowError(_("A bank transfer needs the account or one-card number."))
    with transaction.atomic():
        payment = _locked(payment)
        _check_open_village(payment.campaign, payment.village)
        if payment.state != PaymentState.PLANNED:
            raise WorkflowError(
                _("Payment %(number)s is %(state)s: its arrangement can no longer change.")
                % {"number": payment.number, "state": payment.get_state_display()}
            )
        payment.method = method
        payment.account = account if method == Method.BANK else ""
        payment.planned_on = arrangement.planned_on or payment.planned_on
        payment.cadres = arrangement.cadres.strip()[:100]
        payment.goods_items = [dict(item) for item in arrangement.goods_items]
        payment.save()
        chain.append(
            payment.campaign, actor, [chain.Change(payment, Action.ARRANGED, payment.state)]
        )
    return payment


# -- handing over and receipts ----------------------------------------------------------


def _cadres(actor: User, cadres: str) -> str:
    return (cadres.strip() or actor.get_full_name() or actor.username)[:100]


def _hand_over(
    payment: Payment, actor: User, cadres: str, at: datetime.datetime | None = None
) -> chain.Change:
    previous = payment.state
    payment.state = PaymentState.HANDED_OVER
    payment.handed_over_at = at or timezone.now()
    payment.handed_over_by = actor if actor.pk else None
    payment.cadres = _cadres(actor, cadres or payment.cadres)
    return chain.Change(payment, Action.HANDED_OVER, previous)


def hand_over(actor: User, payment: Payment, *, cadres: str = "") -> Payment:
    """发放: the money (or goods) left the office's hands for the household.
    A second request for a payment already handed over changes nothing."""
    _may(actor, HAND_OVER, payment, _("You may not hand over this payment."))
    with transaction.atomic():
        payment = _locked(payment)
        _check_campaign(payment.campaign)
        _check_open_village(payment.campaign, payment.village)
        if payment.state == PaymentState.HANDED_OVER:
            return payment
        _refuse_unless(payment, PaymentState.PLANNED)
        change = _hand_over(payment, actor, cadres)
        payment.save()
        chain.append(payment.campaign, actor, [change])
    return payment


@dataclass(frozen=True)
class Receipt:
    """A receipt taken on screen during the home visit."""

    signature: bytes  # PNG of the recipient's own signature (or the proxy's)
    countersignature: bytes  # PNG of the delivering cadre's signature
    device: str = ""
    key: str = ""  # the device's name for this submission: resends carry it again
    signed_at: datetime.datetime | None = None  # when it was signed, by the device's clock
    photo: File | None = None
    by_proxy: bool = False
    cadres: str = ""


def _image(data: bytes, what: str, *, ink: bool) -> None:
    """Refuse what is not a PNG or JPEG image, too big, or (for a signature) blank."""
    if not data or len(data) > SIGNATURE_MAX_BYTES:
        raise WorkflowError(_("The %(what)s is missing or too large.") % {"what": what})
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG") or image.width * image.height > 16_000_000:
                raise WorkflowError(_("The %(what)s is not a usable image.") % {"what": what})
            image.load()
            if ink and _ink(image) < 30:
                raise WorkflowError(_("The %(what)s is blank: sign in the box.") % {"what": what})
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise WorkflowError(_("The %(what)s is not a usable image.") % {"what": what}) from error


def _ink(image: Image.Image) -> int:
    """How many pixels carry ink: opaque ones on a transparent pad, dark ones on white."""
    if "A" in image.getbands():
        alpha = image.getchannel("A")
        return sum(alpha.histogram()[33:])
    return sum(image.convert("L").histogram()[:160])


def _signed_time(
    signed_at: datetime.datetime | None, not_before: datetime.datetime | None
) -> datetime.datetime:
    """The device's signing time when it is plausible (a receipt captured
    offline is sent later but was signed then), otherwise now."""
    now = timezone.now()
    if signed_at is None or timezone.is_naive(signed_at) or signed_at > now + CLOCK_SKEW:
        return now
    if not_before is not None and signed_at < not_before - CLOCK_SKEW:
        return now
    return min(signed_at, now)


def approved_proxy(payment: Payment) -> ProxyException | None:
    """The payment's latest proxy exception a supervisor approved, if any."""
    return (
        ProxyException.objects.filter(payment=payment, status=ProxyStatus.APPROVED)
        .order_by("-decided_at")
        .first()
    )


def _store(field_file, data: bytes, name: str) -> str:  # type: ignore[no-untyped-def]
    field_file.save(name, ContentFile(data), save=False)
    return hashlib.sha256(data).hexdigest()


def sign(actor: User, payment: Payment, receipt: Receipt) -> Payment:
    """签收: the recipient signed for the payment in person on the tablet, the
    cadre countersigned. A planned payment is handed over in the same step
    (the team hands it over at the door). Collection by a proxy (代领) is
    refused unless a supervisor approved an exception for this payment."""
    _may(actor, HAND_OVER, payment, _("You may not take receipts for this payment."))
    key = receipt.key.strip()[:64]
    if key:
        done = Payment.objects.filter(client_key=key).only("pk", "number").first()
        if done is not None:
            if done.pk != payment.pk:
                raise WorkflowError(_("This submission was recorded for another payment."))
            return Payment.objects.get(pk=done.pk)  # a resend: recorded already
    _image(receipt.signature, _("recipient's signature"), ink=True)
    _image(receipt.countersignature, _("cadre's signature"), ink=True)
    photo = _read_photo(receipt.photo)
    with transaction.atomic():
        payment = _locked(payment)
        if key and payment.client_key == key:
            return payment  # the same submission, sent twice at once: the first recorded it
        _check_campaign(payment.campaign)
        _check_open_village(payment.campaign, payment.village)
        _refuse_unless(payment, *OPEN_STATES)
        proxy = approved_proxy(payment) if receipt.by_proxy else None
        if receipt.by_proxy and proxy is None:
            raise WorkflowError(
                _(
                    "Collection by a proxy is not allowed (严禁代领): the recipient signs in "
                    "person unless a supervisor approved an exception for this payment."
                )
            )
        if payment.state == PaymentState.PLANNED:
            # Handed over at the door as it was signed for, offline or not:
            # chained first, so its event holds the record as handed over.
            signed_at = _signed_time(receipt.signed_at, payment.created_at)
            change = _hand_over(payment, actor, receipt.cadres, signed_at)
            payment.save()
            chain.append(payment.campaign, actor, [change])
        else:
            signed_at = _signed_time(receipt.signed_at, payment.handed_over_at)
        previous = payment.state
        payment.state = PaymentState.SIGNED
        payment.evidence = Evidence.PAD
        payment.signed_at = signed_at
        payment.signed_recorded_by = actor
        payment.device = receipt.device.strip()[:200]
        payment.client_key = key or None
        payment.proxy = proxy
        payment.signature_sha256 = _store(
            payment.signature, receipt.signature, f"{payment.number}-signature.png"
        )
        payment.countersignature_sha256 = _store(
            payment.countersignature, receipt.countersignature, f"{payment.number}-cadre.png"
        )
        if photo is not None:
            payment.photo_sha256 = _store(payment.photo, photo[0], photo[1])
        payment.save()
        change = chain.Change(
            payment,
            Action.SIGNED,
            previous,
            data={"proxy": proxy.name if proxy else "", "device": payment.device},
        )
        chain.append(payment.campaign, actor, [change])
    return payment


def _read_photo(upload: File | None) -> tuple[bytes, str] | None:
    if upload is None:
        return None
    kind = check_upload(upload)
    if not kind.startswith("image/"):
        raise WorkflowError(_("The photo must be a JPEG or PNG image."))
    data = upload.read()
    _image(data, _("photo"), ink=False)
    return data, "photo.jpg" if kind == "image/jpeg" else "photo.png"


def attach_photo(actor: User, payment: Payment, upload: File) -> Payment:
    """The photo of the visit (one per household, 001/篇二), kept with the payment."""
    _may(actor, HAND_OVER, payment, _("You may not add photos to this payment."))
    photo = _read_photo(upload)
    assert photo is not None
    with transaction.atomic():
        payment = _locked(payment)
        _check_open_village(payment.campaign, payment.village)
        if payment.booked_at is not None:
            raise WorkflowError(_("Payment %(number)s is booked.") % {"number": payment.number})
        payment.photo_sha256 = _store(payment.photo, photo[0], f"{payment.number}-{photo[1]}")
        payment.save()
        chain.append(payment.campaign, actor, [chain.Change(payment, Action.PHOTO, payment.state)])
    return payment


def fail(actor: User, payment: Payment, reason: str, note: str = "") -> Payment:
    """The payment could not be made (not found, refused, deceased): the money
    goes back to the fund, with the reason."""
    _may(actor, HAND_OVER, payment, _("You may not record this payment."))
    reason = FailureReason(reason)
    note = note.strip()
    if reason == FailureReason.OTHER and not note:
        raise WorkflowError(_("Say what happened."))
    with transaction.atomic():
        payment = _locked(payment)
        _check_campaign(payment.campaign)
        _check_open_village(payment.campaign, payment.village)
        _refuse_unless(payment, *OPEN_STATES)
        previous = payment.state
        payment.state = PaymentState.FAILED
        payment.failure_reason = reason
        payment.failure_note = note
        payment.failed_at = timezone.now()
        payment.save()
        chain.append(
            payment.campaign,
            actor,
            [
                chain.Change(
                    payment, Action.FAILED, previous, reason=f"{reason.label} {note}".strip()
                )
            ],
        )
    return payment


# -- proxies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Proxy:
    name: str
    id_number: str
    relation: str
    reason: str


def request_proxy(actor: User, payment: Payment, proxy: Proxy) -> ProxyException:
    """Ask a supervisor to let someone else collect (代领), saying who and why."""
    _may(actor, REQUEST_PROXY, payment, _("You may not ask for a proxy for this payment."))
    fields = {k: getattr(proxy, k).strip() for k in ("name", "id_number", "relation", "reason")}
    if not all(fields.values()):
        raise WorkflowError(_("Give the proxy's name, ID number, relation and the reason."))
    try:
        validate_id_number(fields["id_number"])
    except ValidationError as error:
        raise WorkflowError(" ".join(error.messages)) from error
    fields["id_number"] = idnumber.normalize(fields["id_number"])
    if fields["id_number"] == payment.recipient_id_number:
        raise WorkflowError(_("The proxy is the recipient: no exception is needed."))
    with transaction.atomic():
        payment = _locked(payment)
        _refuse_unless(payment, *OPEN_STATES)
        exception = ProxyException.objects.create(payment=payment, requested_by=actor, **fields)
        audit.record(
            actor,
            "payment.proxy_requested",
            payment,
            reason=fields["reason"],
            proxy=fields["name"],
            relation=fields["relation"],
        )
    return exception


def decide_proxy(
    actor: User, exception: ProxyException, approve: bool, note: str = ""
) -> ProxyException:
    """A supervisor approves or refuses a proxy exception; not their own request."""
    _may(actor, APPROVE_PROXY, exception.payment, _("You may not decide on proxies here."))
    with transaction.atomic():
        exception = (
            ProxyException.objects.select_for_update()
            .select_related("payment")
            .get(pk=exception.pk)
        )
        if exception.status != ProxyStatus.REQUESTED:
            raise WorkflowError(_("This proxy exception was decided already."))
        if exception.requested_by_id == actor.pk:
            raise WorkflowError(_("Someone else must decide on a proxy you asked for."))
        previous = exception.status
        exception.status = ProxyStatus.APPROVED if approve else ProxyStatus.REFUSED
        exception.decided_by = actor
        exception.decided_at = timezone.now()
        exception.decision_note = note.strip()
        exception.save()
        audit.record(
            actor,
            "payment.proxy_decided",
            exception.payment,
            from_state=previous,
            to_state=exception.status,
            reason=exception.decision_note,
            proxy=exception.name,
        )
    return exception


# -- signed paper sheets ----------------------------------------------------------------


def attach_scan(actor: User, campaign: Campaign, village: Area, upload: File) -> SheetScan:
    """Keep the scan of a village's signed payment sheet."""
    if not actor.has_perm(SCAN, village):
        raise WorkflowError(_("You may not file scans for this village."))
    _check_campaign(campaign)
    if not village.code.startswith(prefix_of(campaign.area.code)):
        raise WorkflowError(
            _("%(village)s is outside the campaign's area %(area)s.")
            % {"village": village.name, "area": campaign.area.name}
        )
    check_upload(upload)
    data = upload.read()
    upload.seek(0)
    with transaction.atomic():
        _check_open_village(campaign, village)
        scan = SheetScan.objects.create(
            campaign=campaign,
            village=village,
            file=upload,
            name=upload.name[:200],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=actor,
        )
        audit.record(actor, "payment.scan", scan, area=village, name=scan.name, sha256=scan.sha256)
    return scan


def confirm_from_scan(
    actor: User, scan: SheetScan, payments: Iterable[int], *, by_proxy: Iterable[int] = ()
) -> int:
    """Tick off against the scan the lines signed on paper: those payments are
    signed (Evidence.SHEET). A line signed by a proxy needs an approved
    exception. Returns how many were signed; lines signed already are skipped."""
    if not actor.has_perm(SCAN, scan.village):
        raise WorkflowError(_("You may not confirm receipts for this village."))
    ids, proxied = set(payments), set(by_proxy)
    _check_campaign(scan.campaign)
    with transaction.atomic():
        chain.lock_head(scan.campaign)
        _check_open_village(scan.campaign, scan.village)
        rows = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, campaign=scan.campaign, village=scan.village)
            .order_by("number")
        )
        if len(rows) != len(ids):
            raise WorkflowError(_("Some lines are not payments of this village's sheet."))
        approved = {
            e.payment_id: e
            for e in ProxyException.objects.filter(
                payment_id__in=proxied, status=ProxyStatus.APPROVED
            )
        }
        missing = [p.number for p in rows if p.pk in proxied and p.pk not in approved]
        if missing:
            raise WorkflowError(
                _(
                    "Collection by a proxy is not allowed without an approved exception: "
                    "%(numbers)s."
                )
                % {"numbers": ", ".join(missing)}
            )
        rows = [p for p in rows if p.state in OPEN_STATES]
        # Lines still planned were handed over on the day they were signed:
        # chained first, so each event holds the record as it was then.
        handed = [_hand_over(p, actor, "") for p in rows if p.state == PaymentState.PLANNED]
        Payment.objects.bulk_update(
            [c.payment for c in handed],
            ["state", "handed_over_at", "handed_over_by", "cadres"],
            batch_size=chain.CHUNK,
        )
        chain.append(scan.campaign, actor, handed)
        signed, now = [], timezone.now()
        for payment in rows:
            signed.append(
                chain.Change(payment, Action.SIGNED, payment.state, data={"scan": scan.pk})
            )
            payment.state = PaymentState.SIGNED
            payment.evidence = Evidence.SHEET
            payment.scan = scan
            payment.proxy = approved.get(payment.pk)
            payment.signed_at = now
            payment.signed_recorded_by = actor
        Payment.objects.bulk_update(
            rows,
            ["state", "evidence", "scan", "proxy", "signed_at", "signed_recorded_by"],
            batch_size=chain.CHUNK,
        )
        chain.append(scan.campaign, actor, signed)
    return len(signed)


# -- corrections ------------------------------------------------------------------------


# What a reversal and a replacement do not copy from the record they correct:
# their own identity, the figures they change, and the bookkeeping they await.
COPIED_EXCEPT = frozenset(
    {
        "id",
        "number",
        "kind",
        "corrects_id",
        "method",
        "account",
        "cash",
        "goods",
        "amount",
        "created_at",
        "booked_at",
        "booked_by_id",
        "client_key",
    }
)


@dataclass(frozen=True)
class Correction:
    """What a signed record should have said."""

    cash: Decimal
    goods: Decimal
    method: str
    account: str = ""


def correct(
    actor: User, payment: Payment, correction: Correction, reason: str
) -> tuple[Payment, Payment]:
    """Correct a signed record without editing it: a reversal (its negative)
    and a replacement carrying the corrected figures and the original
    evidence, both linked to it. Returns (reversal, replacement)."""
    _may(actor, CORRECT, payment, _("You may not correct this payment."))
    reason = reason.strip()
    if not reason:
        raise WorkflowError(_("Give a reason."))
    cash, goods = calc.money(correction.cash), calc.money(correction.goods)
    if cash < 0 or goods < 0 or cash + goods <= 0:
        raise WorkflowError(_("The corrected amount must be more than zero."))
    method = Method(correction.method)
    with transaction.atomic():
        payment = _locked(payment)
        _check_open_village(payment.campaign, payment.village)
        if payment.state != PaymentState.SIGNED or payment.kind == Kind.REVERSAL:
            raise WorkflowError(_("Only a signed payment can be corrected."))
        if payment.corrections.exists():
            raise WorkflowError(
                _("Payment %(number)s was corrected already; correct its replacement.")
                % {"number": payment.number}
            )
        if (cash, goods, method, correction.account.strip()) == (
            payment.cash,
            payment.goods,
            payment.method,
            payment.account,
        ):
            raise WorkflowError(_("The correction changes nothing."))
        base = {
            f.attname: getattr(payment, f.attname)
            for f in Payment._meta.concrete_fields
            if f.attname not in COPIED_EXCEPT
        }
        reversal = Payment(
            **base,
            number=f"{payment.number}-R",
            kind=Kind.REVERSAL,
            corrects=payment,
            method=payment.method,
            account=payment.account,
            cash=-payment.cash,
            goods=-payment.goods,
            amount=-payment.amount,
        )
        replacement = Payment(
            **base,
            number=f"{payment.number}-C",
            kind=Kind.REPLACEMENT,
            corrects=payment,
            method=method,
            account=correction.account.strip() if method == Method.BANK else "",
            cash=cash,
            goods=goods,
            amount=cash + goods,
        )
        for record in (reversal, replacement):
            record.save()
        sources = {payment.fund_source_id: payment.fund_source}
        _shares([reversal, replacement], sources)
        chain.append(
            payment.campaign,
            actor,
            [
                chain.Change(reversal, Action.REVERSED, "", reason=reason),
                chain.Change(replacement, Action.REPLACED, "", reason=reason),
            ],
        )
    return reversal, replacement


# -- finance ----------------------------------------------------------------------------


def book(actor: User, campaign: Campaign, village: Area) -> int:
    """记账: the finance office books the village's signed records not yet
    booked. Set-based; returns how many were booked."""
    if not actor.has_perm(BOOK, village):
        raise WorkflowError(_("You may not book payments of this village."))
    _check_campaign(campaign)
    with transaction.atomic():
        chain.lock_head(campaign)
        _check_open_village(campaign, village)
        rows = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(campaign=campaign, village=village, state=PaymentState.SIGNED, booked_at=None)
            .order_by("number")
        )
        now = timezone.now()
        for payment in rows:
            payment.booked_at, payment.booked_by = now, actor
        Payment.objects.bulk_update(rows, ["booked_at", "booked_by"], batch_size=chain.CHUNK)
        chain.append(campaign, actor, [chain.Change(p, Action.BOOKED, p.state) for p in rows])
    return len(rows)


def close_village(actor: User, campaign: Campaign, village: Area) -> VillageClosing:
    """Close a village's payments for the campaign once everything approved
    was paid or failed and every signed record is booked; nothing of the
    village changes afterwards."""
    from disbursements.reconciliation import reconcile

    if not actor.has_perm(BOOK, village):
        raise WorkflowError(_("You may not close this village."))
    with transaction.atomic():
        chain.lock_head(campaign)
        _check_open_village(campaign, village)
        line = reconcile(campaign, villages=[village]).lines[0]
        if line.unplanned_count or line.pending_count:
            raise WorkflowError(
                _(
                    "%(village)s still has %(count)d payments not signed for or failed, "
                    "or approved applications without payments."
                )
                % {"village": village.name, "count": line.unplanned_count + line.pending_count}
            )
        unbooked = Payment.objects.filter(
            Q(state=PaymentState.SIGNED, booked_at=None), campaign=campaign, village=village
        ).count()
        if unbooked:
            raise WorkflowError(
                _("%(village)s has %(count)d signed payments not booked yet.")
                % {"village": village.name, "count": unbooked}
            )
        closing = VillageClosing.objects.create(
            campaign=campaign, village=village, closed_by=actor, figures=line.as_dict()
        )
        audit.record(actor, "payment.village_closed", closing, area=village, **line.as_dict())
    return closing
