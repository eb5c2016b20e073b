from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from relief import backup


class Command(BaseCommand):
    help = (
        "Write one backup archive (database and media files) into the backup folder "
        "(BACKUP_DIR unless --dir), then delete the archives the retention policy drops: "
        "it keeps the newest of each of the last N days, ISO weeks and months. "
        "See docs/backup.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="The backup folder (default: BACKUP_DIR).")
        parser.add_argument("--keep-daily", type=int, default=14, help="Days kept (default 14).")
        parser.add_argument("--keep-weekly", type=int, default=8, help="Weeks kept (default 8).")
        parser.add_argument(
            "--keep-monthly", type=int, default=12, help="Months kept (default 12)."
        )

    def handle(
        self,
        *args: Any,
        dir: Path | None,
        keep_daily: int,
        keep_weekly: int,
        keep_monthly: int,
        **options: Any,
    ) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            if keep_daily < 1 or keep_weekly < 0 or keep_monthly < 0:
                raise CommandError(
                    _("--keep-daily must be 1 or more, --keep-weekly and --keep-monthly 0 or more.")
                )
            directory = Path(dir or settings.BACKUP_DIR)
            try:
                written = backup.create_backup(directory)
            except backup.BackupError as error:
                raise CommandError(str(error)) from None
            self._report(written)
            plan = backup.prune(
                directory, daily=keep_daily, weekly=keep_weekly, monthly=keep_monthly
            )
            for name in plan.prune:
                self.stdout.write(_("Pruned %(file)s") % {"file": directory / name})
            kept = ngettext(
                "%(count)d archive kept in %(dir)s.",
                "%(count)d archives kept in %(dir)s.",
                len(plan.keep),
            )
            self.stdout.write(kept % {"count": len(plan.keep), "dir": directory})

    def _report(self, written: backup.Written) -> None:
        for path in written.removed_partials:
            self.stdout.write(
                _("Removed %(path)s, left by an interrupted backup.") % {"path": path}
            )
        for name in written.skipped_media:
            self.stderr.write(
                _("Skipped media %(name)s: not a plain file or folder.") % {"name": name}
            )
        manifest = written.manifest
        files = manifest["media_files"]
        wrote = ngettext(
            "Wrote %(file)s (%(size)s bytes): %(vendor)s database, %(files)d media file.",
            "Wrote %(file)s (%(size)s bytes): %(vendor)s database, %(files)d media files.",
            files,
        )
        self.stdout.write(
            wrote
            % {
                "file": written.path,
                "size": f"{written.path.stat().st_size:,}",
                "vendor": backup.VENDOR_NAMES[manifest["vendor"]],
                "files": files,
            }
        )
