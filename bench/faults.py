"""Fault tests: the worker killed during a big import; PostgreSQL restarted
under load; the disk full.

    python bench/faults.py                      # both, SQLite, in bench/.data/faults.sqlite3
    python bench/faults.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench_faults
    python bench/faults.py --scenario worker-kill --rows 5000      # quicker

Loopback only, against the bench's own database (never the app's).

worker-kill: the background worker killed in the middle of a big roster
import. The worker is a child process on this machine. Each step checked:

1. a roster of N rows (default 50,000; bench/import_roster.py writes it) is
   uploaded and checked, and its import queued as a background job, as the
   import page does;
2. `manage.py worker` is started; once the import is writing inside its one
   transaction (PostgreSQL: the worker's connection runs an INSERT or COPY, as
   pg_stat_activity shows; SQLite: the write-ahead log has grown by 4 MB, the
   inserts' pages spilled before any commit), and `--kill-after` seconds more,
   the worker is killed with SIGKILL: no clean-up of any kind;
3. checked: the job is still marked running, and nothing of the roster is in
   the register (no household, no application), the roster is not imported;
4. a new `manage.py worker` is started: it finds the job's worker gone,
   queues the job again (attempt 2) and runs it to the end; checked: the job
   is done and the register holds exactly N new households and applications,
   each once;
5. everything made is deleted again (plain DELETEs).

db-restart (PostgreSQL and root, for pg_ctlcluster): see db_restart(); 8
clerks through gunicorn while the cluster restarts: no 500, service back by
itself, every confirmed write kept once.

disk-full (needs root, to mount a 2 MiB tmpfs as the media directory, with
1 MiB already taken): a 2.1 MB roster is uploaded through the real page
(Django's test client, in process): the answer is the "disk is full" page
(507), no roster row or audit event is made, no file cut short is left and
the free space is what it was; then a small roster is taken as usual.

Prints each step and writes bench/results/faults-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time

from harness import ROOT, configure
from import_roster import campaign, clerk, roster, undo


def wait_for(predicate, *, timeout: float, every: float = 0.2, what: str) -> float:
    """Seconds until predicate() holds; SystemExit after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"FAILED: {what} did not happen within {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started


def writing():
    """A test that holds once another connection is writing rows, uncommitted."""
    from django.db import connection

    if connection.vendor == "postgresql":

        def busy() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'active' "
                    "AND (query ILIKE 'INSERT%%' OR query ILIKE 'COPY%%')"
                )
                return cursor.fetchone()[0] > 0

        return busy
    wal = ROOT / (str(connection.settings_dict["NAME"]) + "-wal")
    start = wal.stat().st_size if wal.exists() else 0
    return lambda: wal.exists() and wal.stat().st_size > start + 4 * 2**20


def start_worker(log_path):
    log = open(log_path, "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--scenario", choices=["worker-kill", "disk-full", "db-restart", "all"], default="all"
    )
    parser.add_argument("--rows", type=int, default=50_000, help="worker-kill: roster rows")
    parser.add_argument(
        "--kill-after",
        type=float,
        default=1.0,
        help="worker-kill: seconds after the writes are seen (default %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/faults.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    url = args.database_url or "sqlite:///bench/.data/faults.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    configure(url)
    os.environ["ROSTER_MAX_ROWS"] = str(args.rows + 10)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ROSTER_MAX_ROWS = args.rows + 10
    call_command("migrate", verbosity=0)
    results = {}
    if args.scenario in ("worker-kill", "all"):
        results["worker-kill"] = worker_kill(args)
    if args.scenario in ("disk-full", "all"):
        results["disk-full"] = disk_full()
    if args.scenario in ("db-restart", "all"):
        results["db-restart"] = db_restart()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = ROOT / f"bench/results/faults-{connection.vendor}-{stamp}.json"
    out.write_text(json.dumps({"database": connection.vendor, **results}, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


def worker_kill(args) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection, transaction

    from applications.models import Application, RosterImport
    from applications.roster import services
    from recipients.models import Household
    from relief import jobs
    from relief.models import AuditEvent, Job, JobStatus

    made, actor = campaign(), clerk()
    content = roster(args.rows)
    undo(made, [])
    steps: list[tuple[str, float]] = []
    log_path = ROOT / "bench/.data/faults-worker.log"
    print(f"\nworker-kill: {connection.vendor}, a roster of {args.rows:,} rows; log: {log_path}\n")

    def step(label: str, seconds: float) -> None:
        steps.append((label, seconds))
        print(f"  {seconds:7.1f} s  {label}")

    clock = time.monotonic()
    upload = services.upload(actor, made, SimpleUploadedFile("roster.xlsx", content))
    plan = services.preview(actor, upload)
    assert plan is not None and plan.counts()["new"] == args.rows, plan and plan.counts()
    step("uploaded and checked", time.monotonic() - clock)
    households = Household.objects.count()
    with transaction.atomic():  # queued on commit, as the import view does
        job = jobs.start(
            actor,
            "roster.import",
            "fault test",
            {"roster": upload.pk, "valid_only": False},
            background=True,
        )

    def job_row() -> Job:
        return Job.objects.get(pk=job.pk)

    worker = start_worker(log_path)
    try:
        step(
            "worker started, job running",
            wait_for(lambda: job_row().status == JobStatus.RUNNING, timeout=60, what="job start"),
        )
        step(
            "job read the file, now checking and writing in one transaction",
            wait_for(
                lambda: "写入" in job_row().stage or "writing" in job_row().stage,
                timeout=300,
                what="the import's transaction",
            ),
        )
        step("the import is writing rows", wait_for(writing(), timeout=600, what="the writes"))
        time.sleep(args.kill_after)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        step(f"worker killed with SIGKILL {args.kill_after:.0f} s later", 0.0)
    finally:
        if worker.poll() is None:
            worker.kill()

    left = job_row()
    made_now = Application.objects.filter(campaign=made).count()
    new_households = Household.objects.count() - households
    roster_status = RosterImport.objects.get(pk=upload.pk).status
    print(
        f"           after the kill: job {left.status} (attempt {left.attempts}), "
        f"{made_now} applications, {new_households} households made, roster {roster_status}"
    )
    assert left.status == JobStatus.RUNNING, left.status
    assert made_now == 0 and new_households == 0, (made_now, new_households)
    assert roster_status != "imported"

    worker = start_worker(log_path)
    try:
        clock = time.monotonic()
        wait_for(
            lambda: job_row().status in (JobStatus.DONE, JobStatus.FAILED),
            timeout=900,
            every=0.5,
            what="the job's end after the restart",
        )
        step("new worker: job taken up again and finished", time.monotonic() - clock)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()

    done = job_row()
    made_now = Application.objects.filter(campaign=made).count()
    distinct = Application.objects.filter(campaign=made).values("household").distinct().count()
    new_households = Household.objects.count() - households
    recovered = AuditEvent.objects.filter(action="job.recovered", target_id=str(job.pk)).count()
    print(
        f"           at the end: job {done.status} (attempt {done.attempts}), "
        f"{made_now} applications for {distinct} households, {new_households} households "
        f"made, {recovered} job.recovered event(s)"
    )
    assert done.status == JobStatus.DONE, (done.status, done.error)
    assert done.attempts == 2
    assert made_now == distinct == new_households == args.rows
    assert recovered == 1
    undo(made, [upload.pk])
    print("  worker-kill: all checks passed")
    return {
        "rows": args.rows,
        "steps": [{"step": label, "seconds": round(s, 2)} for label, s in steps],
        "outcome": "killed mid-write: nothing written; restarted: done once",
    }


def disk_full() -> dict:
    """Upload a roster into a media directory on a 2 MiB file system with less
    room than the file: the page says so (507), nothing is kept (no roster
    row, no audit event, no file cut short, the free space as before); then a
    roster that fits is taken as usual."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from applications.models import RosterImport
    from relief.models import AuditEvent

    print("\ndisk-full:")
    if os.geteuid() != 0:
        print("  skipped: mounting a small file system needs root")
        return {"outcome": "skipped (not root)"}
    made, actor = campaign(), clerk()
    big = roster(50_000)  # 2.1 MB
    small = roster(1_000)
    mount = ROOT / "bench/.data/full-media"
    mount.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        settings.MEDIA_ROOT = str(mount)
        filler = mount / "other-uploads.bin"  # the room other files already take
        filler.write_bytes(b"\0" * (1024 * 1024))
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        size = len(big) / 2**20
        print(f"  media on a 2 MiB tmpfs, {free / 2**20:.2f} MiB free; roster {size:.2f} MiB")
        client = Client(raise_request_exception=False)  # as a server answers: the error page
        client.force_login(actor)
        rosters, events = RosterImport.objects.count(), AuditEvent.objects.count()
        url = reverse("applications:roster_upload", args=[made.pk])
        response = client.post(url, {"file": _file("big.xlsx", big)})
        files = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file())
        after = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        print(
            f"  big roster: HTTP {response.status_code}; rosters +"
            f"{RosterImport.objects.count() - rosters}, audit events +"
            f"{AuditEvent.objects.count() - events}; files {files}; "
            f"{after / 2**20:.2f} MiB free"
        )
        assert response.status_code == 507, response.status_code
        assert "磁盘已满" in response.content.decode()
        assert RosterImport.objects.count() == rosters
        assert AuditEvent.objects.count() == events
        assert files == ["other-uploads.bin"]
        assert after == free
        response = client.post(url, {"file": _file("small.xlsx", small)})
        kept = RosterImport.objects.filter(campaign=made).order_by("-pk").first()
        print(f"  small roster: HTTP {response.status_code}; kept as {kept.file.name}")
        assert response.status_code == 302
        with kept.file.open("rb") as stored:
            assert stored.read() == small
        RosterImport.objects.filter(pk=kept.pk).delete()
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    print("  disk-full: all checks passed")
    return {"outcome": "507, nothing kept, free space unchanged; a roster that fits is kept"}


def db_restart(seconds: float = 40.0, restart_at: float = 12.0, clients: int = 8) -> dict:
    """PostgreSQL restarted under load: gunicorn (4 workers) serves `clients`
    signed-in clerks, each listing households and filing a new one every third
    request, each with a name of its own; `restart_at` seconds in, the
    PostgreSQL cluster is restarted (pg_ctlcluster, fast). Checked: no 500
    (a request the database could not serve answers 503 with Retry-After),
    service comes back by itself, and every household the server confirmed
    is there exactly once, none twice, none that the server said failed."""
    import threading

    import requests
    from django.db import connection
    from django.db.models import Count

    from recipients.models import Person
    from relief import demo
    from relief.choices import Role
    from relief.models import Area, RoleAssignment, User

    print("\ndb-restart:")
    if connection.vendor != "postgresql" or os.geteuid() != 0:
        print("  skipped: needs PostgreSQL on this machine and root (pg_ctlcluster)")
        return {"outcome": "skipped"}
    demo.ensure_areas()
    village = Area.objects.get(code="130123100001")
    user, _created = User.objects.get_or_create(
        username="bench-restart", defaults={"area": village}
    )
    user.set_password("bench-restart-pw-1")
    user.save()
    RoleAssignment.objects.get_or_create(user=user, role=Role.VILLAGE_CLERK, area=village)
    _forget_restart_households()
    connection.close()
    port = 18765
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "relief.wsgi", "-b", f"127.0.0.1:{port}", "-w", "4"],
        cwd=ROOT,
        env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DB_CONN_MAX_AGE": "60"},
        stdout=open(ROOT / "bench/.data/faults-gunicorn.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), timeout=30, what="gunicorn")
        sessions = [_signed_in(base, "bench-restart", "bench-restart-pw-1") for _ in range(clients)]
        records: list[tuple[float, str, str, int | str]] = []  # (t, kind, name, status)
        lock, stop = threading.Lock(), threading.Event()
        started = time.monotonic()

        def clerk(n: int, session) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                name, kind = "", "list"
                try:
                    if i % 3:
                        response = session.get(f"{base}/households/", timeout=15)
                    else:
                        kind, name = "file", f"重启{n}-{i}"
                        response = _file_household(session, base, village.pk, name, n * 100000 + i)
                    status: int | str = response.status_code
                    if status == 503 and response.headers.get("Retry-After") != "10":
                        status = "503 without Retry-After"
                except requests.RequestException as error:
                    status = type(error).__name__
                with lock:
                    records.append((time.monotonic() - started, kind, name, status))
                time.sleep(0.05)

        threads = [threading.Thread(target=clerk, args=(n, s)) for n, s in enumerate(sessions)]
        for thread in threads:
            thread.start()
        time.sleep(restart_at)
        down = time.monotonic() - started
        subprocess.run(["pg_ctlcluster", "15", "main", "restart", "-m", "fast"], check=True)
        up = time.monotonic() - started
        time.sleep(max(0.0, seconds - up))
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    connection.close()
    statuses: dict[str, int] = {}
    for _t, _kind, _name, status in records:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    confirmed = [name for _t, kind, name, status in records if kind == "file" and status == 302]
    refused = [name for _t, kind, name, status in records if kind == "file" and status != 302]
    counts = dict(
        Person.objects.filter(name__startswith="重启")
        .values_list("name")
        .annotate(n=Count("pk"))
        .order_by()
    )
    lost = [n for n in confirmed if counts.get(n, 0) != 1]
    twice = [n for n, c in counts.items() if c > 1]
    said_failed_but_kept = [n for n in refused if counts.get(n, 0)]
    failures = [t for t, _k, _n, status in records if status != 200 and status != 302]
    back = [t for t, _k, _n, status in records if t > up and status in (200, 302)]
    print(f"  {len(records)} requests by {clients} clerks in {seconds:.0f} s; statuses {statuses}")
    print(f"  PostgreSQL restarted from {down:.1f} s to {up:.1f} s")
    if failures:
        print(f"  failures from {min(failures):.1f} s to {max(failures):.1f} s")
    print(
        f"  first success after the restart at {min(back):.1f} s" if back else "  no success after"
    )
    print(
        f"  households confirmed {len(confirmed)}, each kept once: {not lost}; "
        f"kept twice: {len(twice)}; refused {len(refused)}, of which kept anyway: "
        f"{len(said_failed_but_kept)}"
    )
    assert "500" not in statuses, statuses
    assert back, "service did not come back"
    assert not lost and not twice, (lost, twice)
    assert set(statuses) <= {"200", "302", "503"}, statuses
    _forget_restart_households()
    print("  db-restart: all checks passed")
    return {
        "requests": len(records),
        "statuses": statuses,
        "restart": [round(down, 1), round(up, 1)],
        "failures": [round(min(failures), 1), round(max(failures), 1)] if failures else None,
        "confirmed": len(confirmed),
        "refused": len(refused),
        "refused_but_kept": len(said_failed_but_kept),
        "lost": len(lost),
        "twice": len(twice),
    }


def _forget_restart_households() -> None:
    from recipients.models import Household, Person

    made = Person.objects.filter(name__startswith="重启")
    households = list(made.values_list("household_id", flat=True))
    Person.objects.filter(household_id__in=households).delete()  # PROTECT: members first
    Household.objects.filter(pk__in=households).delete()


def _answers(base: str) -> bool:
    import requests

    try:
        return requests.get(f"{base}/health/", timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


def _signed_in(base: str, username: str, password: str):
    """A requests session signed in through the login form. With DEBUG off the
    cookies are marked Secure; this plain-HTTP loopback client sends them anyway."""
    import requests

    session = requests.Session()
    session.get(f"{base}/login/", timeout=10)
    token = session.cookies["csrftoken"]
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Cookie": _cookies(session)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.status_code
    session.headers["Cookie"] = _cookies(session)
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def _cookies(session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def _file_household(session, base: str, village: int, name: str, serial: int):
    import datetime as dt

    from relief import idnumber

    born = dt.date(1950, 1, 1) + dt.timedelta(days=serial % 15000)
    data = {
        "village": village,
        "address": f"南街{serial}号",
        "notes": "",
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "members-0-name": name,
        "members-0-id_number": idnumber.make("130125", born, (serial // 15000) % 999 + 1),
        "members-0-relation": "head",
        "members-0-disability_grade": "",
        "members-0-locally_registered": "on",
        "members-0-phone": "",
        "members-0-notes": "",
        "csrfmiddlewaretoken": session.headers["X-CSRFToken"],
    }
    return session.post(f"{base}/households/new/", data=data, allow_redirects=False, timeout=15)


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


if __name__ == "__main__":
    main()
