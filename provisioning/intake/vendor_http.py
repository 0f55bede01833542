"""The HTTP edge every HR system client shares: one httpx client, status codes turned into typed errors, and the
vendors' throttling (429, and BambooHR's 503) honoured through Retry-After.

A short Retry-After is waited out inside the call; a long one is raised as `VendorThrottled` so the orchestration
waits with a durable timer instead of holding an activity. Errors carry the vendor, status and a short reason,
never a response body (it may hold personal data) or a credential.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = [
    "VendorError",
    "VendorHttp",
    "VendorNotFound",
    "VendorThrottled",
    "VendorUnauthorized",
    "retry_after_seconds",
]

logger = logging.getLogger("provisioning.intake.http")

DEFAULT_TIMEOUT_SECONDS = 20.0
IN_CALL_WAIT_SECONDS = 10.0
"""How much Retry-After one call waits out by itself; anything longer goes back to the orchestration."""
DEFAULT_RETRY_AFTER_SECONDS = 30.0
"""Used when a throttled answer has no (readable) Retry-After header."""
MAX_PAGES = 10_000


class VendorError(Exception):
    """The HR system's API failed in a way a later retry may fix (5xx, network). Message: vendor, status, reason."""

    def __init__(self, vendor: str, status: int, reason: str) -> None:
        self.vendor, self.status, self.reason = vendor, status, reason
        super().__init__(f"{vendor} API answered {status or 'no response'}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.vendor, self.status, self.reason))


class VendorNotFound(VendorError):
    """The API does not know the employee (404)."""


class VendorUnauthorized(VendorError):
    """The API refused our credentials (401/403): a configuration problem, not a transient one."""


class VendorThrottled(VendorError):
    """The API asked us to slow down for longer than one call waits; `retry_after` is in seconds."""

    def __init__(self, vendor: str, status: int, reason: str, retry_after: float = DEFAULT_RETRY_AFTER_SECONDS) -> None:
        super().__init__(vendor, status, reason)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.vendor, self.status, self.reason, self.retry_after))


def retry_after_seconds(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = (now or (lambda: datetime.now(UTC)))()
    return max(0.0, (when - current).total_seconds())


def _reset_seconds(value: str | None) -> float | None:
    """X-RateLimit-Reset (epoch seconds, as HiBob sends it) as seconds from now."""
    if not value or not value.strip().isdigit():
        return None
    return max(0.0, float(value.strip()) - time.time())


class VendorHttp:
    """Requests to one HR system's API with its authentication, throttling and error mapping."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        throttle_statuses: frozenset[int] = frozenset({429}),
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        in_call_wait: float = IN_CALL_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self._throttle = throttle_statuses
        self._in_call_wait = in_call_wait
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; waits out short throttling, raises a `VendorError` subclass for every failure."""
        waited = 0.0
        url = path if path.startswith("https://") else path.lstrip("/")
        if url.startswith("https://") and httpx.URL(url).host != self._client.base_url.host:
            # A paging link to another host must never receive our credentials.
            raise VendorError(self.vendor, 0, "a link in the answer points to another host")
        while True:
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TimeoutException:
                raise VendorError(self.vendor, 0, "timed out") from None
            except httpx.HTTPError as error:
                raise VendorError(self.vendor, 0, f"network error ({type(error).__name__})") from None
            status = response.status_code
            if status in self._throttle:
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if delay is None:
                    delay = _reset_seconds(response.headers.get("X-RateLimit-Reset"))
                wait = DEFAULT_RETRY_AFTER_SECONDS if delay is None else delay
                if waited + wait <= self._in_call_wait:
                    logger.info("%s API throttled (%d); waiting %.1f s", self.vendor, status, wait)
                    self._sleep(wait)
                    waited += wait
                    continue
                raise VendorThrottled(self.vendor, status, "rate limited", wait)
            if status in (401, 403):
                raise VendorUnauthorized(self.vendor, status, "credentials refused")
            if status == 404:
                raise VendorNotFound(self.vendor, status, "not found")
            if status >= 400:
                raise VendorError(self.vendor, status, "request failed")
            return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise VendorError(self.vendor, response.status_code, "answer is not JSON") from None

    def pages(self, first: str, next_link: Callable[[Any], str | None], **kwargs: Any) -> Iterator[Any]:
        """Each page of a paged collection, following the link the vendor's answer names until there is none."""
        url: str | None = first
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                return
            if url in seen:
                raise VendorError(self.vendor, 200, "paging loops back to a page already read")
            seen.add(url)
            page = self.json("GET", url, **kwargs)
            yield page
            url = next_link(page)
            kwargs.pop("params", None)  # the next link carries every parameter
        raise VendorError(self.vendor, 200, f"more than {MAX_PAGES} pages")
