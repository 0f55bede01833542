"""``$top`` / ``$skiptoken`` paging with absolute ``@odata.nextLink`` built from the request's host."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request


class PagingError(ValueError):
    pass


def encode_skiptoken(offset: int) -> str:
    raw = json.dumps({"o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = int(json.loads(base64.urlsafe_b64decode(padded))["o"])
    except (ValueError, KeyError, TypeError) as error:
        raise PagingError("The skip token is invalid or has expired.") from error
    if offset < 0:
        raise PagingError("The skip token is invalid or has expired.")
    return offset


def encode_cursor(cursor: dict[str, Any]) -> str:
    """An opaque state token carrying ``cursor`` (where the next page starts, what a delta round covers)."""
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        cursor = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError as error:
        raise PagingError("The skip token is invalid or has expired.") from error
    if not isinstance(cursor, dict):
        raise PagingError("The skip token is invalid or has expired.")
    return cursor


def next_link(request: Request, offset: int) -> str:
    """The same query with a new ``$skiptoken``, on the host the client called."""
    return link_with(request, "$skiptoken", encode_skiptoken(offset))


def link_with(request: Request, name: str, token: str, drop: tuple[str, ...] = ()) -> str:
    """The request's URL with the state token ``name`` set to ``token`` (and the parameters in ``drop`` left out)."""
    params = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key not in ("$skiptoken", "$deltatoken", "$skipToken", "$deltaToken", name) and key not in drop
    ]
    params.append((name, token))
    host = request.headers.get("host", request.url.netloc)
    query = urlencode(params, safe="$'(),:/@", quote_via=quote)
    return f"{request.url.scheme}://{host}{request.url.path}?{query}"
