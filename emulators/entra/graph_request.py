"""What every Graph route reads from a request: the emulator core, the user key of the path, the
JSON body (read as Graph reads it, see :mod:`emulators.entra.graph_body`), and the URLs Graph
builds from the host the client called."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulators.entra.graph_body import BodyError, read_body
from emulators.entra.responses import graph_error
from emulators.entra.routing import core_of, origin


def context_url(request: Request, suffix: str) -> str:
    """``@odata.context`` for this request's Graph version."""
    return f"{origin(request)}/{request.path_params['version']}/$metadata#{suffix}"


def user_key(request: Request) -> str:
    """The ``{id | userPrincipalName}`` segment, also in its ``('key')`` form."""
    key = str(request.path_params["key"])
    if key.startswith("('") and key.endswith("')"):
        key = key[2:-2].replace("''", "'")
    return key


def not_found(request: Request, key: str) -> Response:
    return graph_error(
        request,
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def path_user(request: Request) -> dict[str, Any] | Response:
    """The Entra user the path names, or Graph's 404. Call it with the state lock held."""
    key = user_key(request)
    user = core_of(request).state.entra.by_key(key)
    return not_found(request, key) if user is None else user


async def json_body(request: Request, type_key: str | None = None) -> tuple[Any, Response | None]:
    """The decoded body (``None`` when empty), with property names read as the ``type_key`` body type."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None, graph_error(
            request,
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header "
            "is set and payload is of valid JSON format.",
        )
    if type_key is None:
        return body, None
    try:
        return read_body(body, type_key), None
    except BodyError as error:
        return None, graph_error(request, 400, "BadRequest", str(error))
