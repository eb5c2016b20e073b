from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from relief import area_import
from relief.models import User


class Command(BaseCommand):
    help = (
        "Load areas from a code table (.csv or .xlsx with the columns 统计用区划代码 and 名称). "
        "All rows or none: a file with any bad row imports nothing and exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )

    def handle(self, *args: Any, file: Path, dry_run: bool, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            self._import(file, dry_run)

    def _import(self, file: Path, dry_run: bool) -> None:
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        # The command line is IT staff's tool: it acts as the system, unscoped.
        system = User(username="manage.py", is_superuser=True, is_active=True)
        try:
            with file.open("rb") as stream:
                rows = area_import.read_rows(stream, file.name)
        except area_import.AreaFileError as error:
            raise CommandError(str(error)) from None
        plan = area_import.plan(system, rows)
        for line, message in plan.errors:
            self.stderr.write(_("Row %(line)d: %(message)s") % {"line": line, "message": message})
        summary = _(
            "Imported: %(created)d added, %(renamed)d renamed, %(unchanged)d unchanged."
        ) % {
            "created": len(plan.create),
            "renamed": len(plan.rename),
            "unchanged": plan.unchanged,
        }
        if not plan.ok:
            self.stderr.write(
                _("Nothing has been imported. Correct these rows and upload the file again.")
            )
            sys.exit(1)
        if dry_run:
            self.stdout.write(_("Dry run, nothing written.") + " " + summary)
            return
        area_import.apply(system, plan, source=str(file))
        self.stdout.write(summary)
