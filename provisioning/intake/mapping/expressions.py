"""How a compiled mapping reads a record: sources, steps and the conversion into event field types.

Values flowing through an expression are JSON values, lists of them (a JSONPath with several matches, `split`),
dates and datetimes (`date`). Every expression also carries where its value came from in the document, so an
error names that place, and which JSONPaths matched nothing, so a field left empty by a document of the wrong
shape is told apart from one that is legitimately empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from jsonpath import JSONPath

from provisioning.events import json_path
from provisioning.intake.mapping.dates import DatePattern, DateReader, DateValueError, calendar_date

__all__ = [
    "NO_DEFAULT",
    "Const",
    "Context",
    "DateStep",
    "Expression",
    "Field",
    "First",
    "Item",
    "JoinSource",
    "JoinStep",
    "Keep",
    "Kind",
    "Outcome",
    "PathSource",
    "Reject",
    "RejectOutcome",
    "Replace",
    "Skip",
    "SkipOutcome",
    "Source",
    "Split",
    "Step",
    "Switch",
    "SwitchOutcome",
    "TextStep",
    "as_text",
    "coerce",
    "is_empty",
    "shown",
]

Value = Any  # JSON values, lists of them, dates and datetimes
Kind = Literal["text", "date", "datetime", "attribute"]


class Skip(Exception):
    """The record is not an event this app handles (a `skip` outcome); it is reported, not an error."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Reject(Exception):
    """A value the mapping refuses; `source` (filled on the way out of the expression) is where it was read."""

    def __init__(self, message: str, source: str | None = None) -> None:
        self.message = message
        self.source = source


@dataclass(frozen=True, slots=True)
class Context:
    """The record being mapped, the whole document (for `documentPath`) and the employee's time zone."""

    record: object
    document: object
    record_parts: tuple[str | int, ...]
    employee_zone: tzinfo

    @property
    def location(self) -> str:
        return json_path(self.record_parts)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A value, the document path it came from, and the JSONPaths that matched nothing on the way."""

    value: Value
    source: str | None = None
    missing: tuple[str, ...] = ()


def is_empty(value: Value) -> bool:
    """Null, blank text or an empty list: what Entra's IsNullOrEmpty calls empty."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def as_text(value: Value) -> str:
    """A value as text the way JSON writes it (true, 42, 0.5); dates in ISO 8601; objects as canonical JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=as_text)


def shown(text: str) -> str:
    """A value quoted for an error message, cut short: HR values can be long."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def describe(value: Value) -> str:
    if isinstance(value, list):
        return f"{len(value)} values"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a value"


# -- sources -----------------------------------------------------------------------------------------------------


class Source:
    def evaluate(self, ctx: Context) -> Outcome:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class PathSource(Source):
    """`path` (in the record) or `documentPath` (in the whole document): Entra's [attribute], by JSONPath."""

    query: str
    compiled: JSONPath
    in_document: bool

    def evaluate(self, ctx: Context) -> Outcome:
        target = ctx.document if self.in_document else ctx.record
        matches = list(self.compiled.finditer(target))  # type: ignore[arg-type]
        if not matches:
            return Outcome(None, None, (self.query,))
        prefix = () if self.in_document else ctx.record_parts
        source = json_path(prefix + tuple(matches[0].parts))
        if len(matches) == 1:
            return Outcome(matches[0].obj, source)
        return Outcome([match.obj for match in matches], source)


@dataclass(frozen=True, slots=True)
class Const(Source):
    value: Value

    def evaluate(self, ctx: Context) -> Outcome:
        return Outcome(self.value)


@dataclass(frozen=True, slots=True)
class First(Source):
    """Entra's Coalesce: the first candidate with a value."""

    candidates: tuple[Expression, ...]

    def evaluate(self, ctx: Context) -> Outcome:
        outcomes = []
        for candidate in self.candidates:
            outcome = candidate.evaluate(ctx)
            if not is_empty(outcome.value):
                return outcome
            outcomes.append(outcome)
        return Outcome(None, outcomes[0].source, _all_missing(outcomes))


@dataclass(frozen=True, slots=True)
class JoinSource(Source):
    """Entra's Join(separator, source1, source2, …): the values that have content, list values flattened."""

    separator: str
    parts: tuple[Expression, ...]

    def evaluate(self, ctx: Context) -> Outcome:
        outcomes = [part.evaluate(ctx) for part in self.parts]
        texts = [
            as_text(item)
            for outcome in outcomes
            for item in (outcome.value if isinstance(outcome.value, list) else [outcome.value])
            if not is_empty(item)
        ]
        source = next((outcome.source for outcome in outcomes if outcome.source), None)
        if not texts:
            return Outcome(None, source, _all_missing(outcomes))
        return Outcome(self.separator.join(texts), source)


def _all_missing(outcomes: list[Outcome]) -> tuple[str, ...]:
    """Missing only when every candidate was missing: one present but empty value means the document fits."""
    if all(outcome.missing for outcome in outcomes):
        return tuple(query for outcome in outcomes for query in outcome.missing)
    return ()


NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class Expression:
    """A source, the steps applied to its value in order, and what an empty result does."""

    source: Source
    steps: tuple[Step, ...] = ()
    default: Value = NO_DEFAULT
    ignore_if_empty: bool = False

    def evaluate(self, ctx: Context) -> Outcome:
        outcome = self.source.evaluate(ctx)
        if self.ignore_if_empty and is_empty(outcome.value):
            return Outcome(None, outcome.source)
        value, source, missing = outcome.value, outcome.source, outcome.missing
        try:
            for step in self.steps:
                result = step.run(value, ctx)
                if isinstance(result, Outcome):  # a switch case that reads another field: its value from now on
                    value, source, missing = result.value, result.source or source, result.missing
                else:
                    value = result
        except Reject as reject:
            reject.source = reject.source or source
            raise
        if not is_empty(value):
            return Outcome(value, source)
        if self.default is not NO_DEFAULT:
            return Outcome(self.default, source)
        return Outcome(None, source, () if self.ignore_if_empty else missing)


# -- steps -------------------------------------------------------------------------------------------------------


class Step:
    def run(self, value: Value, ctx: Context) -> Value:
        """The step's result: a value, or an Outcome when the step reads the document itself (a switch case)."""
        raise NotImplementedError


def _each(value: Value, function: Any) -> Value:
    """A text function applied to a value, or to each item of a list; other values pass unchanged."""
    if isinstance(value, list):
        return [_each(item, function) for item in value]
    return function(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class TextStep(Step):
    """trim, lower (ToLower), upper (ToUpper), string (CStr) and digest (a SHA-256 of the value's JSON)."""

    name: str

    def run(self, value: Value, ctx: Context) -> Value:
        if self.name == "trim":
            return _each(value, str.strip)
        if self.name == "lower":
            return _each(value, str.lower)
        if self.name == "upper":
            return _each(value, str.upper)
        if self.name == "string":
            if isinstance(value, list):
                return [None if item is None else as_text(item) for item in value]
            return None if value is None else as_text(value)
        if value is None:
            return None
        return hashlib.sha256(as_text(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Split(Step):
    """Entra's Split: delimited text becomes a list (parts trimmed, empty parts dropped)."""

    separator: str

    def run(self, value: Value, ctx: Context) -> Value:
        if isinstance(value, list):
            return [part for item in value for part in self.run(item, ctx) or []]
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(self.separator) if part.strip()]


@dataclass(frozen=True, slots=True)
class Item(Step):
    """Entra's Item: the n-th value of a list, counting from 1 (-1 is the last); a single value is item 1."""

    number: int

    def run(self, value: Value, ctx: Context) -> Value:
        items = value if isinstance(value, list) else [value]
        index = self.number - 1 if self.number > 0 else self.number
        return items[index] if -len(items) <= index < len(items) else None


@dataclass(frozen=True, slots=True)
class JoinStep(Step):
    """Join as a step: a list's values with content, as one text."""

    separator: str

    def run(self, value: Value, ctx: Context) -> Value:
        if not isinstance(value, list):
            return value
        return self.separator.join(as_text(item) for item in value if not is_empty(item)) or None


@dataclass(frozen=True, slots=True)
class Replace(Step):
    """Entra's Replace with oldValue and replacementValue: every occurrence, case-sensitive."""

    old: str
    new: str

    def run(self, value: Value, ctx: Context) -> Value:
        return _each(value, lambda text: text.replace(self.old, self.new))


@dataclass(frozen=True, slots=True)
class Keep:
    """`{keep: true}`: the value itself, as in Entra's `Switch([x], [x], …)`."""


@dataclass(frozen=True, slots=True)
class SkipOutcome:
    reason: str


@dataclass(frozen=True, slots=True)
class RejectOutcome:
    message: str


SwitchOutcome = Keep | SkipOutcome | RejectOutcome | Expression | str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Switch(Step):
    """Entra's Switch(source, defaultValue, key1, value1, …): exact match on the value's text; "" matches empty.

    As in Entra, a case may give another field's value (an expression), which makes a switch the conditional:
    the termination's last working day, the hire's start date.
    """

    cases: dict[str, SwitchOutcome]
    default: SwitchOutcome
    ignore_case: bool

    def run(self, value: Value, ctx: Context) -> Value:
        if isinstance(value, list | dict):
            raise Reject(f"switch needs one value, got {describe(value)}")
        key = "" if is_empty(value) else as_text(value)
        outcome = self.cases.get(key.casefold() if self.ignore_case else key, self.default)
        if isinstance(outcome, Keep):
            return value
        if isinstance(outcome, SkipOutcome):
            raise Skip(outcome.reason)
        if isinstance(outcome, RejectOutcome):
            raise Reject(f"{outcome.message} (value {shown(key)})")
        if isinstance(outcome, Expression):
            return outcome.evaluate(ctx)
        return outcome


@dataclass(frozen=True, slots=True)
class DateStep(Step):
    """Entra's FormatDateTime, with the zones HR dates need: read in the HR system's zone, dated in the employee's."""

    readers: tuple[DateReader, ...]
    zone: tzinfo
    to_zone: tzinfo | Literal["employee"] | None
    output: DatePattern | None

    def run(self, value: Value, ctx: Context) -> Value:
        if is_empty(value):
            return None
        if isinstance(value, list | dict):
            raise Reject(f"a date must be one value, got {describe(value)}")
        parsed = value if isinstance(value, date) else self._parse(value)
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        if self.to_zone is not None:
            parsed = calendar_date(parsed, ctx.employee_zone if self.to_zone == "employee" else self.to_zone)
        if self.output is None:
            return parsed
        try:
            return self.output.format(parsed)
        except DateValueError as error:
            raise Reject(str(error)) from None

    def _parse(self, value: Value) -> date | datetime:
        failures = []
        for reader in self.readers:
            try:
                return reader.parse(value)
            except DateValueError as error:
                failures.append(str(error))
        if len(failures) == 1:
            raise Reject(failures[0])
        names = ", ".join(reader.name for reader in self.readers)
        raise Reject(f"{shown(as_text(value))} matches none of the date formats {names}")


# -- event fields ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One event field: where it goes in the event, its expression, and the type it must have."""

    target: str  # "eventId", "employee.givenName", "employee.attributes.CostCenter"
    expression: Expression
    kind: Kind


def coerce(value: Value, kind: Kind, zone: tzinfo) -> Value:
    """The mapped value in the type its event field takes; raises Reject saying what to change otherwise.

    Whole numbers become text where the event wants text (HR systems send employee ids as numbers); a date and
    time becomes a date in `zone` (the employee's) where the event wants a date.
    """
    if isinstance(value, list):
        raise Reject(f"gave {len(value)} values; pick one (item, a JSONPath filter) or join them")
    if isinstance(value, dict):
        raise Reject("is a JSON object; point the path at one of its fields")
    if isinstance(value, datetime):
        if kind == "date":
            return (calendar_date(value, zone) if value.tzinfo else value.date()).isoformat()
        return value.isoformat()
    if isinstance(value, date):
        if kind == "datetime":
            raise Reject(f"is the date {value.isoformat()}; occurredAt needs a date and time with offset")
        return value.isoformat()
    if kind == "attribute" or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Reject(f"is {describe(value)}; map it to text (switch, or the string step)")
