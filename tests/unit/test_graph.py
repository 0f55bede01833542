"""The Graph client against httpx.MockTransport: retries, throttling hand-off, token refresh, paging,
error mapping, OData literal safety and secrecy of Temporary Access Passes."""

from __future__ import annotations

import json
import logging
import pickle
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from azure.core.credentials import AccessToken
from hypothesis import given
from hypothesis import strategies as st

from provisioning.graph import (
    GRAPH_SCOPE,
    MAX_ODATA_LITERAL_LENGTH,
    GraphClient,
    GraphError,
    GraphThrottled,
    ODataFilter,
    ODataValueError,
    SyncedUserPasswordError,
    TemporaryAccessPass,
    filter_all,
    filter_any,
    filter_eq,
    odata_string,
    users_using_identifier,
)

NOW = 1_800_000_000.0  # a fixed wall-clock instant (2027-01-15) for tokens and Retry-After dates
GRAPH = "https://graph.microsoft.com"
BULK_URL = (
    f"{GRAPH}/beta/servicePrincipals/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
    "/synchronization/jobs/API2AD.0f1e2d3caaaabbbbcccc111122223333.1a03de52-b9c3-4e2c-a1e3-9145aaa8e530/bulkUpload"
)


# --------------------------------------------------------------------------------------------------
# Test doubles at the edges: a credential and an HTTP transport
# --------------------------------------------------------------------------------------------------


class FakeCredential:
    """Hands out numbered tokens and records how often it was asked."""

    def __init__(self, lifetime: float = 3600.0, clock: Callable[[], float] = lambda: NOW) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime
        self.clock = clock

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.calls.append(scopes)
        return AccessToken(f"secret-token-{len(self.calls)}", int(self.clock() + self.lifetime))


@dataclass
class Harness:
    client: GraphClient
    credential: FakeCredential
    requests: list[httpx.Request]
    waits: list[float] = field(default_factory=list)


Handler = Callable[[httpx.Request], httpx.Response]


def make_harness(handler: Handler, **options: Any) -> Harness:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    waits: list[float] = []
    credential = options.pop("credential", None) or FakeCredential()
    options.setdefault("clock", lambda: NOW)
    options.setdefault("jitter", lambda: 0.0)
    client = GraphClient(
        credential,
        http=httpx.Client(transport=httpx.MockTransport(record)),
        sleep=waits.append,
        **options,
    )
    return Harness(client, credential, requests, waits)


def scripted(*responses: httpx.Response) -> Handler:
    """A handler that answers with the given responses in order, repeating the last one."""
    queue = list(responses)

    def handler(_: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def graph_error(status: int, code: str, message: str = "boom", **headers: str) -> httpx.Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-11-27T10:00:00", "request-id": "req-from-body"},
        }
    }
    return httpx.Response(status, json=body, headers=headers)


OK_USERS = httpx.Response(200, json={"value": [{"id": "u1"}]})


def query_param(request: httpx.Request, name: str) -> str | None:
    for pair in request.url.query.decode("ascii").split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return unquote(value)
    return None


# --------------------------------------------------------------------------------------------------
# Retries and throttling
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503, 504])
def test_retry_after_seconds_is_honoured_for_retryable_statuses(status: int) -> None:
    h = make_harness(scripted(graph_error(status, "TooManyRequests", **{"Retry-After": "3"}), OK_USERS))

    users = h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert users == [{"id": "u1"}]
    assert h.waits == [3.0]
    assert len(h.requests) == 2
    # the same client-request-id travels with every attempt of one logical call
    assert h.requests[0].headers["client-request-id"] == h.requests[1].headers["client-request-id"]


def test_retry_after_http_date_is_converted_to_a_delay() -> None:
    when = datetime.fromtimestamp(NOW + 7, tz=UTC)
    throttled = graph_error(503, "ServiceUnavailable", **{"Retry-After": format_datetime(when, usegmt=True)})
    h = make_harness(scripted(throttled, OK_USERS))

    h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits == [pytest.approx(7.0)]


def test_retry_after_date_in_the_past_retries_at_once() -> None:
    when = datetime.fromtimestamp(NOW - 60, tz=UTC)
    h = make_harness(scripted(graph_error(429, "x", **{"Retry-After": format_datetime(when, usegmt=True)}), OK_USERS))

    h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits == [0.0]


def test_exponential_backoff_with_jitter_when_retry_after_is_absent() -> None:
    h = make_harness(
        scripted(graph_error(504, "GatewayTimeout"), graph_error(504, "GatewayTimeout"), OK_USERS),
        jitter=lambda: 0.999,
    )

    h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    # base 2 s doubling, jitter scales each wait into [50 %, 100 %] of its ceiling
    assert len(h.waits) == 2
    assert 1.0 <= h.waits[0] <= 2.0
    assert 2.0 <= h.waits[1] <= 4.0


def test_backoff_never_exceeds_max_retry_wait() -> None:
    h = make_harness(scripted(graph_error(503, "x")), jitter=lambda: 0.999, max_retry_wait=3.0, max_attempts=6)

    with pytest.raises(GraphThrottled):
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits and max(h.waits) <= 3.0


def test_total_wait_is_bounded_then_handed_to_the_orchestrator() -> None:
    h = make_harness(
        scripted(graph_error(429, "TooManyRequests", **{"Retry-After": "20"})),
        max_retry_wait=30.0,
        max_total_wait=50.0,
        max_attempts=10,
    )

    with pytest.raises(GraphThrottled) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits == [20.0, 20.0]
    assert sum(h.waits) <= 50.0
    assert caught.value.retry_after_seconds == 20.0
    assert len(h.requests) == 3


def test_attempts_are_bounded() -> None:
    h = make_harness(scripted(graph_error(429, "TooManyRequests", **{"Retry-After": "1"})), max_attempts=3)

    with pytest.raises(GraphThrottled) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert len(h.requests) == 3
    assert h.waits == [1.0, 1.0]
    assert caught.value.status == 429


def test_long_retry_after_raises_graph_throttled_without_waiting() -> None:
    h = make_harness(
        scripted(graph_error(429, "TooManyRequests", **{"Retry-After": "120", "request-id": "rid-9"})),
        max_retry_wait=30.0,
    )

    with pytest.raises(GraphThrottled) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits == []
    assert len(h.requests) == 1
    assert caught.value.retry_after_seconds == 120.0
    assert caught.value.code == "TooManyRequests"
    assert caught.value.request_id == "rid-9"
    assert isinstance(caught.value, GraphError)
    restored = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(restored, GraphThrottled)
    assert restored.retry_after_seconds == 120.0


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_other_client_errors_are_never_retried(status: int) -> None:
    h = make_harness(scripted(graph_error(status, "Request_BadRequest")))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert caught.value.status == status
    assert len(h.requests) == 1
    assert h.waits == []
    assert h.credential.calls == [(GRAPH_SCOPE,)]


def test_connect_errors_are_retried() -> None:
    calls: Iterator[httpx.Response | Exception] = iter([httpx.ConnectError("refused"), OK_USERS])

    def handler(_: httpx.Request) -> httpx.Response:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    h = make_harness(handler)
    assert h.client.find_users(filter_eq("employeeId", "E1"), select=["id"]) == [{"id": "u1"}]
    assert len(h.waits) == 1


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------


def test_token_is_cached_until_near_expiry() -> None:
    now = [NOW]
    credential = FakeCredential(lifetime=3600.0, clock=lambda: now[0])
    h = make_harness(scripted(OK_USERS), credential=credential, clock=lambda: now[0])

    h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])
    h.client.find_users(filter_eq("employeeId", "E2"), select=["id"])
    assert len(credential.calls) == 1

    now[0] += 3600.0 - 60.0  # inside the refresh margin
    h.client.find_users(filter_eq("employeeId", "E3"), select=["id"])
    assert len(credential.calls) == 2
    assert h.requests[-1].headers["Authorization"] == "Bearer secret-token-2"


def test_401_refreshes_the_token_once_and_retries() -> None:
    h = make_harness(scripted(graph_error(401, "InvalidAuthenticationToken"), OK_USERS))

    assert h.client.find_users(filter_eq("employeeId", "E1"), select=["id"]) == [{"id": "u1"}]

    assert len(h.credential.calls) == 2
    assert [r.headers["Authorization"] for r in h.requests] == [
        "Bearer secret-token-1",
        "Bearer secret-token-2",
    ]
    assert h.waits == []


def test_second_401_is_an_error_and_never_shows_the_token() -> None:
    h = make_harness(scripted(graph_error(401, "InvalidAuthenticationToken", "Access token has expired")))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert caught.value.status == 401
    assert len(h.credential.calls) == 2
    assert len(h.requests) == 2
    assert "secret-token" not in str(caught.value)


# --------------------------------------------------------------------------------------------------
# Paging and error mapping
# --------------------------------------------------------------------------------------------------


def paged_handler(pages: int, *, next_host: str = "graph.microsoft.com") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(query_param(request, "$skiptoken") or 0)
        body: dict[str, Any] = {"value": [{"id": f"u{page}"}]}
        if page + 1 < pages:
            body["@odata.nextLink"] = f"https://{next_host}/v1.0/users?$top=1&$skiptoken={page + 1}"
        return httpx.Response(200, json=body)

    return handler


def test_paging_follows_next_link() -> None:
    h = make_harness(paged_handler(3))

    users = h.client.find_users(filter_eq("department", "Finance"), select=["id"], top=1)

    assert users == [{"id": "u0"}, {"id": "u1"}, {"id": "u2"}]
    assert len(h.requests) == 3


def test_paging_stops_at_the_page_cap() -> None:
    h = make_harness(paged_handler(10), max_pages=2)

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("department", "Finance"), select=["id"], top=1)

    assert caught.value.code == "PageLimitExceeded"
    assert len(h.requests) == 2


def test_next_link_to_another_host_is_not_followed() -> None:
    h = make_harness(paged_handler(2, next_host="evil.example.com"))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("department", "Finance"), select=["id"], top=1)

    assert caught.value.code == "UnexpectedNextLink"
    assert [r.url.host for r in h.requests] == ["graph.microsoft.com"]


def test_error_envelope_is_mapped_with_code_and_request_ids() -> None:
    h = make_harness(
        scripted(
            graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
                **{"request-id": "rid-header", "client-request-id": "crid-echo"},
            )
        )
    )

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    error = caught.value
    assert (error.status, error.code) == (403, "Authorization_RequestDenied")
    assert error.message == "Insufficient privileges to complete the operation."
    assert error.request_id == "rid-header"
    assert error.client_request_id == "crid-echo"
    assert "rid-header" in str(error)


def test_error_request_id_falls_back_to_the_inner_error() -> None:
    h = make_harness(scripted(graph_error(400, "Request_BadRequest")))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert caught.value.request_id == "req-from-body"
    assert caught.value.client_request_id == h.requests[0].headers["client-request-id"]


def test_error_messages_drop_quoted_values_such_as_upns() -> None:
    message = "Resource 'zoe.obrien@contoso.com' does not exist or one of its queried reference-property objects"
    h = make_harness(scripted(graph_error(400, "Request_ResourceNotFound", message)))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert "zoe.obrien" not in str(caught.value)
    assert "Resource '…' does not exist" in caught.value.message


def test_non_json_error_body_still_maps() -> None:
    h = make_harness(scripted(httpx.Response(400, text="<html>bad gateway</html>")))

    with pytest.raises(GraphError) as caught:
        h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert caught.value.code == "HTTP400"


# --------------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------------


def test_find_users_sends_filter_select_and_top() -> None:
    h = make_harness(scripted(OK_USERS))
    expression = users_using_identifier("zoe.o'brien@contoso.com")

    h.client.find_users(expression, select=["id", "userPrincipalName"], top=5)

    request = h.requests[0]
    assert request.url.path == "/v1.0/users"
    assert query_param(request, "$filter") == expression
    assert query_param(request, "$select") == "id,userPrincipalName"
    assert query_param(request, "$top") == "5"
    assert query_param(request, "$count") is None
    assert "ConsistencyLevel" not in request.headers
    assert "+" not in request.url.query.decode()  # spaces travel as %20, never as '+'


def test_find_users_advanced_query_sends_consistency_level_and_count() -> None:
    h = make_harness(scripted(OK_USERS))

    h.client.find_users(filter_eq("onPremisesSamAccountName", "zobrien"), select=["id"], advanced=True)

    assert h.requests[0].headers["ConsistencyLevel"] == "eventual"
    assert query_param(h.requests[0], "$count") == "true"


def test_get_user_returns_none_on_404_and_quotes_the_upn() -> None:
    h = make_harness(scripted(graph_error(404, "Request_ResourceNotFound")))

    assert h.client.get_user("guest_contoso.com#EXT#@tenant.onmicrosoft.com", select=["id"]) is None

    assert h.requests[0].url.raw_path.startswith(b"/v1.0/users/guest_contoso.com%23EXT%23@tenant.onmicrosoft.com?")


def test_get_user_addresses_dollar_upns_with_key_syntax() -> None:
    h = make_harness(scripted(httpx.Response(200, json={"id": "u1"})))

    assert h.client.get_user("$admin@contoso.com", select=["id"]) == {"id": "u1"}

    assert h.requests[0].url.raw_path.startswith(b"/v1.0/users('$admin@contoso.com')?")


@pytest.mark.parametrize("bad", ["", "a b@contoso.com", "x/../../me", "a?b", "tab\there", "new\nline"])
def test_user_keys_are_validated_before_any_request(bad: str) -> None:
    h = make_harness(scripted(OK_USERS))

    with pytest.raises(ODataValueError):
        h.client.get_user(bad, select=["id"])

    assert h.requests == []


def test_get_manager() -> None:
    h = make_harness(scripted(httpx.Response(200, json={"id": "m1", "mail": "boss@contoso.com"})))

    assert h.client.get_manager("u1") == {"id": "m1", "mail": "boss@contoso.com"}
    assert h.requests[0].url.path == "/v1.0/users/u1/manager"


def test_get_manager_is_none_without_a_manager() -> None:
    h = make_harness(scripted(graph_error(404, "Request_ResourceNotFound")))

    assert h.client.get_manager("u1") is None


# --------------------------------------------------------------------------------------------------
# bulkUpload and provisioning logs
# --------------------------------------------------------------------------------------------------


def bulk_payload(count: int = 1) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": f"E{i}",
                "path": "/Users",
                "data": {"externalId": f"E{i}", "active": True},
            }
            for i in range(count)
        ],
        "failOnErrors": None,
    }


def test_bulk_upload_posts_scim_json_and_reports_the_submission() -> None:
    location = f"{GRAPH}/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'API2AD.x'"
    h = make_harness(
        scripted(httpx.Response(202, headers={"Location": location, "request-id": "rid-1", "client-request-id": "c"}))
    )

    accepted = h.client.bulk_upload(BULK_URL, bulk_payload(2))

    request = h.requests[0]
    assert request.method == "POST"
    assert str(request.url) == BULK_URL
    assert request.headers["Content-Type"] == "application/scim+json"
    assert json.loads(request.content) == bulk_payload(2)
    assert accepted.status == 202
    assert accepted.location == location
    assert accepted.submitted_at == datetime.fromtimestamp(NOW, tz=UTC)
    assert accepted.request_id == "rid-1"
    assert json.loads(json.dumps(accepted.to_dict()))["submittedAt"].startswith("2027-01-15T")


def test_bulk_upload_retries_throttling_with_one_submission_time() -> None:
    now = [NOW]

    def sleep_and_advance(seconds: float) -> None:
        now[0] += seconds

    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if len(requests) == 1:
            return graph_error(429, "TooManyRequests", **{"Retry-After": "5"})
        return httpx.Response(202)

    client = GraphClient(
        FakeCredential(),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleep_and_advance,
        clock=lambda: now[0],
    )
    accepted = client.bulk_upload(BULK_URL, bulk_payload())

    assert len(requests) == 2
    assert accepted.submitted_at == datetime.fromtimestamp(NOW, tz=UTC)


@pytest.mark.parametrize(
    "url",
    [
        BULK_URL.replace("https://", "http://"),
        BULK_URL.replace("graph.microsoft.com", "graph.microsoft.com.evil.example"),
        BULK_URL + "?x=1",
        BULK_URL.replace("/bulkUpload", "/start"),
        f"{GRAPH}/v1.0/users",
        "https://user:pass@graph.microsoft.com" + BULK_URL.removeprefix(GRAPH),
    ],
)
def test_bulk_upload_refuses_anything_but_the_bulk_upload_endpoint(url: str) -> None:
    h = make_harness(scripted(httpx.Response(202)))

    with pytest.raises(ValueError, match="provisioning endpoint"):
        h.client.bulk_upload(url, bulk_payload())

    assert h.requests == []


def test_bulk_upload_refuses_more_than_fifty_operations() -> None:
    h = make_harness(scripted(httpx.Response(202)))

    with pytest.raises(ValueError, match="1 to 50"):
        h.client.bulk_upload(BULK_URL, bulk_payload(51))

    assert h.requests == []


def log_entry(when: str, status: str, change: str = "c1") -> dict[str, Any]:
    return {"activityDateTime": when, "changeId": change, "provisioningStatusInfo": {"status": status}}


def test_provisioning_logs_filter_and_order() -> None:
    entries = [
        log_entry("2026-11-27T10:09:00Z", "success"),
        log_entry("2026-11-27T10:05:00Z", "skipped"),
        log_entry("2026-11-27T10:07:00Z", "failure"),
    ]
    h = make_harness(scripted(httpx.Response(200, json={"value": entries})))
    since = datetime(2026, 11, 27, 11, 3, 30, 999, tzinfo=UTC) + timedelta(hours=-1)

    found = h.client.provisioning_logs(job_id="API2AD.j'1", source_id="E10042", since=since, top=50)

    request = h.requests[0]
    assert request.url.path == "/v1.0/auditLogs/provisioning"
    assert query_param(request, "$filter") == (
        "jobId eq 'API2AD.j''1' and sourceIdentity/id eq 'E10042' and activityDateTime gt 2026-11-27T10:03:29Z"
    )
    assert query_param(request, "$top") == "50"
    assert [e["activityDateTime"] for e in found] == [
        "2026-11-27T10:05:00Z",
        "2026-11-27T10:07:00Z",
        "2026-11-27T10:09:00Z",
    ]


def test_provisioning_logs_statuses_are_filtered_here_not_by_graph() -> None:
    # The v1.0 reference documents no $filter on provisioningStatusInfo/status.
    entries = [log_entry("2026-11-27T10:05:00Z", "skipped"), log_entry("2026-11-27T10:07:00Z", "failure")]
    h = make_harness(scripted(httpx.Response(200, json={"value": entries})))

    found = h.client.provisioning_logs(job_id="J", source_id=None, since=datetime.now(UTC), statuses=["failure"])

    expression = query_param(h.requests[0], "$filter") or ""
    assert [e["provisioningStatusInfo"]["status"] for e in found] == ["failure"]
    assert "provisioningStatusInfo" not in expression
    assert "sourceIdentity" not in expression


def test_provisioning_logs_several_statuses_are_filtered_here() -> None:
    entries = [log_entry("2026-11-27T10:05:00Z", "skipped"), log_entry("2026-11-27T10:07:00Z", "failure")]
    h = make_harness(scripted(httpx.Response(200, json={"value": entries})))

    found = h.client.provisioning_logs(
        job_id="J", source_id="E1", since=datetime.now(UTC), statuses=["failure", "success"]
    )

    assert [e["provisioningStatusInfo"]["status"] for e in found] == ["failure"]
    assert "provisioningStatusInfo" not in (query_param(h.requests[0], "$filter") or "")


def test_provisioning_logs_need_an_aware_since() -> None:
    h = make_harness(scripted(httpx.Response(200, json={"value": []})))

    with pytest.raises(ODataValueError):
        h.client.provisioning_logs(job_id="J", source_id="E1", since=datetime(2026, 11, 27))


# --------------------------------------------------------------------------------------------------
# Temporary Access Pass, password, mail, sessions
# --------------------------------------------------------------------------------------------------

PASS_VALUE = "+drkzqAD-secret-pass"


def tap_created(_: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": "6f1967b7-0000",
            "temporaryAccessPass": PASS_VALUE,
            "createdDateTime": "2026-11-27T10:00:00Z",
            "startDateTime": "2026-12-01T07:00:00Z",
            "lifetimeInMinutes": 480,
            "isUsableOnce": False,
            "isUsable": False,
            "methodUsabilityReason": "NotYetValid",
        },
    )


def test_temporary_access_pass_value_stays_hidden(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(tap_created)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC) + timedelta(hours=-1)

    tap = h.client.create_temporary_access_pass("u1", start=start, lifetime_minutes=480)

    request = h.requests[0]
    assert request.url.path == "/v1.0/users/u1/authentication/temporaryAccessPassMethods"
    assert json.loads(request.content) == {
        "startDateTime": "2026-12-01T07:00:00Z",
        "lifetimeInMinutes": 480,
        "isUsableOnce": False,
    }
    assert tap.reveal() == PASS_VALUE
    assert PASS_VALUE not in repr(tap)
    assert PASS_VALUE not in str(tap)
    assert PASS_VALUE not in f"{tap}"
    assert PASS_VALUE not in json.dumps(tap.facts())
    assert tap.start == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert tap.lifetime_minutes == 480
    assert PASS_VALUE not in caplog.text
    assert "secret-token" not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(tap)


def test_temporary_access_pass_lifetime_is_checked_locally() -> None:
    h = make_harness(tap_created)

    with pytest.raises(ValueError, match="lifetime_minutes"):
        h.client.create_temporary_access_pass("u1", start=datetime.now(UTC), lifetime_minutes=5)

    assert h.requests == []


def test_temporary_access_pass_missing_from_response_is_an_error() -> None:
    h = make_harness(scripted(httpx.Response(201, json={"id": "x", "temporaryAccessPass": None})))

    with pytest.raises(GraphError, match="carried no pass"):
        h.client.create_temporary_access_pass("u1", start=datetime.now(UTC), lifetime_minutes=60)


def test_temporary_access_pass_class_hides_value_in_repr() -> None:
    tap = TemporaryAccessPass(id="1", value="abc12345", start=None, lifetime_minutes=60, usable_once=True, created=None)
    assert "abc12345" not in repr(tap)
    assert "<hidden>" in repr(tap)


def test_reset_password_patches_password_profile(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(scripted(httpx.Response(204)))

    h.client.reset_password("u1", password="Pa55-word-value!", force_change=True)

    request = h.requests[0]
    assert request.method == "PATCH"
    assert request.url.path == "/v1.0/users/u1"
    assert json.loads(request.content) == {
        "passwordProfile": {"password": "Pa55-word-value!", "forceChangePasswordNextSignIn": True}
    }
    assert "Pa55-word-value!" not in caplog.text


def test_reset_password_on_a_synced_user_points_at_tap() -> None:
    message = (
        "Unable to update the specified properties for on-premises mastered Directory Sync objects "
        "or objects currently undergoing migration."
    )
    h = make_harness(scripted(graph_error(400, "Request_BadRequest", message, **{"request-id": "rid-7"})))

    with pytest.raises(SyncedUserPasswordError) as caught:
        h.client.reset_password("u1", password="Pa55-word-value!")

    assert "Temporary Access Pass" in str(caught.value)
    assert "Pa55-word-value!" not in str(caught.value)
    assert caught.value.request_id == "rid-7"
    assert len(h.requests) == 1


def test_reset_password_other_bad_request_stays_a_graph_error() -> None:
    h = make_harness(scripted(graph_error(400, "Request_BadRequest", "The password does not meet complexity")))

    with pytest.raises(GraphError) as caught:
        h.client.reset_password("u1", password="x")

    assert not isinstance(caught.value, SyncedUserPasswordError)


def test_send_mail_posts_the_message() -> None:
    h = make_harness(scripted(httpx.Response(202)))
    message = {
        "subject": "Welcome",
        "body": {"contentType": "Text", "content": "Hello"},
        "toRecipients": [{"emailAddress": {"address": "boss@contoso.com"}}],
    }

    h.client.send_mail("hr-noreply@contoso.com", message)

    request = h.requests[0]
    assert request.url.path == "/v1.0/users/hr-noreply@contoso.com/sendMail"
    assert json.loads(request.content) == {"message": message, "saveToSentItems": False}


def test_send_mail_is_not_resent_after_a_read_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    h = make_harness(handler)

    with pytest.raises(GraphError) as caught:
        h.client.send_mail("hr-noreply@contoso.com", {"subject": "x"})

    assert caught.value.code == "NetworkError"
    assert len(h.requests) == 1


def test_revoke_sign_in_sessions() -> None:
    h = make_harness(scripted(httpx.Response(200, json={"value": True})))

    assert h.client.revoke_sign_in_sessions("u1") is True
    assert h.requests[0].method == "POST"
    assert h.requests[0].url.path == "/v1.0/users/u1/revokeSignInSessions"


# --------------------------------------------------------------------------------------------------
# Logging hygiene
# --------------------------------------------------------------------------------------------------


def test_logs_carry_templates_not_upns_tokens_or_filters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(scripted(graph_error(429, "TooManyRequests", **{"Retry-After": "1"}), OK_USERS))

    h.client.find_users(users_using_identifier("zoe.obrien@contoso.com"), select=["id"])
    h.client.get_user("zoe.obrien@contoso.com", select=["id"])

    assert "zoe.obrien" not in caplog.text
    assert "secret-token" not in caplog.text
    assert "/v1.0/users/{id}" in caplog.text


def test_httpx_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    # the exact call httpx makes for every request it sends
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"',
        "GET",
        httpx.URL("https://graph.microsoft.com/v1.0/users/zoe.obrien@contoso.com"),
        "HTTP/1.1",
        200,
        "OK",
    )

    assert "zoe.obrien" not in caplog.text
    assert "graph.microsoft.com" in caplog.text


# --------------------------------------------------------------------------------------------------
# OData literals: a tiny tokenizer proves there is no way out of a literal
# --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s+|(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<punct>[():,])"
)


def tokenize(expression: str) -> list[tuple[str, str]]:
    """Split an OData filter into (kind, text) tokens; string literals are unescaped."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        if expression[position] == "'":
            chars: list[str] = []
            position += 1
            while True:
                if position >= len(expression):
                    raise ValueError("unterminated literal")
                char = expression[position]
                if char == "'":
                    if expression.startswith("''", position):
                        chars.append("'")
                        position += 2
                        continue
                    position += 1
                    break
                chars.append(char)
                position += 1
            tokens.append(("literal", "".join(chars)))
            continue
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise ValueError(f"unexpected character at {position}")
        if match.lastgroup is not None:
            tokens.append((match.lastgroup, match.group()))
        position = match.end()
    return tokens


def literals(tokens: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in tokens if kind == "literal"]


def _validated(value: str) -> bool:
    try:
        odata_string(value)
    except ODataValueError:
        return False
    return True


@given(st.text())
def test_any_valid_string_is_exactly_one_literal(value: str) -> None:
    if not _validated(value):
        # a rejection must have a reason: a control/separator/surrogate character or excess length
        assert len(value) > MAX_ODATA_LITERAL_LENGTH or any(
            ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" or 0xD800 <= ord(c) <= 0xDFFF for c in value
        )
        return
    assert tokenize(odata_string(value)) == [("literal", value)]


@given(st.text(), st.sampled_from(["employeeId", "mail", "sourceIdentity/id", "jobId"]))
def test_filter_eq_is_one_comparison_with_one_literal(value: str, prop: str) -> None:
    if not _validated(value):
        return
    assert tokenize(filter_eq(prop, value)) == [("name", prop), ("name", "eq"), ("literal", value)]


@given(st.text(min_size=1))
def test_identifier_filter_has_one_literal_per_value(value: str) -> None:
    if not _validated("smtp:" + value.lower()):
        return
    tokens = tokenize(users_using_identifier(value))
    lowered = value.lower()
    assert literals(tokens) == [lowered, lowered, "smtp:" + lowered]
    assert [text for kind, text in tokens if kind != "literal"] == [
        "userPrincipalName", "eq", "or", "mail", "eq", "or",
        "proxyAddresses/any", "(", "p", ":", "p", "eq", ")",
    ]  # fmt: skip


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_combined_filters_keep_one_literal_per_value(values: list[str]) -> None:
    values = [v for v in values if _validated(v)]
    if not values:
        return
    clauses = [filter_eq("employeeId", v) for v in values]
    assert literals(tokenize(filter_all(*clauses))) == values
    assert literals(tokenize(filter_any(*clauses))) == values


@given(st.text(min_size=1, max_size=40))
def test_filter_survives_the_url_round_trip(value: str) -> None:
    if not _validated(value):
        return
    h = make_harness(scripted(httpx.Response(200, json={"value": []})))
    expression = filter_eq("employeeId", value)

    h.client.find_users(expression, select=["id"])

    assert query_param(h.requests[0], "$filter") == expression


def test_odata_string_doubles_quotes() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"
    assert odata_string("") == "''"
    assert filter_eq("surname", "x' or 1 eq 1 or surname eq 'y") == "surname eq 'x'' or 1 eq 1 or surname eq ''y'"


@pytest.mark.parametrize(
    "bad",
    ["a\x00b", "line\nbreak", "tab\t", "\x7f", "\u2028", "\ud800", "x" * (MAX_ODATA_LITERAL_LENGTH + 1)],
)
def test_odata_string_rejects_unsafe_values_without_echoing_them(bad: str) -> None:
    with pytest.raises(ODataValueError) as caught:
        odata_string(bad)
    assert bad not in str(caught.value)


def test_odata_string_rejects_non_strings() -> None:
    with pytest.raises(ODataValueError):
        odata_string(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("prop", ["", "mail eq 'x' or mail", "a//b", "1abc", "p:p", "x)"])
def test_filter_property_paths_are_validated(prop: str) -> None:
    with pytest.raises(ODataValueError):
        filter_eq(prop, "v")


def test_select_is_validated() -> None:
    h = make_harness(scripted(OK_USERS))
    with pytest.raises(ODataValueError):
        h.client.find_users(ODataFilter("employeeId eq 'E1'"), select=["id,mail&$expand=manager"])
    assert h.requests == []


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test injects a MockTransport; a real transport here would be a test bug."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("unit tests must not open real connections")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    yield


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    h = make_harness(scripted(graph_error(429, "TooManyRequests", **{"Retry-After": "soon"}), OK_USERS))

    h.client.find_users(filter_eq("employeeId", "E1"), select=["id"])

    assert h.waits == [1.0]  # first backoff step with zero jitter


def test_network_failures_end_in_a_network_error_after_the_attempts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    h = make_harness(handler, max_attempts=3)

    with pytest.raises(GraphError) as caught:
        h.client.get_user("zoe.obrien@contoso.com", select=["id"])

    assert (caught.value.status, caught.value.code) == (0, "NetworkError")
    assert len(h.requests) == 3
    assert "zoe.obrien" not in str(caught.value)
    assert "secret-token" not in str(caught.value)


@pytest.mark.parametrize("base_url", ["http://graph.microsoft.com", f"{GRAPH}/v1.0", "graph"])
def test_base_url_must_be_an_https_origin(base_url: str) -> None:
    with pytest.raises(ValueError, match="https origin"):
        GraphClient(FakeCredential(), base_url=base_url, http=httpx.Client())


# --------------------------------------------------------------------------------------------------
# Roles and memberships (the protected-account check)
# --------------------------------------------------------------------------------------------------


def test_memberships_and_role_queries_use_the_documented_paths_and_filters() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": [{"@odata.type": "#microsoft.graph.group", "id": "g1"}]})

    harness = make_harness(handler)
    assert harness.client.transitive_member_of("u1") == [{"@odata.type": "#microsoft.graph.group", "id": "g1"}]
    harness.client.role_assignments(["u1", "o'x"])
    harness.client.role_eligibilities(["u1"])
    first, second, third = harness.requests
    assert first.url.path == "/v1.0/users/u1/transitiveMemberOf" and query_param(first, "$select") == "id"
    assert second.url.path == "/v1.0/roleManagement/directory/roleAssignments"
    assert query_param(second, "$filter") == "principalId in ('u1','o''x')"
    assert third.url.path == "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"


def test_a_tenant_without_pim_has_no_eligibilities() -> None:
    harness = make_harness(scripted(graph_error(400, "AadPremiumLicenseRequired", "needs P2")))
    assert harness.client.role_eligibilities(["u1"]) == []
    other = make_harness(scripted(graph_error(400, "BadRequest", "bad filter")))
    with pytest.raises(GraphError):
        other.client.role_eligibilities(["u1"])
