"""Reading the database as it stood at one moment, for work that reads a
campaign in several queries and must see them agree (the chain verification:
its events, its head and its payments).

PostgreSQL: a REPEATABLE READ transaction. It takes no locks a writer waits
for, so clerks go on paying while an auditor verifies; every query inside
sees the rows committed before the first one.
SQLite: a transaction, which here begins IMMEDIATE (relief.env): it holds the
write lock until it ends, so writers wait (up to the 20 s busy timeout) and
nothing can change under it: acceptable for the zero-setup database of one
office, whose chains are short; a long verification there delays clerks' saves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Every query inside reads the database as of the first. Inside a
    transaction begun already, that transaction decides (its isolation level
    cannot be changed once it has run a query)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
