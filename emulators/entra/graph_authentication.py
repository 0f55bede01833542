"""Graph authentication-method routes: the Temporary Access Pass (create, list, get) and the
delegated-only resetPassword.

A user has at most one pass; a new one replaces it. The pass value is returned only by the create
call: list and get return ``temporaryAccessPass: null``, as the Get temporaryAccessPassAuthenticationMethod
page documents.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.entra import graph_auth as perms
from emulators.entra import url_convertors as _url_convertors
from emulators.entra.graph_auth import authorize
from emulators.entra.graph_request import context_url, json_body, not_found, path_user
from emulators.entra.responses import graph_error, graph_json
from emulators.entra.routing import core_of
from emulators.entra.timeutil import iso, now, parse_iso

TAP_MIN_MINUTES = 10
TAP_MAX_MINUTES = 43_200
TAP_DEFAULT_MINUTES = 60
_TAP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+-!@#%&*"
_TAP_TYPE = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"


def _tap_view(tap: dict[str, Any], reveal: bool) -> dict[str, Any]:
    start = parse_iso(tap["startDateTime"]).timestamp()
    expires = start + tap["lifetimeInMinutes"] * 60
    at = now()
    reason = "NotYetValid" if at < start else "Expired" if at >= expires else "EnabledByPolicy"
    return {
        "@odata.type": _TAP_TYPE,
        "id": tap["id"],
        "temporaryAccessPass": tap["temporaryAccessPass"] if reveal else None,
        "createdDateTime": tap["createdDateTime"],
        "startDateTime": tap["startDateTime"],
        "lifetimeInMinutes": tap["lifetimeInMinutes"],
        "isUsableOnce": tap["isUsableOnce"],
        "isUsable": reason == "EnabledByPolicy",
        "methodUsabilityReason": reason,
    }


def _collection_context(request: Request, user_id: str) -> str:
    return context_url(request, f"users('{user_id}')/authentication/temporaryAccessPassMethods")


async def create_tap(request: Request) -> Response:
    _, denied = authorize(request, perms.CREATE_TAP)
    if denied is not None:
        return denied
    body, error = await json_body(request, "temporaryAccessPassAuthenticationMethod")
    if error is not None:
        return error
    body = body or {}
    if not isinstance(body, dict):
        return graph_error(request, 400, "BadRequest", "Empty Payload. JSON content expected.")
    lifetime = body.get("lifetimeInMinutes", TAP_DEFAULT_MINUTES)
    if (
        not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or not TAP_MIN_MINUTES <= lifetime <= TAP_MAX_MINUTES
    ):
        return graph_error(
            request,
            400,
            "badRequest",
            f"lifetimeInMinutes must be between {TAP_MIN_MINUTES} and {TAP_MAX_MINUTES}.",
        )
    created = now()
    start_text = body.get("startDateTime")
    try:
        start = parse_iso(start_text).timestamp() if start_text else created
    except (ValueError, AttributeError, TypeError):
        return graph_error(request, 400, "badRequest", "startDateTime is not a valid DateTimeOffset.")
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        tap = {
            "id": str(uuid.uuid4()),
            "userId": user["id"],
            "userPrincipalName": user.get("userPrincipalName"),
            "temporaryAccessPass": "".join(secrets.choice(_TAP_ALPHABET) for _ in range(8)),
            "createdDateTime": iso(created),
            "startDateTime": iso(start),
            "lifetimeInMinutes": lifetime,
            "isUsableOnce": bool(body.get("isUsableOnce", False)),
        }
        # One pass per user: a new one replaces the old one.
        core.state.taps[user["id"]] = tap
        core.state.mark_dirty()
    view = {"@odata.context": _collection_context(request, user["id"]) + "/$entity", **_tap_view(tap, reveal=True)}
    return graph_json(request, view, status=201)


async def _users_pass(request: Request) -> tuple[str, dict[str, Any] | None] | Response:
    """The path's user id and their pass (None without one), or the 401/403/404 to answer."""
    _, denied = authorize(request, perms.READ_TAP)
    if denied is not None:
        return denied
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        tap = core.state.taps.get(user["id"])
        return user["id"], dict(tap) if tap else None


async def list_taps(request: Request) -> Response:
    found = await _users_pass(request)
    if isinstance(found, Response):
        return found
    user_id, tap = found
    values = [_tap_view(tap, reveal=False)] if tap else []
    return graph_json(request, {"@odata.context": _collection_context(request, user_id), "value": values})


async def get_tap(request: Request) -> Response:
    """GET .../temporaryAccessPassMethods/{id}: the user's pass, without its value."""
    found = await _users_pass(request)
    if isinstance(found, Response):
        return found
    user_id, tap = found
    method_id = str(request.path_params["method"])
    if tap is None or tap["id"].lower() != method_id.lower():
        return not_found(request, method_id)
    view = {"@odata.context": _collection_context(request, user_id) + "/$entity", **_tap_view(tap, reveal=False)}
    return graph_json(request, view)


async def reset_password(request: Request) -> Response:
    """Application permissions are not supported by resetPassword: always 403 for app-only tokens."""
    _, denied = authorize(request, perms.WRITE_USERS + perms.CREATE_TAP + perms.WRITE_PASSWORD_PROFILE)
    if denied is not None and denied.status_code == 401:
        return denied
    return graph_error(
        request,
        403,
        "accessDenied",
        "Request Authorization failed: application permissions are not supported for resetPassword.",
    )


_METHODS = "/{version:graphversion}/users/{key}/authentication"
routes = [
    Route(_METHODS + "/temporaryAccessPassMethods", create_tap, methods=["POST"]),
    Route(_METHODS + "/temporaryAccessPassMethods", list_taps, methods=["GET"]),
    Route(_METHODS + "/temporaryAccessPassMethods/{method}", get_tap, methods=["GET"]),
    Route(_METHODS + "/methods/{method}/resetPassword", reset_password, methods=["POST"]),
]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
