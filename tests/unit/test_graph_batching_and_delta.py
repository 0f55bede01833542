"""The Graph client's JSON batching and delta rounds against httpx.MockTransport: chunks of 20, per-request
status, throttled requests retried after the longest Retry-After, dependents retried with what they depend on,
delta rounds followed to their deltaLink, an expired link reported as DeltaExpired, and lazy paging of users."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from provisioning.graph import (
    BatchRequest,
    DeltaExpired,
    GraphError,
    GraphThrottled,
    filter_eq,
    users_query,
)
from tests.unit.test_graph import GRAPH, graph_error, make_harness, query_param


def _batch_handler(answer: Any) -> Any:
    """A $batch endpoint whose per-request answer is ``answer(item, call_number) -> (status, headers, body)``."""
    calls: list[list[dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1.0/$batch" and request.method == "POST"
        items = json.loads(request.content)["requests"]
        calls.append(items)
        responses = []
        for item in items:
            status, headers, body = answer(item, len(calls))
            responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
        return httpx.Response(200, json={"responses": responses})

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def test_a_batch_carries_at_most_twenty_requests_and_returns_each_status() -> None:
    handler = _batch_handler(
        lambda item, _: (
            (404, {}, graph_error(404, "Request_ResourceNotFound").json())
            if item["id"] == "7"
            else (200, {"Content-Type": "application/json"}, {"id": item["id"]})
        )
    )
    h = make_harness(handler)
    requests = [BatchRequest(str(n), f"/users/u{n}") for n in range(45)]
    answers = h.client.batch(requests)
    assert [len(call) for call in handler.calls] == [20, 20, 5]
    assert answers["3"].ok and answers["3"].body == {"id": "3"}
    assert answers["7"].status == 404 and answers["7"].error().code == "Request_ResourceNotFound"


def test_throttled_requests_are_sent_again_after_the_longest_retry_after() -> None:
    def answer(item: dict[str, Any], call: int) -> tuple[int, dict[str, str], Any]:
        if call == 1 and item["id"] in ("b", "c"):
            seconds = {"b": "2", "c": "5"}[item["id"]]
            return 429, {"Retry-After": seconds}, graph_error(429, "TooManyRequests").json()
        return 200, {}, {"id": item["id"]}

    handler = _batch_handler(answer)
    h = make_harness(handler)
    answers = h.client.batch([BatchRequest(key, f"/users/{key}") for key in "abc"])
    assert [[item["id"] for item in call] for call in handler.calls] == [["a", "b", "c"], ["b", "c"]]
    assert h.waits == [5.0]
    assert all(response.ok for response in answers.values())


def test_a_dependent_of_a_throttled_request_goes_again_with_it() -> None:
    def answer(item: dict[str, Any], call: int) -> tuple[int, dict[str, str], Any]:
        if call == 1 and item["id"] == "a":
            return 429, {"Retry-After": "1"}, graph_error(429, "TooManyRequests").json()
        if call == 1 and item["id"] == "b":
            return 424, {}, graph_error(424, "FailedDependency").json()
        return 200, {}, {}

    handler = _batch_handler(answer)
    h = make_harness(handler)
    answers = h.client.batch([BatchRequest("a", "/users/a"), BatchRequest("b", "/users/b", depends_on=("a",))])
    assert handler.calls[0][1]["dependsOn"] == ["a"]
    assert [item["id"] for item in handler.calls[1]] == ["a", "b"]
    assert answers["b"].ok


def test_a_long_retry_after_inside_a_batch_goes_to_the_orchestrator() -> None:
    handler = _batch_handler(lambda item, _: (429, {"Retry-After": "120"}, graph_error(429, "TooManyRequests").json()))
    h = make_harness(handler)
    with pytest.raises(GraphThrottled) as throttled:
        h.client.batch([BatchRequest("a", "/users/a")])
    assert throttled.value.retry_after_seconds == 120.0 and h.waits == []


def test_batch_requests_must_be_unique_and_keep_dependencies_together() -> None:
    h = make_harness(_batch_handler(lambda item, _: (200, {}, {})))
    with pytest.raises(ValueError, match="unique"):
        h.client.batch([BatchRequest("a", "/users"), BatchRequest("A", "/users")])
    far = [BatchRequest(str(n), "/users") for n in range(20)] + [BatchRequest("x", "/users", depends_on=("0",))]
    with pytest.raises(ValueError, match="one batch"):
        h.client.batch(far)


def test_a_batched_users_query_is_the_same_query_as_a_direct_one() -> None:
    path, headers = users_query(filter_eq("onPremisesSamAccountName", "o'brien"), select=["id"], advanced=True, top=1)
    assert path.startswith("/users?$filter=onPremisesSamAccountName%20eq%20%27o%27%27brien%27&$select=id&$top=1")
    assert path.endswith("&$count=true") and headers == {"ConsistencyLevel": "eventual"}
    body = BatchRequest("1", path, headers=headers, body={"x": 1}).to_json()
    assert body["headers"] == {"ConsistencyLevel": "eventual", "Content-Type": "application/json"}


def _delta_pages(pages: list[dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages.pop(0))

    return handler


def test_a_delta_round_is_followed_to_its_delta_link() -> None:
    pages = [
        {"@odata.nextLink": f"{GRAPH}/v1.0/users/delta?$skiptoken=1", "value": [{"id": "u1", "employeeId": "E1"}]},
        {
            "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=2",
            "value": [{"id": "u2", "@removed": {"reason": "changed"}}, {"id": "u3"}],
        },
    ]
    h = make_harness(_delta_pages(pages))
    round_ = h.client.user_changes(f"{GRAPH}/v1.0/users/delta?$deltatoken=1")
    assert [user["id"] for user in round_.users] == ["u1", "u3"]
    assert round_.removed == ["u2"] and round_.delta_link.endswith("$deltatoken=2") and round_.pages == 2


def test_sync_from_now_asks_for_the_latest_token_with_the_tracked_properties() -> None:
    h = make_harness(_delta_pages([{"@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=9", "value": []}]))
    link = h.client.latest_user_changes_link(["id", "employeeId"])
    [request] = h.requests
    assert query_param(request, "$deltatoken") == "latest" and query_param(request, "$select") == "id,employeeId"
    assert link.endswith("$deltatoken=9")


def test_an_expired_delta_link_is_reported_so_the_caller_starts_again() -> None:
    h = make_harness(lambda _: graph_error(410, "syncStateNotFound", Location=f"{GRAPH}/v1.0/users/delta?$deltatoken="))
    with pytest.raises(DeltaExpired):
        h.client.user_changes(f"{GRAPH}/v1.0/users/delta?$deltatoken=old")


def test_a_delta_link_off_the_graph_origin_is_never_followed() -> None:
    h = make_harness(_delta_pages([]))
    with pytest.raises(GraphError) as caught:
        h.client.user_changes("https://evil.example/v1.0/users/delta?$deltatoken=1")
    assert caught.value.code == "UnexpectedNextLink" and h.requests == []


def test_list_users_reads_pages_lazily_with_the_selected_properties() -> None:
    pages = [
        {"@odata.nextLink": f"{GRAPH}/v1.0/users?$skiptoken=p2", "value": [{"id": f"u{n}"} for n in range(3)]},
        {"value": [{"id": "u3"}]},
    ]
    h = make_harness(_delta_pages(pages))
    users = h.client.list_users(select=["id", "employeeId"])
    first = next(users)
    assert first == {"id": "u0"} and len(h.requests) == 1, "the second page is read only when needed"
    assert query_param(h.requests[0], "$top") == "999" and query_param(h.requests[0], "$select") == "id,employeeId"
    assert [user["id"] for user in users] == ["u1", "u2", "u3"]
