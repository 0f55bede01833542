"""``GET /users/delta``: change tracking for users, as Microsoft Graph documents it.

Sources: "Use delta query to track changes in Microsoft Graph data" and "user: delta" (Microsoft Learn).

- A round starts with a request without a state token (every current user, in pages) or with
  ``$deltatoken=latest`` (no users, just a ``@odata.deltaLink``: "sync from now"). Pages end with an
  ``@odata.nextLink`` (``$skiptoken``) until the last one, which carries an ``@odata.deltaLink`` (``$deltatoken``);
  following that link later returns what changed since, and another ``@odata.deltaLink``.
- Tokens are opaque and carry the query: ``$select`` and ``$filter`` are given once, in the first request.
  ``$select`` with a ``$skiptoken`` is refused (documented as not supported); with a ``$deltatoken`` it replaces
  the tracked properties.
- With ``$select``, only changes to the selected properties make a user appear ("If a change occurs to a property
  that is not selected, the resource ... does not appear"); ``id`` is always returned. A property never set is
  left out; ``Prefer: return=minimal`` on a tracked round returns only the properties that changed.
- A deleted user appears as ``{"id", "@removed": {"reason": "changed"}}`` (soft-deleted, restorable) or
  ``"deleted"`` (gone for good).
- ``$filter`` is limited to ``id eq '…'`` joined with ``or``, at most 50 ids; ``$top``, ``$orderby`` and
  ``$expand`` are not supported for users: each is ``400 Request_UnsupportedQuery``.
- Directory delta tokens are valid for seven days; an expired token, or one from before the emulator was reset,
  answers ``410 Gone`` with a ``Location`` to start over (the documented "synchronization reset").
- The page size is not documented ("the number of objects in each page can vary"); the emulator's is the
  ``deltaPageSize`` config key (default 100). A user changed while a client pages may come again in the next
  round: clients must expect replays, as the documentation says.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.entra import graph_auth as perms
from emulators.entra import url_convertors as _url_convertors
from emulators.entra.core import DEFAULT_USER_SELECT, USER_PROPERTIES
from emulators.entra.directory import CHANGED
from emulators.entra.graph_auth import authorize
from emulators.entra.graph_request import context_url
from emulators.entra.odata import Compare, FilterError, Literal, Logical, Node, Prop, parse_filter
from emulators.entra.paging import PagingError, decode_cursor, encode_cursor
from emulators.entra.responses import graph_error, graph_json
from emulators.entra.routing import core_of, origin
from emulators.entra.state import EmulatorState

TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600
"""Delta tokens for directory objects are valid for seven days."""
MAX_FILTERED_IDS = 50
_UNSUPPORTED = ("$top", "$orderby", "$expand", "$search", "$count", "$skip")
_KNOWN_SELECT = {name.lower(): name for name in USER_PROPERTIES}
_COLLECTIONS = frozenset({"businessPhones", "proxyAddresses"})


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.location = status, code, message, location


def _param(request: Request, name: str) -> str | None:
    """A query parameter, with the two spellings Graph's own links and docs use ($deltaToken / $deltatoken)."""
    for key, value in request.query_params.multi_items():
        if key.lower() == name.lower():
            return value
    return None


def _select(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    chosen: list[str] = []
    for name in (part.strip() for part in raw.split(",") if part.strip()):
        known = _KNOWN_SELECT.get(name.lower())
        if known is None:
            raise _Refused(
                400,
                "Request_BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property named '{name}' on type "
                "'microsoft.graph.user'.",
            )
        chosen.append(known)
    return chosen


def _id_filter(raw: str | None) -> list[str] | None:
    """``id eq 'a' or id eq 'b'``: the only filter users/delta supports."""
    if raw is None:
        return None
    unsupported = _Refused(400, "Request_UnsupportedQuery", "Unsupported Query.")
    try:
        node: Node = parse_filter(raw)
    except FilterError:
        raise unsupported from None
    clauses = list(node.parts) if isinstance(node, Logical) and node.op == "or" else [node]
    ids: list[str] = []
    for clause in clauses:
        if not (
            isinstance(clause, Compare)
            and clause.op == "eq"
            and isinstance(clause.left, Prop)
            and clause.left.path.lower() == "id"
            and isinstance(clause.right, Literal)
            and isinstance(clause.right.value, str)
        ):
            raise unsupported
        ids.append(clause.right.value)
    if len(ids) > MAX_FILTERED_IDS:
        raise _Refused(400, "Request_UnsupportedQuery", f"Delta queries accept at most {MAX_FILTERED_IDS} ids.")
    return ids


def _restart_location(request: Request, select: list[str] | None) -> str:
    query = "$deltatoken=" + (f"&$select={','.join(select)}" if select else "")
    return f"{origin(request)}{request.url.path}?{query}"


def _round(request: Request, state: EmulatorState) -> dict[str, Any]:
    """The round this request belongs to: ``{"from", "upto", "select", "ids", "after", "latest"}``."""
    params = request.query_params
    for name in _UNSUPPORTED:
        if _param(request, name) is not None:
            raise _Refused(400, "Request_UnsupportedQuery", f"The query parameter '{name}' is not supported.")
    select = _select(params.get("$select"))
    ids = _id_filter(params.get("$filter"))
    skip, delta = _param(request, "$skiptoken"), _param(request, "$deltatoken")
    current = state.entra_changes.sequence
    if skip is not None:
        if select is not None or ids is not None:
            raise _Refused(400, "Request_BadRequest", "$select and $filter are not supported with a $skiptoken.")
        cursor = _cursor(request, state, skip)
        return {**cursor, "latest": False}
    if delta == "latest":
        return {"from": current, "upto": current, "select": select, "ids": ids, "after": 0, "latest": True}
    if delta:
        cursor = _cursor(request, state, delta)
        chosen = select if select is not None else cursor["select"]
        return {
            "from": cursor["from"],
            "upto": current,
            "select": chosen,
            "ids": cursor["ids"],
            "after": 0,
            "latest": False,
        }
    return {"from": None, "upto": current, "select": select, "ids": ids, "after": 0, "latest": False}


def _cursor(request: Request, state: EmulatorState, token: str) -> dict[str, Any]:
    try:
        cursor = decode_cursor(token)
    except PagingError as error:
        raise _Refused(400, "Request_BadRequest", str(error)) from None
    select = cursor.get("select")
    if cursor.get("epoch") != state.epoch or time.time() - float(cursor.get("issued", 0)) > TOKEN_LIFETIME_SECONDS:
        raise _Refused(
            410,
            "syncStateNotFound",
            "The delta token has expired or the directory was reset; start a new round of change tracking.",
            location=_restart_location(request, select if isinstance(select, list) else None),
        )
    return {
        "from": cursor.get("from"),
        "upto": int(cursor.get("upto", state.entra_changes.sequence)),
        "select": select,
        "ids": cursor.get("ids"),
        "after": int(cursor.get("after", 0)),
    }


def _view(user: dict[str, Any], names: list[str], since: int | None, minimal: bool) -> dict[str, Any]:
    stamps = user.get(CHANGED) or {}
    view: dict[str, Any] = {}
    for name in names:
        if minimal and since is not None and stamps.get(name, 0) <= since:
            continue
        if name in user:
            value = user[name]
            view[name] = [] if value is None and name in _COLLECTIONS else value
        elif name in _COLLECTIONS and not minimal:
            view[name] = []
    view["id"] = user["id"]
    return view


def _changed_after(user: dict[str, Any], names: list[str], since: int) -> bool:
    stamps = user.get(CHANGED) or {}
    return int(stamps.get("id", 0)) > since or any(int(stamps.get(name, 0)) > since for name in names)


async def users_delta(request: Request) -> Response:
    _, denied = authorize(request, perms.READ_USERS)
    if denied is not None:
        return denied
    core = core_of(request)
    minimal = "return=minimal" in request.headers.get("prefer", "").replace(" ", "").lower()
    page_size = int(core.state.config.get("deltaPageSize") or 100)
    with core.state.lock:
        state = core.state
        try:
            query = _round(request, state)
        except _Refused as refused:
            headers = {"Location": refused.location} if refused.location else None
            return graph_error(request, refused.status, refused.code, refused.message, headers=headers)
        select: list[str] | None = query["select"]
        names = [name for name in (select or list(DEFAULT_USER_SELECT)) if name != "id"]
        wanted_ids = set(query["ids"]) if query["ids"] is not None else None
        since: int | None = query["from"]
        values: list[dict[str, Any]] = []
        after = query["after"]
        more = False
        if not query["latest"]:
            if since is None:
                # The first round: every current user, by creation order; ``after`` is the last creation number.
                pool = sorted(
                    (int(user.get("_seq", 0)), user)
                    for user in state.entra
                    if wanted_ids is None or user["id"] in wanted_ids
                )
                for position, user in pool:
                    if position <= after:
                        continue
                    if len(values) == page_size:
                        more = True
                        break
                    values.append(_view(user, names, None, minimal=False))
                    after = position
            else:
                # A tracked round: users written after ``since``, in the order of that write; ``after`` counts them.
                changed = state.entra_changes.since(since)
                index = after
                while index < len(changed):
                    if len(values) == page_size:
                        more = True
                        break
                    user_id = changed[index]
                    index += 1
                    if wanted_ids is not None and user_id not in wanted_ids:
                        continue
                    current = state.entra.get(user_id)
                    if current is not None:
                        if _changed_after(current, names, since):
                            values.append(_view(current, names, since, minimal))
                    elif user_id in state.entra_removed:
                        reason = str(state.entra_removed[user_id].get("reason") or "deleted")
                        values.append({"id": user_id, "@removed": {"reason": reason}})
                after = index
        cursor = {"epoch": state.epoch, "issued": time.time(), "select": select, "ids": query["ids"]}
    body: dict[str, Any] = {"@odata.context": context_url(request, "users")}
    base = f"{origin(request)}{request.url.path}"
    if more:
        token = encode_cursor({**cursor, "from": since, "upto": query["upto"], "after": after})
        body["@odata.nextLink"] = f"{base}?$skiptoken={token}"
    else:
        token = encode_cursor({**cursor, "from": query["upto"]})
        body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
    body["value"] = values
    return graph_json(request, body)


_DELTA = "/{version:graphversion}/users/{name:deltafunction}"
routes = [Route(_DELTA, users_delta, methods=["GET"])]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
