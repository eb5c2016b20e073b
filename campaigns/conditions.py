"""Conditions on a household's evidence, written the way a clerk reads them.

A rule is a list of alternatives, one per line; each line is clauses joined by
"and" (且), each clause a field, an operator and a value:

    低保户 = 是 且 合规自付医疗费 >= 4万
    低保户 = 否 且 合规自付医疗费 >= 80000
    残疾人数 >= 2
    家庭人均月收入 < 1.5 × 低保线

Bounds are explicit: ">=" includes the bound, ">" excludes it, so 4万 "以上" and
"至 4万" cannot silently both claim a household. Fields are named by their key
or their name in the evidence catalogue; values may be written 4万, 40,000 or
40000元; "× 低保线" makes a value a multiple of the campaign's local 低保 line.

This module is pure: no database. It parses, renders, evaluates, and answers
the set-up checks' questions (can a line ever hold? can two lines both hold?).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from campaigns.choices import FieldType

Value = Decimal | bool | str | tuple[str, ...]
Facts = Mapping[str, Any]


@dataclass(frozen=True)
class FieldSpec:
    """An evidence field as the calculation sees it."""

    key: str
    name: str
    type: str = FieldType.MONEY
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # one of OPERATORS
    value: Value
    # The value is a multiple of the campaign's local 低保 line.
    times_line: bool = False

    def to_json(self) -> list[Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        if isinstance(value, Decimal):
            value = str(value)
        return [self.field, self.op, value, self.times_line]

    @classmethod
    def from_json(cls, data: Sequence[Any], fields: Mapping[str, FieldSpec]) -> Condition:
        key, op, value, times_line = data
        spec = fields.get(key)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, str) and (spec is None or spec.type in NUMERIC):
            value = Decimal(value)
        return cls(key, op, value, bool(times_line))


# What escalation rules may test besides the evidence: the amount computed and
# the tier chosen ("金额 > 20000 => province", "档次 = 重度 => county").
OUTCOME_FIELDS = {
    "amount": FieldSpec("amount", "金额"),
    "tier": FieldSpec("tier", "档次", FieldType.CHOICE),
}

Group = tuple[Condition, ...]  # all must hold
Rule = tuple[Group, ...]  # any group; () means "always"

OPERATORS = (">=", ">", "<=", "<", "=", "!=", "in")
NUMERIC = (FieldType.MONEY, FieldType.NUMBER)
_OP_ALIASES = {"≥": ">=", "≤": "<=", "≠": "!=", "==": "=", "属于": "in"}
_CLAUSE = re.compile(
    r"^\s*(?P<field>.+?)\s*(?P<op>>=|<=|!=|==|≥|≤|≠|=|>|<|\sin\s|属于)\s*(?P<value>.+?)\s*$"
)
_AND = re.compile(r"\s+and\s+|\s*(?:并且|且|&&|&)\s*", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+|\s*(?:或者|或|\|\|)\s*", re.IGNORECASE)
_LINE_MULTIPLE = re.compile(
    r"^(?P<n>[\d.,]+)\s*(?P<pct>%)?\s*[×x*]?\s*(?:低保线|低保标准|dibao_line)$", re.I
)
_YES = {"是", "yes", "true", "y", "1", "有"}
_NO = {"否", "no", "false", "n", "0", "无"}
_LIST_SEP = re.compile(r"\s*[,，、;；]\s*")


class ConditionError(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


def parse_amount(text: str) -> Decimal:
    """ "4万", "40,000", "40000元", "1.6万元" → Decimal. Raises ValueError."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    cleaned = cleaned.removesuffix("元")
    factor = Decimal(1)
    if cleaned.endswith("万"):
        cleaned, factor = cleaned[:-1], Decimal(10000)
    try:
        number = Decimal(cleaned) * factor
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(text)
    return number.quantize(Decimal(1)) if number == number.to_integral() else number.normalize()


def parse(text: str, fields: Mapping[str, FieldSpec]) -> Rule:
    """Parse a rule; raises ConditionError naming the line and what is wrong."""
    by_name = _index(fields)
    groups: list[Group] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        for alternative in _OR.split(line):
            clauses = [c for c in _AND.split(alternative) if c.strip()]
            if not clauses:
                raise ConditionError(_("an empty condition."), number)
            try:
                groups.append(tuple(_clause(c, by_name) for c in clauses))
            except ConditionError as error:
                raise ConditionError(error.message, number) from None
    return tuple(groups)


def _index(fields: Mapping[str, FieldSpec]) -> dict[str, FieldSpec]:
    index: dict[str, FieldSpec] = {}
    for spec in fields.values():
        index[spec.key.lower()] = spec
        index[spec.name.lower()] = spec
    return index


def _clause(text: str, by_name: Mapping[str, FieldSpec]) -> Condition:
    match = _CLAUSE.match(text)
    if not match:
        raise ConditionError(
            _(
                '"%(text)s" is not a condition: write a field, an operator and a value, '
                "e.g. 合规自付医疗费 >= 40000."
            )
            % {"text": text.strip()}
        )
    name, op, raw = match["field"].strip(), match["op"].strip(), match["value"].strip()
    op = _OP_ALIASES.get(op, op)
    spec = by_name.get(name.lower())
    if spec is None:
        raise ConditionError(_('there is no evidence field "%(name)s".') % {"name": name})
    if spec.type in NUMERIC:
        if op == "in":
            raise ConditionError(_('"in" works only with a field that is one of a list.'))
        line = _LINE_MULTIPLE.match(raw.replace(" ", ""))
        if line:
            try:
                n = parse_amount(line["n"])
            except ValueError:
                raise ConditionError(_('"%(value)s" is not a number.') % {"value": raw}) from None
            return Condition(spec.key, op, n / 100 if line["pct"] else n, times_line=True)
        try:
            return Condition(spec.key, op, parse_amount(raw))
        except ValueError:
            raise ConditionError(
                _('"%(value)s" is not a number for %(field)s.') % {"value": raw, "field": spec.name}
            ) from None
    if spec.type == FieldType.YES_NO:
        if op not in ("=", "!="):
            raise ConditionError(_("%(field)s is yes or no: use = or !=.") % {"field": spec.name})
        word = raw.lower()
        if word not in _YES | _NO:
            raise ConditionError(
                _('%(field)s is yes or no, not "%(value)s".') % {"field": spec.name, "value": raw}
            )
        return Condition(spec.key, op, word in _YES)
    # One of a list.
    if op not in ("=", "!=", "in"):
        raise ConditionError(
            _("%(field)s is one of a list: use =, != or in.") % {"field": spec.name}
        )
    values = tuple(v for v in _LIST_SEP.split(raw) if v) if op == "in" else (raw,)
    unknown = [v for v in values if spec.options and v not in spec.options]
    if unknown:
        raise ConditionError(
            _('"%(value)s" is not one of %(field)s: %(options)s.')
            % {"value": unknown[0], "field": spec.name, "options": "、".join(spec.options)}
        )
    return Condition(spec.key, op, values if op == "in" else values[0])


def render(rule: Rule, fields: Mapping[str, FieldSpec]) -> str:
    """The rule as text the parser reads back, using the fields' names."""
    return "\n".join(" 且 ".join(describe(c, fields) for c in group) for group in rule)


def describe(condition: Condition, fields: Mapping[str, FieldSpec]) -> str:
    spec = fields.get(condition.field)
    name = spec.name if spec else condition.field
    value = condition.value
    if isinstance(value, bool):
        shown = "是" if value else "否"
    elif isinstance(value, tuple):
        shown = "、".join(value)
    elif isinstance(value, Decimal):
        shown = f"{fmt(value)} × 低保线" if condition.times_line else fmt(value)
    else:
        shown = str(value)
    return f"{name} {condition.op} {shown}"


def fmt(amount: Decimal) -> str:
    """12350 → "12,350"; 9880.5 → "9,880.50"."""
    if amount == amount.to_integral():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}" if amount.as_tuple().exponent >= -2 else f"{amount.normalize():,}"


# -- evaluation ---------------------------------------------------------------


def _threshold(condition: Condition, line: Decimal | None) -> Value | None:
    if condition.times_line:
        return None if line is None else condition.value * line  # type: ignore[operator]
    return condition.value


def test(condition: Condition, facts: Facts, line: Decimal | None = None) -> bool | None:
    """Does the condition hold? None when the fact (or the 低保 line) is missing."""
    fact = facts.get(condition.field)
    if fact is None or fact == "":
        return None
    bound = _threshold(condition, line)
    if bound is None:
        return None
    op = condition.op
    if op == "in":
        return str(fact) in bound  # type: ignore[operator]
    if isinstance(bound, Decimal):
        fact = Decimal(str(fact))
    elif isinstance(bound, bool):
        fact = bool(fact)
    else:
        fact = str(fact)
    return {
        ">=": lambda: fact >= bound,
        ">": lambda: fact > bound,
        "<=": lambda: fact <= bound,
        "<": lambda: fact < bound,
        "=": lambda: fact == bound,
        "!=": lambda: fact != bound,
    }[op]()


@dataclass
class Evaluation:
    holds: bool
    group: Group | None = None  # the alternative that held
    missing: set[str] = field(default_factory=set)


def evaluate(rule: Rule, facts: Facts, line: Decimal | None = None) -> Evaluation:
    """Any alternative whose clauses all hold. Missing facts make a clause fail
    and are reported, so a form can ask for them."""
    if not rule:
        return Evaluation(True)
    missing: set[str] = set()
    for group in rule:
        results = [(c, test(c, facts, line)) for c in group]
        if all(r is True for _c, r in results):
            return Evaluation(True, group)
        # A missing fact matters only if the rest of the group could still hold.
        if not any(r is False for _c, r in results):
            missing |= {c.field for c, r in results if r is None}
    return Evaluation(False, None, missing)


# -- analysis for the set-up checks -------------------------------------------


@dataclass
class _Interval:
    lo: Decimal | None = None
    lo_in: bool = True
    hi: Decimal | None = None
    hi_in: bool = True
    not_equal: set[Decimal] = field(default_factory=set)

    def add(self, op: str, v: Decimal) -> None:
        if op in (">=", ">", "="):
            inclusive = op != ">"
            if self.lo is None or v > self.lo or (v == self.lo and not inclusive):
                self.lo, self.lo_in = v, inclusive
        if op in ("<=", "<", "="):
            inclusive = op != "<"
            if self.hi is None or v < self.hi or (v == self.hi and not inclusive):
                self.hi, self.hi_in = v, inclusive
        if op == "!=":
            self.not_equal.add(v)

    def empty(self) -> bool:
        if self.lo is not None and self.hi is not None:
            if self.lo > self.hi:
                return True
            if self.lo == self.hi:
                return not (self.lo_in and self.hi_in) or self.lo in self.not_equal
        return False

    def witness(self) -> Decimal:
        if self.lo is not None and self.lo_in and self.lo not in self.not_equal:
            return self.lo
        if self.hi is not None and self.hi_in and self.hi not in self.not_equal:
            return self.hi
        if self.lo is not None and self.hi is not None:
            return (self.lo + self.hi) / 2
        if self.lo is not None:
            return self.lo + 1
        if self.hi is not None:
            return self.hi - 1
        return Decimal(0)


def witness(conditions: Iterable[Condition], line: Decimal | None = None) -> dict[str, Any] | None:
    """Facts under which every condition holds, or None when they contradict
    each other. Conditions relative to the 低保 line are skipped when the line
    is not known (they are then assumed satisfiable)."""
    numbers: dict[str, _Interval] = {}
    others: dict[str, list[Condition]] = {}
    for c in conditions:
        bound = _threshold(c, line)
        if bound is None:
            continue
        if isinstance(bound, Decimal):
            numbers.setdefault(c.field, _Interval()).add(c.op, bound)
        else:
            others.setdefault(c.field, []).append(c)
    facts: dict[str, Any] = {}
    for key, interval in numbers.items():
        if interval.empty():
            return None
        facts[key] = interval.witness()
    for key, clauses in others.items():
        allowed: set[Any] | None = None
        banned: set[Any] = set()
        for c in clauses:
            if c.op == "!=":
                banned.add(c.value)
                continue
            values = set(c.value) if c.op == "in" else {c.value}  # type: ignore[arg-type]
            allowed = values if allowed is None else allowed & values
        if allowed is None:
            if all(isinstance(v, bool) for v in banned) and banned:
                allowed = {True, False}
            else:
                facts[key] = next((v for v in ("__other__",) if v not in banned), "__other__")
                continue
        allowed -= banned
        if not allowed:
            return None
        facts[key] = sorted(allowed, key=str)[0]
    return facts
