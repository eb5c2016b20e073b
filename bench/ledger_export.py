"""Benchmark: writing the ledger (发放台账) of a campaign of 100,000 items.

    python bench/ledger_export.py                      # SQLite, in bench/.data/
    python bench/ledger_export.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench_ledger
    python bench/ledger_export.py --profile            # and where the time goes (cProfile)

The data is built once, in bulk (not through the services, which would take
long) and reused: an open campaign of 城关镇 with two fund sources (one split
between two payers) and two categories (one with goods), and N approved
applications of N households of one member each, spread over the township's
three villages.

Measured in the same run, each `--repeats` times (the median is reported):

- fetch only: the ledger's rows (`documents.ledger.ledger_rows`) read and
  dropped: what any writer pays before writing a cell;
- baseline: xlsxwriter in constant_memory mode writing the same rows, fetched
  the same way, the same columns, with the same number format on the money
  and nothing else (no title rows, print set-up or subtotal sheets);
- `documents.ledger.write_ledger`: the real ledger with openpyxl's write-only
  mode: title rows, styled header, print set-up, the subtotal and budget
  sheets, and the totals computed along the way.

Each in wall-clock seconds and this process's CPU seconds, with the ratio to
the baseline (the target: write_ledger within 1.5× of it). Then one more
write_ledger under tracemalloc: its peak of Python memory, to show that the
rows stream rather than pile up. Every run of write_ledger is verified: N
items, totalling what the database sums.

Prints a table and writes bench/results/ledger_export-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import pstats
import time
import tracemalloc
from dataclasses import asdict
from decimal import Decimal

from harness import ROOT, Clock, Timing, configure, households_with_heads, median

TOWNSHIP = "130123100000"  # 城关镇 of the demo county, with three villages
PLAIN, KEY, GOODS = Decimal(500), Decimal(800), Decimal(200)


# -- the data ---------------------------------------------------------------------


def campaign_name(count: int) -> str:
    return f"基准：台账导出 {count}"


def build(count: int):
    """The campaign with `count` approved applications (bulk inserts), once."""
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.choices import HardshipCause, State
    from applications.models import Application
    from campaigns.choices import CampaignStatus
    from campaigns.models import Campaign, CampaignKind, Category, FundShare, FundSource
    from relief import demo
    from relief.models import Area

    existing = Campaign.objects.filter(name=campaign_name(count)).first()
    if existing is not None:
        return existing
    started = time.perf_counter()
    print(f"Building {count:,} approved applications (once; the database is kept)...")
    demo.ensure_areas()
    township = Area.objects.get(code=TOWNSHIP)
    villages = list(Area.objects.filter(parent=township).order_by("code"))
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
        )
        town = FundSource.objects.create(
            campaign=campaign, name="镇财政", payer="城关镇财政所", budget=PLAIN * count
        )
        district = FundSource.objects.create(
            campaign=campaign,
            name="区财政",
            payer="区财政局",
            budget=(KEY + GOODS) * count,
            order=1,
        )
        FundShare.objects.create(fund_source=district, payer="区财政局", percent=50)
        FundShare.objects.create(fund_source=district, payer="城关镇财政所", percent=50)
        plain = Category.objects.create(
            campaign=campaign, name="一般困难户", cash=PLAIN, fund_source=town
        )
        key = Category.objects.create(
            campaign=campaign, name="重点困难户", cash=KEY, goods=GOODS, fund_source=district
        )
        households = households_with_heads(
            [villages[i % len(villages)] for i in range(count)],
            lambda n, _household: (
                demo.SURNAMES[n % len(demo.SURNAMES)]
                + demo.GIVEN[n % len(demo.GIVEN)]
                + demo.GIVEN[n // 7 % len(demo.GIVEN)] * (n % 2)
            ),
        )
        Application.objects.bulk_create(
            (
                Application(
                    number=f"{campaign.year}-{campaign.pk:03d}-{n:05d}",
                    campaign=campaign,
                    household=household,
                    village_id=household.village_id,
                    category=key if n % 4 == 0 else plain,
                    fund_source=district if n % 4 == 0 else town,
                    state=State.APPROVED,
                    cause=HardshipCause.ILLNESS,
                    amount=KEY + GOODS if n % 4 == 0 else PLAIN,
                    cash=KEY if n % 4 == 0 else PLAIN,
                    goods=GOODS if n % 4 == 0 else Decimal(0),
                    explanation="固定标准",
                    decided_at=timezone.now(),
                )
                for n, household in enumerate(households, start=1)
            ),
            batch_size=1000,
        )
    with connection.cursor() as cursor:  # statistics, as a production database keeps them
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"  done in {time.perf_counter() - started:.0f} s")
    return campaign


# -- the measurements -----------------------------------------------------------------


def labels(campaign):
    """The ledger's labels, as write_ledger reads them (a handful of queries)."""
    from documents.ledger import ledger_labels

    return ledger_labels(campaign)


def fetch_only(campaign) -> Timing:
    from documents.ledger import ledger_rows

    clock = Clock()
    for _row in ledger_rows(campaign, labels(campaign)):
        pass
    return clock.stop()


def baseline(campaign, path) -> Timing:
    """xlsxwriter, constant_memory: the same rows and columns, one number format."""
    import xlsxwriter
    from django.utils.translation import gettext as _

    from documents.ledger import COLUMNS, MONEY_FORMAT, ledger_rows

    clock = Clock()
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    money = book.add_format({"num_format": MONEY_FORMAT})
    sheet.write_row(0, 0, [str(header) for header, _width, _kind in COLUMNS])
    yes, no = _("Yes"), _("No")
    write_row, write_number = sheet.write_row, sheet.write_number
    for n, row in enumerate(ledger_rows(campaign, labels(campaign)), start=1):
        write_row(n, 0, (n, *row[:8]))
        write_number(n, 9, row.cash, money)
        write_number(n, 10, row.goods, money)
        write_number(n, 11, row.amount, money)
        write_row(n, 12, (row.method or None, row.paid_on, row.paid_by or None))
        sheet.write_string(n, 15, yes if row.signed else no)
    book.close()
    return clock.stop()


def ledger(campaign, path, profile: cProfile.Profile | None = None):
    from documents.ledger import write_ledger

    clock = Clock()
    if profile is not None:
        profile.enable()
    totals = write_ledger(campaign, path, progress=lambda done, total: None)
    if profile is not None:
        profile.disable()
    return clock.stop(), totals


def verify(campaign, totals, count: int) -> None:
    from django.db.models import Sum

    from documents.ledger import ledger_items

    in_database = ledger_items(campaign).aggregate(total=Sum("amount"))["total"]
    assert totals.total.count == count, (totals.total.count, count)
    assert totals.total.amount == in_database, (totals.total.amount, in_database)


def peak_memory(campaign, path) -> int:
    tracemalloc.start()
    ledger(campaign, path)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (the median)")
    parser.add_argument(
        "--profile", action="store_true", help="profile one more write_ledger (cProfile)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/ledger-export.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    count = args.applications
    url = args.database_url or "sqlite:///bench/.data/ledger-export.sqlite3"
    data = ROOT / "bench/.data"
    data.mkdir(parents=True, exist_ok=True)
    configure(url)

    import openpyxl
    import xlsxwriter
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    call_command("migrate", verbosity=0)
    translation.activate(settings.LANGUAGE_CODE)
    campaign = build(count)
    baseline_file = data / f"ledger-baseline-{connection.vendor}.xlsx"
    ledger_file = data / f"ledger-openpyxl-{connection.vendor}.xlsx"

    print(
        f"\n{connection.vendor}, {count:,} approved applications, {args.repeats} runs;"
        f" openpyxl {openpyxl.__version__} (lxml: {'yes' if openpyxl.LXML else 'no'}),"
        f" xlsxwriter {xlsxwriter.__version__}\n"
    )
    fetches, baselines, ledgers = [], [], []
    for _run in range(args.repeats):
        fetches.append(fetch_only(campaign))
        baselines.append(baseline(campaign, baseline_file))
        timing, totals = ledger(campaign, ledger_file)
        verify(campaign, totals, count)
        ledgers.append(timing)
    base = median(baselines)
    rows = [
        ("fetch only: ledger_rows()", median(fetches)),
        ("baseline: xlsxwriter constant_memory", base),
        ("write_ledger(): openpyxl write-only", median(ledgers)),
    ]
    print(f"{'measurement':<40} {'seconds':>8} {'x baseline':>11} {'CPU s':>6} {'x baseline':>11}")
    results = []
    for label, timing in rows:
        ratio, cpu_ratio = timing.seconds / base.seconds, timing.cpu / base.cpu
        results.append(
            {
                "measurement": label,
                "seconds": timing.seconds,
                "ratio": ratio,
                "cpu_seconds": timing.cpu,
                "cpu_ratio": cpu_ratio,
            }
        )
        print(
            f"{label:<40} {timing.seconds:>8.2f} {ratio:>10.2f}x {timing.cpu:>6.2f}"
            f" {cpu_ratio:>10.2f}x"
        )
    print(
        f"\nruns (wall s): fetch {', '.join(f'{t.seconds:.2f}' for t in fetches)};"
        f" baseline {', '.join(f'{t.seconds:.2f}' for t in baselines)};"
        f" write_ledger {', '.join(f'{t.seconds:.2f}' for t in ledgers)}"
    )
    sizes = {p.name: p.stat().st_size for p in (baseline_file, ledger_file)}
    print("files: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sizes.items()))
    ratio = median(ledgers).seconds / base.seconds
    verdict = "within" if ratio <= 1.5 else "OVER"
    print(f"target: write_ledger within 1.5x of the baseline: {ratio:.2f}x, {verdict}")
    peak = peak_memory(campaign, ledger_file)
    print(f"write_ledger's peak Python memory (tracemalloc): {peak / 2**20:.1f} MiB")

    profile_text = ""
    if args.profile:
        profile = cProfile.Profile()
        timing, _totals = ledger(campaign, ledger_file, profile)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
        profile_text = out.getvalue()
        print(f"\nprofiled write_ledger: {timing.seconds:.2f} s (with the profiler's overhead)\n")
        print(profile_text)

    out_dir = ROOT / "bench/results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"ledger_export-{connection.vendor}-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "applications": count,
                "lxml": openpyxl.LXML,
                "results": results,
                "fetch_runs": [asdict(t) for t in fetches],
                "baseline_runs": [asdict(t) for t in baselines],
                "ledger_runs": [asdict(t) for t in ledgers],
                "file_sizes": sizes,
                "peak_python_memory": peak,
            },
            indent=2,
        )
    )
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
