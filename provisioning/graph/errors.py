"""What a failed Graph call raises: Graph's error code and request ids, never a secret or a quoted value.

Graph quotes the offending value in its messages ("Resource 'jane@contoso.com' does not exist"); messages
travel into orchestration output and the status API, where UPNs and names must not appear, so quoted values
are blanked. Errors pickle (activity failures cross process boundaries) and keep their type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import httpx

__all__ = ["DeltaExpired", "GraphError", "GraphThrottled", "SyncedUserPasswordError", "error_from", "throttled"]

_MAX_ERROR_MESSAGE_LENGTH: Final = 500
_QUOTED_VALUE: Final = re.compile(r"'[^']*'")


class GraphError(Exception):
    """A Graph call failed. Carries Graph's error code and request ids for support cases.

    ``status`` is 0 when no HTTP response was received (network failure, page cap, bad next link).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        client_request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message[:_MAX_ERROR_MESSAGE_LENGTH]
        self.request_id = request_id
        self.client_request_id = client_request_id
        super().__init__(self.__str__())

    def __str__(self) -> str:
        ids = f" (request-id {self.request_id}, client-request-id {self.client_request_id})"
        return f"Graph {self.status} {self.code}: {self.message}{ids}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.code, self.message, self.request_id, self.client_request_id))


class GraphThrottled(GraphError):
    """Graph asked us to come back later than this activity should wait.

    Raised when one ``Retry-After`` exceeds ``max_retry_wait``, when the in-call wait budget is spent, or
    when the attempts run out on 429/503/504. The orchestrator waits ``retry_after_seconds`` on a durable
    timer and then calls the activity again.
    """

    def __init__(
        self,
        retry_after_seconds: float,
        *,
        status: int = 429,
        code: str = "TooManyRequests",
        message: str = "Graph throttled the request",
        request_id: str | None = None,
        client_request_id: str | None = None,
    ) -> None:
        self.retry_after_seconds = float(retry_after_seconds)
        super().__init__(status, code, message, request_id, client_request_id)

    def __str__(self) -> str:
        return f"{super().__str__()}; retry after {self.retry_after_seconds:.0f} s"

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.status, self.code, self.message, self.request_id, self.client_request_id)
        return (_restore_throttled, (self.retry_after_seconds, *fields))


def _restore_throttled(
    retry_after_seconds: float,
    *fields: Any,
) -> GraphThrottled:
    status, code, message, request_id, client_request_id = fields
    return GraphThrottled(
        retry_after_seconds,
        status=status,
        code=code,
        message=message,
        request_id=request_id,
        client_request_id=client_request_id,
    )


class SyncedUserPasswordError(GraphError):
    """Graph refuses app-only password changes for AD-synced (on-premises mastered) users (user: passwordProfile)."""


class DeltaExpired(GraphError):
    """A delta link is no longer honoured (410 Gone, or ``syncStateNotFound``): start a new round.

    Changes made while the link was out of date may not be reported; the caller must look again directly at
    whatever it was waiting to see.
    """


def error_from_body(
    status: int,
    body: object,
    headers: Mapping[str, str],
    *,
    reason: str,
    client_request_id: str,
) -> GraphError:
    """Map Graph's error envelope ``{"error": {"code", "message", "innerError": {...}}}`` to GraphError."""
    code = f"HTTP{status}"
    message = reason or "request failed"
    request_id = _header(headers, "request-id")
    echoed_client_id = _header(headers, "client-request-id")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        inner = error.get("innerError") or error.get("innererror")
        if isinstance(inner, dict):
            request_id = request_id or _optional_str(inner.get("request-id"))
            echoed_client_id = echoed_client_id or _optional_str(inner.get("client-request-id"))
    message = _QUOTED_VALUE.sub("'…'", message)
    error_type = DeltaExpired if status == 410 or code.lower() == "syncstatenotfound" else GraphError
    return error_type(status, code, message, request_id, echoed_client_id or client_request_id)


def error_from(response: httpx.Response, client_request_id: str) -> GraphError:
    """The GraphError for an HTTP response that failed."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    return error_from_body(
        response.status_code,
        body,
        response.headers,
        reason=response.reason_phrase,
        client_request_id=client_request_id,
    )


def throttled(wait: float, error: GraphError) -> GraphThrottled:
    return GraphThrottled(
        wait,
        status=error.status,
        code=error.code,
        message=error.message,
        request_id=error.request_id,
        client_request_id=error.client_request_id,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
