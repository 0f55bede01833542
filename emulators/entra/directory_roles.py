"""Groups, directory roles and role management: who is an administrator, as Graph answers it.

Graph surface (Microsoft Graph v1.0, as documented):
- `GET /users/{id}/memberOf` and `/transitiveMemberOf`: groups, activated directory roles and administrative units
  the user belongs to (transitive: through nested groups). The least-privileged application permission is
  `User.Read.All`; objects of a type the caller cannot read (groups and directory roles need `GroupMember.Read.All`
  / `Group.Read.All` or `RoleManagement.Read.Directory` / `Directory.Read.All`) come back with `@odata.type` and
  `id` only, their other properties null ("limited information for inaccessible member objects").
- `GET /roleManagement/directory/roleAssignments`: active unified role assignments, any scope (`/` for the tenant,
  `/administrativeUnits/{id}` for an administrative unit); `$filter` on `principalId` and `roleDefinitionId` with
  `eq` and `in`. Permission `RoleManagement.Read.Directory` (or broader).
- `GET /roleManagement/directory/roleEligibilityScheduleInstances`: Privileged Identity Management eligibilities,
  same filters. Least privileged `RoleEligibilitySchedule.Read.Directory`. A tenant without Entra ID P2 or
  Governance answers 400 `AadPremiumLicenseRequired` (as reported against the real service).

A role assigned to a role-assignable group counts for its members: tenant-wide active assignments make the
directory role show in the members' `transitiveMemberOf`, as the directory role's membership is transitive.

Control surface (not Microsoft's): `POST /_emulator/groups`, `POST /_emulator/roleAssignments`,
`PUT /_emulator/roleManagement` (`{"pimLicensed": false}` to emulate a tenant without P2).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.entra import url_convertors as _url_convertors
from emulators.entra.core import EmulatorCore
from emulators.entra.graph_auth import authorize
from emulators.entra.memberships import BUILT_IN_ROLES, Memberships
from emulators.entra.odata import Evaluator, FilterError, parse_filter
from emulators.entra.paging import PagingError, decode_skiptoken, next_link
from emulators.entra.responses import graph_error, graph_json

READ_MEMBERSHIPS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
READ_GROUPS = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All")
READ_ROLES = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
READ_ELIGIBILITY = (
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
)

_ROLE_NAMES = {template: name for name, template in BUILT_IN_ROLES.items()}
_NAMESPACE = uuid.UUID("5f3b8f1e-2a6c-4f1e-9a1b-3c4d5e6f7a8b")
MAX_PAGE = 999
DEFAULT_PAGE = 100


def _memberships(request: Request) -> Memberships:
    core: EmulatorCore = request.app.state.core
    memberships: Memberships = core.state.memberships
    return memberships


def _core(request: Request) -> EmulatorCore:
    core: EmulatorCore = request.app.state.core
    return core


def _directory_role(template_id: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": str(uuid.uuid5(_NAMESPACE, template_id)),
        "roleTemplateId": template_id,
        "displayName": _ROLE_NAMES.get(template_id, "Custom role"),
        "description": None,
        "deletedDateTime": None,
    }


def _group_object(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.group",
        "id": group["id"],
        "displayName": group.get("displayName"),
        "isAssignableToRole": bool(group.get("isAssignableToRole")),
        "securityEnabled": True,
        "mailEnabled": False,
        "deletedDateTime": None,
    }


def _limited(item: dict[str, Any], readable: bool, select: list[str] | None) -> dict[str, Any]:
    """What the caller sees: everything when it may read the type, else `@odata.type` and `id` with nulls."""
    shown = dict(item) if readable else dict.fromkeys(item) | {"@odata.type": item["@odata.type"]}
    shown["id"] = item["id"]
    if select is not None:
        shown = {key: shown.get(key) for key in ("@odata.type", *select)}
    return shown


def _page(request: Request, items: list[dict[str, Any]], context: str) -> Response:
    params = request.query_params
    try:
        top = int(params.get("$top", DEFAULT_PAGE))
        if not 1 <= top <= MAX_PAGE:
            raise ValueError
        offset = decode_skiptoken(params["$skiptoken"]) if "$skiptoken" in params else 0
    except PagingError as failure:
        return graph_error(request, 400, "Request_BadRequest", str(failure))
    except ValueError:
        return graph_error(request, 400, "Request_BadRequest", f"Invalid page size specified: '{params.get('$top')}'.")
    origin = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    body: dict[str, Any] = {"@odata.context": f"{origin}/{request.path_params['version']}/$metadata#{context}"}
    if offset + top < len(items):
        body["@odata.nextLink"] = next_link(request, offset + top)
    body["value"] = items[offset : offset + top]
    return graph_json(request, body)


async def member_of(request: Request) -> Response:
    """`/users/{id}/memberOf` and `/users/{id}/transitiveMemberOf`."""
    claims, denied = authorize(request, READ_MEMBERSHIPS + READ_GROUPS)
    if denied is not None:
        return denied
    roles = set(claims.get("roles") or [])
    core = _core(request)
    key = str(request.path_params["key"])
    transitive = request.url.path.endswith("/transitiveMemberOf")
    raw_select = request.query_params.get("$select")
    select = [part.strip() for part in raw_select.split(",")] if raw_select is not None else None
    with core.state.lock:
        user = core.state.entra.by_key(key)
        if user is None:
            return graph_error(
                request,
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        memberships = core.state.memberships
        groups = memberships.transitive_groups(user["id"]) if transitive else memberships.direct_groups(user["id"])
        principals = [user["id"], *(group["id"] for group in groups if transitive or group.get("isAssignableToRole"))]
        role_ids = memberships.active_roles(principals if transitive else [user["id"]])
    read_groups = bool(roles.intersection(READ_GROUPS))
    read_roles = bool(roles.intersection(READ_ROLES))
    items = [_limited(_group_object(group), read_groups, select) for group in groups]
    items += [_limited(_directory_role(role), read_roles, select) for role in role_ids]
    return _page(request, items, "directoryObjects")


def _filtered(request: Request, records: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
    raw = request.query_params.get("$filter")
    if raw is None:
        return records
    try:
        node = parse_filter(raw)
    except FilterError as failure:
        return graph_error(request, 400, "BadRequest", str(failure))
    evaluator = Evaluator()
    return [record for record in records if evaluator.matches(node, record)]


async def role_assignments(request: Request) -> Response:
    _, denied = authorize(request, READ_ROLES)
    if denied is not None:
        return denied
    with _core(request).state.lock:
        records = [dict(item) for item in _memberships(request).assignments]
    found = _filtered(request, records)
    if isinstance(found, Response):
        return found
    return _page(request, found, "roleManagement/directory/roleAssignments")


async def role_eligibilities(request: Request) -> Response:
    _, denied = authorize(request, READ_ELIGIBILITY)
    if denied is not None:
        return denied
    with _core(request).state.lock:
        memberships = _memberships(request)
        licensed = memberships.pim_licensed
        records = [dict(item) for item in memberships.eligibilities]
    if not licensed:
        return graph_error(
            request,
            400,
            "AadPremiumLicenseRequired",
            "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.",
        )
    found = _filtered(request, records)
    if isinstance(found, Response):
        return found
    return _page(request, found, "roleManagement/directory/roleEligibilityScheduleInstances")


# -- control ------------------------------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def seed_group(request: Request) -> Response:
    """`{"id"?, "displayName", "members": [object ids], "isAssignableToRole"?}` → the group."""
    body = await _body(request)
    if body is None or not isinstance(body.get("members", []), list):
        return JSONResponse({"error": "body must be an object with a members list"}, status_code=400)
    group_id = str(body.get("id") or uuid.uuid4())
    group: dict[str, Any] = {
        "id": group_id,
        "displayName": body.get("displayName") or "group",
        "members": [str(member) for member in body.get("members", [])],
        "isAssignableToRole": bool(body.get("isAssignableToRole")),
    }
    core = _core(request)
    with core.state.lock:
        core.state.memberships.groups[group_id] = group
        core.state.mark_dirty()
    return JSONResponse(group, status_code=201)


async def seed_role_assignment(request: Request) -> Response:
    """`{"principalId", "role": name or "roleDefinitionId", "directoryScopeId"?, "eligible"?}` → the record."""
    body = await _body(request)
    if body is None or not body.get("principalId"):
        return JSONResponse({"error": "principalId is required"}, status_code=400)
    template = body.get("roleDefinitionId") or BUILT_IN_ROLES.get(str(body.get("role")))
    if not template:
        return JSONResponse({"error": f"unknown role; known: {sorted(BUILT_IN_ROLES)}"}, status_code=400)
    record = {
        "id": str(uuid.uuid4()),
        "principalId": str(body["principalId"]),
        "roleDefinitionId": template,
        "directoryScopeId": str(body.get("directoryScopeId") or "/"),
    }
    core = _core(request)
    with core.state.lock:
        target = core.state.memberships.eligibilities if body.get("eligible") else core.state.memberships.assignments
        target.append(record)
        core.state.mark_dirty()
    return JSONResponse(record, status_code=201)


async def configure_role_management(request: Request) -> Response:
    body = await _body(request)
    if body is None or not isinstance(body.get("pimLicensed"), bool):
        return JSONResponse({"error": 'send {"pimLicensed": true|false}'}, status_code=400)
    core = _core(request)
    with core.state.lock:
        core.state.memberships.pim_licensed = body["pimLicensed"]
        core.state.mark_dirty()
    return JSONResponse({"pimLicensed": body["pimLicensed"]})


_USER = "/{version:graphversion}/users/{key}"
_ROLES = "/{version:graphversion}/roleManagement/directory"
routes = [
    Route(_USER + "/memberOf", member_of, methods=["GET"]),
    Route(_USER + "/transitiveMemberOf", member_of, methods=["GET"]),
    Route(_ROLES + "/roleAssignments", role_assignments, methods=["GET"]),
    Route(_ROLES + "/roleEligibilityScheduleInstances", role_eligibilities, methods=["GET"]),
    Route("/_emulator/groups", seed_group, methods=["POST"]),
    Route("/_emulator/roleAssignments", seed_role_assignment, methods=["POST"]),
    Route("/_emulator/roleManagement", configure_role_management, methods=["PUT"]),
]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
