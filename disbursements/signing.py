"""Signed ledgers: the office's Ed25519 keys, the manifest of a workbook's
content, the detached signature file and its verification.

Keys. The private key of each signing key is a PEM file in
`settings.LEDGER_KEY_DIR` (<key id>.pem, mode 0600 in a 0700 directory), never
in the database or the media files; its public key is a `SigningKey` row. A
key's id is the first 16 hex digits of the SHA-256 of its raw public key, so
anyone holding the public key can recompute it. Rotation retires the active
key and makes a new one; retired public keys stay, so ledgers signed with
them still verify. `manage.py ledger_key` runs these; docs/ledger-signing.md
says how to keep and back them up.

Manifest. What a workbook says, read independently of how it was saved, so
a ledger opened and saved again in a spreadsheet without edits still
matches: every sheet's cells as values (numbers to 15 significant digits as
plain decimal text, so 1500 and 1500.0 agree; dates as ISO dates; text as
it is; formulas by their text, not by the values a spreadsheet computed and
cached), typed, so the text "1000" never passes for the number 1000 (SUMIF
would skip it). Per sheet: its name, size, one SHA-256 over all its rows,
and a short hash per row and per column: when a cell changes, the row and
the column that differ name it. And the whole file's SHA-256: a
byte-identical file is valid at once, without reading a cell.

Not covered: formatting (fonts, number formats other than dates, hidden
rows, column widths) and anything outside the cells: the signature vouches
for what the cells hold, not for how they are shown.

Signature file. JSON: format and version, the key id, the campaign, when it
was signed, the campaign's chain head (`disbursements.chain`: the head
printed in the ledger's title), the file's name, size and manifest, and an
Ed25519 signature (base64) over the canonical JSON of all that.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from campaigns.models import Campaign
from disbursements.chain import GENESIS, canonical
from disbursements.models import ChainHead, PaymentEvent, SigningKey

FORMAT = "relief-ledger-signature"
VERSION = 1
ROW_HASH_BYTES = 8  # per row: enough to tell rows apart; the sheet's SHA-256 is the proof
COLUMN_HASH_HEX = 16
COLUMN_BLOCK = 1024  # rows hashed together per column: one json.dumps per block, not per cell
# What the reader refuses to unpack: an .xlsx is a zip, and a small upload
# can hold a huge sheet. A ledger of 100,000 items unpacks to about 105 MB.
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
# Differing rows whose content a verdict quotes, per sheet; and findings listed.
KEEP_ROWS = 200
MAX_FINDINGS = 30


class SigningError(Exception):
    """A key or signature problem the user can act on; the message says how."""


# -- keys -------------------------------------------------------------------------------


def key_dir() -> Path:
    return Path(settings.LEDGER_KEY_DIR)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM; SigningError for anything else."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError) as error:
        raise SigningError(_("This is not a PEM public key.")) from error
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(_("This public key is not an Ed25519 key."))
    return key


def private_key_path(key_id: str) -> Path:
    return key_dir() / f"{key_id}.pem"


def _private_directory() -> Path:
    """The key directory, created readable by this account only. An existing
    one is tightened to 0700 too: a key file is only as private as its folder."""
    directory = key_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def create_key() -> SigningKey:
    """A new Ed25519 signing key: the private key to LEDGER_KEY_DIR/<key id>.pem
    (0600, written before the public key is recorded: a key is never on
    record without the file that signs with it), its public key to a row."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    key_id = key_id_of(public)
    path = _private_directory() / f"{key_id}.pem"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key file (another key's, by a 64-bit id collision).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return SigningKey.objects.create(key_id=key_id, public_key=public_pem(public))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def rotate_key() -> SigningKey:
    """Retire the active key(s) and create a new one. The retired public
    keys stay on record, so the ledgers they signed still verify; their
    private files stay where they are until an administrator removes them
    (docs/ledger-signing.md)."""
    with transaction.atomic():
        SigningKey.objects.select_for_update().filter(retired_at=None).update(
            retired_at=timezone.now()
        )
        return create_key()


def active_key() -> SigningKey:
    """The newest key not retired whose private file is here."""
    for key in SigningKey.objects.filter(retired_at=None).order_by("-created_at", "-id"):
        if private_key_path(key.key_id).is_file():
            return key
    raise SigningError(_("No signing key: run manage.py ledger_key create."))


def load_private_key(key: SigningKey) -> Ed25519PrivateKey:
    """The key's private half from its file, checked against its public key."""
    path = private_key_path(key.key_id)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise SigningError(
            _("The private key file %(file)s cannot be read: %(error)s")
            % {"file": path, "error": error}
        ) from error
    if not isinstance(private, Ed25519PrivateKey) or key_id_of(private.public_key()) != key.key_id:
        raise SigningError(
            _("The private key file %(file)s does not belong to key %(key)s.")
            % {"file": path, "key": key.key_id}
        )
    return private


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


# -- signing ----------------------------------------------------------------------------


def campaign_head(campaign: Campaign) -> tuple[int, str]:
    head = ChainHead.objects.filter(campaign=campaign).values_list("seq", "hash").first()
    return (head[0], head[1]) if head else (0, GENESIS)


def sign_ledger(
    path: Path | str,
    campaign: Campaign,
    *,
    chain_head: tuple[int, str] | None = None,
    key: SigningKey | None = None,
    header_row: int | None = None,
) -> bytes:
    """The detached signature file (JSON, UTF-8) of the ledger at `path`.

    `chain_head` is the head the ledger's title prints (write_ledger returns
    it in its totals): pass it, so the signature names the head of exactly
    the rows written; without it the campaign's head now is read. `key`
    defaults to the active key; `header_row` to the ledger's."""
    if header_row is None:
        from documents.ledger import HEADER_ROW

        header_row = HEADER_ROW
    load_private_key(key or active_key())  # no key, no reading: fail first
    path = Path(path)
    manifest = read_manifest(path, header_row=header_row)
    head = chain_head or campaign_head(campaign)
    signed_at = timezone.now().replace(microsecond=0)
    # The key as it is now, after a read that takes seconds on a big ledger
    # (and a caller that chose it before writing the ledger): one retired
    # meanwhile never signs after its retirement, the new active key does.
    if key is not None:
        key.refresh_from_db(fields=["retired_at"])
    if key is None or key.retired_at is not None:
        key = active_key()
    private = load_private_key(key)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "key_id": key.key_id,
        "campaign": {"id": campaign.pk, "name": campaign.name},
        "signed_at": signed_at.astimezone(datetime.UTC).isoformat(),
        "chain_head": {"seq": head[0], "hash": head[1]},
        "file": {"name": path.name, "size": manifest.size, "sha256": manifest.sha256},
        "manifest": manifest.as_json(),
    }
    payload["signature"] = base64.b64encode(private.sign(canonical(payload))).decode("ascii")
    return (json.dumps(payload, ensure_ascii=False, indent=1) + "\n").encode()


def signature_name(ledger_name: str) -> str:
    """FILE.xlsx → FILE.xlsx.sig"""
    return f"{ledger_name}.sig"


# -- verifying --------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One thing that differs, with the cells or rows it concerns (`ref`:
    "发放台账!L17", "发放台账!17:18", "发放台账!L", or the sheet's name)."""

    sheet: str
    ref: str
    message: str


@dataclass
class Verdict:
    """What `verify_ledger` found. `messages` read in order: the problems
    first when it is not valid, or what makes it valid; `notes` are
    remarks that do not change the verdict."""

    valid: bool = False
    messages: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signature_checked: bool = False  # the .sig is genuine: the fields below can be trusted
    identical: bool = False  # byte for byte the file that was signed
    key_id: str = ""
    key: SigningKey | None = None
    campaign_id: int | None = None
    campaign_name: str = ""
    signed_at: datetime.datetime | None = None
    chain_seq: int | None = None
    chain_hash: str = ""
    file_name: str = ""

    def refuse(self, message: str) -> Verdict:
        self.valid = False
        self.messages.append(message)
        return self

    @property
    def cells(self) -> list[str]:
        return [d.ref for d in self.differences]


def signed_by(verdict: Verdict) -> str:
    """When, with which key, for which campaign and chain head: what a
    genuine signature file says."""
    signed_at = verdict.signed_at
    return _(
        "Signed %(time)s with key %(key)s: %(campaign)s, payment chain head #%(seq)s %(hash)s."
    ) % {
        "time": timezone.localtime(signed_at).strftime("%Y-%m-%d %H:%M") if signed_at else "?",
        "key": verdict.key_id,
        "campaign": verdict.campaign_name,
        "seq": verdict.chain_seq,
        "hash": verdict.chain_hash,
    }


def _parse(signature: bytes) -> tuple[dict[str, Any], Manifest]:
    """The signature file's fields; ValueError when it is not one."""
    data = json.loads(signature.decode("utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("format")
    if data.get("version") != VERSION:
        raise ValueError("version")
    for name in ("key_id", "signature", "signed_at"):
        if not isinstance(data.get(name), str):
            raise ValueError(name)
    if not isinstance(data.get("campaign"), dict) or not isinstance(data.get("chain_head"), dict):
        raise ValueError("campaign")
    return data, Manifest.from_json(data["manifest"])


def verify_ledger(
    path: Path | str, signature_bytes: bytes, public_key_pem: str | bytes | None = None
) -> Verdict:
    """Whether the ledger at `path` is the one the signature file signed:
    the key is known (one of the office's, or `public_key_pem`), the
    signature file is unaltered, and the workbook's content is what was
    signed (byte for byte, or cell for cell when saved again). When it is
    not, the verdict says exactly what differs."""
    verdict = Verdict()
    try:
        data, signed = _parse(signature_bytes)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return verdict.refuse(
            _(
                "The signature file is not a ledger signature (a .sig file written "
                "with the ledger by this system)."
            )
        )
    verdict.key_id = data["key_id"]
    verdict.campaign_id = data["campaign"].get("id")
    verdict.campaign_name = str(data["campaign"].get("name", ""))
    verdict.signed_at = _parse_time(data["signed_at"])
    verdict.chain_seq = data["chain_head"].get("seq")
    verdict.chain_hash = str(data["chain_head"].get("hash", ""))
    file = data.get("file")
    verdict.file_name = str(file.get("name", "")) if isinstance(file, dict) else ""

    # The key.
    if public_key_pem is not None:
        try:
            public = load_public_key(public_key_pem)
        except SigningError as error:
            return verdict.refuse(str(error))
        if key_id_of(public) != verdict.key_id:
            return verdict.refuse(
                _("The ledger was signed with key %(signed)s, not with the key given (%(given)s).")
                % {"signed": verdict.key_id, "given": key_id_of(public)}
            )
    else:
        verdict.key = SigningKey.objects.filter(key_id=verdict.key_id).first()
        if verdict.key is None:
            return verdict.refuse(
                _(
                    "The ledger was signed with key %(key)s, which is not one of this "
                    "office's keys: it was not signed here, or the key is not on record."
                )
                % {"key": verdict.key_id}
            )
        try:
            public = load_public_key(verdict.key.public_key)
        except SigningError as error:
            return verdict.refuse(str(error))

    # The signature file itself.
    body = {k: v for k, v in data.items() if k != "signature"}
    try:
        public.verify(base64.b64decode(data["signature"], validate=True), canonical(body))
    except (InvalidSignature, ValueError, binascii.Error):
        return verdict.refuse(
            _(
                "The signature does not match: the signature file was altered after "
                "signing, or it was not made with key %(key)s."
            )
            % {"key": verdict.key_id}
        )
    verdict.signature_checked = True
    key = verdict.key
    if (
        key is not None
        and key.retired_at
        and verdict.signed_at
        and verdict.signed_at > key.retired_at
    ):
        # Only the retired key's private file, used outside this system, can do that.
        return verdict.refuse(
            _(
                "Key %(key)s was retired on %(retired)s, yet this signature says it was made "
                "with it on %(signed)s: it was not made by this system."
            )
            % {
                "key": key.key_id,
                "retired": timezone.localtime(key.retired_at).strftime("%Y-%m-%d %H:%M"),
                "signed": timezone.localtime(verdict.signed_at).strftime("%Y-%m-%d %H:%M"),
            }
        )

    # The workbook.
    path = Path(path)
    digest, _size = file_sha256(path)
    if digest == signed.sha256:
        verdict.valid = verdict.identical = True
        verdict.messages.append(
            _("Valid: the ledger is byte for byte the file signed with key %(key)s.")
            % {"key": verdict.key_id}
        )
    else:
        try:
            actual = read_manifest(path, signed=signed)
        except UnreadableWorkbook as error:
            return verdict.refuse(str(error))
        verdict.differences = compare(signed, actual)
        if verdict.differences:
            verdict.messages.append(
                _("Not valid: the ledger differs from the one signed with key %(key)s.")
                % {"key": verdict.key_id}
            )
            verdict.messages.extend(d.message for d in verdict.differences)
        else:
            verdict.valid = True
            verdict.messages.append(
                _(
                    "Valid: the file was saved again since it was signed with key %(key)s, "
                    "but every cell of every sheet is as signed."
                )
                % {"key": verdict.key_id}
            )
    verdict.notes.extend(_chain_notes(verdict))
    return verdict


def _parse_time(text: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _chain_notes(verdict: Verdict) -> list[str]:
    """Whether this database's chain still holds the signed head. Not part of
    the ledger's validity (an auditor may verify elsewhere), but a chain that
    no longer holds it was rewritten after the ledger was signed."""
    seq, hash_ = verdict.chain_seq, verdict.chain_hash
    if not isinstance(seq, int) or seq <= 0 or not isinstance(verdict.campaign_id, int):
        return []
    if not Campaign.objects.filter(pk=verdict.campaign_id).exists():
        return []
    found = (
        PaymentEvent.objects.filter(campaign_id=verdict.campaign_id, seq=seq)
        .values_list("hash", flat=True)
        .first()
    )
    if found == hash_:
        return [
            _(
                "This database's payment chain still holds the signed head (event #%(seq)s); "
                "manage.py verify_chain %(campaign)s --head %(seq)s:%(hash)s checks the "
                "whole chain."
            )
            % {"seq": seq, "hash": hash_, "campaign": verdict.campaign_id}
        ]
    return [
        _(
            "Warning: this database's payment chain no longer holds the signed head "
            "(event #%(seq)s, %(hash)s): the payment records were rewritten after the "
            "ledger was signed. Run manage.py verify_chain %(campaign)s --head %(seq)s:%(hash)s."
        )
        % {"seq": seq, "hash": hash_, "campaign": verdict.campaign_id}
    ]


# -- comparing --------------------------------------------------------------------------


def _rows_text(rows: Sequence[int]) -> str:
    """1-based row numbers as ranges: 3, 7–9."""
    spans, start, last = [], None, None
    for row in rows:
        if start is None:
            start = last = row
        elif row == last + 1:
            last = row
        else:
            spans.append((start, last))
            start = last = row
    if start is not None:
        spans.append((start, last))
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _column_label(sheet: SheetContent, col: int) -> str:
    letter = get_column_letter(col + 1)
    header = sheet.headers[col] if col < len(sheet.headers) else ""
    return f"{letter} ({header})" if header else letter


def compare(signed: Manifest, actual: Manifest) -> list[Difference]:
    """What differs between the signed manifest and the file's, sheet by sheet."""
    found: list[Difference] = []
    names = [s.name for s in signed.sheets]
    now = {s.name: s for s in actual.sheets}
    for sheet in signed.sheets:
        if sheet.name not in now:
            found.append(
                Difference(
                    sheet.name,
                    sheet.name,
                    _("Sheet %(sheet)s of the signed ledger is missing.") % {"sheet": sheet.name},
                )
            )
    for sheet in actual.sheets:
        if sheet.name not in names:
            found.append(
                Difference(
                    sheet.name,
                    sheet.name,
                    _("Sheet %(sheet)s was added: the signed ledger has no such sheet.")
                    % {"sheet": sheet.name},
                )
            )
    common = [n for n in names if n in now]
    if common != [s.name for s in actual.sheets if s.name in names]:
        found.append(
            Difference(
                "",
                "",
                _("The sheets are in another order than in the signed ledger: %(names)s.")
                % {"names": "、".join(names)},
            )
        )
    for sheet in signed.sheets:
        if sheet.name in now:
            found.extend(_compare_sheet(sheet, now[sheet.name]))
    if len(found) > MAX_FINDINGS:
        rest = len(found) - MAX_FINDINGS
        more = _("…and %(count)s more differences.") % {"count": rest}
        found = [*found[:MAX_FINDINGS], Difference("", "", more)]
    return found


def _compare_sheet(signed: SheetContent, actual: SheetContent) -> list[Difference]:
    if signed.sha256 == actual.sha256 and (signed.rows, signed.columns) == (
        actual.rows,
        actual.columns,
    ):
        return []
    name = signed.name
    if signed.rows != actual.rows:
        return _aligned_rows(signed, actual)
    rows = [
        i
        for i, (a, b) in enumerate(zip(signed.row_hashes, actual.row_hashes, strict=True))
        if a != b
    ]
    width = max(signed.columns, actual.columns)
    columns = [
        j
        for j in range(width)
        if (signed.column_hashes[j] if j < signed.columns else None)
        != (actual.column_hashes[j] if j < actual.columns else None)
    ]
    if not rows:
        # Same rows by their short hashes, yet the sheet's SHA-256 differs: a
        # collision of the short hashes, made on purpose. Nothing to locate.
        return [
            Difference(
                name,
                name,
                _("Sheet %(sheet)s differs from the signed one.") % {"sheet": name},
            )
        ]
    if len(rows) == 1 or len(columns) == 1 or not columns:
        # One row or one column: the cells where they cross are exactly the edits.
        cells = [(i, j) for i in rows for j in columns]
        if cells:
            return [_cell_difference(signed, actual, i, j) for i, j in cells]
    found = []
    letters = ", ".join(_column_label(signed, j) for j in columns)
    found.append(
        Difference(
            name,
            f"{name}!{_rows_text([i + 1 for i in rows])}",
            _("%(sheet)s: rows %(rows)s differ from the signed ledger, in columns %(columns)s.")
            % {"sheet": name, "rows": _rows_text([i + 1 for i in rows]), "columns": letters},
        )
    )
    return found


def _cell_difference(signed: SheetContent, actual: SheetContent, row: int, col: int) -> Difference:
    ref = f"{signed.name}!{get_column_letter(col + 1)}{row + 1}"
    header = signed.headers[col] if col < len(signed.headers) else ""
    cells = actual.kept.get(row)
    now = shown(cells[col] if cells is not None and col < len(cells) else None)
    if header:
        message = _(
            "%(cell)s (%(column)s) differs from the signed ledger: it now reads %(value)s."
        ) % {"cell": ref, "column": header, "value": now}
    else:
        message = _("%(cell)s differs from the signed ledger: it now reads %(value)s.") % {
            "cell": ref,
            "value": now,
        }
    return Difference(signed.name, ref, message)


def _aligned_rows(signed: SheetContent, actual: SheetContent) -> list[Difference]:
    """Rows added or removed: the two sequences of row hashes aligned."""
    name = signed.name
    matcher = difflib.SequenceMatcher(None, signed.row_hashes, actual.row_hashes, autojunk=False)
    found = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            rows = _rows_text(range(j1 + 1, j2 + 1))
            message = _("%(sheet)s: rows %(rows)s were added: the signed ledger has no such rows.")
            ref = f"{name}!{rows}"
        elif tag == "delete":
            rows = _rows_text(range(i1 + 1, i2 + 1))
            message = _("%(sheet)s: rows %(rows)s of the signed ledger were removed.")
            ref = f"{name}!{rows}"
        else:
            rows = _rows_text(range(j1 + 1, j2 + 1))
            message = _("%(sheet)s: rows %(rows)s differ from the signed ledger.")
            ref = f"{name}!{rows}"
        found.append(Difference(name, ref, message % {"sheet": name, "rows": rows}))
    return found
