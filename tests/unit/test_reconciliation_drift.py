"""The pure comparison: every drift class, correlation cases, and the promise that applying a plan removes its drift.

The property tests model the directory the way the workflows change it (a hire creates an account with the HR
values, an update writes them, a termination disables, a rehire enables) and check that a second comparison after
applying every planned change finds nothing left to change, and that no person with a case is ever given an account.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning import naming
from provisioning.reconciliation.correlation import case_id, confidence
from provisioning.reconciliation.drift import Decisions, change_kind, reconcile
from provisioning.reconciliation.population import ATTRIBUTES, HrPerson, Policy, hr_status
from provisioning.safeguards import RunLimits, run_hold_reasons

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NAMES = naming.NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com")
POLICY = Policy()


def person(employee_id: str, kind: str = "update", date: str | None = None, **employee: Any) -> HrPerson:
    record = {"employeeId": employee_id, "givenName": "Ada", "familyName": "Lovelace", **employee}
    return HrPerson(employee_id, kind, date, record, f"rows[{employee_id}]")


def account(employee_id: str | None, *, enabled: bool = True, **props: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "userPrincipalName": f"user-{uuid.uuid4().hex[:8]}@contoso.com",
        "employeeId": employee_id,
        "accountEnabled": enabled,
        "onPremisesSyncEnabled": True,
        "userType": "Member",
        "givenName": "Ada",
        "surname": "Lovelace",
        "displayName": "Ada Lovelace",
        **props,
    }


def plan_of(people: list[HrPerson], accounts: list[dict[str, Any]], **kwargs: Any) -> dict[str, dict[str, Any]]:
    plan = reconcile(people, accounts, policy=POLICY, names=NAMES, now=NOW, **kwargs)
    return {str(entry.get("employeeId") or entry["account"]["id"]): entry for entry in plan.entries}


def test_each_drift_class_is_found_with_its_reason_and_change() -> None:
    people = [
        person("E1"),  # in sync
        person("E2", jobTitle="Engineer", department="R&D"),  # stale
        person("E3"),  # missing
        person("E4", "termination", "2026-11-20"),  # leaver still enabled
        person("E5", "rehire", "2026-11-25"),  # rehire still disabled
        person("E6"),  # conflict
        person("E7", "termination", "2026-11-20"),  # leaver already disabled: fine
        person("E8", "hire", "2027-03-01"),  # hire not due yet: no account expected
    ]
    accounts = [
        account("E1"),
        account("E2", jobTitle="Intern"),
        account("E4"),
        account("E5", enabled=False),
        account("E6"),
        account("E6"),
        account("E7", enabled=False),
        account("E99"),  # orphan: employeeId unknown to HR
        account("E98", enabled=False),  # unknown but disabled: not an orphan
        account(None, givenName="Zed", surname="Nobody", displayName="Zed Nobody"),  # orphan: no employeeId
    ]
    entries = plan_of(people, accounts)
    assert {key: entry["class"] for key, entry in entries.items() if entry.get("employeeId")} == {
        "E2": "stale",
        "E3": "missing",
        "E4": "leaver-enabled",
        "E5": "rehire-disabled",
        "E6": "conflict",
        "E99": "orphan",
    }
    assert entries["E2"]["changes"] == [
        {"attribute": "jobTitle", "old": "Intern", "new": "Engineer"},
        {"attribute": "department", "old": None, "new": "R&D"},
    ]
    assert entries["E2"]["event"]["type"] == "update"
    assert entries["E3"]["event"] | {"occurredAt": None} == {
        "type": "hire",
        "effectiveDate": "2026-11-27",
        "occurredAt": None,
        "employee": people[2].employee,
    }
    assert entries["E4"]["event"]["type"] == "termination"
    assert entries["E4"]["event"]["effectiveDate"] == "2026-11-20"
    assert entries["E5"]["event"]["type"] == "rehire"
    assert len(entries["E6"]["accounts"]) == 2 and entries["E6"]["action"] is None
    orphans = [entry for entry in entries.values() if entry["class"] == "orphan"]
    assert len(orphans) == 2 and all(entry["action"] is None for entry in orphans)
    assert [change_kind(entries[key]) for key in ("E2", "E3", "E4", "E5")] == ["update", "create", "disable", "enable"]


def test_a_hire_without_names_is_reported_not_planned() -> None:
    nameless = HrPerson("E1", "hire", "2026-11-30", {"employeeId": "E1"}, "rows[2]")
    entry = plan_of([nameless], [])["E1"]
    assert entry["class"] == "missing" and entry["action"] is None
    assert {problem["field"] for problem in entry["blocked"]} >= {"employee.givenName", "employee.familyName"}


def test_the_termination_time_is_the_end_of_the_last_day_in_the_employees_zone() -> None:
    berlin = person("E1", "termination", "2026-11-27", timeZone="Europe/Berlin")
    honolulu = person("E2", "termination", "2026-11-27", timeZone="Pacific/Honolulu")
    assert hr_status(berlin, now=NOW, policy=POLICY) == "leaving"  # 18:00 Berlin is 17:00 UTC
    assert hr_status(berlin, now=NOW.replace(hour=17, minute=1), policy=POLICY) == "leaver"
    assert hr_status(honolulu, now=NOW, policy=POLICY) == "leaving"  # 18:00 HST is 04:00 UTC the next day


def test_accounts_out_of_scope_are_not_orphans_but_still_carry_their_employee() -> None:
    cloud_only = account("E1", onPremisesSyncEnabled=None)
    guest = account(None, userType="Guest")
    entries = plan_of(
        [person("E1", jobTitle="Engineer")], [cloud_only, guest, account("E77", onPremisesSyncEnabled=None)]
    )
    assert [entry["class"] for entry in entries.values()] == ["stale"]


def test_go_live_accounts_become_cases_with_evidence_and_no_account_is_created() -> None:
    people = [
        person("E1", department="Finance"),
        person("E2", givenName="Grace", familyName="Hopper", department="Navy"),
        person("E3", givenName="Alan", familyName="Turing"),
    ]
    by_upn = account(None, userPrincipalName="ada.lovelace@contoso.com", department="Other")
    by_name = account(
        None, userPrincipalName="gh@legacy.example", givenName="Grace", surname="Hopper", department="navy"
    )
    same_name_only = account(None, userPrincipalName="x1@legacy.example", givenName="Alan", surname="Turing")
    entries = plan_of(people, [by_upn, by_name, same_name_only])
    ada, grace = entries["E1"], entries["E2"]
    assert ada["class"] == "correlation" and ada["action"] is None and change_kind(ada) is None
    assert [item["kind"] for item in ada["cases"][0]["evidence"]] == ["name", "upn"]
    assert ada["cases"][0]["confidence"] == confidence(["upn", "name"]) == 0.72
    assert [item["kind"] for item in grace["cases"][0]["evidence"]] == ["name+department"]
    assert grace["cases"][0]["caseId"] == case_id("E2", by_name["id"])
    # A name alone is not evidence enough: Alan gets an account, and the look-alike stays an orphan.
    assert entries["E3"]["class"] == "missing"
    assert entries[same_name_only["id"]]["class"] == "orphan"


def test_decisions_remove_rejected_cases_and_confirmed_links_wait() -> None:
    legacy = account(None, userPrincipalName="ada.lovelace@contoso.com")
    rejected = plan_of([person("E1")], [legacy], decisions=Decisions(rejected=frozenset({case_id("E1", legacy["id"])})))
    assert rejected["E1"]["class"] == "missing"
    assert rejected[legacy["id"]]["class"] == "orphan"
    confirmed = plan_of([person("E1")], [legacy], decisions=Decisions(confirmed={"E1": legacy["id"]}))
    assert [entry["class"] for entry in confirmed.values()] == ["linking"]


def test_hr_problems_are_reported_and_their_accounts_are_not_orphans() -> None:
    problems = [{"employeeId": "E5", "errors": [{"field": "firstName", "message": "required"}]}]
    entries = plan_of([], [account("E5")], hr_problems=problems)
    assert [entry["class"] for entry in entries.values()] == ["hr-invalid"]
    twice = plan_of([person("E1"), person("e1")], [account("E1")])
    assert twice["E1"]["class"] == "hr-invalid" and len(twice["E1"]["errors"]) == 2


def test_run_thresholds_hold_a_plan_over_the_count_or_the_share() -> None:
    limits = RunLimits()
    assert run_hold_reasons({"disable": 25}, accounts=1000, limits=limits) == []
    assert run_hold_reasons({"disable": 26}, accounts=1000, limits=limits) == [
        "the plan holds 26 disables and re-enables, more than 25"
    ]
    assert run_hold_reasons({"disable": 3, "enable": 3}, accounts=100, limits=limits) == [
        "the plan holds 6 disables and re-enables, 6.0% of 100 accounts (more than 5%)"
    ]
    assert run_hold_reasons({"create": 1}, accounts=0, limits=limits)  # a fresh tenant's first creates wait
    assert run_hold_reasons({"update": 200}, accounts=1000, limits=limits) == []


# -- properties ----------------------------------------------------------------------------------------------------

TITLES = st.sampled_from(["Engineer", "Analyst", "Manager", None])
DEPARTMENTS = st.sampled_from(["Finance", "R&D", None])
GIVEN = st.sampled_from(["Ada", "Grace", "Alan", "Zoë"])
FAMILY = st.sampled_from(["Lovelace", "Hopper", "Turing", "O'Brien"])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[HrPerson], list[dict[str, Any]]]:
    count = draw(st.integers(0, 12))
    people = []
    accounts = []
    for number in range(count):
        employee_id = f"E{number}"
        kind, date = draw(
            st.sampled_from(
                [("update", None), ("hire", "2026-11-01"), ("termination", "2026-11-20"), ("rehire", "2026-11-26")]
            )
        )
        employee = {"givenName": draw(GIVEN), "familyName": draw(FAMILY)}
        for key, strategy in (("jobTitle", TITLES), ("department", DEPARTMENTS)):
            value = draw(strategy)
            if value:
                employee[key] = value
        people.append(person(employee_id, kind, date, **employee))
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            accounts.append(
                account(
                    employee_id,
                    enabled=draw(st.booleans()),
                    jobTitle=draw(TITLES),
                    department=draw(DEPARTMENTS),
                )
            )
    for _ in range(draw(st.integers(0, 4))):
        accounts.append(
            account(
                draw(st.sampled_from([None, "X1"])),
                enabled=draw(st.booleans()),
                givenName=draw(GIVEN),
                surname=draw(FAMILY),
                department=draw(DEPARTMENTS),
                userPrincipalName=draw(st.sampled_from(["ada.lovelace", "grace.hopper", "zz"])) + "@contoso.com",
            )
        )
    return people, accounts


def apply(plan_entries: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The directory after the workflows ran every planned change."""
    result = [dict(item) for item in accounts]
    for entry in plan_entries:
        event = entry.get("event")
        if not entry.get("action") or not event:
            continue
        employee = event["employee"]
        mine = [item for item in result if item.get("employeeId") == entry["employeeId"]]
        if event["type"] in ("hire", "rehire") and not mine:
            mine = [account(entry["employeeId"])]
            result.extend(mine)
        target = mine[0]
        target["accountEnabled"] = event["type"] != "termination"
        for field, prop in ATTRIBUTES.items():
            if field in employee:
                target[prop] = employee[field]
        first = employee.get("preferredGivenName") or employee.get("givenName")
        target["displayName"] = " ".join(part for part in (first, employee.get("familyName")) if part)
    return result


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_applying_a_plan_leaves_nothing_to_change(world: tuple[list[HrPerson], list[dict[str, Any]]]) -> None:
    people, accounts = world
    first = reconcile(people, accounts, policy=POLICY, names=NAMES, now=NOW)
    second = reconcile(people, apply(first.entries, accounts), policy=POLICY, names=NAMES, now=NOW)
    assert [entry for entry in second.entries if entry.get("action")] == []
    assert second.summary["changes"] == {"create": 0, "update": 0, "disable": 0, "enable": 0}


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_no_account_is_planned_for_a_person_with_a_case_and_each_account_is_reported_once(
    world: tuple[list[HrPerson], list[dict[str, Any]]],
) -> None:
    people, accounts = world
    plan = reconcile(people, accounts, policy=POLICY, names=NAMES, now=NOW)
    for entry in plan.entries:
        if entry.get("cases"):
            assert entry["action"] is None and change_kind(entry) is None
    orphan_ids = [entry["account"]["id"] for entry in plan.entries if entry["class"] == "orphan"]
    case_ids = {case["account"]["id"] for entry in plan.entries for case in entry.get("cases", ())}
    assert len(orphan_ids) == len(set(orphan_ids))
    assert not set(orphan_ids) & case_ids
    known = {item.employee_id for item in people}
    for item in accounts:
        if item["accountEnabled"] and item["employeeId"] not in known and item["id"] not in case_ids:
            assert item["id"] in orphan_ids
