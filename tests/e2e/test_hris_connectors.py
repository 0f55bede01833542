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
        {"status": attempt["status"], **(json.loads(attempt["response"]) if attempt.get("response") else {})}
        for delivery in state["deliveries"]
        for attempt in delivery["attempts"]
    ]


def runs(stack: Stack) -> list[dict[str, Any]]:
    """Every hris_notification run the host knows, with its status and output."""
    return stack.host.engine.query(None, None, None, "hr-intake-", False)


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
