"""Resident ID numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit address code (the registering county), the birth date
YYYYMMDD, a 3-digit sequence (odd for men, even for women) and a check digit
(ISO 7064 MOD 11-2, computed by python-stdnum; X stands for 10).

python-stdnum's own `validate` also rejects an address code its table does not
list for the birth year; real IDs carry codes of counties since renamed or
merged, so here only the province digits are checked against GB/T 2260, and a
real resident is never turned away for the library's table being incomplete.
"""

from __future__ import annotations

import datetime
import time
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

# GB/T 2260 province-level codes; 71 Taiwan, 81 Hong Kong, 82 Macao; 83 is used
# on residence permits for people from Taiwan.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
        "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
        "63", "64", "65", "71", "81", "82", "83",
    }
)  # fmt: skip


def normalize(raw: object) -> str:
    """Tolerate what people and spreadsheets do to an ID: full-width digits,
    spaces, a lower-case x, an Excel number."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw or ""))
    return "".join(text.split()).upper()


def check_digit(number: str) -> str:
    """The check digit for the first 17 digits of `number`."""
    # stdnum wants all 18 characters and ignores the last one.
    return ric.calc_check_digit(number[:17] + "0")


def validate(raw: object) -> str:
    """The normalized number, or ValidationError with a message a clerk can act on."""
    number = normalize(raw)
    if len(number) == 15 and number.isdigit():
        raise ValidationError(
            _("This is an old 15-digit ID number; enter the 18-digit number on the current card."),
            code="id_old_format",
        )
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(count)d.") % {"count": len(number)},
            code="id_length",
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(
            _("An ID number has 17 digits followed by a digit or X."), code="id_characters"
        )
    if number[:2] not in PROVINCE_CODES:
        raise ValidationError(
            _("The first two digits (%(code)s) are not a province code.") % {"code": number[:2]},
            code="id_province",
        )
    born = _birth_date_or_none(number)
    if born is None:
        raise ValidationError(
            _("Digits 7–14 (%(digits)s) are not a valid birth date.") % {"digits": number[6:14]},
            code="id_birth_date",
        )
    if born.year < 1880 or born > _today():
        raise ValidationError(
            _("The birth date %(date)s in this ID number is impossible.")
            % {"date": born.isoformat()},
            code="id_birth_date",
        )
    if number[17] != check_digit(number):
        raise ValidationError(
            _(
                "The check digit (the last character) does not match the other digits: "
                "one of them is probably mistyped."
            ),
            code="id_checksum",
        )
    return number


_TODAY: list[Any] = [0.0, None]


def _today() -> datetime.date:
    """Today's date, read at most once a minute: an import validates thousands
    of numbers, and the local date costs a time-zone conversion each time."""
    now = time.monotonic()
    if _TODAY[1] is None or now - _TODAY[0] > 60:
        _TODAY[0], _TODAY[1] = now, timezone.localdate()
    return _TODAY[1]


def _birth_date_or_none(number: str) -> datetime.date | None:
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def birth_date(number: str) -> datetime.date:
    """The birth date of a valid number."""
    born = _birth_date_or_none(number)
    if born is None:
        raise ValueError(f"not a valid ID number: {number}")
    return born


def sex(number: str) -> str:
    """ "M" or "F": the sequence's last digit (the 17th character) is odd for men."""
    return "M" if int(number[16]) % 2 else "F"


def mask(number: str) -> str:
    """For lists and public documents: the first 6 and the last 4 characters."""
    if len(number) != 18:
        return "*" * len(number)
    return f"{number[:6]}{'*' * 8}{number[-4:]}"


def make(address_code: str, born: datetime.date, sequence: int) -> str:
    """A well-formed number (demo data and tests): 6-digit address code, birth
    date, 3-digit sequence (odd for men), check digit."""
    body = f"{address_code}{born:%Y%m%d}{sequence:03d}"
    return body + check_digit(body)
