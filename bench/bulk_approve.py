"""Benchmark: approving 10,000 applications at once through the real service.

    python bench/bulk_approve.py                      # SQLite, in bench/.data/
    python bench/bulk_approve.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench
    python bench/bulk_approve.py --profile            # and where the time goes (cProfile)

The data is built once, in bulk (not through the services, which would take
long) and reused: a township campaign, open, whose N applications wait in
public notice in the township's villages, on a notice that has ended; one
household with one member each; a fund source whose budget pays for all of
them; a category of 500 yuan. Each measurement starts from that state again
(the rows are put back in notice and the events it wrote are deleted).

Measured, each `--repeats` times (the median is reported):

- baseline: the floor of any set-based approval in the same run: read the
  rows' ids, one UPDATE of their state, and a bulk insert of N bare audit
  events, in one transaction;
- `applications.services.approve(supervisor, <all N>)`: the real service,
  every check (locks, campaign, stage, rights per row, 回避, notice and
  objections, disqualification, quota, budget), one audit event each;
- the same with a budget that pays for only half: exactly that many approved,
  the rest refused for the fund source.

Each is reported in wall-clock seconds and in this process's CPU seconds (the
Python side, little affected by whatever else runs on the machine; on
PostgreSQL the server's own work is only in the wall clock), with the ratio to
the baseline. Every run is verified: the number approved, one application.approve event per
approved application, and the fund source's committed total within budget.

Prints a table and writes bench/results/bulk_approve-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import pstats
import re
import time
from dataclasses import asdict
from decimal import Decimal

from harness import ROOT, Clock, Timing, configure, households_with_heads, median

AMOUNT = Decimal(500)
TOWNSHIP = "130123100000"  # 城关镇 of the demo county, with three villages
BASELINE_ACTION = "bench.baseline"


# -- the data ---------------------------------------------------------------------


def campaign_name(count: int) -> str:
    return f"基准：批量审批 {count}"


def supervisor():
    """The township's supervisor (审批), with an ID number so 回避 is checked in full."""
    from relief import idnumber
    from relief.choices import Role
    from relief.models import Area, RoleAssignment, User

    township = Area.objects.get(code=TOWNSHIP)
    user, created = User.objects.get_or_create(
        username="bench-supervisor",
        defaults={
            "name": "基准审批人",
            "area": township,
            # Born 1930: no household member of the bench has this number.
            "id_number": idnumber.make("130123", datetime.date(1930, 1, 1), 1),
        },
    )
    if created:
        user.set_unusable_password()
        user.save()
        RoleAssignment.objects.create(user=user, role=Role.TOWNSHIP_SUPERVISOR, area=township)
    # A fresh object, as a request would have: the role caches start empty.
    return User.objects.get(pk=user.pk)


def build(count: int):
    """The campaign with `count` applications in an ended notice (bulk inserts)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.choices import HardshipCause, State
    from applications.models import Application, Notice
    from campaigns.choices import CampaignStatus
    from campaigns.models import Campaign, CampaignKind, Category, FundSource
    from relief import demo
    from relief.models import Area

    existing = Campaign.objects.filter(name=campaign_name(count)).first()
    if existing is not None:
        return existing
    started = time.perf_counter()
    print(f"Building {count:,} applications in notice (once; the database is kept)...")
    demo.ensure_areas()
    township = Area.objects.get(code=TOWNSHIP)
    villages = list(Area.objects.filter(parent=township).order_by("code"))
    actor = supervisor()
    today = timezone.localdate()
    kind, _created = CampaignKind.objects.get_or_create(name="春节慰问")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=campaign_name(count),
            issuer="城关镇人民政府",
            area=township,
            year=today.year,
            kind=kind,
            status=CampaignStatus.OPEN,
            published_on=today - datetime.timedelta(days=30),
            notice_days=7,
        )
        source = FundSource.objects.create(
            campaign=campaign, name="镇财政", payer="城关镇财政所", budget=AMOUNT * count
        )
        category = Category.objects.create(
            campaign=campaign,
            name="一般困难户",
            cash=AMOUNT,
            planned_count=count,
            quota=count,  # exactly enough: the quota check runs on every row
            fund_source=source,
        )
        notice = Notice.objects.create(
            campaign=campaign,
            area=township,
            starts_on=today - datetime.timedelta(days=8),
            ends_on=today - datetime.timedelta(days=2),
            contact="民政办 0311-1234567",
            place="便民服务大厅",
            published_by=actor,
        )
        households = households_with_heads(
            [villages[i % len(villages)] for i in range(count)],
            lambda n, household: f"户主{household.pk}",
            born_from=datetime.date(1950, 1, 1),
        )
        Application.objects.bulk_create(
            (
                Application(
                    number=f"{campaign.year}-{campaign.pk:03d}-{n:05d}",
                    campaign=campaign,
                    household=household,
                    village_id=household.village_id,
                    category=category,
                    fund_source=source,
                    state=State.IN_NOTICE,
                    cause=HardshipCause.ILLNESS,
                    amount=AMOUNT,
                    cash=AMOUNT,
                    tier="",
                    explanation="固定标准 500 元",
                    notice=notice,
                    created_by=actor,
                )
                for n, household in enumerate(households, start=1)
            ),
            batch_size=1000,
        )
    # Statistics as a production database keeps them.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"  done in {time.perf_counter() - started:.0f} s")
    return campaign


def reset(campaign, budget: Decimal) -> None:
    """Back to the starting point: every application in notice, no decision events."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from applications.choices import State
    from applications.models import Application
    from relief.models import AuditEvent

    apps = Application.objects.filter(campaign=campaign)
    with transaction.atomic():
        apps.update(state=State.IN_NOTICE, returned_to="", decided_at=None)
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Application),
            target_id__in=apps.annotate(key=Cast("pk", CharField())).values("key"),
            action__in=["application.approve", BASELINE_ACTION],
        ).delete()
        campaign.fund_sources.update(budget=budget)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # dead rows as autovacuum would clear them
            cursor.execute("VACUUM ANALYZE applications_application, relief_auditevent")


# -- the measurements -----------------------------------------------------------------


def baseline(campaign, actor) -> Timing:
    """The floor: ids read, one UPDATE, N bare events inserted, in one transaction."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from applications.choices import State
    from applications.models import Application
    from relief.models import AuditEvent

    clock = Clock()
    with transaction.atomic():
        now = timezone.now()
        content_type = ContentType.objects.get_for_model(Application)
        rows = Application.objects.filter(campaign=campaign, state=State.IN_NOTICE)
        found = list(rows.values_list("pk", "number", "village_id"))
        rows.update(state=State.APPROVED, decided_at=now, updated_at=now)
        AuditEvent.objects.bulk_create(
            (
                AuditEvent(
                    at=now,
                    actor=actor,
                    action=BASELINE_ACTION,
                    target_type=content_type,
                    target_id=str(pk),
                    target_repr=number,
                    area_id=village,
                    from_state=State.IN_NOTICE,
                    to_state=State.APPROVED,
                )
                for pk, number, village in found
            ),
            batch_size=500,
        )
    return clock.stop()


def approve(campaign, actor, profile: cProfile.Profile | None = None):
    """The real service on every application of the campaign; (timing, result)."""
    from applications import services
    from applications.models import Application

    apps = Application.objects.filter(campaign=campaign)
    clock = Clock()
    if profile is not None:
        profile.enable()
    result = services.approve(actor, apps)
    if profile is not None:
        profile.disable()
    return clock.stop(), result


def verify(campaign, result, expected: int) -> dict[str, object]:
    """What the database holds after an approval; AssertionError if it is wrong."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField, Sum
    from django.db.models.functions import Cast

    from applications.choices import COMMITTED, State
    from applications.models import Application
    from relief.models import AuditEvent

    source = campaign.fund_sources.get()
    apps = Application.objects.filter(campaign=campaign)
    approved = apps.filter(state=State.APPROVED).count()
    events = AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Application),
        target_id__in=apps.annotate(key=Cast("pk", CharField())).values("key"),
        action="application.approve",
    )
    event_count = events.count()
    event_targets = events.values("target_id").distinct().count()
    committed = Application.objects.filter(fund_source=source, state__in=COMMITTED).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    refused_for_budget = sum(1 for _app, message in result.refused if source.name in message)
    figures = {
        "approved": approved,
        "done": len(result.done),
        "refused": len(result.refused),
        "refused_for_budget": refused_for_budget,
        "events": event_count,
        "committed": str(committed),
        "budget": str(source.budget),
    }
    total = apps.count()
    assert approved == expected == len(result.done), figures
    assert len(result.refused) == total - expected == refused_for_budget, figures
    assert event_count == event_targets == expected, figures
    assert committed <= source.budget, figures
    return figures


def hot_spots(profile: cProfile.Profile, limit: int) -> str:
    """The project's own functions by cumulative time, then everything by own time."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(rf"^{re.escape(str(ROOT))}/(?!\.venv/)", limit)
    stats.sort_stats("cumulative").print_callees(r"workflow\.py:\d+\((run|_move)\)$")
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (the median)")
    parser.add_argument(
        "--profile", action="store_true", help="profile one more full approval (cProfile)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/bulk-approve.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    count = args.applications
    url = args.database_url or "sqlite:///bench/.data/bulk-approve.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    configure(url)

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    campaign = build(count)
    full = AMOUNT * count
    half = AMOUNT * (count // 2)

    rows = []
    baselines, approvals = [], []
    print(f"\n{connection.vendor}, {count:,} applications in notice, {args.repeats} runs\n")
    for _run in range(args.repeats):
        reset(campaign, full)
        baselines.append(baseline(campaign, supervisor()))
        reset(campaign, full)
        timing, result = approve(campaign, supervisor())
        figures = verify(campaign, result, count)
        approvals.append(timing)
    base = median(baselines)
    rows.append(("baseline: UPDATE + bulk insert of events", base, count, count))
    approval = median(approvals)
    rows.append(("approve(), budget for all", approval, figures["approved"], figures["events"]))

    reset(campaign, half)
    timing, result = approve(campaign, supervisor())
    half_figures = verify(campaign, result, count // 2)
    rows.append(
        ("approve(), budget for half", timing, half_figures["approved"], half_figures["events"])
    )

    print(
        f"{'measurement':<42} {'seconds':>8} {'x baseline':>11} {'CPU s':>6} {'x baseline':>11}"
        f" {'approved':>9} {'events':>7}"
    )
    results = []
    for label, timing, approved, events in rows:
        ratio, cpu_ratio = timing.seconds / base.seconds, timing.cpu / base.cpu
        results.append(
            {
                "measurement": label,
                "seconds": timing.seconds,
                "ratio": ratio,
                "cpu_seconds": timing.cpu,
                "cpu_ratio": cpu_ratio,
                "approved": approved,
                "events": events,
            }
        )
        print(
            f"{label:<42} {timing.seconds:>8.2f} {ratio:>10.1f}x {timing.cpu:>6.2f}"
            f" {cpu_ratio:>10.1f}x {approved:>9,} {events:>7,}"
        )
    print(
        f"\nruns (wall s): baseline {', '.join(f'{t.seconds:.2f}' for t in baselines)};"
        f" approve {', '.join(f'{t.seconds:.2f}' for t in approvals)}"
    )
    print(
        f"budget for half: {half_figures['approved']:,} approved, "
        f"{half_figures['refused_for_budget']:,} refused for the fund source, "
        f"committed {Decimal(half_figures['committed']):,.2f}"
        f" of a budget of {Decimal(half_figures['budget']):,.2f}"
    )
    verdict = "under" if approval.seconds < 10 else "OVER"
    print(f"target: approve {count:,} in under 10 s: {approval.seconds:.2f} s, {verdict}")

    profile_text = ""
    if args.profile:
        reset(campaign, full)
        profile = cProfile.Profile()
        timing, result = approve(campaign, supervisor(), profile)
        verify(campaign, result, count)
        profile_text = hot_spots(profile, 30)
        print(f"\nprofiled approval: {timing.seconds:.2f} s (with the profiler's overhead)\n")
        print(profile_text)

    reset(campaign, full)  # leave it ready for the next run
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out / f"bulk_approve-{connection.vendor}-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "applications": count,
                "results": results,
                "baseline_runs": [asdict(t) for t in baselines],
                "approve_runs": [asdict(t) for t in approvals],
                "half_budget": half_figures,
            },
            indent=2,
        )
    )
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
