"""Reading an HR event or batch from a request body: strict JSON, then validation, every problem reported at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from provisioning.events.errors import BatchTooLargeError, EventValidationError, FieldError, field_errors
from provisioning.events.models import MAX_BATCH_EVENTS, HrEvent


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event of a batch that failed validation; `event_id` is echoed when it could be read."""

    index: int
    event_id: str | None
    errors: tuple[FieldError, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "eventId": self.event_id, "errors": [e.as_dict() for e in self.errors]}


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """Valid events with their position in the batch, and the rejected ones."""

    accepted: tuple[tuple[int, HrEvent], ...]
    rejected: tuple[RejectedEvent, ...]


class JsonBodyError(ValueError):
    """JSON that parses but is ambiguous or not JSON at all under RFC 8259; the message says which."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on which duplicate wins (first, last, error), so the HR system and we could
            # read different events from one signed body. The key is a field name, never a value.
            raise JsonBodyError(f"duplicate key {json.dumps(key[:64])} in a JSON object")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise JsonBodyError(f"{name} is not a JSON value")


def loads_strict(text: str | bytes | bytearray) -> object:
    """`json.loads` that refuses duplicate object keys and NaN/Infinity, and reports excessive nesting.

    Raises JsonBodyError for those, json.JSONDecodeError (a ValueError) for syntax errors, ValueError for
    an integer literal too long to convert, and UnicodeDecodeError for bytes that are not UTF-8.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")  # json.loads would also guess UTF-16 and UTF-32
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise JsonBodyError("the JSON is nested too deeply") from None


def _load(data: object) -> object:
    if isinstance(data, bytes | bytearray | str):
        try:
            return loads_strict(data)
        except JsonBodyError as error:
            raise EventValidationError([FieldError("body", str(error))]) from None
        except (ValueError, UnicodeDecodeError):
            raise EventValidationError([FieldError("body", "must be valid UTF-8 JSON")]) from None
    return data


def parse_event(data: object) -> HrEvent:
    """Validate one HR event (a parsed JSON value, or raw JSON text/bytes).

    Raises EventValidationError listing the problems with their field paths.
    """
    body = _load(data)
    try:
        return HrEvent.model_validate(body)
    except ValidationError as error:
        raise EventValidationError(field_errors(error, raw=body)) from None


def parse_batch(data: object) -> ParsedBatch:
    """Validate a batch body `{"events": [...]}` event by event.

    The envelope must be right (else EventValidationError; BatchTooLargeError above
    MAX_BATCH_EVENTS). Each invalid event, and each repeat of an eventId within the batch, is
    rejected on its own with paths like "events[3].employee.givenName"; the rest are accepted.
    """
    body = _load(data)
    if not isinstance(body, Mapping):
        raise EventValidationError([FieldError("body", "must be a JSON object with an events array")])
    unknown = sorted(str(key) for key in body if key != "events")
    problems = [FieldError(key, "unknown field") for key in unknown]
    events = body.get("events")
    if not isinstance(events, list):
        problems.append(FieldError("events", "required: an array of 1-1000 events"))
        raise EventValidationError(problems)
    if len(events) > MAX_BATCH_EVENTS:
        raise BatchTooLargeError([FieldError("events", f"at most {MAX_BATCH_EVENTS} events per batch")])
    if not events:
        problems.append(FieldError("events", "must contain at least one event"))
    if problems:
        raise EventValidationError(problems)

    accepted: list[tuple[int, HrEvent]] = []
    rejected: list[RejectedEvent] = []
    seen: set[str] = set()
    for index, item in enumerate(events):
        raw_id = item.get("eventId") if isinstance(item, Mapping) else None
        event_id = raw_id if isinstance(raw_id, str) else None
        try:
            event = HrEvent.model_validate(item)
        except ValidationError as error:
            rejected.append(RejectedEvent(index, event_id, tuple(field_errors(error, ("events", index), raw=item))))
            continue
        if event.event_id in seen:
            duplicate = FieldError(f"events[{index}].eventId", "duplicate eventId within the batch")
            rejected.append(RejectedEvent(index, event.event_id, (duplicate,)))
            continue
        seen.add(event.event_id)
        accepted.append((index, event))
    return ParsedBatch(tuple(accepted), tuple(rejected))
