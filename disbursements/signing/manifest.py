"""The manifest of a workbook: what its cells say, read independently of how
it was saved (see the package's docstring), and the signature file's format."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

FORMAT = "relief-ledger-signature"
VERSION = 1
ROW_HASH_BYTES = 8  # per row: enough to tell rows apart; the sheet's SHA-256 is the proof
COLUMN_HASH_HEX = 16
COLUMN_BLOCK = 1024  # rows hashed together per column: one json.dumps per block, not per cell
# What the reader refuses to unpack: an .xlsx is a zip, and a small upload
# can hold a huge sheet. A ledger of 100,000 items unpacks to about 105 MB.
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
# Differing rows whose content a verdict quotes, per sheet.
KEEP_ROWS = 200


# -- reading a workbook -----------------------------------------------------------------

# A formula element, <f>, also with attributes or a namespace prefix (<x:f>):
# plain substring searches, which run at memory speed on a 100 MB sheet. (One
# missed would only make the sheet's formulas compare by their cached values:
# a ledger found to differ, never one found valid that is not.)
_FORMULA_TAGS = tuple(
    prefix + b"f" + end
    for prefix in (b"<", b":")
    for end in (b">", b" ", b"/", b"\t", b"\n", b"\r")
)
_STRING = re.compile(r'"(?:[^"]|"")*"')
_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")


def normalise_formula(text: str) -> str:
    """A formula as spreadsheets write it back, whoever wrote it: no leading
    "=", sheet names unquoted ('发放台账'!A1 and 发放台账!A1 are the same
    reference: openpyxl quotes, LibreOffice does not), no _xlfn. prefixes.
    String literals are left as they are."""
    text = text[1:] if text.startswith("=") else text
    parts, last = [], 0
    for match in _STRING.finditer(text):
        parts.append(_normalise_code(text[last : match.start()]))
        parts.append(match.group())
        last = match.end()
    parts.append(_normalise_code(text[last:]))
    return "".join(parts)


def _normalise_code(code: str) -> str:
    code = _QUOTED_SHEET.sub(lambda m: m[1].replace("''", "'") + "!", code)
    return code.replace("_xlfn.", "").replace("_xlws.", "")


Cell = str | list[str] | None  # text; [type, value] for anything else; None when empty


def _number(value: float | int) -> list[str]:
    if isinstance(value, int):
        return ["n", str(value)]
    if value != value or value in (float("inf"), float("-inf")):
        return ["n", repr(value)]
    if value.is_integer() and abs(value) < 1e15:
        return ["n", str(int(value))]
    text = format(value, ".15g")
    if "e" in text:
        text = format(Decimal(text).normalize(), "f")
    return ["n", text]


def _value(value: Any) -> Cell:
    """One cell's value (as python-calamine reads it) in canonical form."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return ["b", "TRUE" if value else "FALSE"]
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return ["d", value.date().isoformat()]
        return ["t", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, datetime.time):
        return ["h", value.isoformat()]
    if isinstance(value, datetime.timedelta):
        return ["p", _number(value.total_seconds())[1]]
    if value is None:
        return None
    return ["x", str(value)]


def shown(cell: Cell) -> str:
    """A canonical cell as a person reads it in a message."""
    if cell is None:
        return _("(empty)")
    if isinstance(cell, str):
        return cell
    kind, value = cell
    return "=" + value if kind == "f" else value


@dataclass
class SheetContent:
    """One sheet's manifest entry, and (when read against a signed one) the
    differing rows' cells, to quote them."""

    name: str
    rows: int  # up to the last row holding anything
    columns: int  # up to the last column holding anything
    sha256: str
    row_hashes: list[bytes]
    column_hashes: list[str]
    header_row: int | None = None
    headers: list[str] = field(default_factory=list)
    kept: dict[int, list[Cell]] = field(default_factory=dict)  # 0-based row → cells

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": self.columns,
            "sha256": self.sha256,
            "header_row": self.header_row,
            "headers": self.headers,
            "row_hashes": base64.b64encode(b"".join(self.row_hashes)).decode("ascii"),
            "column_hashes": self.column_hashes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SheetContent:
        raw = base64.b64decode(data["row_hashes"], validate=True)
        if len(raw) != ROW_HASH_BYTES * int(data["rows"]):
            raise ValueError("row hashes do not match the row count")
        if len(data["column_hashes"]) != int(data["columns"]):
            raise ValueError("column hashes do not match the column count")
        return cls(
            name=str(data["name"]),
            rows=int(data["rows"]),
            columns=int(data["columns"]),
            sha256=str(data["sha256"]),
            row_hashes=[raw[i : i + ROW_HASH_BYTES] for i in range(0, len(raw), ROW_HASH_BYTES)],
            column_hashes=[str(h) for h in data["column_hashes"]],
            header_row=int(data["header_row"]) if data.get("header_row") else None,
            headers=[str(h) for h in data.get("headers") or []],
        )


@dataclass
class Manifest:
    sha256: str
    size: int
    sheets: list[SheetContent]

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "sheets": [sheet.as_json() for sheet in self.sheets],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            sheets=[SheetContent.from_json(sheet) for sheet in data["sheets"]],
        )


class UnreadableWorkbook(Exception):
    """Not an .xlsx workbook this module can read; the message says why."""


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part in the zip, from workbook.xml and its relations."""
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{pkg}Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    parts = {}
    for sheet in workbook.iter(f"{main}sheet"):
        parts[sheet.get("name", "")] = targets.get(sheet.get(f"{rel_ns}id"), "")
    return parts


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML holds a formula element, read as a stream (the
    items sheet of a big ledger has none and is never parsed twice)."""
    if part not in archive.namelist():
        return False
    tail = b""
    with archive.open(part) as handle:
        while chunk := handle.read(1 << 20):
            text = tail + chunk
            if any(tag in text for tag in _FORMULA_TAGS):
                return True
            tail = chunk[-8:]
    return False


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _formulas(archive: zipfile.ZipFile, part: str) -> dict[tuple[int, int], str]:
    """A sheet's formulas by 0-based (row, column), as text (python-calamine
    reads values only), streamed from its XML with lxml. A shared formula
    (written once, used by a range of cells: Excel does that) is translated
    to each cell the way openpyxl does, so it reads as if written out."""
    from lxml import etree
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import coordinate_to_tuple

    found: dict[tuple[int, int], str] = {}
    shared: dict[str, tuple[str, str]] = {}  # si → (formula, its cell)
    row = col = 0  # 1-based; cells and rows may leave out their "r" (it is optional)
    tags = (f"{_MAIN}row", f"{_MAIN}c")
    with archive.open(part) as source:
        events = etree.iterparse(
            source, events=("start", "end"), tag=tags, resolve_entities=False, no_network=True
        )
        for event, element in events:
            if element.tag == tags[0]:
                if event == "start":
                    row, col = int(element.get("r") or row + 1), 0
                else:
                    element.clear()
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                continue
            if event == "start":
                continue
            ref = element.get("r")
            col = coordinate_to_tuple(ref)[1] if ref else col + 1
            formula = element.find(f"{_MAIN}f")
            if formula is not None:
                ref = ref or f"{get_column_letter(col)}{row}"
                text = formula.text or ""
                if formula.get("t") == "shared":
                    index = formula.get("si", "")
                    if text:
                        shared[index] = (text, ref)
                    elif index in shared:
                        master, origin = shared[index]
                        text = Translator("=" + master, origin).translate_formula(ref)
                found[(row - 1, col - 1)] = normalise_formula(text)
            element.clear()
    return found


def read_manifest(
    path: Path,
    *,
    header_row: int | None = None,
    signed: Manifest | None = None,
) -> Manifest:
    """The manifest of the workbook at `path`. `header_row` (1-based) names
    the row whose text labels the columns in messages. With `signed`, the
    rows that differ from the signed manifest's at the same position are
    kept (up to KEEP_ROWS per sheet) so a verdict can quote them."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    digest, size = file_sha256(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise UnreadableWorkbook(_("The workbook unpacks to more than 1 GB."))
            formulas = {
                name: _formulas(archive, part)
                for name, part in _sheet_parts(archive).items()
                if _has_formulas(archive, part)
            }
        book = CalamineWorkbook.from_path(str(path))
    except UnreadableWorkbook:
        raise
    except Exception as error:  # zip, XML and calamine errors alike: not a workbook
        raise UnreadableWorkbook(
            _("The file is not an .xlsx workbook that can be read (%(error)s).")
            % {"error": str(error) or type(error).__name__}
        ) from error
    signed_sheets = {s.name: s for s in signed.sheets} if signed else {}
    sheets = []
    try:
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            header = (
                header_row
                if header_row is not None
                else (signed_sheets[name].header_row if name in signed_sheets else None)
            )
            sheets.append(
                _read_sheet(name, sheet, formulas.get(name, {}), header, signed_sheets.get(name))
            )
    except Exception as error:
        raise UnreadableWorkbook(
            _("The file is not an .xlsx workbook that can be read (%(error)s).")
            % {"error": str(error) or type(error).__name__}
        ) from error
    finally:
        book.close()
    return Manifest(sha256=digest, size=size, sheets=sheets)


def _rows(sheet: Any, formulas: dict[tuple[int, int], str]) -> Iterator[list[Cell]]:
    """The sheet's rows from A1 on, canonical, formulas by their text.

    python-calamine (pinned) yields rows from the first row but columns from
    the first column holding data: the columns before it are put back."""
    start = sheet.start
    offset = start[1] if start else 0
    width = offset + (sheet.width if start else 0)
    if formulas:
        width = max(width, 1 + max(col for _row, col in formulas))
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (row, col), text in formulas.items():
        by_row.setdefault(row, []).append((col, text))
    lead: list[Cell] = [None] * offset
    # Amounts and dates repeat down a ledger: each distinct one is made
    # canonical once. Only floats and dates are looked up, never bools
    # (True == 1.0 would find the number's entry).
    seen: dict[Any, Cell] = {}

    def canonical(value: Any) -> Cell:
        kind = value.__class__
        if kind is str:
            return value or None
        if kind is float or kind is datetime.date or kind is datetime.datetime:
            found = seen.get(value)
            if found is None:
                found = seen[value] = _value(value)
            return found
        return _value(value)

    index = -1
    for index, values in enumerate(sheet.iter_rows() if start else ()):
        cells = [*lead, *map(canonical, values)]
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        for col, text in by_row.pop(index, ()):
            cells[col] = ["f", text]
        yield cells
    # Formulas below calamine's last row (a formula without a cached value).
    for row in sorted(by_row):
        while index < row - 1:
            index += 1
            yield [None] * width
        cells = [None] * width
        for col, text in by_row[row]:
            cells[col] = ["f", text]
        index = row
        yield cells


def _read_sheet(
    name: str,
    sheet: Any,
    formulas: dict[tuple[int, int], str],
    header_row: int | None,
    signed: SheetContent | None,
) -> SheetContent:
    """Hash the sheet's rows and columns in one pass. Empty rows after the
    last one holding anything, and empty columns after the last such column,
    are not part of the content (spreadsheets differ in what they keep)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    sha256 = hashlib.sha256
    sheet_digest = sha256()
    row_hashes: list[bytes] = []
    columns: list[Any] = []  # one hasher per column
    block: list[list[Cell]] = []
    pending = 0  # empty rows not yet counted: they only count if a non-empty row follows
    empty_digest = sha256(b"[]").digest()
    used_columns = 0
    headers: list[str] = []
    kept: dict[int, list[Cell]] = {}
    signed_hashes = signed.row_hashes if signed is not None else []

    blocks = 0

    def flush_block() -> None:
        # A column's hash covers the blocks where it holds anything, each with
        # its number, so it depends on that column's cells alone: a value
        # typed into another column far to the right does not change it.
        nonlocal blocks
        width = max(len(r) for r in block)
        while len(columns) < width:
            columns.append(sha256())
        size = len(block)
        padded = (r + [None] * (width - len(r)) for r in block)
        for col, values in enumerate(zip(*padded, strict=True)):
            if values.count(None) != size:
                columns[col].update(encode([blocks, values]).encode())
        blocks += 1
        block.clear()

    for index, cells in enumerate(_rows(sheet, formulas)):
        end = len(cells)
        while end and cells[end - 1] is None:
            end -= 1
        if not end:
            pending += 1
            continue
        for _empty in range(pending):
            sheet_digest.update(empty_digest)
            row_hashes.append(empty_digest[:ROW_HASH_BYTES])
            block.append([])
            if len(block) == COLUMN_BLOCK:
                flush_block()
        pending = 0
        cells = cells[:end]
        used_columns = max(used_columns, end)
        digest = sha256(encode(cells).encode()).digest()
        sheet_digest.update(digest)
        short = digest[:ROW_HASH_BYTES]
        row_hashes.append(short)
        if (
            signed is not None
            and len(kept) < KEEP_ROWS
            and (index >= len(signed_hashes) or signed_hashes[index] != short)
        ):
            kept[index] = cells
        if header_row is not None and index == header_row - 1:
            headers = [shown(c) if c is not None else "" for c in cells]
        block.append(cells)
        if len(block) == COLUMN_BLOCK:
            flush_block()
    if block:
        flush_block()
    column_hashes = []
    for col in range(used_columns):
        column_hashes.append(columns[col].hexdigest()[:COLUMN_HASH_HEX])
    sheet_digest.update(f"{len(row_hashes)}x{used_columns}".encode())
    return SheetContent(
        name=name,
        rows=len(row_hashes),
        columns=used_columns,
        sha256=sheet_digest.hexdigest(),
        row_hashes=row_hashes,
        column_hashes=column_hashes,
        header_row=header_row,
        headers=headers,
        kept=kept,
    )
