"""Which column of a roster holds what: found by the header's wording, or by a
mapping the clerk saved for the campaign."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from applications.roster import cells
from campaigns.evidence import DERIVED


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    headers: tuple[str, ...]  # the wordings seen on real rosters
    read: Callable[[object], object]
    required: bool = False


def _plain(value: object) -> str:
    return cells.text(value)


# Ordered as a roster usually is.
COLUMNS = (
    Column("seq", _("No."), ("序号", "编号", "顺序号"), _plain),
    Column(
        "name",
        pgettext_lazy("person", "Name"),
        ("姓名", "户主姓名", "户主", "申请人", "申请人姓名", "慰问对象", "对象姓名", "名字"),
        _plain,
        required=True,
    ),
    Column(
        "id_number",
        _("ID number"),
        (
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "身份证",
            "证件号码",
            "身份号码",
            "身份证件号码",
        ),
        cells.id_number,
        required=True,
    ),
    Column(
        "village",
        _("Village or community"),
        ("村/社区", "村社区", "村(社区)", "村", "社区", "村居", "所属村", "所在村", "村名", "村别"),
        _plain,
    ),
    Column(
        "category",
        _("Category"),
        ("类别", "人员类别", "救助类别", "慰问类别", "困难类别", "对象类别", "类型"),
        cells.compact,
    ),
    Column(
        "household_size",
        _("Household size"),
        ("人口", "家庭人口", "人口数", "家庭人数", "户人口"),
        cells.count,
    ),
    Column(
        "cause",
        _("Cause of hardship"),
        ("致困原因", "困难原因", "主要致困原因", "致贫原因"),
        _plain,
    ),
    Column("degree", _("Degree of hardship"), ("困难程度",), cells.compact),
    Column(
        "phone",
        _("Phone"),
        ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "电话号码"),
        cells.phone,
    ),
    Column(
        "amount",
        _("Amount"),
        ("金额", "慰问金额", "补助金额", "慰问金", "拟发放金额", "发放金额"),
        cells.amount,
    ),
    Column(
        "amount_reason", _("Reason for the amount"), ("金额理由", "理由", "备注", "说明"), _plain
    ),
    Column("address", _("Address"), ("住址", "家庭住址", "地址", "居住地址", "现住址"), _plain),
    Column("birth_date", _("Date of birth"), ("出生日期", "出生年月日"), cells.date),
)
BY_KEY = {c.key: c for c in COLUMNS}
FACT_PREFIX = "fact:"

_UNIT = re.compile(r"[(（][^)）]*[)）]$")


def header_key(value: object) -> str:
    """A header's wording for matching: no spaces, no unit in brackets
    ("金额（元）"), no required-field star, lower case."""
    text = cells.compact(value).rstrip("*＊:：")
    return _UNIT.sub("", text).lower() or text.lower()


def evidence_columns(specs: Iterable[object]) -> list[Column]:
    """A column for each evidence field the campaign's categories read, headed
    by the field's name (e.g. 月收入, 残疾等级)."""
    readers = {"money": cells.amount, "number": cells.amount, "yes_no": cells.yes_no}
    return [
        Column(
            FACT_PREFIX + spec.key,
            spec.name,
            (spec.name,),
            readers.get(spec.type, _plain),
        )
        for spec in specs
        if spec.key not in DERIVED
    ]


def find(
    headers: list[object], columns: list[Column], saved: dict[str, str] | None = None
) -> dict[str, int]:
    """Column key -> index in the row. A saved mapping (key -> header wording)
    wins; otherwise the first header whose wording is one the column knows."""
    keys = [header_key(h) for h in headers]
    found: dict[str, int] = {}
    taken: set[int] = set()
    for column in columns:
        wanted = (saved or {}).get(column.key)
        if wanted and header_key(wanted) in keys:
            index = keys.index(header_key(wanted))
            found[column.key] = index
            taken.add(index)
    for column in columns:
        if column.key in found or (saved and column.key in saved and not saved[column.key]):
            continue
        known = [header_key(w) for w in (*column.headers, str(column.label))]
        # An evidence field may read the same column as a fixed one (an
        # evidence field named 致困原因 and the cause of hardship).
        shared = column.key.startswith(FACT_PREFIX)
        for word in known:
            if word in keys and (shared or keys.index(word) not in taken):
                found[column.key] = keys.index(word)
                taken.add(keys.index(word))
                break
    return found


def header_row(
    rows: list[list[object]], columns: list[Column], saved: dict[str, str] | None = None
) -> int | None:
    """Index of the header row among the first 20: the one naming the most known
    columns (at least two), so a title row or blank rows above it are skipped."""
    best, best_score = None, 1
    for index, row in enumerate(rows[:20]):
        score = len(find(row, columns, saved))
        if score > best_score:
            best, best_score = index, score
    return best
