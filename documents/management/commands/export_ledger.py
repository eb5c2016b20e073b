from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.commands import find_campaign
from campaigns.conditions import fmt
from disbursements import signing
from documents.ledger import write_ledger


def writable(path: Path) -> Path:
    """Refuse before the work starts, not after a long export."""
    if not path.parent.is_dir():
        raise CommandError(_("Cannot write %(file)s: no such folder.") % {"file": path})
    return path


class Command(BaseCommand):
    help = (
        "Write a campaign's payment ledger (发放台账) as an .xlsx workbook: every item, "
        "subtotals by village and fund source (as formulas), and the budget sheet; and its "
        "signature file FILE.xlsx.sig, signed with the office's key (manage.py ledger_key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")
        parser.add_argument("--out", required=True, type=Path, help="The .xlsx file to write.")
        parser.add_argument(
            "--no-sign",
            action="store_true",
            help="Write the workbook only, without its signature file.",
        )

    def handle(
        self, *args: Any, campaign: str, out: Path, no_sign: bool = False, **options: Any
    ) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            found = find_campaign(campaign)
            path = writable(Path(out))
            key = None
            if not no_sign:
                try:
                    key = signing.active_key()
                    signing.load_private_key(key)
                except signing.SigningError as error:
                    raise CommandError(str(error)) from None
            verbose = options["verbosity"] > 1

            def progress(done: int, total: int) -> None:
                if verbose:
                    self.stderr.write(f"{done:,} / {total:,}")

            try:
                totals = write_ledger(found, path, progress=progress)
                if key is not None:
                    signature = path.with_name(signing.signature_name(path.name))
                    content = signing.sign_ledger(
                        path, found, chain_head=totals.chain_head, key=key
                    )
                    signature.write_bytes(content)
                    key_id = json.loads(content)["key_id"]  # a rotation meanwhile: the new key
            except signing.SigningError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(
                    _("Cannot write %(file)s: %(error)s")
                    % {"file": error.filename or path, "error": error.strerror}
                ) from None
            self.stdout.write(
                _("Wrote the ledger of %(campaign)s to %(file)s: %(count)s items, %(amount)s yuan.")
                % {
                    "campaign": found.name,
                    "file": path,
                    "count": totals.total.count,
                    "amount": fmt(totals.total.amount),
                }
            )
            if key is not None:
                self.stdout.write(
                    _("Signed with key %(key)s (chain head #%(seq)s): %(file)s")
                    % {"key": key_id, "seq": totals.chain_head[0], "file": signature}
                )
