"""What is wrong with a body, said per field: FieldError with a JSON path ("events[3].employee.givenName"), the
exception that carries them, and the RFC 9457 problem document they are answered with."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from provisioning.events.models import EVENT_TYPES, missing_for_type

PROBLEM_CONTENT_TYPE = "application/problem+json"
_PLAIN_KEY = re.compile(r'^[^.\[\]"]+\Z')


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field; `field` is a JSON path such as "events[3].employee.givenName"."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class EventValidationError(ValueError):
    """The request body is not a valid HR event (or batch); `.errors` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{error.field}: {error.message}" for error in self.errors[:5])
        super().__init__(f"invalid HR event: {summary}")


class BatchTooLargeError(EventValidationError):
    """More than MAX_BATCH_EVENTS events: the HTTP layer answers 413 rather than 400."""


def json_path(location: tuple[int | str, ...]) -> str:
    """`employee.givenName`, `events[3].eventId`; a key that would make the path ambiguous (an unknown field
    such as "a.b", "x[0]" or "") is written `["a.b"]`, so every path names exactly one place in the body."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            path += f"[{json.dumps(part)}]"
        else:
            path += f".{part}" if path else part
    return path or "body"


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "string_type": "must be a string",
    # `type` is the only Literal field.
    "literal_error": "must be one of " + ", ".join(EVENT_TYPES),
}


def field_errors(error: ValidationError, prefix: tuple[int | str, ...] = (), raw: object = None) -> list[FieldError]:
    """Pydantic errors as FieldErrors with JSON paths, expanding our path/fields context.

    Pydantic skips the cross-field rules (own manager, fields required for the type) once any single field fails,
    so an HR integrator would fix one round of errors only to meet the next. Those rules are checked again on the
    raw body here, and every problem is reported at once.
    """
    result: list[FieldError] = []
    for detail in error.errors(include_url=False):
        result.extend(_expand(detail, prefix))
    reported = {item.field for item in result}
    for extra in _cross_field_errors(raw, prefix):
        if extra.field not in reported:
            result.append(extra)
            reported.add(extra.field)
    return result


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cross_field_errors(raw: object, prefix: tuple[int | str, ...]) -> list[FieldError]:
    """The rules that involve two fields, checked on a body that failed field validation."""
    if not isinstance(raw, Mapping):
        return []
    employee = raw.get("employee")
    employee = employee if isinstance(employee, Mapping) else {}
    errors: list[FieldError] = []
    manager, own = employee.get("managerEmployeeId"), employee.get("employeeId")
    if isinstance(manager, str) and manager and manager == own:
        errors.append(
            FieldError(json_path((*prefix, "employee", "managerEmployeeId")), "an employee cannot be their own manager")
        )
    event_type = raw.get("type")
    if event_type in EVENT_TYPES:
        missing = missing_for_type(
            str(event_type),
            has_date=_present(raw.get("effectiveDate")),
            has_given_name=_present(employee.get("givenName")),
            has_family_name=_present(employee.get("familyName")),
        )
        errors += [
            FieldError(json_path((*prefix, *name.split("."))), f"required for a {event_type} event") for name in missing
        ]
    return errors


def _expand(detail: ErrorDetails, prefix: tuple[int | str, ...]) -> list[FieldError]:
    location = prefix + tuple(detail["loc"])
    context = detail.get("ctx") or {}
    message = _MESSAGES.get(detail["type"], detail["msg"])
    if "fields" in context:
        return [
            FieldError(json_path(location + tuple(name.split("."))), message)
            for name in str(context["fields"]).split(",")
        ]
    if context.get("path"):
        location += (str(context["path"]),)
    return [FieldError(json_path(location), message)]


def problem_details(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    type_: str = "about:blank",
) -> dict[str, Any]:
    """An RFC 9457 problem document (served as application/problem+json)."""
    return {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [error.as_dict() for error in errors or []],
    }
