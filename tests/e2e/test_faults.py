"""The fault matrix: the real app under throttling, outages and directory errors, each with the outcome IT sees.

Every scenario here has a section in docs/operations.md ("Fault behaviour") that says the same thing in IT's
words: the stage, the error code, the email, and what to do. Each test ends with the secret scan: whatever the
faults did, no Temporary Access Pass, bearer token or client secret reached durable state, logs or responses.

Time: the orchestrator clock runs 600x (a scaled minute is 0.1 real second) while the emulator's faults, the
pipeline delays and the SDKs' in-call retries run on real time. Where that matters the test says which clock a
number is on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from demo.stack import Stack, wait_until
from emulators.entra.config import DEFAULT_CLIENT_ID
from emulators.functions_host.history import EventType
from provisioning.workflows import contracts
from tests.e2e import test_product
from tests.e2e.helpers import carries, secret_leaks
from tests.e2e.test_product import HIRE, MANAGER, event

pytestmark = pytest.mark.e2e

start_stack = test_product.start_stack
"""The product e2e fixture (a fresh emulator state and functions host per call), shared rather than copied."""

IT_MAILBOX = "it-operations@contoso.com"
COMPLETION_TIMEOUT = 90.0
"""Real seconds; generous because in-call retries (Retry-After, azure-core backoff) sleep for real."""


class Api:
    """The HR system's and IT's view of the running product; keeps every body it was answered for the scan."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.responses: list[str] = []

    def submit(self, body: dict[str, Any], expected: int = 202) -> str:
        response = self.stack.post_event(body)
        self.responses.append(response.text)
        assert response.status_code == expected, response.text
        return str(response.json()["id"])

    def outcome(self, instance_id: str, timeout: float = COMPLETION_TIMEOUT) -> dict[str, Any]:
        self.stack.wait_for(instance_id, timeout=timeout)
        return self.status(instance_id)

    def status(self, instance_id: str) -> dict[str, Any]:
        status = self.stack.status(instance_id)
        self.responses.append(json.dumps(status))
        return status

    def assert_no_secret_leaked(self, *, secrets: tuple[str, ...] = ()) -> None:
        with self.stack.client() as client:
            self.responses.append(client.get("/health").text)
        assert secret_leaks(self.stack, self.responses, secrets=secrets) == []


def it_alerts(stack: Stack) -> list[str]:
    """The failure alerts sent to IT (subject "[HR provisioning] <type> ... failed at <stage>: <code>"), as JSON
    text. Termination notices also copy IT; they are not alerts."""
    mails = [json.dumps(mail) for mail in stack.entra.control.state()["outbox"]]
    return [mail for mail in mails if IT_MAILBOX in mail and "[HR provisioning]" in mail and " failed at " in mail]


def seed_employee(stack: Stack, employee_id: str, local: str, *, enabled: bool = True) -> None:
    stack.entra.control.seed_user(
        "synced",
        employeeId=employee_id,
        userPrincipalName=f"{local}@contoso.com",
        mail=f"{local}@contoso.com",
        givenName=local.split(".", maxsplit=1)[0].title(),
        surname=local.split(".")[1].title(),
        displayName=local.replace(".", " ").title(),
        manager=MANAGER["employeeId"],
        accountEnabled=enabled,
        onPremisesSamAccountName=local[:20],
    )


def hire(event_id: str, employee_id: str, given: str, family: str, **changes: Any) -> dict[str, Any]:
    employee = {"employeeId": employee_id, "givenName": given, "familyName": family, "preferredGivenName": None}
    return event(eventId=event_id, employee=employee, **changes)


def mover(event_id: str, employee_id: str) -> dict[str, Any]:
    body = event(eventId=event_id, type="update", employee={"employeeId": employee_id, "jobTitle": "Team Lead"})
    del body["effectiveDate"]
    return body


def leaver(event_id: str, employee_id: str, last_day: str = "2026-11-26") -> dict[str, Any]:
    """A termination whose last day (and 18:00 local) has passed, so it disables the account at once."""
    return {
        "eventId": event_id,
        "type": "termination",
        "effectiveDate": last_day,
        "employee": {"employeeId": employee_id, "timeZone": "UTC"},
    }


# -- 1, 2: Graph throttling and transient unavailability ------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"rate429": 0.3, "retryAfterSeconds": 1, "seed": 11}, id="30pct-429-with-retry-after"),
        pytest.param({"rate503": 0.2, "seed": 12}, id="20pct-503"),
    ],
)
def test_graph_throttling_and_503s_are_ridden_out_by_every_workflow(
    start_stack: Callable[..., Stack], faults: dict[str, Any]
) -> None:
    """Expected: every hire, the mover and the leaver complete; each hire has one AD account and one pass, mailed
    once. IT sees nothing but slower stages (Graph retries inside activities, then durable retries)."""
    stack = start_stack(entra_config={"faults": faults})
    seed_employee(stack, "E30001", "mo.ver")
    seed_employee(stack, "E30002", "lee.ver")
    api = Api(stack)
    hires = {
        api.submit(hire("fault-hire-1", "E31001", "Ada", "Lovelace")): "E31001",
        api.submit(hire("fault-hire-2", "E31002", "Grace", "Hopper")): "E31002",
        api.submit(hire("fault-hire-3", "E31003", "Alan", "Turing")): "E31003",
    }
    moved = api.submit(mover("fault-move", "E30001"))
    left = api.submit(leaver("fault-leave", "E30002"))

    outcomes = {instance_id: api.outcome(instance_id) for instance_id in [*hires, moved, left]}
    assert {i: s["stage"] for i, s in outcomes.items()} == dict.fromkeys(outcomes, "completed"), outcomes
    assert [outcomes[i]["output"]["outcome"] for i in hires] == ["provisioned"] * 3
    assert outcomes[moved]["output"]["outcome"] == "updated"
    assert outcomes[left]["output"]["outcome"] == "disabled"

    state = stack.entra.control.state()
    injected = 429 if "rate429" in faults else 503
    assert any(call["status"] == injected for call in state["calls"]), "the fault was never injected"
    for employee_id in hires.values():
        assert len([u for u in state["adUsers"] if u.get("employeeId") == employee_id]) == 1
    assert next(u for u in state["adUsers"] if u.get("employeeId") == "E30002")["accountEnabled"] is False
    assert next(u for u in state["adUsers"] if u.get("employeeId") == "E30001")["jobTitle"] == "Team Lead"
    passes = [tap["temporaryAccessPass"] for tap in state["temporaryAccessPasses"]]
    assert len(passes) == 3
    outbox = [json.dumps(mail) for mail in state["outbox"]]
    assert all(len([mail for mail in outbox if carries(mail, secret)]) == 1 for secret in passes)
    assert it_alerts(stack) == []
    assert secret_leaks(stack, [passes[0]]) == ["a Temporary Access Pass in responses"], "the scan must see a pass"
    api.assert_no_secret_leaked()


# -- 3: token endpoint outage ---------------------------------------------------------------------------------

TOKEN_OUTAGE_SECONDS = 8.0
"""Real seconds. One activity attempt spends about 5 s in azure-identity's own retries of the managed identity
endpoint, and azure-identity then answers from its cached failure for a few seconds, so an 8 s outage outlasts
everything inside one attempt: only the orchestrator's durable retries (TRANSIENT_RETRY: 10 attempts 30 s apart)
carry the event over it."""
TOKEN_OUTAGE_TIME_SCALE = 30.0
"""At 30x the retries are 1 real second apart and cover about 15 real seconds, so the 8 s outage is four minutes
on the orchestrator's clock, inside its five-minute retry budget as a one-minute outage is in production. (At the
usual 600x the whole retry budget would pass in half a real second, which no real outage is that short.)"""


def test_token_endpoint_outage_is_ridden_out(start_stack: Callable[..., Stack]) -> None:
    """Expected: the hire completes. While the managed identity endpoint fails, IT sees the event sit in
    `resolving` (or whichever stage needed a token); no failure, no IT email."""
    stack = start_stack(
        time_scale=TOKEN_OUTAGE_TIME_SCALE,
        entra_config={"faults": {"tokenFailUntil": time.time() + TOKEN_OUTAGE_SECONDS}},
    )
    api = Api(stack)
    instance_id = api.submit(HIRE)
    status = api.outcome(instance_id)
    assert status["stage"] == "completed", json.dumps(status)
    history = stack.host.history(instance_id)
    failed_attempts = [entry for entry in history if entry["EventType"] == EventType.TASK_FAILED]
    assert failed_attempts, "the outage must outlast one activity attempt, or the durable retries were not needed"
    refused = [call for call in stack.entra.control.state()["calls"] if call["path"].startswith("/msi/token")]
    assert any(call["status"] == 503 for call in refused)
    assert it_alerts(stack) == []
    api.assert_no_secret_leaked()


# -- 4: Key Vault outage with request signing and the client-secret credential --------------------------------

VAULT_HOST = "kv-hr-faults.vault.azure.net"
VAULT_OUTAGE_SECONDS = 10.0
"""Real seconds; long enough that a scheduled hire wakes inside it (see below)."""


def test_key_vault_outage_answers_503_and_loses_no_accepted_event(start_stack: Callable[..., Stack]) -> None:
    """Expected: while the vault is down a signed submission gets 503 problem+json (the HR system retries it
    later); an event accepted before the outage waits in its stage (the Graph client secret cannot be read) and
    completes once the vault is back; a resubmission after the outage is accepted and completes."""
    signing_secret = "hr-signing-" + "7" * 24
    settings = {
        "KEY_VAULT_URL": f"https://{VAULT_HOST}/",
        "HR_SIGNING_SECRET_NAME": "hr-signing",
        "GRAPH_AUTH": "client_secret",
        "AZURE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "GRAPH_CLIENT_SECRET_NAME": "graph-client-secret",
        "SECRET_CACHE_TTL_SECONDS": "0",  # every read reaches the vault, so the outage is not hidden by the cache
    }
    # 22:30 UTC is 23:30 in Berlin: the hire waits 30 scaled minutes (3 real seconds) for its lead-day midnight.
    stack = start_stack(settings=settings, clock_start=datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    graph_secret = stack.entra.env["EMULATOR_APP_CLIENT_SECRET"]
    stack.entra.control.seed_secret(VAULT_HOST, "hr-signing", signing_secret)
    stack.entra.control.seed_secret(VAULT_HOST, "graph-client-secret", graph_secret)
    stack.signing_secret = signing_secret  # the stack's client signs every call, status reads included
    api = Api(stack)

    def post_signed(body: dict[str, Any]) -> Any:
        with stack.client() as client:
            response = client.post("/hr-events", json=body)
        api.responses.append(response.text)
        return response

    accepted = post_signed(HIRE)
    assert accepted.status_code == 202, accepted.text
    outage_ends = time.time() + VAULT_OUTAGE_SECONDS
    stack.entra.control.configure(faults={"keyVaultFailUntil": outage_ends})

    second = hire("fault-kv-2", "E32002", "Hedy", "Lamarr")
    refused = post_signed(second)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 503
    # The accepted hire woke up inside the outage and is stuck before its first Graph call, not failed. (A signed
    # status read needs the signing secret too, so it would be 503 now: look at the host itself.)
    first_id = accepted.json()["id"]
    wait_until(lambda: (stack.host.status(first_id) or {}).get("customStatus", {}).get("stage") == "resolving", 20)
    assert time.time() < outage_ends, "the hire must meet the outage for this test to mean anything"

    wait_until(lambda: time.time() >= outage_ends, VAULT_OUTAGE_SECONDS + 1)
    resubmitted = post_signed(second)
    assert resubmitted.status_code == 202, resubmitted.text
    for instance_id in (first_id, resubmitted.json()["id"]):
        status = api.outcome(instance_id)
        assert status["stage"] == "completed", json.dumps(status)
    history = stack.host.history(first_id)
    assert any(entry["EventType"] == EventType.TASK_FAILED for entry in history), "no attempt met the outage"
    state = stack.entra.control.state()
    assert any(call["host"] == VAULT_HOST and call["status"] == 503 for call in state["calls"])
    assert it_alerts(stack) == []
    api.assert_no_secret_leaked(secrets=(signing_secret, graph_secret))


# -- 5, 6: the sync deadline ----------------------------------------------------------------------------------


def test_agent_offline_past_the_deadline_fails_and_alerts_it(start_stack: Callable[..., Stack]) -> None:
    """Expected: failed, code SyncDeadlineNoProvisioningLog, an IT alert naming the code and the instance."""
    stack = start_stack(entra_config={"agentOnline": False}, settings={"SYNC_TIMEOUT_MINUTES": "20"})
    api = Api(stack)
    instance_id = api.submit(HIRE)
    status = api.outcome(instance_id)
    assert status["stage"] == "failed"
    assert status["error"]["code"] == "SyncDeadlineNoProvisioningLog"
    assert "agent is offline" in status["error"]["message"]
    alerts = it_alerts(stack)
    assert len(alerts) == 1
    assert "SyncDeadlineNoProvisioningLog" in alerts[0] and instance_id in alerts[0]
    api.assert_no_secret_leaked()


def test_provisioning_log_later_than_the_deadline(start_stack: Callable[..., Stack]) -> None:
    """Expected: a hire still completes, because the account seen in Entra settles the outcome; a mover, which has
    no new account to look for, fails with SyncDeadlineNoProvisioningLog (its change may well be applied: IT
    checks the provisioning log and resubmits if it is not)."""
    stack = start_stack(
        entra_config={"logDelaySeconds": 30.0},  # real seconds: far beyond the 2 real seconds of the deadline
        settings={"SYNC_TIMEOUT_MINUTES": "20"},
    )
    seed_employee(stack, "E30001", "mo.ver")
    api = Api(stack)
    hired = api.submit(hire("fault-late-log-hire", "E33001", "Katherine", "Johnson"))
    moved = api.submit(mover("fault-late-log-move", "E30001"))
    hire_status = api.outcome(hired)
    assert hire_status["stage"] == "completed", json.dumps(hire_status)
    move_status = api.outcome(moved)
    assert move_status["stage"] == "failed"
    assert move_status["error"]["code"] == "SyncDeadlineNoProvisioningLog"
    assert stack.entra.control.state()["provisioningLogs"] == []  # nothing visible yet: the logs really were late
    assert len(it_alerts(stack)) == 1
    api.assert_no_secret_leaked()


# -- 7: Active Directory errors -------------------------------------------------------------------------------


def test_ad_errors_fail_with_their_code_and_ad_only_conflicts_take_the_next_name(
    start_stack: Callable[..., Stack],
) -> None:
    """Expected: InsufficientAccessRights fails the event with that code and alerts IT; a UPN taken only in AD
    (invisible to Graph) is found through the provisioning log and the hire completes with the next name."""
    stack = start_stack(entra_config={"adErrors": {"E34001": "InsufficientAccessRights"}})
    stack.entra.control.seed_user(
        "ad",
        employeeId="X34002",
        userPrincipalName="grace.hopper@contoso.com",
        onPremisesSamAccountName="grace.hopper",
        displayName="AD-only Grace",
    )
    api = Api(stack)
    denied = api.submit(hire("fault-ad-denied", "E34001", "Ada", "Lovelace"))
    conflicted = api.submit(hire("fault-ad-conflict", "E34002", "Grace", "Hopper"))

    denied_status = api.outcome(denied)
    assert denied_status["stage"] == "failed"
    assert denied_status["error"]["code"] == "InsufficientAccessRights"
    conflict_status = api.outcome(conflicted)
    assert conflict_status["stage"] == "completed", json.dumps(conflict_status)
    assert conflict_status["output"]["userPrincipalName"] == "g.hopper@contoso.com"
    assert any("taken in Active Directory" in warning for warning in conflict_status["output"]["warnings"])
    alerts = it_alerts(stack)
    assert len(alerts) == 1 and "InsufficientAccessRights" in alerts[0]
    # The workbook's "Failures by error code" reads this log dimension.
    failed_lines = [line for line in stack.host.log_path.read_text().splitlines() if "stage=failed" in line]
    assert any("error_code=InsufficientAccessRights" in line for line in failed_lines), failed_lines
    api.assert_no_secret_leaked()


# -- 8: an Entra account without the on-premises sync flag ----------------------------------------------------


def test_account_without_on_premises_sync_flag_completes_with_a_warning(start_stack: Callable[..., Stack]) -> None:
    """Expected: completed, with a warning in output.warnings that the account may not be the one the agent
    created in AD (IT checks the account's source in the portal)."""
    stack = start_stack(entra_config={"faults": {"syncWithoutOnPremisesFlag": True}})
    api = Api(stack)
    status = api.outcome(api.submit(HIRE))
    assert status["stage"] == "completed", json.dumps(status)
    assert any("onPremisesSyncEnabled" in warning for warning in status["output"]["warnings"])
    api.assert_no_secret_leaked()


# -- the runbook stays complete ---------------------------------------------------------------------------------


def test_every_failure_code_and_stage_is_in_the_operations_runbook() -> None:
    """Every code the app can fail an event with, and every stage, has a row in docs/operations.md."""
    root = Path(__file__).resolve().parents[2]
    runbook = (root / "docs" / "operations.md").read_text(encoding="utf-8")
    source = "\n".join(path.read_text(encoding="utf-8") for path in (root / "provisioning").rglob("*.py"))
    codes = set(re.findall(r'WorkflowFailed\(\s*"([A-Za-z]+)"', source))
    codes |= set(re.findall(r'"code": "([A-Z][A-Za-z]+)"', source))
    codes |= set(re.findall(r'or "([A-Z][A-Za-z]+)"\)', source))  # fallbacks such as BulkUploadRejected
    assert {"SyncDeadlineNoProvisioningLog", "ActivityFailed", "BulkUploadFailed"} <= codes, codes
    assert sorted(code for code in codes if f"`{code}`" not in runbook) == []
    assert [stage for stage in contracts.STAGES if f"`{stage}`" not in runbook] == []
