from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from recipients.models import Household
from relief import demo
from relief.choices import AreaLevel, Role
from relief.text import pad


class Command(BaseCommand):
    help = (
        "Load the demo county (2 townships, 6 villages), one account per role per area and "
        "about 500 households. Safe to run again: it adds no second copy, and resets the "
        "demo accounts' passwords to DEMO_PASSWORD."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--households",
            type=int,
            default=500,
            help="How many households the demo villages should hold in all (default 500).",
        )

    def handle(self, *args: Any, households: int, **options: Any) -> None:
        # Account names and printed labels in the interface's default language.
        with translation.override(settings.LANGUAGE_CODE):
            self._seed(households)

    def _seed(self, households: int) -> None:
        areas = demo.ensure_areas()
        villages = [a for a in areas if a.level == AreaLevel.VILLAGE]
        accounts = demo.ensure_accounts()
        have = Household.objects.filter(village__in=villages).count()
        if have < households:
            persons = demo.generate_households(villages, households - have)
            self.stdout.write(f"Added {households - have} households with {persons} members.")
        else:
            self.stdout.write(f"The demo villages already hold {have} households.")
        from campaigns.demo import ensure_campaigns

        campaigns = ensure_campaigns()
        self.stdout.write(f"Demo campaigns: {', '.join(c.name for c in campaigns)}.")
        from applications.demo import ensure_applications
        from relief.models import User

        running = ensure_applications(User.objects.get(username=demo.SUPERUSER))
        from disbursements.demo import ensure_payments

        paid = ensure_payments(running)
        if running is not None:
            self.stdout.write(
                f"Open campaign with applications at every stage: {running.name} "
                f"({running.applications.count()} applications)."
            )
        if paid:
            self.stdout.write(f"Payments in every state: {paid} payment records.")
        from disbursements import signing

        try:
            key = signing.active_key()
        except signing.SigningError:
            # The demo office signs its ledgers too; production makes its key
            # with `manage.py ledger_key create` (docs/ledger-signing.md).
            key = signing.create_key()
            self.stdout.write(f"Ledger signing key {key.key_id} in {settings.LEDGER_KEY_DIR}.")
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password: {settings.DEMO_PASSWORD}):")
        width = max(len(a.username) for a in accounts)
        for account in accounts:
            role = pad(str(Role(account.role).label), 20)
            area = f"{account.area.name} ({account.area.code})"
            self.stdout.write(f"  {account.username:<{width}}  {role} {area}")
        self.stdout.write(f"  {demo.SUPERUSER:<{width}}  {pad('superuser', 20)} /admin/")
