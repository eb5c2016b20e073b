"""What every benchmark shares: the project on the path and Django configured
like production (DEBUG off, so no query logging) against the database named by
a URL, created first when it is a PostgreSQL one."""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
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


def households_with_heads(
    homes: list,
    name_of: Callable[[int, object], str],
    *,
    born_from: datetime.date = datetime.date(1940, 1, 1),
) -> list:
    """One household per entry of `homes` (its village), numbered after the
    village's last, each with a head named `name_of(n, household)` and a valid
    ID number no one on file has: bulk inserts, for building bench data."""
    from recipients.choices import Relation
    from recipients.models import Household, Person
    from relief import idnumber

    used = set(Person.objects.values_list("id_number", flat=True))
    sequence = {v.pk: last_sequence(v) for v in {v.pk: v for v in homes}.values()}
    households = []
    for i, home in enumerate(homes):
        sequence[home.pk] += 1
        households.append(
            Household(
                village=home,
                number=f"{home.code}-{sequence[home.pk]:05d}",
                address=f"{home.name}东大街{i % 199 + 1}号",
            )
        )
    households = Household.objects.bulk_create(households, batch_size=1000)
    persons, serial = [], 0
    for n, household in enumerate(households):
        while True:  # a valid ID number no one on file has
            born = born_from + datetime.timedelta(days=serial // 500)
            number = idnumber.make("130123", born, (serial % 500) * 2 + 1)
            serial += 1
            if number not in used:
                used.add(number)
                break
        persons.append(
            Person(
                household=household,
                name=name_of(n, household),
                id_number=number,
                birth_date=idnumber.birth_date(number),  # Person.save is bypassed
                sex=idnumber.sex(number),
                relation=Relation.HEAD,
            )
        )
    Person.objects.bulk_create(persons, batch_size=1000)
    return households
