"""The import's result as a spreadsheet: the clerk's own rows, each with what
became of it and, for a refused row, every reason; they correct the file from
it and upload the refused rows again."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from applications.roster.read import Table


def kind_labels() -> dict[str, str]:
    from applications.roster.check import Kind

    return {
        Kind.NEW: _("New household"),
        Kind.EXISTING: _("Household on file"),
        Kind.UPDATE: _("Household on file, phone updated"),
        Kind.INVALID: _("Invalid"),
        Kind.DUPLICATE_FILE: _("Duplicate in the file"),
        Kind.DUPLICATE_DB: _("Already applied"),
        Kind.OUTSIDE: _("Outside your area"),
    }


def report(table: Table, summary: dict, result: dict | None = None) -> bytes:
    """The roster's header and data rows plus three columns: outcome, reasons,
    application number (once imported)."""
    labels = kind_labels()
    lines = {line["row"]: line for line in summary.get("lines", [])}
    numbers = (result or {}).get("rows", {})
    header_row = summary["header_row"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Import result"))
    width = max((len(r) for r in table.rows), default=0)
    bold = Font(bold=True)
    red = PatternFill("solid", fgColor="FFE0E0")
    header = [*table.rows[header_row - 1], *[""] * (width - len(table.rows[header_row - 1]))]
    extra = [_("Outcome"), _("Reasons"), _("Application")]
    sheet.append([_cell(sheet, v, bold) for v in [*header, *extra]])
    sheet.freeze_panes = "A2"
    for number, row in enumerate(table.rows[header_row:], start=header_row + 1):
        line = lines.get(number)
        if line is None:
            continue  # blank rows and the 合计 row
        padded = [*row, *[""] * (width - len(row))]
        reasons = "；".join(f"{column}：{message}" for column, message in line["problems"])
        if not line["problems"] and line["warnings"]:
            reasons = "；".join(line["warnings"])
        outcome = labels.get(line["kind"], line["kind"])
        if line["problems"]:
            outcome = _("Not imported") + f"（{outcome}）"
        cells = [*padded, outcome, reasons, numbers.get(str(number), "")]
        if line["problems"]:
            sheet.append([_cell(sheet, v, fill=red) for v in cells])
        else:
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(
    sheet: object, value: object, font: Font | None = None, fill: PatternFill | None = None
) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell
