"""The payment sheet (慰问金发放表, domain.md §4 step 7 and §6): one village's
approved applications, printed for the recipients to sign in person and the
cadre who hands over the money to countersign.

It stays in the office and goes to the finance office for booking, so unlike
the public notice it prints the full ID number: the cadre checks it against
the card of whoever signs.

Each printed page is signed and booked on its own, so each carries its own
subtotal (本页小计) in figures and capitals, and the last one the total (合计).
WeasyPrint cannot sum what lands on a page, so the pages are cut here, a fixed
number of rows each, and each is a table of its own that fits one A4 page
(landscape) with a signature box tall enough to sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.utils.translation import gettext as _

from applications.choices import State
from applications.models import Application
from campaigns.models import Campaign
from documents.pdf import DocumentError, render_pdf
from relief.models import Area
from relief.money import in_capitals, yuan

# Rows on one page: with the title, the header, the page's subtotal, the
# grand total and the signature line of the last page, ten rows of 12 mm fit
# A4 landscape (tests/documents/test_payment_sheet.py checks that the PDF has
# exactly as many pages as are cut here, with a full last page).
ROWS_PER_PAGE = 10


@dataclass(frozen=True)
class PaymentRow:
    position: int  # 序号, running through all pages
    name: str  # the head of household, who signs
    id_number: str
    category: str
    fund_source: str
    amount: Decimal
    number: str  # the application's

    @property
    def amount_text(self) -> str:
        return yuan(self.amount)

    @property
    def capitals(self) -> str:
        return in_capitals(self.amount)


@dataclass(frozen=True)
class SheetPage:
    number: int
    rows: list[PaymentRow]

    @property
    def subtotal(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal(0))

    @property
    def subtotal_text(self) -> str:
        return yuan(self.subtotal)

    @property
    def subtotal_capitals(self) -> str:
        return in_capitals(self.subtotal)


def payment_rows(campaign: Campaign, village: Area) -> list[PaymentRow]:
    """The village's approved applications in the campaign, by application
    number; one query."""
    found = (
        Application.objects.filter(campaign=campaign, village=village, state=State.APPROVED)
        .with_head()
        .order_by("number")
        .values_list(
            "number",
            F("head__name"),
            F("head__id_number"),
            "category__name",
            "fund_source__name",
            "amount",
        )
    )
    return [
        PaymentRow(
            position=position,
            name=name or "—",
            id_number=id_number or "—",
            category=category,
            fund_source=source or "—",
            amount=amount or Decimal(0),
            number=number,
        )
        for position, (number, name, id_number, category, source, amount) in enumerate(
            found, start=1
        )
    ]


def paginate(rows: list[PaymentRow], per_page: int = ROWS_PER_PAGE) -> list[SheetPage]:
    """The rows cut into printed pages of `per_page` rows."""
    return [
        SheetPage(number=n, rows=rows[start : start + per_page])
        for n, start in enumerate(range(0, len(rows), per_page), start=1)
    ]


def render_payment_sheet(campaign: Campaign, village: Area) -> bytes:
    """The village's payment sheet as a PDF; DocumentError when the campaign
    has no approved application there."""
    rows = payment_rows(campaign, village)
    if not rows:
        raise DocumentError(
            _("%(campaign)s has no approved application in %(village)s.")
            % {"campaign": campaign.name, "village": village.name}
        )
    total = sum((r.amount for r in rows), Decimal(0))
    return render_pdf(
        "documents/payment_sheet.html",
        {
            "campaign": campaign,
            "village": village,
            "township": village.parent,
            "pages": paginate(rows),
            "count": len(rows),
            "total": yuan(total),
            "total_capitals": in_capitals(total),
        },
    )
