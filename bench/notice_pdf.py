"""Benchmark: the public notice (公示名单) of 2,000 applications as a PDF.

    python bench/notice_pdf.py                        # SQLite, in bench/.data/
    python bench/notice_pdf.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench_notice
    python bench/notice_pdf.py --applications 5000 --repeats 5

The data is built once, in bulk (not through the services, which would take
long) and reused: a township campaign of 城关镇 with one township notice
listing N applications, 300 of them in 东关村 and the rest shared by the
township's other villages; one household of one member each, with a name
drawn from the demo's surnames and given names (so the font subset has the
variety of a real list).

Measured in the same run, each `--repeats` times (the median is reported):

- baseline: WeasyPrint alone on a minimal HTML table of the same N rows (the
  same six columns, the same font, no other styling): the floor of any
  rendering of that list, since WeasyPrint's layout is most of the work;
- names only: WeasyPrint on a one-column table of the N names, for scale;
- `documents.notice.render_notice(notice)`: the real document: the query, the
  template, the stylesheet (repeated header, page counter, rows kept whole);
- `render_notice(notice, village)` of the village of 300: target under 3 s.

Each is verified: the PDF has as many pages as the layout gives, and its text
holds the first and last names of the list. Prints a table and writes
bench/results/notice_pdf-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal

from harness import ROOT, configure, households_with_heads

TOWNSHIP = "130123100000"  # 城关镇 of the demo county, with three villages
VILLAGE = "130123100201"  # 东关村: the village of 300
VILLAGE_COUNT = 300
CATEGORIES = (
    ("一般困难户", Decimal(500)),
    ("重点困难户", Decimal(800)),
    ("特困供养人员", Decimal(1200)),
)


# -- the data ---------------------------------------------------------------------


def campaign_name(count: int) -> str:
    return f"基准：公示名单 {count}"


def build(count: int):
    """The campaign and its notice of `count` applications (bulk inserts)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.choices import HardshipCause, State
    from applications.models import Application, Notice
    from campaigns.choices import CampaignStatus
    from campaigns.models import Campaign, CampaignKind, Category, FundSource
    from relief import demo
    from relief.models import Area, User

    existing = Campaign.objects.filter(name=campaign_name(count)).first()
    if existing is not None:
        return existing
    started = time.perf_counter()
    print(f"Building a notice of {count:,} applications (once; the database is kept)...")
    demo.ensure_areas()
    township = Area.objects.get(code=TOWNSHIP)
    villages = list(Area.objects.filter(parent=township).order_by("code"))
    village = next(v for v in villages if v.code == VILLAGE)
    others = [v for v in villages if v != village]
    actor, _created = User.objects.get_or_create(
        username="bench-notice", defaults={"name": "基准公示", "area": township}
    )
    today = timezone.localdate()
    kind, _created = CampaignKind.objects.get_or_create(name="春节慰问")
    rng = random.Random(2026)
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
            campaign=campaign, name="镇财政", payer="城关镇财政所", budget=1200 * count
        )
        categories = [
            Category.objects.create(
                campaign=campaign, name=name, cash=cash, planned_count=count, fund_source=source
            )
            for name, cash in CATEGORIES
        ]
        notice = Notice.objects.create(
            campaign=campaign,
            area=township,
            starts_on=today - datetime.timedelta(days=3),
            ends_on=today + datetime.timedelta(days=3),
            contact="城关镇民政办 0311-1234567",
            place="镇便民服务大厅、镇政府网站",
            published_by=actor,
        )
        households = households_with_heads(
            [village if i < VILLAGE_COUNT else others[i % len(others)] for i in range(count)],
            lambda _n, _household: (
                rng.choice(demo.SURNAMES)
                + "".join(rng.choice(demo.GIVEN) for _g in range(rng.choice([1, 2, 2])))
            ),
        )
        applications = []
        for n, household in enumerate(households, start=1):
            category = categories[n % len(categories)]
            applications.append(
                Application(
                    number=f"{campaign.year}-{campaign.pk:03d}-{n:05d}",
                    campaign=campaign,
                    household=household,
                    village_id=household.village_id,
                    category=category,
                    fund_source=source,
                    state=State.IN_NOTICE,
                    cause=HardshipCause.ILLNESS,
                    amount=category.cash,
                    cash=category.cash,
                    explanation=f"固定标准 {category.cash} 元",
                    notice=notice,
                    created_by=actor,
                )
            )
        Application.objects.bulk_create(applications, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"  done in {time.perf_counter() - started:.0f} s")
    return campaign


# -- the measurements -----------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    seconds: float  # wall clock
    cpu: float  # this process's CPU time
    pages: int
    size: int  # bytes of PDF


def timed(render: Callable[[], bytes]) -> tuple[Timing, bytes]:
    wall, cpu = time.perf_counter(), time.process_time()
    pdf = render()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu, pages(pdf), len(pdf)), pdf


def median(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.seconds for t in timings),
        statistics.median(t.cpu for t in timings),
        timings[0].pages,
        timings[0].size,
    )


def pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    line = next(x for x in info.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def text(pdf: bytes) -> str:
    command = ["pdftotext", "-raw", "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()


MINIMAL = """<!doctype html><html lang="zh"><head><meta charset="utf-8"><style>
html {{ font-family: "Noto Serif CJK SC"; font-size: 10.5pt; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border: 0.6pt solid #000; }}
</style></head><body><table>{rows}</table></body></html>"""


def minimal_table(rows: list[tuple[str, ...]]) -> bytes:
    """WeasyPrint on a bare table of `rows` (escaped, nothing else), with the
    garbage collector paused as `render_pdf` pauses it: the ratio compares the
    documents, not the collector's settings."""
    from django.utils.html import escape
    from weasyprint import HTML

    from relief import collector

    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    with collector.paused():
        return HTML(string=MINIMAL.format(rows=body)).write_pdf()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (the median)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/notice-pdf.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    count = args.applications
    if count <= VILLAGE_COUNT:
        parser.error(f"--applications must be above the village's {VILLAGE_COUNT}")
    url = args.database_url or "sqlite:///bench/.data/notice-pdf.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    configure(url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    from applications.models import Notice
    from documents.notice import notice_rows, render_notice
    from relief.models import Area

    call_command("migrate", verbosity=0)
    campaign = build(count)
    notice = Notice.objects.select_related("campaign", "area").get(campaign=campaign)
    village = Area.objects.get(code=VILLAGE)
    listed = notice_rows(notice)
    assert listed.count == count, listed.count
    rows = [
        (str(r.position), r.name, r.masked_id, r.village, r.category, r.amount_text)
        for r in listed.rows
    ]
    names = [(r.name,) for r in listed.rows]
    in_village = notice_rows(notice, village)
    assert in_village.count == VILLAGE_COUNT, in_village.count
    ends = {
        key: (found.rows[0].name, found.rows[-1].name)
        for key, found in (("baseline", listed), ("names", listed), ("notice", listed))
    }
    ends["village"] = (in_village.rows[0].name, in_village.rows[-1].name)

    measurements: dict[str, list[Timing]] = {
        "baseline": [],
        "names": [],
        "notice": [],
        "village": [],
    }
    renders = {
        "baseline": lambda: minimal_table(rows),
        "names": lambda: minimal_table(names),
        "notice": lambda: render_notice(notice),
        "village": lambda: render_notice(notice, village),
    }
    print(f"\n{connection.vendor}, a notice of {count:,} applications, {args.repeats} runs\n")
    with translation.override(settings.LANGUAGE_CODE):
        minimal_table(names[:10])  # fonts found and loaded once, before any timing
        for _run in range(args.repeats):
            # In turn, so that whatever else the machine does falls on all alike.
            for key, render in renders.items():
                timing, pdf = timed(render)
                measurements[key].append(timing)
                found = text(pdf)
                assert all(name in found for name in ends[key]), key

    labels = {
        "baseline": f"baseline: WeasyPrint, bare table of the {count:,} rows",
        "names": f"WeasyPrint, bare table of the {count:,} names only",
        "notice": f"render_notice(), {count:,} rows",
        "village": f"render_notice(village), {VILLAGE_COUNT} rows",
    }
    base = median(measurements["baseline"])
    print(
        f"{'measurement':<48} {'seconds':>8} {'x baseline':>11} {'CPU s':>6} {'pages':>6} {'KB':>6}"
    )
    results = []
    for key, label in labels.items():
        t = median(measurements[key])
        ratio = t.seconds / base.seconds
        results.append({"measurement": label, **asdict(t), "ratio": ratio})
        print(
            f"{label:<48} {t.seconds:>8.2f} {ratio:>10.2f}x {t.cpu:>6.2f}"
            f" {t.pages:>6} {t.size // 1024:>6}"
        )
    for key in renders:
        runs = ", ".join(f"{t.seconds:.2f}" for t in measurements[key])
        print(f"runs (wall s) {key}: {runs}")
    notice_t, village_t = median(measurements["notice"]), median(measurements["village"])
    # Wall clock and this process's CPU time: on a shared machine the wall
    # clock also counts the waits for a core, the CPU time does not.
    ratio, cpu_ratio = notice_t.seconds / base.seconds, notice_t.cpu / base.cpu
    print(
        f"target: the notice within 1.3x the baseline: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU,"
        f" {'within' if max(ratio, cpu_ratio) <= 1.3 else 'OVER'}"
    )
    print(
        f"target: a village of {VILLAGE_COUNT} under 3 s: {village_t.seconds:.2f} s wall,"
        f" {village_t.cpu:.2f} s CPU, {'under' if village_t.seconds < 3 else 'OVER'}"
    )

    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out / f"notice_pdf-{connection.vendor}-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "applications": count,
                "village": VILLAGE_COUNT,
                "results": results,
                "runs": {k: [asdict(t) for t in v] for k, v in measurements.items()},
            },
            indent=2,
        )
    )
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
