"""Loading areas from a code table (CSV or Excel), as published by the
statistics bureau (统计用区划代码): a code column and a name column, with or
without a title row above the header, other columns ignored.

`read_rows` parses a file, `plan` checks every row against the database and the
actor's reach without writing, `apply` writes a plan that has no errors, in one
transaction. The same code serves the upload page and `manage.py import_areas`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from relief import scoping
from relief.areacodes import (
    LEVELS_TOP_DOWN,
    ancestor_codes,
    chunks,
    level_of,
    normalize_area_code,
    parent_code,
)
from relief.audit import record
from relief.models import Area, User
from relief.services import attach_orphans
from relief.text import decode

CODE_HEADERS = {"统计用区划代码", "区划代码", "行政区划代码", "代码", "code", "area code"}
NAME_HEADERS = {"名称", "区划名称", "name"}
MAX_ROWS = 200_000


class AreaFileError(Exception):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class AreaRow:
    line: int  # row number in the file, as a spreadsheet shows it
    code: str
    name: str


@dataclass
class AreaPlan:
    create: list[AreaRow] = field(default_factory=list)
    rename: list[tuple[AreaRow, str]] = field(default_factory=list)  # row, old name
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # line, message

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rows(stream: IO[bytes], filename: str) -> list[AreaRow]:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        table = _read_csv(stream.read())
    elif suffix == ".xlsx":
        table = _read_xlsx(stream)
    else:
        raise AreaFileError(_("Upload a .csv or .xlsx file."))
    return _rows_from_table(table)


def _read_csv(data: bytes) -> list[list[Any]]:
    text = decode(data)
    if text is None:
        raise AreaFileError(_("The CSV file is neither UTF-8 nor GBK text."))
    return list(csv.reader(io.StringIO(text)))


def _read_xlsx(stream: IO[bytes]) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        raise AreaFileError(_("This file is not a readable .xlsx workbook.")) from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 50)]
    finally:
        book.close()


def _find_header(table: list[list[Any]]) -> tuple[int, int, int]:
    """The header row (it may follow a title) and its code and name columns."""
    for index, row in enumerate(table[:20]):
        cells = [str(c or "").strip().lower() for c in row]
        code_col = next((i for i, c in enumerate(cells) if c in CODE_HEADERS), None)
        name_col = next((i for i, c in enumerate(cells) if c in NAME_HEADERS), None)
        if code_col is not None and name_col is not None:
            return index, code_col, name_col
    raise AreaFileError(
        _(
            "No header row found: the file needs a column “统计用区划代码” (or “代码”) "
            "and a column “名称”."
        )
    )


def _rows_from_table(table: list[list[Any]]) -> list[AreaRow]:
    header_index, code_col, name_col = _find_header(table)
    rows = []
    for offset, row in enumerate(table[header_index + 1 :], start=header_index + 2):
        code = row[code_col] if code_col < len(row) else None
        name = row[name_col] if name_col < len(row) else None
        if (code is None or str(code).strip() == "") and (name is None or str(name).strip() == ""):
            continue  # blank line
        rows.append(AreaRow(offset, normalize_area_code(code), str(name or "").strip()))
    if len(rows) > MAX_ROWS:
        raise AreaFileError(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
    return rows


def plan(actor: User, rows: list[AreaRow]) -> AreaPlan:
    """What importing these rows would do, and every row that cannot be imported.

    Reads the database in a few batched queries whatever the file's size.
    """
    result = AreaPlan()
    prefixes = scoping.area_prefixes(actor, "relief.add_area")
    valid = [r.code for r in rows if _valid(r.code)]
    ancestors = {a for code in valid for a in ancestor_codes(code)}
    names_on_file = _names_on_file({*valid, *ancestors})
    in_file: dict[str, int] = {}
    for row in rows:
        try:
            level_of(row.code)
        except ValidationError as exc:
            result.errors.append((row.line, " ".join(exc.messages)))
            continue
        if not row.name:
            result.errors.append((row.line, _("The name is empty.")))
            continue
        if len(row.name) > 100:
            result.errors.append((row.line, _("The name is longer than 100 characters.")))
            continue
        if row.code in in_file:
            message = _("Code %(code)s also appears on row %(line)d.")
            first = in_file[row.code]
            result.errors.append((row.line, message % {"code": row.code, "line": first}))
            continue
        in_file[row.code] = row.line
        if prefixes is not None and not any(row.code.startswith(p) for p in prefixes):
            message = _("%(code)s is outside the areas you administer.")
            result.errors.append((row.line, message % {"code": row.code}))
            continue
        if row.code in names_on_file:
            old = names_on_file[row.code]
            if old == row.name:
                result.unchanged += 1
            else:
                result.rename.append((row, old))
            continue
        result.create.append(row)
    # A parent may come later in the file than its child; it must be on file
    # or on a row of the file without an error.
    bad = {r.code for r in rows if r.line in {line for line, _m in result.errors}}
    usable = {r.code for r in result.create} | set(names_on_file)
    creatable = []
    for row in result.create:
        try:
            parent_code(row.code, usable.__contains__)
        except ValidationError:
            parent = ancestor_codes(row.code)[0]
            if parent in bad:
                message = _("The area above it has an error in this file.")
            else:
                message = _(
                    "The area above it (%(parent)s) is neither on file nor in this file."
                ) % {"parent": parent}
            result.errors.append((row.line, message))
            continue
        creatable.append(row)
    result.create = creatable
    result.errors.sort()
    return result


def apply(actor: User, area_plan: AreaPlan, *, source: str) -> None:
    """Write a plan without errors: all of it or, on any failure, nothing.

    Level by level, top down, in bulk; each new area's parent is found among
    the areas on file and those just created, without a query per row.
    """
    if not area_plan.ok:
        raise ValueError("a plan with errors is never applied")
    with transaction.atomic():
        wanted = {a for r in area_plan.create for a in ancestor_codes(r.code)}
        known = _areas_on_file(wanted)
        created: list[Area] = []
        for level in LEVELS_TOP_DOWN:
            batch = []
            for row in (r for r in area_plan.create if level_of(r.code) == level):
                parent = parent_code(row.code, known.__contains__)
                if parent is None and not actor.is_superuser:
                    raise PermissionDenied  # only superusers add top-level areas
                batch.append(
                    Area(code=row.code, name=row.name, level=level, parent=known.get(parent))
                )
            for area in Area.objects.bulk_create(batch, batch_size=1000):
                known[area.code] = area
                created.append(area)
        for row, _old in area_plan.rename:
            Area.objects.filter(code=row.code).update(name=row.name)
        attach_orphans(created)
        record(
            actor,
            "area.import",
            None,
            area=actor.area,
            source=source,
            created=len(area_plan.create),
            renamed=[[r.code, old, r.name] for r, old in area_plan.rename],
            unchanged=area_plan.unchanged,
        )


def _names_on_file(codes: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for batch in chunks(sorted(codes)):
        names.update(Area.objects.filter(code__in=batch).values_list("code", "name"))
    return names


def _areas_on_file(codes: set[str]) -> dict[str, Area]:
    areas: dict[str, Area] = {}
    for batch in chunks(sorted(codes)):
        areas.update((a.code, a) for a in Area.objects.filter(code__in=batch))
    return areas


def _valid(code: str) -> bool:
    try:
        level_of(code)
    except ValidationError:
        return False
    return True
