"""`field__prefix="130123"`: startswith, answered from an index on every database.

Django's `startswith` is LIKE 'x%' ESCAPE '\\'. PostgreSQL answers that from the
varchar_pattern_ops index Django adds to indexed character columns. SQLite
answers LIKE from an index only when LIKE is case-sensitive, which Django's
other lookups need it not to be; there, the same question is asked as a range,
`x <= field < x + U+10FFFF`, which its ordinary (binary) index answers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Lookup
from django.db.models.lookups import StartsWith


@CharField.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return compiler.compile(StartsWith(self.lhs, self.rhs))

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if hasattr(self.rhs, "resolve_expression"):
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        value = str(self.rhs)
        # The highest code point sorts after every string that starts with `value`.
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, value, value + "\U0010ffff"]
