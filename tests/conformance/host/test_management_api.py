"""The Durable Functions management HTTP API on the functions host, row by row against Microsoft's reference.

Each row of TABLE is one request in one situation, the status code Microsoft documents for it, and where that is
documented: a section of the "HTTP API reference" page, or the extension's source where the page is silent or
says otherwise (then the row says why). The scenarios run on one in-process host for the whole module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from emulators.functions_host import DEFAULT_SYSTEM_KEY, FunctionsHost, VirtualClock

APP = "tests.conformance.host.samples_app.function_app"
DOC = "learn.microsoft.com/azure/azure-functions/durable/durable-functions-http-api"
SOURCE = "Azure/azure-functions-durable-extension: src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs"
SYSTEM = {"code": DEFAULT_SYSTEM_KEY}
WEBHOOKS = "/runtime/webhooks/durabletask"
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Row:
    operation: str
    situation: str
    status: int
    source: str


TABLE = [
    Row("start", "known orchestrator", 202, f"{DOC}#start-orchestration"),
    Row("start", "unknown orchestrator", 400, f"{DOC}#start-orchestration"),
    Row("start", "content is not JSON", 400, f"{DOC}#start-orchestration"),
    Row("start", "id of a running instance", 500, f"{SOURCE} (the page is silent; a dedupe refusal is not 400)"),
    Row("status", "running", 202, f"{DOC}#get-instance-status"),
    Row("status", "completed", 200, f"{DOC}#get-instance-status"),
    Row("status", "failed", 200, f"{DOC}#get-instance-status"),
    Row("status", "failed, returnInternalServerErrorOnFailure", 500, f"{DOC}#get-instance-status"),
    Row("status", "terminated", 200, f"{SOURCE} (the page also lists 400 for terminated; the source answers 200)"),
    Row("status", "no such instance", 404, f"{DOC}#get-instance-status"),
    Row("list instances", "more than top", 200, f"{DOC}#get-all-instances-status"),
    Row("purge", "completed instance", 200, f"{DOC}#purge-single-instance-history"),
    Row("purge", "no such instance", 404, f"{DOC}#purge-single-instance-history"),
    Row("purge by filter", "matches", 200, f"{DOC}#purge-multiple-instance-histories"),
    Row("purge by filter", "nothing matches", 404, f"{DOC}#purge-multiple-instance-histories"),
    Row("purge by filter", "no createdTimeFrom", 400, f"{SOURCE} (the page marks createdTimeFrom required)"),
    Row("raise event", "running", 202, f"{DOC}#raise-event"),
    Row("raise event", "not application/json", 400, f"{DOC}#raise-event"),
    Row("raise event", "invalid JSON", 400, f"{DOC}#raise-event"),
    Row("raise event", "no such instance", 404, f"{DOC}#raise-event"),
    Row("raise event", "completed", 410, f"{DOC}#raise-event"),
    Row("terminate", "running", 202, f"{DOC}#terminate-instance"),
    Row("terminate", "no such instance", 404, f"{DOC}#terminate-instance"),
    Row("terminate", "completed", 410, f"{DOC}#terminate-instance"),
    Row("suspend", "running", 202, f"{DOC}#suspend-instance"),
    Row("suspend", "no such instance", 404, f"{DOC}#suspend-instance"),
    Row("suspend", "completed", 410, f"{DOC}#suspend-instance"),
    Row("resume", "suspended", 202, f"{DOC}#resume-instance"),
    Row("resume", "no such instance", 404, f"{DOC}#resume-instance"),
    Row("resume", "completed", 410, f"{DOC}#resume-instance"),
    Row("rewind", "failed", 202, f"{DOC}#rewind-instance-preview"),
    Row("rewind", "no such instance", 404, f"{DOC}#rewind-instance-preview"),
    Row("rewind", "completed", 410, f"{DOC}#rewind-instance-preview"),
    Row("signal entity", "known entity", 202, f"{DOC}#signal-entity"),
    Row("signal entity", "invalid JSON", 400, f"{DOC}#signal-entity"),
    Row("signal entity", "unknown entity", 400, f"{SOURCE} (the page says 404; the entity route answers 400)"),
    Row("get entity", "exists", 200, f"{DOC}#get-entity"),
    Row("get entity", "no such entity", 404, f"{DOC}#get-entity"),
    Row("list entities", "by name, with state", 200, f"{DOC}#list-entities"),
]

STATUS_FIELDS = {
    "name",
    "instanceId",
    "runtimeStatus",
    "input",
    "customStatus",
    "output",
    "createdTime",
    "lastUpdatedTime",
}
PAYLOAD_FIELDS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}
SECOND_PRECISION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunctionsHost]:
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    functions_host = FunctionsHost(APP, tmp_path_factory.mktemp("management-api"), clock=clock)
    functions_host.start()
    try:
        yield functions_host
    finally:
        functions_host.close()


class Scenario:
    """Puts the host in a row's situation and sends the row's request."""

    def __init__(self, host: FunctionsHost, tag: str) -> None:
        self.host = host
        self.tag = tag

    def instance(self, state: str) -> str:
        host, instance_id = self.host, f"{self.tag}-{state}"
        name = {"running": "booking_progress", "completed": "hello_sequence", "failed": "fail_fast"}.get(state)
        host.start_orchestration(name or "booking_progress", instance_id=instance_id)
        host.run_until_idle()
        if state == "terminated":
            host.management.terminate(instance_id, "stopped")
        if state == "suspended":
            host.management.suspend(instance_id, "paused")
        host.run_until_idle()
        return instance_id

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        params = {**SYSTEM, **kwargs.pop("params", {})}
        return self.host.request(method, f"{WEBHOOKS}{path}", params=params, **kwargs)

    def status(self, state: str, **params: str) -> httpx.Response:
        return self.call("GET", f"/instances/{self.instance(state)}", params=params)

    def operate(self, operation: str, state: str) -> httpx.Response:
        instance_id = self.instance(state) if state != "missing" else f"{self.tag}-missing"
        return self.call("POST", f"/instances/{instance_id}/{operation}", params={"reason": "table"})

    def raise_event(self, state: str, content: str = '"Seattle"', headers: dict[str, str] = JSON) -> httpx.Response:
        instance_id = self.instance(state) if state != "missing" else f"{self.tag}-missing"
        return self.call("POST", f"/instances/{instance_id}/raiseEvent/Approved", content=content, headers=headers)

    def entity(self, method: str, name: str, content: str | None = None, **params: str) -> httpx.Response:
        return self.call(method, f"/entities/{name}/{self.tag}", params=params, content=content, headers=JSON)


def _start_twice(s: Scenario) -> httpx.Response:
    return s.call("POST", f"/orchestrators/booking_progress/{s.instance('running')}")


def _list(s: Scenario) -> httpx.Response:
    for index in range(3):
        s.host.start_orchestration("hello_sequence", instance_id=f"{s.tag}-{index}")
    s.host.run_until_idle()
    return s.call("GET", "/instances", params={"instanceIdPrefix": s.tag, "top": "2"})


def _purge_by(s: Scenario, created_from: str | None, statuses: str) -> httpx.Response:
    s.instance("completed")
    params = {"runtimeStatus": statuses, **({"createdTimeFrom": created_from} if created_from else {})}
    return s.call("DELETE", "/instances", params=params)


def _signal_then_read(s: Scenario) -> httpx.Response:
    s.entity("POST", "Counter", "7", op="add")
    s.host.run_until_idle()
    return s.entity("GET", "Counter")


def _listed_entities(s: Scenario) -> httpx.Response:
    s.entity("POST", "Counter", "3", op="add")
    s.host.run_until_idle()
    return s.call("GET", "/entities/counter", params={"fetchState": "true"})


SCENARIOS: dict[tuple[str, str], Callable[[Scenario], httpx.Response]] = {
    ("start", "known orchestrator"): lambda s: s.call("POST", "/orchestrators/hello_sequence"),
    ("start", "unknown orchestrator"): lambda s: s.call("POST", "/orchestrators/no_such_orchestrator"),
    ("start", "content is not JSON"): lambda s: s.call(
        "POST", "/orchestrators/hello_sequence", content="{oops", headers=JSON
    ),
    ("start", "id of a running instance"): _start_twice,
    ("status", "running"): lambda s: s.status("running"),
    ("status", "completed"): lambda s: s.status("completed"),
    ("status", "failed"): lambda s: s.status("failed"),
    ("status", "failed, returnInternalServerErrorOnFailure"): lambda s: s.status(
        "failed", returnInternalServerErrorOnFailure="true"
    ),
    ("status", "terminated"): lambda s: s.status("terminated"),
    ("status", "no such instance"): lambda s: s.call("GET", f"/instances/{s.tag}-missing"),
    ("list instances", "more than top"): _list,
    ("purge", "completed instance"): lambda s: s.call("DELETE", f"/instances/{s.instance('completed')}"),
    ("purge", "no such instance"): lambda s: s.call("DELETE", f"/instances/{s.tag}-missing"),
    ("purge by filter", "matches"): lambda s: _purge_by(s, "2026-01-01T00:00:00Z", "Completed"),
    ("purge by filter", "nothing matches"): lambda s: _purge_by(s, "2030-01-01T00:00:00Z", "Completed"),
    ("purge by filter", "no createdTimeFrom"): lambda s: _purge_by(s, None, "Completed"),
    ("raise event", "running"): lambda s: s.raise_event("running"),
    ("raise event", "not application/json"): lambda s: s.raise_event("running", headers={"content-type": "text/plain"}),
    ("raise event", "invalid JSON"): lambda s: s.raise_event("running", content="{nope"),
    ("raise event", "no such instance"): lambda s: s.raise_event("missing"),
    ("raise event", "completed"): lambda s: s.raise_event("completed"),
    ("signal entity", "known entity"): lambda s: s.entity("POST", "Counter", "5", op="add"),
    ("signal entity", "invalid JSON"): lambda s: s.entity("POST", "Counter", "{5", op="add"),
    ("signal entity", "unknown entity"): lambda s: s.entity("POST", "NoSuchEntity", "5", op="add"),
    ("get entity", "exists"): _signal_then_read,
    ("get entity", "no such entity"): lambda s: s.entity("GET", "Counter"),
    ("list entities", "by name, with state"): _listed_entities,
}

# terminate, suspend, resume, rewind: an instance in the state each applies to, a missing one, a finished one.
_APPLIES_TO = {"terminate": "running", "suspend": "running", "resume": "suspended", "rewind": "failed"}
for _operation, _live in _APPLIES_TO.items():
    for _situation, _state in ((_live, _live), ("no such instance", "missing"), ("completed", "completed")):
        SCENARIOS[(_operation, _situation)] = lambda s, op=_operation, state=_state: s.operate(op, state)


def _shape(row: Row, response: httpx.Response, tag: str, host: FunctionsHost) -> None:
    """The documented body and headers for the row's answer."""
    if row.operation in ("start",) and row.status == 202:
        payload = response.json()
        assert set(payload) == PAYLOAD_FIELDS
        assert response.headers["location"] == payload["statusQueryGetUri"]
        assert response.headers["retry-after"] == "10"
    elif row.operation == "status" and row.status in (200, 202, 500):
        status = response.json()
        assert set(status) >= STATUS_FIELDS and "historyEvents" not in status
        assert SECOND_PRECISION.match(status["createdTime"]) and SECOND_PRECISION.match(status["lastUpdatedTime"])
        if row.status == 202:
            assert response.headers["location"] == str(response.request.url)
    elif row.operation == "list instances":
        listed = response.json()
        assert len(listed) == 2 and all(set(item) >= STATUS_FIELDS for item in listed)
        assert response.headers["x-ms-continuation-token"]
    elif row.operation.startswith("purge") and row.status == 200:
        # The module's host is shared: a filter purges this row's instance and any other finished one.
        assert set(response.json()) == {"instancesDeleted"} and response.json()["instancesDeleted"] >= 1
        assert host.status(f"{tag}-completed") is None
    elif row.operation == "list entities":
        listed = response.json()
        assert all(set(entity) == {"entityId", "lastOperationTime", "state"} for entity in listed)
        assert {"entityId": {"key": tag, "name": "counter"}, "state": 3} in [
            {"entityId": entity["entityId"], "state": entity["state"]} for entity in listed
        ]
    elif row.operation == "get entity" and row.status == 200:
        assert response.json() == 7
    elif row.status in (202, 404, 410):
        assert response.content == b"", "these answers carry no content"
    elif row.status in (400, 500) and row.operation != "purge by filter":
        assert "Message" in response.json()


@pytest.mark.parametrize("row", TABLE, ids=lambda row: f"{row.operation}: {row.situation}")
def test_management_api_row(host: FunctionsHost, row: Row) -> None:
    tag = re.sub(r"[^a-z0-9]+", "-", f"{row.operation}-{row.situation}".lower()).strip("-")
    response = SCENARIOS[(row.operation, row.situation)](Scenario(host, tag))
    assert response.status_code == row.status, f"{row.source}: {response.text}"
    _shape(row, response, tag, host)


def test_every_row_has_a_scenario_and_a_source() -> None:
    assert {(row.operation, row.situation) for row in TABLE} == set(SCENARIOS)
    assert all(row.source.startswith((DOC, SOURCE)) for row in TABLE)
