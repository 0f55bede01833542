"""HR event models and their validation (docs/design.md, "The HR event").

Everything an HR system can get wrong is caught here, before anything is scheduled or sent to
Graph, and reported per field with a JSON path ("employee.givenName", "events[3].eventId") so
the HR integrator can fix the mapping without reading our logs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from provisioning.events.values import (
    ISO_3166_ALPHA2,
    LANGUAGE_TAG,
    PHONE_NUMBER,
    custom,
    has_control,
    is_email_address,
    is_time_zone,
    not_a_string,
    optional_text,
    person_name,
)

EventType = Literal["hire", "update", "termination", "rehire", "leave-of-absence", "return-from-leave"]
EVENT_TYPES: tuple[EventType, ...] = (
    "hire",
    "update",
    "termination",
    "rehire",
    "leave-of-absence",
    "return-from-leave",
)
LEAVE_TYPES: frozenset[str] = frozenset({"leave-of-absence", "return-from-leave"})
"""Events that only change whether the account is enabled; every other field of the record stays as it is."""
MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 1024 * 1024
MAX_ATTRIBUTES = 50

# What the app itself writes into the custom SCIM extension (docs/design.md, "What goes to Entra"); HR `attributes`
# must not overwrite them. The admin adds each as "<SCIM_EXTENSION_URN>:<name>" to the app's schema.
APP_EXTENSION_ATTRIBUTES = (
    "HireDate",
    "LeaveDate",
    "samAccountName",
    "mailNickname",
    "employeeType",
    "officeLocation",
    "usageLocation",
    "proxyAddresses",
)
RESERVED_ATTRIBUTE_NAMES = frozenset(name.lower() for name in APP_EXTENSION_ATTRIBUTES)

# `\Z`, not `$`: `$` also matches before a trailing newline, which would let "E10042\n" through.
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}\Z")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
EARLIEST_EFFECTIVE_DATE: Final = date(1900, 1, 1)
"""Earlier effective dates are placeholders for an empty field, not something HR means."""
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})\Z")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=False)


AttributeValue = str | int | float | bool | None


class Employee(_Model):
    """The person an event is about; only `employeeId` is always required (see HrEvent for the rest)."""

    employee_id: str
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
    usage_location: str | None = None
    business_phone: str | None = None
    mobile_phone: str | None = None
    personal_email: str | None = None
    time_zone: str | None = None
    preferred_language: str | None = None
    attributes: dict[str, AttributeValue] | None = Field(default=None)

    @field_validator("employee_id", "manager_employee_id", mode="before")
    @classmethod
    def _employee_id(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise not_a_string(value)
        if not _EMPLOYEE_ID.match(value):
            raise custom("employee_id", "must be 1-16 characters of A-Z, a-z, 0-9, '_' or '-'")
        return value

    @field_validator("given_name", "family_name", "preferred_given_name", "middle_name", mode="before")
    @classmethod
    def _names(cls, value: object) -> str | None:
        return person_name(value)

    @field_validator("job_title", "office_location", "city", "state", mode="before")
    @classmethod
    def _long_text(cls, value: object) -> str | None:
        return optional_text(value, 128)

    @field_validator("department", "division", "cost_center", "company_name", "employee_type", mode="before")
    @classmethod
    def _short_text(cls, value: object) -> str | None:
        return optional_text(value, 64)

    @field_validator("postal_code", mode="before")
    @classmethod
    def _postal_code(cls, value: object) -> str | None:
        return optional_text(value, 40)

    @field_validator("country", "usage_location", mode="before")
    @classmethod
    def _country(cls, value: object) -> str | None:
        # The code rule comes before any length rule: "Germany" is a country name, not a string that is too long.
        text = optional_text(value, 64)
        if text is None:
            return None
        if text.upper() not in ISO_3166_ALPHA2:
            raise custom("country_code", "must be an ISO 3166-1 alpha-2 country code such as DE, not a country name")
        return text.upper()

    @field_validator("business_phone", "mobile_phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> str | None:
        text = optional_text(value, 64)
        if text is None:
            return None
        if not PHONE_NUMBER.match(text) or sum(char.isdigit() for char in text) < 3:
            raise custom("phone_number", "must be a phone number such as +49 30 1234567")
        return text

    @field_validator("personal_email", mode="before")
    @classmethod
    def _email(cls, value: object) -> str | None:
        text = optional_text(value, 254)
        if text is None:
            return None
        if not is_email_address(text):
            raise custom("email", "must be an email address such as name@example.org")
        return text

    @field_validator("time_zone", mode="before")
    @classmethod
    def _time_zone(cls, value: object) -> str | None:
        text = optional_text(value, 64)
        if text is None:
            return None
        if not is_time_zone(text):
            raise custom("time_zone", "must be an IANA time zone such as Europe/Berlin")
        return text

    @field_validator("preferred_language", mode="before")
    @classmethod
    def _language(cls, value: object) -> str | None:
        text = optional_text(value, 35)
        if text is None:
            return None
        if not LANGUAGE_TAG.match(text):
            raise custom("language_tag", "must be a BCP 47 language tag such as de-DE")
        return text

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: object) -> dict[str, AttributeValue] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise custom("attributes", "must be an object of name → string, number, boolean or null")
        if len(value) > MAX_ATTRIBUTES:
            raise custom("attributes", f"must hold at most {MAX_ATTRIBUTES} attributes")
        checked: dict[str, AttributeValue] = {}
        for name, item in value.items():
            checked[name] = _attribute(name, item)
        return checked

    @model_validator(mode="after")
    def _not_own_manager(self) -> Employee:
        if self.manager_employee_id is not None and self.manager_employee_id == self.employee_id:
            raise custom("own_manager", "an employee cannot be their own manager", path="managerEmployeeId")
        return self

    @property
    def first_name(self) -> str | None:
        """The name the person goes by: preferredGivenName, else givenName."""
        return self.preferred_given_name or self.given_name


def _attribute(name: object, item: object) -> AttributeValue:
    if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name):
        raise custom(
            "attribute_name",
            "attribute names must start with a letter and hold only letters, digits, '_' or '-' (max 64)",
            path=str(name),
        )
    if name.lower() in RESERVED_ATTRIBUTE_NAMES:
        raise custom("attribute_name", "this name is set by the app itself and cannot be sent", path=name)
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int):
        if abs(item) > 2**53:
            raise custom("attribute_value", "numbers must be within ±2^53", path=name)
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise custom("attribute_value", "numbers must be finite", path=name)
        return item
    if isinstance(item, str):
        if has_control(item) or len(item) > 1024:
            raise custom(
                "attribute_value",
                "strings must be at most 1024 characters without control characters",
                path=name,
            )
        return item
    raise custom("attribute_value", "must be a string, number, boolean or null", path=name)


def missing_for_type(event_type: str, *, has_date: bool, has_given_name: bool, has_family_name: bool) -> list[str]:
    """Fields an event of this type needs beyond the always-required ones (JSON paths)."""
    missing: list[str] = []
    if event_type != "update" and not has_date:
        missing.append("effectiveDate")
    if event_type in ("hire", "rehire"):
        if not has_given_name:
            missing.append("employee.givenName")
        if not has_family_name:
            missing.append("employee.familyName")
    return missing


class HrEvent(_Model):
    """One joiner / mover / leaver / rehire event; the `eventId` is the idempotency key."""

    event_id: str
    type: EventType
    effective_date: date | None = None
    occurred_at: datetime | None = None
    employee: Employee

    @field_validator("event_id", mode="before")
    @classmethod
    def _event_id(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise not_a_string(value)
        if not isinstance(value, str) or not _EVENT_ID.match(value):
            raise custom("event_id", "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'")
        return value

    @field_validator("effective_date", mode="before")
    @classmethod
    def _effective_date(cls, value: object) -> object:
        if value is None:
            return value
        if isinstance(value, date) and not isinstance(value, datetime):
            parsed = value
        elif not isinstance(value, str) or not _ISO_DATE.match(value):
            raise custom("date_format", "must be a date YYYY-MM-DD")
        else:
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                raise custom("date_format", "must be a real calendar date YYYY-MM-DD") from None
        if parsed < EARLIEST_EFFECTIVE_DATE:
            # HR systems fill empty date columns with placeholders such as 0001-01-01 or 1899-12-30 (the
            # spreadsheet epoch); acting on one would start a hire "now" on a date nobody entered.
            raise custom("date_range", f"must be on or after {EARLIEST_EFFECTIVE_DATE.isoformat()}")
        return parsed

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str) and _RFC3339.match(value):
            try:
                parsed = datetime.fromisoformat(value.upper())
            except ValueError:
                raise custom("datetime_format", "must be a real RFC 3339 timestamp") from None
        else:
            raise custom("datetime_format", "must be an RFC 3339 timestamp with offset, e.g. 2026-11-20T09:14:00Z")
        if parsed.tzinfo is None:
            raise custom("datetime_format", "must carry a UTC offset")
        return parsed

    @model_validator(mode="after")
    def _required_for_type(self) -> HrEvent:
        missing = missing_for_type(
            self.type,
            has_date=self.effective_date is not None,
            has_given_name=self.employee.given_name is not None,
            has_family_name=self.employee.family_name is not None,
        )
        if missing:
            raise PydanticCustomError(
                "required_for_type",
                "required for a {event_type} event",
                {"event_type": self.type, "fields": ",".join(missing)},
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """Wire form (camelCase, absent values omitted); `parse_event` reads it back unchanged."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class HrEventBatch(_Model):
    """The body of POST /api/hr-events/batch. Validated per event by `parse_batch`."""

    events: list[HrEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)
