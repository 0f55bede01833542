"""SCIM User -> directory user, following the default API2AD attribute mapping.

Graph property names are used on the AD side too (``surname`` for AD ``sn``,
``onPremisesSamAccountName`` for ``sAMAccountName``) so Connect sync is a straight copy.
The custom extension's ``samAccountName`` and ``mailNickname`` feed AD directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulators.entra.bulk_validation import CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA

#: Custom-extension attribute (case-insensitive) -> directory property.
CUSTOM_EXTENSION_MAP = {
    "samaccountname": "onPremisesSamAccountName",
    "mailnickname": "mailNickname",
    "hiredate": "employeeHireDate",
    "leavedate": "employeeLeaveDateTime",
    "employeetype": "employeeType",
    # The README's attribute-mapping table maps the extension's officeLocation to physicalDeliveryOfficeName.
    "officelocation": "officeLocation",
    # Multi-valued: the admin maps it straight to AD proxyAddresses (the app sends it only on a rename).
    "proxyaddresses": "proxyAddresses",
}


@dataclass
class MappedUser:
    """What one SCIM record asks the directory to hold."""

    external_id: str | None
    properties: dict[str, Any]
    manager_employee_id: str | None
    empty_attributes: list[str] = field(default_factory=list)


def _pick(items: Any, wanted_type: str) -> dict[str, Any] | None:
    if not isinstance(items, list):
        return None
    typed = [item for item in items if isinstance(item, dict) and str(item.get("type", "")).lower() == wanted_type]
    if typed:
        return typed[0]
    primary = [item for item in items if isinstance(item, dict) and item.get("primary")]
    return primary[0] if primary else None


def _active(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def map_scim_user(data: dict[str, Any]) -> MappedUser:
    """Map one operation's ``data``. An omitted ``active`` disables the account, as the service does."""
    props: dict[str, Any] = {}
    name = data.get("name") if isinstance(data.get("name"), dict) else {}
    assert isinstance(name, dict)
    simple = {
        "userName": ("userPrincipalName", data.get("userName")),
        "name.givenName": ("givenName", name.get("givenName")),
        "name.familyName": ("surname", name.get("familyName")),
        "displayName": ("displayName", data.get("displayName")),
        "title": ("jobTitle", data.get("title")),
        "preferredLanguage": ("preferredLanguage", data.get("preferredLanguage")),
        "userType": ("employeeType", data.get("userType")),
    }
    work_email = _pick(data.get("emails"), "work")
    simple['emails[type eq "work"].value'] = ("mail", work_email.get("value") if work_email else None)
    address = _pick(data.get("addresses"), "work")
    if address:
        for scim_name, graph_name in (
            ("streetAddress", "streetAddress"),
            ("locality", "city"),
            ("region", "state"),
            ("postalCode", "postalCode"),
            ("country", "country"),
        ):
            simple[f'addresses[type eq "work"].{scim_name}'] = (graph_name, address.get(scim_name))
    mobile = _pick(data.get("phoneNumbers"), "mobile")
    simple['phoneNumbers[type eq "mobile"].value'] = ("mobilePhone", mobile.get("value") if mobile else None)
    work_phone = _pick(data.get("phoneNumbers"), "work")
    if work_phone and work_phone.get("value") is not None:
        simple['phoneNumbers[type eq "work"].value'] = ("businessPhones", [work_phone.get("value")])

    enterprise = data.get(ENTERPRISE_USER_SCHEMA) if isinstance(data.get(ENTERPRISE_USER_SCHEMA), dict) else {}
    assert isinstance(enterprise, dict)
    simple[f"{ENTERPRISE_USER_SCHEMA}:department"] = ("department", enterprise.get("department"))
    simple[f"{ENTERPRISE_USER_SCHEMA}:organization"] = ("companyName", enterprise.get("organization"))

    for key, value in data.items():
        if key.startswith("urn:") and key not in (CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA) and isinstance(value, dict):
            for attribute, attribute_value in value.items():
                target = CUSTOM_EXTENSION_MAP.get(attribute.lower())
                if target is not None:
                    simple[f"{key}:{attribute}"] = (target, attribute_value)

    empty: list[str] = []
    for source, (target, value) in simple.items():
        if value is None:
            continue  # null attributes do not flow (no null-flow configured)
        if value == "":
            empty.append(source)  # flows as-is: AD refuses it (InvalidAttributeSyntax ... v3839), as documented
            props[target] = ""
            continue
        props[target] = value
    if "mailNickname" not in props and isinstance(props.get("onPremisesSamAccountName"), str):
        props["mailNickname"] = props["onPremisesSamAccountName"]
    external_id = data.get("externalId")
    if isinstance(external_id, str) and external_id:
        props["employeeId"] = external_id
    props["accountEnabled"] = _active(data.get("active"))
    manager = enterprise.get("manager")
    manager_id = manager.get("value") if isinstance(manager, dict) else None
    return MappedUser(
        external_id=external_id if isinstance(external_id, str) and external_id else None,
        properties=props,
        manager_employee_id=manager_id if isinstance(manager_id, str) and manager_id else None,
        empty_attributes=empty,
    )


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """SCIM values flattened the way the import step's details show them (URN punctuation dropped)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        clean = "".join(char for char in key if char.isalnum())
        name = prefix + clean
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        elif isinstance(value, list):
            flat[name] = ", ".join(
                str(item.get("value", item)) if isinstance(item, dict) else str(item) for item in value
            )
        elif value is not None:
            flat[name] = str(value)
    return flat
