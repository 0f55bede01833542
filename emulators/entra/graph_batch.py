"""``POST /$batch``: JSON batching, as Microsoft Graph documents it.

Source: "Combine multiple HTTP requests using JSON batching" and the throttling guidance's "Throttling and
batching" (Microsoft Learn).

- The body is ``{"requests": [...]}``, at most 20 of them. Each has an ``id`` (unique in the batch, compared
  without case), a ``method`` and a ``url`` relative to the version (``/users?...``); ``headers`` and ``body`` are
  optional, but a ``body`` needs a ``Content-Type`` header. A malformed batch is ``400`` as a whole.
- A parseable batch is ``200`` with ``{"responses": [{"id", "status", "headers", "body"}]}``: the 200 says nothing
  about the requests inside, each carries its own status.
- ``dependsOn`` lists ids that must run first, and they must come earlier in the array (Graph answers "Invalid
  dependency for request Id" otherwise, msgraph-sdk-dotnet-core#891); a request whose dependency failed answers
  ``424 Failed Dependency`` without running. Requests run in the order given.
- Each request is evaluated on its own, against the same permissions and throttling as when sent alone: a
  throttled one answers ``429`` with its own ``Retry-After`` header, and the client retries just those.

Every request in a batch passes through the emulator's front door (:mod:`emulators.entra.app`) as if it had come
on its own, so it is authorised, fault-injected and recorded in the call log (marked ``inBatch``) like any
other. The batch envelope itself is recorded but never fault-injected: the faults are per request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Scope

from emulators.entra import url_convertors as _url_convertors
from emulators.entra.responses import graph_error, request_ids

MAX_REQUESTS = 20
BATCH_ITEM = "emulator.graph_batch_item"
"""Scope key marking a request that arrived inside a batch."""
_DROPPED_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "date", "server"})
#: How Graph spells the headers it puts in batch responses (ASGI hands them over lower-cased).
_HEADER_SPELLING = {
    name.lower(): name for name in ("Content-Type", "Retry-After", "Location", "Cache-Control", "OData-Version")
}


class _Malformed(ValueError):
    pass


def _items(body: Any) -> list[dict[str, Any]]:
    """The batch's requests, checked as Graph checks them before running any (raises _Malformed)."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise _Malformed("Invalid batch payload format: 'requests' must be a non-empty array.")
    if len(requests) > MAX_REQUESTS:
        raise _Malformed(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise _Malformed("Invalid batch payload format: every request must be a JSON object.")
        for name in ("id", "method", "url"):
            if not isinstance(item.get(name), str) or not item[name]:
                raise _Malformed(f"Invalid batch payload format: every request needs a non-empty '{name}'.")
        key = item["id"].lower()
        if key in seen:
            raise _Malformed(f"Batch request ids must be unique; '{item['id']}' appears more than once.")
        seen.add(key)
        headers = item.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise _Malformed(f"Request '{item['id']}': 'headers' must be an object of strings.")
        if "body" in item and not any(name.lower() == "content-type" for name in headers):
            raise _Malformed(f"Request '{item['id']}': a request with a body needs a Content-Type header.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _Malformed(f"Request '{item['id']}': 'dependsOn' must be an array of request ids.")
    earlier: set[str] = set()
    for item in requests:
        for dependency in item.get("dependsOn", []):
            if dependency.lower() not in earlier:
                # Graph needs a request's dependencies earlier in the array (its message names the request).
                raise _Malformed(f"Invalid dependency for request Id '{item['id']}': '{dependency}'.")
        earlier.add(item["id"].lower())
    return requests


def _sub_scope(outer: Request, item: dict[str, Any], body: bytes) -> Scope | None:
    """The ASGI scope of one request of the batch, or None when its url is not a relative Graph URL."""
    url = item["url"]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    path = "/" + parts.path.lstrip("/")
    version = outer.path_params["version"]
    full_path = f"/{version}{path}"
    if path.rstrip("/").lower().endswith("/$batch") or path.lower() == "/$batch":
        return None
    headers: list[tuple[bytes, bytes]] = [(b"host", outer.headers.get("host", "graph.microsoft.com").encode())]
    for name in ("authorization", "client-request-id"):
        if name in outer.headers:
            headers.append((name.encode(), outer.headers[name].encode()))
    for name, value in (item.get("headers") or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": outer.scope.get("asgi", {"version": "3.0"}),
        "http_version": "1.1",
        "method": item["method"].upper(),
        "scheme": outer.url.scheme,
        "path": full_path,
        "raw_path": quote(full_path).encode(),
        "query_string": quote(parts.query, safe="=&$'(),:/@%+!*;").encode(),
        "root_path": "",
        "headers": headers,
        "client": outer.scope.get("client"),
        "server": outer.scope.get("server"),
        BATCH_ITEM: True,
    }


def _encoded_body(item: dict[str, Any]) -> bytes:
    if "body" not in item:
        return b""
    content_type = next((v for k, v in (item.get("headers") or {}).items() if k.lower() == "content-type"), "")
    body = item["body"]
    if isinstance(body, str) and "json" not in content_type.lower():
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return body.encode()
    return json.dumps(body).encode()


async def _run(outer: Request, item: dict[str, Any]) -> dict[str, Any]:
    body = _encoded_body(item)
    scope = _sub_scope(outer, item, body)
    if scope is None:
        return _failure(item["id"], 400, "BadRequest", "The url of a batched request must be a relative Graph URL.")
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await outer.app.state.dispatch(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    raw = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    headers: dict[str, str] = {}
    for raw_name, raw_value in start.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name not in _DROPPED_HEADERS:
            headers[_HEADER_SPELLING.get(name, name)] = raw_value.decode("latin-1")
    response: dict[str, Any] = {"id": item["id"], "status": int(start["status"]), "headers": headers}
    if raw:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        response["body"] = json.loads(raw) if "json" in content_type else base64.b64encode(raw).decode()
    return response


def _failure(item_id: str, status: int, code: str, message: str) -> dict[str, Any]:
    """A response the batch writes itself (a bad url, a failed dependency), in Graph's error envelope."""
    inner = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4())}
    return {
        "id": item_id,
        "status": status,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {"code": code, "message": message, "innerError": inner}},
    }


async def batch(request: Request) -> Response:
    try:
        payload = json.loads(await request.body() or b"null")
    except ValueError:
        return graph_error(request, 400, "BadRequest", "Invalid batch payload format: the body is not JSON.")
    try:
        ordered = _items(payload)
    except _Malformed as malformed:
        return graph_error(request, 400, "BadRequest", str(malformed))
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in ordered:
        failed = [d for d in item.get("dependsOn", []) if statuses.get(d.lower(), 200) >= 400]
        if failed:
            answer = _failure(
                item["id"], 424, "FailedDependency", f"The request depends on '{failed[0]}', which failed."
            )
        else:
            answer = await _run(request, item)
        statuses[item["id"].lower()] = answer["status"]
        responses.append(answer)
    return JSONResponse({"responses": responses}, headers=request_ids(request))


routes = [Route("/{version:graphversion}/$batch", batch, methods=["POST"])]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
