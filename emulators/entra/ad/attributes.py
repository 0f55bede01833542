"""Graph property names (what the pipeline and Connect sync use) <-> AD LDAP attribute names.

The SCIM -> AD half of the default mapping is in :mod:`emulators.entra.scim_mapping` (SCIM -> Graph names); this
is the second half. Sources: Microsoft Learn, "Configure Oracle HCM for automatic user provisioning", Worksheet 4
(SCIM attribute -> on-premises AD attribute) and Worksheet 5 (AD -> Entra), plus this product's
``docs/deploy.md`` for the custom extension attributes. The full table is in the emulator README.
"""

from __future__ import annotations

import uuid
from typing import Any

#: Graph property -> LDAP attribute (single-valued on both sides unless noted).
GRAPH_TO_LDAP: dict[str, str] = {
    "userPrincipalName": "userPrincipalName",
    "onPremisesSamAccountName": "sAMAccountName",
    "employeeId": "employeeID",
    "givenName": "givenName",
    "surname": "sn",
    "displayName": "displayName",
    "jobTitle": "title",
    "department": "department",
    "companyName": "company",
    "employeeType": "employeeType",
    "mail": "mail",
    "mailNickname": "mailNickname",
    "streetAddress": "streetAddress",
    "city": "l",
    "state": "st",
    "postalCode": "postalCode",
    "country": "co",
    "mobilePhone": "mobile",
    "businessPhones": "telephoneNumber",  # Graph's list <-> AD's single-valued attribute (first number)
    "preferredLanguage": "preferredLanguage",
    "officeLocation": "physicalDeliveryOfficeName",
    "employeeHireDate": "msDS-cloudExtensionAttribute1",  # docs/deploy.md suggests this for HireDate
    "employeeLeaveDateTime": "msDS-cloudExtensionAttribute2",
    "proxyAddresses": "proxyAddresses",  # multi-valued on both sides
}
MULTI_VALUED = frozenset({"proxyAddresses"})
LDAP_TO_GRAPH = {ldap.lower(): graph for graph, ldap in GRAPH_TO_LDAP.items()}

#: userAccountControl flags (MS-ADTS 2.2.16).
UF_ACCOUNTDISABLE = 0x0002
UF_NORMAL_ACCOUNT = 0x0200

#: What the LDAP backend reads for a user.
READ_ATTRIBUTES = [
    *GRAPH_TO_LDAP.values(),
    "objectGUID",
    "distinguishedName",
    "userAccountControl",
    "manager",
    "uSNChanged",
    "whenCreated",
]


def ldap_values(props: dict[str, Any]) -> dict[str, Any]:
    """Graph-named values as LDAP attribute values (lists collapse to their first element; None is dropped)."""
    values: dict[str, Any] = {}
    for graph_name, value in props.items():
        ldap_name = GRAPH_TO_LDAP.get(graph_name)
        if ldap_name is None or value is None:
            continue
        if graph_name in MULTI_VALUED:
            if value:
                values[ldap_name] = [str(item) for item in value]
            continue
        first = value[0] if isinstance(value, list) and value else value
        if first in (None, []):
            continue
        values[ldap_name] = str(first)
    return values


def graph_values(attributes: dict[str, Any]) -> dict[str, Any]:
    """An LDAP entry's attributes (ldap3 ``entry_attributes_as_dict``) as Graph-named properties."""
    props: dict[str, Any] = {}
    for name, raw in attributes.items():
        graph_name = LDAP_TO_GRAPH.get(name.lower())
        if graph_name is None:
            continue
        if graph_name in MULTI_VALUED:
            props[graph_name] = [str(item) for item in (raw if isinstance(raw, list) else [raw])]
            continue
        value = raw[0] if isinstance(raw, list) and raw else raw
        if value in (None, []):
            continue
        props[graph_name] = [str(value)] if graph_name == "businessPhones" else str(value)
    return props


def guid_string(raw: Any) -> str:
    """objectGUID as AD shows it (``{...}`` without braces): the bytes are little-endian in the first fields."""
    if isinstance(raw, list):
        raw = raw[0]
    if isinstance(raw, bytes):
        return str(uuid.UUID(bytes_le=raw))
    return str(uuid.UUID(str(raw).strip("{}")))


def guid_filter_value(object_id: str) -> str:
    """An objectGUID as an LDAP filter value (escaped bytes)."""
    return "".join(f"\\{byte:02x}" for byte in uuid.UUID(object_id).bytes_le)
