"""Microsoft Graph client for the provisioning workflows.

Activities run in the Functions thread pool, so this client is synchronous (httpx). It owns the parts of
talking to Graph that every workflow step would otherwise get subtly wrong:

* OData string literals are built by exactly one function, :func:`odata_string`, so a name such as
  ``O'Brien`` can never change the shape of a ``$filter`` (OData doubles a single quote inside a string literal).
* Throttling (429) and transient unavailability (503/504) are retried inside the call when the wait is
  short; a long ``Retry-After`` is handed back as :class:`GraphThrottled` so the orchestrator can wait on
  a durable timer instead of holding a worker thread (Microsoft Graph throttling guidance).
* A 401 refreshes the token once; other 4xx are never retried.
* Nothing secret reaches a log line or an exception: no token, no request body, no Temporary Access
  Pass, and no UPN or filter value (log lines carry the path *template* only).
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import re
import secrets
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, NewType, Self
from urllib.parse import quote, urlsplit

import httpx
from azure.core.credentials import AccessToken, TokenCredential

__all__ = [
    "DEFAULT_BASE_URL",
    "GRAPH_SCOPE",
    "MAX_BULK_OPERATIONS",
    "MAX_ODATA_LITERAL_LENGTH",
    "BulkUploadAccepted",
    "GraphClient",
    "GraphError",
    "GraphThrottled",
    "ODataFilter",
    "ODataValueError",
    "SyncedUserPasswordError",
    "TemporaryAccessPass",
    "filter_all",
    "filter_any",
    "filter_eq",
    "filter_in",
    "odata_datetime",
    "odata_string",
    "users_using_identifier",
]

logger = logging.getLogger(__name__)

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
"""The Graph resource scope. It names the resource, not a URL, so it never follows ``base_url``."""

DEFAULT_BASE_URL: Final = "https://graph.microsoft.com"

MAX_ODATA_LITERAL_LENGTH: Final = 1024
"""Longest value accepted into a filter literal. Real values (UPNs, mail, employee ids) are < 300."""

MAX_BULK_OPERATIONS: Final = 50
"""bulkUpload rejects more than 50 operations per request (its API page); refusing locally saves a quota call."""

_TOKEN_REFRESH_MARGIN_SECONDS: Final = 300.0
_RETRYABLE_STATUSES: Final = frozenset({429, 503, 504})
_BACKOFF_BASE_SECONDS: Final = 2.0
_MAX_ERROR_MESSAGE_LENGTH: Final = 500
_LOG_QUERY_MARGIN: Final = timedelta(seconds=1)
"""``activityDateTime gt`` starts this far before the wanted instant (whole-second literals, no ``ge``)."""

# Control, surrogate and line/paragraph separator characters have no business in a directory value,
# and some of them change how a URL or a log line is read.
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
_PROPERTY_PATH: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*\Z")
_QUERY_SAFE: Final = ",/():"
_BULK_UPLOAD_PATH: Final = re.compile(
    r"/(?:v1\.0|beta)/servicePrincipals/[A-Za-z0-9-]{1,64}/synchronization/jobs/[A-Za-z0-9._-]{1,200}/bulkUpload\Z"
)
# Graph quotes the offending value in its messages ("Resource 'jane@contoso.com' does not exist"); error
# messages travel into orchestration output and the status API, where UPNs and names must not appear.
_QUOTED_VALUE: Final = re.compile(r"'[^']*'")
_SYNCED_USER_MARKERS: Final = ("on-premises mastered", "directory sync")

_SYSTEM_RANDOM: Final = secrets.SystemRandom()

ODataFilter = NewType("ODataFilter", str)
"""A ``$filter`` expression built by the helpers in this module; plain strings are not accepted."""


# --------------------------------------------------------------------------------------------------
# OData literals and filters
# --------------------------------------------------------------------------------------------------


class ODataValueError(ValueError):
    """A value cannot be placed in an OData query. The message never repeats the value (it may be PII)."""


def _check_text(value: object, *, what: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ODataValueError(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length:
        raise ODataValueError(f"{what} is longer than {max_length} characters")
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ODataValueError(f"{what} contains a control or separator character")
    return value


def odata_string(value: str) -> str:
    """Return ``value`` as an OData string literal: validated, single quotes doubled, wrapped in quotes.

    This is the only place a literal is built, so injection is impossible as long as filters are
    assembled from its output (the property test in ``tests/unit/test_graph.py`` proves the round trip).
    """
    text = _check_text(value, what="filter value", max_length=MAX_ODATA_LITERAL_LENGTH)
    return "'" + text.replace("'", "''") + "'"


def odata_datetime(moment: datetime) -> str:
    """Return an OData DateTimeOffset literal in UTC (unquoted, whole seconds, rounded down)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ODataValueError("a filter timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _property_path(prop: str) -> str:
    if not isinstance(prop, str) or not _PROPERTY_PATH.match(prop):
        raise ODataValueError("property must be an OData property path such as 'mail' or 'sourceIdentity/id'")
    return prop


def filter_eq(prop: str, value: str) -> ODataFilter:
    """``prop eq 'value'`` with the value escaped."""
    return ODataFilter(f"{_property_path(prop)} eq {odata_string(value)}")


def filter_in(prop: str, values: Sequence[str]) -> ODataFilter:
    """``prop in ('a','b')`` with every value escaped (Graph caps the list at 15 values for most properties)."""
    if not values:
        raise ODataValueError("'in' needs at least one value")
    return ODataFilter(f"{_property_path(prop)} in ({','.join(odata_string(value) for value in values)})")


def filter_all(*clauses: ODataFilter) -> ODataFilter:
    """Join clauses with ``and``; each clause is parenthesised so ``or`` inside one cannot leak out."""
    return _join("and", clauses)


def filter_any(*clauses: ODataFilter) -> ODataFilter:
    """Join clauses with ``or``; each clause is parenthesised."""
    return _join("or", clauses)


def _join(operator: str, clauses: Sequence[ODataFilter]) -> ODataFilter:
    if not clauses:
        raise ODataValueError(f"'{operator}' needs at least one clause")
    if len(clauses) == 1:
        return clauses[0]
    return ODataFilter(f" {operator} ".join(f"({clause})" for clause in clauses))


def users_using_identifier(identifier: str) -> ODataFilter:
    """Users whose UPN, mail or any proxy address is ``identifier`` (the name-uniqueness check).

    ``proxyAddresses/any(p:p eq ...)`` is a default (non-advanced) query on ``/users`` (Graph "Advanced query
    capabilities"), so no ``ConsistencyLevel`` header is needed and the answer is strongly consistent. Entra compares
    directory strings case-insensitively, so the lower-case ``smtp:`` form also matches a primary ``SMTP:`` address.
    """
    value = identifier.lower()
    return ODataFilter(
        f"userPrincipalName eq {odata_string(value)}"
        f" or mail eq {odata_string(value)}"
        f" or proxyAddresses/any(p:p eq {odata_string('smtp:' + value)})"
    )


def _select_clause(select: Iterable[str]) -> str:
    props = [_property_path(prop) for prop in select]
    if not props:
        raise ODataValueError("$select needs at least one property")
    return ",".join(props)


def _query_string(params: Mapping[str, str]) -> str:
    # Built by hand: httpx would spell spaces as '+' and the '$' of system query options as %24.
    return "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params.items())


# --------------------------------------------------------------------------------------------------
# Errors and results
# --------------------------------------------------------------------------------------------------


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


def _check_bulk_upload_url(url: str, *, graph_base_url: str) -> None:
    """Refuse any URL but a bulkUpload endpoint on our Graph origin before a token is attached.

    Settings validate PROVISIONING_API_ENDPOINT at start-up; this second check sits where the token is
    sent. Only ``https`` on the configured Graph host with the exact bulkUpload path shape is accepted, so a
    misconfigured or malicious setting cannot make us send a Graph token elsewhere.
    """
    base = urlsplit(graph_base_url)
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.netloc.lower() != base.netloc.lower():
        raise ValueError(f"the provisioning endpoint must be an https URL on {base.netloc}")
    if parts.query or parts.fragment:
        raise ValueError("the provisioning endpoint must not carry a query or fragment")
    if not _BULK_UPLOAD_PATH.match(parts.path):
        raise ValueError(
            "the provisioning endpoint must look like "
            "/{v1.0|beta}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload"
        )


@dataclass(frozen=True, slots=True)
class BulkUploadAccepted:
    """Graph staged a bulk request (202). The per-record outcome appears later in the provisioning logs."""

    status: int
    location: str | None
    submitted_at: datetime
    request_id: str | None
    client_request_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for activity results."""
        return {
            "status": self.status,
            "location": self.location,
            "submittedAt": self.submitted_at.isoformat(),
            "requestId": self.request_id,
            "clientRequestId": self.client_request_id,
        }


class TemporaryAccessPass:
    """A freshly created Temporary Access Pass.

    The pass value is hidden from ``repr``/``str``, cannot be pickled, and is read only through
    :meth:`reveal`, so it cannot slip into a log line, an exception or an activity result by accident.
    """

    __slots__ = ("_value", "created", "id", "lifetime_minutes", "start", "usable_once")

    def __init__(
        self,
        *,
        id: str,
        value: str,
        start: datetime | None,
        lifetime_minutes: int,
        usable_once: bool,
        created: datetime | None,
    ) -> None:
        self.id = id
        self._value = value
        self.start = start
        self.lifetime_minutes = lifetime_minutes
        self.usable_once = usable_once
        self.created = created

    def reveal(self) -> str:
        """The pass itself. Call only where it is put into the message to its recipient."""
        return self._value

    def facts(self) -> dict[str, Any]:
        """Non-secret facts about the pass, safe for activity results and logs."""
        return {
            "id": self.id,
            "startDateTime": self.start.isoformat() if self.start else None,
            "lifetimeInMinutes": self.lifetime_minutes,
            "isUsableOnce": self.usable_once,
        }

    def __repr__(self) -> str:
        return (
            f"TemporaryAccessPass(id={self.id!r}, start={self.start!r}, "
            f"lifetime_minutes={self.lifetime_minutes}, usable_once={self.usable_once}, value=<hidden>)"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a Temporary Access Pass is never serialised")


# --------------------------------------------------------------------------------------------------
# Keeping URLs out of httpx's own log lines
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------

_DEFAULT_USER_SELECT: Final = ("id", "userPrincipalName", "mail", "employeeId", "accountEnabled")


def _validate_object_key(value: object, *, what: str) -> str:
    """An object id, UPN or mail used as a path segment: no controls, spaces or path separators."""
    text = _check_text(value, what=what, max_length=1024)
    if not text or any(char.isspace() or char in "/\\?" for char in text):
        raise ODataValueError(f"{what} must be a non-empty id or UPN without spaces or path separators")
    return text


def _user_path(id_or_upn: str) -> str:
    """``/v1.0/users/{id}`` with the key URL-quoted (``#EXT#`` and friends survive the trip)."""
    key = _validate_object_key(id_or_upn, what="user id or UPN")
    if key.startswith("$"):
        # Graph reads a leading '$' as a system segment; such UPNs are addressed as users('…') (Graph "Get user").
        return "/v1.0/users" + quote(f"({odata_string(key)})", safe="()@'$")
    return "/v1.0/users/" + quote(key, safe="@")


def _aware(moment: datetime, *, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _parse_graph_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GraphClient:
    """Synchronous Microsoft Graph client with token caching, retries and paging.

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
        raw = response.headers.get("Retry-After")
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
            seconds = when.timestamp() - self._clock()
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)

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

            if status in _RETRYABLE_STATUSES:
                error = _error_from(response, client_request_id)
                retry_after = self._retry_after(response)
                if retry_after is not None and retry_after > self._max_retry_wait:
                    raise _throttled(retry_after, error)
                wait = retry_after if retry_after is not None else self._backoff(attempt)
                if attempt >= self._max_attempts or waited + wait > self._max_total_wait:
                    raise _throttled(wait, error)
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
            raise _error_from(response, client_request_id)

    def _get_json(self, url: str, *, template: str, headers: Mapping[str, str] | None = None) -> Any:
        response = self._request("GET", url, template=template, headers=headers, allow=frozenset({404}))
        if response.status_code == 404:
            return None
        return _json_body(response)

    def _get_all_pages(
        self, url: str, *, template: str, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        pages = 0
        while next_url is not None:
            if pages >= self._max_pages:
                raise GraphError(0, "PageLimitExceeded", f"more than {self._max_pages} pages from {template}")
            pages += 1
            response = self._request("GET", next_url, template=template, headers=headers)
            body = _json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphError(response.status_code, "UnexpectedResponse", f"no 'value' list from {template}")
            items.extend(entry for entry in body["value"] if isinstance(entry, dict))
            link = body.get("@odata.nextLink")
            next_url = self._checked_next_link(link, template=template) if link else None
        return items

    def _checked_next_link(self, link: object, *, template: str) -> str:
        # The bearer token goes wherever nextLink points: only follow links back to our Graph origin.
        if isinstance(link, str):
            parts = urlsplit(link)
            if parts.scheme == "https" and f"https://{parts.netloc}".lower() == self._base.lower():
                return link
        raise GraphError(0, "UnexpectedNextLink", f"@odata.nextLink from {template} leaves the Graph origin")

    def _url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        return f"{self._base}{path}" + (f"?{_query_string(params)}" if params else "")

    # -- users -------------------------------------------------------------------------------------

    def find_users(
        self,
        filter: ODataFilter,
        *,
        select: Sequence[str] = _DEFAULT_USER_SELECT,
        advanced: bool = False,
        top: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /v1.0/users?$filter=…`` across all pages.

        ``advanced`` sends ``ConsistencyLevel: eventual`` and ``$count=true``, which Graph requires for
        advanced-only filters (e.g. ``onPremisesSamAccountName``); results are then eventually
        consistent, so leave it off for read-after-write checks such as ``employeeId eq``.
        """
        if not 1 <= top <= 999:
            raise ValueError("top must be between 1 and 999")
        params = {"$filter": str(filter), "$select": _select_clause(select), "$top": str(top)}
        headers: dict[str, str] = {}
        if advanced:
            params["$count"] = "true"
            headers["ConsistencyLevel"] = "eventual"
        return self._get_all_pages(self._url("/v1.0/users", params), template="/v1.0/users", headers=headers)

    def list_user_pages(
        self, *, select: Sequence[str], top: int = 999, max_pages: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """``GET /v1.0/users?$select=…&$top=…``, one page at a time, following ``@odata.nextLink``.

        The whole directory in ⌈users / top⌉ requests (``$top`` is 1..999 on ``/users``), never one request per
        person. Pages are yielded as they arrive, so a caller that keeps only what it needs holds one page at a time.
        """
        if not 1 <= top <= 999:
            raise ValueError("top must be between 1 and 999")
        next_url: str | None = self._url("/v1.0/users", {"$select": _select_clause(select), "$top": str(top)})
        pages = 0
        while next_url is not None:
            if pages >= max_pages:
                raise GraphError(0, "PageLimitExceeded", f"more than {max_pages} pages from /v1.0/users")
            pages += 1
            response = self._request("GET", next_url, template="/v1.0/users")
            body = _json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphError(response.status_code, "UnexpectedResponse", "no 'value' list from /v1.0/users")
            yield [entry for entry in body["value"] if isinstance(entry, dict)]
            link = body.get("@odata.nextLink")
            next_url = self._checked_next_link(link, template="/v1.0/users") if link else None

    def get_user(self, id_or_upn: str, *, select: Sequence[str] = _DEFAULT_USER_SELECT) -> dict[str, Any] | None:
        """``GET /v1.0/users/{id|upn}``; ``None`` when the user does not exist (404)."""
        url = self._url(f"{_user_path(id_or_upn)}", {"$select": _select_clause(select)})
        body = self._get_json(url, template="/v1.0/users/{id}")
        return body if isinstance(body, dict) else None

    def get_manager(
        self, user_id: str, *, select: Sequence[str] = ("id", "userPrincipalName", "mail", "displayName")
    ) -> dict[str, Any] | None:
        """``GET /v1.0/users/{id}/manager``; ``None`` when the user has no manager or does not exist."""
        url = self._url(f"{_user_path(user_id)}/manager", {"$select": _select_clause(select)})
        body = self._get_json(url, template="/v1.0/users/{id}/manager")
        return body if isinstance(body, dict) else None

    # -- provisioning ------------------------------------------------------------------------------

    def bulk_upload(self, endpoint_url: str, payload: Mapping[str, Any]) -> BulkUploadAccepted:
        """POST a SCIM BulkRequest to the API-driven provisioning endpoint (Graph synchronizationJob: bulkUpload).

        ``submitted_at`` is taken before the first attempt: a 504 may still have staged the request, so
        the earliest send time is the safe lower bound for the provisioning-log query.
        """
        _check_bulk_upload_url(endpoint_url, graph_base_url=self._base)
        operations = payload.get("Operations")
        if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_BULK_OPERATIONS:
            raise ValueError(f"a bulk request carries 1 to {MAX_BULK_OPERATIONS} operations")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        submitted_at = datetime.fromtimestamp(self._clock(), tz=UTC)
        response = self._request(
            "POST",
            endpoint_url,
            template="/{version}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload",
            headers={"Content-Type": "application/scim+json"},
            content=body,
        )
        return BulkUploadAccepted(
            status=response.status_code,
            location=response.headers.get("Location"),
            submitted_at=submitted_at,
            request_id=response.headers.get("request-id"),
            client_request_id=response.headers.get("client-request-id")
            or response.request.headers.get("client-request-id"),
        )

    def provisioning_logs(
        self,
        *,
        job_id: str,
        source_id: str | None,
        since: datetime,
        top: int = 100,
        statuses: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Provisioning-log entries for a job (and one source record) from ``since`` on, oldest first.

        The query keeps to what the List provisioningObjectSummary page documents: ``jobId`` and
        ``sourceIdentity/id`` (= SCIM externalId) with ``eq``, ``activityDateTime`` with ``gt`` (its
        documented operators are eq, gt and lt), clauses joined with ``and``, no ``$orderby``. ``gt`` one
        second before ``since`` (literals are whole seconds) keeps every entry at or after ``since``.
        Statuses are filtered here: the v1.0 reference documents no ``$filter`` on them.
        """
        if not 1 <= top <= 1000:
            raise ValueError("top must be between 1 and 1000")
        clauses = [filter_eq("jobId", job_id)]
        if source_id is not None:
            clauses.append(filter_eq("sourceIdentity/id", source_id))
        clauses.append(ODataFilter(f"activityDateTime gt {odata_datetime(since - _LOG_QUERY_MARGIN)}"))
        wanted = None if statuses is None else frozenset(statuses)
        expression = " and ".join(clauses)
        url = self._url("/v1.0/auditLogs/provisioning", {"$filter": expression, "$top": str(top)})
        entries = self._get_all_pages(url, template="/v1.0/auditLogs/provisioning")
        if wanted is not None:
            entries = [entry for entry in entries if _log_status(entry) in wanted]
        entries.sort(key=lambda entry: str(entry.get("activityDateTime", "")))
        return entries

    # -- first credential --------------------------------------------------------------------------

    def create_temporary_access_pass(
        self,
        user_id: str,
        *,
        start: datetime,
        lifetime_minutes: int,
        usable_once: bool = False,
    ) -> TemporaryAccessPass:
        """Create a Temporary Access Pass (Graph "Create temporaryAccessPassMethod").

        A new pass replaces any existing one for the user.
        """
        if not 10 <= lifetime_minutes <= 43200:
            raise ValueError("lifetime_minutes must be between 10 and 43200")
        start_utc = _aware(start, what="start")
        body = {
            "startDateTime": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lifetimeInMinutes": lifetime_minutes,
            "isUsableOnce": usable_once,
        }
        response = self._request(
            "POST",
            self._url(f"{_user_path(user_id)}/authentication/temporaryAccessPassMethods"),
            template="/v1.0/users/{id}/authentication/temporaryAccessPassMethods",
            headers={"Content-Type": "application/json"},
            content=json.dumps(body).encode("utf-8"),
        )
        data = _json_body(response)
        value = data.get("temporaryAccessPass") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(value, str) or not value:
            raise GraphError(
                response.status_code,
                "UnexpectedResponse",
                "the Temporary Access Pass response carried no pass",
                response.headers.get("request-id"),
                response.headers.get("client-request-id"),
            )
        return TemporaryAccessPass(
            id=str(data.get("id", "")),
            value=value,
            start=_parse_graph_datetime(data.get("startDateTime")) or start_utc,
            lifetime_minutes=_int_or(data.get("lifetimeInMinutes"), lifetime_minutes),
            usable_once=_bool_or(data.get("isUsableOnce"), usable_once),
            created=_parse_graph_datetime(data.get("createdDateTime")),
        )

    def reset_password(self, user_id: str, *, password: str, force_change: bool = True) -> None:
        """Set a cloud-mastered user's password via ``PATCH passwordProfile`` (Graph user resource, passwordProfile).

        Graph refuses this app-only for AD-synced users; that case raises
        :class:`SyncedUserPasswordError` pointing at the Temporary Access Pass option.
        """
        if not isinstance(password, str) or not password:
            raise ValueError("password must be a non-empty string")
        body = {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": force_change}}
        try:
            self._request(
                "PATCH",
                self._url(f"{_user_path(user_id)}"),
                template="/v1.0/users/{id} passwordProfile",
                headers={"Content-Type": "application/json"},
                content=json.dumps(body).encode("utf-8"),
            )
        except GraphError as error:
            if error.status == 400 and any(marker in error.message.lower() for marker in _SYNCED_USER_MARKERS):
                raise SyncedUserPasswordError(
                    error.status,
                    error.code,
                    "Graph cannot set the password of an AD-synced (on-premises mastered) user with an "
                    "application permission; use CREDENTIAL_METHOD=tap (Temporary Access Pass) instead",
                    error.request_id,
                    error.client_request_id,
                ) from None
            raise

    # -- mail and sessions -------------------------------------------------------------------------

    def send_mail(self, sender: str, message: Mapping[str, Any], *, save_to_sent_items: bool = False) -> None:
        """``POST /v1.0/users/{sender}/sendMail`` (202). Not resent after a read timeout: no duplicates."""
        body = {"message": dict(message), "saveToSentItems": save_to_sent_items}
        self._request(
            "POST",
            self._url(f"{_user_path(sender)}/sendMail"),
            template="/v1.0/users/{sender}/sendMail",
            headers={"Content-Type": "application/json"},
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            resend_after_read_error=False,
        )

    def revoke_sign_in_sessions(self, user_id: str) -> bool:
        """Invalidate the user's refresh tokens and session cookies (termination with REVOKE_SESSIONS)."""
        response = self._request(
            "POST",
            self._url(f"{_user_path(user_id)}/revokeSignInSessions"),
            template="/v1.0/users/{id}/revokeSignInSessions",
        )
        body = _json_body(response) if response.content else None
        return bool(body.get("value", True)) if isinstance(body, dict) else True

    # -- roles and memberships (who must never get a pass from this app) ----------------------------

    def transitive_member_of(self, user_id: str) -> list[dict[str, Any]]:
        """``GET /v1.0/users/{id}/transitiveMemberOf``: the groups, directory roles and administrative units the
        user belongs to directly or through nested groups. With ``User.Read.All`` Graph returns objects of types
        the app cannot read with ``@odata.type`` and ``id`` only, which is all this needs."""
        url = self._url(f"{_user_path(user_id)}/transitiveMemberOf", {"$select": "id", "$top": "999"})
        return self._get_all_pages(url, template="/v1.0/users/{id}/transitiveMemberOf")

    def role_assignments(self, principal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Active Entra role assignments (any scope, including administrative units) of these principals."""
        url = self._url(
            "/v1.0/roleManagement/directory/roleAssignments",
            {"$filter": str(filter_in("principalId", principal_ids))},
        )
        return self._get_all_pages(url, template="/v1.0/roleManagement/directory/roleAssignments")

    def role_eligibilities(self, principal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Privileged Identity Management eligibilities of these principals (roles they can activate).

        A tenant without Entra ID P2 or Governance has no PIM: Graph answers 400 ``AadPremiumLicenseRequired``,
        which means there are no eligibilities, so an empty list is returned.
        """
        template = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
        url = self._url(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            {"$filter": str(filter_in("principalId", principal_ids))},
        )
        try:
            return self._get_all_pages(url, template=template)
        except GraphError as error:
            if error.status == 400 and error.code == "AadPremiumLicenseRequired":
                return []
            raise


# --------------------------------------------------------------------------------------------------
# Response helpers
# --------------------------------------------------------------------------------------------------


def _json_body(response: httpx.Response) -> Any:
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


def _error_from(response: httpx.Response, client_request_id: str) -> GraphError:
    """Map Graph's error envelope ``{"error": {"code", "message", "innerError": {...}}}`` to GraphError."""
    code = f"HTTP{response.status_code}"
    message = response.reason_phrase or "request failed"
    request_id = response.headers.get("request-id")
    echoed_client_id = response.headers.get("client-request-id")
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        inner = error.get("innerError") or error.get("innererror")
        if isinstance(inner, dict):
            request_id = request_id or _optional_str(inner.get("request-id"))
            echoed_client_id = echoed_client_id or _optional_str(inner.get("client-request-id"))
    message = _QUOTED_VALUE.sub("'…'", message)
    return GraphError(response.status_code, code, message, request_id, echoed_client_id or client_request_id)


def _throttled(wait: float, error: GraphError) -> GraphThrottled:
    return GraphThrottled(
        wait,
        status=error.status,
        code=error.code,
        message=error.message,
        request_id=error.request_id,
        client_request_id=error.client_request_id,
    )


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _bool_or(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _log_status(entry: Mapping[str, Any]) -> str | None:
    info = entry.get("provisioningStatusInfo") or entry.get("statusInfo")
    status = info.get("status") if isinstance(info, dict) else None
    return status if isinstance(status, str) else None
