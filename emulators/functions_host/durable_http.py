"""The durable HTTP action (`context.call_http`): the built-in activity that sends the request from the host.

What the Durable extension does (`TaskHttpActivityShim`, `DurableHttpRequest`, `DurableHttpResponse`,
`ManagedIdentityTokenSource` in Azure/azure-functions-durable-extension):

- A CallHttp action becomes one call of the reserved activity `BuiltIn::HttpActivity`. Its history input is
  the request serialized as a one-element JSON array; its result is `{"statusCode", "headers", "content"}`.
- The request goes out from the host, never from the orchestrator: 240 s timeout, redirects followed, the
  content sent as `text/plain` unless the request names a Content-Type, multipart refused.
- A `ManagedIdentityTokenSource` gets a token from `DefaultAzureCredential` (in Azure: the app's managed
  identity through IDENTITY_ENDPOINT) when the activity runs, and only the `Authorization` header carries
  it: the token is never in history, inputs or results.
- The response headers are the response's own headers (.NET keeps content headers such as Content-Type
  apart, so they are not in `headers`); a header with several values becomes a list.
- HTTP 202 polling (`asynchronousPatternEnabled`) and HTTP retry options are .NET-only: Microsoft documents
  "HTTP 202 handling (.NET only)" and the Python SDK 1.x never sends either field, so an orchestrator gets
  the 202 with its Location header and polls with `create_timer` + `call_http` itself.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from .worker import ActivityResult

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"
TIMEOUT_SECONDS = 240.0
USER_AGENT = "Microsoft.Azure.WebJobs.Extensions.DurableTask (emulators.functions_host)"
MANAGED_IDENTITY_KIND = "AzureManagedIdentity"

# HttpContentHeaders in .NET: on the response's Content, not in HttpResponseMessage.Headers.
_CONTENT_HEADERS = frozenset(
    {
        "allow",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "expires",
        "last-modified",
    }
)
# ManagedIdentityTokenSource turns these two resources into scopes; any other resource is used as given.
_DEFAULT_SCOPES = {
    "https://management.core.windows.net": "https://management.core.windows.net/.default",
    "https://management.core.windows.net/": "https://management.core.windows.net/.default",
    "https://graph.microsoft.com": "https://graph.microsoft.com/.default",
    "https://graph.microsoft.com/": "https://graph.microsoft.com/.default",
}


class UnsupportedHttpRequestError(ValueError):
    """A CallHttp action asks for a feature the Durable extension offers to .NET orchestrators only."""


def activity_input(action: dict[str, Any]) -> str:
    """The history input of the HTTP activity for one CallHttp action (the request as the extension
    serializes its DurableHttpRequest, in a one-element array)."""
    request = action.get("httpRequest") or {}
    if request.get("asynchronousPatternEnabled"):
        raise UnsupportedHttpRequestError(
            "call_http: HTTP 202 polling by the host (asynchronousPatternEnabled) is a .NET-only feature of the "
            "Durable extension; poll the Location header with create_timer and call_http instead"
        )
    if request.get("retryOptions"):
        raise UnsupportedHttpRequestError(
            "call_http: HTTP retry options are a .NET-only feature of the Durable extension; "
            "retry with create_timer and call_http instead"
        )
    token_source = request.get("tokenSource")
    serialized: dict[str, Any] = {
        "method": request.get("method") or "GET",
        "uri": request.get("uri"),
        "headers": dict(request.get("headers") or {}),
        "content": request.get("content"),
        "tokenSource": _token_source(token_source) if token_source else None,
        "asynchronousPatternEnabled": False,
        "retryOptions": None,
        "timeout": None,
    }
    return json.dumps([serialized])


def _token_source(source: dict[str, Any]) -> dict[str, Any]:
    kind = source.get("kind")
    if kind != MANAGED_IDENTITY_KIND:
        raise UnsupportedHttpRequestError(f"call_http: the token source kind '{kind}' is not supported")
    resource = str(source.get("resource") or "")
    shaped: dict[str, Any] = {"kind": MANAGED_IDENTITY_KIND, "resource": _DEFAULT_SCOPES.get(resource, resource)}
    if source.get("options"):
        shaped["options"] = source["options"]
    return shaped


class DurableHttpClient:
    """Sends durable HTTP requests for one host; the credential is created on first use of a token source."""

    def __init__(self) -> None:
        self._credential: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            credential, self._credential = self._credential, None
        if credential is not None:
            credential.close()

    def _token(self, source: dict[str, Any]) -> str:
        from azure.identity import DefaultAzureCredential

        with self._lock:
            if self._credential is None:
                self._credential = DefaultAzureCredential()
            credential = self._credential
        return str(credential.get_token(source["resource"]).token)

    def run(self, input_text: str | None) -> ActivityResult:
        """Run one `BuiltIn::HttpActivity` work item."""
        try:
            request = json.loads(input_text or "[]")[0]
            headers, content = self._request_headers(request)
            if request.get("tokenSource"):
                headers.append(("Authorization", f"Bearer {self._token(request['tokenSource'])}"))
        except Exception as exc:
            return ActivityResult(ok=False, reason=str(exc) or type(exc).__name__, details=type(exc).__name__)
        try:
            with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True, max_redirects=50) as client:
                response = client.request(str(request["method"]), str(request["uri"]), headers=headers, content=content)
        except httpx.TimeoutException as exc:
            reason = f"The request was canceled due to the configured timeout of {TIMEOUT_SECONDS:.0f} s elapsing."
            return ActivityResult(ok=False, reason=reason, details=f"{type(exc).__name__}: {exc}")
        except httpx.HTTPError as exc:
            return ActivityResult(ok=False, reason=str(exc) or type(exc).__name__, details=type(exc).__name__)
        result = {"statusCode": response.status_code, "headers": _response_headers(response), "content": response.text}
        return ActivityResult(ok=True, result=json.dumps(result))

    @staticmethod
    def _request_headers(request: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes | None]:
        headers: list[tuple[str, str]] = []
        content_type = ""
        for name, value in (request.get("headers") or {}).items():
            values = value if isinstance(value, list) else [value]
            if name.lower() == "content-type":
                for item in values:
                    if "multipart" in str(item):
                        raise ValueError("Multipart content is not supported with CallHttpAsync.")
                    content_type = str(item)
                continue
            headers.extend((name, str(item)) for item in values)
        if not any(name.lower() == "user-agent" for name, _ in headers):
            headers.append(("User-Agent", USER_AGENT))
        content = request.get("content")
        if content is None:
            return headers, None
        headers.append(("Content-Type", content_type or "text/plain"))
        return headers, str(content).encode("utf-8")


def _response_headers(response: httpx.Response) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        if name.lower() in _CONTENT_HEADERS:
            continue
        key = names.setdefault(name.lower(), name)
        grouped.setdefault(key, []).append(raw_value.decode("latin-1"))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}
