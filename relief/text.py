"""Text for terminals, where a Chinese character takes two columns."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `columns` terminal columns."""
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def table(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Rows aligned in columns; the columns in `right` are right-aligned (numbers)."""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        "  ".join(pad(cell, widths[i], right=i in right) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def decode(data: bytes) -> str | None:
    """Text of an uploaded .csv: Excel on a Chinese Windows saves GB18030
    (GBK), elsewhere UTF-8, sometimes with a byte-order mark. None: neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def whole_number(text: str | None, *, limit: int = 2**31 - 1) -> int | None:
    """A non-negative whole number typed or put in a URL, or None for anything
    else: "²" and "１２" pass str.isdigit() but only the second is a number
    int() reads; a huge one would overflow the database's integer."""
    text = (text or "").strip()
    if not text.isdecimal() or len(text) > len(str(limit)):
        return None
    value = int(text)
    return value if value <= limit else None
