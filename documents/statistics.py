"""类别统计表 / 一览表 (domain.md §4 step 8, §6): a campaign's counts and sums
by category and village, by fund source and by state, as an .xlsx workbook.

The figures come from one aggregate query per table; the totals in the sheets
are SUM formulas over the figures, so a spreadsheet recalculates them. The
tables of aid (category × village, fund source) count the approved
applications; the table by state counts every application of the campaign.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from applications.choices import State
from applications.models import Application
from campaigns.calculation import money
from campaigns.models import Campaign
from documents.ledger import (
    TITLE_ROWS,
    ZERO,
    Cells,
    Destination,
    Sheet,
    Titled,
    column_sum,
    ledger_labels,
    no_fund_source,
    prepare,
    write_title,
)

FIRST_ROW = TITLE_ROWS + 2  # after the title rows and the header row


class Figure(NamedTuple):
    count: int
    amount: Decimal


def write_statistics(campaign: Campaign, out: Destination) -> dict[str, Any]:
    """Write the campaign's statistics to `out` (a path or a binary file) in
    the active language. Returns the figures written, keyed by the labels the
    sheets show (states by their value), each a Figure(count, amount):

    - "by_category_village": {(category, village): Figure}, approved only;
    - "by_category", "by_village", "by_fund_source": approved only;
    - "approved": Figure; "by_state": {state: Figure}; "all": Figure.
    """
    approved = Application.objects.filter(campaign=campaign, state=State.APPROVED)
    labels = ledger_labels(campaign)
    villages, category_names = labels.villages, labels.categories
    # Every fund source, in its order, even one nothing was approved from yet.
    source_lines = {pk: label for pk, label in labels.sources.items() if pk is not None}

    matrix = {
        (category_names[category], villages[village]): figure
        for category, village, figure in _aggregate(approved, "category", "village")
    }
    by_source_id = dict(_aggregate(approved, "fund_source"))
    if None in by_source_id:
        source_lines[None] = (no_fund_source(), "")
    by_source = {
        name: by_source_id.get(pk, Figure(0, ZERO)) for pk, (name, _p) in source_lines.items()
    }
    by_state = dict(_aggregate(Application.objects.filter(campaign=campaign), "state"))

    shown = {village for _category, village in matrix}
    village_names = [name for name in villages.values() if name in shown]  # area-code order
    result: dict[str, Any] = {
        "by_category_village": matrix,
        "by_category": _totals_by(matrix, 0),
        "by_village": _totals_by(matrix, 1),
        "by_fund_source": by_source,
        "approved": _sum(matrix.values()),
        "by_state": by_state,
        "all": _sum(by_state.values()),
    }

    village_lines = [
        [matrix.get((category, village), Figure(0, ZERO)) for category in category_names.values()]
        for village in village_names
    ]
    book = Workbook(write_only=True)
    scope_approved = pgettext("statistics", "Approved applications.")
    for title, amounts in (
        (pgettext("sheet", "Households by category"), False),
        (pgettext("sheet", "Amounts by category"), True),
    ):
        write_matrix(
            book.create_sheet(title),
            campaign,
            str(pgettext("ledger", "Village")),
            list(category_names.values()),
            village_names,
            village_lines,
            amounts=amounts,
            note=scope_approved,
        )
    write_table(
        book.create_sheet(_("By fund source")),
        campaign,
        [(_("Fund source"), 18), (pgettext("ledger", "Payer"), 30)],
        [((name, payer), by_source[name]) for name, payer in source_lines.values()],
        note=scope_approved,
    )
    write_table(
        book.create_sheet(pgettext("sheet", "By state")),
        campaign,
        [(_("State"), 22)],
        [
            ((str(State(state).label),), by_state[state])
            for state in State.values
            if state in by_state
        ],
        note=pgettext("statistics", "All applications."),
    )
    book.save(out)
    return result


def _aggregate(applications: QuerySet[Application], *keys: str) -> list[tuple[Any, ...]]:
    """(key values..., Figure) per group: one query."""
    rows = (
        applications.values_list(*keys).annotate(count=Count("pk"), amount=Sum("amount")).order_by()
    )
    # A database sum (in floating point on SQLite) back to exact cents.
    return [(*row[:-2], Figure(row[-2], money(row[-1] or ZERO))) for row in rows]


def _sum(figures: Any) -> Figure:
    count, amount = 0, ZERO
    for figure in figures:
        count += figure.count
        amount += figure.amount
    return Figure(count, amount)


def _totals_by(matrix: dict[tuple[str, str], Figure], index: int) -> dict[str, Figure]:
    groups: dict[str, list[Figure]] = {}
    for key, figure in matrix.items():
        groups.setdefault(key[index], []).append(figure)
    return {key: _sum(figures) for key, figures in groups.items()}


def write_matrix(
    ws: Sheet,
    head: Titled,
    place_header: str,
    categories: Sequence[str],
    places: Sequence[str],
    lines: Sequence[Sequence[Figure]],
    *,
    amounts: bool,
    note: str,
) -> None:
    """Places down (a county has hundreds of villages and a campaign a
    handful of categories), categories across, a total column and a total
    row; `lines` holds each place's figures in the categories' order."""
    cells = Cells(ws)
    width = len(categories) + 2
    prepare(ws, [16, *([14] * len(categories)), 15], title_rows=TITLE_ROWS)
    ws.freeze_panes = f"B{FIRST_ROW}"
    write_title(ws, cells, head, ws.title, width, note)
    ws.append(cells.headers([place_header, *categories, _("Total")]))
    last_category = get_column_letter(len(categories) + 1)
    for row, (place, figures) in enumerate(zip(places, lines, strict=True), start=FIRST_ROW):
        row_sum = f"=SUM(B{row}:{last_category}{row})" if categories else 0
        if amounts:
            values = [cells.money(f.amount) for f in figures] + [cells.money(row_sum)]
        else:
            values = [f.count for f in figures] + [row_sum]
        ws.append([cells.text(place), *values])
    last = FIRST_ROW + len(places) - 1
    ws.append(
        [
            cells.total_label(_("Total")),
            *(
                cells.total(column_sum(col, FIRST_ROW, last), money=amounts)
                for col in range(2, width + 1)
            ),
        ]
    )


def write_table(
    ws: Sheet,
    campaign: Titled,
    key_headers: Sequence[tuple[str, int]],
    lines: Sequence[tuple[tuple[str, ...], Figure]],
    *,
    note: str,
) -> None:
    """Key columns, count and amount per line, and a total row."""
    cells = Cells(ws)
    headers = [*key_headers, (pgettext("statistics", "Households"), 10), (_("Amount"), 16)]
    prepare(ws, [w for _h, w in headers], title_rows=TITLE_ROWS, landscape=False)
    ws.freeze_panes = f"A{FIRST_ROW}"
    write_title(ws, cells, campaign, ws.title, len(headers), note)
    ws.append(cells.headers(h for h, _w in headers))
    for keys, figure in lines:
        ws.append([*(cells.text(k) for k in keys), figure.count, cells.money(figure.amount)])
    last = FIRST_ROW + len(lines) - 1
    count_col = len(key_headers) + 1
    ws.append(
        [
            cells.total_label(_("Total")),
            *(cells.total_label("") for _h in key_headers[1:]),
            cells.total(column_sum(count_col, FIRST_ROW, last)),
            cells.total(column_sum(count_col + 1, FIRST_ROW, last), money=True),
        ]
    )
