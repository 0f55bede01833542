"""Which Graph type each response the SDK received must be, and the check of all of them.

Routes are matched on the request path; every recorded response must match one, so a call the tests add
without saying what it returns fails instead of going unchecked.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.conformance.graph.schema import problems
from tests.conformance.graph.sdk import Exchange, RecordingGraph

_USER = r"/v1\.0/users/[^/]+"
_TAPS = _USER + r"/authentication/temporaryAccessPassMethods"
#: (method, path pattern) -> (response kind, Graph type). Kinds: collection, entity, value, empty.
ROUTES: list[tuple[str, re.Pattern[str], str, str | None]] = [
    ("GET", re.compile(r"/v1\.0/users"), "collection", "microsoft.graph.user"),
    ("GET", re.compile(r"/v1\.0/users/(?:microsoft\.graph\.)?delta(?:\(\))?"), "collection", "microsoft.graph.user"),
    ("DELETE", re.compile(_USER), "empty", None),
    ("POST", re.compile(r"/v1\.0/\$batch"), "batch", None),
    ("GET", re.compile(_USER), "entity", "microsoft.graph.user"),
    ("PATCH", re.compile(_USER), "empty", None),
    ("GET", re.compile(_USER + "/manager"), "entity", "microsoft.graph.directoryObject"),
    ("POST", re.compile(_TAPS), "entity", "microsoft.graph.temporaryAccessPassAuthenticationMethod"),
    ("GET", re.compile(_TAPS), "collection", "microsoft.graph.temporaryAccessPassAuthenticationMethod"),
    ("GET", re.compile(_TAPS + "/[^/]+"), "entity", "microsoft.graph.temporaryAccessPassAuthenticationMethod"),
    ("POST", re.compile(_USER + "/sendMail"), "empty", None),
    ("POST", re.compile(_USER + "/revokeSignInSessions"), "value", "Edm.Boolean"),
    ("GET", re.compile(r"/v1\.0/auditLogs/provisioning/?"), "collection", "microsoft.graph.provisioningObjectSummary"),
    (
        "POST",
        re.compile(r"/v1\.0/servicePrincipals/[^/]+/synchronization/jobs/[^/]+/bulkUpload"),
        "empty",
        None,
    ),
]


def _route(exchange: Exchange) -> tuple[str, str | None]:
    path = re.sub("/{2,}", "/", urlsplit(exchange.url).path)  # msgraph-sdk sends ".../v1.0//users"
    for method, pattern, kind, type_name in ROUTES:
        if method == exchange.method and pattern.fullmatch(path):
            return kind, type_name
    raise AssertionError(f"no expected response type for {exchange.method} {path}: add it to ROUTES")


def exchange_problems(exchange: Exchange) -> list[str]:
    """How one response differs from Graph's documented shape for its route."""
    where = f"{exchange.method} {urlsplit(exchange.url).path} {exchange.status}"
    if exchange.status >= 400:
        return [f"{where}: {problem}" for problem in _error_problems(exchange.body)]
    kind, type_name = _route(exchange)
    body = exchange.body
    if kind == "empty":
        return [] if body is None else [f"{where}: expected no body, got {str(body)[:80]}"]
    if not isinstance(body, dict):
        return [f"{where}: expected a JSON object"]
    found: list[str] = []
    if kind == "batch":
        return _batch_problems(where, body)
    if not isinstance(body.get("@odata.context"), str):
        found.append(f"{where}: no @odata.context")
    assert type_name is not None
    if kind == "collection":
        if not isinstance(body.get("value"), list):
            return [*found, f"{where}: a collection response needs a value array"]
        for index, item in enumerate(body["value"]):
            found.extend(f"{where}: {p}" for p in problems(item, type_name, where=f"$.value[{index}]"))
        for name in ("@odata.nextLink", "@odata.deltaLink"):
            link = body.get(name)
            if link is not None and not str(link).startswith("https://graph.microsoft.com/v1.0/"):
                found.append(f"{where}: {name} {link!r} leaves the Graph origin")
        if "@odata.nextLink" in body and "@odata.deltaLink" in body:
            found.append(f"{where}: a page carries either a nextLink or a deltaLink, never both")
    elif kind == "value":
        if type_name == "Edm.Boolean" and not isinstance(body.get("value"), bool):
            found.append(f"{where}: value must be a boolean")
    else:
        found.extend(f"{where}: {p}" for p in problems(body, type_name))
    return found


def _batch_problems(where: str, body: dict[str, object]) -> list[str]:
    """A JSON batch response: ``responses``, each with its ``id``, ``status`` and ``headers``; failures inside
    carry Graph's error envelope (json-batching, "Processing the JSON batch response")."""
    responses = body.get("responses")
    if not isinstance(responses, list):
        return [f"{where}: a batch response needs a responses array"]
    found: list[str] = []
    for index, item in enumerate(responses):
        here = f"{where} $.responses[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("status"), int):
            found.append(f"{here}: needs an id (string) and a status (integer)")
            continue
        if not isinstance(item.get("headers", {}), dict):
            found.append(f"{here}: headers must be an object")
        if item["status"] >= 400:
            found.extend(f"{here}: {problem}" for problem in _error_problems(item.get("body")))
    return found


def _error_problems(body: object) -> list[str]:
    """Graph's error envelope: {"error": {"code", "message", "innerError": {"date", "request-id", ...}}}."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ["an error response needs an error object"]
    found = [f"error.{key} must be a non-empty string" for key in ("code", "message") if not error.get(key)]
    inner = error.get("innerError")
    if not isinstance(inner, dict) or not inner.get("request-id") or not inner.get("date"):
        found.append("error.innerError needs request-id and date")
    return found


def assert_all_conform(graph: RecordingGraph) -> None:
    assert graph.exchanges, "the scenario made no Graph call"
    found = [problem for exchange in graph.exchanges for problem in exchange_problems(exchange)]
    assert found == [], "\n".join(found)
