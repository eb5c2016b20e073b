"""Reading one cell of a roster as clerks and spreadsheets really write it:
full-width digits and spaces (全角), trailing spaces, ID numbers stored as
numbers or with a lower-case x, dates as text or as Excel dates, amounts with
元, ¥ or thousands separators."""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from relief import idnumber


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says why."""


def text(value: object) -> str:
    """The cell as text: NFKC (全角 → 半角), runs of white space made one space,
    trimmed. Excel numbers that are whole print without ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        value = value.date()
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def compact(value: object) -> str:
    """The cell as text with no white space at all (names of headers, categories)."""
    return "".join(text(value).split())


def id_number(value: object) -> str:
    """A checked 18-character ID number ("" for an empty cell)."""
    if text(value) == "":
        return ""
    stored_as_number = isinstance(value, int | float)
    if isinstance(value, float) and not value.is_integer():
        raise CellError(_("This is not an ID number."))
    try:
        return idnumber.validate(value)
    except ValidationError as error:
        message = " ".join(error.messages)
        if stored_as_number:
            # Excel keeps 15 significant digits of a number: the last three of
            # an 18-digit ID number are lost before the file reaches us.
            message += " " + _(
                "The number was stored as a number in Excel, which keeps only 15 digits: "
                "format the column as text and type the number again."
            )
        raise CellError(message) from error


_MONEY_NOISE = re.compile(r"[,\s元¥￥]|RMB|rmb|人民币")
_MONEY = re.compile(r"^\d+(\.\d+)?$")


def amount(value: object) -> Decimal | None:
    """An amount in yuan with at most two decimals, or None for an empty cell."""
    if isinstance(value, bool):
        raise CellError(_("This is not an amount."))
    if isinstance(value, int | float):
        # A float at the 15 significant digits Excel shows: a formula such as
        # =3*33.3 is stored as 99.89999999999999 but means 99.9.
        number = Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)
    else:
        raw = _MONEY_NOISE.sub("", text(value))
        if raw == "":
            return None
        if not _MONEY.match(raw):
            raise CellError(_("“%(text)s” is not an amount in yuan.") % {"text": text(value)})
        number = Decimal(raw)
    try:
        exact = number.quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise CellError(_("The amount is too large.")) from error
    if exact != number:
        raise CellError(_("An amount has at most two decimals (fen)."))
    if exact < 0:
        raise CellError(_("An amount cannot be negative."))
    if exact >= Decimal("1e12"):
        raise CellError(_("The amount is too large."))
    return exact


_COUNT_UNIT = re.compile(r"(人|口|名|个)$")


def count(value: object) -> int | None:
    """A whole number such as a household size (3, "3", "3人", "３口")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        raise CellError(_("This is not a whole number."))
    if isinstance(value, int):
        number = value
    else:
        raw = _COUNT_UNIT.sub("", compact(value))
        if raw == "":
            return None
        if not raw.isdecimal() or len(raw) > 6:
            raise CellError(_("“%(text)s” is not a whole number.") % {"text": text(value)})
        number = int(raw)
    if not 0 <= number <= 999:
        raise CellError(_("%(number)d is not a plausible number here.") % {"number": number})
    return number


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def date(value: object) -> datetime.date | None:
    """A date written as an Excel date, 2024-01-05, 2024/1/5, 2024.1.5,
    2024年1月5日 or 20240105."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        serial = float(value)
        if 1 <= serial < 2958466 and serial.is_integer() and serial < 100000:
            # An Excel serial day number the reader did not turn into a date.
            return _EXCEL_EPOCH + datetime.timedelta(days=int(serial))
        value = text(value)
    raw = compact(value)
    if raw == "":
        return None
    match = _DATE.match(raw)
    if match is None and len(raw) == 8 and raw.isdecimal():
        match = re.match(r"^(\d{4})(\d{2})(\d{2})$", raw)
    if match is None:
        raise CellError(_("“%(text)s” is not a date such as 2024-01-31.") % {"text": text(value)})
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError as error:
        raise CellError(_("“%(text)s” is not a real date.") % {"text": text(value)}) from error


_YES = {"是", "有", "yes", "y", "true", "1", "√", "✓", "✔"}
_NO = {"否", "无", "没有", "no", "n", "false", "0", "×", "✗"}


def yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    raw = compact(value).lower()
    if raw == "":
        return None
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise CellError(_("Write 是 or 否, not “%(text)s”.") % {"text": text(value)})


def phone(value: object) -> str:
    """A phone number with its spaces removed (the register's validator checks it)."""
    return compact(value).replace("—", "-").replace("－", "-")
