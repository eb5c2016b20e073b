"""What every benchmark shares: the project on the path and Django configured
like production (DEBUG off, so no query logging) against the database named by
a URL, created first when it is a PostgreSQL one."""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def configure(database_url: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="bench-only-" + "x" * 50,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(ROOT / "bench/.data/static"),
        DJANGO_SETTINGS_MODULE="relief.settings",
    )
    if database_url.startswith("postgres"):
        _create_pg_database(database_url)
    import django

    django.setup()
    _collect_static()


def _collect_static() -> None:
    """Pages link static files by their hashed names from the manifest, as in
    production (DEBUG off): collect them when static/ changed since the last time."""
    manifest = ROOT / "bench/.data/static/staticfiles.json"
    newest = max(p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file())
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)


def _create_pg_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass(frozen=True)
class Timing:
    seconds: float  # wall clock
    cpu: float  # this process's CPU time: Python's share, whatever else runs on the machine


class Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> Timing:
        return Timing(time.perf_counter() - self.wall, time.process_time() - self.cpu)


def median(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.seconds for t in timings), statistics.median(t.cpu for t in timings)
    )


def households_with_heads(*args, **kwargs) -> list:
    """recipients.generate.households_with_heads, imported once Django is set up."""
    from recipients.generate import households_with_heads as build

    return build(*args, **kwargs)


def measure(client, url: str, repeats: int) -> dict[str, float]:
    """A page through Django's test client: median and p95 in ms, and its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm caches and the session refresh
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = len(captured)  # now: later requests clear the log it reads from
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
        "queries": queries,
    }


def pages(name: str, scenarios: list, repeats: int, **about: object) -> None:
    """Measure (label, client, path) scenarios, the first being the baseline:
    print a table with each one's ratio to it, and write
    bench/results/<name>-<database>-<time>.json with `about` (what was on file)."""
    import json

    from django.db import connection

    facts = ", ".join(f"{v:,} {k}" if isinstance(v, int) else f"{k} {v}" for k, v in about.items())
    print(f"\n{connection.vendor}, {facts}, {repeats} requests per row\n")
    print(f"{'scenario':<40} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'x baseline':>11}")
    results, baseline = [], None
    for label, client, path in scenarios:
        figures = measure(client, path, repeats)
        baseline = baseline or figures["median_ms"]
        ratio = figures["median_ms"] / baseline
        results.append({"scenario": label, "path": path, **figures, "ratio": ratio})
        print(
            f"{label:<40} {figures['median_ms']:>10.1f} {figures['p95_ms']:>8.1f}"
            f" {figures['queries']:>8} {ratio:>10.1f}x"
        )
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out / f"{name}-{connection.vendor}-{stamp}.json"
    path.write_text(
        json.dumps({"database": connection.vendor, **about, "results": results}, indent=2)
    )
    print(f"\nwritten to {path.relative_to(ROOT)}")
