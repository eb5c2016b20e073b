"""The plan of an import (its preview): what each row of the roster would
become, and every reason a row cannot be imported.

Set-based: the rows are read first, then the database is asked once per kind
of fact (people on file, their households' applications, bars and caps), in
chunks, whatever the roster's length.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules, workflow
from applications.assess import Assessment, assess
from applications.choices import ACTIVE, Degree, HardshipCause
from applications.models import Application
from applications.roster import cells
from applications.roster.columns import BY_KEY, COLUMNS, FACT_PREFIX, Column, evidence_columns
from applications.roster.columns import find as find_columns
from applications.roster.columns import header_row as find_header_row
from applications.roster.read import RosterError, Table, fill_merged
from campaigns.calculation import fields_used
from campaigns.evidence import members_facts
from campaigns.models import Campaign, Category, EvidenceField
from recipients.models import Person, phone_validator
from relief import idnumber
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area, User

CHUNK = 500
_TOTAL_ROW = ("合计", "总计", "小计", "共计", "合 计")


class Kind:
    """What a row becomes (or why it does not)."""

    NEW = "new"  # a new household and its application
    EXISTING = "existing"  # an application for a household on file
    UPDATE = "update"  # the same, and the register's phone number changes
    INVALID = "invalid"  # a cell that cannot be read, a rule that refuses
    DUPLICATE_FILE = "duplicate_file"  # the person or household is on an earlier row
    DUPLICATE_DB = "duplicate_db"  # the household has applied in this campaign already
    OUTSIDE = "outside"  # the person is on file outside the user's area


KINDS = (
    Kind.NEW,
    Kind.EXISTING,
    Kind.UPDATE,
    Kind.INVALID,
    Kind.DUPLICATE_FILE,
    Kind.DUPLICATE_DB,
    Kind.OUTSIDE,
)


@dataclass
class Problem:
    row: int
    column: str
    message: str


@dataclass
class Line:
    """One roster row and what it becomes."""

    row: int
    values: dict[str, Any]
    kind: str = Kind.NEW
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    village: Area | None = None
    category: Category | None = None
    person_id: int | None = None
    household_id: int | None = None
    household_number: str = ""
    assessment: Assessment | None = None

    @property
    def valid(self) -> bool:
        return not self.problems

    def refuse(self, kind: str, column: str, message: str) -> None:
        if not self.problems:
            self.kind = kind
        self.problems.append(Problem(self.row, column, message))


@dataclass
class Plan:
    campaign: Campaign
    headers: list[str]
    header_row: int  # spreadsheet row number of the header
    columns: dict[str, int]  # column key -> index in the row
    labels: dict[str, str]  # column key -> the header wording in the file
    lines: list[Line]

    @property
    def valid(self) -> list[Line]:
        return [line for line in self.lines if line.valid]

    @property
    def problems(self) -> list[Problem]:
        return [p for line in self.lines for p in line.problems]

    def counts(self) -> dict[str, int]:
        kinds = Counter(line.kind for line in self.lines)
        return {
            "rows": len(self.lines),
            "valid": sum(1 for line in self.lines if line.valid),
            "refused": sum(1 for line in self.lines if not line.valid),
            **{k: kinds.get(k, 0) for k in KINDS},
            "warnings": sum(1 for line in self.lines if line.warnings),
        }

    def summary(self) -> dict[str, Any]:
        """What the preview page and the report need, as JSON."""
        return {
            "header_row": self.header_row,
            "headers": self.headers,
            "columns": self.columns,
            "labels": self.labels,
            "counts": self.counts(),
            "lines": [
                {
                    "row": line.row,
                    "kind": line.kind,
                    "name": line.values.get("name", ""),
                    "id": idnumber.mask(line.values["id_number"])
                    if line.values.get("id_number")
                    else "",
                    "village": line.village.name if line.village else "",
                    "category": line.category.name if line.category else "",
                    "household": line.household_number,
                    "amount": str(line.assessment.amount)
                    if line.assessment and line.assessment.amount is not None
                    else "",
                    "problems": [[p.column, p.message] for p in line.problems],
                    "warnings": line.warnings,
                }
                for line in self.lines
            ],
        }


Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, stage: str) -> None:
    pass


def plan(
    actor: User,
    campaign: Campaign,
    table: Table,
    *,
    mapping: dict[str, str] | None = None,
    progress: Progress = _no_progress,
) -> Plan:
    """Read the roster against the register and the campaign's rules. Raises
    RosterError when the file as a whole cannot be used (no header row, a
    required column missing)."""
    categories = list(
        campaign.categories.select_related("fund_source", "campaign__kind", "base_field")
        .prefetch_related("tiers", "fund_source__shares")
        .order_by("order", "pk")
    )
    catalogue = EvidenceField.catalogue()
    used = {key for c in categories for key in fields_used(c.rule(catalogue))}
    facts = evidence_columns(EvidenceField.objects.filter(key__in=used).order_by("order", "key"))
    columns = [*COLUMNS, *facts]

    index = find_header_row(table.rows, columns, mapping)
    if index is None:
        raise RosterError(
            _(
                "No header row found in the first 20 rows: the roster needs a row of column "
                "headings such as 姓名 and 身份证号."
            )
        )
    headers = [cells.text(h) for h in table.rows[index]]
    found = find_columns(table.rows[index], columns, mapping)
    villages = entry_villages(actor, campaign)
    try:
        _require(found, villages, categories)
    except RosterError as error:
        raise RosterError(str(error), headers) from error
    fill_merged(table, index)

    lines: list[Line] = []
    total = len(table.rows) - index - 1
    for offset, row in enumerate(table.rows[index + 1 :], start=1):
        line = _read_row(index + 1 + offset, row, found, columns, headers)
        if line is not None:
            lines.append(line)
        if offset % 1000 == 0:
            progress(offset, total, _("Reading rows"))
    progress(total, total, _("Checking against the register"))

    labels = {key: headers[i] for key, i in found.items()}
    context = _Context(actor, campaign, categories, villages, labels, catalogue)
    context.match(lines)
    context.against_file(lines)
    context.against_register(lines)
    context.against_rules(lines)
    context.assess(lines)
    return Plan(campaign, headers, index + 1, found, labels, lines)


def _require(found: dict[str, int], villages: list[Area], categories: list[Category]) -> None:
    missing = [BY_KEY[k].label for k in ("name", "id_number") if k not in found]
    if len(villages) > 1 and "village" not in found:
        missing.append(BY_KEY["village"].label)
    if len(categories) > 1 and "category" not in found:
        missing.append(BY_KEY["category"].label)
    if missing:
        raise RosterError(
            _("The roster has no column for: %(columns)s. Name the columns in the header row.")
            % {"columns": "、".join(str(m) for m in missing)}
        )
    if not villages:
        raise RosterError(_("You may not enter applications in any village of this campaign."))


def _read_row(
    number: int, row: list[object], found: dict[str, int], columns: list[Column], headers: list[str]
) -> Line | None:
    seq = found.get("seq")
    if all(cells.text(v) == "" for i, v in enumerate(row) if i != seq):
        return None  # a blank row, or one with only its 序号 filled in beforehand
    line = Line(row=number, values={})
    for column in columns:
        if column.key not in found:
            continue
        position = found[column.key]
        raw = row[position] if position < len(row) else ""
        try:
            line.values[column.key] = column.read(raw)
        except (cells.CellError, ValidationError) as error:
            message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            line.refuse(Kind.INVALID, headers[position], message)
    if not line.values.get("id_number") and _is_total(row):
        return None  # the 合计 row under the list
    for key in ("name", "id_number"):
        if (
            key in found
            and not line.values.get(key)
            and not _has_problem(line, headers[found[key]])
        ):
            line.refuse(
                Kind.INVALID,
                headers[found[key]],
                _("%(column)s is empty.") % {"column": headers[found[key]]},
            )
    return line


def _has_problem(line: Line, column: str) -> bool:
    return any(p.column == column for p in line.problems)


def _is_total(row: list[object]) -> bool:
    first = next((cells.compact(v) for v in row if cells.text(v) != ""), "")
    return first.startswith(_TOTAL_ROW) or first in ("合计", "总计")


def entry_villages(actor: User, campaign: Campaign) -> list[Area]:
    """The villages of the campaign's area where the user may enter applications."""
    return list(
        Area.objects.restrict(actor, perm=workflow.ADD)
        .filter(level=AreaLevel.VILLAGE, code__startswith=prefix_of(campaign.area.code))
        .select_related("parent")
        .order_by("code")
    )


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


class _Context:
    def __init__(
        self,
        actor: User,
        campaign: Campaign,
        categories: list[Category],
        villages: list[Area],
        labels: dict[str, str],
        catalogue: dict[str, Any],
    ) -> None:
        self.actor, self.campaign, self.catalogue = actor, campaign, catalogue
        self.categories, self.villages, self.labels = categories, villages, labels
        self.members: dict[int, list[Person]] = {}

    def label(self, key: str) -> str:
        return self.labels.get(key) or str(BY_KEY[key].label)

    # -- villages, categories, cause, degree, phone --------------------------------

    def match(self, lines: list[Line]) -> None:
        by_name: dict[str, list[Area]] = defaultdict(list)
        for village in self.villages:
            for name in (
                village.name,
                village.code,
                f"{village.parent.name}{village.name}" if village.parent else "",
            ):
                if name:
                    by_name[cells.compact(name)].append(village)
        categories = {cells.compact(c.name): c for c in self.categories}
        causes = {cells.compact(label): value for value, label in HardshipCause.choices}
        degrees = {cells.compact(label): value for value, label in Degree.choices}
        # Chinese wordings whatever the UI language, since rosters are Chinese.
        causes.update(_CHINESE_CAUSES)
        degrees.update(_CHINESE_DEGREES)
        for line in lines:
            values = line.values
            self._village(line, by_name)
            if values.get("category"):
                line.category = categories.get(values["category"])
                if line.category is None:
                    line.refuse(
                        Kind.INVALID,
                        self.label("category"),
                        _("“%(text)s” is not a category of this campaign; it has: %(names)s.")
                        % {
                            "text": values["category"],
                            "names": "、".join(c.name for c in self.categories),
                        },
                    )
            elif len(self.categories) == 1:
                line.category = self.categories[0]
            else:
                line.refuse(Kind.INVALID, self.label("category"), _("The category is empty."))
            cause = cells.compact(values.get("cause", ""))
            values["cause_code"] = causes.get(cause, HardshipCause.OTHER)
            values["cause_detail"] = (
                values.get("cause", "") if cause and cause not in causes else ""
            )
            degree = values.get("degree", "")
            if degree and degree not in degrees:
                line.refuse(
                    Kind.INVALID,
                    self.label("degree"),
                    _("Write the degree of hardship as one of: %(names)s.")
                    % {"names": "、".join(_CHINESE_DEGREES)},
                )
            values["degree_code"] = degrees.get(degree, Degree.GENERAL)
            if values.get("phone"):
                try:
                    phone_validator(values["phone"])
                except ValidationError as error:
                    line.refuse(Kind.INVALID, self.label("phone"), " ".join(error.messages))
            if len(values.get("name", "")) > 50:
                line.refuse(
                    Kind.INVALID, self.label("name"), _("A name has at most 50 characters.")
                )
            if len(values.get("address", "")) > 200:
                line.refuse(
                    Kind.INVALID, self.label("address"), _("An address has at most 200 characters.")
                )
            born = values.get("birth_date")
            if (
                born
                and values.get("id_number")
                and idnumber.birth_date(values["id_number"]) != born
            ):
                line.refuse(
                    Kind.INVALID,
                    self.label("birth_date"),
                    _(
                        "The date of birth %(date)s differs from the one in the ID number "
                        "(%(id_date)s)."
                    )
                    % {
                        "date": born.isoformat(),
                        "id_date": idnumber.birth_date(values["id_number"]).isoformat(),
                    },
                )

    def _village(self, line: Line, by_name: dict[str, list[Area]]) -> None:
        text = cells.compact(line.values.get("village", ""))
        if not text:
            if len(self.villages) == 1:
                line.village = self.villages[0]
            else:
                line.refuse(Kind.INVALID, self.label("village"), _("The village is empty."))
            return
        found = by_name.get(text, [])
        if len(found) == 1:
            line.village = found[0]
        elif found:
            line.refuse(
                Kind.INVALID,
                self.label("village"),
                _(
                    "Several villages are called “%(name)s”; write the village's code instead: "
                    "%(codes)s."
                )
                % {"name": text, "codes": "、".join(v.code for v in found)},
            )
        else:
            line.refuse(
                Kind.INVALID,
                self.label("village"),
                _(
                    "“%(name)s” is not a village of the campaign's area where you may enter "
                    "applications."
                )
                % {"name": line.values.get("village")},
            )

    # -- duplicates ---------------------------------------------------------------------

    def against_file(self, lines: list[Line]) -> None:
        first: dict[str, int] = {}
        for line in lines:
            number = line.values.get("id_number")
            if not number:
                continue
            if number in first:
                line.refuse(
                    Kind.DUPLICATE_FILE,
                    self.label("id_number"),
                    _("The same ID number is on row %(row)d.") % {"row": first[number]},
                )
            else:
                first[number] = line.row

    def against_register(self, lines: list[Line]) -> None:
        numbers = [line.values["id_number"] for line in lines if line.values.get("id_number")]
        on_file: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(numbers):
            for row in Person.objects.filter(id_number__in=chunk).values_list(
                "id_number",
                "pk",
                "name",
                "phone",
                "household_id",
                "household__number",
                "household__village_id",
                "household__village__name",
                "household__village__parent__name",
            ):
                on_file[row[0]] = row[1:]
        mine = {v.pk for v in self.villages}
        households: dict[int, int] = {}  # household -> first row applying for it
        for line in lines:
            found = on_file.get(line.values.get("id_number", ""))
            if found is None:
                continue
            pk, name, phone, household, number, village, village_name, township = found
            if village not in mine:
                line.refuse(
                    Kind.OUTSIDE,
                    self.label("id_number"),
                    _("This person is on file in %(township)s, outside your area: ask that office.")
                    % {"township": township or village_name},
                )
                continue
            line.person_id, line.household_id, line.household_number = pk, household, number
            line.kind = Kind.EXISTING if line.valid else line.kind
            if line.village is not None and line.village.pk != village:
                line.refuse(
                    Kind.INVALID,
                    self.label("village"),
                    _(
                        "This person's household %(number)s is on file in %(village)s, not "
                        "%(roster)s."
                    )
                    % {"number": number, "village": village_name, "roster": line.village.name},
                )
            if line.values.get("name") and cells.compact(line.values["name"]) != cells.compact(
                name
            ):
                line.refuse(
                    Kind.INVALID,
                    self.label("name"),
                    _(
                        "The ID number belongs to %(name)s on file, not %(roster)s: check the "
                        "number."
                    )
                    % {"name": name, "roster": line.values["name"]},
                )
            if household in households:
                line.refuse(
                    Kind.DUPLICATE_FILE,
                    self.label("id_number"),
                    _("Household %(number)s already applies on row %(row)d.")
                    % {"number": number, "row": households[household]},
                )
            else:
                households[household] = line.row
            if line.valid and line.values.get("phone") and line.values["phone"] != phone:
                line.kind = Kind.UPDATE
                line.warnings.append(
                    _("The phone number on file (%(old)s) becomes %(new)s.")
                    % {"old": phone or "—", "new": line.values["phone"]}
                )
        applied: dict[int, str] = {}
        for chunk in _chunks(list(households)):
            applied.update(
                Application.objects.filter(
                    campaign=self.campaign, household__in=chunk, state__in=ACTIVE
                ).values_list("household_id", "number")
            )
        for line in lines:
            if line.household_id in applied:
                line.refuse(
                    Kind.DUPLICATE_DB,
                    self.label("id_number"),
                    _(
                        "Household %(household)s already has application %(number)s in this "
                        "campaign."
                    )
                    % {"household": line.household_number, "number": applied[line.household_id]},
                )
        for chunk in _chunks(list(households)):
            for person in Person.objects.filter(household__in=chunk).only(
                "household_id", "relation", "birth_date", "disability_grade", "locally_registered"
            ):
                self.members.setdefault(person.household_id, []).append(person)

    # -- rules ---------------------------------------------------------------------------

    def against_rules(self, lines: list[Line]) -> None:
        existing = [line for line in lines if line.valid and line.household_id]
        if not existing:
            return
        probes = [
            Application(pk=line.row, campaign=self.campaign, household_id=line.household_id)
            for line in existing
        ]
        refusals = {
            **rules.over_kind_cap(probes),
            **rules.disqualified(probes, timezone.localdate()),
        }
        for line in existing:
            if line.row in refusals:
                line.refuse(Kind.INVALID, self.label("id_number"), str(refusals[line.row]))

    def assess(self, lines: list[Line]) -> None:
        today = timezone.localdate()
        rules_by_category = {c.pk: c.rule(self.catalogue) for c in self.categories}
        # Rows with the same category, facts and amount come out the same: a
        # roster of thousands has a few dozen distinct cases.
        seen: dict[tuple[Any, ...], Assessment] = {}
        for line in lines:
            if not line.valid:
                continue
            values = line.values
            facts = {
                key[len(FACT_PREFIX) :]: _fact(value)
                for key, value in values.items()
                if key.startswith(FACT_PREFIX) and value not in (None, "")
            }
            if values.get("household_size"):
                facts["household_size"] = values["household_size"]
            registered = _registered(self.members.get(line.household_id or 0), values, today)
            key = (
                line.category.pk,
                tuple(sorted(facts.items())),
                tuple(sorted(registered.items())),
                values.get("amount"),
            )
            result = seen.get(key)
            if result is None:
                probe = _Probe(self.campaign, facts, values.get("amount"))
                result = seen[key] = assess(
                    probe,  # type: ignore[arg-type]
                    [line.category],
                    catalogue=self.catalogue,
                    registered=registered,
                    rules=rules_by_category,
                )
            line.values["facts"] = facts
            line.assessment = result
            if result.problem:
                line.warnings.append(result.problem)
            elif values.get("amount") is not None and result.amount != values["amount"]:
                line.warnings.append(
                    _("The roster says %(roster)s; the campaign's standard gives %(amount)s.")
                    % {"roster": values["amount"], "amount": result.amount}
                )
            elif result.needs_reason and not values.get("amount_reason"):
                line.warnings.append(
                    _(
                        "The amount %(amount)s is outside the standard: give the reason before "
                        "submitting."
                    )
                    % {"amount": values.get("amount")}
                )


@dataclass
class _Probe:
    """What assess() reads of an application, without building a model
    instance per row."""

    campaign: Campaign
    facts: dict[str, Any]
    proposed: Decimal | None


def _fact(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def _registered(
    members: list[Person] | None, values: dict[str, Any], on: datetime.date
) -> dict[str, Any]:
    """The household facts the register would give (campaigns.evidence), for a
    household on file from its members, for a new one from the row's person."""
    if members:
        return members_facts(members, on)
    born = idnumber.birth_date(values["id_number"])
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return {"household_size": 1, "oldest_age": age, "disabled_members": 0, "local_hukou": True}


_CHINESE_CAUSES = {
    "疾病": HardshipCause.ILLNESS,
    "因病": HardshipCause.ILLNESS,
    "大病": HardshipCause.ILLNESS,
    "残疾": HardshipCause.DISABILITY,
    "因残": HardshipCause.DISABILITY,
    "上学": HardshipCause.EDUCATION,
    "因学": HardshipCause.EDUCATION,
    "学费": HardshipCause.EDUCATION,
    "灾害": HardshipCause.DISASTER,
    "因灾": HardshipCause.DISASTER,
    "自然灾害": HardshipCause.DISASTER,
    "意外": HardshipCause.ACCIDENT,
    "意外事故": HardshipCause.ACCIDENT,
    "缺劳力": HardshipCause.NO_LABOUR,
    "缺劳动力": HardshipCause.NO_LABOUR,
    "无劳动力": HardshipCause.NO_LABOUR,
    "失业": HardshipCause.UNEMPLOYMENT,
    "年老": HardshipCause.OLD_AGE,
    "高龄": HardshipCause.OLD_AGE,
    "其他": HardshipCause.OTHER,
}
_CHINESE_DEGREES = {
    "一般": Degree.GENERAL,
    "较重": Degree.SERIOUS,
    "严重": Degree.SEVERE,
    "特别困难": Degree.SEVERE,
}
