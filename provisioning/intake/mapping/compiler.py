"""Reading a mapping file and checking all of it before anything is mapped.

Every mistake is collected with its place in the file (`event.employee.country.then[0].switch.default`) instead of
stopping at the first, so an admin fixes a file in one pass. YAML is read strictly: only true/false are booleans
(`NO`, Norway's country code, stays text), leading-zero numbers and dates stay text, and a key written twice is an
error rather than a silent overwrite.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo

import yaml
from jsonpath import JSONPath, JSONPathEnvironment, JSONPathError
from pydantic import ValidationError

from provisioning.events import EVENT_TYPES, Employee, JsonBodyError, is_time_zone, loads_strict
from provisioning.intake.mapping.dates import DateFormatError, DatePattern, DateReader, date_reader
from provisioning.intake.mapping.errors import MappingLoadError, MappingProblem
from provisioning.intake.mapping.expressions import (
    NO_DEFAULT,
    Const,
    DateStep,
    Expression,
    Field,
    First,
    Item,
    JoinSource,
    JoinStep,
    Keep,
    Kind,
    PathSource,
    RejectOutcome,
    Replace,
    SkipOutcome,
    Source,
    Split,
    Step,
    Switch,
    SwitchOutcome,
    TextStep,
    as_text,
    shown,
)

__all__ = ["CompiledMapping", "MappingFormat", "compile_mapping", "parse_mapping"]

MappingFormat = Literal["yaml", "json"]

_JSONPATH = JSONPathEnvironment(strict=True)  # RFC 9535 only: a path means the same here as in any other tool
_EMPLOYEE_FIELDS: dict[str, str] = {
    (info.alias or name): name for name, info in Employee.model_fields.items() if name != "attributes"
}
# Names HR systems and Entra use for our employee fields, so "unknown field" can say which one was meant.
_SYNONYMS = {
    "firstname": "givenName",
    "lastname": "familyName",
    "surname": "familyName",
    "sn": "familyName",
    "preferredname": "preferredGivenName",
    "nickname": "preferredGivenName",
    "title": "jobTitle",
    "businesstitle": "jobTitle",
    "manager": "managerEmployeeId",
    "managerid": "managerEmployeeId",
    "company": "companyName",
    "location": "officeLocation",
    "zipcode": "postalCode",
    "zip": "postalCode",
    "email": "personalEmail",
    "mobile": "mobilePhone",
    "phone": "businessPhone",
    "language": "preferredLanguage",
    "locale": "preferredLanguage",
    "costcentre": "costCenter",
    "employeenumber": "employeeId",
    "personidexternal": "employeeId",
}
_EVENT_FIELDS = ("eventId", "type", "effectiveDate", "occurredAt", "employee")
_REQUIRED = ("eventId", "type", "employee.employeeId")
_TOP_LEVEL = ("version", "description", "records", "event")
_SOURCES = ("path", "documentPath", "const", "first", "join")
_EXPRESSION_KEYS = (*_SOURCES, "then", "default", "ignoreIfEmpty")
_PLAIN_STEPS = ("trim", "lower", "upper", "string", "digest")
_ARGUMENT_STEPS = ("split", "item", "join", "replace", "switch", "date")
_ALL_STEPS = _PLAIN_STEPS + _ARGUMENT_STEPS


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A checked mapping: which records a document holds, and each event field's expression in evaluation order."""

    records: JSONPath | None
    records_query: str
    allow_empty: bool
    fields: tuple[Field, ...]


class _StrictYamlLoader(yaml.SafeLoader):
    """YAML read the way a reader of the file expects: `NO` (Norway) and `yes` stay text, as do `01067`, `12:30`
    and `2026-12-01`; only true/false are booleans. A key written twice is an error, not a silent overwrite."""


_StrictYamlLoader.yaml_implicit_resolvers = {}
for _tag, _regex, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _StrictYamlLoader.add_implicit_resolver(_tag, re.compile(_regex), list(_first))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} appears twice", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_mapping(text: str | bytes, fmt: MappingFormat, source: str) -> object:
    """The file's content as plain data; raises MappingLoadError when it is not UTF-8 YAML or strict JSON."""

    def fail(message: str) -> NoReturn:
        raise MappingLoadError(source, [MappingProblem("", message)])

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            fail("is not UTF-8 text")
    if fmt == "json":
        try:
            return loads_strict(text)
        except JsonBodyError as error:
            fail(f"is not plain JSON: {error}")
        except json.JSONDecodeError as error:
            fail(f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
        except ValueError:
            fail("holds a number too long for JSON")
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        fail("is nested too deeply")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        fail(f"is not valid YAML: {getattr(error, 'problem', None) or error}{where}")


class _Compiler:
    """Turns the parsed file into a CompiledMapping, collecting every problem with its place in the file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[MappingProblem] = []

    def problem(self, location: str, message: str) -> None:
        self.problems.append(MappingProblem(location, message))

    def compile(self, data: object) -> CompiledMapping:
        if not isinstance(data, dict):
            self.problem("", "must be a mapping with an `event` section" if data is None else "must be an object")
            raise MappingLoadError(self.file, self.problems)
        self.unknown_keys("", data, _TOP_LEVEL)
        if "version" in data and data["version"] != 1:
            self.problem("version", "must be 1 (the only version of this language)")
        if "description" in data and not isinstance(data["description"], str):
            self.problem("description", "must be text")
        records, records_query, allow_empty = self.records(data.get("records"))
        fields: list[Field] = []
        event = data.get("event")
        if not isinstance(event, dict):
            self.problem("event", "required: an object mapping eventId, type, employee, …")
        else:
            fields = self.event(event)
        if self.problems:
            raise MappingLoadError(self.file, self.problems)
        return CompiledMapping(
            records=records,
            records_query=records_query,
            allow_empty=allow_empty,
            fields=tuple(fields),
        )

    def unknown_keys(self, location: str, data: dict[Any, Any], allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                self.problem(_join(location, str(key)), f"unknown field{_did_you_mean(str(key), allowed)}")

    def records(self, value: object) -> tuple[JSONPath | None, str, bool]:
        if value is None:
            return None, "$", False
        allow_empty = False
        query = value
        if isinstance(value, dict):
            self.unknown_keys("records", value, ("path", "allowEmpty"))
            query = value.get("path")
            allow_empty = value.get("allowEmpty", False)
            if not isinstance(allow_empty, bool):
                self.problem("records.allowEmpty", "must be true or false")
        location = "records.path" if isinstance(value, dict) else "records"
        compiled = self.jsonpath(location, query)
        return compiled, str(query), allow_empty is True

    def jsonpath(self, location: str, query: object) -> JSONPath | None:
        if not isinstance(query, str) or not query.startswith("$"):
            self.problem(location, "must be a JSONPath starting with $, such as $.d.results[*]")
            return None
        try:
            compiled = _JSONPATH.compile(query)
        except JSONPathError as error:
            first_line = str(error).splitlines()[0]
            self.problem(location, f"is not a valid JSONPath (RFC 9535): {first_line}")
            return None
        if not isinstance(compiled, JSONPath):  # a compound path (| or &) is not RFC 9535
            self.problem(location, "must be one JSONPath")
            return None
        return compiled

    def event(self, event: dict[Any, Any]) -> list[Field]:
        self.unknown_keys("event", event, _EVENT_FIELDS)
        kinds: dict[str, Kind] = {"effectiveDate": "date", "occurredAt": "datetime"}
        employee = event.get("employee")
        if not isinstance(employee, dict):
            self.problem("event.employee", "required: an object mapping employeeId and the other employee fields")
            employee = {}
        fields = self.employee(employee)
        for key in ("eventId", "type", "effectiveDate", "occurredAt"):
            if key in event:
                expression = self.expression(f"event.{key}", event[key])
                if expression is not None:
                    fields.append(Field(key, expression, kinds.get(key, "text")))
                    if key == "type":
                        self.check_event_types(f"event.{key}", expression)
        written = set(event) | {f"employee.{key}" for key in employee}
        if not isinstance(event.get("employee"), dict):
            written.add("employee.employeeId")  # the missing section is reported already
        for required in _REQUIRED:
            if required not in written:
                self.problem(f"event.{required}", "required: every event needs it")
            elif any(item.target == required and item.expression.ignore_if_empty for item in fields):
                self.problem(f"event.{required}", "is required, so it cannot be ignoreIfEmpty")
        return fields

    def employee(self, employee: dict[Any, Any]) -> list[Field]:
        fields: list[Field] = []
        # The employee's zone first: `toZone: employee` in any other field reads it.
        for key in sorted(employee, key=lambda key: key != "timeZone"):
            location = f"event.employee.{key}"
            if key == "attributes":
                fields.extend(self.attributes(employee[key]))
            elif key not in _EMPLOYEE_FIELDS:
                meant = _SYNONYMS.get(str(key).lower())
                hint = f"; did you mean {meant}?" if meant else _did_you_mean(str(key), tuple(_EMPLOYEE_FIELDS))
                self.problem(location, f"unknown employee field{hint}")
            else:
                expression = self.expression(location, employee[key], zone_field=key == "timeZone")
                if expression is not None:
                    fields.append(Field(f"employee.{key}", expression, "text"))
        return fields

    def attributes(self, value: object) -> list[Field]:
        if not isinstance(value, dict):
            self.problem("event.employee.attributes", "must be an object of attribute name → expression")
            return []
        fields = []
        for name, expression_data in value.items():
            location = f"event.employee.attributes.{name}"
            try:
                Employee.model_validate({"employeeId": "E1", "attributes": {name: "x"}})
            except ValidationError as error:
                self.problem(location, str(error.errors()[0]["msg"]))
                continue
            expression = self.expression(location, expression_data)
            if expression is not None:
                fields.append(Field(f"employee.attributes.{name}", expression, "attribute"))
        return fields

    def check_event_types(self, location: str, expression: Expression) -> None:
        outputs: list[tuple[str, object]] = []
        if isinstance(expression.source, Const) and not expression.steps:
            outputs.append((f"{location}.const", expression.source.value))
        if expression.steps and isinstance(expression.steps[-1], Switch):
            switch = expression.steps[-1]
            where = f"{location}.then[{len(expression.steps) - 1}].switch"
            outputs += [(f"{where}.cases.{key}", outcome) for key, outcome in switch.cases.items()]
            outputs.append((f"{where}.default", switch.default))
        if expression.default is not NO_DEFAULT:
            outputs.append((f"{location}.default", expression.default))
        for where, output in outputs:
            if isinstance(output, str | int | float | bool) and output not in EVENT_TYPES:
                self.problem(where, f"{output!r} is not an event type ({', '.join(EVENT_TYPES)})")

    def expression(self, location: str, data: object, *, zone_field: bool = False) -> Expression | None:
        if isinstance(data, str):
            if not data.startswith("$"):
                self.problem(
                    location,
                    f"{shown(data)} is not a JSONPath (they start with $); write {{const: {shown(data)}}} for "
                    "a fixed value",
                )
                return None
            compiled = self.jsonpath(location, data)
            return Expression(PathSource(data, compiled, in_document=False)) if compiled else None
        if not isinstance(data, dict):
            self.problem(location, "must be a JSONPath or an object such as {path: $.firstName, then: [trim]}")
            return None
        self.unknown_keys(location, data, _EXPRESSION_KEYS)
        sources = [key for key in _SOURCES if key in data]
        if len(sources) != 1:
            found = ", ".join(sources) if sources else "none"
            self.problem(location, f"needs exactly one source of {', '.join(_SOURCES)} (found {found})")
            return None
        source = self.source(location, sources[0], data[sources[0]], zone_field=zone_field)
        steps = self.steps(location, data.get("then", []), zone_field=zone_field)
        ignore = data.get("ignoreIfEmpty", False)
        if not isinstance(ignore, bool):
            self.problem(f"{location}.ignoreIfEmpty", "must be true or false")
        default = data.get("default", NO_DEFAULT)
        if default is not NO_DEFAULT:
            if not _scalar(default) or default is None:
                self.problem(f"{location}.default", "must be text, a number or a boolean")
            if ignore is True:
                self.problem(location, "has both default and ignoreIfEmpty; an empty value can only do one")
        if source is None or steps is None:
            return None
        return Expression(source, steps, default, ignore is True)

    def source(self, location: str, kind: str, value: object, *, zone_field: bool) -> Source | None:
        where = f"{location}.{kind}"
        if kind in ("path", "documentPath"):
            compiled = self.jsonpath(where, value)
            return PathSource(str(value), compiled, in_document=kind == "documentPath") if compiled else None
        if kind == "const":
            if not _scalar(value) or value is None:
                self.problem(where, "must be text, a number or a boolean")
                return None
            return Const(value)
        if kind == "first":
            if not isinstance(value, list) or len(value) < 2:
                self.problem(where, "must list at least two expressions to choose from")
                return None
            candidates = [
                self.expression(f"{where}[{index}]", item, zone_field=zone_field) for index, item in enumerate(value)
            ]
            return First(tuple(c for c in candidates if c)) if all(candidates) else None
        return self.join_source(where, value, zone_field=zone_field)

    def join_source(self, where: str, value: object, *, zone_field: bool) -> Source | None:
        if not isinstance(value, dict):
            self.problem(where, "must be {separator: ' ', values: [...]}")
            return None
        self.unknown_keys(where, value, ("separator", "values"))
        separator = value.get("separator", "")
        if not isinstance(separator, str):
            self.problem(f"{where}.separator", 'must be text ("" for none)')
        parts = value.get("values")
        if not isinstance(parts, list) or not parts:
            self.problem(f"{where}.values", "must list the expressions to join")
            return None
        compiled = [
            self.expression(f"{where}.values[{index}]", item, zone_field=zone_field) for index, item in enumerate(parts)
        ]
        if not all(compiled) or not isinstance(separator, str):
            return None
        return JoinSource(separator, tuple(c for c in compiled if c))

    def steps(self, location: str, data: object, *, zone_field: bool) -> tuple[Step, ...] | None:
        if not isinstance(data, list):
            self.problem(f"{location}.then", "must be a list of steps, such as [trim, {split: ','}]")
            return None
        steps: list[Step | None] = []
        for index, item in enumerate(data):
            where = f"{location}.then[{index}]"
            if isinstance(item, str):
                if item in _PLAIN_STEPS:
                    steps.append(TextStep(item))
                else:
                    steps.append(None)
                    self.problem(where, f"unknown operation {item!r}{_did_you_mean(item, _ALL_STEPS)}")
                continue
            if not isinstance(item, dict) or len(item) != 1:
                steps.append(None)
                self.problem(where, "must be an operation name or a one-key object such as {split: ','}")
                continue
            name, argument = next(iter(item.items()))
            steps.append(self.step(f"{where}.{name}", str(name), argument, zone_field=zone_field))
        return tuple(step for step in steps if step) if all(steps) else None

    def step(self, where: str, name: str, argument: object, *, zone_field: bool) -> Step | None:
        if name in _PLAIN_STEPS:
            self.problem(where, f"{name} takes no argument; write it as a plain list item")
        elif name in ("split", "join"):
            if not isinstance(argument, str) or (name == "split" and not argument):
                self.problem(where, "must be the separator text" + (" (not empty)" if name == "split" else ""))
            else:
                return Split(argument) if name == "split" else JoinStep(argument)
        elif name == "item":
            if not isinstance(argument, int) or isinstance(argument, bool) or argument == 0:
                self.problem(where, "must be a position counted from 1 (or from the end: -1 is the last)")
            else:
                return Item(argument)
        elif name == "replace":
            return self.replace(where, argument)
        elif name == "switch":
            return self.switch(where, argument)
        elif name == "date":
            return self.date(where, argument, zone_field=zone_field)
        else:
            self.problem(where, f"unknown operation {name!r}{_did_you_mean(name, _ALL_STEPS)}")
        return None

    def replace(self, where: str, argument: object) -> Step | None:
        if not isinstance(argument, dict):
            self.problem(where, "must be {old: text, new: text}")
            return None
        self.unknown_keys(where, argument, ("old", "new"))
        old, new = argument.get("old"), argument.get("new", "")
        if not isinstance(old, str) or not old:
            self.problem(f"{where}.old", "must be the text to replace (not empty)")
        if not isinstance(new, str):
            self.problem(f"{where}.new", 'must be text ("" removes the old text)')
        return Replace(old, new) if isinstance(old, str) and old and isinstance(new, str) else None

    def switch(self, where: str, argument: object) -> Step | None:
        if not isinstance(argument, dict):
            self.problem(where, "must be {cases: {key: value, …}, default: value}")
            return None
        self.unknown_keys(where, argument, ("cases", "default", "ignoreCase"))
        ignore_case = argument.get("ignoreCase", False)
        if not isinstance(ignore_case, bool):
            self.problem(f"{where}.ignoreCase", "must be true or false")
            ignore_case = False
        cases = argument.get("cases")
        compiled: dict[str, SwitchOutcome] = {}
        if not isinstance(cases, dict) or not cases:
            self.problem(f"{where}.cases", "must map each HR value to the value to use")
        else:
            for key, outcome in cases.items():
                if not _scalar(key) or key is None:
                    self.problem(f"{where}.cases", f"key {key!r} must be text, a number or a boolean")
                    continue
                text = as_text(key)
                lookup = text.casefold() if ignore_case else text
                if lookup in compiled:
                    self.problem(f"{where}.cases.{text}", "appears twice (keys are compared as text)")
                compiled[lookup] = self.outcome(f"{where}.cases.{text}", outcome)
        if "default" not in argument:
            self.problem(
                f"{where}.default",
                "required: what an unlisted value becomes — a value, null, {keep: true}, {skip: reason} or "
                "{reject: message}",
            )
            return None
        default = self.outcome(f"{where}.default", argument["default"])
        return Switch(compiled, default, ignore_case) if isinstance(cases, dict) and cases else None

    def outcome(self, where: str, value: object) -> SwitchOutcome:
        if _scalar(value):
            return value  # type: ignore[return-value]
        if isinstance(value, dict) and any(key in value for key in _SOURCES):
            return self.expression(where, value)
        if isinstance(value, dict) and len(value) == 1:
            kind, argument = next(iter(value.items()))
            if kind == "keep" and argument is True:
                return Keep()
            if kind in ("skip", "reject") and isinstance(argument, str) and argument.strip():
                return SkipOutcome(argument) if kind == "skip" else RejectOutcome(argument)
        self.problem(
            where, "must be a value, null, an expression such as {path: …}, {keep: true}, {skip: …} or {reject: …}"
        )
        return None

    def date(self, where: str, argument: object, *, zone_field: bool) -> Step | None:
        if not isinstance(argument, dict):
            self.problem(where, "must be {format: …, zone: …, toZone: …, output: …}")
            return None
        self.unknown_keys(where, argument, ("format", "zone", "toZone", "output"))
        formats = argument.get("format")
        specs = formats if isinstance(formats, list) else [formats]
        readers: list[DateReader] = []
        if formats is None or not specs:
            self.problem(f"{where}.format", "required: a .NET date format such as yyyy-MM-dd, or iso8601, odata, …")
        for index, spec in enumerate(specs if formats is not None else []):
            at = f"{where}.format" + (f"[{index}]" if isinstance(formats, list) else "")
            if not isinstance(spec, str):
                self.problem(at, "must be text")
                continue
            try:
                readers.append(date_reader(spec))
            except DateFormatError as error:
                self.problem(at, str(error))
        zone = self.zone(f"{where}.zone", argument.get("zone", "UTC"))
        to_zone: tzinfo | Literal["employee"] | None = None
        if argument.get("toZone") == "employee":
            if zone_field:
                self.problem(f"{where}.toZone", "employee.timeZone cannot be dated in the employee's own zone")
            to_zone = "employee"
        elif "toZone" in argument:
            to_zone = self.zone(f"{where}.toZone", argument["toZone"], employee_allowed=True)
        output = None
        if "output" in argument:
            try:
                output = DatePattern(str(argument["output"])) if isinstance(argument["output"], str) else None
                if output is None:
                    self.problem(f"{where}.output", "must be a .NET date format such as yyyyMMdd")
            except DateFormatError as error:
                self.problem(f"{where}.output", str(error))
        if len(readers) != len(specs) or zone is None or ("toZone" in argument and to_zone is None):
            return None
        return DateStep(tuple(readers), zone, to_zone, output)

    def zone(self, where: str, value: object, *, employee_allowed: bool = False) -> tzinfo | None:
        if not isinstance(value, str) or not is_time_zone(value):
            also = " or employee (the event's employee.timeZone)" if employee_allowed else ""
            self.problem(where, f"{shown(str(value))} is not an IANA time zone such as Europe/Berlin{also}")
            return None
        return ZoneInfo(value)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _join(location: str, key: str) -> str:
    return f"{location}.{key}" if location else key


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f"; did you mean {close[0]}?" if close else ""


def compile_mapping(data: object, source: str) -> CompiledMapping:
    """Check parsed mapping data; raises MappingLoadError listing every problem with its place in the file."""
    return _Compiler(source).compile(data)
