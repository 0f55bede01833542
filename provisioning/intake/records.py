"""From a vendor's employee record to an `HrEvent`: the lifecycle decision every connector shares.

Each vendor module turns its API's record into an `HrRecord` (same fields, vendor names gone). This module then
decides what the change is:

- a termination when the record carries a termination date on or after its hire date (effective: the last day);
- a hire when the notification announces a new or starting employee, or the person has not started yet
  (effective: the hire date); a rehire when the record shows an earlier employment (original hire date or an
  older termination date before the current hire date); the orchestration runs a hire or rehire that already ran
  as an update instead;
- otherwise an update of the current record.

Hires, rehires and terminations get an event id from the employee and the date (one lifecycle change is one
run, however many notifications announce it: BambooHR sends `employee.created` and `employee.updated` for one
new hire); updates get one from the vendor's delivery id. Pure: no I/O, the caller passes `today`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from provisioning.events import Employee, EventValidationError, FieldError, parse_event
from provisioning.intake.notifications import Notification, digest

__all__ = ["START_EVENTS", "HrRecord", "MappedEvent", "map_record", "parse_date"]

START_EVENTS = frozenset({"created", "started", "joined", "activated"})
"""Notification kinds (the vendor module normalises its event names to these) that announce an employment."""


@dataclass(frozen=True)
class HrRecord:
    """An employee as every HR system knows them. `vendor_fields` names each field in the vendor's own words
    (employee.givenName -> firstName), so a validation error tells HR which field to fix."""

    employee_id: str | None
    given_name: str | None = None
    family_name: str | None = None
    preferred_given_name: str | None = None
    middle_name: str | None = None
    job_title: str | None = None
    department: str | None = None
    division: str | None = None
    cost_center: str | None = None
    company_name: str | None = None
    employee_type: str | None = None
    manager_employee_id: str | None = None
    office_location: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    business_phone: str | None = None
    mobile_phone: str | None = None
    personal_email: str | None = None
    time_zone: str | None = None
    preferred_language: str | None = None
    hire_date: date | None = None
    original_hire_date: date | None = None
    termination_date: date | None = None
    vendor_fields: Mapping[str, str] = field(default_factory=dict, compare=False)

    def employee_json(self) -> dict[str, Any]:
        """The `employee` object of an event (the event model's wire names, empty values left out).

        Every field of the record that the event's `Employee` also has goes there under the model's own alias,
        so a field added to both needs no mapping here; the dates and vendor names are the record's alone.
        """
        result: dict[str, Any] = {}
        for item in fields(self):
            model_field = Employee.model_fields.get(item.name)
            value = getattr(self, item.name)
            if model_field is None or value in (None, ""):
                continue
            result[model_field.alias or item.name] = value
        return result


@dataclass(frozen=True)
class MappedEvent:
    """The outcome of mapping: an event ready for the workflow, or the field errors that stop it."""

    event: dict[str, Any] | None
    errors: tuple[FieldError, ...] = ()
    update_event_id: str = ""
    """The id this change runs under as a plain update, when the hire it announces has already run."""


def parse_date(value: object) -> date | None:
    """A vendor date: `YYYY-MM-DD` (possibly with a time part); BambooHR's `0000-00-00` means none."""
    if not isinstance(value, str) or len(value) < 10 or value.startswith("0000"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _is_terminated(record: HrRecord) -> bool:
    ended = record.termination_date
    return ended is not None and (record.hire_date is None or ended >= record.hire_date)


def _is_rehire(record: HrRecord) -> bool:
    hired = record.hire_date
    if hired is None:
        return False
    earlier_hire = record.original_hire_date is not None and record.original_hire_date < hired
    earlier_exit = record.termination_date is not None and record.termination_date < hired
    return earlier_hire or earlier_exit


def map_record(record: HrRecord, notification: Notification, *, kind: str, today: date) -> MappedEvent:
    """Decide the change the notification stands for and validate it as an `HrEvent`.

    `kind` is the notification normalised by the vendor module: created, started, joined, activated, updated or
    terminated.
    """
    employee = record.employee_json()
    ref = notification.safe_employee_ref
    if _is_terminated(record):
        event_type, effective = "termination", record.termination_date
    elif kind in START_EVENTS or _is_rehire(record) or (record.hire_date is not None and record.hire_date >= today):
        event_type = "rehire" if _is_rehire(record) or kind == "activated" else "hire"
        effective = record.hire_date
    else:
        event_type, effective = "update", None
    update_id = f"{notification.vendor}-update-{digest(notification.delivery_id, ref)[:32]}"
    if event_type == "update":
        event_id = update_id
    else:
        event_id = f"{notification.vendor}-{ref}-{event_type}-{effective.isoformat() if effective else 'undated'}"
    body: dict[str, Any] = {"eventId": event_id, "type": event_type, "employee": employee}
    if effective is not None:
        body["effectiveDate"] = effective.isoformat()
    if notification.occurred_at:
        body["occurredAt"] = notification.occurred_at
    try:
        event = parse_event(body)
    except EventValidationError as invalid:
        errors = tuple(_in_vendor_terms(error, record.vendor_fields) for error in invalid.errors)
        return MappedEvent(None, errors, update_id)
    return MappedEvent(event.to_json(), (), update_id)


def _in_vendor_terms(error: FieldError, names: Mapping[str, str]) -> FieldError:
    vendor_name = names.get(error.field)
    if vendor_name is None:
        return error
    return FieldError(f"{error.field} ({vendor_name})", error.message)
