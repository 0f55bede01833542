"""The whole directory in pages of 999: `GraphClient.list_user_pages` (reconciliation's only directory read)."""

from __future__ import annotations

import httpx
import pytest

from provisioning.graph import GraphError
from tests.unit.test_graph import make_harness, query_param


def test_pages_follow_next_link_with_select_and_top() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if query_param(request, "$skiptoken") is None:
            link = "https://graph.microsoft.com/v1.0/users?$select=id,employeeId&$top=999&$skiptoken=abc"
            return httpx.Response(200, json={"value": [{"id": "u1"}, {"id": "u2"}], "@odata.nextLink": link})
        return httpx.Response(200, json={"value": [{"id": "u3"}]})

    h = make_harness(handler)
    pages = list(h.client.list_user_pages(select=("id", "employeeId")))
    assert pages == [[{"id": "u1"}, {"id": "u2"}], [{"id": "u3"}]]
    assert len(h.requests) == 2
    first = h.requests[0]
    assert first.url.path == "/v1.0/users"
    assert query_param(first, "$select") == "id,employeeId" and query_param(first, "$top") == "999"
    assert query_param(first, "$filter") is None and "ConsistencyLevel" not in first.headers


def test_a_next_link_to_another_host_is_refused_before_the_token_goes_there() -> None:
    h = make_harness(
        lambda _: httpx.Response(200, json={"value": [], "@odata.nextLink": "https://evil.example/v1.0/users"})
    )
    with pytest.raises(GraphError, match="leaves the Graph origin"):
        list(h.client.list_user_pages(select=("id",)))
    assert len(h.requests) == 1


def test_page_size_is_bounded_as_graph_documents() -> None:
    h = make_harness(lambda _: httpx.Response(200, json={"value": []}))
    with pytest.raises(ValueError, match="between 1 and 999"):
        list(h.client.list_user_pages(select=("id",), top=1000))
