"""Security and bad input against the running product: the HTTP API answers as openapi.yaml says
for whatever schemathesis sends, values that reach a Graph filter cannot widen it, a pasted endpoint pointing
anywhere but Graph is refused before anything is sent, and hostile bodies end as 4xx problems that never reach
Graph.

tests/e2e/test_product.py already covers the function key on every route, request signing, one invalid value per
field, and a first round of invalid JSON / UTF-8 / oversized bodies; this file does not repeat those.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks
from schemathesis.core.parameters import ParameterLocation

from demo.stack import JOB_ID, PRODUCT_SETTINGS, REPO_ROOT, SERVICE_PRINCIPAL_ID, Stack
from provisioning import naming
from provisioning.events import MAX_BODY_BYTES
from provisioning.settings import Settings, SettingsError
from tests.e2e import test_product as product

pytestmark = pytest.mark.e2e

start_stack = product.start_stack  # the same fixture, so every e2e test starts the product the same way

SCHEMA = schemathesis.openapi.from_path(REPO_ROOT / "openapi.yaml")
CONFORMANCE_CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]


def graph_calls(stack: Stack) -> list[dict[str, Any]]:
    """Every call the product made to the Microsoft cloud (Graph, login, Key Vault) so far."""
    return list(stack.entra.control.state()["calls"])


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem = dict(response.json())
    assert problem["status"] == response.status_code and problem["title"] and problem["detail"]
    assert all(error["field"] and error["message"] for error in problem["errors"])
    return problem


# -- 1. schemathesis: every answer is the one openapi.yaml documents ---------------------------------------------


def _conformance(case: schemathesis.Case, stack: Stack) -> None:
    """No 5xx, and status, content type, headers and body as documented.

    A body that breaks the schema must be refused too, except in a batch, whose events are rejected one by one in
    a 202 answer (as documented). Other negative cases need not be refused: the signing headers are ignored while
    signing is off (as on this stack), and unknown query parameters are ignored, as by any HTTP API.
    """
    response = case.call(base_url=stack.api, headers={"x-functions-key": stack.host.function_key}, timeout=30)
    segments = [unquote(str(value)) for value in (case.path_parameters or {}).values()]  # sent encoded
    if any("\n" in segment or segment in (".", "..") for segment in segments):
        # The functions-host emulator cannot route a segment with a line feed (a text/plain 404 before the app
        # runs), and "." / ".." are dot segments HTTP clients and front ends resolve: nothing to check but no 5xx.
        assert response.status_code < 500, response.text
        return
    components = case.meta.components if case.meta else {}
    negative = {location for location, info in components.items() if info.mode.is_negative}
    body_only = bool(negative) and negative <= {ParameterLocation.BODY}
    checks = list(CONFORMANCE_CHECKS)
    if body_only and case.operation.path != "/hr-events/batch":
        checks.append(st_checks.negative_data_rejection)
    case.validate_response(response, checks=checks)


@pytest.fixture
def conformance_stack(start_stack: Callable[..., Stack]) -> Stack:
    """Real time (time_scale 1), so events schemathesis gets accepted wait on their timers instead of churning."""
    return start_stack(time_scale=1)


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented(case: schemathesis.Case, conformance_stack: Stack) -> None:
    _conformance(case, conformance_stack)


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented_at_length(case: schemathesis.Case, conformance_stack: Stack) -> None:
    _conformance(case, conformance_stack)


# -- 3. OData injection through every value that reaches a filter ------------------------------------------------

INJECTION = "x' or employeeId ne 'y"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("employeeId", INJECTION),
        ("employeeId", "E1') or (true"),
        ("employeeId", "E10042\n"),  # `$` in a Python regex matched before a trailing newline
        ("managerEmployeeId", INJECTION),
        ("managerEmployeeId", "E00007\n"),
        ("managerEmployeeId", "E0' or '1' eq '1"),
    ],
)
def test_ids_that_would_widen_a_filter_are_400_on_every_route_and_never_reach_graph(
    start_stack: Callable[..., Stack], field: str, value: str
) -> None:
    stack = start_stack()
    before = len(graph_calls(stack))
    body = product.event(employee={field: value})
    with stack.client() as client:
        answers = {
            "submit": client.post("/hr-events", json=body),
            "preview": client.post("/hr-events/preview", json=body),
            "batch": client.post("/hr-events/batch", json={"events": [body]}),
        }
    for route, response in answers.items():
        problem = assert_problem(response, 400)
        prefix = "events[0]." if route == "batch" else ""
        assert f"{prefix}employee.{field}" in [error["field"] for error in problem["errors"]], (route, problem)
    assert len(graph_calls(stack)) == before, "a rejected value reached the Microsoft cloud"


def test_names_shaped_like_filters_become_plain_user_names(start_stack: Callable[..., Stack]) -> None:
    """Names may hold apostrophes, so a name can spell a filter clause. Had it reached the name check's $filter
    unescaped, the clause would match the bystanders and every candidate would look taken. Instead the hire gets
    the first generated name, with no warning, and nobody else is touched."""
    stack = start_stack()
    for index in range(3):
        stack.entra.control.seed_user(
            "synced",
            employeeId=f"BY{index}",
            userPrincipalName=f"bystander{index}@contoso.com",
            mail=f"bystander{index}@contoso.com",
            displayName=f"Bystander {index}",
        )
    hire = product.event(
        eventId="sec-injection-name",
        employee={
            "employeeId": "E30001",
            "givenName": INJECTION,
            "preferredGivenName": None,
            "familyName": "O'Brien",
            "personalEmail": "o'brien@example.org",
        },
    )
    policy = Settings.from_env(stack.settings).name_policy()
    expected = next(naming.candidates(INJECTION, "O'Brien", policy))
    with stack.client() as client:
        preview = client.post("/hr-events/preview", json=hire)
    assert preview.status_code == 200, preview.text
    assert preview.json()["action"] == "hire"
    assert preview.json()["userPrincipalName"] == expected.user_principal_name
    bystanders_before = [
        u for u in stack.entra.control.state()["entraUsers"] if u.get("employeeId", "").startswith("BY")
    ]

    status = product.outcome(stack, product.submit(stack, hire)["id"])

    assert status["stage"] == "completed", status
    assert status["output"]["outcome"] == "provisioned" and not any(
        "already" in w for w in status["output"]["warnings"]
    )
    assert status["output"]["userPrincipalName"] == expected.user_principal_name
    assert "'" not in expected.user_principal_name and " " not in expected.user_principal_name
    state = stack.entra.control.state()
    assert [u for u in state["entraUsers"] if u.get("employeeId", "").startswith("BY")] == bystanders_before
    uploaded = [op["data"]["externalId"] for request in state["bulkRequests"] for op in request["body"]["Operations"]]
    assert uploaded == ["E30001"]


# -- 4. a provisioning endpoint anywhere but Graph is refused before anything is sent -----------------------------


class _Listener:
    """A loopback TCP listener that counts connections: the "other host" an endpoint could point at."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    yield server
    server.close()


BULK_PATH = f"/v1.0/servicePrincipals/{SERVICE_PRINCIPAL_ID}/synchronization/jobs/{JOB_ID}/bulkUpload"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1:{port}" + BULK_PATH,
        "http://127.0.0.1:{port}" + BULK_PATH,
        "http://graph.microsoft.com" + BULK_PATH,
        "https://graph.microsoft.com.attacker.example" + BULK_PATH,
        "https://graph.microsoft.com@127.0.0.1:{port}" + BULK_PATH,
        "https://graph.microsoft.com" + BULK_PATH + "/extra",
        "https://graph.microsoft.com/v1.0/extra" + BULK_PATH[len("/v1.0") :],
        "https://graph.microsoft.com" + BULK_PATH + "?redirect=https://127.0.0.1:{port}/",
        "https://graph.microsoft.com" + BULK_PATH + "#fragment",
    ],
)
def test_a_provisioning_endpoint_anywhere_but_graph_is_refused_at_start_up(
    start_stack: Callable[..., Stack], listener: _Listener, endpoint: str
) -> None:
    url = endpoint.format(port=listener.port)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**PRODUCT_SETTINGS, "PROVISIONING_API_ENDPOINT": url})
    assert [problem for problem in refused.value.problems if problem.startswith("PROVISIONING_API_ENDPOINT:")]

    stack = start_stack(settings={"PROVISIONING_API_ENDPOINT": url})
    before = len(graph_calls(stack))
    with stack.client() as client:
        health = client.get("/health")
        answers = [
            client.post("/hr-events", json=product.HIRE),
            client.post("/hr-events/batch", json={"events": [product.HIRE]}),
            client.post("/hr-events/preview", json=product.HIRE),
        ]
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "unhealthy"
    assert "setting PROVISIONING_API_ENDPOINT is missing or invalid" in health.json()["problems"]
    assert url.split("//", 1)[1].split("/", 1)[0] not in health.text, "the public verdict does not echo values"
    for response in answers:
        assert_problem(response, 503)
    assert listener.connections == 0, "the configured endpoint was contacted"
    assert len(graph_calls(stack)) == before, "something was sent to the Microsoft cloud"


# -- 5. hostile bodies: 400 / 413 / 415 problems, never a 500, never a Graph call ---------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _with(**employee: Any) -> bytes:
    return _json(product.event(employee=employee))


def _padded_to(size: int) -> bytes:
    """A valid-looking event of exactly `size` bytes (the padding is an over-long job title)."""
    head = _json(product.event(employee={"jobTitle": ""}))
    marker = b'"jobTitle": ""'
    return head.replace(marker, b'"jobTitle": "' + b"x" * (size - len(head)) + b'"')


_HIRE = _json(product.HIRE)
_NESTED = b"[" * 100_000 + b"]" * 100_000
# (name, route, body, content type, expected status, a field the problem must name or None)
HOSTILE: list[tuple[str, str, bytes, str, int, str | None]] = [
    ("one byte over 1 MiB", "/hr-events/preview", _padded_to(MAX_BODY_BYTES + 1), "application/json", 413, None),
    (
        "exactly 1 MiB is read, then refused",
        "/hr-events",
        _padded_to(MAX_BODY_BYTES),
        "application/json",
        400,
        "employee.jobTitle",
    ),
    (
        "batch over 1 MiB",
        "/hr-events/batch",
        b'{"events": [' + b",".join([_HIRE] * 2500) + b"]}",
        "application/json",
        413,
        None,
    ),
    (
        "1001 events",
        "/hr-events/batch",
        _json({"events": [{"eventId": f"e{i}"} for i in range(1001)]}),
        "application/json",
        413,
        "events",
    ),
    ("100k nested arrays", "/hr-events", _NESTED, "application/json", 400, "body"),
    (
        "100k nested arrays in a batch",
        "/hr-events/batch",
        b'{"events": ' + _NESTED + b"}",
        "application/json",
        400,
        "body",
    ),
    (
        "deeply nested objects",
        "/hr-events/preview",
        b'{"a":' * 60_000 + b"1" + b"}" * 60_000,
        "application/json",
        400,
        "body",
    ),
    (
        "nested attributes",
        "/hr-events",
        _with(attributes={"Deep": json.loads("[" * 500 + "]" * 500)}),
        "application/json",
        400,
        "employee.attributes.Deep",
    ),
    (
        "invalid UTF-8 in a batch",
        "/hr-events/batch",
        b'{"events": [{"eventId": "\xc3\x28"}]}',
        "application/json",
        400,
        None,
    ),
    (
        "invalid UTF-8 bytes",
        "/hr-events/batch",
        b'{"events": [{"eventId": "\xff\xfe"}]}',
        "application/json",
        400,
        None,
    ),
    ("overlong UTF-8 for '/'", "/hr-events/preview", b'{"eventId": "\xc0\xaf"}', "application/json", 400, "body"),
    ("UTF-16 with a BOM", "/hr-events", json.dumps(product.HIRE).encode("utf-16"), "application/json", 400, "body"),
    ("UTF-8 BOM", "/hr-events", b"\xef\xbb\xbf" + _HIRE, "application/json", 400, "body"),
    ("NUL in a name", "/hr-events", _with(givenName="Zo\u0000e"), "application/json", 400, "employee.givenName"),
    (
        "escape sequence in a name",
        "/hr-events",
        _with(familyName="Smith\u001b[31m"),
        "application/json",
        400,
        "employee.familyName",
    ),
    (
        "line separator in a name",
        "/hr-events/batch",
        b'{"events": [' + _with(givenName="Zo\u2028e") + b"]}",
        "application/json",
        400,
        "events[0].employee.givenName",
    ),
    (
        "right-to-left override in a name",
        "/hr-events",
        _with(familyName="Smith\u202egnp.exe"),
        "application/json",
        400,
        "employee.familyName",
    ),
    (
        "zero-width space in a name",
        "/hr-events/preview",
        _with(givenName="Zo\u200be"),
        "application/json",
        400,
        "employee.givenName",
    ),
    (
        "lone surrogate in a name",
        "/hr-events",
        _HIRE.replace("Zoë".encode(), b"Zo\\ud800e"),
        "application/json",
        400,
        "employee.givenName",
    ),
    (
        "lone surrogate in a job title",
        "/hr-events",
        _HIRE.replace(b"Financial Analyst", b"Analyst \\udfff"),
        "application/json",
        400,
        "employee.jobTitle",
    ),
    (
        "control character in an attribute",
        "/hr-events",
        _with(attributes={"Note": "a\u0007b"}),
        "application/json",
        400,
        "employee.attributes.Note",
    ),
    (
        "integer beyond 2^53",
        "/hr-events",
        _with(attributes={"Big": 2**53 + 1}),
        "application/json",
        400,
        "employee.attributes.Big",
    ),
    ("10^400", "/hr-events", _with(attributes={"Big": 10**400}), "application/json", 400, "employee.attributes.Big"),
    (
        "5000-digit integer",
        "/hr-events/preview",
        _with(attributes={"Big": 1}).replace(b'"Big": 1', b'"Big": 1' + b"0" * 5000),
        "application/json",
        400,
        "body",
    ),
    (
        "1e400",
        "/hr-events",
        _with(attributes={"Big": 1}).replace(b'"Big": 1', b'"Big": 1e400'),
        "application/json",
        400,
        "employee.attributes.Big",
    ),
    (
        "NaN",
        "/hr-events",
        _with(attributes={"Big": 1}).replace(b'"Big": 1', b'"Big": NaN'),
        "application/json",
        400,
        "body",
    ),
    (
        "-Infinity in a batch",
        "/hr-events/batch",
        b'{"events": [' + _with(attributes={"Big": 1}).replace(b'"Big": 1', b'"Big": -Infinity') + b"]}",
        "application/json",
        400,
        "body",
    ),
    (
        "duplicate eventId key",
        "/hr-events",
        _HIRE.replace(b'"eventId": "e2e-hire-1"', b'"eventId": "e2e-hire-1", "eventId": "other"'),
        "application/json",
        400,
        "body",
    ),
    (
        "duplicate employeeId key",
        "/hr-events/batch",
        b'{"events": ['
        + _HIRE.replace(b'"employeeId": "E10042"', b'"employeeId": "E10042", "employeeId": "E00001"')
        + b"]}",
        "application/json",
        400,
        "body",
    ),
    (
        "duplicate events key",
        "/hr-events/batch",
        b'{"events": [], "events": [' + _HIRE + b"]}",
        "application/json",
        400,
        "body",
    ),
    ("empty body", "/hr-events", b"", "application/json", 400, "body"),
    ("JSON null", "/hr-events/preview", b"null", "application/json", 400, "body"),
    ("events is not an array", "/hr-events/batch", b'{"events": {"0": {}}}', "application/json", 400, "events"),
    ("text/plain", "/hr-events/batch", _HIRE, "text/plain", 415, None),
    ("form encoding", "/hr-events/preview", b"eventId=x", "application/x-www-form-urlencoded", 415, None),
    ("no content type", "/hr-events", _HIRE, "", 415, None),
]


def test_hostile_bodies_are_4xx_problems_that_never_reach_graph(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    before = len(graph_calls(stack))
    wrong: list[str] = []
    with stack.client() as client:
        for name, route, body, content_type, status, field in HOSTILE:
            headers = {"Content-Type": content_type} if content_type else {}
            response = client.post(route, content=body, headers=headers)
            try:
                problem = assert_problem(response, status)
                if field is not None:
                    assert field in [error["field"] for error in problem["errors"]], problem["errors"]
            except AssertionError as error:
                wrong.append(f"{name}: {error}")
    assert not wrong, "\n".join(wrong)
    assert len(graph_calls(stack)) == before, "a rejected body reached the Microsoft cloud"
    with stack.client() as client:
        assert client.get("/health").status_code == 200, "the app is still healthy after all of it"
