"""发放台账 (domain.md §6): every payment of a campaign, for finance and auditors.

One .xlsx workbook, streamed with openpyxl's write-only mode so a campaign of
100,000 items is written without holding it in memory:

- 发放台账: one row per item (full ID number: the ledger is not public);
- 按村小计 and 按资金来源小计: count and sums per village and per fund source,
  written as COUNTIF/SUMIF formulas over the items sheet, so a spreadsheet
  recalculates them from the rows an auditor sees (and `write_ledger` returns
  the same figures computed here, to check one against the other);
- 预算表: per fund source, budget, committed, approved and what is left.

An item is a payment record (`disbursements.models.Payment`: an instalment,
a reversal at its negative, a replacement), or an approved application that
has no payment yet, shown as not yet planned. So the ledger's total is what
was approved plus the net of corrections, failed payments included (their
status says so), as the reconciliation counts it. `ledger_rows` is the one
place that decides what an item is.

The title of the items sheet prints the campaign's chain head (the last
event of its payment chain, `disbursements.chain`), read in the same
snapshot as the rows: a signed ledger pins that head (`disbursements.signing`).

The styled-cell helpers at the end are shared with `documents.statistics`.
"""

from __future__ import annotations

import datetime
import itertools
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from applications.choices import COMMITTED, State
from applications.models import Application
from campaigns.budget import BudgetTable, SourceLine, budget_table
from campaigns.calculation import money
from campaigns.models import Campaign, Category, FundSource
from disbursements.chain import GENESIS
from disbursements.choices import FailureReason, Kind, Method, PaymentState
from disbursements.models import ChainHead, Payment
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area

ZERO = Decimal("0.00")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
# Rows fetched per round trip: few enough to keep memory flat, many enough
# that 100,000 items cost 50 fetches (PostgreSQL uses a server-side cursor).
CHUNK_SIZE = 2000
PROGRESS_EVERY = 5000

Destination = str | PathLike[str] | IO[bytes]
Progress = Callable[[int, int], None]
Sheet = WriteOnlyWorksheet


class LedgerRow(NamedTuple):
    """One item of the ledger, in the sheet's column order after 序号."""

    application: str
    household: str
    recipient: str  # the head of household, or whoever collected for them
    id_number: str
    village: str
    category: str
    fund_source: str
    payer: str
    cash: Decimal
    goods: Decimal
    amount: Decimal
    method: str  # 发放方式: cash in hand, bank transfer, goods
    paid_on: datetime.date | None  # handed over on
    paid_by: str  # 发放人: the delivering cadres, or who handed it over
    signed: bool  # signed for by the recipient in person
    payment: str = ""  # the payment record's number; empty when not yet planned
    status: str = ""  # planned, handed over, signed, failed, a reversal...
    booked_on: datetime.date | None = None  # booked by the finance office


# (header, column width, kind of value). The order is LedgerRow's, with 序号 in front.
COLUMNS: list[tuple[Promise, int, str]] = [
    (gettext_lazy("No."), 7, "serial"),
    (pgettext_lazy("ledger", "Application number"), 16, "text"),
    (pgettext_lazy("ledger", "Household number"), 20, "text"),
    (pgettext_lazy("ledger", "Head of household or payee"), 12, "text"),
    (gettext_lazy("ID number"), 21, "text"),
    (pgettext_lazy("ledger", "Village"), 12, "text"),
    (gettext_lazy("Category"), 14, "text"),
    (gettext_lazy("Fund source"), 14, "text"),
    (pgettext_lazy("ledger", "Payer"), 30, "text"),
    (gettext_lazy("Cash"), 12, "money"),
    (pgettext_lazy("ledger", "Goods at cash value"), 12, "money"),
    (gettext_lazy("Amount"), 12, "money"),
    (pgettext_lazy("ledger", "Payment method"), 10, "text"),
    (pgettext_lazy("ledger", "Paid on"), 11, "date"),
    (pgettext_lazy("ledger", "Paid by"), 10, "text"),
    (pgettext_lazy("ledger", "Signed for"), 9, "text"),
    (pgettext_lazy("ledger", "Payment number"), 19, "text"),
    (pgettext_lazy("ledger", "Status"), 16, "text"),
    (pgettext_lazy("ledger", "Booked on"), 11, "date"),
]
# Columns (1-based) the subtotals read on the items sheet.
VILLAGE_COL, SOURCE_COL, CASH_COL, GOODS_COL, AMOUNT_COL = 6, 8, 10, 11, 12
SIGNED_COL = 16
# Issuer, campaign, title, export time (and on the items sheet the chain
# head); the header row follows.
TITLE_ROWS = 4
HEADER_ROW = TITLE_ROWS + 1
FIRST_ITEM_ROW = HEADER_ROW + 1


# -- figures ----------------------------------------------------------------------------


@dataclass
class Subtotal:
    count: int = 0
    cash: Decimal = ZERO
    goods: Decimal = ZERO
    amount: Decimal = ZERO

    def add(self, cash: Decimal, goods: Decimal, amount: Decimal) -> None:
        self.count += 1
        self.cash += cash
        self.goods += goods
        self.amount += amount


@dataclass(frozen=True)
class BudgetLine:
    name: str
    payers: str
    budget: Decimal
    committed: Decimal  # awaiting the county or approved: what the budget check counts
    approved: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.approved


@dataclass
class LedgerTotals:
    """What the workbook's subtotal and budget sheets show, computed in Python
    from the same rows (exact Decimals), keyed by the labels the sheets show;
    and the chain head its title prints."""

    by_village: dict[str, Subtotal] = field(default_factory=dict)
    by_fund_source: dict[str, Subtotal] = field(default_factory=dict)
    total: Subtotal = field(default_factory=Subtotal)
    budget: list[BudgetLine] = field(default_factory=list)
    chain_head: tuple[int, str] = (0, GENESIS)  # (seq, hash) of the campaign's chain: Seen

    def add(self, row: LedgerRow) -> None:
        for key, groups in ((row.village, self.by_village), (row.fund_source, self.by_fund_source)):
            group = groups.get(key)
            if group is None:
                group = groups[key] = Subtotal()
            group.add(row.cash, row.goods, row.amount)
        self.total.add(row.cash, row.goods, row.amount)


# -- the items --------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Names shown for the ids on the rows, read once per workbook."""

    villages: dict[int, str]
    categories: dict[int, str]
    sources: dict[int | None, tuple[str, str]]  # id → (name, payers)


def ledger_items(campaign: Campaign) -> QuerySet[Application]:
    """The applications the ledger lists: the approved ones, and any other
    that has payment records (one approved, paid, then withdrawn still shows
    what was paid)."""
    paid = Payment.objects.filter(application=OuterRef("pk"))
    return Application.objects.filter(Q(state=State.APPROVED) | Exists(paid), campaign=campaign)


def ledger_item_count(campaign: Campaign) -> int:
    """How many rows `ledger_rows` gives: the payment records of the listed
    applications, plus one per listed application without any. One query."""
    counts = ledger_items(campaign).aggregate(
        records=Count("payments"), unplanned=Count("pk", filter=Q(payments__isnull=True))
    )
    return counts["records"] + counts["unplanned"]


def chain_head(campaign: Campaign) -> tuple[int, str]:
    """(seq, hash) of the campaign's chain head; (0, 64 zeros) before its first event."""
    head = ChainHead.objects.filter(campaign=campaign).values_list("seq", "hash").first()
    return (head[0], head[1]) if head else (0, GENESIS)


@dataclass
class Seen:
    """What `ledger_rows` read besides the rows: the chain head, taken in the
    rows' own query (one statement, one snapshot), so the head printed with
    the rows is the head of exactly those records however long the writing
    takes; None until the first row is read."""

    chain_head: tuple[int, str] | None = None


class _Words:
    """The status and method texts of the rows, translated once per workbook."""

    def __init__(self) -> None:
        self.states = {value: str(label) for value, label in PaymentState.choices}
        self.methods = {value: str(label) for value, label in Method.choices}
        self.reasons = {value: str(label) for value, label in FailureReason.choices}
        self.unplanned = pgettext("ledger", "Not yet planned")
        self.reversal = pgettext("ledger", "Reversal of %(number)s")
        self.replacement = pgettext("ledger", "Replaces %(number)s")
        self.failed = pgettext("ledger", "%(state)s: %(reason)s")

    def status(self, kind: str, state: str, corrects: str | None, reason: str) -> str:
        if kind == Kind.REVERSAL:
            return self.reversal % {"number": corrects or ""}
        if kind == Kind.REPLACEMENT:
            return self.replacement % {"number": corrects or ""}
        if state == PaymentState.FAILED and reason:
            return self.failed % {
                "state": self.states[state],
                "reason": self.reasons.get(reason, reason),
            }
        return self.states.get(state, state)


def _local_date(value: datetime.datetime | None) -> datetime.date | None:
    return timezone.localtime(value).date() if value is not None else None


def ledger_rows(
    campaign: Campaign, labels: Labels, seen: Seen | None = None
) -> Iterator[LedgerRow]:
    """The ledger's items in order (village, application number, then the
    application's payment records by instalment, corrections after the record
    they correct), streamed in one query: the listed applications joined to
    their payment records, an application without any giving one row with
    nothing joined (not yet planned).

    A payment record's row shows what the record holds (实名制: the recipient
    as filed when it was planned, its own money and fund source); an unplanned
    row the application's head of household and amounts. `seen` receives the
    chain head with the first row."""
    # Not correlated with the row: the database reads the head once.
    head = ChainHead.objects.filter(campaign=campaign.pk)
    rows = (
        ledger_items(campaign)
        .with_head()
        .annotate(
            head_seq=Subquery(head.values("seq")[:1]), head_hash=Subquery(head.values("hash")[:1])
        )
        .order_by("village__code", "number", "payments__instalment", "payments__pk")
        .values_list(
            "number",
            "household__number",
            "head__name",
            "head__id_number",
            "village_id",
            "category_id",
            "fund_source_id",
            "cash",
            "goods",
            "amount",
            "payments__number",
            "payments__kind",
            "payments__state",
            "payments__corrects__number",
            "payments__failure_reason",
            "payments__method",
            "payments__recipient_name",
            "payments__recipient_id_number",
            "payments__fund_source_id",
            "payments__cash",
            "payments__goods",
            "payments__amount",
            "payments__handed_over_at",
            "payments__cadres",
            "payments__handed_over_by__name",
            "payments__handed_over_by__username",
            "payments__booked_at",
            "head_seq",
            "head_hash",
        )
    )
    villages, categories, sources = labels.villages, labels.categories, labels.sources
    words = _Words()
    for (
        number,
        household,
        name,
        id_number,
        village,
        category,
        source,
        cash,
        goods,
        amount,
        payment,
        kind,
        state,
        corrects,
        reason,
        method,
        recipient,
        recipient_id,
        paid_from,
        paid_cash,
        paid_goods,
        paid_amount,
        handed_over_at,
        cadres,
        handed_by_name,
        handed_by_username,
        booked_at,
        head_seq,
        head_hash,
    ) in rows.iterator(chunk_size=CHUNK_SIZE):
        if seen is not None and seen.chain_head is None:
            seen.chain_head = (head_seq or 0, head_hash or GENESIS)
        if payment is None:
            source_name, payers = sources[source]
            yield LedgerRow(
                number,
                household,
                name or "",
                id_number or "",
                villages[village],
                categories[category],
                source_name,
                payers,
                cash,
                goods,
                cash + goods if amount is None else amount,
                "",
                None,
                "",
                False,
                "",
                words.unplanned,
                None,
            )
            continue
        source_name, payers = sources[paid_from]
        yield LedgerRow(
            number,
            household,
            recipient,
            recipient_id,
            villages[village],
            categories[category],
            source_name,
            payers,
            paid_cash,
            paid_goods,
            paid_amount,
            words.methods.get(method, method),
            _local_date(handed_over_at),
            (cadres or handed_by_name or handed_by_username or "") if handed_over_at else "",
            state == PaymentState.SIGNED,
            payment,
            words.status(kind, state, corrects, reason),
            _local_date(booked_at),
        )


def village_labels(campaign: Campaign) -> dict[int, str]:
    """The villages of the campaign's area by id, in area-code order, named as
    the sheets show them.

    Every village of the area rather than those of the rows, so a row read a
    moment later (approved meanwhile) still finds its name. Village names
    repeat across townships (two 东关村 in one county) and the subtotals match
    rows by the name shown: a repeated name is shown with its township's in
    front (城关镇东关村), so each village keeps its own line."""
    villages = list(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=prefix_of(campaign.area.code))
        .order_by("code")
        .values_list("pk", "name", "parent__name")
    )
    seen = Counter(name for _pk, name, _township in villages)
    return {
        pk: f"{township or ''}{name}" if seen[name] > 1 else name for pk, name, township in villages
    }


def ledger_labels(
    campaign: Campaign,
    setup: tuple[list[Category], list[FundSource]] | None = None,
    table: BudgetTable | None = None,
) -> Labels:
    """The labels of the campaign's rows; `setup` and `table` may be passed
    when the caller has read them already (Campaign.load_setup(), budget_table())."""
    setup = setup or campaign.load_setup()
    table = table or budget_table(campaign, setup)
    categories, sources = setup
    return Labels(
        villages=village_labels(campaign),
        categories={c.pk: c.name for c in categories},
        sources={
            None: (no_fund_source(), ""),
            # The payers as the budget table writes them (区财政局 50%、城关镇财政所 50%).
            **{s.pk: (s.name, line.payers) for s, line in zip(sources, table.sources, strict=True)},
        },
    )


def no_fund_source() -> str:
    return _("(no fund source)")


# -- the workbook -----------------------------------------------------------------------


def write_ledger(
    campaign: Campaign, out: Destination, *, progress: Progress | None = None
) -> LedgerTotals:
    """Write the campaign's ledger to `out` (a path or a binary file) in the
    active language; `progress(done, total)` is called every few thousand items
    and once at the end. A fixed number of queries, whatever the number of items."""
    setup = campaign.load_setup()
    table = budget_table(campaign, setup)
    labels = ledger_labels(campaign, setup, table)
    expected = ledger_item_count(campaign) if progress is not None else 0

    book = Workbook(write_only=True)
    totals = LedgerTotals()
    items = book.create_sheet(pgettext("sheet", "Payment ledger"))
    done = _write_items(items, campaign, labels, totals, expected, progress)
    last_row = FIRST_ITEM_ROW + max(done, 1) - 1
    ref = ItemsRef(items.title, last_row)
    _write_subtotals(
        book.create_sheet(pgettext("sheet", "Subtotals by village")),
        campaign,
        pgettext("ledger", "Village"),
        VILLAGE_COL,
        [(label,) for label in totals.by_village],
        ref,
    )
    _write_subtotals(
        book.create_sheet(pgettext("sheet", "Subtotals by fund source")),
        campaign,
        _("Fund source"),
        SOURCE_COL,
        [(name, payer) for name, payer in labels.sources.values() if name in totals.by_fund_source],
        ref,
        extra_headers=[(pgettext("ledger", "Payer"), 30)],
    )
    totals.budget = _budget_lines(campaign, setup[1], table.sources)
    _write_budget(book.create_sheet(pgettext("sheet", "Budget")), campaign, totals)
    book.save(out)
    if progress is not None:
        progress(done, max(done, expected))
    return totals


def write_signed_ledger(
    campaign: Campaign, out: Destination, name: str, *, progress: Progress | None = None
) -> LedgerTotals:
    """The ledger as the office hands it out: a .zip (written to `out`) of the
    workbook `name` (.xlsx) and its signature file `name`.sig, signed with the
    active key for the chain head the workbook prints (disbursements.signing).
    Raises SigningError before any work when there is no usable key."""
    from disbursements import signing

    key = signing.active_key()
    signing.load_private_key(key)  # a key file that cannot sign fails now, not after the rows
    with tempfile.TemporaryDirectory(prefix="ledger-") as folder:
        workbook = Path(folder) / "ledger.xlsx"
        totals = write_ledger(campaign, workbook, progress=progress)
        signature = signing.sign_ledger(workbook, campaign, chain_head=totals.chain_head, key=key)
        with zipfile.ZipFile(out, "w") as archive:
            # The workbook is a zip already: stored as it is, byte for byte.
            archive.write(workbook, name, compress_type=zipfile.ZIP_STORED)
            archive.writestr(
                signing.signature_name(name), signature, compress_type=zipfile.ZIP_DEFLATED
            )
    return totals


@dataclass(frozen=True)
class ItemsRef:
    """Absolute references to the items sheet's columns, for the formulas."""

    sheet: str
    last_row: int

    def column(self, col: int) -> str:
        letter = get_column_letter(col)
        return f"{quote_sheetname(self.sheet)}!${letter}${FIRST_ITEM_ROW}:${letter}${self.last_row}"


def _write_items(
    ws: Sheet,
    campaign: Campaign,
    labels: Labels,
    totals: LedgerTotals,
    expected: int,
    progress: Progress | None,
) -> int:
    cells = Cells(ws)
    prepare(ws, [width for _h, width, _k in COLUMNS], title_rows=TITLE_ROWS)
    ws.freeze_panes = f"A{FIRST_ITEM_ROW}"
    # The title comes first but prints the chain head read with the rows: the
    # first row is read before it is written.
    seen = Seen()
    rows = ledger_rows(campaign, labels, seen)
    first = next(rows, None)
    totals.chain_head = seen.chain_head or chain_head(campaign)
    seq, hash_ = totals.chain_head
    # In full: an auditor compares it with `manage.py verify_chain --head`.
    head = pgettext("ledger", "Payment chain head: event #%(seq)s, hash %(hash)s.") % {
        "seq": seq,
        "hash": hash_,
    }
    write_title(ws, cells, campaign, pgettext("sheet", "Payment ledger"), len(COLUMNS), head)
    ws.append(cells.headers(str(header) for header, _w, _k in COLUMNS))
    ws._values_to_row = ItemCells(ws, cells)  # the item rows from here on: see ItemCells
    yes, no = _("Yes"), _("No")
    signed = SIGNED_COL - 2  # the row's index of `signed` (no 序号, 0-based)
    append, add = ws.append, totals.add
    done = 0
    for done, row in enumerate(itertools.chain([first], rows) if first else (), start=1):
        append((done, *row[:signed], yes if row.signed else no, *row[signed + 1 :]))
        add(row)
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, max(done, expected))
    if done:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{HEADER_ROW + done}"
    return done


class ItemCells:
    """The item rows' cells: one cell per column, reused from row to row.

    openpyxl's write-only `append` infers the type of every value and checks
    every string, and a styled value must come as a cell object of its own,
    looked up in the style table again. For 100,000 items that made the ledger
    1.95× (CPU) the time of an xlsxwriter baseline writing the same rows, 1.55×
    with lxml installed (bench/ledger_export.py). The ledger's columns have
    fixed kinds (COLUMNS), so the cells are made once with their type and
    style and each row only sets the values: 1.5× without lxml, 1.1× with it.

    It takes the place of the sheet's `_values_to_row`, where openpyxl 3.1's
    write-only worksheet turns each appended row into cells (openpyxl is
    pinned in requirements.txt, and the tests read the files back). A text
    stays text even when it starts with "=" (never a formula in the auditor's
    spreadsheet); characters XML cannot hold are dropped, where `append` would
    refuse the whole file."""

    def __init__(self, ws: Sheet, cells: Cells) -> None:
        styles = {
            "serial": cells.serial_style,
            "money": cells.money_style,
            "date": cells.date_style,
        }
        types = {"text": "s", "date": "d"}
        self.cells = []
        for col, (_header, _width, kind) in enumerate(COLUMNS, start=1):
            cell = Cell(ws, row=1, column=col, style_array=styles.get(kind))
            cell.data_type = types.get(kind, "n")
            self.cells.append(cell)

    def __call__(self, values: Sequence[Any], row: int) -> Iterator[Cell]:
        for cell, value in zip(self.cells, values, strict=True):
            if value is None or value == "":
                continue
            if cell.data_type == "s" and ILLEGAL_CHARACTERS_RE.search(value):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell._value = value
            cell.row = row
            yield cell


def _write_subtotals(
    ws: Sheet,
    campaign: Campaign,
    key_header: str,
    key_col: int,
    groups: Sequence[tuple[str, ...]],
    ref: ItemsRef,
    extra_headers: Sequence[tuple[str, int]] = (),
) -> None:
    """One line per group (its label, then the `extra_headers` columns' text):
    COUNTIF/SUMIF of the items whose `key_col` holds the label; a SUM line."""
    cells = Cells(ws)
    headers = [
        (key_header, 18),
        *extra_headers,
        (pgettext("ledger", "Items"), 9),
        (_("Cash"), 15),
        (pgettext("ledger", "Goods at cash value"), 15),
        (_("Amount"), 15),
    ]
    prepare(ws, [w for _h, w in headers], title_rows=TITLE_ROWS, landscape=False)
    ws.freeze_panes = f"A{FIRST_ITEM_ROW}"
    write_title(ws, cells, campaign, ws.title, len(headers))
    ws.append(cells.headers(h for h, _w in headers))
    count_col = len(extra_headers) + 2
    key_range = ref.column(key_col)
    first = FIRST_ITEM_ROW
    for row, (label, *extra) in enumerate(groups, start=first):
        key = f"$A{row}"
        ws.append(
            [
                cells.text(label),
                *(cells.text(e) for e in extra),
                count_if(key_range, key, label),
                *(
                    cells.money(sum_if(key_range, key, label, ref.column(col)))
                    for col in (CASH_COL, GOODS_COL, AMOUNT_COL)
                ),
            ]
        )
    ws.append(
        [
            cells.total_label(_("Total")),
            *(cells.total_label("") for _h in extra_headers),
            *(
                cells.total(column_sum(col, first, first + len(groups) - 1), money=col > count_col)
                for col in range(count_col, count_col + 4)
            ),
        ]
    )


def _budget_lines(
    campaign: Campaign, sources: list[FundSource], lines: list[SourceLine]
) -> list[BudgetLine]:
    """The budget table's lines (campaigns.budget) with what is committed and
    approved of each, from one aggregate query."""
    spent: dict[tuple[int, str], Decimal] = {}
    for source, state, total in (
        Application.objects.filter(
            campaign=campaign, state__in=COMMITTED, fund_source__isnull=False
        )
        .values_list("fund_source", "state")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        # A database sum (in floating point on SQLite) back to exact cents.
        spent[(source, state)] = money(total or ZERO)
    result = []
    for source, line in zip(sources, lines, strict=True):
        approved = spent.get((source.pk, State.APPROVED), ZERO)
        result.append(
            BudgetLine(
                line.name,
                line.payers,
                line.budget,
                approved + spent.get((source.pk, State.AWAITING_COUNTY), ZERO),
                approved,
            )
        )
    return result


def _write_budget(ws: Sheet, campaign: Campaign, totals: LedgerTotals) -> None:
    cells = Cells(ws)
    headers = [
        (_("Fund source"), 18),
        (pgettext("ledger", "Payer"), 30),
        (_("Budget"), 15),
        (pgettext("ledger", "Committed (awaiting the county or approved)"), 18),
        (pgettext("ledger", "Approved"), 15),
        (pgettext("ledger", "Remaining (budget less approved)"), 18),
    ]
    prepare(ws, [w for _h, w in headers], title_rows=TITLE_ROWS, landscape=False)
    ws.freeze_panes = f"A{FIRST_ITEM_ROW}"
    write_title(ws, cells, campaign, ws.title, len(headers))
    ws.append(cells.headers(h for h, _w in headers))
    first = FIRST_ITEM_ROW
    for row, line in enumerate(totals.budget, start=first):
        ws.append(
            [
                cells.text(line.name),
                cells.text(line.payers),
                cells.money(line.budget),
                cells.money(line.committed),
                cells.money(line.approved),
                cells.money(f"=C{row}-E{row}"),
            ]
        )
    last = first + len(totals.budget) - 1
    ws.append(
        [
            cells.total_label(_("Total")),
            cells.total_label(""),
            *(cells.total(column_sum(col, first, last), money=True) for col in range(3, 7)),
        ]
    )


# -- formulas ---------------------------------------------------------------------------

# COUNTIF and SUMIF read their criterion as a pattern: `*`, `?` and `~` are
# wildcards and a leading `<`, `>` or `=` is a comparison. A label holding one
# of those is matched exactly with SUMPRODUCT instead (slower, but never wrong).
_PATTERN_CHARS = frozenset("*?~")


def _plain(label: str) -> bool:
    return not (_PATTERN_CHARS.intersection(label) or label[:1] in ("<", ">", "="))


def count_if(key_range: str, key: str, label: str) -> str:
    if _plain(label):
        return f"=COUNTIF({key_range},{key})"
    return f"=SUMPRODUCT(--({key_range}={key}))"


def sum_if(key_range: str, key: str, label: str, sum_range: str) -> str:
    if _plain(label):
        return f"=SUMIF({key_range},{key},{sum_range})"
    return f"=SUMPRODUCT(--({key_range}={key}),{sum_range})"


def column_sum(col: int, first: int, last: int) -> str | int:
    """SUM of a column's lines; 0 when there are none (the range would be the
    total's own cell: a circular reference)."""
    if last < first:
        return 0
    letter = get_column_letter(col)
    return f"=SUM({letter}{first}:{letter}{last})"


# -- sheets and styled cells (shared with documents.statistics) ------------------------

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def prepare(ws: Sheet, widths: Sequence[int], *, title_rows: int, landscape: bool = True) -> None:
    """Column widths and A4 print set-up of a write-only sheet: the title and
    header rows repeat on every printed page, fit to the page's width, page
    numbers in the footer. Must run before the first row is written (openpyxl
    writes the column widths and the sheet's properties with it)."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    # Headers wrap; spreadsheets do not grow a row for wrapped text on their own.
    ws.row_dimensions[title_rows + 1].height = 32
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.print_title_rows = f"1:{title_rows + 1}"
    ws.oddFooter.center.text = _("Page &P of &N")


class Titled(Protocol):
    """What the first two title rows show: a campaign, or a heading standing
    for several (reports.statistics_xlsx)."""

    issuer: str
    name: str


def write_title(
    ws: Sheet, cells: Cells, campaign: Titled, title: str, width: int, note: str = ""
) -> None:
    """The title rows (TITLE_ROWS of them): issuer, campaign, the document's
    title, then `note` and the export time."""
    exported = _("Exported %(time)s. Amounts in yuan.") % {
        "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")
    }
    ws.row_dimensions[3].height = 24  # the title's larger type (set before the row is written)
    ws.append(cells.centred(campaign.issuer, width))
    ws.append(cells.centred(campaign.name, width))
    ws.append(cells.centred(title, width, size=16))
    ws.append([cells.text(f"{note} {exported}" if note else exported)])


class Cells:
    """Styled cells for one write-only sheet. Each style is built once and
    copied onto the cells that need it: a style set per cell through
    openpyxl's attributes costs several times the cell itself."""

    def __init__(self, ws: Sheet) -> None:
        self.ws = ws
        self.money_style = self._style(number_format=MONEY_FORMAT)
        self.serial_style = self._style(alignment=Alignment(horizontal="center"))
        self.date_style = self._style(number_format=DATE_FORMAT)
        self._total = self._style(font=Font(bold=True), border=_BORDER)
        self._total_money = self._style(
            font=Font(bold=True), border=_BORDER, number_format=MONEY_FORMAT
        )
        self._header = self._style(
            font=Font(bold=True),
            border=_BORDER,
            fill=_HEADER_FILL,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        )

    def _style(self, **attributes: Any) -> Any:
        cell = WriteOnlyCell(self.ws)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell._style

    def _cell(self, value: Any, style: Any) -> Cell:
        return Cell(self.ws, row=1, column=1, value=value, style_array=style)

    def money(self, value: Decimal | str | int) -> Cell:
        return self._cell(value, self.money_style)

    def total_label(self, value: str) -> Cell:
        return self.text(value, self._total)

    def total(self, value: str | int, *, money: bool = False) -> Cell:
        return self._cell(value, self._total_money if money else self._total)

    def text(self, value: str, style: Any = None) -> Any:
        """Text as text, even when it starts with "=" (a name typed as
        "=1+1" must not become a formula in the auditor's spreadsheet)."""
        if style is None and value[:1] != "=":
            return value  # the common case: a plain value, no cell object
        cell = self._cell(None, style)
        cell._value, cell.data_type = value, "s"
        return cell

    def headers(self, titles: Iterable[str]) -> list[Cell]:
        return [self.text(t, self._header) for t in titles]

    def centred(self, value: str, width: int, *, size: int | None = None) -> list[Cell]:
        """A line centred across `width` columns (write-only sheets cannot
        merge cells; "centre across selection" needs the empty cells styled too)."""
        font = Font(bold=True, size=size) if size else Font(bold=True)
        style = self._style(font=font, alignment=Alignment(horizontal="centerContinuous"))
        return [self.text(value, style), *(self._cell(None, style) for _i in range(width - 1))]
