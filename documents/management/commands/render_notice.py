from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.commands import find_campaign
from campaigns.models import Campaign
from documents.notice import notice_for, render_notice
from documents.pdf import DocumentError


class DocumentCommand(BaseCommand):
    """What the document commands share: CAMPAIGN (number or exact name)
    --area CODE --out FILE, documents in the office's language."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")
        parser.add_argument("--area", required=True, help="The area's 12-digit code.")
        parser.add_argument("--out", required=True, type=Path, help="The PDF file to write.")

    def handle(self, *args: Any, campaign: str, area: str, out: Path, **options: Any) -> None:
        # Documents are printed in the office's language, whatever the shell's.
        with translation.override(settings.LANGUAGE_CODE):
            if not out.parent.is_dir():  # said before the work, not after it
                raise CommandError(_("Cannot write %(file)s: no such folder.") % {"file": out})
            try:
                pdf = self.render(find_campaign(campaign), area)
            except DocumentError as error:
                raise CommandError(error.message) from error
            try:
                out.write_bytes(pdf)
            except OSError as error:
                raise CommandError(
                    _("Cannot write %(file)s: %(error)s") % {"file": out, "error": error.strerror}
                ) from error
            self.stdout.write(_("Written to %(file)s.") % {"file": out})

    def render(self, campaign: Campaign, area_code: str) -> bytes:
        raise NotImplementedError


class Command(DocumentCommand):
    help = (
        "Write a campaign's public notice (公示名单) as a PDF: the notice of the area, "
        "or a village's part of its township's notice."
    )

    def render(self, campaign: Campaign, area_code: str) -> bytes:
        notice, village = notice_for(campaign, area_code)
        return render_notice(notice, village)
