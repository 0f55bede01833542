"""The two sides a reconciliation compares: HR people and directory accounts, as plain JSON-ready values.

An `HrPerson` is one employee as HR knows them right now, carried as the HR event a roster row or a connector
record maps to (type, effective date, employee object): the same language the webhooks speak, so a planned change
is that event with its id filled in. An account is the dict Graph returns for the `ACCOUNT_SELECT` properties.
Pure: no I/O; `now` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from provisioning import schedule

__all__ = [
    "ACCOUNT_SELECT",
    "ATTRIBUTES",
    "DEFAULT_ATTRIBUTES",
    "HrPerson",
    "Policy",
    "account_value",
    "desired_value",
    "hr_status",
    "in_scope",
]

ATTRIBUTES: Final[dict[str, str]] = {
    "givenName": "givenName",
    "familyName": "surname",
    "displayName": "displayName",
    "jobTitle": "jobTitle",
    "department": "department",
    "companyName": "companyName",
    "employeeType": "employeeType",
    "officeLocation": "officeLocation",
    "city": "city",
    "state": "state",
    "postalCode": "postalCode",
    "country": "country",
    "businessPhone": "businessPhones",
    "mobilePhone": "mobilePhone",
    "preferredLanguage": "preferredLanguage",
}
"""HR field -> the Entra property the default provisioning mapping and Entra Connect fill from it.

Only these can be compared: the manager is not (Graph caps `$expand` on directory objects at 100 per page, so
reading managers would multiply the requests), and cost center, division and custom attributes have no default
Entra property. An update always sends the whole record, so those are corrected whenever anything else is.
"""
DEFAULT_ATTRIBUTES: Final = tuple(ATTRIBUTES)

ACCOUNT_SELECT: Final = (
    "id",
    "userPrincipalName",
    "mail",
    "proxyAddresses",
    "employeeId",
    "accountEnabled",
    "onPremisesSyncEnabled",
    "userType",
    *dict.fromkeys(ATTRIBUTES.values()),
)
"""What the directory read asks for (`$select`): identifiers, state, and every comparable property."""

ACTIVE_TYPES: Final = frozenset({"hire", "rehire", "update", "return-from-leave"})
LEAVE_TYPE: Final = "leave-of-absence"


@dataclass(frozen=True, slots=True)
class Policy:
    """What a comparison needs from the settings, captured when the run starts."""

    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES
    scope: str = "synced"
    """`synced`: accounts synced from AD (onPremisesSyncEnabled); `all`: every member account."""
    provision_lead_days: int = 7
    termination_local_time: str = "18:00"
    default_time_zone: str = "UTC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "attributes": list(self.attributes),
            "scope": self.scope,
            "provisionLeadDays": self.provision_lead_days,
            "terminationLocalTime": self.termination_local_time,
            "defaultTimeZone": self.default_time_zone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Policy:
        data = data or {}
        return cls(
            attributes=tuple(data.get("attributes") or DEFAULT_ATTRIBUTES),
            scope=str(data.get("scope") or "synced"),
            provision_lead_days=int(data.get("provisionLeadDays", 7)),
            termination_local_time=str(data.get("terminationLocalTime") or "18:00"),
            default_time_zone=str(data.get("defaultTimeZone", "UTC")),
        )


@dataclass(frozen=True, slots=True)
class HrPerson:
    """One employee as HR knows them now: the HR event their record maps to, and where the record was."""

    employee_id: str
    event_type: str
    effective_date: str | None
    employee: Mapping[str, Any]
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "employeeId": self.employee_id,
            "type": self.event_type,
            "effectiveDate": self.effective_date,
            "employee": dict(self.employee),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HrPerson:
        return cls(
            employee_id=str(data["employeeId"]),
            event_type=str(data["type"]),
            effective_date=data.get("effectiveDate"),
            employee=dict(data.get("employee") or {}),
            source=str(data.get("source") or ""),
        )

    @classmethod
    def from_event(cls, event: Mapping[str, Any], source: str) -> HrPerson:
        """From an HR event in wire form (what `HrEvent.to_json()` gives)."""
        employee = dict(event.get("employee") or {})
        return cls(str(employee["employeeId"]), str(event["type"]), event.get("effectiveDate"), employee, source)


def hr_status(person: HrPerson, *, now: datetime, policy: Policy) -> str:
    """Where the employee stands at `now`, in their own time zone.

    `active` (an account should exist and be enabled), `leaving` (still active; the last day is ahead), `leaver`
    (the last working day has ended: the account should be disabled), `pre-start` (a hire whose account is not due
    yet: PROVISION_LEAD_DAYS before the start date, like the hire workflow) or `inactive` (a type this comparison
    does not judge, such as a leave of absence).
    """
    zone = schedule.zone(person.employee.get("timeZone"), policy.default_time_zone)
    day = date.fromisoformat(person.effective_date) if person.effective_date else None
    if person.event_type == "termination":
        if day is None:
            return "leaver"
        ends = schedule.termination_instant(day, schedule.parse_local_time(policy.termination_local_time), zone)
        return "leaver" if ends <= now else "leaving"
    if person.event_type in ("hire", "rehire") and day is not None:
        starts = schedule.provisioning_start(day, policy.provision_lead_days, zone)
        return "pre-start" if starts > now else "active"
    if person.event_type == LEAVE_TYPE:
        begins = schedule.update_instant(day, zone)
        return "active" if begins is not None and begins > now else "inactive"
    return "active" if person.event_type in ACTIVE_TYPES else "inactive"


def in_scope(account: Mapping[str, Any], scope: str) -> bool:
    """Whether reconciliation judges this account: never a guest; with `synced`, only accounts synced from AD."""
    if str(account.get("userType") or "").lower() == "guest":
        return False
    return scope == "all" or account.get("onPremisesSyncEnabled") is True


def desired_value(person: HrPerson, attribute: str) -> str | None:
    """What the account should hold for an HR field (None: HR says nothing, so nothing is compared).

    The display name is the one the workflow writes: preferred (else legal) given name and family name.
    """
    employee = person.employee
    if attribute == "displayName":
        first = employee.get("preferredGivenName") or employee.get("givenName")
        family = employee.get("familyName")
        if not first and not family:
            return None
        return _text(" ".join(str(part) for part in (first, family) if part))
    return _text(employee.get(attribute))


def account_value(account: Mapping[str, Any], attribute: str) -> str | None:
    """What the account holds for an HR field (the first business phone for `businessPhone`)."""
    value = account.get(ATTRIBUTES[attribute])
    if isinstance(value, list):
        value = value[0] if value else None
    return _text(value)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None
