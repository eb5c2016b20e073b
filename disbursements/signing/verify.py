"""Verifying a ledger against its signature file, and naming the cells that
differ when it does not match."""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from campaigns.models import Campaign
from disbursements.chain import canonical
from disbursements.models import PaymentEvent, SigningKey
from disbursements.signing.keys import SigningError, key_id_of, load_public_key
from disbursements.signing.manifest import (
    FORMAT,
    VERSION,
    Manifest,
    SheetContent,
    UnreadableWorkbook,
    file_sha256,
    read_manifest,
    shown,
)

# Findings a verdict lists.
MAX_FINDINGS = 30

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
