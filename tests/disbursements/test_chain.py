"""The chain finds what was changed behind the application's back: UPDATEs,
DELETEs and INSERTs done in SQL on signed records and on the chain itself."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from disbursements import chain, services
from disbursements.models import ChainHead, Payment, PaymentEvent, PaymentShare

from .conftest import receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(people, areas, campaign, planned) -> list[Payment]:
    """张三 signed on the pad, 赵六 handed over, 李四 failed; 8 events."""
    zhang, zhao, li = planned
    services.sign(people.clerk_a, zhang, receipt())
    services.hand_over(people.clerk_a, zhao)
    services.fail(people.clerk_b, li, "refused")
    assert PaymentEvent.objects.count() == 7
    return [Payment.objects.get(pk=p.pk) for p in planned]


def sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify_command(campaign, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_chain", str(campaign.pk), *extra, stdout=out)
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


def test_it_passes_an_untouched_chain(campaign, history):
    report = chain.verify(campaign)
    assert report.ok, report.problems
    assert (report.events, report.payments) == (7, 3)
    head = ChainHead.objects.get(campaign=campaign)
    assert (
        (report.head_seq, report.head_hash)
        == (head.seq, head.hash)
        == (
            7,
            PaymentEvent.objects.get(seq=7).hash,
        )
    )
    status, out = verify_command(campaign)
    assert status == 0
    assert head.hash in out


def test_it_finds_an_update_of_a_signed_payment(campaign, history):
    zhang = history[0]
    sql(f"UPDATE {Payment._meta.db_table} SET amount = 5000, cash = 5000 WHERE id = %s", zhang.pk)
    report = chain.verify(campaign)
    assert len(report.problems) == 1
    assert zhang.number in report.problems[0]
    assert "'500.00' → '5000.00'" in report.problems[0]
    status, out = verify_command(campaign)
    assert status == 1
    assert zhang.number in out.splitlines()[1]


def test_it_finds_an_update_of_a_payers_share(campaign, history):
    share = PaymentShare.objects.get(payment=history[0])
    sql(f"UPDATE {PaymentShare._meta.db_table} SET payer = %s WHERE id = %s", "别处", share.pk)
    problems = chain.verify(campaign).problems
    assert len(problems) == 1
    assert history[0].number in problems[0] and "别处" in problems[0]


def test_it_finds_an_altered_event(campaign, history):
    event = PaymentEvent.objects.get(seq=3)
    sql(
        f"UPDATE {PaymentEvent._meta.db_table} SET reason = %s WHERE id = %s",
        "改过",
        event.pk,
    )
    problems = chain.verify(campaign).problems
    assert "#3" in problems[0]
    assert len(problems) == 1


def test_it_finds_an_event_deleted_from_the_middle(campaign, history):
    event = PaymentEvent.objects.get(seq=6)  # 赵六 handed over
    sql(f"DELETE FROM {PaymentEvent._meta.db_table} WHERE id = %s", event.pk)
    problems = chain.verify(campaign).problems
    assert "#6" in problems[0]  # the gap
    assert "#7" in problems[1]  # the next event no longer follows
    assert any(history[1].number in p for p in problems)  # 赵六's record no longer matches


def test_it_finds_events_cut_off_the_end(campaign, history):
    last = PaymentEvent.objects.get(seq=7)
    sql(f"DELETE FROM {PaymentEvent._meta.db_table} WHERE id = %s", last.pk)
    problems = chain.verify(campaign).problems
    assert "#6" in problems[0] and "#7" in problems[0]  # the head says 7, the chain ends at 6


def test_it_finds_a_payment_inserted_by_sql(people, campaign, history):
    zhang = history[0]
    columns = [
        f.column for f in Payment._meta.concrete_fields if f.column not in ("id", "client_key")
    ]
    replaced = ("number", "instalment")
    sql(
        f"INSERT INTO {Payment._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(c if c not in replaced else '%s' for c in columns)} "
        f"FROM {Payment._meta.db_table} WHERE id = %s",
        *[
            f"{zhang.number}-X" if c == "number" else 9
            for c in columns
            if c in ("number", "instalment")
        ],
        zhang.pk,
    )
    problems = chain.verify(campaign).problems
    assert problems == [p for p in problems if f"{zhang.number}-X" in p]
    assert len(problems) == 1


def test_it_finds_a_rewritten_chain_against_a_signed_head(campaign, history):
    """Someone rewrites event 7 and recomputes its hash and the head: the chain
    is consistent again, but not with the head a signed ledger printed."""
    signed_head = (7, PaymentEvent.objects.get(seq=7).hash)
    event = PaymentEvent.objects.get(seq=7)
    event.reason = "改过"
    event.hash = chain.event_hash(event)
    sql(
        f"UPDATE {PaymentEvent._meta.db_table} SET reason = %s, hash = %s WHERE id = %s",
        event.reason,
        event.hash,
        event.pk,
    )
    sql(f"UPDATE {ChainHead._meta.db_table} SET hash = %s", event.hash)
    assert chain.verify(campaign).ok  # consistent on its own
    report = chain.verify(campaign, expected=signed_head)
    assert len(report.problems) == 1 and "#7" in report.problems[0]
    status, _out = verify_command(campaign, "--head", f"{signed_head[0]}:{signed_head[1]}")
    assert status == 1


def test_it_refuses_a_malformed_head_argument(campaign, history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("verify_chain", str(campaign.pk), "--head", "7:nothex")
