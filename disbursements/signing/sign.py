"""Signing a ledger: its manifest and the campaign's chain head, signed with
the active key into the detached .sig file."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

from django.utils import timezone

from campaigns.models import Campaign
from disbursements.chain import GENESIS, canonical
from disbursements.models import ChainHead, SigningKey
from disbursements.signing.keys import active_key, load_private_key
from disbursements.signing.manifest import FORMAT, VERSION, read_manifest

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
