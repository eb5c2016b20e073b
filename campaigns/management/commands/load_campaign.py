from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns import checks, loader
from relief.models import User


class Command(BaseCommand):
    help = (
        "Create a campaign from a YAML or JSON description: phases, deadlines, fund sources, "
        "categories and standards (docs/campaign-format.md). The whole file is checked first; "
        "any error creates nothing and exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            # The command line is IT staff's tool: it acts as the system, unscoped.
            system = User(username="manage.py", is_superuser=True, is_active=True)
            try:
                campaign = loader.load(system, loader.read(file))
            except loader.LoadError as error:
                raise CommandError(f"{file}: {error}") from None
            self.stdout.write(
                _("Created campaign %(id)s: %(name)s (%(categories)s categories).")
                % {
                    "id": campaign.pk,
                    "name": campaign.name,
                    "categories": campaign.categories.count(),
                }
            )
            for finding in checks.findings(campaign):
                self.stdout.write(f"  [{_(finding.severity)}] {finding.message}")
