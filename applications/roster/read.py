"""A roster file (.xlsx, .xls, .ods or .csv) as rows of cell values, each with
the row number the clerk sees in the spreadsheet."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import python_calamine
from django.conf import settings
from django.utils.translation import gettext as _

from relief.text import decode

SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods"}
EXTENSIONS = SPREADSHEETS | {".csv"}


class RosterError(Exception):
    """The file as a whole cannot be imported; the message says why.
    `headers`: the header row when one was found, so the clerk can say which
    column is which."""

    def __init__(self, message: str, headers: list[str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or []


@dataclass
class Table:
    """The cells of the first sheet with data. `rows[i]` is spreadsheet row i + 1."""

    rows: list[list[object]]
    sheet: str = ""
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def kind_of(name: str) -> str:
    """The file's extension, or RosterError when it is not a roster's."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise RosterError(
            _("Upload an Excel file (.xlsx or .xls) or a .csv file, not “%(name)s”.")
            % {"name": name}
        )
    return suffix


def read(source: Path | IO[bytes], name: str) -> Table:
    """Read the file; RosterError for anything that is not a readable roster."""
    suffix = kind_of(name)
    data = source.read_bytes() if isinstance(source, Path) else source.read()
    if not data:
        raise RosterError(_("The file is empty."))
    table = _read_csv(data) if suffix == ".csv" else _read_spreadsheet(data)
    limit = settings.ROSTER_MAX_ROWS
    if len(table.rows) > limit:
        raise RosterError(
            _("The file has %(count)d rows; a roster may have at most %(limit)d. Split it.")
            % {"count": len(table.rows), "limit": limit}
        )
    return table


def _read_spreadsheet(data: bytes) -> Table:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for index, sheet_name in enumerate(book.sheet_names):
            sheet = book.get_sheet_by_index(index)
            # Empty rows above and left of the data are kept, so that row
            # numbers in messages are the ones the clerk sees.
            rows = sheet.to_python(skip_empty_area=False)
            if any(any(c not in ("", None) for c in row) for row in rows):
                merged = list(sheet.merged_cell_ranges or [])
                return Table(rows=rows, sheet=sheet_name, merged=merged)
    except Exception as error:  # calamine raises its own errors for damaged files
        raise RosterError(
            _("The file cannot be read as a spreadsheet (%(error)s). Save it again from Excel.")
            % {"error": str(error)[:200]}
        ) from error
    raise RosterError(_("The file has no rows."))


def _read_csv(data: bytes) -> Table:
    text = decode(data)
    if text is None:
        raise RosterError(_("The .csv file is neither UTF-8 nor GBK text."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows: list[list[object]] = [
            list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise RosterError(_("The .csv file is malformed: %(error)s") % {"error": error}) from error
    if not rows:
        raise RosterError(_("The file has no rows."))
    return Table(rows=rows)


def fill_merged(table: Table, below: int) -> None:
    """A value merged over several rows (a village written once for a block of
    its households) applies to each of those rows. Only rows below the header."""
    for (top, left), (bottom, right) in table.merged:
        if bottom <= below or top >= len(table.rows):
            continue
        value = table.rows[top][left] if left < len(table.rows[top]) else ""
        for r in range(max(top, below + 1), min(bottom, len(table.rows) - 1) + 1):
            row = table.rows[r]
            for c in range(left, right + 1):
                if c < len(row) and row[c] in ("", None):
                    row[c] = value
