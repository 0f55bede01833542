"""A loaded mapping applied to documents and records: the events they map to, the records skipped on purpose."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from provisioning.events import (
    MAX_BATCH_EVENTS,
    EventValidationError,
    FieldError,
    HrEvent,
    is_time_zone,
    json_path,
    parse_event,
)
from provisioning.intake.mapping.compiler import CompiledMapping, MappingFormat, compile_mapping, parse_mapping
from provisioning.intake.mapping.errors import MappingError, MappingLoadError, MappingProblem, TooManyRecords
from provisioning.intake.mapping.expressions import Context, Reject, Skip, coerce, is_empty

__all__ = [
    "APP_ROOT",
    "MAX_MAPPING_BYTES",
    "MAX_RECORDS",
    "MappedDocument",
    "MappedEvent",
    "Mapping",
    "SkippedRecord",
    "load_configured",
]

MAX_RECORDS = MAX_BATCH_EVENTS
MAX_MAPPING_BYTES = 1024 * 1024
# Relative mapping paths in the app settings are read from the deployed app's root (where function_app.py is).
APP_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class MappedEvent:
    """The HR event one record maps to, before validation.

    `body` is the event in wire form (what POST /api/hr-events takes); `sources` names, per event field
    ("employee.givenName"), the path in the document it was read from, so validation errors point there.
    """

    index: int
    location: str
    body: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> str | None:
        value = self.body.get("eventId")
        return value if isinstance(value, str) else None

    def validate(self) -> HrEvent:
        """The event, validated exactly as POST /api/hr-events validates it.

        Raises EventValidationError whose fields are paths in the mapped document (where the value was read,
        else the record), each message starting with the event field it concerns.
        """
        try:
            return parse_event(self.body)
        except EventValidationError as invalid:
            located = [
                FieldError(self.sources.get(error.field, self.location), f"{error.field}: {error.message}")
                for error in invalid.errors
            ]
            raise EventValidationError(located) from None


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record the mapping chose not to turn into an event (a `skip` outcome), with the mapping's reason."""

    index: int
    location: str
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.location, "field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class MappedDocument:
    """What a whole document maps to: events in record order, and the records skipped on purpose."""

    events: tuple[MappedEvent, ...]
    skipped: tuple[SkippedRecord, ...]


class Mapping:
    """A loaded, fully checked mapping. Build it with `load` or `load_file`; apply it with `apply`."""

    def __init__(self, compiled: CompiledMapping, source: str) -> None:
        self.source = source
        self._compiled = compiled

    @property
    def targets(self) -> tuple[str, ...]:
        """The event fields this mapping fills ("eventId", "employee.givenName", …) in evaluation order."""
        return tuple(item.target for item in self._compiled.fields)

    @classmethod
    def load(cls, text: str | bytes, fmt: MappingFormat, *, source: str = "<mapping>") -> Mapping:
        """Parse and check a mapping; raises MappingLoadError listing every problem with its place in the file."""
        return cls(compile_mapping(parse_mapping(text, fmt, source), source), source)

    @classmethod
    def load_file(cls, path: str | Path) -> Mapping:
        """Read a mapping file (.yaml, .yml or .json); raises MappingLoadError naming the file."""
        file = Path(path)
        suffix = file.suffix.lower()
        if suffix not in (".yaml", ".yml", ".json"):
            raise MappingLoadError(str(path), [MappingProblem("", "must end in .yaml, .yml or .json")])
        try:
            with file.open("rb") as handle:
                data = handle.read(MAX_MAPPING_BYTES + 1)
        except OSError as error:
            raise MappingLoadError(str(path), [MappingProblem("", f"cannot be read ({error.strerror})")]) from None
        if len(data) > MAX_MAPPING_BYTES:
            raise MappingLoadError(str(path), [MappingProblem("", f"is larger than {MAX_MAPPING_BYTES} bytes")])
        return cls.load(data, "json" if suffix == ".json" else "yaml", source=str(path))

    def apply(self, document: object, *, default_time_zone: str = "UTC") -> MappedDocument:
        """Map every record of `document`; raises MappingError with every record's problems (nothing partial).

        Records are what `records` selects (the document itself when the mapping has none). Two records that
        map to one eventId must be the same change (the later is skipped); different content is an error.
        """
        if not isinstance(document, dict | list):
            raise MappingError([FieldError("body", "must be a JSON object or array")])
        events: list[MappedEvent] = []
        skipped: list[SkippedRecord] = []
        errors: list[FieldError] = []
        by_event_id: dict[str | None, MappedEvent] = {}
        for index, (parts, record) in enumerate(self._select(document)):
            try:
                result = self.apply_record(
                    record, document=document, index=index, location=parts, default_time_zone=default_time_zone
                )
            except MappingError as error:
                errors.extend(error.errors)
                continue
            if isinstance(result, SkippedRecord):
                skipped.append(result)
                continue
            earlier = by_event_id.setdefault(result.event_id, result)
            if earlier is result:
                events.append(result)
            elif earlier.body == result.body:
                skipped.append(SkippedRecord(index, result.location, "eventId", f"repeats {earlier.location}"))
            else:
                errors.append(
                    FieldError(
                        result.sources.get("eventId", result.location),
                        f"eventId: {result.event_id!r} is also the id of {earlier.location}, with different "
                        "content; map each change to its own eventId",
                    )
                )
        if errors:
            raise MappingError(errors)
        return MappedDocument(tuple(events), tuple(skipped))

    def apply_record(
        self,
        record: object,
        *,
        document: object = None,
        index: int = 0,
        location: tuple[str | int, ...] = (),
        default_time_zone: str = "UTC",
    ) -> MappedEvent | SkippedRecord:
        """Map one record (a JSON object: a webhook record, a roster row); `document` serves `documentPath`.

        `location` is the record's place as JSON path parts, ("d", "results", 3) or ("rows", 7); it prefixes
        every path in errors and `sources`. `default_time_zone` is the employee's zone when the event has none.
        Raises MappingError listing every field of the record that does not fit.
        """
        if not isinstance(record, dict):
            raise MappingError([FieldError(json_path(location), "a record must be a JSON object")])
        ctx = Context(record, record if document is None else document, location, ZoneInfo(default_time_zone))
        body: dict[str, Any] = {}
        sources: dict[str, str] = {}
        errors: list[FieldError] = []
        for item in self._compiled.fields:
            try:
                outcome = item.expression.evaluate(ctx)
                if outcome.source:
                    sources[item.target] = outcome.source
                if is_empty(outcome.value):
                    if outcome.missing:
                        raise Reject(
                            f"{outcome.missing[0]} is not in the document (add ignoreIfEmpty: true or a default "
                            "if the sender leaves it out)"
                        )
                    continue
                value = coerce(outcome.value, item.kind, ctx.employee_zone)
            except Skip as skip:
                return SkippedRecord(index, ctx.location, item.target, skip.reason)
            except Reject as reject:
                source = reject.source or sources.get(item.target) or ctx.location
                errors.append(FieldError(source, f"{item.target}: {reject.message}"))
                continue
            _put(body, item.target, value)
            if item.target == "employee.timeZone" and isinstance(value, str) and is_time_zone(value):
                ctx = Context(ctx.record, ctx.document, ctx.record_parts, ZoneInfo(value))
        if errors:
            raise MappingError(errors)
        return MappedEvent(index, ctx.location, body, sources)

    def _select(self, document: dict[str, Any] | list[Any]) -> list[tuple[tuple[str | int, ...], object]]:
        compiled = self._compiled
        if compiled.records is None:
            return [((), document)]
        matches = list(compiled.records.finditer(document))
        if not matches and not compiled.allow_empty:
            raise MappingError([FieldError("body", f"records: {compiled.records_query} selects no record")])
        if len(matches) > MAX_RECORDS:
            raise TooManyRecords(
                [FieldError("body", f"records: {len(matches)} records; at most {MAX_RECORDS} per request")]
            )
        return [(tuple(match.parts), match.obj) for match in matches]


def _put(body: dict[str, Any], target: str, value: object) -> None:
    *parents, name = target.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[name] = value


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Mapping | MappingLoadError]] = {}


def load_configured(setting: str) -> Mapping:
    """The mapping file an app setting names (relative paths from the app root), re-read when the file changes.

    Raises MappingLoadError naming the setting's path. The result, good or bad, is kept until the file's size or
    modification time changes, so a broken file is reported on every request without being re-read each time.
    """
    path = Path(setting)
    if not path.is_absolute():
        path = APP_ROOT / path
    try:
        stat = path.stat()
    except OSError as error:
        raise MappingLoadError(setting, [MappingProblem("", f"cannot be read ({error.strerror})")]) from None
    state = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is None or cached[0] != state:
        try:
            result: Mapping | MappingLoadError = Mapping.load_file(path)
        except MappingLoadError as error:
            result = MappingLoadError(setting, error.problems)
        cached = (state, result)
        with _cache_lock:
            _cache[path] = cached
    if isinstance(cached[1], MappingLoadError):
        raise cached[1]
    return cached[1]
