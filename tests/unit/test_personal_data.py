"""What crosses between workflow steps: identifiers and state, not profiles; roles, not addresses.

These are the pure edges of docs/security.md "Personal data"; tests/e2e/test_attacks.py scans a real task hub.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from provisioning import directory, first_credential, protection
from provisioning.graph import GraphError
from provisioning.workflows.contracts import WorkflowOptions
from provisioning.workflows.hr_event import _mail_context
from provisioning.workflows.plan import record_from_spec, record_spec

FULL_PROFILE: dict[str, Any] = {
    "id": "obj-1",
    "employeeId": "E10042",
    "userPrincipalName": "zoe@contoso.com",
    "mail": "zoe@contoso.com",
    "displayName": "Zoe",
    "accountEnabled": True,
    "mobilePhone": "+49 151 0000000",
    "businessPhones": ["+49 30 1234567"],
    "jobTitle": "Financial Analyst",
    "department": "Finance",
    "city": "Berlin",
    "postalCode": "10115",
}


class DirectoryGraph:
    """The two reads `find_person` makes, answering with a full profile."""

    def find_users(self, *_: Any, **__: Any) -> list[dict[str, Any]]:
        return [dict(FULL_PROFILE)]

    def get_manager(self, *_: Any, **__: Any) -> dict[str, Any]:
        return {"employeeId": "E00007", "mail": "maria@contoso.com"}

    def get_user(self, *_: Any, **__: Any) -> dict[str, Any]:
        return dict(FULL_PROFILE)


def test_a_resolved_person_carries_identifiers_and_state_not_the_profile() -> None:
    person = directory.find_person(DirectoryGraph(), "E10042")  # type: ignore[arg-type]
    assert person is not None
    assert person["managerEmployeeId"] == "E00007" and person["userPrincipalName"] == "zoe@contoso.com"
    for key in ("mobilePhone", "businessPhones", "jobTitle", "department", "city", "postalCode"):
        assert key not in person, key


def test_mails_and_the_credential_step_get_no_personal_address() -> None:
    employee = {"employeeId": "E1", "givenName": "Zoe", "personalEmail": "zoe@example.org", "mobilePhone": "+1 5"}
    run = SimpleNamespace(employee=employee, zone_name="Europe/Berlin")  # the zone the run settled on
    assert _mail_context(run) == {"employeeId": "E1", "givenName": "Zoe", "timeZone": "Europe/Berlin"}  # type: ignore[arg-type]


def test_a_record_spec_names_the_account_but_the_record_is_built_from_the_event_and_profile() -> None:
    event = {
        "eventId": "e1",
        "type": "update",
        "employee": {"employeeId": "E10042", "personalEmail": "zoe@example.org", "jobTitle": "Lead"},
    }
    person = directory.summary(FULL_PROFILE) | {"managerEmployeeId": "E00007"}
    names = {"userPrincipalName": "zoe@contoso.com", "mail": "zoe@contoso.com", "samAccountName": "zoe"}
    spec = record_spec(names=names, person=person, active=True)
    assert "zoe@example.org" not in str(spec) and "+49" not in str(spec)
    record = record_from_spec(event, WorkflowOptions(), spec, FULL_PROFILE)
    assert record["title"] == "Lead"  # the event's value wins
    assert {"value": "+49 151 0000000", "type": "mobile"} in record["phoneNumbers"]  # the profile, read at upload
    assert record["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"] == {"value": "E00007"}


def test_a_rename_spec_carries_the_old_address_and_the_upload_keeps_it_as_an_alias() -> None:
    event = {"eventId": "e2", "type": "update", "employee": {"employeeId": "E10042", "familyName": "Weber"}}
    person = directory.summary(FULL_PROFILE)
    names = {"userPrincipalName": "zoe.weber@contoso.com", "mail": "zoe.weber@contoso.com", "samAccountName": "zoe"}
    spec = record_spec(names=names, person=person, active=True, previous_mail="zoe@contoso.com")
    assert "+49" not in str(spec) and "Berlin" not in str(spec)
    profile = {**FULL_PROFILE, "proxyAddresses": ["SMTP:zoe@contoso.com", "smtp:z@contoso.com"]}
    record = record_from_spec(event, WorkflowOptions(), spec, profile)
    extension = record["urn:ietf:params:scim:schemas:extension:contoso:1.0:User"]
    assert extension["proxyAddresses"] == ["SMTP:zoe.weber@contoso.com", "smtp:zoe@contoso.com", "smtp:z@contoso.com"]
    assert record["userName"] == "zoe.weber@contoso.com"


def test_a_leave_spec_uploads_the_profile_with_only_the_enabled_state_changed() -> None:
    event = {
        "eventId": "e3",
        "type": "leave-of-absence",
        "effectiveDate": "2026-12-01",
        "employee": {"employeeId": "E10042", "jobTitle": "Ignored"},
    }
    spec = record_spec(names=None, person=directory.summary(FULL_PROFILE), active=False, ids_only=True)
    record = record_from_spec(event, WorkflowOptions(), spec, FULL_PROFILE)
    assert record["active"] is False and record["title"] == "Financial Analyst"


def test_recipients_are_reported_as_roles() -> None:
    roles = {"manager": "Maria@contoso.com", "personal": "zoe@example.org", "it": "it@contoso.com"}
    assert first_credential.recipient_roles(["maria@contoso.com", "it@contoso.com"], roles) == ["manager", "it"]
    assert first_credential.recipient_roles([], roles) == []


class RolesGraph:
    def __init__(self, memberships: list[dict[str, Any]], assigned: set[str], eligible: set[str]) -> None:
        self.memberships, self.assigned, self.eligible = memberships, assigned, eligible
        self.chunks: list[list[str]] = []

    def transitive_member_of(self, user_id: str) -> list[dict[str, Any]]:
        return self.memberships

    def role_assignments(self, principals: list[str]) -> list[dict[str, Any]]:
        self.chunks.append(principals)
        return [{"principalId": p} for p in principals if p in self.assigned]

    def role_eligibilities(self, principals: list[str]) -> list[dict[str, Any]]:
        return [{"principalId": p} for p in principals if p in self.eligible]


def group(object_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.group", "id": object_id}


def test_an_ordinary_account_is_not_protected() -> None:
    graph = RolesGraph([group("g1")], set(), set())
    assert protection.account_protection(graph, "u1", ()) == {"protected": False, "reasons": []}  # type: ignore[arg-type]


def test_every_way_an_account_can_be_privileged_protects_it() -> None:
    role = {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1"}
    cases = [
        (RolesGraph([role], set(), set()), (), "active directory role"),
        (RolesGraph([group("G-TIER0")], set(), set()), ("g-tier0",), "protected group g-tier0"),
        (RolesGraph([group("g1")], {"g1"}, set()), (), "role assignment"),
        (RolesGraph([], set(), {"u1"}), (), "eligible"),
    ]
    for graph, protected_groups, reason in cases:
        found = protection.account_protection(graph, "u1", protected_groups)  # type: ignore[arg-type]
        assert found["protected"] and reason in " ".join(found["reasons"]), reason


def test_principals_are_queried_fifteen_at_a_time() -> None:
    graph = RolesGraph([group(f"g{index}") for index in range(40)], set(), set())
    protection.account_protection(graph, "u1", ())  # type: ignore[arg-type]
    assert [len(chunk) for chunk in graph.chunks] == [15, 15, 11]


def test_a_failing_role_lookup_is_not_read_as_unprotected() -> None:
    class Failing(RolesGraph):
        def role_assignments(self, principals: list[str]) -> list[dict[str, Any]]:
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges")

    with pytest.raises(GraphError):  # the activity retries, then the event fails: never read as "unprotected"
        protection.account_protection(Failing([], set(), set()), "u1", ())  # type: ignore[arg-type]


def test_a_fresh_account_is_asked_its_memberships_only_and_still_refused_for_them() -> None:
    """An account this event's upload created can only hold a role by an administrator's hand (role-assignable
    groups are never dynamic and never nested); its memberships still show an active role and a protected group."""
    role = {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1"}

    class Counting(RolesGraph):
        asked = 0

        def role_assignments(self, principals: list[str]) -> list[dict[str, Any]]:
            self.asked += 1
            return super().role_assignments(principals)

        def role_eligibilities(self, principals: list[str]) -> list[dict[str, Any]]:
            self.asked += 1
            return super().role_eligibilities(principals)

    plain = Counting([group("g1")], {"u1"}, {"u1"})
    assert protection.account_protection(plain, "u1", (), fresh=True) == {"protected": False, "reasons": []}  # type: ignore[arg-type]
    assert plain.asked == 0
    for graph, protected_groups, reason in (
        (Counting([role], set(), set()), (), "active directory role"),
        (Counting([group("G-DYN")], set(), set()), ("g-dyn",), "protected group g-dyn"),
    ):
        found = protection.account_protection(graph, "u1", protected_groups, fresh=True)  # type: ignore[arg-type]
        assert found["protected"] and reason in " ".join(found["reasons"])
    existing = Counting([group("g1")], {"u1"}, set())
    assert protection.account_protection(existing, "u1", ())["protected"]  # type: ignore[arg-type]
    assert existing.asked == 2
