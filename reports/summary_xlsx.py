"""The campaign summary as a workbook (reports.summary.write_summary_xlsx):
one sheet per section of the PDF, each table with a total row of SUM
formulas over its lines, the overview reading the village sheet's totals and
the objections' counts COUNTIFs over their list, so a spreadsheet
recalculates every total from the lines it shows. Print set-up as the ledger's
(documents.ledger.prepare): A4, title rows repeated, page numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.utils import get_column_letter, quote_sheetname

from applications.choices import ObjectionStatus
from campaigns.calculation import money
from documents.ledger import (
    TITLE_ROWS,
    Cells,
    Destination,
    column_sum,
    count_if,
    no_fund_source,
    prepare,
    write_title,
)
from relief.money import in_capitals
from reports.summary import FailedItem, LateItem, Summary, UnreachedItem

FIRST_ROW = TITLE_ROWS + 2  # a sheet's first line, after the title rows and the header


Column = tuple[str, int, str]  # header, width, kind: text, count (summed), number, money, date


def write_workbook(summary: Summary, out: Destination) -> None:
    """The summary as a workbook, one sheet per section; each table's total
    row is a SUM over its lines, and the overview reads those totals, so a
    spreadsheet recalculates every total from the lines it shows."""
    book = Workbook(write_only=True)
    names = _SheetNames()
    totals: dict[str, str] = {}  # figure -> the cell of its total, for the overview

    villages = _village_table(summary)
    categories = _category_table(summary)
    sources = _source_table(summary)
    lists = [
        (pgettext("sheet", "Failed payments"), _failed_table(summary.failed)),
        (pgettext("sheet", "Handed over late"), _late_table(summary.late)),
        (pgettext("sheet", "Not reached"), _unreached_table(summary.not_reached)),
    ]
    village_sheet = names(pgettext("sheet", "By village"))
    total_row = FIRST_ROW + len(villages[1])
    for key, col in (
        ("approved_count", 2),
        ("approved_amount", 3),
        ("reached_count", 4),
        ("signed_amount", 5),
        ("handed_over_amount", 6),
        ("pending_amount", 7),
        ("returned_amount", 8),
        ("corrections_amount", 9),
    ):
        totals[key] = f"{quote_sheetname(village_sheet)}!{get_column_letter(col)}{total_row}"

    _write_overview(book, names(pgettext("sheet", "Overview")), summary, totals)
    _write_three(book, names(pgettext("sheet", "三个一")), summary)
    _write_table(book, village_sheet, summary, *villages, landscape=True)
    _write_table(book, names(pgettext("sheet", "By category")), summary, *categories)
    _write_table(book, names(pgettext("sheet", "Fund use")), summary, *sources)
    for title, table in lists:
        _write_table(book, names(title), summary, *table, landscape=True)
    notices = _notice_table(summary)
    _write_table(book, names(pgettext("sheet", "Public notices")), summary, *notices, total=False)
    _write_objections(book, names(pgettext("sheet", "Objections")), summary)
    book.save(out)


class _SheetNames:
    """Sheet titles as Excel takes them: at most 31 characters, none of []:*?/\\."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, title: str) -> str:
        clean = "".join(" " if c in "[]:*?/\\" else c for c in title)[:31].strip() or "Sheet"
        name, n = clean, 2
        while name.lower() in self.used:
            name = f"{clean[:28]} {n}"
            n += 1
        self.used.add(name.lower())
        return name


Table = tuple[list[Column], list[list[Any]], dict[int, str]]  # columns, lines, totals by column


def _village_table(summary: Summary) -> Table:
    columns: list[Column] = [
        (pgettext("ledger", "Village"), 14, "text"),
        (_("Approved households"), 10, "count"),
        (_("Approved amount"), 14, "money"),
        (_("Households reached"), 10, "count"),
        (_("Signed for"), 14, "money"),
        (_("Handed over, no receipt"), 14, "money"),
        (_("Not yet signed for"), 14, "money"),
        (_("Failed, returned"), 12, "money"),
        (_("Corrections"), 12, "money"),
        (_("Handed over late"), 10, "count"),
        (_("Overdue"), 10, "count"),
        (_("Balances"), 10, "text"),
    ]
    lines = [
        [
            line.village,
            line.approved_count,
            money(line.approved_amount),
            line.reached_count,
            money(line.signed_amount),
            money(line.handed_over_amount),
            money(line.pending_amount),
            money(line.failed_amount),
            money(line.corrections_amount),
            line.late_count,
            line.overdue_count,
            _yes_no(line.balanced),
        ]
        for line in summary.villages
    ]
    return columns, lines, {11: _yes_no(summary.headline.balanced)}


def _category_table(summary: Summary) -> Table:
    columns: list[Column] = [
        (_("Category"), 18, "text"),
        (_("Planned households"), 12, "count"),
        (_("In progress"), 12, "count"),
        (_("Approved households"), 12, "count"),
        (_("Approved amount"), 16, "money"),
    ]
    lines = [
        [c.name, c.planned_count, c.in_progress, c.approved.count, c.approved.amount]
        for c in summary.categories
    ]
    return columns, lines, {}


def _source_table(summary: Summary) -> Table:
    columns: list[Column] = [
        (_("Fund source"), 18, "text"),
        (_("Budget"), 14, "money"),
        (_("Approved amount"), 14, "money"),
        (_("Signed for"), 14, "money"),
        (_("Failed, returned"), 14, "money"),
        (_("Budget left"), 14, "money"),
    ]
    lines = [
        [s.name or no_fund_source(), s.budget, s.approved, s.signed, s.failed, s.remaining]
        for s in summary.sources
    ]
    if not summary.whole:
        # Budgets are the whole campaign's: a part of it has none to compare with.
        columns = [columns[0], *columns[2:5]]
        lines = [[line[0], *line[2:5]] for line in lines]
    return columns, lines, {}


def _failed_table(items: list[FailedItem]) -> Table:
    columns: list[Column] = [
        (_("Payment number"), 20, "text"),
        (pgettext("ledger", "Application number"), 16, "text"),
        (pgettext("ledger", "Village"), 12, "text"),
        (_("Recipient"), 10, "text"),
        (_("Amount"), 12, "money"),
        (_("Reason"), 14, "text"),
        (_("Note"), 30, "text"),
        (_("Failed on"), 11, "date"),
    ]
    lines = [
        [i.payment, i.application, i.village, i.recipient, i.amount, i.reason, i.note, i.failed_on]
        for i in items
    ]
    return columns, lines, {}


def _late_table(items: list[LateItem]) -> Table:
    columns: list[Column] = [
        (_("Payment number"), 20, "text"),
        (pgettext("ledger", "Application number"), 16, "text"),
        (pgettext("ledger", "Village"), 12, "text"),
        (_("Recipient"), 10, "text"),
        (_("Amount"), 12, "money"),
        (_("Handed over on"), 12, "date"),
        (_("Due by"), 12, "date"),
    ]
    lines = [
        [i.payment, i.application, i.village, i.recipient, i.amount, i.handed_over_on, i.due_on]
        for i in items
    ]
    return columns, lines, {}


def _unreached_table(items: list[UnreachedItem]) -> Table:
    columns: list[Column] = [
        (pgettext("ledger", "Application number"), 16, "text"),
        (pgettext("ledger", "Village"), 12, "text"),
        (_("Head of household"), 10, "text"),
        (_("Category"), 16, "text"),
        (_("Amount"), 12, "money"),
        (_("Why"), 24, "text"),
    ]
    lines = [[i.application, i.village, i.name, i.category, i.amount, i.status] for i in items]
    return columns, lines, {}


def _notice_table(summary: Summary) -> Table:
    columns: list[Column] = [
        (_("Area"), 14, "text"),
        (_("Starts on"), 12, "date"),
        (_("Ends on"), 12, "date"),
        (_("Days"), 8, "number"),
        (_("Posted at"), 20, "text"),
        (_("Contact for objections"), 30, "text"),
    ]
    lines = [[n.area, n.starts_on, n.ends_on, n.days, n.place, n.contact] for n in summary.notices]
    return columns, lines, {}


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _sheet(book: Workbook, title: str, summary: Summary, widths: list[int], **kw: Any) -> Cells:
    ws = book.create_sheet(title)
    cells = Cells(ws)
    prepare(ws, widths, title_rows=TITLE_ROWS, landscape=kw.get("landscape", False))
    ws.freeze_panes = f"A{FIRST_ROW}"
    write_title(ws, cells, summary.campaign, title, len(widths), _covered(summary))
    return cells


def _covered(summary: Summary) -> str:
    return _("Area covered: %(area)s. As of %(day)s.") % {
        "area": summary.area.name,
        "day": summary.today.isoformat(),
    }


def _value(cells: Cells, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "money":
        return cells.money(value)
    if kind == "date":
        return Cell(cells.ws, row=1, column=1, value=value, style_array=cells.date_style)
    if kind == "text":
        return cells.text(str(value))
    return value


def _write_table(
    book: Workbook,
    title: str,
    summary: Summary,
    columns: list[Column],
    lines: list[list[Any]],
    fixed: dict[int, str],
    *,
    landscape: bool = False,
    total: bool = True,
) -> None:
    """Columns and lines, and a total row: a SUM of each count and money
    column; `fixed` gives the total row's text in other columns (by index)."""
    cells = _sheet(book, title, summary, [w for _h, w, _k in columns], landscape=landscape)
    ws = cells.ws
    ws.append(cells.headers(h for h, _w, _k in columns))
    for line in lines:
        ws.append([_value(cells, kind, v) for (_h, _w, kind), v in zip(columns, line, strict=True)])
    if not total:
        return
    last = FIRST_ROW + len(lines) - 1
    row: list[Any] = [cells.total_label(_("Total"))]
    for col, (_h, _w, kind) in enumerate(columns[1:], start=2):
        if kind in ("count", "money"):
            row.append(cells.total(column_sum(col, FIRST_ROW, last), money=kind == "money"))
        else:
            row.append(cells.total_label(fixed.get(col - 1, "")))
    ws.append(row)


def _write_overview(book: Workbook, title: str, summary: Summary, totals: dict[str, str]) -> None:
    """The headline figures; the money and households read the village
    sheet's totals (formulas), so they recalculate with it."""
    cells = _sheet(book, title, summary, [30, 18, 48])
    ws = cells.ws
    headline = summary.headline
    ws.append(cells.headers([_("Figure"), _("Value"), _("Amount in capitals")]))

    def ref(key: str) -> str:
        return f"={totals[key]}"

    rows: list[tuple[str, Any, str, Decimal | None]] = [
        (_("Applications"), headline.applications, "count", None),
        (_("Approved households"), ref("approved_count"), "count", None),
        (_("Approved amount"), ref("approved_amount"), "money", headline.approved_amount),
        (_("Signed for"), ref("signed_amount"), "money", headline.signed_amount),
        (_("Failed, returned"), ref("returned_amount"), "money", headline.returned_amount),
        (_("Handed over, no receipt"), ref("handed_over_amount"), "money", None),
        (_("Not yet signed for"), ref("pending_amount"), "money", None),
        (_("Corrections"), ref("corrections_amount"), "money", None),
        (_("Households reached"), ref("reached_count"), "count", None),
        (_("Households reached (%)"), headline.reached_percent, "count", None),
        (_("Balances to the cent"), _yes_no(headline.balanced), "text", None),
    ]
    for label, value, kind, amount in rows:
        words = in_capitals(amount) if amount is not None and amount >= 0 else ""
        ws.append([cells.text(label), _value(cells, kind, value), cells.text(words)])


def _write_three(book: Workbook, title: str, summary: Summary) -> None:
    cells = _sheet(book, title, summary, [28, 14, 70])
    ws = cells.ws
    ws.append(cells.headers([_("三个一"), _("Verdict"), _("Details")]))
    for verdict in summary.three:
        ws.append([cells.text(verdict.title), cells.text(verdict.status), cells.text(verdict.text)])


def _write_objections(book: Workbook, title: str, summary: Summary) -> None:
    """The objections, and their counts by status as COUNTIF formulas over the list."""
    cells = _sheet(book, title, summary, [12, 16, 12, 10, 60], landscape=True)
    ws = cells.ws
    ws.append(
        cells.headers(
            [
                _("Received on"),
                pgettext("ledger", "Application number"),
                pgettext("ledger", "Village"),
                _("Status"),
                _("Finding"),
            ]
        )
    )
    lines = summary.objections.lines
    for line in lines:
        ws.append(
            [
                _value(cells, "date", line.received_on),
                cells.text(line.application),
                cells.text(line.village),
                cells.text(line.status_label),
                cells.text(line.finding),
            ]
        )
    last = FIRST_ROW + len(lines) - 1
    statuses = f"$D${FIRST_ROW}:$D${max(last, FIRST_ROW)}"
    received = f"=ROWS(A{FIRST_ROW}:A{last})" if lines else 0
    ws.append([cells.total_label(_("Objections received")), cells.total(received)])
    for status in (ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED, ObjectionStatus.OPEN):
        label = str(status.label)
        key = '"' + label.replace('"', '""') + '"'
        formula = count_if(statuses, key, label) if lines else 0
        ws.append([cells.total_label(label), cells.total(formula)])
