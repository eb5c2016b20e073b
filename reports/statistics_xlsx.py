"""The filtered statistics and the year-over-year comparison as .xlsx: the
tables the pages show, the filters in the title rows, totals as SUM formulas
so a spreadsheet recalculates them from the lines (documents.ledger's styled
cells and print set-up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from documents.ledger import TITLE_ROWS, Cells, Destination, Sheet, column_sum, prepare, write_title
from documents.statistics import Figure, write_matrix, write_table
from reports.statistics import (
    ComparedLine,
    Comparison,
    Statistics,
    StatisticsFilter,
    area_name,
)

FIRST_ROW = TITLE_ROWS + 2  # after the title rows and the header row


class Heading(NamedTuple):
    """The first two title rows, as write_title reads them off a campaign."""

    issuer: str
    name: str


def heading(flt: StatisticsFilter) -> Any:
    """One campaign's issuer and name; for several or all, the area and the list."""
    if len(flt.campaigns) == 1:
        return flt.campaigns[0]
    names = "、".join(c.name for c in flt.campaigns) or _("All campaigns")
    return Heading(area_name(flt.area), names)


def filters_note(pairs: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{label}: {value}" for label, value in pairs) + "."


def write_statistics_xlsx(stats: Statistics, out: Destination) -> None:
    """The statistics page as a workbook: households and amounts by category ×
    area, by fund source, by state."""
    flt = stats.filter
    title = heading(flt)
    note = filters_note(flt.describe())
    book = Workbook(write_only=True)
    places = [line.place.name for line in stats.lines]
    lines = [line.figures for line in stats.lines]
    for sheet, amounts in (
        (pgettext("sheet", "Households by category"), False),
        (pgettext("sheet", "Amounts by category"), True),
    ):
        write_matrix(
            book.create_sheet(sheet),
            title,
            _("Area"),
            stats.categories,
            places,
            lines,
            amounts=amounts,
            note=note,
        )
    write_table(
        book.create_sheet(_("By fund source")),
        title,
        [(_("Fund source"), 24)],
        [((key,), figure) for key, figure in stats.by_fund_source.items()],
        note=note,
    )
    write_table(
        book.create_sheet(pgettext("sheet", "By state")),
        title,
        [(_("State"), 24)],
        [((key,), figure) for key, figure in stats.state_lines],
        note=f"{note} {pgettext('statistics', 'Every state, the other filters applied.')}",
    )
    book.save(out)


# -- the comparison -----------------------------------------------------------------------


def comparison_headers(comparison: Comparison) -> list[str]:
    """The column headers after the first, as the page and the sheets show them."""
    headers = []
    for campaign in (comparison.previous, comparison.current):
        headers += [
            pgettext("comparison", "%(campaign)s households") % {"campaign": campaign.name},
            pgettext("comparison", "%(campaign)s amount") % {"campaign": campaign.name},
        ]
    return [
        *headers,
        pgettext("comparison", "Change in households"),
        pgettext("comparison", "Change in households (%)"),
        pgettext("comparison", "Change in amount"),
        pgettext("comparison", "Change in amount (%)"),
    ]


def write_comparison_xlsx(comparison: Comparison, out: Destination) -> None:
    """The comparison page as a workbook: by category and by area."""
    note = filters_note(comparison.describe())
    book = Workbook(write_only=True)
    _write_compared(
        book.create_sheet(pgettext("sheet", "Comparison by category")),
        comparison,
        note,
        _("Category"),
        comparison.by_category,
    )
    _write_compared(
        book.create_sheet(pgettext("sheet", "Comparison by area")),
        comparison,
        note,
        _("Area"),
        comparison.by_place,
    )
    book.save(out)


def _write_compared(
    ws: Sheet,
    comparison: Comparison,
    note: str,
    key_header: str,
    lines: Sequence[ComparedLine],
) -> None:
    """Per line each campaign's count and amount (blank where the campaign has
    no such line) and the changes; totals: SUM of each campaign's column, and
    the change of the totals (which counts the lines only one side has)."""
    cells = Cells(ws)
    headers = [key_header, *comparison_headers(comparison)]
    prepare(ws, [18, *([14] * (len(headers) - 1))], title_rows=TITLE_ROWS)
    ws.freeze_panes = f"B{FIRST_ROW}"
    title = Heading(comparison.current.issuer, comparison.current.name)
    write_title(ws, cells, title, ws.title, len(headers), note)
    ws.append(cells.headers(headers))
    for line in lines:
        ws.append(
            [
                cells.text(line.label),
                *_side(cells, line.previous),
                *_side(cells, line.current),
                line.count_change,
                line.count_change_percent,
                None if line.amount_change is None else cells.money(line.amount_change),
                line.amount_change_percent,
            ]
        )
    first, last = FIRST_ROW, FIRST_ROW + len(lines) - 1
    t = last + 1  # the total row
    ws.append(
        [
            cells.total_label(_("Total")),
            *(cells.total(column_sum(col, first, last), money=col % 2 == 1) for col in range(2, 6)),
            cells.total(f"=D{t}-B{t}"),
            cells.total(_percent_formula("B", "D", t)),
            cells.total(f"=E{t}-C{t}", money=True),
            cells.total(_percent_formula("C", "E", t)),
        ]
    )


def _side(cells: Cells, figure: Figure | None) -> list[Any]:
    if figure is None:
        return [None, None]
    return [figure.count, cells.money(figure.amount)]


def _percent_formula(base: str, compared: str, row: int) -> str:
    """The change in % of the base, to 0.1 (half away from zero, as the page
    rounds); blank without a base."""
    b, c = f"{base}{row}", f"{compared}{row}"
    return f'=IF({b}=0,"",ROUND(({c}-{b})/{b}*100,1))'
