"""Delta query on users and JSON batching, driven by Microsoft's Python SDK against the Entra emulator.

What is checked is what Microsoft documents ("Use delta query to track changes in Microsoft Graph data",
"user: delta", "Combine multiple HTTP requests using JSON batching", the throttling guidance's "Throttling and
batching"), and every raw response the SDK received is checked against Graph's published schema.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from emulators.entra.testing import EntraEmulator
from provisioning.graph import filter_eq
from tests.conformance.graph.responses import assert_all_conform
from tests.conformance.graph.sdk import RecordingGraph, drive

pytestmark = pytest.mark.e2e
TRACKED = ["id", "employeeId", "accountEnabled", "userPrincipalName"]
GRAPH = "https://graph.microsoft.com/v1.0"


def delta_query(select: list[str] | None = None, filter: str | None = None) -> Any:
    return RequestConfiguration(
        query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=select, filter=filter)
    )


async def whole_round(graph: RecordingGraph, first: Any) -> tuple[list[User], str]:
    """Follow nextLinks until the page with the deltaLink; return every user seen and that link."""
    page, seen = first, []
    while True:
        assert page is not None
        seen.extend(page.value or [])
        if page.odata_delta_link:
            assert not page.odata_next_link
            return seen, page.odata_delta_link
        assert page.odata_next_link, "a delta page ends with a nextLink or a deltaLink"
        page = await graph.client.users.delta.with_url(page.odata_next_link).get()


def seed_people(entra: EntraEmulator) -> dict[str, dict[str, Any]]:
    control = entra.control
    people = {
        f"E{n}": control.seed_user(
            "synced", userPrincipalName=f"e{n}@contoso.com", employeeId=f"E{n}", givenName=f"Person{n}"
        )["entraUser"]
        for n in range(1, 4)
    }
    for name in ("keep", "gone"):
        people[name] = control.seed_user("entra", userPrincipalName=f"{name}@contoso.com", jobTitle="Clerk")[
            "entraUser"
        ]
    return people


def test_a_delta_round_then_only_what_changed_in_the_selected_properties(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(deltaPageSize=2)
    people = seed_people(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        users, delta_link = await whole_round(graph, await graph.client.users.delta.get(delta_query(TRACKED)))
        assert sorted(user.id or "" for user in users) == sorted(person["id"] for person in people.values())
        first_page = graph.exchanges[0].body
        assert "@odata.nextLink" in first_page and len(first_page["value"]) == 2
        assert all(set(item) <= set(TRACKED) for item in first_page["value"]), "only the selected properties"
        assert "$select" not in graph.exchanges[0].body["@odata.nextLink"], "the token carries the query"

        # Changes: a new synced user, a selected property, an unselected one, a deletion.
        new = entra_env.control.seed_user("synced", userPrincipalName="e9@contoso.com", employeeId="E9")["entraUser"]
        await graph.client.users.by_user_id(people["keep"]["id"]).patch(User(job_title="Manager"))
        await graph.client.users.by_user_id(people["E1"]["id"]).get()  # a read changes nothing
        await graph.client.users.by_user_id(people["gone"]["id"]).delete()

        changed, next_link = await whole_round(graph, await graph.client.users.delta.with_url(delta_link).get())
        assert {user.id for user in changed} == {new["id"], people["gone"]["id"]}
        removed = next(user for user in changed if user.id == people["gone"]["id"])
        assert removed.additional_data.get("@removed") == {"reason": "changed"}  # soft-deleted: restorable
        added = next(user for user in changed if user.id == new["id"])
        assert (added.employee_id, added.account_enabled) == ("E9", True)

        await graph.client.users.by_user_id(people["keep"]["id"]).patch(User(account_enabled=False))
        again, _ = await whole_round(graph, await graph.client.users.delta.with_url(next_link).get())
        assert [(user.id, user.account_enabled) for user in again] == [(people["keep"]["id"], False)]

    assert_all_conform(drive(entra_env.env, scenario))


def test_sync_from_now_and_tracking_chosen_objects(entra_env: EntraEmulator) -> None:
    people = seed_people(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        latest = await graph.client.users.delta.with_url(f"{GRAPH}/users/delta()?$deltatoken=latest").get()
        assert latest is not None and latest.value == [] and latest.odata_delta_link and not latest.odata_next_link
        new = entra_env.control.seed_user("synced", userPrincipalName="e8@contoso.com", employeeId="E8")["entraUser"]
        after, _ = await whole_round(graph, await graph.client.users.delta.with_url(latest.odata_delta_link).get())
        assert [user.id for user in after] == [new["id"]]

        chosen = f"id eq '{people['E1']['id']}' or id eq '{people['E3']['id']}'"
        only, _ = await whole_round(graph, await graph.client.users.delta.get(delta_query(["id"], chosen)))
        assert sorted(user.id or "" for user in only) == sorted([people["E1"]["id"], people["E3"]["id"]])

    assert_all_conform(drive(entra_env.env, scenario))


def test_what_users_delta_does_not_support(entra_env: EntraEmulator) -> None:
    seed_people(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        for config in (
            delta_query(TRACKED, str(filter_eq("employeeId", "E1"))),  # only id filters are supported
            RequestConfiguration(query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(top=5)),
        ):
            with pytest.raises(ODataError) as refused:
                await graph.client.users.delta.get(config)
            assert refused.value.response_status_code == 400
            assert refused.value.error is not None and refused.value.error.code == "Request_UnsupportedQuery"
        first = await graph.client.users.delta.get(delta_query(TRACKED))
        assert first is not None and first.odata_delta_link
        entra_env.control.reset()  # the directory the token pointed into is gone: start again
        with pytest.raises(ODataError) as reset:
            await graph.client.users.delta.with_url(first.odata_delta_link).get()
        assert reset.value.response_status_code == 410
        assert "$deltatoken=" in graph.last().headers["Location"]

    assert_all_conform(drive(entra_env.env, scenario))


# -- JSON batching --------------------------------------------------------------------------------------------------


async def post_batch_json(graph: RecordingGraph, body: dict[str, Any]) -> dict[str, Any]:
    """POST a batch body written by hand through the SDK's adapter (auth, middleware, ODataError mapping).

    Needed for dependsOn: msgraph-sdk-python-core serialises it as ``depends_on``, which Graph ignores
    (microsoftgraph/msgraph-sdk-python-core#996); the documented key is ``dependsOn``.
    """
    request = RequestInformation(Method.POST, f"{GRAPH}/$batch")
    request.set_stream_content(json.dumps(body).encode(), "application/json")
    raw = await graph.adapter.send_primitive_async(request, "bytes", {"XXX": ODataError})
    assert isinstance(raw, bytes)
    result: dict[str, Any] = json.loads(raw)
    return result


def test_a_batch_runs_each_request_and_reports_each_status(entra_env: EntraEmulator) -> None:
    people = seed_people(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        users = graph.client.users
        content = BatchRequestContent()
        person_request = users.by_user_id(people["E1"]["id"]).to_get_request_information()
        content.add_request(None, BatchRequestItem(person_request, id="person"))
        missing_request = users.by_user_id("nobody@contoso.com").to_get_request_information()
        content.add_request(None, BatchRequestItem(missing_request, id="missing"))
        result = await graph.client.batch.post(content)
        assert result.get_response_status_codes() == {"person": 200, "missing": 404}
        envelope = graph.last()
        assert envelope.status == 200, "a parseable batch is 200 whatever the requests inside answer"
        # The SDK's BatchResponseItem reads a body only when it is base64 text; Graph sends JSON bodies as JSON.
        bodies = {item["id"]: item.get("body") for item in envelope.body["responses"]}
        assert bodies["person"]["id"] == people["E1"]["id"]
        assert bodies["missing"]["error"]["code"] == "Request_ResourceNotFound"

    assert_all_conform(drive(entra_env.env, scenario))
    calls = [call for call in entra_env.control.state()["calls"] if call.get("inBatch")]
    assert sorted(call["status"] for call in calls) == [200, 404], "each request inside counts as a request"


def test_depends_on_runs_in_order_and_fails_dependents(entra_env: EntraEmulator) -> None:
    people = seed_people(entra_env)

    async def scenario(graph: RecordingGraph) -> None:
        body = {
            "requests": [
                {"id": "1", "method": "GET", "url": "/users/nobody@contoso.com"},
                {"id": "2", "dependsOn": ["1"], "method": "GET", "url": f"/users/{people['E2']['id']}"},
                {"id": "3", "method": "GET", "url": "/users?$filter=employeeId eq 'E3'&$select=id"},
            ]
        }
        answer = await post_batch_json(graph, body)
        statuses = {item["id"]: item["status"] for item in answer["responses"]}
        assert statuses == {"1": 404, "2": 424, "3": 200}
        third = next(item for item in answer["responses"] if item["id"] == "3")
        assert [user["id"] for user in third["body"]["value"]] == [people["E3"]["id"]]

    assert_all_conform(drive(entra_env.env, scenario))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"requests": [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]}, "maximum of 20"),
        (
            {
                "requests": [
                    {"id": "a", "method": "GET", "url": "/users"},
                    {"id": "A", "method": "GET", "url": "/users"},
                ]
            },
            "unique",
        ),
        ({"requests": [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"jobTitle": "x"}}]}, "Content-Type"),
        (
            {
                "requests": [
                    {"id": "1", "dependsOn": ["2"], "method": "GET", "url": "/users"},
                    {"id": "2", "method": "GET", "url": "/users"},
                ]
            },
            "Invalid dependency",
        ),
    ],
)
def test_a_malformed_batch_is_refused_as_a_whole(entra_env: EntraEmulator, body: dict[str, Any], reason: str) -> None:
    async def scenario(graph: RecordingGraph) -> None:
        with pytest.raises(ODataError) as refused:
            await post_batch_json(graph, body)
        assert refused.value.response_status_code == 400
        assert refused.value.error is not None and reason in (refused.value.error.message or "")

    assert_all_conform(drive(entra_env.env, scenario))
    assert not [call for call in entra_env.control.state()["calls"] if call.get("inBatch")], "nothing ran"


def test_throttling_inside_a_batch_is_per_request_with_its_own_retry_after(entra_env: EntraEmulator) -> None:
    people = seed_people(entra_env)
    entra_env.control.configure(faults={"rate429": 1.0, "retryAfterSeconds": 7, "seed": 1})

    async def scenario(graph: RecordingGraph) -> None:
        body = {"requests": [{"id": str(n), "method": "GET", "url": f"/users/{people['E1']['id']}"} for n in range(3)]}
        answer = await post_batch_json(graph, body)
        assert [item["status"] for item in answer["responses"]] == [429, 429, 429]
        assert [item["headers"].get("Retry-After") for item in answer["responses"]] == ["7", "7", "7"]

    try:
        graph = drive(entra_env.env, scenario)
    finally:
        entra_env.control.configure(faults={"rate429": 0.0})
    assert_all_conform(graph)
