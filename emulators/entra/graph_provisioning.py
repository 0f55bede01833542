"""Graph routes for API-driven provisioning: bulkUpload, provisioning logs, synchronization jobs."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.entra import graph_auth as perms
from emulators.entra import url_convertors as _url_convertors
from emulators.entra.bulk_validation import bulk_request_problem, content_type_ok
from emulators.entra.core import EmulatorCore, public_user
from emulators.entra.graph_auth import authorize
from emulators.entra.log_queries import unsupported_clause
from emulators.entra.odata import Evaluator, FilterError, parse_filter
from emulators.entra.paging import PagingError, decode_cursor, encode_cursor, link_with
from emulators.entra.responses import graph_error, graph_json, request_ids
from emulators.entra.routing import core_of, origin
from emulators.entra.throttling import check_and_count
from emulators.entra.timeutil import iso, now

LOG_PAGE_DEFAULT = 50
LOG_PAGE_MAX = 1000


def _pinned_mismatch(core: EmulatorCore, service_principal_id: str, job_id: str) -> str | None:
    config = core.state.config
    if config.get("servicePrincipalId") and config["servicePrincipalId"] != service_principal_id:
        return service_principal_id
    if config.get("jobId") and config["jobId"] != job_id:
        return job_id
    return None


def _ensure_job(core: EmulatorCore, service_principal_id: str, job_id: str) -> dict[str, Any]:
    job = core.state.jobs.get(job_id)
    if job is None:
        job = {
            "id": job_id,
            "servicePrincipalId": service_principal_id,
            "templateId": job_id.split(".", maxsplit=1)[0],
            "schedule": {"interval": "PT40M", "state": "Active"},
            "status": {"code": "Active", "lastExecution": None},
        }
        core.state.jobs[job_id] = job
    return job


async def bulk_upload(request: Request) -> Response:
    _, denied = authorize(request, perms.BULK_UPLOAD)
    if denied is not None:
        return denied
    core = core_of(request)
    service_principal_id = request.path_params["sp"]
    job_id = request.path_params["job"]
    with core.state.lock:
        unknown = _pinned_mismatch(core, service_principal_id, job_id)
        if unknown is not None:
            return graph_error(request, 404, "Request_ResourceNotFound", f"Resource '{unknown}' does not exist.")
        outage = core.faults.bulk_upload_fault()
        retry_after = core.state.config["faults"].get("retryAfterSeconds")
        wait = None if outage else check_and_count(core.state, now())
        limits = core.state.config["rateLimit"]
    if outage:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return graph_error(
            request, 503, "ServiceUnavailable", "The service is temporarily unavailable.", headers=headers
        )
    if wait is not None:
        headers = {} if limits.get("omitRetryAfter") else {"Retry-After": str(wait.seconds)}
        return graph_error(request, 429, "TooManyRequests", wait.message, headers=headers)
    if not content_type_ok(request.headers.get("content-type")):
        return graph_error(
            request, 400, "BadRequest", "Invalid Data Format: the Content-Type must be application/scim+json."
        )
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        return graph_error(request, 400, "BadRequest", "Invalid Data Format: the body is not valid JSON.")
    problem = bulk_request_problem(body)
    if problem is not None:
        return graph_error(request, 400, "BadRequest", f"Invalid Data Format: {problem}")
    received = now()
    with core.state.lock:
        _ensure_job(core, service_principal_id, job_id)
        core.state.bulk_requests.append(
            {
                "id": str(uuid.uuid4()),
                "servicePrincipalId": service_principal_id,
                "jobId": job_id,
                "receivedDateTime": iso(received),
                "status": "staged",
                "operationCount": len(body["Operations"]),
                "body": body,
                "_receivedAt": received,
            }
        )
        core.state.mark_dirty()
    location = (
        f"{origin(request)}/{request.path_params['version']}/auditLogs/provisioning/"
        f"?$filter=jobid%20eq%20'{quote(job_id, safe='')}'"
    )
    return Response(status_code=202, headers={"Location": location, **request_ids(request)})


def _log_view(entry: dict[str, Any], version: str) -> dict[str, Any]:
    view = public_user(entry)
    if version == "beta":
        view["action"] = entry["provisioningAction"].capitalize()
        view["statusInfo"] = {
            "@odata.type": "#microsoft.graph.statusBase",
            "status": entry["provisioningStatusInfo"]["status"],
        }
    return view


async def list_provisioning_logs(request: Request) -> Response:
    """``GET /auditLogs/provisioning``: documented filters only, ``$top`` pages with a ``$skiptoken`` cursor.

    The cursor is the last entry a page returned (its activity time and place in the log), not an offset, so an
    entry that becomes visible while a client pages (logs appear minutes after the activity) cannot shift the
    pages under it and make the client see one entry twice or skip another.
    """
    _, denied = authorize(request, perms.READ_PROVISIONING_LOGS)
    if denied is not None:
        return denied
    params = request.query_params
    version = request.path_params["version"]
    if "$skiptoken" in params and "$top" not in params:
        return graph_error(request, 400, "BadRequest", "$skiptoken requires $top.")
    try:
        top = int(params.get("$top", LOG_PAGE_DEFAULT))
        if not 1 <= top <= LOG_PAGE_MAX:
            raise ValueError
        after = _log_cursor(params["$skiptoken"]) if "$skiptoken" in params else None
    except (ValueError, PagingError):
        return graph_error(request, 400, "BadRequest", "Invalid $top or $skiptoken value.")
    node = None
    if params.get("$filter"):
        try:
            node = parse_filter(params["$filter"])
        except FilterError as failure:
            return graph_error(request, 400, "BadRequest", str(failure))
        reason = unsupported_clause(node, version)
        if reason is not None:
            return graph_error(request, 400, "BadRequest", f"Invalid filter clause: {reason}.")
    orderby = (params.get("$orderby") or "").strip()
    descending = False
    if orderby:
        field, _, direction = orderby.partition(" ")
        if field.lower() != "activitydatetime" or direction.strip().lower() not in ("", "asc", "desc"):
            return graph_error(request, 400, "BadRequest", f"Ordering by '{orderby}' is not supported.")
        descending = direction.strip().lower() == "desc"
    core = core_of(request)
    at = now()
    evaluator = Evaluator(case_insensitive=frozenset())  # "The filters are all case sensitive."
    with core.state.lock:
        logs = core.state.logs
        core.state.log_index.refresh(logs)
        keyed = [
            ((logs[position]["activityDateTime"], position), logs[position])
            for position in core.state.log_index.candidates(node)
            if logs[position]["_visibleAt"] <= at
        ]
    keyed.sort(key=lambda pair: pair[0], reverse=descending)
    if after is not None:
        keyed = [pair for pair in keyed if (pair[0] < after if descending else pair[0] > after)]
    page: list[dict[str, Any]] = []
    last: tuple[str, int] | None = None
    more = False
    for key, entry in keyed:
        view = _log_view(entry, version)
        if node is not None and not evaluator.matches(node, view):
            continue
        if len(page) == top:
            more = True
            break
        page.append(view)
        last = key
    body: dict[str, Any] = {
        "@odata.context": f"{origin(request)}/{version}/$metadata#auditLogs/provisioning",
        "value": page,
    }
    if more and last is not None:
        body["@odata.nextLink"] = link_with(request, "$skiptoken", encode_cursor({"after": list(last)}))
    return graph_json(request, body)


def _log_cursor(token: str) -> tuple[str, int]:
    after = decode_cursor(token).get("after")
    if not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], str) and isinstance(after[1], int)):
        raise PagingError("The skip token is invalid or has expired.")
    return after[0], after[1]


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if key != "servicePrincipalId"}


async def get_job(request: Request) -> Response:
    _, denied = authorize(request, perms.READ_SYNC_JOBS)
    if denied is not None:
        return denied
    core = core_of(request)
    with core.state.lock:
        job = core.state.jobs.get(request.path_params["job"])
        if job is None or job["servicePrincipalId"] != request.path_params["sp"]:
            return graph_error(
                request,
                404,
                "Request_ResourceNotFound",
                f"Resource '{request.path_params['job']}' does not exist.",
            )
        return graph_json(request, _job_view(job))


async def control_job(request: Request) -> Response:
    """start / pause / restart. Restart purges staged payloads the agent has not processed yet."""
    _, denied = authorize(request, perms.WRITE_SYNC_JOBS)
    if denied is not None:
        return denied
    core = core_of(request)
    service_principal_id = request.path_params["sp"]
    job_id = request.path_params["job"]
    command = request.path_params["command"]
    with core.state.lock:
        job = _ensure_job(core, service_principal_id, job_id)
        if command == "pause":
            job["status"]["code"] = "Paused"
        else:
            job["status"]["code"] = "Active"
        if command == "restart":
            for staged in core.state.bulk_requests:
                if staged["jobId"] == job_id and staged["status"] == "staged":
                    staged["status"] = "purged"
        core.state.mark_dirty()
    return Response(status_code=204, headers=request_ids(request))


_JOB = "/{version:graphversion}/servicePrincipals/{sp}/synchronization/jobs/{job}"
routes = [
    Route(_JOB + "/bulkUpload", bulk_upload, methods=["POST"]),
    Route(_JOB, get_job, methods=["GET"]),
    Route(_JOB + "/{command:jobcommand}", control_job, methods=["POST"]),
    Route("/{version:graphversion}/auditLogs/provisioning", list_provisioning_logs, methods=["GET"]),
    Route("/{version:graphversion}/auditLogs/provisioning/", list_provisioning_logs, methods=["GET"]),
]

# The routes above use these path convertors.
assert _url_convertors.REGISTERED
