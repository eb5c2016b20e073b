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


def last_sequence(village) -> int:
    """The village's last household number on file (the bench data continues it)."""
    from recipients.models import Household

    last = (
        Household.objects.filter(number__startswith=f"{village.code}-")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return int(last.rsplit("-", 1)[1]) if last else 0
