"""An uploaded roster (CSV or JSON) read into HR people with a mapping file, or refused with every problem at once.

A roster is the HR population at one moment, the way Microsoft's CSV2SCIM sample is fed for initial loads: one row
per employee, columns as the HR export names them. Each row is a record for the mapping language
(`provisioning.intake.mapping`): `$['Employee ID']` reads a column. What can be wrong is reported together, each
problem naming its row and column (`rows[7].Start Date`), up to `MAX_ERRORS`: an unknown encoding, a header with
empty or repeated names, rows with more or fewer values than the header, rows that do not fit the mapping or do not
make a valid HR event, and employee ids that appear twice. Nothing is planned from a roster with any problem.
Pure: bytes in, people or `RosterError` out.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from provisioning.events import EventValidationError, FieldError, JsonBodyError, loads_strict
from provisioning.intake.mapping import Mapping, MappingError, SkippedRecord
from provisioning.reconciliation.population import HrPerson

__all__ = ["MAX_ERRORS", "Roster", "RosterError", "read_roster"]

MAX_ERRORS: Final = 100
"""Problems listed in one answer; the last line says how many more there were."""
MAX_ROWS: Final = 100_000
_DELIMITERS: Final = ",;\t"


class RosterError(ValueError):
    """The roster cannot be planned from; `errors` name rows and columns (`rows[7].Start Date`)."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the roster: " + "; ".join(str(e.message) for e in errors[:3]))


@dataclass(frozen=True, slots=True)
class Roster:
    people: list[HrPerson]
    rows: int
    skipped: int
    """Rows the mapping chose to skip (a `skip` outcome), e.g. workers this app does not provision."""


class _Problems:
    """Collects problems up to the limit, folding one column's repeated message into one line."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.more = 0
        self._folded: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, field: str, message: str, *, column: str | None = None) -> None:
        if column is not None:
            rows = self._folded[(column, message)]
            rows.append(field)
            if len(rows) > 1:
                return
        if len(self.errors) >= MAX_ERRORS:
            self.more += 1
            return
        self.errors.append(FieldError(field, message))

    def result(self) -> list[FieldError]:
        errors = []
        for error in self.errors:
            repeats = next(
                (
                    rows
                    for (_, message), rows in self._folded.items()
                    if rows[0] == error.field and message == error.message
                ),
                None,
            )
            if repeats and len(repeats) > 1:
                errors.append(FieldError(error.field, f"{error.message} (and in {len(repeats) - 1} more rows)"))
            else:
                errors.append(error)
        if self.more:
            errors.append(FieldError("body", f"… and {self.more} more problems"))
        return errors


def read_roster(data: bytes, fmt: str, mapping: Mapping, *, default_time_zone: str = "UTC") -> Roster:
    """Read a `csv` or `json` roster with `mapping`; raises RosterError listing every problem (up to MAX_ERRORS)."""
    text = _decode(data)
    problems = _Problems()
    records = _csv_records(text, problems) if fmt == "csv" else _json_records(text, problems)
    people: list[HrPerson] = []
    first_row: dict[str, str] = {}
    skipped = 0
    rows = 0
    for location, record in records:
        rows += 1
        if rows > MAX_ROWS:
            raise RosterError([FieldError("body", f"more than {MAX_ROWS} rows; split the roster")])
        try:
            result = mapping.apply_record(record, location=location, default_time_zone=default_time_zone)
        except MappingError as error:
            for item in error.errors:
                problems.add(item.field, item.message, column=_column(item.field, location))
            continue
        if isinstance(result, SkippedRecord):
            skipped += 1
            continue
        try:
            event = result.validate()
        except EventValidationError as invalid:
            for item in invalid.errors:
                problems.add(item.field, item.message, column=_column(item.field, location))
            continue
        person = HrPerson.from_event(event.to_json(), result.location)
        where = result.sources.get("employee.employeeId", result.location)
        earlier = first_row.setdefault(person.employee_id.casefold(), result.location)
        if earlier != result.location:
            problems.add(where, f"employee.employeeId: {person.employee_id} is also the employee of {earlier}")
            continue
        people.append(person)
    if rows == 0 and not problems.errors:
        problems.add("body", "the roster has no rows")
    errors = problems.result()
    if errors:
        raise RosterError(errors)
    return Roster(people, rows, skipped)


def _decode(data: bytes) -> str:
    """UTF-8 (a byte order mark is allowed, as Excel writes it) or UTF-16 with its byte order mark."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            position = error.start
            line = data[:position].count(b"\n") + 1
            raise RosterError(
                [
                    FieldError(
                        f"rows[{line}]",
                        f"byte {position} is not UTF-8: the encoding is unknown; save the roster as CSV UTF-8 "
                        "(or UTF-16 with a byte order mark)",
                    )
                ]
            ) from None
    raise RosterError([FieldError("body", "the roster is not valid UTF-16 despite its byte order mark")])


def _csv_records(text: str, problems: _Problems) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    lines = io.StringIO(text, newline="")
    first = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=_DELIMITERS).delimiter if first.strip() else ","
    except csv.Error:
        delimiter = ","
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise RosterError([FieldError("rows[1]", f"the header is not valid CSV: {error}")]) from None
    names = _header(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.add(f"rows[{reader.line_num}]", f"not valid CSV: {error}")
            continue
        row = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank lines (a trailing newline, Excel's empty rows) are not employees
        if len(values) != len(names):
            problems.add(f"rows[{row}]", f"the row has {len(values)} values; the header has {len(names)} columns")
            continue
        yield ("rows", row), {name: value.strip() for name, value in zip(names, values, strict=True)}


def _header(header: list[str]) -> list[str]:
    """The column names; a header with an empty or repeated name is refused (every such column named)."""
    names = [name.strip() for name in header]
    problems: list[FieldError] = []
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            problems.append(FieldError(f"rows[1] column {number}", "the header has an empty column name"))
        elif name.casefold() in seen:
            problems.append(FieldError(f"rows[1].{name}", f"the column name repeats column {seen[name.casefold()]}"))
        else:
            seen[name.casefold()] = number
    if problems:
        raise RosterError(problems[:MAX_ERRORS])
    return names


def _json_records(text: str, problems: _Problems) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    try:
        document = loads_strict(text)
    except (JsonBodyError, json.JSONDecodeError, ValueError) as error:
        raise RosterError([FieldError("body", f"not valid JSON: {error}")]) from None
    rows = document.get("rows") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise RosterError([FieldError("body", 'a JSON roster is an array of row objects (or {"rows": [...]})')])
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.add(f"rows[{index}]", "a row must be a JSON object")
            continue
        yield ("rows", index), row


def _column(field: str, location: tuple[str | int, ...]) -> str:
    """The column part of a problem's place (`rows[7].Start Date` -> `Start Date`), to fold repeats."""
    prefix = f"{location[0]}[{location[1]}]" if len(location) == 2 else ""
    return field[len(prefix) :].lstrip(".") if prefix and field.startswith(prefix) else field
