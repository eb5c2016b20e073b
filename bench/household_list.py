"""Benchmark: the household list page with 100,000 households on file.

    python bench/household_list.py                      # SQLite, in bench/.data/
    python bench/household_list.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench

The database is built once (demo county, accounts, N households through the
same bulk generator as the demo data) and reused. Each scenario is requested
through Django's test client, in process: middleware, session, roles, scoping,
queries and template rendering, but no HTTP server. The baseline, measured in
the same run, is a trivial signed-in page (the "password changed" page: same
middleware, session and base template, no query of its own), so the ratio says
what the list itself costs.

Prints a table and writes bench/results/household_list-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import time

from harness import ROOT, configure, pages


def populate(households: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from recipients.models import Household
    from relief import demo
    from relief.choices import AreaLevel

    call_command("migrate", verbosity=0)
    areas = demo.ensure_areas()
    demo.ensure_accounts()
    villages = [a for a in areas if a.level == AreaLevel.VILLAGE]
    have = Household.objects.count()
    if have < households:
        started = time.perf_counter()
        print(f"Generating {households - have:,} households (once; the database is kept)...")
        demo.generate_households(villages, households - have, seed=have + 1)
        print(f"  done in {time.perf_counter() - started:.0f} s")
        # Statistics and visibility maps as a production database keeps them
        # (PostgreSQL's autovacuum; on SQLite, `PRAGMA optimize`).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/households-<N>.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///bench/.data/households-{args.households}.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    configure(url)
    populate(args.households)

    from django.test import Client

    from recipients.models import Household
    from relief.models import User

    total = Household.objects.count()
    sample = Household.objects.order_by("id").prefetch_related("members")[total // 2]
    head = sample.head
    county = Client()
    county.force_login(User.objects.get(username="auditor-shifan"))
    village = Client()
    village.force_login(User.objects.get(username="vclerk-dongguan"))

    scenarios = [
        ("baseline: trivial signed-in page", county, "/password/done/"),
        ("list, county auditor, page 1 of 25", county, "/households/"),
        ("list, 100 rows per page", county, "/households/?per_page=100"),
        ("list, page 2,000", county, "/households/?page=2000"),
        ("search by name", county, f"/households/?q={head.name}"),
        ("search by ID number prefix", county, f"/households/?q={head.id_number[:14]}"),
        ("filter: one village", county, f"/households/?village={sample.village_id}"),
        ("list, village clerk, page 1", village, "/households/"),
        ("household page", county, f"/households/{sample.pk}/"),
    ]
    pages("household_list", scenarios, args.repeats, households=total)


if __name__ == "__main__":
    main()
