"""Reconciliation end to end on the emulators: a directory with drift of every class and go-live accounts, a roster
run whose plan is checked per employee, correlation cases confirmed and rejected, an apply that fixes the drift (a
second run finds none), a roster that would disable 40 % held, a lost HR webhook caught by the next run, and an HR
system failing in the middle of the read.

The stack's clock starts at the real time (a plan older than RECONCILE_PLAN_MAX_AGE_HOURS is not applied, and the
route judges a plan's age by the real clock); HR dates are relative to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.stack import HRIS_SETTINGS, Stack, connect_hris, running_stack, wait_until
from emulators.entra.testing import FAST_CONFIG, EntraEmulator
from emulators.hris.testing import HrisEmulator
from tests.e2e.helpers import secret_leaks

pytestmark = pytest.mark.e2e

START = datetime.now(UTC).replace(microsecond=0)
TODAY = START.date()
LONG_AGO = "2021-03-01"
FAST_SETTINGS = {
    "PROVISIONING_POLL_INITIAL_SECONDS": "15",
    "UPLOAD_COALESCE_SECONDS": "5",
    "REHIRE_HOLD_AFTER_DAYS": "30",
}
MAPPING = """
event:
  eventId: {const: roster}
  type:
    path: $.Status
    then: [{switch: {cases: {Active: hire, Terminated: termination}, default: {reject: unknown status}}}]
  effectiveDate:
    path: $.Status
    then: [{switch: {cases: {Terminated: {path: "$['Last Day']"}}, default: {path: "$['Start Date']"}}}]
  employee:
    employeeId: $['Employee ID']
    givenName: $['First Name']
    familyName: $['Last Name']
    jobTitle: $.Title
    department: $.Department
"""
HEADER = "Employee ID,First Name,Last Name,Title,Department,Status,Start Date,Last Day"


def row(
    employee_id: str,
    given: str,
    family: str,
    title: str,
    department: str,
    *,
    left: str | None = None,
    start: str = LONG_AGO,
) -> str:
    status = "Terminated" if left else "Active"
    return f"{employee_id},{given},{family},{title},{department},{status},{start},{left or ''}"


def roster(*rows: str) -> bytes:
    return ("\r\n".join((HEADER, *rows)) + "\r\n").encode("utf-8")


def account(
    employee_id: str | None, given: str, family: str, title: str, department: str, **props: Any
) -> dict[str, Any]:
    local = props.pop("local", f"{given}.{family}".lower())
    values = {
        "userPrincipalName": f"{local}@contoso.com",
        "mail": f"{local}@contoso.com",
        "givenName": given,
        "surname": family,
        "displayName": f"{given} {family}",
        "jobTitle": title,
        "department": department,
        "accountEnabled": True,
        **props,
    }
    if employee_id:
        values["employeeId"] = employee_id
    return values


@pytest.fixture
def start_stack(entra: EntraEmulator, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    contexts: list[Any] = []

    def start(*, settings: dict[str, str] | None = None, hris: HrisEmulator | None = None) -> Stack:
        entra.control.reset()
        entra.control.configure(
            **{**FAST_CONFIG, "agentOnline": True, "matchingAttributes": ["employeeId", "userPrincipalName"]}
        )
        context = running_stack(
            tmp_path / f"stack{len(contexts)}",
            entra=entra,
            time_scale=600,
            clock_start=START,
            settings={**FAST_SETTINGS, **(HRIS_SETTINGS if hris else {}), **(settings or {})},
        )
        stack = context.__enter__()
        contexts.append(context)
        if hris is not None:
            connect_hris(stack, hris)
        return stack

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)
    entra.control.configure(matchingAttributes=["employeeId"])


def post_roster(stack: Stack, data: bytes) -> httpx.Response:
    with stack.client() as client:
        return client.post(
            "/reconciliations",
            files={"roster": ("roster.csv", data, "text/csv"), "mapping": ("mapping.yaml", MAPPING.encode())},
        )


def wait_run(stack: Stack, run_id: str, timeout: float = 90) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        with stack.client() as client:
            view = client.get(f"/reconciliations/{run_id}").json()
        return view if view.get("runtimeStatus") in ("Completed", "Failed") else None

    result: dict[str, Any] = wait_until(finished, timeout, interval=0.2)
    return result


def run_roster(stack: Stack, data: bytes) -> dict[str, Any]:
    answer = post_roster(stack, data)
    assert answer.status_code == 202, answer.text
    return wait_run(stack, answer.json()["id"])


def by_employee(view: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        str(entry.get("employeeId") or entry["account"]["userPrincipalName"]): (entry["class"], entry["action"])
        for entry in view["plan"]
    }


def wait_events(stack: Stack, instance_ids: list[str], timeout: float = 180) -> dict[str, dict[str, Any]]:
    return {instance_id: stack.wait_for(instance_id, timeout=timeout) for instance_id in instance_ids}


def entra_user(stack: Stack, employee_id: str) -> dict[str, Any] | None:
    users = [u for u in stack.entra.control.state()["entraUsers"] if u.get("employeeId") == employee_id]
    return users[0] if len(users) == 1 else None


def stage(stack: Stack, instance_id: str) -> str | None:
    """The event's stage, or None while the apply has not started its instance yet (the apply answers first)."""
    with stack.client() as client:
        response = client.get(f"/hr-events/{instance_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json().get("stage")


def approve_held(stack: Stack, instance_id: str) -> None:
    wait_until(lambda: stage(stack, instance_id) == "held", 60, interval=0.2)
    with stack.client() as client:
        assert client.post(f"/hr-events/{instance_id}/approve").status_code == 200


def test_a_roster_run_plans_every_drift_class_and_the_apply_fixes_it(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    seed = stack.entra.control.seed_user
    seed("synced", **account("M1", "Maria", "Schmidt", "Head of Finance", "Finance"))
    seed("synced", **account("E1", "Ada", "Lovelace", "Engineer", "R&D"))
    seed("synced", **account("E2", "Bob", "Stale", "Analyst", "Sales"))
    seed("synced", **account("E4", "Dan", "Leaver", "Analyst", "Finance"))
    seed("synced", **account("E5", "Eve", "Rehire", "Analyst", "Finance", accountEnabled=False))
    seed("synced", **account("E6", "Fay", "Conflict", "Analyst", "Finance"))
    seed("synced", **account("E6", "Fay", "Conflict", "Analyst", "Finance", local="fay.c"))
    seed("synced", **account("X7", "Olga", "Orphan", "Analyst", "Finance"))
    grace = seed("synced", **account(None, "Grace", "Hopper", "Admiral", "Navy"))["entraUser"]
    alan = seed("synced", **account(None, "Alan", "Turing", "Researcher", "Maths", local="alan.t"))["entraUser"]
    seed("synced", **account(None, "Zed", "Nobody", "Ghost", "None"))
    hr = roster(
        row("M1", "Maria", "Schmidt", "Head of Finance", "Finance"),
        row("E1", "Ada", "Lovelace", "Engineer", "R&D"),
        row("E2", "Bob", "Stale", "Senior Analyst", "Finance"),
        row("E3", "Carla", "Missing", "Analyst", "Finance"),
        row("E4", "Dan", "Leaver", "Analyst", "Finance", left=(TODAY - timedelta(days=7)).isoformat()),
        row("E5", "Eve", "Rehire", "Analyst", "Finance", start=(TODAY - timedelta(days=2)).isoformat()),
        row("E6", "Fay", "Conflict", "Analyst", "Finance"),
        row("E8", "Grace", "Hopper", "Admiral", "Navy"),
        row("E9", "Alan", "Turing", "Researcher", "Maths"),
    )

    # 1. Preview: exactly the expected plan, per employee; held, since 2 of 10 accounts change state (> 5 %).
    first = run_roster(stack, hr)
    run_id = first["id"]
    assert first["stage"] == "held", first
    assert by_employee(first) == {
        "E2": ("stale", "update"),
        "E3": ("missing", "hire"),
        "E4": ("leaver-enabled", "termination"),
        "E5": ("rehire-disabled", "rehire"),
        "E6": ("conflict", None),
        "E8": ("correlation", None),
        "E9": ("correlation", None),
        "X7": ("orphan", None),
        "zed.nobody@contoso.com": ("orphan", None),
    }
    entries = {entry.get("employeeId"): entry for entry in first["plan"]}
    assert entries["E2"]["changes"] == [
        {"attribute": "jobTitle", "old": "Analyst", "new": "Senior Analyst"},
        {"attribute": "department", "old": "Sales", "new": "Finance"},
    ]
    assert [case["account"]["id"] for case in entries["E8"]["cases"]] == [grace["id"]]
    assert [item["kind"] for item in entries["E8"]["cases"][0]["evidence"]] == ["name+department", "upn"]
    assert [item["kind"] for item in entries["E9"]["cases"][0]["evidence"]] == ["name+department"]
    assert first["summary"]["changes"] == {"create": 1, "update": 1, "disable": 1, "enable": 1}
    assert "disables and re-enables" in first["holdReasons"][0]
    with stack.client() as client:
        spreadsheet = client.get(f"/reconciliations/{run_id}", params={"format": "csv"})
        held = client.post(f"/reconciliations/{run_id}/apply", json={})
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    assert "E2,stale,update" in spreadsheet.text and "Senior Analyst" in spreadsheet.text
    assert held.status_code == 409 and "held" in held.json()["title"].lower()

    # 2. Cases: Grace's account is hers (an update writes her employeeId); the look-alike is not Alan's.
    with stack.client() as client:
        confirmed = client.post(f"/reconciliations/{run_id}/cases/{entries['E8']['cases'][0]['caseId']}/confirm")
        rejected = client.post(f"/reconciliations/{run_id}/cases/{entries['E9']['cases'][0]['caseId']}/reject")
        again = client.post(f"/reconciliations/{run_id}/cases/{entries['E9']['cases'][0]['caseId']}/reject")
    assert confirmed.status_code == 200, confirmed.text
    assert rejected.status_code == 200 and again.status_code == 409
    link = confirmed.json()["event"]["id"]
    assert wait_events(stack, [link])[link]["runtimeStatus"] == "Completed"
    linked = wait_until(lambda: entra_user(stack, "E8"), 60)
    assert linked["id"] == grace["id"]

    # 3. Apply the held plan on purpose; a second apply starts nothing.
    with stack.client() as client:
        applied = client.post(f"/reconciliations/{run_id}/apply", json={"approve": True})
        assert applied.status_code == 202, applied.text
        assert client.post(f"/reconciliations/{run_id}/apply", json={"approve": True}).status_code == 200
    assert applied.json()["events"] == 4
    events = {
        "E2": f"hr-recon-{run_id}-E2",
        "E3": f"hr-recon-E3-hire-{LONG_AGO}",
        "E4": f"hr-recon-E4-termination-{(TODAY - timedelta(days=7)).isoformat()}",
        "E5": f"hr-recon-E5-rehire-{(TODAY - timedelta(days=2)).isoformat()}",
    }
    approve_held(stack, events["E5"])  # a rehire of an account this app did not disable waits for IT
    outcomes = wait_events(stack, list(events.values()))
    assert {key: outcomes[value]["runtimeStatus"] for key, value in events.items()} == dict.fromkeys(
        events, "Completed"
    )

    # 4. The next run: Alan (case rejected) is now missing; apply it, and a third run finds no drift left.
    wait_until(
        lambda: (
            (entra_user(stack, "E3") or {}).get("accountEnabled")
            and not (entra_user(stack, "E4") or {}).get("accountEnabled")
        ),
        60,
    )
    second = run_roster(stack, hr)
    assert by_employee(second) == {
        "E6": ("conflict", None),
        "E9": ("missing", "hire"),
        "X7": ("orphan", None),
        "alan.t@contoso.com": ("orphan", None),
        "zed.nobody@contoso.com": ("orphan", None),
    }
    with stack.client() as client:
        assert client.post(f"/reconciliations/{second['id']}/apply", json={"employeeIds": ["E9"]}).status_code == 202
    hire = f"hr-recon-E9-hire-{LONG_AGO}"
    assert wait_events(stack, [hire])[hire]["runtimeStatus"] == "Completed"
    wait_until(lambda: entra_user(stack, "E9"), 60)
    assert entra_user(stack, "E9")["id"] != alan["id"]
    third = run_roster(stack, hr)
    assert {cls for cls, _ in by_employee(third).values()} == {"conflict", "orphan"}
    assert third["summary"]["changes"] == {"create": 0, "update": 0, "disable": 0, "enable": 0}
    assert secret_leaks(stack) == []


def test_a_roster_that_would_disable_40_percent_is_planned_and_held_never_applied(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    families = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")
    for number, family in enumerate(families, start=1):
        stack.entra.control.seed_user("synced", **account(f"P{number}", "Pat", family, "Analyst", "Ops"))
    gone = (TODAY - timedelta(days=1)).isoformat()
    view = run_roster(
        stack,
        roster(
            *(
                row(f"P{number}", "Pat", family, "Analyst", "Ops", left=gone if number <= 2 else None)
                for number, family in enumerate(families, start=1)
            )
        ),
    )
    assert view["stage"] == "held"
    assert view["summary"]["changes"]["disable"] == 2
    assert view["holdReasons"] == ["the plan holds 2 disables and re-enables, 40.0% of 5 accounts (more than 5%)"]
    with stack.client() as client:
        refused = client.post(f"/reconciliations/{view['id']}/apply", json={})
    assert refused.status_code == 409
    assert all(user["accountEnabled"] for user in stack.entra.control.state()["entraUsers"] if user.get("employeeId"))
    assert not [row for row in stack.host.engine.store.list_instances() if row.instance_id.startswith("hr-recon-")]


def test_roster_problems_are_refused_with_rows_and_columns_and_nothing_is_planned(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    answer = post_roster(
        stack,
        roster(
            row("E1", "Ada", "Lovelace", "Engineer", "R&D"),
            row("E1", "Ada", "Again", "Engineer", "R&D"),
            "E3,Bob,,Analyst,Finance,Active,2021-03-01,",
            "E4,too,many,values,here,Active,2021-03-01,,",
        ),
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    fields = [error["field"] for error in answer.json()["errors"]]
    assert fields == ["rows[3].Employee ID", "rows[4].Last Name", "rows[5]"]
    assert not [row for row in stack.host.engine.store.list_instances() if row.instance_id.startswith("recon-")]


def test_a_lost_webhook_is_caught_and_a_failing_read_fails_the_run_cleanly(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    hris.control.reset()
    stack = start_stack(hris=hris)
    people = {
        "4711": {"firstName": "Zoe", "lastName": "Mueller", "jobTitle": "Analyst", "department": "Finance"},
        "4712": {"firstName": "Yan", "lastName": "Li", "jobTitle": "Engineer", "department": "R&D"},
        "4713": {"firstName": "Xia", "lastName": "Wu", "jobTitle": "Designer", "department": "R&D"},
    }
    for employee_id, fields in people.items():
        hris.control.put_employee("bamboohr", employee_id, hireDate=LONG_AGO, **fields)
        stack.entra.control.seed_user(
            "synced",
            **account(employee_id, fields["firstName"], fields["lastName"], fields["jobTitle"], fields["department"]),
        )
    # HR changes Zoe's title, and the webhook never comes.
    hris.control.put_employee("bamboohr", "4711", jobTitle="Senior Analyst")

    with stack.client() as client:
        started = client.post("/reconciliations", json={"source": "bamboohr"})
    assert started.status_code == 202, started.text
    caught = wait_run(stack, started.json()["id"])
    assert by_employee(caught) == {"4711": ("stale", "update")}
    assert caught["plan"][0]["changes"] == [{"attribute": "jobTitle", "old": "Analyst", "new": "Senior Analyst"}]

    # The list fails on its second page: the run fails with BambooHR's error and nothing is planned or applied.
    hris.control.faults("bamboohr", api=[{"status": 500, "count": 20, "operation": "list", "after": 1}])
    with stack.client() as client:
        failing = client.post("/reconciliations", json={"source": "bamboohr"})
    failed = wait_run(stack, failing.json()["id"], timeout=120)
    assert failed["stage"] == "failed"
    assert failed["error"]["code"] == "SourceFailed" and "BambooHR API answered 500" in failed["error"]["message"]
    assert "plan" not in failed
    hris.control.clear_faults("bamboohr")
    with stack.client() as client:
        rerun = client.post("/reconciliations", json={"source": "bamboohr"})
    assert by_employee(wait_run(stack, rerun.json()["id"])) == {"4711": ("stale", "update")}


def test_the_scheduled_run_applies_only_what_auto_apply_allows_and_mails_it(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    hris.control.reset()
    stack = start_stack(
        hris=hris,
        settings={
            "RECONCILE_SCHEDULE": "*/5 * * * *",
            "RECONCILE_SOURCE": "bamboohr",
            "RECONCILE_AUTO_APPLY": "stale",
            "RECONCILE_MAX_UPDATES_PERCENT": "100",
            "RECONCILE_MAX_CREATES_PERCENT": "100",
        },
    )
    hris.control.put_employee("bamboohr", "5001", hireDate=LONG_AGO, firstName="Ana", lastName="Silva", jobTitle="Lead")
    hris.control.put_employee("bamboohr", "5002", hireDate=LONG_AGO, firstName="Ben", lastName="Ode", jobTitle="Chef")
    stack.entra.control.seed_user("synced", **account("5001", "Ana", "Silva", "Analyst", "Ops"))
    # The timer runs as Azure runs it on demand: POST /admin/functions/{name} with the host's master key.
    ran = stack.host.request(
        "POST", "/admin/functions/scheduled_reconciliation", headers={"x-functions-key": stack.host.master_key}
    )
    assert ran.status_code == 202
    runs = wait_until(
        lambda: [row for row in stack.host.engine.store.list_instances() if row.instance_id.endswith("-scheduled")],
        30,
    )
    view = wait_run(stack, runs[0].instance_id.removeprefix("recon-"))
    assert by_employee(view) == {"5001": ("stale", "update"), "5002": ("missing", "hire")}
    assert view["autoApplied"]["events"] == 1  # the stale title only: creates are not in RECONCILE_AUTO_APPLY
    update = f"hr-recon-{view['id']}-5001"
    assert stack.wait_for(update, timeout=120)["runtimeStatus"] == "Completed"
    assert not [row for row in stack.host.engine.store.list_instances() if row.instance_id.startswith("hr-recon-5002")]
    mails = [
        mail
        for mail in stack.entra.control.state()["outbox"]
        if "Reconciliation" in str(mail.get("message", {}).get("subject", ""))
    ]
    assert len(mails) == 1 and "stale: 1" in str(mails[0]) and "missing: 1" in str(mails[0])
