from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.commands import find_campaign
from disbursements import chain

HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Recompute a campaign's chain of payment events and name the first record "
        "altered, inserted or deleted behind the application's back. Exit status 1 "
        "when anything differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")
        parser.add_argument(
            "--head",
            help="SEQ:HASH of the chain head printed in a signed ledger, to check the "
            "chain still holds that event (catches a chain rewritten since).",
        )

    def handle(self, *args: Any, campaign: str, head: str | None, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            found = find_campaign(campaign)
            expected = None
            if head:
                match = HEAD.match(head.strip().lower())
                if match is None:
                    raise CommandError(_("--head must be SEQ:HASH, e.g. 42:3f5a… (64 hex digits)."))
                expected = (int(match[1]), match[2])
            report = chain.verify(found, expected=expected)
            self.stdout.write(
                _("%(campaign)s: %(events)d events, %(payments)d payments, head #%(seq)d %(hash)s")
                % {
                    "campaign": found.name,
                    "events": report.events,
                    "payments": report.payments,
                    "seq": report.head_seq,
                    "hash": report.head_hash,
                }
            )
            if report.ok:
                self.stdout.write(_("The chain is intact."))
                return
            self.stdout.write(_("First problem: %(problem)s") % {"problem": report.problems[0]})
            for problem in report.problems[1:]:
                self.stdout.write(f"  {problem}")
            raise SystemExit(1)
