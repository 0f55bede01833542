"""The HR system connectors end to end, driven the way each vendor would drive them.

A change in the emulated HR system (BambooHR, HiBob, Personio) makes it POST its own signed webhook to the app;
the app verifies it, fetches the record from the vendor's API through the proxy, runs the HR event against the
Entra emulator (account in AD and Entra), and writes the work email back, which the test reads in the HR emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.stack import HRIS_SECRETS, HRIS_SETTINGS, Stack, connect_hris, running_stack, wait_until
from emulators.entra.testing import FAST_CONFIG, EntraEmulator
from emulators.functions_host.management import InstanceQuery
from emulators.hris.testing import HrisEmulator
from tests.e2e.helpers import secret_leaks

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
FAST_SETTINGS = {"PROVISIONING_POLL_INITIAL_SECONDS": "15", "UPLOAD_COALESCE_SECONDS": "5", **HRIS_SETTINGS}
MANAGER = {
    "employeeId": "E00007",
    "userPrincipalName": "maria.schmidt@contoso.com",
    "mail": "maria.schmidt@contoso.com",
    "givenName": "Maria",
    "surname": "Schmidt",
    "displayName": "Maria Schmidt",
}
NEW_HIRE = {
    "firstName": "Zoë",
    "lastName": "O'Brien-Müller",
    "preferredName": "Zoe",
    "jobTitle": "Financial Analyst",
    "department": "Finance",
    "location": "Berlin HQ",
    "country": "DE",
    "homeEmail": "zoe.obrien@example.org",
    "hireDate": "2026-12-01",
    "employeeNumber": "E10042",
}


@pytest.fixture
def start_stack(entra: EntraEmulator, hris: HrisEmulator, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    contexts: list[Any] = []

    def start(*, settings: dict[str, str] | None = None) -> Stack:
        entra.control.reset()
        entra.control.configure(**{**FAST_CONFIG, "agentOnline": True})
        entra.control.seed_user("synced", **MANAGER)
        hris.control.reset()
        context = running_stack(
            tmp_path / f"stack{len(contexts)}",
            entra=entra,
            time_scale=600,
            clock_start=NOW,
            settings={**FAST_SETTINGS, **(settings or {})},
        )
        stack = context.__enter__()
        contexts.append(context)
        connect_hris(stack, hris)
        return stack

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


def answers(hris: HrisEmulator, vendor: str, timeout: float = 30) -> list[dict[str, Any]]:
    """What the app answered each delivered webhook, once every delivery has settled."""
    state = hris.control.wait_until(
        vendor, lambda s: s["deliveries"] and all(d["status"] != "queued" for d in s["deliveries"]), timeout=timeout
    )
    return [
        {"http": attempt["status"], **(json.loads(attempt["response"]) if attempt.get("response") else {})}
        for delivery in state["deliveries"]
        for attempt in delivery["attempts"]
    ]


def instances(stack: Stack, prefix: str) -> list[dict[str, Any]]:
    """Every instance whose id starts with `prefix`, through the host's paged instance query."""
    found: list[dict[str, Any]] = []
    continuation: str | None = None
    while True:
        page = stack.host.management.query(InstanceQuery(prefix=prefix, show_input=False, continuation=continuation))
        found += page.items
        continuation = page.continuation
        if not continuation:
            return found


def runs(stack: Stack) -> list[dict[str, Any]]:
    """Every hris_notification run the host knows, with its status and output."""
    return instances(stack, "hr-intake-")


def wait_runs_done(stack: Stack, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        items = runs(stack)
        finished = [item for item in items if item["runtimeStatus"] in ("Completed", "Failed", "Terminated")]
        return items if len(items) >= count and len(finished) == len(items) else None

    result: list[dict[str, Any]] = wait_until(done, timeout, interval=0.2)
    return result


def ad_user(stack: Stack, employee_id: str) -> dict[str, Any] | None:
    return next((u for u in stack.entra.control.state()["adUsers"] if u.get("employeeId") == employee_id), None)


def entra_user(stack: Stack, employee_id: str) -> dict[str, Any] | None:
    return next((u for u in stack.entra.control.state()["entraUsers"] if u.get("employeeId") == employee_id), None)


@pytest.mark.parametrize(
    ("vendor", "employee_id", "manager_ref"),
    [
        ("bamboohr", "4711", "E00007"),
        ("hibob", "3332883884017713238", "3332883884017710007"),
        ("personio", "17000042", "E00007"),
    ],
)
def test_a_hire_in_the_hr_system_becomes_an_account_and_its_email_goes_back(
    start_stack: Callable[..., Stack], hris: HrisEmulator, vendor: str, employee_id: str, manager_ref: str
) -> None:
    stack = start_stack()
    hris.control.put_employee(
        vendor, manager_ref, firstName="Maria", lastName="Schmidt", hireDate="2020-01-01", employeeNumber="E00007"
    )
    hris.control.put_employee(vendor, employee_id, notify="created", supervisorId=manager_ref, **NEW_HIRE)
    state = hris.control.wait_until(vendor, lambda s: s["writebacks"], timeout=120)
    writeback = state["writebacks"][-1]
    assert writeback["employeeId"] == employee_id
    expected_id = "E10042" if vendor == "hibob" else employee_id
    employee = next(e for e in state["employees"] if e["id"] == employee_id)
    assert employee["workEmail"] == "zoe.obrien-muller@contoso.com"
    assert employee["upn"] == "zoe.obrien-muller@contoso.com"
    assert ad_user(stack, expected_id) is not None
    synced = entra_user(stack, expected_id)
    assert synced is not None and synced["accountEnabled"] is True and synced["onPremisesSyncEnabled"] is True
    assert synced["manager"] == "E00007"
    fetches = [call for call in state["calls"] if call["operation"] == "fetch" and call["employeeId"] == employee_id]
    assert fetches and all(call["status"] == 200 for call in fetches)
    items = wait_runs_done(stack, 1)
    outputs = [item["output"] for item in items if item["runtimeStatus"] == "Completed"]
    provisioned = [out for out in outputs if out["outcome"] == "provisioned"]
    assert len(provisioned) == 1 and provisioned[0]["writeback"]["status"] == "written"
    assert len(stack.entra.control.state()["temporaryAccessPasses"]) == 1
    assert secret_leaks(stack, secrets=HRIS_SECRETS.values()) == []


def hire_in(hris: HrisEmulator, vendor: str = "bamboohr", employee_id: str = "4711") -> None:
    hris.control.put_employee(
        vendor, "E00007", firstName="Maria", lastName="Schmidt", hireDate="2020-01-01", employeeNumber="E00007"
    )
    hris.control.put_employee(vendor, employee_id, notify="created", supervisorId="E00007", **NEW_HIRE)


def event_instances(stack: Stack) -> list[dict[str, Any]]:
    return [row for row in instances(stack, "hr-") if row["name"] == "hr_event"]


def bulk_calls(stack: Stack) -> int:
    return sum(1 for call in stack.entra.control.state()["calls"] if call["path"].endswith("/bulkUpload"))


def test_a_duplicated_webhook_runs_once(start_stack: Callable[..., Stack], hris: HrisEmulator) -> None:
    stack = start_stack()
    hris.control.faults("bamboohr", duplicateWebhooks=1)
    hire_in(hris)
    hris.control.wait_until("bamboohr", lambda s: s["writebacks"], timeout=120)
    replies = answers(hris, "bamboohr")
    # BambooHR sends employee.created (twice here: the duplicate) and employee.updated for one new hire.
    assert [reply["http"] for reply in replies] == [202, 200, 202]
    assert replies[1]["status"] == "duplicate" and replies[1]["duplicates"][0]["id"] == replies[0]["accepted"][0]["id"]
    wait_runs_done(stack, 2)
    assert [row["instanceId"] for row in event_instances(stack)] == ["hr-bamboohr-4711-hire-2026-12-01"]
    assert bulk_calls(stack) == 1
    assert len(hris.control.state("bamboohr")["writebacks"]) == 1


def test_a_lost_webhook_changes_nothing(start_stack: Callable[..., Stack], hris: HrisEmulator) -> None:
    stack = start_stack()
    hris.control.faults("bamboohr", loseWebhooks=2)
    hire_in(hris)
    state = hris.control.state("bamboohr")
    assert [delivery["status"] for delivery in state["deliveries"]] == ["lost", "lost"]
    assert runs(stack) == [] and event_instances(stack) == []
    assert [call for call in state["calls"] if call["operation"] == "fetch"] == []
    assert ad_user(stack, "4711") is None


@pytest.mark.parametrize("vendor", ["bamboohr", "hibob", "personio"])
def test_a_forged_webhook_is_refused_and_starts_nothing(
    start_stack: Callable[..., Stack], hris: HrisEmulator, vendor: str
) -> None:
    stack = start_stack()
    hris.control.configure(vendor, webhookSecret="not-the-secret-in-key-vault-" + "0" * 12)
    hire_in(hris, vendor)
    replies = answers(hris, vendor)
    assert replies and all(reply["http"] == 401 for reply in replies)
    assert all(reply["title"] in ("Invalid signature", "Invalid token") for reply in replies)
    # BambooHR and Personio do not retry a 4xx; a refused delivery stays refused.
    assert runs(stack) == [] and ad_user(stack, "4711") is None
    assert [call for call in hris.control.state(vendor)["calls"] if call["operation"] == "fetch"] == []
    with httpx.Client(base_url=stack.api, headers={"x-functions-key": stack.host.function_key}) as client:
        unsigned = client.post(f"/hris/{vendor}", json={"type": "employee.created", "data": {"employeeId": "1"}})
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")


def test_a_429_storm_during_the_fetch_is_waited_out(start_stack: Callable[..., Stack], hris: HrisEmulator) -> None:
    stack = start_stack()
    storm = [{"status": 429, "count": 4, "retryAfter": 30}, {"status": 503, "count": 4, "retryAfter": 60}]
    hris.control.faults("bamboohr", api=storm)
    hire_in(hris)
    state = hris.control.wait_until("bamboohr", lambda s: s["writebacks"], timeout=180)
    statuses = [call["status"] for call in state["calls"] if call["operation"] == "fetch"]
    assert statuses.count(429) == 4 and statuses.count(503) == 4 and 200 in statuses
    assert entra_user(stack, "4711") is not None


def test_an_employee_the_api_does_not_return_ends_with_a_code_and_an_it_mail(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    stack = start_stack()
    hris.control.notify("bamboohr", "9999", kind="updated")
    reply = answers(hris, "bamboohr")[0]
    run_id = reply["accepted"][0]["id"]
    stack.wait_for(run_id, timeout=60)
    status = stack.status(run_id)
    assert status["stage"] == "failed"
    assert status["error"]["code"] == "HrRecordNotFound" and "9999" in status["error"]["message"]
    outbox = json.dumps(stack.entra.control.state()["outbox"])
    assert "HrRecordNotFound" in outbox and "it-operations@contoso.com" in outbox


def test_a_record_that_is_not_a_valid_event_fails_with_the_fields_named(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    stack = start_stack()
    hris.control.put_employee("bamboohr", "4712", notify="created", firstName="Kai", hireDate="2026-12-01")
    run_id = answers(hris, "bamboohr")[0]["accepted"][0]["id"]
    stack.wait_for(run_id, timeout=60)
    status = stack.status(run_id)
    assert status["error"]["code"] == "HrRecordInvalid"
    assert "employee.familyName (lastName): required" in status["error"]["message"]
    assert bulk_calls(stack) == 0


def test_a_termination_entered_after_the_fact_disables_the_account_at_once(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    stack = start_stack()
    stack.entra.control.seed_user(
        "synced",
        employeeId="4713",
        userPrincipalName="sam.taylor@contoso.com",
        mail="sam.taylor@contoso.com",
        displayName="Sam Taylor",
        onPremisesSamAccountName="sam.taylor",
    )
    hris.control.put_employee("bamboohr", "4713", firstName="Sam", lastName="Taylor", hireDate="2021-03-01")
    hris.control.terminate("bamboohr", "4713", "2026-11-20")
    reply = answers(hris, "bamboohr")[0]
    assert reply["http"] == 202, reply
    run_id = reply["accepted"][0]["id"]
    stack.wait_for(run_id, timeout=90)
    output = stack.status(run_id)["output"]
    assert output["outcome"] == "disabled" and output["eventType"] == "termination"
    assert ad_user(stack, "4713")["accountEnabled"] is False
    assert hris.control.state("bamboohr")["writebacks"] == []


def test_a_failed_writeback_is_a_warning_and_an_it_mail_not_a_failed_hire(
    start_stack: Callable[..., Stack], hris: HrisEmulator
) -> None:
    stack = start_stack()
    hris.control.faults("bamboohr", api=[{"status": 500, "count": 50, "operation": "writeback"}])
    hire_in(hris)
    items = wait_runs_done(stack, 2)
    provisioned = [row["output"] for row in items if (row.get("output") or {}).get("outcome") == "provisioned"]
    assert len(provisioned) == 1
    assert provisioned[0]["writeback"]["status"] == "failed"
    assert any("BambooHR" in warning and "by hand" in warning for warning in provisioned[0]["warnings"])
    assert entra_user(stack, "4711")["accountEnabled"] is True
    outbox = json.dumps(stack.entra.control.state()["outbox"])
    assert "HrWritebackFailed" in outbox
    assert hris.control.state("bamboohr")["writebacks"] == []
