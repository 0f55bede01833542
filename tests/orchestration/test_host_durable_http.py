"""Functions host emulator: `context.call_http`, sent by the host as the extension's built-in HTTP activity."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulators.functions_host import DEFAULT_SYSTEM_KEY
from emulators.functions_host.history import EventType
from emulators.functions_host.replay import ReplayProgram, UnsupportedActionError

SYSTEM = {"code": DEFAULT_SYSTEM_KEY}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class TargetService:
    """A plain HTTP service on loopback: what a durable HTTP call reaches."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    polls_before_done: int = 2


def _handler(service: TargetService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            service.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path == "/jobs" and self.command == "POST":
                self._send(202, b"", [("Location", f"{service.url}/jobs/7"), ("Retry-After", "30")])
            elif self.path == "/jobs/7":
                polls = sum(1 for s in service.seen if s.path == "/jobs/7")
                if polls < service.polls_before_done:
                    self._send(202, b"", [("Location", f"{service.url}/jobs/7"), ("Retry-After", "60")])
                else:
                    self._send(200, b'{"job": 7, "state": "done"}', [("Content-Type", "application/json")])
            else:
                echo = json.dumps({"method": self.command, "body": body}).encode()
                self._send(201, echo, [("Content-Type", "application/json"), ("X-Trace", "a"), ("X-Trace", "b")])

        def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_args: object) -> None:
            return None

    return Handler


@pytest.fixture
def target() -> Iterator[TargetService]:
    service = TargetService(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    service.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def test_the_host_sends_the_request_and_hands_back_status_headers_and_content(functions_host_factory, target):
    host = functions_host_factory()
    request = {"method": "POST", "url": f"{target.url}/orders", "content": {"sku": "A-1"}, "headers": {"X-Id": "9"}}
    instance_id = host.start_orchestration("http_flow", request)
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    response = status["output"]
    assert response["statusCode"] == 201
    assert json.loads(response["content"]) == {"method": "POST", "body": '{"sku": "A-1"}'}
    # .NET keeps content headers apart from HttpResponseMessage.Headers; repeated headers become a list.
    assert response["headers"]["X-Trace"] == ["a", "b"]
    assert "Content-Type" not in response["headers"] and "Content-Length" not in response["headers"]
    [sent] = target.seen
    assert sent.headers["x-id"] == "9"
    assert sent.headers["content-type"] == "text/plain", "without a Content-Type header the extension sends text/plain"
    assert sent.headers["user-agent"].startswith("Microsoft.Azure.WebJobs.Extensions.DurableTask")
    scheduled = [e for e in host.history(instance_id) if e["EventType"] == EventType.TASK_SCHEDULED]
    assert [e["Name"] for e in scheduled] == ["BuiltIn::HttpActivity"]
    [serialized] = json.loads(scheduled[0]["Input"])
    assert serialized == {
        "method": "POST",
        "uri": f"{target.url}/orders",
        "headers": {"X-Id": "9"},
        "content": '{"sku": "A-1"}',
        "tokenSource": None,
        "asynchronousPatternEnabled": False,
        "retryOptions": None,
        "timeout": None,
    }


def test_a_named_content_type_is_sent_and_a_refused_connection_fails_the_call(functions_host_factory, target):
    host = functions_host_factory()
    typed = host.start_orchestration(
        "http_flow",
        {"method": "PUT", "url": f"{target.url}/x", "content": "[1]", "headers": {"Content-Type": "application/json"}},
    )
    closed_port = target.url.rsplit(":", 1)[0] + ":9"
    refused = host.start_orchestration("http_flow", {"url": f"{closed_port}/nothing"})
    host.run_until_idle()
    assert target.seen[0].headers["content-type"] == "application/json"
    assert host.status(typed)["output"]["statusCode"] == 201
    failed = host.status(refused)
    assert failed["runtimeStatus"] == "Failed"
    assert "connect" in failed["output"].lower()


def test_the_orchestrator_polls_a_202_with_its_location_header(functions_host_factory, target):
    host = functions_host_factory()
    start = host.clock.now()
    instance_id = host.start_orchestration("http_poll_flow", f"{target.url}/jobs")
    host.run_until_idle()
    output = host.status(instance_id)["output"]
    assert output == {"polls": 2, "statusCode": 200, "content": '{"job": 7, "state": "done"}'}
    assert [(s.method, s.path) for s in target.seen] == [("POST", "/jobs"), ("GET", "/jobs/7"), ("GET", "/jobs/7")]
    # Retry-After drives the durable timers: 30 s, then 60 s, on the orchestration clock.
    assert (host.clock.now() - start).total_seconds() >= 90


def test_managed_identity_token_source_adds_a_bearer_token_that_never_reaches_history(
    functions_host_factory, target, entra_env, monkeypatch
):
    # In Azure the app's managed identity answers through IDENTITY_ENDPOINT; nothing else in the environment.
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    host = functions_host_factory()
    request = {"url": f"{target.url}/me", "resource": "https://graph.microsoft.com"}
    instance_id = host.start_orchestration("http_flow", request)
    host.run_until_idle(timeout=60)
    assert host.status(instance_id)["output"]["statusCode"] == 201
    [sent] = target.seen
    scheme, _, token = sent.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"].rstrip("/") == "https://graph.microsoft.com"
    shown = host.request(
        "GET",
        f"/runtime/webhooks/durabletask/instances/{instance_id}",
        params={**SYSTEM, "showHistory": "true", "showHistoryOutput": "true"},
    )
    assert token not in shown.text and token not in json.dumps(host.history(instance_id))
    [scheduled] = [e for e in host.history(instance_id) if e["EventType"] == EventType.TASK_SCHEDULED]
    assert json.loads(scheduled["Input"])[0]["tokenSource"] == {
        "kind": "AzureManagedIdentity",
        "resource": "https://graph.microsoft.com/.default",
    }

    unknown = host.start_orchestration("http_flow", {"url": f"{target.url}/arm", "resource": "https://example.invalid"})
    host.run_until_idle(timeout=60)
    failed = host.status(unknown)
    assert failed["runtimeStatus"] == "Failed"
    assert "AADSTS500011" in failed["output"]
    assert len(target.seen) == 1, "no request goes out without the token"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"asynchronousPatternEnabled": True},
            "HTTP 202 polling by the host (asynchronousPatternEnabled) is a .NET-only",
        ),
        ({"retryOptions": {"maxNumberOfAttempts": 3}}, "HTTP retry options are a .NET-only feature"),
        ({"tokenSource": {"kind": "Other", "resource": "x"}}, "the token source kind 'Other' is not supported"),
    ],
)
def test_dotnet_only_request_options_fail_the_orchestration_at_the_call(extra, message):
    # The Python SDK 1.x never sends these; a CallHttp action that does is refused where it is replayed.
    action = {"actionType": 8, "httpRequest": {"method": "GET", "uri": "http://127.0.0.1:9/x", **extra}}
    started = {
        "EventType": EventType.EXECUTION_STARTED,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(UnsupportedActionError, match=re.escape(message)):
        ReplayProgram([action], "refused").run([started])
