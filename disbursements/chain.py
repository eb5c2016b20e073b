"""The tamper-evident chain of a campaign's payment events (domain.md §5).

Each event stores the payment as it stood after the event (`snapshot`) and
hash = SHA-256(canonical JSON of the event, previous event's hash included).
`append` is the only writer; it runs inside the caller's transaction with the
campaign's `ChainHead` row locked, so events get consecutive numbers even
from two clerks at once.

`verify` recomputes everything from the rows as they are:

- every event's hash from its content (an UPDATE of an event shows);
- every link to the previous hash, and numbers 1..n without a gap (an event
  deleted or slipped in shows);
- the head against the last event (events cut off the end show);
- every payment against the snapshot of its last event (an UPDATE of a
  payment or of its payer shares shows), and every payment having events (a
  row INSERTed by SQL shows).

Someone able to rewrite the whole chain and its head can make it consistent
again; what they cannot rewrite is a head already printed in a signed ledger
(`disbursements.signing`): `verify(campaign, expected=...)` checks against it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from disbursements.choices import Action
from disbursements.models import ChainHead, Payment, PaymentEvent
from relief.models import AuditEvent, User
from relief.snapshot import one_snapshot

GENESIS = "0" * 64
CHUNK = 2000


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _time(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _file_hash(value: str) -> str:
    return value or ""


def snapshot(payment: Payment, shares: Iterable[tuple[str, Decimal]]) -> dict[str, Any]:
    """The payment's content as the chain records it: plain JSON values only,
    money at two decimals and times in UTC, so the same row always gives the
    same snapshot whichever database it was read from."""
    return {
        "number": payment.number,
        "campaign": payment.campaign_id,
        "application": payment.application_id,
        "village": payment.village_id,
        "instalment": payment.instalment,
        "instalments": payment.instalments,
        "kind": payment.kind,
        "corrects": payment.corrects_id,
        "state": payment.state,
        "method": payment.method,
        "account": payment.account,
        "goods_items": payment.goods_items,
        "cash": _money(payment.cash),
        "goods": _money(payment.goods),
        "amount": _money(payment.amount),
        "fund_source": payment.fund_source_id,
        "shares": [[payer, _money(amount)] for payer, amount in shares],
        "recipient_name": payment.recipient_name,
        "recipient_id_number": payment.recipient_id_number,
        "planned_on": payment.planned_on.isoformat() if payment.planned_on else None,
        "cadres": payment.cadres,
        "handed_over_at": _time(payment.handed_over_at),
        "handed_over_by": payment.handed_over_by_id,
        "evidence": payment.evidence,
        "signed_at": _time(payment.signed_at),
        "signed_recorded_by": payment.signed_recorded_by_id,
        "signature": _file_hash(payment.signature_sha256),
        "countersignature": _file_hash(payment.countersignature_sha256),
        "device": payment.device,
        "client_key": payment.client_key,
        "scan": payment.scan_id,
        "proxy": payment.proxy_id,
        "photo": _file_hash(payment.photo_sha256),
        "failure_reason": payment.failure_reason,
        "failure_note": payment.failure_note,
        "failed_at": _time(payment.failed_at),
        "booked_at": _time(payment.booked_at),
        "booked_by": payment.booked_by_id,
    }


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(event: PaymentEvent) -> str:
    content = {
        "campaign": event.campaign_id,
        "seq": event.seq,
        "payment": event.payment_id,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor_id,
        "at": _time(event.at),
        "reason": event.reason,
        "record": event.record,
        "prev": event.prev_hash,
    }
    return hashlib.sha256(canonical(content)).hexdigest()


@dataclass(frozen=True)
class Change:
    """One event to append: what happened to which payment."""

    payment: Payment
    action: str
    from_state: str
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # extra for the audit log


def lock_head(campaign: Campaign) -> ChainHead:
    """The campaign's chain head, locked until the transaction ends."""
    head = ChainHead.objects.select_for_update().filter(campaign=campaign).first()
    if head is None:
        try:
            with transaction.atomic():
                ChainHead.objects.create(campaign=campaign, seq=0, hash=GENESIS)
        except IntegrityError:  # created by another transaction meanwhile
            pass
        head = ChainHead.objects.select_for_update().get(campaign=campaign)
    return head


def append(campaign: Campaign, actor: User | None, changes: Sequence[Change]) -> list[PaymentEvent]:
    """Chain one event per change, with the payments as they are now (saved,
    shares included), and write the matching audit events."""
    if not changes:
        return []
    assert transaction.get_connection().in_atomic_block, "append() needs a transaction"
    head = lock_head(campaign)
    ids = [c.payment.pk for c in changes]
    shares: dict[int, list[tuple[str, Decimal]]] = {pk: [] for pk in ids}
    from disbursements.models import PaymentShare

    for start in range(0, len(ids), CHUNK):
        for pk, payer, amount in (
            PaymentShare.objects.filter(payment_id__in=ids[start : start + CHUNK])
            .order_by("id")
            .values_list("payment_id", "payer", "amount")
        ):
            shares[pk].append((payer, amount))
    now = timezone.now()
    actor_id = actor.pk if actor is not None and actor.pk else None
    events, audits = [], []
    content_type = ContentType.objects.get_for_model(Payment)
    seq, prev = head.seq, head.hash
    for change in changes:
        seq += 1
        payment = change.payment
        event = PaymentEvent(
            campaign=campaign,
            seq=seq,
            payment=payment,
            action=change.action,
            from_state=change.from_state,
            to_state=payment.state,
            actor_id=actor_id,
            at=now,
            reason=change.reason,
            record=snapshot(payment, shares[payment.pk]),
            prev_hash=prev,
        )
        event.hash = prev = event_hash(event)
        events.append(event)
        audits.append(
            AuditEvent(
                at=now,
                actor_id=actor_id,
                action=f"payment.{change.action}",
                target_type=content_type,
                target_id=str(payment.pk),
                target_repr=payment.number,
                area_id=payment.village_id,
                from_state=change.from_state,
                to_state=payment.state,
                reason=change.reason,
                data={"seq": seq, "hash": event.hash, **change.data},
            )
        )
    PaymentEvent.objects.bulk_create(events, batch_size=CHUNK)
    AuditEvent.objects.bulk_create(audits, batch_size=CHUNK)
    ChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev)
    return events


# -- verification -----------------------------------------------------------------------


@dataclass
class Report:
    """What `verify` found; `problems` in chain order, the first one first."""

    events: int = 0
    payments: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _differences(stored: dict[str, Any], actual: dict[str, Any]) -> str:
    keys = sorted(set(stored) | set(actual))
    return "; ".join(
        f"{key}: {stored.get(key)!r} → {actual.get(key)!r}"
        for key in keys
        if stored.get(key) != actual.get(key)
    )


def verify(campaign: Campaign, *, expected: tuple[int, str] | None = None) -> Report:
    """Recompute the campaign's chain; see the module's docstring. The events,
    the head and the payments are read at one moment: a payment recorded while
    the verification runs is no false alarm ("events were removed")."""
    with one_snapshot():
        return _verify(campaign, expected)


def _verify(campaign: Campaign, expected: tuple[int, str] | None) -> Report:
    report = Report()
    prev, last_seq = GENESIS, 0
    last_event: dict[int, tuple[int, dict[str, Any]]] = {}  # payment → (seq, record)
    numbers = dict(Payment.objects.filter(campaign=campaign).values_list("pk", "number"))
    events = PaymentEvent.objects.filter(campaign=campaign).order_by("seq")
    for event in events.iterator(chunk_size=CHUNK):
        report.events += 1
        label = {
            "seq": event.seq,
            "payment": numbers.get(event.payment_id, event.payment_id),
            "action": Action(event.action).label if event.action in Action.values else event.action,
        }
        if event.seq != last_seq + 1:
            if event.seq > last_seq + 1:
                report.problems.append(
                    _("Events #%(first)s to #%(last)s are missing: deleted from the chain.")
                    % {"first": last_seq + 1, "last": event.seq - 1}
                )
            else:
                report.problems.append(
                    _("Event #%(seq)s appears twice: inserted into the chain.") % label
                )
        if event.prev_hash != prev:
            report.problems.append(
                _(
                    "Event #%(seq)s (payment %(payment)s, %(action)s) does not follow the "
                    "event before it: an event before it was inserted, deleted or altered."
                )
                % label
            )
        if event_hash(event) != event.hash:
            report.problems.append(
                _(
                    "Event #%(seq)s (payment %(payment)s, %(action)s) was altered after it "
                    "was written."
                )
                % label
            )
        if expected is not None and event.seq == expected[0] and event.hash != expected[1]:
            report.problems.append(
                _("Event #%(seq)s is not the one the signed head names.") % label
            )
        prev, last_seq = event.hash, event.seq
        last_event[event.payment_id] = (event.seq, event.record)
    report.head_seq, report.head_hash = last_seq, prev
    head = ChainHead.objects.filter(campaign=campaign).first()
    if head is not None and (head.seq, head.hash) != (last_seq, prev):
        report.problems.append(
            _(
                "The chain ends at event #%(last)s but its head is at #%(head)s: "
                "events were removed."
            )
            % {"last": last_seq, "head": head.seq}
        )
    if expected is not None and expected[0] > last_seq:
        report.problems.append(
            _("A signed ledger names event #%(seq)s, past the end of the chain (#%(last)s).")
            % {"seq": expected[0], "last": last_seq}
        )
    report.problems.extend(_check_payments(campaign, last_event, report))
    return report


def _check_payments(
    campaign: Campaign, last_event: dict[int, tuple[int, dict[str, Any]]], report: Report
) -> list[str]:
    found: list[tuple[int, str]] = []
    payments = Payment.objects.filter(campaign=campaign).order_by("pk").prefetch_related("shares")
    for payment in payments.iterator(chunk_size=CHUNK):
        report.payments += 1
        actual = snapshot(payment, [(s.payer, s.amount) for s in payment.shares.all()])
        seen = last_event.pop(payment.pk, None)
        if seen is None:
            found.append(
                (
                    0,
                    _(
                        "Payment %(number)s has no event in the chain: it was inserted "
                        "behind the application's back."
                    )
                    % {"number": payment.number},
                )
            )
        elif seen[1] != actual:
            found.append(
                (
                    seen[0],
                    _("Payment %(number)s no longer matches its last event #%(seq)s: %(changes)s.")
                    % {
                        "number": payment.number,
                        "seq": seen[0],
                        "changes": _differences(seen[1], actual),
                    },
                )
            )
    for pk, (seq, record) in last_event.items():
        found.append(
            (
                seq,
                _("Payment %(number)s of event #%(seq)s is gone.")
                % {"number": record.get("number", pk), "seq": seq},
            )
        )
    return [message for _seq, message in sorted(found, key=lambda item: item[0])]
