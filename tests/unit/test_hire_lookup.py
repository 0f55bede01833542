"""A hire's first lookups (the person, the manager, the best name) are one users query, sorted here by which of its
clauses each account matched; and a first credential's protection check is narrowed only for an account the
event's own upload created."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import directory
from provisioning.workflows.hr_event import created_by_upload

NAMES = {
    "userPrincipalName": "anna.smith@contoso.com",
    "mail": "anna.smith@contoso.com",
    "mailNickname": "anna.smith",
    "samAccountName": "anna.smith",
}


class UsersGraph:
    """Answers a users query with every row it holds (the filter is Entra's job; sorting the rows is ours)."""

    def __init__(self, rows: list[dict[str, Any]], manager_of: dict[str, dict[str, Any]] | None = None) -> None:
        self.rows = rows
        self.manager_of = manager_of or {}
        self.queries: list[tuple[str, bool]] = []

    def find_users(self, filter: Any, *, select: Any, advanced: bool = False, top: int = 100) -> list[dict[str, Any]]:
        self.queries.append((str(filter), advanced))
        return self.rows

    def get_manager(self, user_id: str, *, select: Any) -> dict[str, Any] | None:
        self.queries.append((f"manager of {user_id}", False))
        return self.manager_of.get(user_id)


def lookup(graph: UsersGraph, manager: str | None = "M1", names: dict[str, Any] | None = NAMES) -> dict[str, Any]:
    return directory.lookup_hire(graph, employee_id="E1", manager_employee_id=manager, names=names)  # type: ignore[arg-type]


def test_a_new_hire_costs_one_query_naming_all_three_questions() -> None:
    graph = UsersGraph([{"id": "m", "employeeId": "m1", "mail": "maria@contoso.com", "accountEnabled": True}])
    found = lookup(graph)
    assert found == {
        "person": None,
        "manager": {
            "id": "m",
            "userPrincipalName": None,
            "mail": "maria@contoso.com",
            "displayName": None,
            "employeeId": "m1",
            "accountEnabled": True,
        },
        "inUse": False,
    }
    [(query, advanced)] = graph.queries
    assert advanced
    assert "employeeId in ('E1','M1')" in query
    assert "onPremisesSamAccountName eq 'anna.smith'" in query and "proxyAddresses/any" in query


@pytest.mark.parametrize(
    "holder",
    [
        {"id": "x", "userPrincipalName": "Anna.Smith@contoso.com"},
        {"id": "x", "mail": "ANNA.SMITH@contoso.com"},
        {"id": "x", "proxyAddresses": ["SMTP:a@contoso.com", "smtp:anna.smith@contoso.com"]},
        {"id": "x", "onPremisesSamAccountName": "Anna.Smith"},
    ],
)
def test_any_holder_of_an_identifier_makes_the_name_in_use(holder: dict[str, Any]) -> None:
    assert lookup(UsersGraph([holder]))["inUse"] is True


def test_an_account_matching_only_another_clause_does_not_take_the_name() -> None:
    rows = [
        {"id": "m", "employeeId": "M1", "userPrincipalName": "maria@contoso.com", "accountEnabled": True},
        {"id": "x", "proxyAddresses": ["x500:/o=anna.smith@contoso.com"]},
    ]
    assert lookup(UsersGraph(rows))["inUse"] is False


def test_an_existing_person_is_found_with_the_manager_on_their_account() -> None:
    rows = [{"id": "p", "employeeId": "E1", "userPrincipalName": "anna.smith@contoso.com", "accountEnabled": False}]
    graph = UsersGraph(rows, manager_of={"p": {"employeeId": "M7"}})
    found = lookup(graph, manager=None, names=None)
    assert found["person"]["id"] == "p" and found["person"]["managerEmployeeId"] == "M7"
    assert found["manager"] is None and found["inUse"] is None
    assert graph.queries[0] == ("employeeId eq 'E1'", False)  # one id, no name: a plain, consistent query
    assert graph.queries[1] == ("manager of p", False)


def test_two_accounts_with_the_employee_id_are_refused() -> None:
    rows = [{"id": "a", "employeeId": "E1"}, {"id": "b", "employeeId": "e1"}]
    with pytest.raises(directory.DuplicateEmployeeId):
        lookup(UsersGraph(rows))


def test_an_enabled_manager_wins_over_a_disabled_duplicate() -> None:
    rows = [
        {"id": "old", "employeeId": "M1", "accountEnabled": False},
        {"id": "new", "employeeId": "M1", "accountEnabled": True},
    ]
    assert lookup(UsersGraph(rows))["manager"]["id"] == "new"


def test_a_manager_who_is_the_employee_is_asked_once() -> None:
    graph = UsersGraph([])
    lookup(graph, manager="e1")
    assert "employeeId eq 'E1'" in graph.queries[0][0] and " in (" not in graph.queries[0][0]


@pytest.mark.parametrize(
    ("created", "submitted", "fresh"),
    [
        ("2026-11-30T10:05:00Z", "2026-11-30T10:00:00+00:00", True),
        ("2026-11-30T09:59:00Z", "2026-11-30T10:00:00+00:00", True),  # within the clock skew
        ("2026-11-30T09:50:00Z", "2026-11-30T10:00:00+00:00", False),  # an older account the sync matched
        ("2019-03-01T08:00:00Z", "2026-11-30T10:00:00+00:00", False),
        (None, "2026-11-30T10:00:00+00:00", False),
        ("2026-11-30T10:05:00Z", None, False),
        ("not a time", "2026-11-30T10:00:00+00:00", False),
        ("2026-11-30T10:05:00", "2026-11-30T10:00:00+00:00", False),  # no offset: unknown, so not fresh
    ],
)
def test_only_an_account_created_after_the_upload_is_fresh(
    created: str | None, submitted: str | None, fresh: bool
) -> None:
    assert created_by_upload({"createdDateTime": created}, submitted) is fresh


@pytest.mark.parametrize(
    ("request_", "narrowed"),
    [
        ({"fresh": True, "recipients": "new"}, True),
        ({"fresh": True}, True),
        ({"fresh": True, "recipients": "existing"}, False),  # a rehire's account is never narrowed
        ({"fresh": True, "recipients": "it"}, False),
        ({"fresh": "yes", "recipients": "new"}, False),
        ({"recipients": "new"}, False),
    ],
)
def test_the_credential_step_narrows_the_check_only_for_a_fresh_new_account(
    monkeypatch: pytest.MonkeyPatch, request_: dict[str, Any], narrowed: bool
) -> None:
    from types import SimpleNamespace

    from provisioning import first_credential

    asked: list[bool] = []

    def protection(graph: Any, user_id: str, groups: Any, *, fresh: bool = False) -> dict[str, Any]:
        asked.append(fresh)
        return {"protected": True, "reasons": ["holds an active directory role"]}

    monkeypatch.setattr(first_credential, "account_protection", protection)
    rt = SimpleNamespace(graph=object(), settings=SimpleNamespace(protected_group_ids=()))
    refused = first_credential.issue(rt, {"userId": "u1", **request_}, None)  # type: ignore[arg-type]
    assert refused["error"]["code"] == "ProtectedAccount"
    assert asked == [narrowed]
