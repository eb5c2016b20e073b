from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disbursements import signing
from disbursements.models import SigningKey


class Command(BaseCommand):
    help = (
        "The office's Ed25519 keys that sign exported ledgers (docs/ledger-signing.md). "
        "create: a new key (private key to LEDGER_KEY_DIR, public key on record); "
        "rotate: retire the active key and create a new one (old ledgers still verify); "
        "list: every key on record; show [KEY_ID]: a public key (PEM), the active one by default."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "rotate", "list", "show"])
        parser.add_argument("key_id", nargs="?", help="show: the key to show.")

    def handle(self, *args: Any, action: str, key_id: str | None, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            getattr(self, f"_{action}")(key_id)

    def _create(self, key_id: str | None) -> None:
        if SigningKey.objects.filter(retired_at=None).exists():
            # A second active key would sign beside the first: that is rotation.
            raise CommandError(
                _("A signing key is active already: use manage.py ledger_key rotate to replace it.")
            )
        self._report(signing.create_key(), _("Created signing key %(key)s."))

    def _rotate(self, key_id: str | None) -> None:
        self._report(
            signing.rotate_key(),
            _("Created signing key %(key)s; the keys before it are retired."),
        )

    def _report(self, key: SigningKey, message: str) -> None:
        self.stdout.write(message % {"key": key.key_id})
        self.stdout.write(
            _("Private key: %(file)s (back it up; it never leaves this server).")
            % {"file": signing.private_key_path(key.key_id)}
        )
        self.stdout.write(_("Public key, for the auditors:"))
        self.stdout.write(key.public_key.strip())

    def _list(self, key_id: str | None) -> None:
        keys = list(SigningKey.objects.order_by("created_at", "id"))
        if not keys:
            self.stdout.write(_("No signing key: run manage.py ledger_key create."))
            return
        for key in keys:
            retired = (
                _("retired %(time)s")
                % {"time": timezone.localtime(key.retired_at).strftime("%Y-%m-%d %H:%M")}
                if key.retired_at
                else _("active")
            )
            here = (
                _("private key here")
                if signing.private_key_path(key.key_id).is_file()
                else _("no private key here")
            )
            created = timezone.localtime(key.created_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"{key.key_id}  {created}  {retired}  {here}")

    def _show(self, key_id: str | None) -> None:
        if key_id:
            key = SigningKey.objects.filter(key_id=key_id).first()
            if key is None:
                raise CommandError(_("No signing key %(key)s.") % {"key": key_id})
        else:
            try:
                key = signing.active_key()
            except signing.SigningError as error:
                raise CommandError(str(error)) from None
        self.stdout.write(key.public_key.strip())
