"""JSON batching: several Graph requests in one HTTP call (``POST /$batch``), as Microsoft documents it.

Source: Microsoft Learn, "Combine multiple HTTP requests using JSON batching" and the throttling guidance's
"Throttling and batching":

- at most 20 requests per batch (more are sent as several batches here, each request still counted by Graph);
- each request has its own status; a 200 for the batch says nothing about them;
- ``dependsOn`` orders requests, and a request whose dependency failed answers 424;
- each request is throttled on its own: a 429 inside carries its own ``Retry-After``. The failed requests are
  sent again, in a new batch, after the longest ``Retry-After`` of them, as the guidance recommends; a wait
  longer than the client's in-call budget raises :class:`~provisioning.graph.errors.GraphThrottled` so the
  orchestrator waits on a durable timer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from provisioning.graph.errors import GraphError, error_from_body
from provisioning.graph.transport import RETRYABLE_STATUSES, GraphTransport, json_body, parse_retry_after

__all__ = ["MAX_BATCH_REQUESTS", "BatchRequest", "BatchResponse", "send_batch"]

MAX_BATCH_REQUESTS: Final = 20


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch. ``url`` is relative to the Graph version (``/users?$filter=...``)."""

    id: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            item["body"] = self.body
        if headers:
            item["headers"] = headers
        if self.depends_on:
            item["dependsOn"] = list(self.depends_on)
        return item


@dataclass(frozen=True)
class BatchResponse:
    """What Graph answered to one request of a batch."""

    id: str
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def error(self, client_request_id: str = "") -> GraphError:
        """The GraphError this response stands for (the same mapping as a request sent alone)."""
        return error_from_body(
            self.status, self.body, self.headers, reason=f"HTTP {self.status}", client_request_id=client_request_id
        )


def send_batch(
    transport: GraphTransport, requests: Sequence[BatchRequest], *, version: str = "v1.0"
) -> dict[str, BatchResponse]:
    """Send ``requests`` in batches of at most 20; return every response by request id.

    Throttled and temporarily unavailable requests (429, 503, 504) are sent again as the client's retry budget
    allows; any other status is returned for the caller to read (a 404 is an answer, not a failure).
    """
    ids = [request.id.lower() for request in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("batch request ids must be unique (Graph compares them without case)")
    chunks = [
        list(requests[start : start + MAX_BATCH_REQUESTS]) for start in range(0, len(requests), MAX_BATCH_REQUESTS)
    ]
    for chunk in chunks:
        inside = {request.id.lower() for request in chunk}
        if any(dependency.lower() not in inside for request in chunk for dependency in request.depends_on):
            raise ValueError("a request and the requests it depends on must fit in one batch of 20")
    answers: dict[str, BatchResponse] = {}
    for chunk in chunks:
        answers.update(_send_with_retries(transport, chunk, version))
    return answers


def _send_with_retries(transport: GraphTransport, chunk: list[BatchRequest], version: str) -> dict[str, BatchResponse]:
    answers: dict[str, BatchResponse] = {}
    pending = chunk
    attempt, waited = 0, 0.0
    while pending:
        attempt += 1
        got = _post(transport, pending, version)
        retry = [request for request in pending if got[request.id].status in RETRYABLE_STATUSES]
        answers.update({request.id: got[request.id] for request in pending if request not in retry})
        if not retry:
            break
        waits = [parse_retry_after(got[r.id].header("Retry-After"), transport._clock()) for r in retry]
        longest = max((wait for wait in waits if wait is not None), default=None)
        first = got[retry[0].id]
        wait = transport.plan_wait(longest, attempt, waited, first.error())
        transport._sleep(wait)
        waited += wait
        # A request that depended on a retried one is retried with it (its 424 was not its own failure).
        again = {request.id for request in retry}
        pending = [
            request
            for request in chunk
            if request.id in again or (request.id in answers and set(request.depends_on) & again)
        ]
        for request in pending:
            answers.pop(request.id, None)
    return answers


def _post(transport: GraphTransport, requests: list[BatchRequest], version: str) -> dict[str, BatchResponse]:
    body = json.dumps({"requests": [request.to_json() for request in requests]}, ensure_ascii=False)
    response = transport._request(
        "POST",
        transport._url(f"/{version}/$batch"),
        template=f"/{version}/$batch ({len(requests)} requests)",
        headers={"Content-Type": "application/json"},
        content=body.encode("utf-8"),
    )
    payload = json_body(response)
    items = payload.get("responses") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise GraphError(response.status_code, "UnexpectedResponse", "the batch response has no 'responses' list")
    found: dict[str, BatchResponse] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            raw_headers = item.get("headers")
            headers = {str(k): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
            found[item["id"].lower()] = BatchResponse(item["id"], int(item.get("status", 0)), headers, item.get("body"))
    missing = [request.id for request in requests if request.id.lower() not in found]
    if missing:
        raise GraphError(response.status_code, "UnexpectedResponse", f"the batch response lacks {len(missing)} ids")
    return {request.id: found[request.id.lower()] for request in requests}
