"""The official 12-digit area code (统计用区划代码) and what it encodes.

A code is PP CC DD TTT VVV: province, city, county, township, village. An area's
code keeps its ancestors' digits and zeroes the rest, so the level and every
ancestor can be read off the code, and an area's subtree is every code that
starts with its significant digits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from relief.choices import AreaLevel

# How many leading digits are significant at each level, top-down.
LEVEL_DIGITS: dict[str, int] = {
    AreaLevel.PROVINCE: 2,
    AreaLevel.CITY: 4,
    AreaLevel.COUNTY: 6,
    AreaLevel.TOWNSHIP: 9,
    AreaLevel.VILLAGE: 12,
}
LEVELS_TOP_DOWN: list[str] = list(LEVEL_DIGITS)


def normalize_area_code(raw: object) -> str:
    """The code as 12 ASCII digits, tolerating spaces, full-width digits and Excel floats."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw or "").strip()
    text = text.translate({0xFF10 + d: ord("0") + d for d in range(10)})
    text = "".join(text.split())
    if text.endswith(".0"):
        text = text[:-2]
    return text


def level_of(code: str) -> str:
    """The level a valid code names; raises ValidationError for a malformed code."""
    if len(code) != 12 or not code.isascii() or not code.isdigit():
        raise ValidationError(
            _("An area code has exactly 12 digits; got “%(code)s”."),
            code="area_code_format",
            params={"code": code},
        )
    if code[:2] == "00":
        raise ValidationError(
            _("Area code %(code)s names no province."),
            code="area_code_province",
            params={"code": code},
        )
    for level in LEVELS_TOP_DOWN:
        if set(code[LEVEL_DIGITS[level] :]) <= {"0"}:
            break
    if level == AreaLevel.VILLAGE and code[6:9] == "000":
        raise ValidationError(
            _("Village code %(code)s has no township digits (7–9)."),
            code="area_code_township",
            params={"code": code},
        )
    return level


def prefix_of(code: str) -> str:
    """The significant digits of a code: the prefix every code in its subtree shares."""
    return code[: LEVEL_DIGITS[level_of(code)]]


def ancestor_codes(code: str) -> list[str]:
    """The codes of the areas above this one, nearest first."""
    level = level_of(code)
    above = LEVELS_TOP_DOWN[: LEVELS_TOP_DOWN.index(level)]
    codes = []
    for parent_level in reversed(above):
        digits = LEVEL_DIGITS[parent_level]
        candidate = code[:digits].ljust(12, "0")
        # A county directly under a province has "00" for its city digits: skip
        # the ancestor that does not exist in the code.
        if candidate != code and candidate not in codes and level_of(candidate) == parent_level:
            codes.append(candidate)
    return codes


def parent_code(code: str, exists: Callable[[str], bool]) -> str | None:
    """The code of the area `code` hangs under, given which codes exist.

    A township or village hangs under the area directly above it, which must
    exist; a county or city under its nearest existing ancestor, or under none
    when the deployment holds nothing above it. Raises ValidationError for a
    township or village whose parent is missing.
    """
    ancestors = ancestor_codes(code)
    if level_of(code) not in (AreaLevel.TOWNSHIP, AreaLevel.VILLAGE):
        return next((a for a in ancestors if exists(a)), None)
    if not exists(ancestors[0]):
        raise ValidationError(
            _("The area above %(code)s (%(parent)s) is not on file; add it first.")
            % {"code": code, "parent": ancestors[0]},
            code="area_parent_missing",
        )
    return ancestors[0]


def chunks(codes: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    """Codes in batches small enough for one IN (...) on any database."""
    batch: list[str] = []
    for code in codes:
        batch.append(code)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
