"""Benchmark: the campaign dashboard of a county campaign of 50,000 applications.

    python bench/dashboard.py                      # SQLite, in bench/.data/
    python bench/dashboard.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench_dashboard

The campaign is generated once (reports.generate: a county of 10 townships ×
20 villages, 50,000 applications in every state, the approved ones with
payments in every state) and reused. A county approver of the generated
county requests, through Django's test client in process (middleware, session,
roles, scoping, queries, SVG charts and template; no HTTP server):

- baseline: a trivial signed-in page ("password changed": same middleware,
  session and base template, no query of its own);
- the dashboard at the county (10 townships), at one township (20 villages)
  and at one village.

Target (issue 7): the county dashboard under 300 ms median on this machine
(figures in bench/README.md).
Prints a table and writes bench/results/dashboard-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import time

from harness import ROOT, configure, pages


def build(count: int):
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign
    from reports.generate import generate_campaign

    call_command("migrate", verbosity=0)
    name = f"基准：仪表盘 {count}"
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        started = time.perf_counter()
        print(f"Generating {count:,} applications (once; the database is kept)...")
        campaign = generate_campaign(count, name=name)
        with connection.cursor() as cursor:  # statistics, as a production database keeps them
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        print(f"  done in {time.perf_counter() - started:.0f} s")
    return campaign


def county_official(campaign):
    from relief.choices import Role
    from relief.models import RoleAssignment, User

    user, _created = User.objects.get_or_create(username="bench-county")
    RoleAssignment.objects.get_or_create(user=user, role=Role.COUNTY_APPROVER, area=campaign.area)
    return user


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/dashboard-<N>.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///bench/.data/dashboard-{args.applications}.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    configure(url)
    campaign = build(args.applications)

    from django.test import Client

    from applications.models import Application
    from relief.models import Area

    client = Client()
    client.force_login(county_official(campaign))
    township = Area.objects.filter(parent=campaign.area).order_by("code").first()
    village = Area.objects.filter(parent=township).order_by("code").first()
    dashboard = f"/campaigns/{campaign.pk}/dashboard/"
    scenarios = [
        ("baseline: trivial signed-in page", "/password/done/"),
        ("dashboard, county (10 townships)", dashboard),
        ("dashboard, one township (20 villages)", f"{dashboard}?area={township.pk}"),
        ("dashboard, one village", f"{dashboard}?area={village.pk}"),
    ]
    count = Application.objects.filter(campaign=campaign).count()
    pages(
        "dashboard",
        [(label, client, path) for label, path in scenarios],
        args.repeats,
        applications=count,
    )


if __name__ == "__main__":
    main()
