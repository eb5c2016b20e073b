"""Plain INSERTs of many rows at once, for imports of tens of thousands of rows.

`QuerySet.bulk_create` compiles every value of every row through the field's
`get_db_prep_save` and builds one SQL text per batch: for a 20,000-row roster
that was most of the import's time. Here each column's conversion is chosen
once, the statement is written once, and the driver's `executemany` sends the
rows (PostgreSQL: one COPY). The caller reads back the ids it needs by a key
it wrote (a number), and writes the history and audit rows itself: no signals
are sent and `save()` is not called, exactly as with bulk_create.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection, models
from django.utils import timezone

BATCH = 2000


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    """How a column's value is handed to the driver; None: as it is (text,
    numbers, booleans, foreign keys, Decimal, which both drivers adapt)."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return _same_as_last(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    return None


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Every row of an import carries the same timestamp: convert it once."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


def defaults(model: type[models.Model], now: datetime.datetime | None = None) -> dict[str, Any]:
    """Every column's default (auto_now and auto_now_add columns: `now`)."""
    now = now or timezone.now()
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values[field.attname] = now
        elif field.has_default():
            values[field.attname] = field.get_default()
        elif field.null:
            values[field.attname] = None
    return values


def insert(
    model: type[models.Model], rows: Iterable[dict[str, Any]], *, with_pk: bool = False
) -> int:
    """Insert rows given as {attname: value}; a column a row leaves out takes
    its default (see `defaults`). Returns the number of rows inserted."""
    base = defaults(model)
    fields: Sequence[models.Field] = [
        f for f in model._meta.concrete_fields if with_pk or not f.primary_key
    ]
    names = [f.attname for f in fields]
    pick = itemgetter(*names)
    convert = [(i, c) for i, c in enumerate(_converter(f) for f in fields) if c is not None]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0

    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        found = list(pick({**base, **row}))
        for i, c in convert:
            found[i] = c(found[i])
        return tuple(found)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows in one command: several times faster than
            # executemany's statement per row, even pipelined.
            copy_sql = "COPY {} ({}) FROM STDIN".format(
                quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(values(row))
                    count += 1
            return count
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(values(row))
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def history(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    user_id: int | None,
    reason: str,
    kind: str = "+",
) -> int:
    """The django-simple-history records of rows just inserted ("+") or
    changed ("~"): each row must hold the record's id and tracked fields."""
    now = timezone.now()
    stamp = {
        "history_date": now,
        "history_type": kind,
        "history_user_id": user_id,
        "history_change_reason": reason,
    }
    return insert(
        model.history.model,  # type: ignore[attr-defined]
        ({**row, **stamp} for row in rows),
    )
