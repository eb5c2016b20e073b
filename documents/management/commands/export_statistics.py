from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.commands import find_campaign
from documents.management.commands.export_ledger import writable
from documents.statistics import write_statistics


class Command(BaseCommand):
    help = (
        "Write a campaign's statistics (类别统计表) as an .xlsx workbook: counts and sums "
        "by category and village, by fund source and by state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")
        parser.add_argument("--out", required=True, type=Path, help="The .xlsx file to write.")

    def handle(self, *args: Any, campaign: str, out: Path, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            found = find_campaign(campaign)
            path = writable(Path(out))
            try:
                figures = write_statistics(found, path)
            except OSError as error:
                raise CommandError(
                    _("Cannot write %(file)s: %(error)s") % {"file": path, "error": error.strerror}
                ) from None
            self.stdout.write(
                _("Wrote the statistics of %(campaign)s to %(file)s: %(count)s applications.")
                % {"campaign": found.name, "file": path, "count": figures["all"].count}
            )
