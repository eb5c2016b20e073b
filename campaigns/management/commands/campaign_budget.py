from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.budget import budget_table
from campaigns.commands import find_campaign
from campaigns.conditions import fmt
from campaigns.models import Campaign
from relief.text import table


class Command(BaseCommand):
    help = "Print a campaign's budget table: category × count × rate = total, per fund source."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="The campaign's number or its exact name.")

    def handle(self, *args: Any, campaign: str, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            self._print(find_campaign(campaign))

    def _print(self, campaign: Campaign) -> None:
        budget = budget_table(campaign)
        self.stdout.write(f"{campaign.name}（{campaign.issuer}，{campaign.year}）")
        rows = [
            [
                _("Category"),
                _("Count"),
                _("Cash"),
                _("Goods"),
                _("Rate"),
                _("Total"),
                _("Fund source"),
            ]
        ]
        for section in budget.sections:
            for row in section.rows:
                rows.append(
                    [
                        row.category.name,
                        "" if row.count is None else str(row.count),
                        "–" if not row.cash else fmt(row.cash),
                        "–" if not row.goods else fmt(row.goods),
                        str(row.rate),
                        "" if row.total is None else str(row.total),
                        str(row.category.fund_source or ""),
                    ]
                )
            if section.name and len(budget.sections) > 1:
                rows.append(
                    [
                        _("Subtotal: %(section)s") % {"section": section.name},
                        "",
                        "",
                        "",
                        "",
                        str(section.total),
                        "",
                    ]
                )
        rows.append([_("Total"), "", "", "", "", str(budget.total), ""])
        for line in table(rows, right={1, 2, 3, 4, 5}):
            self.stdout.write(line)
        if budget.sources:
            self.stdout.write("")
            rows = [[_("Fund source"), _("Payers"), _("Count"), _("Budget"), _("Planned"), ""]]
            for source in budget.sources:
                rows.append(
                    [
                        source.name,
                        source.payers,
                        str(source.count),
                        fmt(source.budget),
                        str(source.planned),
                        _("over budget")
                        if source.over
                        else _("cannot be spent in full")
                        if source.underspent
                        else "",
                    ]
                )
            rows.append([_("Total"), "", "", fmt(budget.budget), "", ""])
            for line in table(rows, right={2, 3, 4}):
                self.stdout.write(line)
