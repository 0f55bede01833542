"""HR event models and their validation (docs/design.md, "The HR event").

Everything an HR system can get wrong is caught here, before anything is scheduled or sent to
Graph, and reported per field with a JSON path ("employee.givenName", "events[3].eventId") so
the HR integrator can fix the mapping without reading our logs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

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
PROBLEM_CONTENT_TYPE = "application/problem+json"
INSTANCE_ID_PREFIX = "hr-"
# Durable Functions instance ids are limited to 256 characters.
_INSTANCE_ID_MAX = 256

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

# ISO 3166-1 alpha-2, officially assigned codes (249, as in the IANA tz iso3166.tab).
_ISO_3166_TEXT = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW "
)
ISO_3166_ALPHA2 = frozenset(_ISO_3166_TEXT.split())

# `\Z`, not `$`: `$` also matches before a trailing newline, which would let "E10042\n" through.
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}\Z")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})\Z")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}(?: ?(?:x|ext\.?) ?[0-9]{1,8})?\Z")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
# BCP 47 language tag (RFC 5646 "langtag" and private use), case-insensitive.
_BCP47 = re.compile(
    r"""^(?:
        (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})   # language (+ extlang)
        (?:-[a-z]{4})?                               # script
        (?:-(?:[a-z]{2}|[0-9]{3}))?                  # region
        (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*     # variants
        (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*         # extensions
        (?:-x(?:-[a-z0-9]{1,8})+)?                   # private use
      | x(?:-[a-z0-9]{1,8})+
    )\Z""",
    re.IGNORECASE | re.VERBOSE,
)
_PLAIN_KEY = re.compile(r'^[^.\[\]"]+\Z')
# RFC 6761 special-use names: no mailbox there can receive mail (email-validator rejects them too).
SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_INSTANCE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")


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


def _custom(kind: str, message: str, *, path: str = "") -> PydanticCustomError:
    """A validation error; `path` (one key, relative to where it is raised) points at the field."""
    return PydanticCustomError(kind, message, {"path": path} if path else None)


def _has_control(value: str) -> bool:
    # A lone surrogate ("\\ud800" in JSON) is not a character and cannot be encoded as UTF-8 downstream.
    return any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") for char in value)


def _optional_text(value: object, max_length: int) -> str | None:
    """Free text: surrounding whitespace trimmed, blank means absent, no control characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _custom("string_type", "must be a string")
    stripped = value.strip()
    if not stripped:
        return None
    if _has_control(stripped):
        raise _custom("control_characters", "must not contain control characters or line breaks")
    if len(stripped) > max_length:
        raise _custom("too_long", f"must be at most {max_length} characters")
    return stripped


# Characters a name may never carry, whatever the script: they are invisible or reorder what is displayed, so a
# name holding one can look like someone else's (Trojan-Source style spoofing in displayName and the portal).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u2060\ufeff\u180e")
# ZERO WIDTH NON-JOINER and JOINER are part of the spelling in Persian, Kurdish and Indic scripts (a Persian
# family name such as Shah-Mohammadi is written with U+200C between its parts), so between two letters they are
# kept, as IDNA's CONTEXTJ rule (RFC 5892) allows them.
_JOINERS = frozenset("\u200c\u200d")
PERSON_NAME_MAX = 64
"""Entra's and AD's limit for givenName and surname."""


def _name_character_problem(text: str) -> str | None:
    """Why `text` cannot be a person's name, or None: only invisible, reordering or non-characters are refused."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        code = f"U+{ord(char):04X}"
        if category == "Cs":
            return f"must not contain an unpaired surrogate ({code})"
        if category in ("Cc", "Zl", "Zp"):
            return f"must not contain control characters or line breaks ({code})"
        if char in _BIDI_CONTROLS:
            return f"must not contain bidirectional override or embedding characters ({code})"
        if char in _JOINERS:
            before = text[position - 1] if position else ""
            after = text[position + 1] if position + 1 < len(text) else ""
            if before and after and unicodedata.category(before)[0] in "LM" and unicodedata.category(after)[0] in "LM":
                continue
            return f"must not contain a zero-width joiner or non-joiner outside a word ({code})"
        if char in _ZERO_WIDTH or category == "Cf":
            return f"must not contain zero-width or invisible formatting characters ({code})"
    return None


def _person_name(value: object) -> str | None:
    """A given/family/middle name exactly as HR holds it: any printable text up to 64 characters.

    Periods, commas, parentheses, digits ("Smith Jr.", "Müller, II", "García (Pepe)", "J.R.") and every script are
    accepted; the value goes to displayName, givenName and surname unchanged (only surrounding whitespace is
    trimmed). The user name generator (naming.py) keeps only what a UPN or sAMAccountName can hold.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise _custom("string_type", "must be a string")
    text = value.strip()
    if not text:
        return None
    problem = _name_character_problem(text)
    if problem:
        raise _custom("name_characters", problem)
    if len(text) > PERSON_NAME_MAX:
        raise _custom("too_long", f"must be at most {PERSON_NAME_MAX} characters (the Entra and AD limit)")
    return text


def is_email_address(value: str) -> bool:
    """Address shape check (dot-atom local part, DNS domain with an alphabetic, non-special-use
    TLD); no DNS lookups, no extra dependency."""
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or len(value) > 254 or not _EMAIL_LOCAL.match(local):
        return False
    labels = domain.split(".")
    return (
        len(labels) >= 2
        and all(_DOMAIN_LABEL.match(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
        and labels[-1].lower() not in SPECIAL_USE_TLDS
    )


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(value: str) -> bool:
    """Whether `value` is an IANA time zone key known to the shipped tz database."""
    return value in _time_zones()


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
            raise _not_a_string(value)
        if not _EMPLOYEE_ID.match(value):
            raise _custom("employee_id", "must be 1-16 characters of A-Z, a-z, 0-9, '_' or '-'")
        return value

    @field_validator("given_name", "family_name", "preferred_given_name", "middle_name", mode="before")
    @classmethod
    def _names(cls, value: object) -> str | None:
        return _person_name(value)

    @field_validator("job_title", "office_location", "city", "state", mode="before")
    @classmethod
    def _long_text(cls, value: object) -> str | None:
        return _optional_text(value, 128)

    @field_validator("department", "division", "cost_center", "company_name", "employee_type", mode="before")
    @classmethod
    def _short_text(cls, value: object) -> str | None:
        return _optional_text(value, 64)

    @field_validator("postal_code", mode="before")
    @classmethod
    def _postal_code(cls, value: object) -> str | None:
        return _optional_text(value, 40)

    @field_validator("country", "usage_location", mode="before")
    @classmethod
    def _country(cls, value: object) -> str | None:
        # The code rule comes before any length rule: "Germany" is a country name, not a string that is too long.
        text = _optional_text(value, 64)
        if text is None:
            return None
        if text.upper() not in ISO_3166_ALPHA2:
            raise _custom("country_code", "must be an ISO 3166-1 alpha-2 country code such as DE, not a country name")
        return text.upper()

    @field_validator("business_phone", "mobile_phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> str | None:
        text = _optional_text(value, 64)
        if text is None:
            return None
        if not _PHONE.match(text) or sum(char.isdigit() for char in text) < 3:
            raise _custom("phone_number", "must be a phone number such as +49 30 1234567")
        return text

    @field_validator("personal_email", mode="before")
    @classmethod
    def _email(cls, value: object) -> str | None:
        text = _optional_text(value, 254)
        if text is None:
            return None
        if not is_email_address(text):
            raise _custom("email", "must be an email address such as name@example.org")
        return text

    @field_validator("time_zone", mode="before")
    @classmethod
    def _time_zone(cls, value: object) -> str | None:
        text = _optional_text(value, 64)
        if text is None:
            return None
        if not is_time_zone(text):
            raise _custom("time_zone", "must be an IANA time zone such as Europe/Berlin")
        return text

    @field_validator("preferred_language", mode="before")
    @classmethod
    def _language(cls, value: object) -> str | None:
        text = _optional_text(value, 35)
        if text is None:
            return None
        if not _BCP47.match(text):
            raise _custom("language_tag", "must be a BCP 47 language tag such as de-DE")
        return text

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: object) -> dict[str, AttributeValue] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise _custom("attributes", "must be an object of name → string, number, boolean or null")
        if len(value) > MAX_ATTRIBUTES:
            raise _custom("attributes", f"must hold at most {MAX_ATTRIBUTES} attributes")
        checked: dict[str, AttributeValue] = {}
        for name, item in value.items():
            checked[name] = _attribute(name, item)
        return checked

    @model_validator(mode="after")
    def _not_own_manager(self) -> Employee:
        if self.manager_employee_id is not None and self.manager_employee_id == self.employee_id:
            raise _custom("own_manager", "an employee cannot be their own manager", path="managerEmployeeId")
        return self

    @property
    def first_name(self) -> str | None:
        """The name the person goes by: preferredGivenName, else givenName."""
        return self.preferred_given_name or self.given_name


def _attribute(name: object, item: object) -> AttributeValue:
    if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name):
        raise _custom(
            "attribute_name",
            "attribute names must start with a letter and hold only letters, digits, '_' or '-' (max 64)",
            path=str(name),
        )
    if name.lower() in RESERVED_ATTRIBUTE_NAMES:
        raise _custom("attribute_name", "this name is set by the app itself and cannot be sent", path=name)
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int):
        if abs(item) > 2**53:
            raise _custom("attribute_value", "numbers must be within ±2^53", path=name)
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise _custom("attribute_value", "numbers must be finite", path=name)
        return item
    if isinstance(item, str):
        if _has_control(item) or len(item) > 1024:
            raise _custom(
                "attribute_value",
                "strings must be at most 1024 characters without control characters",
                path=name,
            )
        return item
    raise _custom("attribute_value", "must be a string, number, boolean or null", path=name)


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


def _not_a_string(value: object) -> PydanticCustomError:
    """An id sent as another JSON type; HR exports often turn numeric ids into numbers, so say how to send it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _custom("id_type", f'must be a string (send "{value}" in quotes), not a JSON number')
    return _custom("id_type", f"must be a string, not a JSON {_json_kind(value)}")


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "value"


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
            raise _not_a_string(value)
        if not isinstance(value, str) or not _EVENT_ID.match(value):
            raise _custom("event_id", "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'")
        return value

    @field_validator("effective_date", mode="before")
    @classmethod
    def _effective_date(cls, value: object) -> object:
        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise _custom("date_format", "must be a date YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _custom("date_format", "must be a real calendar date YYYY-MM-DD") from None

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
                raise _custom("datetime_format", "must be a real RFC 3339 timestamp") from None
        else:
            raise _custom("datetime_format", "must be an RFC 3339 timestamp with offset, e.g. 2026-11-20T09:14:00Z")
        if parsed.tzinfo is None:
            raise _custom("datetime_format", "must carry a UTC offset")
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


def _field_errors(error: ValidationError, prefix: tuple[int | str, ...] = (), raw: object = None) -> list[FieldError]:
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
        raise EventValidationError(_field_errors(error, raw=body)) from None


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
            rejected.append(RejectedEvent(index, event_id, tuple(_field_errors(error, ("events", index), raw=item))))
            continue
        if event.event_id in seen:
            duplicate = FieldError(f"events[{index}].eventId", "duplicate eventId within the batch")
            rejected.append(RejectedEvent(index, event.event_id, (duplicate,)))
            continue
        seen.add(event.event_id)
        accepted.append((index, event))
    return ParsedBatch(tuple(accepted), tuple(rejected))


def event_fingerprint(event: HrEvent) -> str:
    """A canonical hash of what an event says, stored with its run so a reused eventId can be compared.

    Computed over the validated event (camelCase, absent and null values left out, keys sorted), so the same
    event sent again with other whitespace, key order or explicit nulls is the same event, and any change to a
    value is a different one.
    """
    canonical = json.dumps(event.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def sanitize_instance_id(event_id: str) -> str:
    """Durable instance id for an event: "hr-" + the eventId with an injective escape.

    Letters, digits, '.' and '-' are kept; any other character becomes "_xx" per UTF-8 byte, so
    two different eventIds never share an instance (which would silently merge two events).
    Ids that would exceed Durable's 256-character limit become "hr-_h" + a SHA-256 (the
    "_h" escape cannot arise from the byte escape, which only uses hex digits).
    """
    escaped = "".join(
        char if char in _INSTANCE_SAFE else "".join(f"_{byte:02x}" for byte in char.encode("utf-8"))
        for char in event_id
    )
    instance_id = INSTANCE_ID_PREFIX + escaped
    if len(instance_id) > _INSTANCE_ID_MAX or not event_id:
        return f"{INSTANCE_ID_PREFIX}_h{hashlib.sha256(event_id.encode('utf-8')).hexdigest()}"
    return instance_id


def instance_event_id(instance_id: str) -> str | None:
    """The eventId an instance id was made from (the inverse of `sanitize_instance_id`), or None when the id was
    hashed or is not an event's."""
    if not instance_id.startswith(INSTANCE_ID_PREFIX) or instance_id.startswith(f"{INSTANCE_ID_PREFIX}_h"):
        return None
    escaped = instance_id[len(INSTANCE_ID_PREFIX) :]
    decoded = bytearray()
    index = 0
    while index < len(escaped):
        if escaped[index] == "_":
            if index + 3 > len(escaped):
                return None
            try:
                decoded.append(int(escaped[index + 1 : index + 3], 16))
            except ValueError:
                return None
            index += 3
        else:
            decoded += escaped[index].encode("ascii")
            index += 1
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
