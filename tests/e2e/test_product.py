"""The product end to end: the real app in the functions host, real activities, real azure-identity and httpx
clients over HTTPS through the proxy to the Entra emulator with production hostnames."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from demo.stack import Stack, running_stack, wait_until
from emulators.entra.testing import FAST_CONFIG, EntraEmulator
from provisioning.directory import is_name_conflict
from provisioning.intake.signing import sign
from tests.e2e.helpers import carries, secret_leaks

pytestmark = pytest.mark.e2e

HIRE: dict[str, Any] = {
    "eventId": "e2e-hire-1",
    "type": "hire",
    "effectiveDate": "2026-12-01",
    "occurredAt": "2026-11-20T09:14:00Z",
    "employee": {
        "employeeId": "E10042",
        "givenName": "Zoë",
        "familyName": "O'Brien-Müller",
        "preferredGivenName": "Zoe",
        "jobTitle": "Financial Analyst",
        "department": "Finance",
        "companyName": "Contoso Ltd",
        "managerEmployeeId": "E00007",
        "city": "Berlin",
        "country": "DE",
        "usageLocation": "DE",
        "personalEmail": "zoe.obrien@example.org",
        "timeZone": "Europe/Berlin",
        "preferredLanguage": "de-DE",
    },
}
MANAGER = {
    "employeeId": "E00007",
    "userPrincipalName": "maria.schmidt@contoso.com",
    "mail": "maria.schmidt@contoso.com",
    "givenName": "Maria",
    "surname": "Schmidt",
    "displayName": "Maria Schmidt",
}
# A clock inside PROVISION_LEAD_DAYS of the 1 December start date, so hires run at once.
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
FAST_SETTINGS = {"PROVISIONING_POLL_INITIAL_SECONDS": "15", "UPLOAD_COALESCE_SECONDS": "5"}


def event(base: dict[str, Any] = HIRE, **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    result["employee"].update(changes.pop("employee", {}))
    result.update(changes)
    return result


@pytest.fixture
def start_stack(entra: EntraEmulator, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    stacks: list[Any] = []

    def start(
        *,
        settings: dict[str, str] | None = None,
        clock_start: datetime = NOW,
        time_scale: float = 600,
        entra_config: dict[str, Any] | None = None,
        seed_manager: bool = True,
    ) -> Stack:
        entra.control.reset()
        entra.control.configure(**{**FAST_CONFIG, "agentOnline": True, **(entra_config or {})})
        if seed_manager:
            entra.control.seed_user("synced", **MANAGER)
        context = running_stack(
            tmp_path / f"stack{len(stacks)}",
            entra=entra,
            time_scale=time_scale,
            clock_start=clock_start,
            settings={**FAST_SETTINGS, **(settings or {})},
        )
        stack = context.__enter__()
        stacks.append(context)
        return stack

    yield start
    for context in reversed(stacks):
        context.__exit__(None, None, None)
    entra.control.configure(faults={"rate429": 0, "rate503": 0}, adErrors={"E10042": None})


def submit(stack: Stack, body: dict[str, Any], expected: int = 202) -> dict[str, Any]:
    response = stack.post_event(body)
    assert response.status_code == expected, response.text
    return dict(response.json())


def outcome(stack: Stack, instance_id: str, timeout: float = 90) -> dict[str, Any]:
    stack.wait_for(instance_id, timeout=timeout)
    return stack.status(instance_id)


def bulk_calls(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for call in state["calls"] if call["path"].endswith("/bulkUpload")]


class TestHire:
    def test_hire_with_diacritics_gets_a_pass_mailed_to_the_manager(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        accepted = submit(stack, HIRE)
        assert accepted["statusUrl"].endswith(f"/api/hr-events/{accepted['id']}")
        status = outcome(stack, accepted["id"])
        assert status["stage"] == "completed", status
        result = status["output"]
        assert result["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert result["credential"]["method"] == "tap"
        state = stack.entra.control.state()
        ad_user = next(user for user in state["adUsers"] if user.get("employeeId") == "E10042")
        assert ad_user["onPremisesSamAccountName"] == result["samAccountName"]
        entra_user = next(user for user in state["entraUsers"] if user.get("employeeId") == "E10042")
        assert entra_user["onPremisesSyncEnabled"] is True and entra_user["accountEnabled"] is True
        passes = [tap["temporaryAccessPass"] for tap in state["temporaryAccessPasses"]]
        assert len(passes) == 1
        pass_mails = [mail for mail in state["outbox"] if carries(json.dumps(mail), passes[0])]
        assert len(pass_mails) == 1
        assert "maria.schmidt@contoso.com" in json.dumps(pass_mails[0])
        body = state["bulkRequests"][0]["body"]
        assert body["Operations"][0]["data"]["active"] is True
        # The account this hire's upload created is asked its memberships (roles and protected groups), not the
        # two role queries an existing account gets (protection.py says why).
        paths = [call["path"] for call in state["calls"]]
        assert sum(path.endswith("/transitiveMemberOf") for path in paths) == 1
        assert not [path for path in paths if "/roleManagement/" in path]

    def test_name_taken_in_entra(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        stack.entra.control.seed_user(
            "entra",
            employeeId="X1",
            userPrincipalName="zoe.obrien-muller@contoso.com",
            mail="zoe.obrien-muller@contoso.com",
            displayName="Other Zoe",
        )
        result = outcome(stack, submit(stack, HIRE)["id"])["output"]
        assert result["userPrincipalName"] == "z.obrien-muller@contoso.com"

    def test_name_taken_only_in_ad_is_found_through_the_provisioning_log(
        self, start_stack: Callable[..., Stack]
    ) -> None:
        stack = start_stack()
        stack.entra.control.seed_user(
            "ad",
            employeeId="X2",
            userPrincipalName="zoe.obrien-muller@contoso.com",
            onPremisesSamAccountName="zoe.obrien-mulle",
            displayName="AD Only",
        )
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["output"]["userPrincipalName"] == "z.obrien-muller@contoso.com", status
        logs = stack.entra.control.state()["provisioningLogs"]
        codes = [(entry["provisioningStatusInfo"].get("errorInformation") or {}).get("errorCode") for entry in logs]
        assert any(is_name_conflict(code) for code in codes), codes

    def test_two_concurrent_hires_with_the_same_name(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        first = submit(stack, HIRE)
        second = submit(stack, event(eventId="e2e-hire-2", employee={"employeeId": "E10043"}))
        names = {
            outcome(stack, first["id"])["output"]["userPrincipalName"],
            outcome(stack, second["id"])["output"]["userPrincipalName"],
        }
        assert len(names) == 2

    def test_duplicate_event_id_runs_once(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        first = submit(stack, HIRE)
        second = submit(stack, HIRE, expected=200)
        assert second["id"] == first["id"]
        outcome(stack, first["id"])
        assert len(bulk_calls(stack.entra.control.state())) == 1

    def test_missing_manager_sends_to_it(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(seed_manager=False)
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["stage"] == "completed"
        assert any("E00007" in warning for warning in status["output"]["warnings"])
        recipients = json.dumps(stack.entra.control.state()["outbox"])
        assert "it-operations@contoso.com" in recipients

    def test_agent_offline_fails_at_the_deadline_and_alerts_it(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(entra_config={"agentOnline": False}, settings={"SYNC_TIMEOUT_MINUTES": "20"})
        accepted = submit(stack, HIRE)
        status = outcome(stack, accepted["id"])
        assert status["stage"] == "failed"
        assert status["error"]["code"] == "SyncDeadlineNoProvisioningLog"
        outbox = stack.entra.control.state()["outbox"]
        assert any("it-operations@contoso.com" in json.dumps(mail) for mail in outbox)

    def test_ad_error_fails_with_the_logged_code(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(entra_config={"adErrors": {"E10042": "InsufficientAccessRights"}})
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["error"]["code"] == "InsufficientAccessRights"

    def test_429_storm_still_completes(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(entra_config={"faults": {"rate429": 0.3, "retryAfterSeconds": 1, "seed": 7}})
        status = outcome(stack, submit(stack, HIRE)["id"], timeout=180)
        assert status["stage"] == "completed"
        assert any(call["status"] == 429 for call in stack.entra.control.state()["calls"])


class TestMoverLeaverRehire:
    def seed_employee(self, stack: Stack, *, enabled: bool = True) -> None:
        stack.entra.control.seed_user(
            "synced",
            employeeId="E10042",
            userPrincipalName="zoe.obrien-muller@contoso.com",
            mail="zoe.obrien-muller@contoso.com",
            givenName="Zoe",
            surname="O'Brien-Müller",
            displayName="Zoe O'Brien-Müller",
            manager="E00007",
            accountEnabled=enabled,
            onPremisesSamAccountName="zoe.obrien-mulle",
        )

    def test_mover_with_a_new_manager(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        self.seed_employee(stack)
        stack.entra.control.seed_user(
            "synced",
            employeeId="E00008",
            userPrincipalName="lee.chen@contoso.com",
            mail="lee.chen@contoso.com",
            displayName="Lee Chen",
        )
        mover = event(
            eventId="e2e-move", type="update", employee={"managerEmployeeId": "E00008", "jobTitle": "Senior Analyst"}
        )
        del mover["effectiveDate"]
        status = outcome(stack, submit(stack, mover)["id"])
        assert status["output"]["managerChanged"] is True
        state = stack.entra.control.state()
        assert any("lee.chen@contoso.com" in json.dumps(mail) for mail in state["outbox"])
        data = state["bulkRequests"][-1]["body"]["Operations"][0]["data"]
        assert data["userName"] == "zoe.obrien-muller@contoso.com" and data["active"] is True

    def test_termination_at_six_pm_local_on_the_last_day(self, start_stack: Callable[..., Stack]) -> None:
        # 17:50 in New York on the last working day: the leaver waits ten (scaled) minutes.
        stack = start_stack(clock_start=datetime(2026, 12, 18, 22, 50, tzinfo=UTC))
        self.seed_employee(stack)
        leaver = {
            "eventId": "e2e-leave",
            "type": "termination",
            "effectiveDate": "2026-12-18",
            "employee": {"employeeId": "E10042", "timeZone": "America/New_York"},
        }
        accepted = submit(stack, leaver)
        wait_until(lambda: stack.status(accepted["id"])["stage"] == "scheduled", 10)
        assert bulk_calls(stack.entra.control.state()) == []
        status = outcome(stack, accepted["id"])
        assert status["output"]["outcome"] == "disabled"
        assert status["output"]["timings"]["uploadedAt"] >= "2026-12-18T23:00"
        state = stack.entra.control.state()
        assert next(u for u in state["adUsers"] if u.get("employeeId") == "E10042")["accountEnabled"] is False
        assert any(call["path"].endswith("/revokeSignInSessions") for call in state["calls"])

    def test_rescinded_termination_writes_nothing(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        self.seed_employee(stack)
        leaver = {
            "eventId": "e2e-leave-later",
            "type": "termination",
            "effectiveDate": "2027-01-29",
            "employee": {"employeeId": "E10042"},
        }
        accepted = submit(stack, leaver)
        wait_until(lambda: stack.status(accepted["id"])["stage"] == "scheduled", 10)
        with stack.client() as client:
            assert client.delete(f"/hr-events/{accepted['id']}").status_code == 200
        assert outcome(stack, accepted["id"])["output"]["outcome"] == "cancelled"
        assert bulk_calls(stack.entra.control.state()) == []

    def test_rehire_reuses_the_upn(self, start_stack: Callable[..., Stack]) -> None:
        """A leaver this app disabled last week comes back: no hold, the old UPN, a pass to the manager on
        record, and IT is told."""
        stack = start_stack()
        self.seed_employee(stack)
        leaver = {
            "eventId": "e2e-leave-first",
            "type": "termination",
            "effectiveDate": "2026-11-26",
            "employee": {"employeeId": "E10042"},
        }
        assert outcome(stack, submit(stack, leaver)["id"])["output"]["outcome"] == "disabled"
        status = outcome(stack, submit(stack, event(eventId="e2e-rehire", type="rehire"))["id"])
        assert status["output"]["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert status["output"]["credential"]["recipients"] == ["manager"]
        state = stack.entra.control.state()
        assert next(u for u in state["entraUsers"] if u.get("employeeId") == "E10042")["accountEnabled"] is True
        assert len(state["temporaryAccessPasses"]) == 1
        assert any("Rehire completed" in mail["subject"] for mail in state["outbox"])
        # An existing account is asked every question before it is re-enabled and again before its pass.
        paths = [call["path"] for call in state["calls"]]
        assert sum(path.endswith("/roleAssignments") for path in paths) >= 2
        assert sum(path.endswith("/roleEligibilityScheduleInstances") for path in paths) >= 2

    def test_stale_event_is_superseded(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        self.seed_employee(stack)
        newer = event(
            eventId="e2e-new", type="update", occurredAt="2026-11-26T10:00:00Z", employee={"jobTitle": "Lead"}
        )
        older = event(
            eventId="e2e-old", type="update", occurredAt="2026-11-25T10:00:00Z", employee={"jobTitle": "Intern"}
        )
        for body in (newer, older):
            del body["effectiveDate"]
        outcome(stack, submit(stack, newer)["id"])
        status = outcome(stack, submit(stack, older)["id"])
        assert status["stage"] == "superseded"
        assert len(bulk_calls(stack.entra.control.state())) == 1


class TestBatch:
    def test_120_hires_take_three_bulk_calls(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(time_scale=60)
        events = [
            event(
                eventId=f"e2e-batch-{index}",
                employee={
                    "employeeId": f"B{index:04d}",
                    "givenName": "Al" + "".join(chr(97 + int(d)) for d in str(index)),
                    "preferredGivenName": None,
                    "familyName": "Batch",
                },
            )
            for index in range(120)
        ]
        with stack.client() as client:
            response = client.post("/hr-events/batch", json={"events": events})
        assert response.status_code == 202, response.text
        batch_id = response.json()["id"]
        for index in range(120):
            stack.wait_for(f"hr-e2e-batch-{index}", timeout=240)
        state = stack.entra.control.state()
        assert len(bulk_calls(state)) == 3
        assert sorted(len(r["body"]["Operations"]) for r in state["bulkRequests"]) == [20, 50, 50]
        summary = stack.status(batch_id)
        assert summary["outcomes"] == {"provisioned": 120}


class TestInputAndSecurity:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda e: e.pop("eventId"), "eventId"),
            (lambda e: e.update(eventId="has space"), "eventId"),
            (lambda e: e.update(type="promotion"), "type"),
            (lambda e: e.update(effectiveDate="01/12/2026"), "effectiveDate"),
            (lambda e: e.pop("effectiveDate"), "effectiveDate"),
            (lambda e: e.update(occurredAt="yesterday"), "occurredAt"),
            (lambda e: e["employee"].update(employeeId="E" * 17), "employee.employeeId"),
            (lambda e: e["employee"].pop("givenName"), "employee.givenName"),
            (lambda e: e["employee"].update(familyName="Bad\u0007Name"), "employee.familyName"),
            (lambda e: e["employee"].update(country="Germany"), "employee.country"),
            (lambda e: e["employee"].update(timeZone="Mars/Base"), "employee.timeZone"),
            (lambda e: e["employee"].update(personalEmail="not-an-email"), "employee.personalEmail"),
            (lambda e: e["employee"].update(preferredLanguage="!!"), "employee.preferredLanguage"),
            (lambda e: e["employee"].update(attributes={"nested": {"no": 1}}), "employee.attributes"),
            (lambda e: e.update(unexpected=1), "unexpected"),
            (lambda e: e["employee"].update(shoeSize=44), "employee.shoeSize"),
        ],
    )
    def test_invalid_events_are_400_naming_the_field_and_never_reach_graph(
        self, start_stack: Callable[..., Stack], mutate: Callable[[dict[str, Any]], Any], field: str
    ) -> None:
        stack = start_stack()
        calls_before = len(stack.entra.control.state()["calls"])
        body = event()
        mutate(body)
        response = stack.post_event(body)
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [error["field"] for error in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), fields
        assert len(stack.entra.control.state()["calls"]) == calls_before

    def test_non_json_and_oversized_bodies(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        with stack.client() as client:
            assert client.post("/hr-events", content=b"<xml/>", headers={"Content-Type": "text/xml"}).status_code == 415
            assert (
                client.post("/hr-events", content=b"{nope", headers={"Content-Type": "application/json"}).status_code
                == 400
            )
            big = b'{"eventId": "' + b"x" * (1024 * 1024) + b'"}'
            assert (
                client.post("/hr-events", content=big, headers={"Content-Type": "application/json"}).status_code == 413
            )
            bad_utf8 = b'{"eventId": "\xff\xfe"}'
            assert (
                client.post("/hr-events", content=bad_utf8, headers={"Content-Type": "application/json"}).status_code
                == 400
            )

    def test_every_route_needs_the_function_key(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        import httpx

        with httpx.Client(base_url=stack.api) as anonymous:
            for method, path in [
                ("POST", "/hr-events"),
                ("POST", "/hr-events/batch"),
                ("GET", "/hr-events/x"),
                ("POST", "/hr-events/preview"),
                ("DELETE", "/hr-events/x"),
                ("POST", "/hr-events/x/approve"),
                ("GET", "/health"),
            ]:
                assert anonymous.request(method, path).status_code == 401, (method, path)

    def test_preview_writes_nothing(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        before = stack.entra.control.state()
        with stack.client() as client:
            response = client.post("/hr-events/preview", json=HIRE)
        assert response.status_code == 200, response.text
        plan = response.json()
        assert plan["action"] == "hire" and plan["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert plan["samAccountName"] and plan["scim"]["Operations"][0]["data"]["active"] is True
        after = stack.entra.control.state()
        assert not [call for call in after["calls"][len(before["calls"]) :] if call["method"] != "GET"]
        assert after["bulkRequests"] == before["bulkRequests"] and after["outbox"] == before["outbox"]

    def test_health_reports_ok(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack()
        with stack.client() as client:
            response = client.get("/health")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"

    def test_health_names_a_missing_permission(self, start_stack: Callable[..., Stack]) -> None:
        stack = start_stack(entra_config={"appRoles": {"managedIdentity": ["User.Read.All"]}})
        with stack.client() as client:
            response = client.get("/health")
        assert response.status_code == 503
        assert any("SynchronizationData-User.Upload" in problem for problem in response.json()["problems"])
        stack.entra.control.configure(appRoles={"managedIdentity": None})

    def test_signed_requests(self, start_stack: Callable[..., Stack]) -> None:
        vault = "https://kv-hr-e2e.vault.azure.net/"
        stack = start_stack(settings={"KEY_VAULT_URL": vault, "HR_SIGNING_SECRET_NAME": "hr-signing"})
        secret = "signing-key-" + "9" * 24
        stack.entra.control.seed_secret("kv-hr-e2e.vault.azure.net", "hr-signing", secret)
        body = json.dumps(HIRE).encode()
        url = f"{stack.api}/hr-events"

        def post(headers: dict[str, Any], content: bytes = body) -> int:
            with stack.client(signed=False) as client:
                return client.post(
                    "/hr-events", content=content, headers={"Content-Type": "application/json", **headers}
                ).status_code

        now = str(int(time.time()))
        good = {"X-HR-Timestamp": now, "X-HR-Signature": sign(secret, "POST", url, now, body)}
        assert post({}) == 401  # missing
        assert post({"X-HR-Timestamp": now, "X-HR-Signature": sign("forged", "POST", url, now, body)}) == 401
        old = str(int(time.time()) - 3600)
        assert post({"X-HR-Timestamp": old, "X-HR-Signature": sign(secret, "POST", url, old, body)}) == 401
        assert post({**good}, content=body + b" ") == 401  # tampered body
        assert post({"X-HR-Timestamp": str(int(now) + 1), "X-HR-Signature": good["X-HR-Signature"]}) == 401
        superscript = (now + "²").encode("latin-1")  # str.isdigit() accepts "²", int() does not
        assert post({**good, "X-HR-Timestamp": superscript}) == 401  # refused, not a 500
        assert post(good) == 202
        assert post(good) == 401  # replayed
        stack.signing_secret = secret
        with stack.client() as client:  # every route takes the signature, reads included
            assert client.get("/hr-events/e2e-hire-1").status_code == 200
            assert client.post("/hr-events/preview", json=HIRE).status_code == 200


def test_no_secret_reaches_state_logs_or_responses(start_stack: Callable[..., Stack]) -> None:
    """After hires (one failing), a mover and a leaver, scan everything the product wrote or answered."""
    stack = start_stack(entra_config={"adErrors": {"E20002": "InsufficientAccessRights"}})
    responses: list[str] = []
    ids = []
    for index, employee_id in enumerate(("E20001", "E20002")):
        accepted = submit(stack, event(eventId=f"scan-{index}", employee={"employeeId": employee_id}))
        ids.append(accepted["id"])
    for instance_id in ids:
        stack.wait_for(instance_id, timeout=90)
        responses.append(json.dumps(stack.status(instance_id)))
    with stack.client() as client:
        responses.append(client.get("/health").text)
        responses.append(client.post("/hr-events/preview", json=HIRE).text)
    assert stack.entra.control.state()["temporaryAccessPasses"], "the scan must have passes to look for"
    assert secret_leaks(stack, responses) == []


def test_status_of_an_unknown_event_is_404(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    with stack.client() as client:
        assert client.get("/hr-events/hr-does-not-exist").status_code == 404
        assert client.get("/hr-events/never-submitted").status_code == 404


def test_client_secret_option_reads_the_secret_from_key_vault(start_stack: Callable[..., Stack]) -> None:
    """GRAPH_AUTH=client_secret: the app registration's secret comes from Key Vault (read with the managed
    identity), never from the environment."""
    from emulators.entra.config import DEFAULT_CLIENT_ID

    vault_host = "kv-hr-secret.vault.azure.net"
    stack = start_stack(
        settings={
            "GRAPH_AUTH": "client_secret",
            "AZURE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "KEY_VAULT_URL": f"https://{vault_host}/",
            "GRAPH_CLIENT_SECRET_NAME": "graph-client-secret",
        }
    )
    assert "AZURE_CLIENT_SECRET" not in stack.settings
    stack.entra.control.seed_secret(vault_host, "graph-client-secret", stack.entra.env["EMULATOR_APP_CLIENT_SECRET"])
    status = outcome(stack, submit(stack, HIRE)["id"])
    assert status["stage"] == "completed", status
    calls = stack.entra.control.state()["calls"]
    assert any(call["path"].endswith("/oauth2/v2.0/token") for call in calls)
    assert any("/secrets/graph-client-secret" in call["path"] for call in calls)
