from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from relief import backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive made by manage.py backup: the database and the media "
        "files are replaced by the archive's. The archive is checked completely first "
        "(checksums, database kind, migrations, paths); a bad one changes nothing. "
        "Stop the web application and the worker first. See docs/backup.md."
    )
    # Tests hand in a terminal of their own.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="A relief-<time>.tar archive.")
        parser.add_argument(
            "--yes", action="store_true", help="Restore without asking for confirmation."
        )
        parser.add_argument(
            "--check", action="store_true", help="Only verify the archive; change nothing."
        )

    def handle(self, *args: Any, archive: Path, yes: bool, check: bool, **options: Any) -> None:
        stdin: IO[str] = options.get("stdin") or sys.stdin
        with (
            translation.override(settings.LANGUAGE_CODE),
            tempfile.TemporaryDirectory(prefix="relief-restore-") as work,
        ):
            try:
                verified = backup.verify_archive(archive, Path(work))
            except backup.BackupError as error:
                raise CommandError(str(error)) from None
            self._describe(verified)
            if check:
                self.stdout.write(_("The archive is sound; nothing was changed."))
                return
            if not yes:
                self._confirm(stdin)
            try:
                counts = backup.restore(verified)
            except backup.BackupError as error:
                raise CommandError(str(error)) from None
            self._report(verified, counts)

    def _describe(self, verified: backup.Verified) -> None:
        manifest = verified.manifest
        described = ngettext(
            "%(file)s, made %(when)s: %(vendor)s database, %(files)d media file; "
            "every checksum matches.",
            "%(file)s, made %(when)s: %(vendor)s database, %(files)d media files; "
            "every checksum matches.",
            verified.media_files,
        )
        self.stdout.write(
            described
            % {
                "file": verified.archive,
                "when": manifest.get("created_at"),
                "vendor": backup.VENDOR_NAMES[manifest["vendor"]],
                "files": verified.media_files,
            }
        )
        if verified.other_sessions:
            warning = ngettext(
                "%(count)d other session is connected to this database: the restore "
                "waits for its locks. Stop the web application and the worker first.",
                "%(count)d other sessions are connected to this database: the restore "
                "waits for their locks. Stop the web application and the worker first.",
                verified.other_sessions,
            )
            self.stderr.write(warning % {"count": verified.other_sessions})

    def _confirm(self, stdin: IO[str]) -> None:
        if not (hasattr(stdin, "isatty") and stdin.isatty()):
            raise CommandError(
                _(
                    "Not at a terminal: run with --yes to restore without being asked. "
                    "Nothing was changed."
                )
            )
        self.stdout.write(
            _(
                "This replaces the database %(database)s and the media folder %(media)s "
                "with the archive's. Type yes to go on: "
            )
            % {"database": connection.settings_dict["NAME"], "media": settings.MEDIA_ROOT},
            ending="",
        )
        self.stdout.flush()
        if stdin.readline().strip().lower() != "yes":
            raise CommandError(_("Nothing was changed."))

    def _report(self, verified: backup.Verified, counts: dict[str, int]) -> None:
        expected = verified.manifest.get("counts")
        expected = expected if isinstance(expected, dict) else {}
        restored = ngettext(
            "Restored the database and %(files)d media file.",
            "Restored the database and %(files)d media files.",
            verified.media_files,
        )
        self.stdout.write(restored % {"files": verified.media_files})
        self.stdout.write(_("Rows per table, now / in the archive:"))
        differ = []
        for label, count in counts.items():
            archived = expected.get(label)
            self.stdout.write(f"  {label}: {count} / {archived}")
            if archived != count:
                differ.append(label)
        if verified.migrate_needed:
            self.stdout.write(
                _("The archive predates this code's migrations: run manage.py migrate now.")
            )
        if differ:
            raise CommandError(
                _("Row counts differ from the archive's in: %(tables)s.")
                % {"tables": ", ".join(differ)}
            )
