"""Microsoft's Python Graph SDK (msgraph-sdk), pointed at the Entra emulator through the environment.

The SDK is built the way its documentation builds it (GraphServiceClient over its default middleware, a
real azure-identity credential for the emulated app registration); only an httpx response hook is added,
which records every raw response the SDK receives so the tests can check it against Graph's schema as well
as through the SDK's own deserializers. HTTPS_PROXY and SSL_CERT_FILE route it to the emulator, as they route
the product.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from kiota_abstractions.base_request_builder import BaseRequestBuilder
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory

from emulators.entra.testing import app_credential

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]


@dataclass
class Exchange:
    """One response the SDK received: method, URL, status, headers and the decoded JSON body (None if empty)."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass
class RecordingGraph:
    """A GraphServiceClient plus the raw responses it has received so far."""

    client: GraphServiceClient
    adapter: GraphRequestAdapter
    http: httpx.AsyncClient
    exchanges: list[Exchange] = field(default_factory=list)

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        body = json.loads(response.content) if response.content else None
        self.exchanges.append(
            Exchange(response.request.method, str(response.request.url), response.status_code, response.headers, body)
        )

    def last(self) -> Exchange:
        return self.exchanges[-1]

    async def post(self, builder: BaseRequestBuilder, content: bytes, content_type: str) -> None:
        """POST to a generated builder's URL through the SDK's request adapter (auth, middleware, ODataError
        mapping), for an operation the builders model differently: bulkUpload is documented as a POST of a
        SCIM document, the generated builder offers PATCH of an entity and PUT of its $value."""
        request = RequestInformation(Method.POST, builder.url_template, builder.path_parameters)
        request.set_stream_content(content, content_type)
        await self.adapter.send_no_response_content_async(request, {"XXX": ODataError})


def bulk_request(*employee_ids: str) -> dict[str, Any]:
    """A SCIM BulkRequest creating one minimal user per employee id (the externalId)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": str(uuid.uuid4()),
                "path": "/Users",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "externalId": employee_id,
                    "userName": f"{employee_id.lower()}@contoso.com",
                    "name": {"givenName": "Test", "familyName": employee_id},
                    "active": True,
                },
            }
            for employee_id in employee_ids
        ],
    }


def recording_graph(env: Mapping[str, str]) -> RecordingGraph:
    """A GraphServiceClient for the emulated app registration in ``env`` (EntraEmulator.env)."""
    http = httpx.AsyncClient(http2=True, timeout=30.0, base_url="https://graph.microsoft.com/v1.0")
    auth = AzureIdentityAuthenticationProvider(app_credential(env), scopes=GRAPH_SCOPES)
    adapter = GraphRequestAdapter(auth, client=GraphClientFactory.create_with_default_middleware(client=http))
    recording = RecordingGraph(GraphServiceClient(request_adapter=adapter), adapter, http)
    http.event_hooks["response"] = [recording.record]
    return recording


def drive(env: Mapping[str, str], scenario: Callable[[RecordingGraph], Awaitable[None]]) -> RecordingGraph:
    """Run an async scenario against a fresh SDK client on one event loop (the SDK is async-only; httpx
    connection pools belong to the loop that opened them), and return the client with what it received."""
    graph = recording_graph(env)

    async def main() -> None:
        try:
            await scenario(graph)
        finally:
            await graph.http.aclose()

    asyncio.run(main())
    return graph
