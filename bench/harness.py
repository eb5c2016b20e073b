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
        DJANGO_SETTINGS_MODULE="relief.settings",
    )
    if database_url.startswith("postgres"):
        _create_pg_database(database_url)
    import django

    django.setup()


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
