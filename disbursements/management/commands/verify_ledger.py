from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from disbursements import signing


class Command(BaseCommand):
    help = (
        "Check an exported ledger against its signature file (FILE.xlsx.sig): valid, or "
        "exactly which sheet, cell, row or column differs. Exit status 1 when not valid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ledger", type=Path, help="The ledger, FILE.xlsx.")
        parser.add_argument("signature", type=Path, help="Its signature file, FILE.xlsx.sig.")
        parser.add_argument(
            "--public-key",
            type=Path,
            help="A PEM file with the office's public key, when its keys are not on record "
            "in this database (an auditor's own copy).",
        )

    def handle(
        self,
        *args: Any,
        ledger: Path,
        signature: Path,
        public_key: Path | None,
        **options: Any,
    ) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            pem = None
            try:
                content = signature.read_bytes()
                if public_key is not None:
                    pem = public_key.read_bytes()
                if not ledger.is_file():
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(ledger))
            except OSError as error:
                raise CommandError(
                    _("Cannot read %(file)s: %(error)s")
                    % {"file": error.filename, "error": error.strerror or error}
                ) from None
            verdict = signing.verify_ledger(ledger, content, pem)
            if verdict.signature_checked:
                self.stdout.write(signing.signed_by(verdict))
            for message in verdict.messages:
                self.stdout.write(message)
            for note in verdict.notes:
                self.stdout.write(note)
            if not verdict.valid:
                raise SystemExit(1)
