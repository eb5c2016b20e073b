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

# The package in four modules: keys, manifest (reading a workbook), sign and
# verify (with the comparison that names the cells that differ). Callers use
# the names below, from here.
from disbursements.signing.keys import (
    SigningError,
    active_key,
    create_key,
    key_id_of,
    load_private_key,
    load_public_key,
    private_key_path,
    public_pem,
    rotate_key,
)
from disbursements.signing.manifest import Manifest, read_manifest
from disbursements.signing.sign import campaign_head, sign_ledger, signature_name
from disbursements.signing.verify import Verdict, signed_by, verify_ledger

__all__ = [
    "Manifest",
    "SigningError",
    "Verdict",
    "active_key",
    "campaign_head",
    "create_key",
    "key_id_of",
    "load_private_key",
    "load_public_key",
    "private_key_path",
    "public_pem",
    "read_manifest",
    "rotate_key",
    "sign_ledger",
    "signature_name",
    "signed_by",
    "verify_ledger",
]
