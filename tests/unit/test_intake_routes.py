"""The webhook routes and the intake activities with a stand-in Durable client and runtime (the edges)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
import yaml

from provisioning import runtime
from provisioning.credentials import SecretUnavailable
from provisioning.intake import activities, hibob, routes
from provisioning.intake.notifications import Notification
from provisioning.intake.records import MappedEvent
from provisioning.intake.registry import CONNECTORS
from provisioning.intake.vendor_http import VendorError, VendorNotFound, VendorThrottled, VendorUnauthorized
from provisioning.settings import Settings, SettingsError
from provisioning.workflows import contracts as c
from tests.unit.test_intake_connectors import REQUIRED, SECRETS, bamboo_signed, bob_signed, settings

REPO = Path(__file__).resolve().parents[2]


class Secrets:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def get(self, name: str) -> str:
        if self.fail:
            raise SecretUnavailable(name, "not found in the vault")
        return SECRETS[name]


class FakeClient:
    def __init__(self, existing: dict[str, str] | None = None, *, race: bool = False) -> None:
        self.existing = dict(existing or {})
        self.started: list[tuple[str, str, Any]] = []
        self.race = race

    async def get_status(self, instance_id: str, *_: Any, **__: Any) -> Any:
        status = self.existing.get(instance_id)
        if status is None:
            return None
        return SimpleNamespace(runtime_status=df.OrchestrationRuntimeStatus(status), output={"outcome": "provisioned"})

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        if self.race:
            self.existing[instance_id] = "Running"
            raise RuntimeError("already exists")
        self.started.append((name, instance_id, payload))
        return instance_id


@pytest.fixture
def use_runtime(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(config: Settings | None = None, secrets: Secrets | None = None, broken: bool = False) -> None:
        def current() -> Any:
            if broken:
                raise SettingsError(["UPN_DOMAIN is required"])
            return SimpleNamespace(settings=config or settings(), secrets=secrets or Secrets())

        monkeypatch.setattr(runtime, "current", current)

    return use


def request(vendor: str, body: bytes, headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        "POST",
        f"https://func-hr.azurewebsites.net/api/hris/{vendor}",
        headers={"Content-Type": "application/json", **(headers or {})},
        body=body,
    )


def call(vendor: str, req: func.HttpRequest, client: FakeClient) -> tuple[int, dict[str, Any]]:
    response = asyncio.run(routes.receive(vendor, req, client))  # type: ignore[arg-type]
    return response.status_code, json.loads(response.get_body() or b"{}")


BAMBOO_EVENT = json.dumps(
    {"type": "employee.created", "timestamp": "2026-11-20T09:00:00+0000", "data": {"employeeId": "101"}}
).encode()


def test_a_verified_webhook_starts_one_run_and_a_repeat_finds_it(use_runtime: Any) -> None:
    use_runtime()
    client = FakeClient()
    status, body = call("bamboohr", request("bamboohr", BAMBOO_EVENT, bamboo_signed(BAMBOO_EVENT)), client)
    assert status == 202 and body["status"] == "accepted"
    name, instance_id, payload = client.started[0]
    assert name == c.HRIS_NOTIFICATION and body["accepted"][0]["id"] == instance_id
    assert body["accepted"][0]["statusUrl"] == f"https://func-hr.azurewebsites.net/api/hr-events/{instance_id}"
    assert payload["notification"]["employee_ref"] == "101" and payload["options"]["hris_writeback"] is True
    client.existing[instance_id] = "Running"
    status, body = call("bamboohr", request("bamboohr", BAMBOO_EVENT, bamboo_signed(BAMBOO_EVENT)), client)
    assert status == 200 and body["duplicates"][0]["id"] == instance_id and len(client.started) == 1
    client.existing[instance_id] = "Failed"  # a failed run may run again
    assert call("bamboohr", request("bamboohr", BAMBOO_EVENT, bamboo_signed(BAMBOO_EVENT)), client)[0] == 202


def test_a_concurrent_repeat_loses_the_race_quietly(use_runtime: Any) -> None:
    use_runtime()
    status, body = call(
        "bamboohr", request("bamboohr", BAMBOO_EVENT, bamboo_signed(BAMBOO_EVENT)), FakeClient(race=True)
    )
    assert status == 200 and body["status"] == "duplicate"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unsigned", 401),
        ("forged", 401),
        ("not-json", 400),
        ("text-plain", 415),
        ("too-large", 413),
        ("unknown-type", 400),
        ("ignored", 200),
        ("off", 404),
        ("no-secret", 503),
        ("misconfigured", 503),
    ],
)
def test_bad_requests_start_nothing(use_runtime: Any, case: str, expected: int) -> None:
    body, headers = BAMBOO_EVENT, bamboo_signed(BAMBOO_EVENT)
    config, secrets = settings(), Secrets()
    if case == "unsigned":
        headers = {}
    elif case == "forged":
        headers = bamboo_signed(BAMBOO_EVENT, secret="forged")
    elif case == "not-json":
        body = b"{nope"
        headers = bamboo_signed(body)
    elif case == "text-plain":
        headers = {**headers, "Content-Type": "text/plain"}
    elif case == "too-large":
        body = b"x" * (1024 * 1024 + 1)
    elif case == "unknown-type":
        body = json.dumps({"type": "employee.exploded", "data": {"employeeId": "1"}}).encode()
        headers = bamboo_signed(body)
    elif case == "ignored":
        body = json.dumps({"type": "employee.deleted", "data": {"employeeId": "1"}}).encode()
        headers = bamboo_signed(body)
    elif case == "off":
        config = settings(BAMBOOHR_ENABLED="false")
    elif case == "no-secret":
        secrets = Secrets(fail=True)
    use_runtime(config, secrets, broken=case == "misconfigured")
    client = FakeClient()
    status, answer = call("bamboohr", request("bamboohr", body, headers), client)
    assert status == expected, answer
    assert client.started == []
    if expected != 200:
        assert answer["status"] == expected and answer["title"]


def test_hibob_ping_is_answered_without_a_signature(use_runtime: Any) -> None:
    use_runtime()
    client = FakeClient()
    status, body = call("hibob", request("hibob", b"Ping test", {"Content-Type": "text/plain"}), client)
    assert status == 200 and body == {"status": "ok"} and client.started == []
    event = json.dumps({"companyId": 42, "type": "employee.created", "data": {"employeeId": "3"}}).encode()
    status, body = call("hibob", request("hibob", event, bob_signed(event)), client)
    assert status == 202


def test_the_documented_webhook_examples_are_what_the_connectors_accept() -> None:
    document = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    checked = 0
    for vendor in CONNECTORS:
        content = document["paths"][f"/hris/{vendor}"]["post"]["requestBody"]["content"]["application/json"]
        for example in content["examples"].values():
            config = Settings.from_env({**REQUIRED, "HIBOB_COMPANY_ID": "100200", "PERSONIO_COMPANY_ID": "100200"})
            parsed = CONNECTORS[vendor].parse(example["value"], json.dumps(example["value"]).encode(), config)
            assert parsed and parsed[0].employee_ref
            checked += 1
    assert checked == 3


# -- activities ---------------------------------------------------------------------------------------------------


NOTE = Notification("bamboohr", "d-1", "created", "101").to_json()


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (VendorThrottled("BambooHR", 503, "rate limited", 42.0), {"status": "throttled", "retryAfterSeconds": 42.0}),
        (VendorNotFound("BambooHR", 404, "not found"), {"status": "notFound"}),
        (
            MappedEvent({"eventId": "e", "type": "hire"}, (), "u"),
            {"status": "found", "event": {"eventId": "e", "type": "hire"}, "updateEventId": "u"},
        ),
    ],
)
def test_fetch_activity_reports_what_the_vendor_said(
    use_runtime: Any, monkeypatch: pytest.MonkeyPatch, outcome: Any, expected: dict[str, Any]
) -> None:
    use_runtime()

    def fetch(*_: Any, **__: Any) -> Any:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(CONNECTORS["bamboohr"], "fetch_event", fetch)
    assert activities.fetch_hr_event._function._func({"notification": NOTE}) == expected  # type: ignore[attr-defined]


def test_fetch_activity_reports_refused_credentials_and_invalid_records(
    use_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_runtime()
    fetch_event = activities.fetch_hr_event._function._func  # type: ignore[attr-defined]

    def refused(*_: Any, **__: Any) -> Any:
        raise VendorUnauthorized("BambooHR", 401, "credentials refused")

    monkeypatch.setattr(CONNECTORS["bamboohr"], "fetch_event", refused)
    assert fetch_event({"notification": NOTE})["status"] == "unauthorized"
    from provisioning.events import FieldError

    monkeypatch.setattr(
        CONNECTORS["bamboohr"],
        "fetch_event",
        lambda *_, **__: MappedEvent(None, (FieldError("employee.givenName", "required"),), "u"),
    )
    assert fetch_event({"notification": NOTE}) == {
        "status": "invalid",
        "errors": [{"field": "employee.givenName", "message": "required"}],
    }


def test_writeback_activity_never_raises(use_runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    use_runtime()
    write_back = activities.write_back_to_hr._function._func  # type: ignore[attr-defined]
    request = {
        "vendor": "bamboohr",
        "employeeRef": "101",
        "mail": "z@contoso.com",
        "userPrincipalName": "z@contoso.com",
    }
    for error, status in [
        (VendorThrottled("BambooHR", 429, "rate limited", 5.0), "throttled"),
        (VendorError("BambooHR", 500, "request failed"), "failed"),
        (KeyError("secret value must not show"), "failed"),
    ]:

        def fail(*_: Any, error: Exception = error, **__: Any) -> Any:
            raise error

        monkeypatch.setattr(CONNECTORS["bamboohr"], "write_back", fail)
        result = write_back(request)
        assert result["status"] == status
        assert "secret value" not in json.dumps(result)
    monkeypatch.setattr(CONNECTORS["bamboohr"], "write_back", lambda *_, **__: SimpleNamespace(fields=("workEmail",)))
    assert write_back(request) == {"status": "written", "fields": ["workEmail"]}


def test_activities_need_key_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "current", lambda: SimpleNamespace(settings=settings(), secrets=None))
    with pytest.raises(ValueError, match="KEY_VAULT_URL"):
        activities.fetch_hr_event._function._func({"notification": NOTE})  # type: ignore[attr-defined]


def test_hibob_ping_helper() -> None:
    assert hibob.is_ping(b'"Ping test"')


def test_health_reads_the_secrets_of_enabled_connectors_only() -> None:
    from provisioning.intake.registry import secret_names

    assert set(secret_names(settings())) == set(SECRETS)
    assert secret_names(settings(HIBOB_ENABLED="false", PERSONIO_ENABLED="false")) == ["bamboo-hook", "bamboo-key"]
