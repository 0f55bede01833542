"""A task hub that does not answer is a 503 the caller may retry, never a bare 500; a bug is never disguised as one.

Under load (2,000 hires on two busy cores) a status poll reached the host's management API at a moment it did not
answer, and the route answered 500 with an empty body: the poller could not even read why.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import azure.functions as func
import pytest
import yaml

from provisioning.intake.problems import TASK_HUB_RETRY_AFTER_SECONDS, task_hub_outage_is_503
from tests.unit.test_openapi import (
    HIRE,
    REPO,
    FakeDurableClient,
    _assert_documented,
    _registered_functions,
    _request,
    _runtime,
    _settings,
    use_runtime,
)

__all__ = ["use_runtime"]  # the fixture, imported for these tests

OUTAGES = [
    aiohttp.ServerDisconnectedError(),
    aiohttp.ClientConnectionError("connection refused"),
    TimeoutError(),
    ConnectionResetError(),
    Exception("The operation failed with an unexpected status code 503"),  # how the SDK reports an unknown status
]


def _route_raising(error: Exception) -> Any:
    @task_hub_outage_is_503
    async def route(req: func.HttpRequest) -> func.HttpResponse:
        raise error

    return route


@pytest.mark.parametrize("error", OUTAGES, ids=lambda error: type(error).__name__)
def test_an_outage_is_a_503_problem_with_retry_after(error: Exception) -> None:
    response = asyncio.run(_route_raising(error)(_request("GET", "hr-events/x")))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == str(TASK_HUB_RETRY_AFTER_SECONDS)
    body = json.loads(response.get_body())
    assert body["title"] == "Task hub unavailable" and "send the same request again" in body["detail"]


def test_a_non_json_answer_read_by_the_sdk_is_an_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """An overloaded host's plain-text 500 fails inside the SDK's HTTP helper, as a JSON decode error."""
    from azure.durable_functions.models.utils import http_utils

    class PlainTextAnswer:
        status = 500

        async def __aenter__(self) -> PlainTextAnswer:
            return self

        async def __aexit__(self, *_: Any) -> None:
            return None

        async def json(self, content_type: str | None = None) -> Any:
            return json.loads("Internal Server Error")

    class Session:
        def get(self, url: str, headers: dict[str, str]) -> PlainTextAnswer:
            return PlainTextAnswer()

    async def session() -> Session:
        return Session()

    monkeypatch.setattr(http_utils, "_get_session", session)

    @task_hub_outage_is_503
    async def route(req: func.HttpRequest) -> func.HttpResponse:
        await http_utils.get_async_request("http://127.0.0.1/runtime/webhooks/durabletask/instances/x")
        raise AssertionError("unreachable")

    assert asyncio.run(route(_request("GET", "hr-events/x"))).status_code == 503


@pytest.mark.parametrize("error", [KeyError("stage"), ValueError("bad"), Exception("something else")])
def test_a_bug_still_propagates(error: Exception) -> None:
    with pytest.raises(type(error)):
        asyncio.run(_route_raising(error)(_request("GET", "hr-events/x")))


class UnansweringClient(FakeDurableClient):
    async def get_status(self, instance_id: str, *_: Any, **__: Any) -> Any:
        raise aiohttp.ServerDisconnectedError()

    async def get_status_by(self, *_: Any, **__: Any) -> Any:
        raise TimeoutError()

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        raise aiohttp.ServerDisconnectedError()


def _guarded(name: str) -> Any:
    """The registered function as the host calls it, minus the SDK's client-binding wrapper only."""
    function = next(f for f in _registered_functions() if f.get_function_name() == name)
    return function.get_user_function().__wrapped__


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("event_status", ("get", "hr-events/hr-wd-1", "/hr-events/{id}", None)),
        ("rescind_event", ("delete", "hr-events/hr-wd-1", "/hr-events/{id}", None)),
        ("approve_event", ("post", "hr-events/hr-wd-1/approve", "/hr-events/{id}/approve", None)),
        ("list_events", ("get", "hr-events", "/hr-events", None)),
        ("submit_event", ("post", "hr-events", "/hr-events", HIRE)),
    ],
)
def test_every_hr_event_route_answers_the_documented_503(
    use_runtime: Any, name: str, call: tuple[str, str, str, Any]
) -> None:
    method, route, path, body = call
    use_runtime(_runtime(_settings(HR_SIGNING_SECRET_NAME="")))
    document = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    req = _request(method.upper(), route, body, route_params={"id": "hr-wd-1"})
    response = asyncio.run(_guarded(name)(req, UnansweringClient()))
    assert response.status_code == 503, response.get_body()
    assert response.headers["Retry-After"] == str(TASK_HUB_RETRY_AFTER_SECONDS)
    _assert_documented(document, method, path, response)
