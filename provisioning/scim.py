"""SCIM records and BulkRequests for Entra API-driven inbound provisioning (docs/design.md, "What goes to Entra").

Two facts shape this module. The provisioning service treats an omitted `active` as false, so
every record carries `active` explicitly. And an update is never partial: an update or
termination is merged onto what Entra already holds, so each upload is the complete known record.
Empty strings are never sent (the AD connector rejects them with LdapErr v3839); absent values
are omitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from provisioning.events import APP_EXTENSION_ATTRIBUTES, HrEvent
from provisioning.naming import NameCandidate

SCIM_CONTENT_TYPE = "application/scim+json"
BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_OPERATIONS_PER_REQUEST = 50
WORK = "work"
MOBILE = "mobile"
# RFC 7643 §4.1.2 canonical email types are work, home and other; a personal address is "home".
PERSONAL_EMAIL_TYPE = "home"
CUSTOM_EXTENSION_ATTRIBUTES = APP_EXTENSION_ATTRIBUTES

# Graph user property -> profile key (the Employee field names, plus the identifiers).
_GRAPH_TEXT_PROPERTIES = {
    "givenName": "given_name",
    "surname": "family_name",
    "displayName": "display_name",
    "jobTitle": "job_title",
    "department": "department",
    "companyName": "company_name",
    "employeeType": "employee_type",
    "officeLocation": "office_location",
    "city": "city",
    "state": "state",
    "postalCode": "postal_code",
    "country": "country",
    "usageLocation": "usage_location",
    "mobilePhone": "mobile_phone",
    "preferredLanguage": "preferred_language",
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "onPremisesSamAccountName": "sam_account_name",
    "employeeHireDate": "hire_date",
    "employeeLeaveDateTime": "leave_date",
}
_EVENT_PROFILE_FIELDS = (
    "given_name",
    "family_name",
    "preferred_given_name",
    "middle_name",
    "job_title",
    "department",
    "division",
    "cost_center",
    "company_name",
    "employee_type",
    "manager_employee_id",
    "office_location",
    "city",
    "state",
    "postal_code",
    "country",
    "usage_location",
    "business_phone",
    "mobile_phone",
    "personal_email",
    "time_zone",
    "preferred_language",
)


def scim_timestamp(value: date | datetime) -> str:
    """YYYY-MM-DDTHH:MM:SSZ as the provisioning app's date attributes expect; a date means 00:00 UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps for SCIM must be timezone-aware")
        instant = value.astimezone(UTC)
    else:
        instant = datetime.combine(value, time(0, 0), tzinfo=UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _existing_timestamp(value: object) -> str | None:
    """Graph's date values re-rendered in the SCIM form; anything unreadable is left out, not guessed."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return scim_timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _profile_from_graph(existing: Mapping[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for graph_name, key in _GRAPH_TEXT_PROPERTIES.items():
        profile[key] = _text(existing.get(graph_name))
    profile["hire_date"] = _existing_timestamp(existing.get("employeeHireDate"))
    profile["leave_date"] = _existing_timestamp(existing.get("employeeLeaveDateTime"))
    phones = existing.get("businessPhones")
    if isinstance(phones, list) and phones:
        profile["business_phone"] = _text(phones[0])
    org = existing.get("employeeOrgData")
    if isinstance(org, Mapping):
        profile["division"] = _text(org.get("division"))
        profile["cost_center"] = _text(org.get("costCenter"))
    manager = existing.get("manager")
    if isinstance(manager, Mapping):
        manager = manager.get("employeeId")
    profile["manager_employee_id"] = _text(manager)
    return {key: value for key, value in profile.items() if value is not None}


def _prune(value: Any) -> Any:
    """Drop None, blank strings and containers left empty; booleans (active: false) stay."""
    if isinstance(value, Mapping):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if not _is_empty(item)}
    if isinstance(value, list):
        return [item for item in (_prune(element) for element in value) if not _is_empty(item)]
    if isinstance(value, str):
        return value.strip()
    return value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def user_record(
    event: HrEvent,
    *,
    names: NameCandidate | None,
    active: bool,
    extension_urn: str,
    existing: Mapping[str, Any] | None = None,
    hire_date: date | datetime | None = None,
    leave_date: date | datetime | None = None,
    keep_leave_date: bool = True,
    proxy_addresses: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The SCIM User (`data` of one bulk operation) for `event`.

    `existing` is the Entra user as read from Graph (Graph property names; `manager` as the
    manager's employeeId or as an object carrying `employeeId`). The event's values win over it,
    so the result is the complete known record. `names` are the generated identifiers of a hire;
    without them the existing userPrincipalName, mail, mailNickname and samAccountName are kept.
    `keep_leave_date=False` leaves out a leave date read from `existing` (a rehired person has not left).
    `proxy_addresses` (`SMTP:` primary first) goes in the custom extension; only a rename sends it, because the
    list replaces every address AD holds.
    """
    employee = event.employee
    profile = _profile_from_graph(existing) if existing is not None else {}
    if existing is not None:
        existing_id = _text(existing.get("employeeId"))
        if existing_id is not None and existing_id != employee.employee_id:
            raise ValueError("the existing Entra user belongs to a different employeeId")
    for key in _EVENT_PROFILE_FIELDS:
        value = getattr(employee, key)
        if value is not None:
            profile[key] = value
    if names is not None:
        profile["user_principal_name"] = names.user_principal_name
        profile["mail"] = names.mail
        profile["mail_nickname"] = names.mail_nickname
        profile["sam_account_name"] = names.sam_account_name
    if employee.given_name is not None or employee.family_name is not None:
        first = employee.first_name or profile.get("given_name")
        profile["display_name"] = " ".join(part for part in (first, profile.get("family_name")) if part)
    if not keep_leave_date:
        profile.pop("leave_date", None)
    if hire_date is not None:
        profile["hire_date"] = scim_timestamp(hire_date)
    if leave_date is not None:
        profile["leave_date"] = scim_timestamp(leave_date)
    user_name = profile.get("user_principal_name")
    if not user_name:
        raise ValueError("no userPrincipalName known for this record: pass names or the existing user")

    custom: dict[str, Any] = dict(employee.attributes or {})
    custom.update(
        {
            "HireDate": profile.get("hire_date"),
            "LeaveDate": profile.get("leave_date"),
            "samAccountName": profile.get("sam_account_name"),
            "mailNickname": profile.get("mail_nickname"),
            "employeeType": profile.get("employee_type"),
            "officeLocation": profile.get("office_location"),
            "usageLocation": profile.get("usage_location"),
            "proxyAddresses": list(proxy_addresses) if proxy_addresses else None,
        }
    )
    custom = _prune(custom)
    manager = profile.get("manager_employee_id")
    record: dict[str, Any] = {
        "schemas": [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA] + ([extension_urn] if custom else []),
        "externalId": employee.employee_id,
        "userName": user_name,
        "active": active,
        "name": {
            "givenName": profile.get("given_name"),
            "familyName": profile.get("family_name"),
            "middleName": profile.get("middle_name"),
        },
        "displayName": profile.get("display_name"),
        "nickName": profile.get("preferred_given_name"),
        "title": profile.get("job_title"),
        "preferredLanguage": profile.get("preferred_language"),
        "timezone": profile.get("time_zone"),
        "emails": [
            {"value": profile.get("mail"), "type": WORK, "primary": True} if profile.get("mail") else None,
            {"value": profile.get("personal_email"), "type": PERSONAL_EMAIL_TYPE}
            if profile.get("personal_email")
            else None,
        ],
        "phoneNumbers": [
            {"value": profile.get("business_phone"), "type": WORK} if profile.get("business_phone") else None,
            {"value": profile.get("mobile_phone"), "type": MOBILE} if profile.get("mobile_phone") else None,
        ],
        "addresses": [_work_address(profile)],
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": employee.employee_id,
            "costCenter": profile.get("cost_center"),
            "organization": profile.get("company_name"),
            "division": profile.get("division"),
            "department": profile.get("department"),
            "manager": {"value": manager} if manager else None,
        },
    }
    if custom:
        record[extension_urn] = custom
    pruned: dict[str, Any] = _prune(record)
    return pruned


def _work_address(profile: Mapping[str, Any]) -> dict[str, Any] | None:
    parts = {
        "locality": profile.get("city"),
        "region": profile.get("state"),
        "postalCode": profile.get("postal_code"),
        "country": profile.get("country"),
    }
    if not any(parts.values()):
        return None
    return {"type": WORK, **parts}


def bulk_requests(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """BulkRequest bodies of at most 50 operations each, in input order.

    The bulkId is the record's externalId, so a retried request is byte-identical. One employee
    may appear only once: two operations for the same person in one upload would race inside
    the provisioning service.
    """
    seen: set[str] = set()
    operations: list[dict[str, Any]] = []
    for position, record in enumerate(records):
        external_id = record.get("externalId")
        if not isinstance(external_id, str) or not external_id:
            raise ValueError(f"record {position} has no externalId")
        if not isinstance(record.get("active"), bool):
            raise ValueError(f"record {position} has no explicit active flag (omitting it disables the account)")
        if external_id in seen:
            raise ValueError(f"record {position} repeats externalId {external_id!r}")
        seen.add(external_id)
        operations.append({"method": "POST", "bulkId": external_id, "path": "/Users", "data": dict(record)})
    return [
        {
            "schemas": [BULK_REQUEST_SCHEMA],
            "Operations": operations[start : start + MAX_OPERATIONS_PER_REQUEST],
        }
        for start in range(0, len(operations), MAX_OPERATIONS_PER_REQUEST)
    ]


def extension_attribute_paths(extension_urn: str, attribute_names: Sequence[str] = ()) -> list[str]:
    """ "<URN>:<name>" for each custom attribute: the list the admin adds to the provisioning app."""
    names = list(CUSTOM_EXTENSION_ATTRIBUTES) + [
        name for name in attribute_names if name not in CUSTOM_EXTENSION_ATTRIBUTES
    ]
    return [f"{extension_urn}:{name}" for name in names]
