"""Load test: 200 simulated clerks against gunicorn + PostgreSQL, 1,000,000
households and 200,000 applications on file (issue 8).

    .venv/bin/pip install -r requirements-bench.txt     # locust, once
    .venv/bin/python bench/load.py                      # build once, then 5 minutes
    .venv/bin/python bench/load.py --minutes 1 --users 50
    .venv/bin/python bench/load.py --think 0.5,1.5      # a capacity probe (see README)

Loopback only: gunicorn listens on 127.0.0.1, locust talks to nothing else.

The data is built once, in bulk, and kept in the database named by
--database-url (reports.generate: a county of 10 townships x 20 villages, one
open campaign of 200,000 applications in every state, payments for the
approved; then households with a head each up to 1,000,000; one ended public
notice per township holding its applications in notice; the users below), then
VACUUM ANALYZE, as a production database keeps its statistics.

The run: gunicorn as deployed (deploy/gunicorn.conf.py: 2 x cores + 1 sync
workers, DEBUG off, persistent connections), and locust (bench/locustfile.py)
with `--users` clerks spawned at `--spawn-rate` per second. Each signs in
through the login form, then works in a loop with a think time drawn between
the two `--think` figures (seconds) after every page, as a person reads a page
before the next click:

- village clerks (3/4 of the users; one per village): their village's household
  list, a search by the start of a name, a household's page, the campaign's
  application list, an application's page, and entering a new household and its
  application (two forms, submitted);
- township clerks (3 per township): the list of appraised applications, one of
  them, and the first review (初审) of it;
- township supervisors (the rest): the list of applications in notice, one of
  them, its approval (审批), and the campaign dashboard of their township.

Statistics are reset once every clerk has signed in (`--reset-stats`), so the
figures are the `--minutes` of steady work. Afterwards the writes are checked
against the database: every household and application the server confirmed
(302) is there exactly once, none that it refused; every review and approval
is recorded once. Prints a table (throughput, p50/p95/p99 per page, 5xx) and
writes bench/results/load-<time>.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, configure

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_bench_load"
PASSWORD = "load-clerk-pw-1"  # a bench database's users, on loopback only
CHUNK = 50_000
PLAN = ROOT / "bench/.data/load-plan.json"


def campaign_name(applications: int) -> str:
    return f"基准：负载 {applications}"


# -- the data ---------------------------------------------------------------------


def build(households: int, applications: int, users: int):
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.choices import State
    from applications.models import Application, Notice
    from campaigns.models import Campaign
    from recipients.generate import households_with_heads
    from recipients.models import Household
    from relief.choices import AreaLevel
    from relief.models import Area
    from reports.generate import generate_campaign

    call_command("migrate", verbosity=0)
    campaign = Campaign.objects.filter(name=campaign_name(applications)).first()
    if campaign is None:
        started = time.perf_counter()
        print(f"Building {applications:,} applications (once; the database is kept)...")
        campaign = generate_campaign(applications, name=campaign_name(applications))
        print(f"  campaign in {time.perf_counter() - started:.0f} s")
    county = campaign.area
    villages = list(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county.prefix).order_by(
            "code"
        )
    )
    have = Household.objects.count()
    if have < households:
        started = time.perf_counter()
        print(f"Adding {households - have:,} households with a head each...")
        rng = random.Random(11)
        # The campaign's heads were born from 1940 at 500 a day; these from
        # 1946, each chunk on days of its own, so no ID number is tried twice.
        chunk_no = max(0, (have - applications) // CHUNK)  # resumes an interrupted build
        while have < households:
            size = min(CHUNK, households - have)
            with transaction.atomic():
                households_with_heads(
                    [villages[rng.randrange(len(villages))] for _n in range(size)],
                    lambda n, _h, c=chunk_no: f"户主{c:02d}{n:05d}",
                    born_from=datetime.date(1946, 1, 1)
                    + datetime.timedelta(days=chunk_no * (CHUNK // 500 + 1)),
                )
            have += size
            chunk_no += 1
            print(f"  {have:,} households ({time.perf_counter() - started:.0f} s)")
    today = timezone.localdate()
    townships = list(Area.objects.filter(parent=county).order_by("code"))
    accounts = ensure_users(campaign, townships, villages, users)
    for township in townships:
        if Notice.objects.filter(campaign=campaign, area=township).exists():
            continue
        notice = Notice.objects.create(
            campaign=campaign,
            area=township,
            starts_on=today - datetime.timedelta(days=9),
            ends_on=today - datetime.timedelta(days=2),
            contact="民政办 0311-1234567",
            place="便民服务大厅",
            published_by=accounts[township.pk],
        )
        Application.objects.filter(
            campaign=campaign, state=State.IN_NOTICE, village__parent=township
        ).update(notice=notice)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return campaign


def ensure_users(campaign, townships: list, villages: list, users: int) -> dict:
    """The clerks, all with the one bench password (hashed once). Returns each
    township's first supervisor, by the township's pk."""
    from relief.choices import Role
    from relief.models import RoleAssignment, User

    hashed = User(username="x")
    hashed.set_password(PASSWORD)
    township_clerks = 3 * len(townships)
    village_clerks = min(len(villages), users * 3 // 4)
    supervisors = max(len(townships), users - village_clerks - township_clerks)
    wanted: list[tuple[str, str, object]] = []
    for village in villages[:village_clerks]:
        wanted.append((f"load-v{village.code}", Role.VILLAGE_CLERK, village))
    for n in range(township_clerks):
        township = townships[n % len(townships)]
        wanted.append(
            (f"load-t{township.code}-{n // len(townships)}", Role.TOWNSHIP_CLERK, township)
        )
    for n in range(supervisors):
        township = townships[n % len(townships)]
        wanted.append(
            (f"load-s{township.code}-{n // len(townships)}", Role.TOWNSHIP_SUPERVISOR, township)
        )
    have = set(User.objects.filter(username__startswith="load-").values_list("username", flat=True))
    for username, role, area in wanted:
        if username in have:
            continue
        user = User.objects.create(
            username=username, name=f"负载{username[5:]}", area=area, password=hashed.password
        )
        RoleAssignment.objects.create(user=user, role=role, area=area)
    first = {}
    for username, role, area in wanted:
        if role == Role.TOWNSHIP_SUPERVISOR and area.pk not in first:
            first[area.pk] = User.objects.get(username=username)
    return first


# -- the plan: who signs in as whom, and what each may open or act on ---------------


def write_plan(campaign, run: int) -> dict:
    from applications.choices import State
    from applications.models import Application
    from recipients.choices import Relation
    from recipients.models import Person
    from relief.models import User

    rng = random.Random(run)
    accounts: dict[str, list[dict]] = {
        "village_clerk": [],
        "township_clerk": [],
        "township_supervisor": [],
    }
    users = User.objects.filter(username__startswith="load-").order_by("username")
    apps = Application.objects.filter(campaign=campaign)
    by_township: dict[str, list[str]] = {}
    for n, user in enumerate(users):
        if user.username.startswith("load-v"):
            village = user.area
            heads = list(
                Person.objects.filter(household__village=village, relation=Relation.HEAD)
                .exclude(name__startswith="负载")
                .order_by("?")
                .values_list("household_id", "name")[:50]
            )
            accounts["village_clerk"].append(
                {
                    "username": user.username,
                    "n": n,
                    "village": village.pk,
                    "households": [pk for pk, _name in heads],
                    "names": [name for _pk, name in heads[:10]],
                    "applications": list(
                        apps.filter(village=village).order_by("?").values_list("pk", flat=True)[:30]
                    ),
                }
            )
        else:
            kind = "township_clerk" if user.username.startswith("load-t") else "township_supervisor"
            accounts[kind].append({"username": user.username, "n": n, "to_act": []})
            by_township.setdefault(f"{kind}{user.area.code}", []).append(len(accounts[kind]) - 1)
    # What each township's clerks review and its supervisors approve, shared out
    # so no two pick the same application.
    for kind, state in (
        ("township_clerk", State.APPRAISED),
        ("township_supervisor", State.IN_NOTICE),
    ):
        waiting = apps.filter(state=state)
        if state == State.IN_NOTICE:
            waiting = waiting.filter(notice__isnull=False)
        for pk, code in waiting.values_list("pk", "village__parent__code"):
            members = by_township.get(f"{kind}{code}")
            if members:
                accounts[kind][members[rng.randrange(len(members))]]["to_act"].append(pk)
    for account in accounts["township_clerk"] + accounts["township_supervisor"]:
        rng.shuffle(account["to_act"])
    plan = {
        "run": run,
        "password": PASSWORD,
        "campaign": campaign.pk,
        "categories": list(campaign.categories.values_list("pk", flat=True)),
        "accounts": accounts,
    }
    PLAN.write_text(json.dumps(plan))
    return plan


# -- the run ------------------------------------------------------------------------


class CpuSampler:
    """CPU seconds spent by gunicorn, PostgreSQL and locust during the run, summed
    over their processes every two seconds (workers come and go: gunicorn
    replaces each after ~1,000 requests)."""

    GROUPS = ("gunicorn", "postgres", "locust")

    def __init__(self) -> None:
        import threading

        self.seen: dict[int, tuple[str, float]] = {}
        self.spent = dict.fromkeys(self.GROUPS, 0.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.started = time.monotonic()
        self.machine = None

    def group(self, process) -> str | None:
        try:
            line = " ".join(process.cmdline())
        except Exception:  # a process that ended meanwhile
            return None
        for name in self.GROUPS:
            if name in line:
                return name
        return None

    def sample(self) -> None:
        import psutil

        for process in psutil.process_iter():
            group = self.group(process)
            if group is None:
                continue
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total = times.user + times.system
            before = self.seen.get(process.pid, (group, 0.0))[1]
            self.spent[group] += max(0.0, total - before)
            self.seen[process.pid] = (group, total)

    def loop(self) -> None:
        while not self.stop.wait(2.0):
            self.sample()

    def begin(self) -> None:
        import psutil

        self.sample()
        self.spent = dict.fromkeys(self.GROUPS, 0.0)  # count from here
        self.started = time.monotonic()
        self.machine = psutil.cpu_times()
        self.thread.start()

    def end(self) -> dict[str, float]:
        import psutil

        self.stop.set()
        self.thread.join()
        self.sample()
        now = psutil.cpu_times()
        seconds = time.monotonic() - self.started
        busy = (now.user + now.system + now.nice + now.irq + now.softirq) - (
            self.machine.user
            + self.machine.system
            + self.machine.nice
            + self.machine.irq
            + self.machine.softirq
        )
        return {
            "seconds": seconds,
            **{f"{k}_cpu_s": v for k, v in self.spent.items()},
            "machine_busy_cores": busy / seconds,
        }


def run_load(args, plan: dict) -> dict:
    port = args.port
    base = f"http://127.0.0.1:{port}"
    log = ROOT / "bench/.data/load-gunicorn.log"
    log.write_text("")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "relief.wsgi"],
        cwd=ROOT,
        env={
            **os.environ,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "BEHIND_PROXY": "1",
            "DB_CONN_MAX_AGE": "60",
            **({"WEB_CONCURRENCY": str(args.workers)} if args.workers else {}),
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    prefix = ROOT / "bench/.data/load"
    ramp = args.users / args.spawn_rate
    sampler = CpuSampler()
    try:
        _wait_for_server(base)
        began = datetime.datetime.now(datetime.UTC)
        locust = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/locust"),
                "-f",
                str(ROOT / "bench/locustfile.py"),
                "--headless",
                "--host",
                base,
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{int(ramp + args.minutes * 60)}s",
                "--stop-timeout",
                "60",
                "--reset-stats",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "LOAD_PLAN": str(PLAN),
                "LOAD_THINK": args.think,
                "LOAD_VILLAGE_CLERKS": str(len(plan["accounts"]["village_clerk"])),
                "LOAD_TOWNSHIP_CLERKS": str(len(plan["accounts"]["township_clerk"])),
                "LOAD_SUPERVISORS": str(len(plan["accounts"]["township_supervisor"])),
            },
        )
        print(f"  {args.users} clerks signing in over {ramp:.0f} s, then {args.minutes} min...")
        time.sleep(ramp)
        sampler.begin()
        locust.wait()
        cpu = sampler.end()
    finally:
        server.terminate()
        server.wait(timeout=60)
    statuses: dict[str, int] = {}
    posted: dict[str, list[str]] = {"household": [], "application": [], "act": []}
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split('" ')
        if len(parts) < 2 or not parts[1][:3].isdigit():
            continue
        status = parts[1][:3]
        statuses[status] = statuses.get(status, 0) + 1
        request = parts[0].rsplit('"', 1)[-1].split()  # method, path, protocol
        if status != "302" or len(request) < 2 or request[0] != "POST":
            continue
        path = request[1]
        if path == "/households/new/":
            posted["household"].append(path)
        elif path.endswith("/applications/new/"):
            posted["application"].append(path)
        elif path.startswith("/applications/") and path.endswith("/act/"):
            posted["act"].append(path.split("/")[2])
    return {
        "began": began,
        "cpu": cpu,
        "server_statuses": statuses,
        "posted": posted,
        **_read_stats(prefix),
    }


def _wait_for_server(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in 60 s; see bench/.data/load-gunicorn.log")


def _read_stats(prefix: Path) -> dict:
    pages = []
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            pages.append(
                {
                    "page": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": _ms(row["50%"]),
                    "p95": _ms(row["95%"]),
                    "p99": _ms(row["99%"]),
                    "max": _ms(row["Max Response Time"]),
                }
            )
    failures = []
    with open(f"{prefix}_failures.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            failures.append(
                {"page": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
            )
    return {"pages": pages, "failures": failures}


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


# -- after the run: every confirmed write is there once, nothing else ------------------


def verify(plan: dict, result: dict) -> dict:
    """The run's writes against what the server confirmed (302 in its access
    log, the whole run: signing in included). A review or approval redirects
    also when refused (with a message), so for those the count of recorded
    steps is compared with the count of confirmed posts."""
    from applications.models import Application
    from recipients.models import Person
    from relief.models import AuditEvent

    posted = result["posted"]
    mark = f"负载{plan['run']}-"
    names = list(Person.objects.filter(name__startswith=mark).values_list("name", flat=True))
    applications = Application.objects.filter(
        campaign_id=plan["campaign"], household__members__name__startswith=mark
    )
    checks = {
        "households confirmed": len(posted["household"]),
        "households on file": len(names),
        "households twice": len(names) - len(set(names)),
        "applications confirmed": len(posted["application"]),
        "applications on file": applications.count(),
    }
    acted = set(posted["act"])
    for step, kind in (("first_review", "township_clerk"), ("approve", "township_supervisor")):
        mine = {str(pk) for account in plan["accounts"][kind] for pk in account["to_act"]}
        targets = list(
            AuditEvent.objects.filter(
                action=f"application.{step}",
                actor__username__startswith="load-",
                at__gte=result["began"],
            ).values_list("target_id", flat=True)
        )
        checks[f"{step} confirmed"] = len(acted & mine)
        checks[f"{step} recorded"] = len(targets)
        checks[f"{step} twice"] = len(targets) - len(set(targets))
    return checks


def report(args, result: dict, checks: dict) -> None:
    print(f"\n{'page':<44} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}")
    for row in result["pages"]:
        print(
            f"{row['page']:<44} {row['requests']:>8} {row['failures']:>5}"
            + "".join(f" {_fmt(row[k]):>6}" for k in ("p50", "p95", "p99"))
            + f" {_fmt(row['max']):>7}"
        )
    total = next(p for p in result["pages"] if p["page"] == "Aggregated")
    cpu = result["cpu"]
    fivexx = sum(n for s, n in result["server_statuses"].items() if s.startswith("5"))
    print(
        f"\nthroughput {total['rps']:.1f} requests/s over {cpu['seconds']:.0f} s; "
        f"p50 {_fmt(total['p50'])} ms, p95 {_fmt(total['p95'])} ms, p99 {_fmt(total['p99'])} ms"
    )
    print(f"server statuses (access log, whole run) {result['server_statuses']}; 5xx: {fivexx}")
    print(
        f"CPU: machine {cpu['machine_busy_cores']:.2f} of {os.cpu_count()} cores busy; "
        + ", ".join(f"{g} {cpu[g + '_cpu_s']:.0f} s" for g in CpuSampler.GROUPS)
    )
    if result["failures"]:
        print("failures:")
        for failure in result["failures"]:
            print(f"  {failure['count']} x {failure['page']}: {failure['error']}")
    print("writes:", ", ".join(f"{k} {v}" for k, v in checks.items()))
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    path = out / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "users": args.users,
                "minutes": args.minutes,
                "think": args.think,
                "households": args.households,
                "applications": args.applications,
                **{k: v for k, v in result.items() if k not in ("began", "posted")},
                "checks": checks,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"written to {path.relative_to(ROOT)}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--applications", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--think", default="5,15", help="seconds between clicks: low,high")
    parser.add_argument("--spawn-rate", type=float, default=2)
    parser.add_argument("--port", type=int, default=18790)
    parser.add_argument("--workers", type=int, default=0, help="default: the deployed config's")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    configure(args.database_url)
    campaign = build(args.households, args.applications, args.users)
    if args.build_only:
        return
    counter = ROOT / "bench/.data/load-run"
    run = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(run))
    plan = write_plan(campaign, run)
    from django.db import connection

    connection.close()  # the server's connections, not this one's, during the run
    result = run_load(args, plan)
    checks = verify(plan, result)
    report(args, result, checks)
    bad = (
        sum(n for s, n in result["server_statuses"].items() if s.startswith("5"))
        or checks["households on file"] != checks["households confirmed"]
        or checks["applications on file"] != checks["applications confirmed"]
        or checks["households twice"]
        or checks["first_review recorded"] != checks["first_review confirmed"]
        or checks["approve recorded"] != checks["approve confirmed"]
        or checks["first_review twice"]
        or checks["approve twice"]
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
