from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from applications.roster import read, report, services
from applications.roster.models import RosterStatus
from applications.workflow import WorkflowError
from campaigns.commands import find_campaign
from relief.models import User
from relief.text import table


class Command(BaseCommand):
    help = (
        "Import a roster (.xlsx, .xls, .csv) of households and applications into a campaign, "
        "through the same checks as the import screen. Exit status 1 when rows were refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and print the preview; import nothing."
        )
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="Import the valid rows even when others are refused.",
        )
        parser.add_argument(
            "--user",
            help="The account the import is recorded under and whose area it is checked "
            "against (default: the only superuser).",
        )
        parser.add_argument("--report", type=Path, help="Write the result sheet (.xlsx) here.")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            refused = self._run(**options)
        if refused:
            raise SystemExit(1)

    def _user(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("No active account %(name)s.") % {"name": username})
            return user
        admins = list(User.objects.filter(is_superuser=True, is_active=True)[:2])
        if len(admins) != 1:
            raise CommandError(_("Name the account the import is recorded under: --user NAME."))
        return admins[0]

    def _run(
        self, *, campaign: str, file: Path, dry_run: bool, valid_only: bool, **options: Any
    ) -> int:
        found = find_campaign(campaign)
        user = self._user(options.get("user"))
        if not file.is_file():
            raise CommandError(_("No file %(path)s.") % {"path": file})
        try:
            with file.open("rb") as handle:
                roster = services.upload(user, found, File(handle, name=file.name))
            services.preview(user, roster)
        except WorkflowError as error:
            raise CommandError(error.message) from error
        roster.refresh_from_db()
        if roster.status == RosterStatus.FAILED:
            raise CommandError(roster.error)
        counts = roster.preview["counts"]
        self._print_preview(roster.preview)
        if not dry_run:
            try:
                result = services.carry_out(user, roster, valid_only=valid_only)
            except WorkflowError as error:
                self.stderr.write(error.message)
                self._write_report(roster, options.get("report"))
                return counts["refused"] or 1
            self.stdout.write(
                _("Imported %(n)d applications (%(first)s – %(last)s); %(h)d new households.")
                % {
                    "n": result["applications"],
                    "first": result["first"],
                    "last": result["last"],
                    "h": result["households"],
                }
            )
            roster.refresh_from_db()
        self._write_report(roster, options.get("report"))
        return counts["refused"]

    def _print_preview(self, preview: dict[str, Any]) -> None:
        c = preview["counts"]
        self.stdout.write(
            _(
                "%(rows)d rows: %(new)d new households, %(existing)d households on file "
                "(%(update)d phone numbers updated), %(refused)d refused."
            )
            % c
        )
        refused = [line for line in preview["lines"] if line["problems"]]
        if refused:
            rows = [[_("Row"), _("Column"), _("Reason")]]
            for line in refused:
                for column, message in line["problems"]:
                    rows.append([str(line["row"]), column, message])
            for text in table(rows, right={0}):
                self.stdout.write(text)

    def _write_report(self, roster: Any, path: Path | None) -> None:
        if path is None:
            return
        with roster.file.open("rb") as handle:
            sheet = read.read(handle, roster.file_name)
        path.write_bytes(report.report(sheet, roster.preview, roster.result))
        self.stdout.write(_("Result sheet: %(path)s") % {"path": path})
