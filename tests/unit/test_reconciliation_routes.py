"""The reconciliation routes answer as openapi.yaml documents: rosters refused by row and column, runs started,
plans read as JSON and CSV, applies refused while held or unknown, and started once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from provisioning import runtime
from provisioning.reconciliation import store
from provisioning.workflows import contracts as c
from tests.unit.test_openapi import REPO, FakeDurableClient, _assert_documented, _call, _request, _runtime, _settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(autouse=True)
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """The routes read settings from a stand-in runtime; returns a function to change them."""

    def use(**overrides: str) -> None:
        rt = _runtime(_settings(**overrides))
        monkeypatch.setattr(runtime, "current", lambda: rt)

    use()
    return use


MAPPING = b"""
event:
  eventId: {const: roster}
  type: {const: update}
  employee:
    employeeId: $['Employee ID']
    givenName: $['First Name']
    familyName: $['Last Name']
"""
BOUNDARY = "recon-boundary"


class EntityClient(FakeDurableClient):
    """The fake Durable client, with entity state kept for what the routes signal and read back."""

    def __init__(self) -> None:
        super().__init__()
        self.entities: dict[str, Any] = {}

    async def signal_entity(self, entity: Any, operation: str, data: Any = None) -> None:
        await super().signal_entity(entity, operation, data)
        if operation == "put":
            self.entities[str(entity)] = data

    async def get_status_by(self, **query: Any) -> list[Any]:
        prefix = str(query.get("instance_id_prefix") or "")
        return [status for instance_id, status in self.instances.items() if instance_id.startswith(prefix)]

    async def read_entity_state(self, entity: Any) -> Any:
        state = self.entities.get(str(entity))
        return SimpleNamespace(entity_exists=state is not None, entity_state=state)


def multipart(roster: bytes, mapping: bytes | None = MAPPING) -> tuple[bytes, str]:
    parts = [("roster", "roster.csv", "text/csv", roster)]
    if mapping is not None:
        parts.append(("mapping", "mapping.yaml", "application/yaml", mapping))
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {media}\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, filename, media, content in parts
    )
    return body + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def post_roster(client: EntityClient, roster: bytes, mapping: bytes | None = MAPPING) -> Any:
    body, media = multipart(roster, mapping)
    return _call("start_reconciliation", _request("POST", "reconciliations", raw=body, content_type=media), client)


def test_a_roster_upload_stores_the_population_and_starts_the_run(document: dict[str, Any]) -> None:
    client = EntityClient()
    response = post_roster(client, b"Employee ID,First Name,Last Name\r\nE1,Ada,Lovelace\r\nE2,Alan,Turing\r\n")
    body = _assert_documented(document, "post", "/reconciliations", response)
    assert response.status_code == 202
    [(name, instance_id, run)] = client.started
    assert name == c.RECONCILIATION and instance_id == f"recon-{body['id']}"
    assert run["source"] | {"tags": None} == {
        "kind": "roster",
        "format": "csv",
        "tags": None,
        "records": 2,
        "rows": 2,
        "skipped": 0,
    }
    assert run["limits"]["disables"] == 25 and run["policy"]["scope"] == "synced"
    stored = client.entities[f"@{c.RECONCILIATION_CHUNK}@{body['id']}.hr.0"]
    assert [item["employeeId"] for item in stored["items"]] == ["E1", "E2"]
    assert "Ada" not in json.dumps(run)  # the population is in entities, not in the run's input


def test_a_roster_with_problems_is_refused_whole_naming_rows_and_columns(document: dict[str, Any]) -> None:
    client = EntityClient()
    roster = b"Employee ID,First Name,Last Name\r\nE 1,Ada,L\r\nE1,Ada,Lovelace\r\nE1,Ada,Again\r\nE5,Eve\r\n"
    response = post_roster(client, roster)
    body = _assert_documented(document, "post", "/reconciliations", response)
    assert response.status_code == 400 and body["title"] == "Roster does not fit"
    assert [error["field"] for error in body["errors"]] == ["rows[2].Employee ID", "rows[4].Employee ID", "rows[5]"]
    assert client.started == [] and client.entities == {}


@pytest.mark.parametrize(
    ("raw", "media", "status", "title"),
    [
        (b"Employee ID\r\nE1\r\n", "text/csv", 400, "No roster mapping"),
        (b"<xml/>", "application/xml", 415, "Unsupported media type"),
        (b'{"source": "workday"}', "application/json", 400, "Unknown source"),
        (b'{"source": "bamboohr"}', "application/json", 409, "Connector not enabled"),
        (b'{"source": "bamboohr", "x": 1}', "application/json", 400, "Invalid request"),
    ],
)
def test_bad_starts_are_refused(document: dict[str, Any], raw: bytes, media: str, status: int, title: str) -> None:
    client = EntityClient()
    response = _call("start_reconciliation", _request("POST", "reconciliations", raw=raw, content_type=media), client)
    body = _assert_documented(document, "post", "/reconciliations", response)
    assert (response.status_code, body["title"]) == (status, title)
    assert client.started == []


def test_an_oversized_roster_is_refused_before_it_is_read(use_settings: Callable[..., None]) -> None:
    use_settings(RECONCILE_ROSTER_MAX_BYTES="2048")
    request = _request(
        "POST", "reconciliations", raw=b"x" * 10, content_type="text/csv", headers={"Content-Length": "4096"}
    )
    assert _call("start_reconciliation", request, EntityClient()).status_code == 413


PLAN = [
    {
        "employeeId": "E2",
        "class": "stale",
        "action": "update",
        "reason": "differs",
        "event": {"type": "update", "employee": {"employeeId": "E2", "givenName": "Bob", "familyName": "Stale"}},
        "changes": [{"attribute": "jobTitle", "old": "Analyst", "new": "Senior Analyst"}],
    },
    {
        "employeeId": "E8",
        "class": "correlation",
        "action": None,
        "reason": "cases",
        "cases": [{"caseId": "E8.abc", "account": {"id": "acct-8"}, "evidence": [], "confidence": 0.6}],
        "event": {"type": "update", "employee": {"employeeId": "E8", "givenName": "Grace", "familyName": "Hopper"}},
    },
    {"employeeId": None, "class": "orphan", "action": None, "reason": "nobody", "account": {"id": "acct-9"}},
]


def planned_run(client: EntityClient, *, held: bool = False, age: timedelta = timedelta(0)) -> str:
    run_id = "20261127T090000Z-0123456789"
    tag = store.chunk_tag(run_id, PLAN)
    client.entities[f"@{c.RECONCILIATION_CHUNK}@{run_id}.plan.0"] = {"tag": tag, "items": PLAN}
    output = {
        "runId": run_id,
        "stage": "held" if held else "planned",
        "plannedAt": (datetime.now(UTC) - age).isoformat(),
        "summary": {"classes": {"stale": 1, "correlation": 1, "orphan": 1}, "changes": {"update": 1}},
        "holdReasons": ["the plan holds 40 disables and re-enables, more than 25"] if held else [],
        "planTags": [tag],
        "hrTags": [],
    }
    client.put(f"recon-{run_id}", "Completed", custom={"stage": output["stage"], "source": "roster"}, output=output)
    return run_id


def test_a_planned_run_reads_as_json_and_csv(document: dict[str, Any]) -> None:
    client = EntityClient()
    run_id = planned_run(client)
    route = {"id": run_id}
    response = _call("reconciliation_status", _request("GET", f"reconciliations/{run_id}", route_params=route), client)
    body = _assert_documented(document, "get", "/reconciliations/{id}", response)
    assert body["stage"] == "planned" and [entry["class"] for entry in body["plan"]] == [
        "stale",
        "correlation",
        "orphan",
    ]
    request = _request("GET", f"reconciliations/{run_id}", route_params=route)
    request = type(request)(
        method="GET",
        url=request.url,
        headers={},
        params={"format": "csv", "class": "stale"},
        route_params=route,
        body=b"",
    )
    spreadsheet = _call("reconciliation_status", request, client)
    assert spreadsheet.mimetype == "text/csv"
    assert spreadsheet.get_body().decode().splitlines()[1].startswith("E2,stale,update,differs")
    missing = _call("reconciliation_status", _request("GET", "reconciliations/x", route_params={"id": "nope"}), client)
    assert missing.status_code == 404


def apply(client: EntityClient, run_id: str, body: object) -> Any:
    request = _request("POST", f"reconciliations/{run_id}/apply", body, route_params={"id": run_id})
    return _call("apply_reconciliation", request, client)


def test_apply_starts_once_and_refuses_unknown_employees(document: dict[str, Any]) -> None:
    client = EntityClient()
    run_id = planned_run(client)
    unknown = apply(client, run_id, {"employeeIds": ["E404"]})
    assert _assert_documented(document, "post", "/reconciliations/{id}/apply", unknown)["errors"][0]["message"] == (
        "E404 is not in this run's plan"
    )
    first = apply(client, run_id, {"employeeIds": ["E2", "E8"]})
    body = _assert_documented(document, "post", "/reconciliations/{id}/apply", first)
    assert first.status_code == 202 and body["events"] == 1
    assert body["notPlanned"] == [{"employeeId": "E8", "class": "correlation", "reason": "cases"}]
    [(name, instance_id, request)] = client.started
    assert name == c.RECONCILIATION_APPLY and instance_id.startswith(f"recon-apply-{run_id}-")
    assert request["employeeIds"] == ["E2", "E8"] and request["approvedBy"] == "hr-api"
    again = apply(client, run_id, {"employeeIds": ["E2", "E8"]})
    assert again.status_code == 200 and json.loads(again.get_body())["status"] == "already applied"
    assert len(client.started) == 1


@pytest.mark.parametrize(
    "case",
    [
        (True, timedelta(0), {}, 409, "Plan held"),
        (False, timedelta(hours=25), {}, 409, "Plan too old"),
        (False, timedelta(0), {"classes": ["nope"]}, 400, "Invalid request"),
        (False, timedelta(0), {"classes": [{}]}, 400, "Invalid request"),
        (False, timedelta(0), {"classes": []}, 400, "Invalid request"),
        (False, timedelta(0), {"approve": "yes", "extra": 1}, 400, "Invalid request"),
    ],
)
def test_apply_is_refused_when_it_must_be(
    document: dict[str, Any], case: tuple[bool, timedelta, dict[str, Any], int, str]
) -> None:
    held, age, body, status, title = case
    client = EntityClient()
    run_id = planned_run(client, held=held, age=age)
    response = apply(client, run_id, body)
    problem = _assert_documented(document, "post", "/reconciliations/{id}/apply", response)
    assert (response.status_code, problem["title"]) == (status, title)
    assert client.started == []
    if held:
        assert apply(client, run_id, {"approve": True}).status_code == 202


def test_a_run_still_running_cannot_be_applied_and_an_unknown_case_is_not_found(document: dict[str, Any]) -> None:
    client = EntityClient()
    client.put("recon-20261127T090000Z-aaaaaaaaaa", "Running", custom={"stage": "comparing"})
    busy = apply(client, "20261127T090000Z-aaaaaaaaaa", {})
    assert busy.status_code == 409
    run_id = planned_run(client)
    route = {"id": run_id, "caseId": "E9.nope"}
    request = _request("POST", f"reconciliations/{run_id}/cases/E9.nope/reject", route_params=route)
    response = _call("reject_case", request, client)
    _assert_documented(document, "post", "/reconciliations/{id}/cases/{caseId}/reject", response)
    assert response.status_code == 404
