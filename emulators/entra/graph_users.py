"""Graph user routes: list/filter, get by id or UPN, manager, PATCH, sendMail and revokeSignInSessions.

Authentication methods (Temporary Access Pass, resetPassword) live in :mod:`graph_authentication`."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.entra import graph_auth as perms
from emulators.entra import url_convertors as _url_convertors
from emulators.entra.core import (
    DEFAULT_USER_SELECT,
    ON_PREMISES_MASTERED,
    USER_PROPERTIES,
)
from emulators.entra.graph_auth import authorize
from emulators.entra.graph_request import context_url, json_body, not_found, path_user, user_key
from emulators.entra.odata import Evaluator, FilterError, parse_filter
from emulators.entra.paging import PagingError, decode_skiptoken, next_link
from emulators.entra.responses import graph_error, graph_json, request_ids
from emulators.entra.routing import core_of
from emulators.entra.timeutil import iso, now
from emulators.entra.user_queries import advanced_reason, candidate_ids, subject_name, unknown_property

MAX_PAGE = 999
DEFAULT_PAGE = 100
_KNOWN_SELECT = {name.lower(): name for name in USER_PROPERTIES}
#: The user's collection properties the emulator serves; the schema declares them non-nullable, so a
#: user without a value shows an empty list, never null.
USER_COLLECTIONS = frozenset({"businessPhones", "proxyAddresses"})


def _parse_select(request: Request) -> tuple[list[str] | None, Response | None]:
    raw = request.query_params.get("$select")
    if raw is None:
        return None, None
    selected: list[str] = []
    for name in (part.strip() for part in raw.split(",") if part.strip()):
        known = _KNOWN_SELECT.get(name.lower())
        if known is None:
            return None, graph_error(
                request,
                400,
                "Request_BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property named '{name}' on type "
                "'microsoft.graph.user'.",
            )
        selected.append(known)
    return selected, None


def project(user: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """The properties Graph returns: the default set, or exactly what ``$select`` named."""
    names = select if select is not None else list(DEFAULT_USER_SELECT)
    return {name: _value(user, name) for name in names}


def _value(user: dict[str, Any], name: str) -> Any:
    value = user.get(name)
    if name in USER_COLLECTIONS and value is None:
        return []
    return value


async def list_users(request: Request) -> Response:
    _, denied = authorize(request, perms.READ_USERS)
    if denied is not None:
        return denied
    core = core_of(request)
    params = request.query_params
    advanced = request.headers.get("consistencylevel", "").lower() == "eventual" and params.get("$count", "") == "true"
    select, error = _parse_select(request)
    if error is not None:
        return error
    node = None
    if params.get("$filter") is not None:
        try:
            node = parse_filter(params["$filter"])
        except FilterError as failure:
            return graph_error(request, 400, "BadRequest", str(failure))
        unknown = unknown_property(node)
        if unknown is not None:
            return graph_error(
                request,
                400,
                "Request_BadRequest",
                f"Property '{unknown}' does not exist as a declared property or extension property.",
            )
        if not advanced and advanced_reason(node) is not None:
            return graph_error(
                request,
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property '{subject_name(node)}' "
                "of resource 'User'.",
            )
    orderby = params.get("$orderby")
    if orderby and node is not None and not advanced:
        return graph_error(request, 400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
    try:
        top = int(params.get("$top", DEFAULT_PAGE))
        if not 1 <= top <= MAX_PAGE:
            raise ValueError
    except ValueError:
        return graph_error(
            request,
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{params.get('$top')}'. Must be between 1 and 999 inclusive.",
        )
    try:
        offset = decode_skiptoken(params["$skiptoken"]) if "$skiptoken" in params else 0
    except PagingError as failure:
        return graph_error(request, 400, "Request_BadRequest", str(failure))
    with core.state.lock:
        directory = core.state.entra
        ids = candidate_ids(node, directory) if node is not None else None
        pool = (
            [user for user in (directory.get(i) for i in directory.ordered(ids)) if user is not None]
            if ids is not None
            else list(directory)
        )
        if node is not None:
            evaluator = Evaluator()
            pool = [user for user in pool if evaluator.matches(node, user)]
        if orderby:
            field, _, direction = orderby.partition(" ")
            pool.sort(key=lambda user: str(user.get(field) or "").lower(), reverse=direction.lower() == "desc")
        page = [project(user, select) for user in pool[offset : offset + top]]
        total = len(pool)
    body: dict[str, Any] = {"@odata.context": context_url(request, "users")}
    if advanced:
        body["@odata.count"] = total
    if offset + top < total:
        body["@odata.nextLink"] = next_link(request, offset + top)
    body["value"] = page
    return graph_json(request, body)


async def get_user(request: Request) -> Response:
    _, denied = authorize(request, perms.READ_USERS)
    if denied is not None:
        return denied
    select, error = _parse_select(request)
    if error is not None:
        return error
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        body = {"@odata.context": context_url(request, "users/$entity"), **project(user, select)}
    return graph_json(request, body)


async def get_manager(request: Request) -> Response:
    _, denied = authorize(request, perms.READ_USERS)
    if denied is not None:
        return denied
    select, error = _parse_select(request)
    if error is not None:
        return error
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        manager = core.state.entra.find_one("employeeId", user.get("manager"))
        if manager is None:
            return not_found(request, "manager")
        body = {
            "@odata.context": context_url(request, "directoryObjects/$entity"),
            "@odata.type": "#microsoft.graph.user",
            **project(manager, select),
        }
    return graph_json(request, body)


async def patch_user(request: Request) -> Response:
    body, error = await json_body(request, "user")
    if error is not None:
        return error
    if not isinstance(body, dict) or not body:
        return graph_error(request, 400, "BadRequest", "Empty Payload. JSON content expected.")
    needed = perms.WRITE_PASSWORD_PROFILE if set(body) == {"passwordProfile"} else perms.WRITE_USERS
    _, denied = authorize(request, needed)
    if denied is not None:
        return denied
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        unknown = [name for name in body if name != "passwordProfile" and name not in USER_PROPERTIES]
        if unknown:
            return graph_error(
                request,
                400,
                "Request_BadRequest",
                f"Property '{unknown[0]}' does not exist as a declared property or extension property.",
            )
        if user.get("_onPremisesMastered") and ON_PREMISES_MASTERED.intersection(body):
            return graph_error(
                request,
                400,
                "Request_BadRequest",
                "Unable to update the specified properties for on-premises mastered Directory Sync objects or "
                "objects currently undergoing migration.",
            )
        changes = {name: value for name, value in body.items() if name != "passwordProfile"}
        if "passwordProfile" in body:
            profile = body["passwordProfile"]
            if not isinstance(profile, dict) or not isinstance(profile.get("password"), str):
                return graph_error(
                    request,
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'passwordProfile'.",
                )
            # The password itself is never stored: only the fact that it changed.
            changes["lastPasswordChangeDateTime"] = iso(now())
            changes["_forceChangePasswordNextSignIn"] = bool(profile.get("forceChangePasswordNextSignIn"))
        core.state.entra.update(user["id"], changes)
        core.state.mark_dirty()
    return Response(status_code=204, headers=request_ids(request))


async def delete_user(request: Request) -> Response:
    """``DELETE /users/{id}``: a cloud-only user goes to deleted items (restorable for 30 days, so a delta query
    reports it ``@removed`` with reason ``changed``); an AD-synced user is deleted in AD, never through Graph."""
    _, denied = authorize(request, perms.WRITE_USERS)
    if denied is not None:
        return denied
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        if user.get("_onPremisesMastered"):
            return graph_error(
                request,
                400,
                "Request_BadRequest",
                "Unable to delete the specified user: it is an on-premises mastered Directory Sync object.",
            )
        core.state.entra.remove(user["id"], reason="changed")
        core.state.mark_dirty()
    return Response(status_code=204, headers=request_ids(request))


def _recipients(message: dict[str, Any], field: str) -> list[str] | None:
    """Addresses of one recipient list, or None when an entry is malformed."""
    found: list[str] = []
    for entry in message.get(field) or []:
        address = entry.get("emailAddress", {}).get("address") if isinstance(entry, dict) else None
        if not isinstance(address, str) or "@" not in address:
            return None
        found.append(address)
    return found


def _message_from_mime(raw: bytes) -> dict[str, Any] | None:
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    parsed = email.message_from_bytes(decoded, policy=email.policy.default)
    body_part = parsed.get_body(preferencelist=("html", "plain"))
    content = body_part.get_content() if body_part is not None else ""

    def listed(header: str) -> list[dict[str, Any]]:
        return [{"emailAddress": {"address": a.strip()}} for a in str(parsed.get(header, "")).split(",") if a.strip()]

    return {
        "subject": str(parsed.get("subject", "")),
        "body": {
            "contentType": "HTML" if body_part is not None and body_part.get_content_subtype() == "html" else "Text",
            "content": content,
        },
        "toRecipients": listed("to"),
        "ccRecipients": listed("cc"),
        "bccRecipients": listed("bcc"),
    }


async def send_mail(request: Request) -> Response:
    _, denied = authorize(request, perms.SEND_MAIL)
    if denied is not None:
        return denied
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    save_to_sent = True
    if content_type == "text/plain":
        message = _message_from_mime(await request.body())
        if message is None:
            return graph_error(
                request, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
            )
    else:
        body, error = await json_body(request, "sendMail")
        if error is not None:
            return error
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            return graph_error(request, 400, "ErrorInvalidRequest", "The 'message' parameter is required.")
        message = body["message"]
        save_to_sent = bool(body.get("saveToSentItems", True))
    to = _recipients(message, "toRecipients")
    cc = _recipients(message, "ccRecipients")
    bcc = _recipients(message, "bccRecipients")
    if to is None or cc is None or bcc is None or not (to or cc or bcc):
        return graph_error(
            request,
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., Recipient is missing.",
        )
    core = core_of(request)
    key = user_key(request)
    with core.state.lock:
        sender = core.state.entra.by_key(key)
        if sender is None:
            return graph_error(request, 404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        core.state.outbox.append(
            {
                "id": str(uuid.uuid4()),
                "from": sender.get("mail") or sender.get("userPrincipalName"),
                "senderId": sender["id"],
                "sentDateTime": iso(now()),
                "subject": message.get("subject"),
                "toRecipients": to,
                "ccRecipients": cc,
                "bccRecipients": bcc,
                "body": message.get("body"),
                "saveToSentItems": save_to_sent,
                "message": message,
            }
        )
        core.state.mark_dirty()
    return Response(status_code=202, headers=request_ids(request))


async def revoke_sessions(request: Request) -> Response:
    _, denied = authorize(request, perms.REVOKE_SESSIONS)
    if denied is not None:
        return denied
    core = core_of(request)
    with core.state.lock:
        user = path_user(request)
        if isinstance(user, Response):
            return user
        core.state.entra.update(user["id"], {"signInSessionsValidFromDateTime": iso(now())})
        core.state.mark_dirty()
    return graph_json(request, {"@odata.context": context_url(request, "Edm.Boolean"), "value": True})


_USER = "/{version:graphversion}/users/{key}"
routes = [
    Route("/{version:graphversion}/users", list_users, methods=["GET"]),
    Route(_USER, get_user, methods=["GET"]),
    Route(_USER, patch_user, methods=["PATCH"]),
    Route(_USER, delete_user, methods=["DELETE"]),
    Route(_USER + "/manager", get_manager, methods=["GET"]),
    Route(_USER + "/sendMail", send_mail, methods=["POST"]),
    Route(_USER + "/revokeSignInSessions", revoke_sessions, methods=["POST"]),
]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
