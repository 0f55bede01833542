"""Talking to Graph over HTTP: tokens, retries, error mapping, paging, and keeping URLs out of logs.

Activities run in the Functions thread pool, so this is synchronous (httpx). Throttling (429) and transient
unavailability (503/504) are retried inside the call when the wait is short; a long ``Retry-After`` is handed back
as :class:`~provisioning.graph.errors.GraphThrottled` so the orchestrator can wait on a durable timer instead of
holding a worker thread. A 401 refreshes the token once; other 4xx are never retried. Log lines carry the path
*template* only: no token, no body, no UPN or filter value.
"""

from __future__ import annotations

import email.utils
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import AccessToken, TokenCredential

from provisioning.graph.errors import GraphError, error_from, throttled
from provisioning.graph.odata import query_string

__all__ = ["DEFAULT_BASE_URL", "GRAPH_SCOPE", "GraphTransport", "json_body"]

logger = logging.getLogger("provisioning.graph")

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
"""The Graph resource scope. It names the resource, not a URL, so it never follows ``base_url``."""

DEFAULT_BASE_URL: Final = "https://graph.microsoft.com"

_TOKEN_REFRESH_MARGIN_SECONDS: Final = 300.0
RETRYABLE_STATUSES: Final = frozenset({429, 503, 504})
_BACKOFF_BASE_SECONDS: Final = 2.0
_SYSTEM_RANDOM: Final = secrets.SystemRandom()


class _RedactHttpxUrls(logging.Filter):
    """httpx logs every request URL at INFO; ours carry UPNs in paths and names in ``$filter``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(
                f"{arg.scheme}://{arg.host}/…" if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def _install_httpx_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactHttpxUrls) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxUrls())


_install_httpx_redaction()


def json_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise GraphError(
            response.status_code,
            "UnexpectedResponse",
            "Graph returned a body that is not JSON",
            response.headers.get("request-id"),
            response.headers.get("client-request-id"),
        ) from None


def parse_retry_after(raw: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay seconds or an HTTP date), None when absent or bad."""
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class GraphTransport:
    """Token caching, retries and paging for one Graph origin.

    One instance may be shared by the threads of an activity worker: the token cache is locked and
    httpx clients are thread-safe.
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.Client | None = None,
        max_retry_wait: float = 30.0,
        max_total_wait: float = 60.0,
        max_attempts: int = 5,
        max_pages: int = 50,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = _SYSTEM_RANDOM.random,
    ) -> None:
        """Create a client.

        ``clock`` is wall-clock epoch seconds: it is compared with token expiry and HTTP-date
        ``Retry-After`` values. ``jitter`` returns a float in [0, 1). ``max_total_wait`` bounds the sum of
        in-call sleeps; beyond it the call raises :class:`GraphThrottled`.
        """
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("base_url must be an https origin such as https://graph.microsoft.com")
        if max_attempts < 1 or max_pages < 1 or max_retry_wait < 0 or max_total_wait < 0:
            raise ValueError("max_attempts and max_pages must be >= 1; waits must be >= 0")
        self._credential = credential
        self._base = f"https://{parts.netloc}"
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        self._max_retry_wait = max_retry_wait
        self._max_total_wait = max_total_wait
        self._max_attempts = max_attempts
        self._max_pages = max_pages
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._token_lock = threading.Lock()
        self._token: AccessToken | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client if this instance created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- tokens ------------------------------------------------------------------------------------

    def _bearer(self, *, refresh: bool) -> str:
        with self._token_lock:
            token = self._token
            stale = token is None or self._clock() >= token.expires_on - _TOKEN_REFRESH_MARGIN_SECONDS
            if refresh or stale:
                token = self._credential.get_token(GRAPH_SCOPE)
                self._token = token
            assert token is not None
            return token.token

    # -- transport ---------------------------------------------------------------------------------

    def _retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(response.headers.get("Retry-After"), self._clock())

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_retry_wait, _BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._jitter())

    def _request(
        self,
        method: str,
        url: str,
        *,
        template: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        allow: frozenset[int] = frozenset(),
        resend_after_read_error: bool = True,
    ) -> httpx.Response:
        """Send one logical request with token refresh, retries and error mapping.

        ``resend_after_read_error`` is False for calls whose repetition is visible (sendMail): after a
        timeout or dropped connection the request may already have been processed.
        """
        client_request_id = str(uuid.uuid4())
        attempt = 0
        waited = 0.0
        refreshed = False
        while True:
            attempt += 1
            request_headers = {
                "Authorization": f"Bearer {self._bearer(refresh=False)}",
                "client-request-id": client_request_id,
                "Accept": "application/json",
                **(headers or {}),
            }
            try:
                response = self._http.request(method, url, headers=request_headers, content=content)
            except httpx.TransportError as exc:
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                failure = GraphError(
                    0, "NetworkError", f"{type(exc).__name__} on {method} {template}", None, client_request_id
                )
                if not (unsent or resend_after_read_error) or attempt >= self._max_attempts:
                    raise failure from exc
                wait = self._backoff(attempt)
                if waited + wait > self._max_total_wait:
                    raise failure from exc
                logger.info(
                    "graph %s %s network error %s, attempt %d, retrying in %.1f s",
                    method,
                    template,
                    type(exc).__name__,
                    attempt,
                    wait,
                )
                self._sleep(wait)
                waited += wait
                continue

            status = response.status_code
            request_id = response.headers.get("request-id")
            logger.debug("graph %s %s -> %d (request-id %s, attempt %d)", method, template, status, request_id, attempt)

            if status == 401 and not refreshed:
                refreshed = True
                attempt -= 1  # a token refresh is not a retry of the service
                self._bearer(refresh=True)
                logger.info("graph %s %s -> 401, token refreshed once", method, template)
                continue

            if status in RETRYABLE_STATUSES:
                error = error_from(response, client_request_id)
                retry_after = self._retry_after(response)
                wait = self.plan_wait(retry_after, attempt, waited, error)
                logger.info(
                    "graph %s %s -> %d (request-id %s), attempt %d, waiting %.1f s",
                    method,
                    template,
                    status,
                    request_id,
                    attempt,
                    wait,
                )
                self._sleep(wait)
                waited += wait
                continue

            if 200 <= status < 300 or status in allow:
                return response
            raise error_from(response, client_request_id)

    def plan_wait(self, retry_after: float | None, attempt: int, waited: float, error: GraphError) -> float:
        """How long to wait before attempt ``attempt + 1`` of a throttled call, or GraphThrottled when the wait
        belongs on a durable timer (one long Retry-After, the budget spent, or the attempts used up)."""
        if retry_after is not None and retry_after > self._max_retry_wait:
            raise throttled(retry_after, error)
        wait = retry_after if retry_after is not None else self._backoff(attempt)
        if attempt >= self._max_attempts or waited + wait > self._max_total_wait:
            raise throttled(wait, error)
        return wait

    def _get_json(self, url: str, *, template: str, headers: Mapping[str, str] | None = None) -> Any:
        response = self._request("GET", url, template=template, headers=headers, allow=frozenset({404}))
        if response.status_code == 404:
            return None
        return json_body(response)

    def _pages(
        self, url: str, *, template: str, headers: Mapping[str, str] | None = None, max_pages: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each page's body, following ``@odata.nextLink`` (never off the Graph origin), at most ``max_pages``."""
        limit = self._max_pages if max_pages is None else max_pages
        next_url: str | None = url
        pages = 0
        while next_url is not None:
            if pages >= limit:
                raise GraphError(0, "PageLimitExceeded", f"more than {limit} pages from {template}")
            pages += 1
            response = self._request("GET", next_url, template=template, headers=headers)
            body = json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphError(response.status_code, "UnexpectedResponse", f"no 'value' list from {template}")
            yield body
            link = body.get("@odata.nextLink")
            next_url = self._checked_link(link, template=template) if link else None

    def _get_all_pages(
        self, url: str, *, template: str, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return [
            entry
            for body in self._pages(url, template=template, headers=headers)
            for entry in body["value"]
            if isinstance(entry, dict)
        ]

    def _checked_link(self, link: object, *, template: str) -> str:
        # The bearer token goes wherever a next or delta link points: only follow links back to our Graph origin.
        if isinstance(link, str):
            parts = urlsplit(link)
            if parts.scheme == "https" and f"https://{parts.netloc}".lower() == self._base.lower():
                return link
        raise GraphError(0, "UnexpectedNextLink", f"a link from {template} leaves the Graph origin")

    def _url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        return f"{self._base}{path}" + (f"?{query_string(params)}" if params else "")
