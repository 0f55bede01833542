"""`GET /api/hr-events` (the listing) and `GET /api/hr-events/{id}` (one event or batch): sanitised statuses,
never the Durable management URLs, never a secret."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning.events import (
    instance_event_id,
)
from provisioning.intake import event_listing
from provisioning.intake.hr_api import runs
from provisioning.intake.hr_api.messages import (
    authenticated,
    json_response,
)
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.workflows import contracts as c

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")


@bp.route(route="hr-events", methods=["GET"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def list_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Recent events, newest first, filtered by stage, type, employee and creation time, paged by a cursor.

    Signed like every route (the query string is part of the signed string): a listing names employees and
    events, so the function key alone must not read it.
    """
    try:
        await authenticated(req, client)
        query = event_listing.parse_query(dict(req.params))
    except Problem as problem:
        return problem.response()
    except event_listing.ListQueryError as invalid:
        return Problem(400, "Invalid query", "One or more query parameters are invalid.", invalid.errors).response()

    async def run_query(low: datetime | None, high: datetime | None, statuses: Any) -> list[Any]:
        return list(await client.get_status_by(low, high, statuses, c.EVENT_INSTANCE_PREFIX) or [])

    def matches(status: runs.RunStatus) -> bool:
        summary = _event_status(status)
        return (
            (query.stages is None or summary["stage"] in query.stages)
            and (query.types is None or summary["type"] in query.types)
            and (query.employee_id is None or summary["employeeId"] == query.employee_id)
        )

    page, cursor = await event_listing.collect(query, run_query, matches)
    events = [_summary(status) for status in page]
    return json_response({"events": events, "nextCursor": cursor}, 200)


@bp.route(route="hr-events/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def event_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Sanitised status of one event (or batch): never the Durable management URLs, never a secret."""
    try:
        await authenticated(req, client)
        instance_id, status = await runs.find(client, req.route_params.get("id", ""))
        if instance_id.startswith(c.BATCH_INSTANCE_PREFIX):
            return json_response(await _batch_status(client, status), 200)
        return json_response(_event_status(status), 200)
    except Problem as problem:
        return problem.response()


def _event_status(status: runs.RunStatus) -> dict[str, Any]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    event = payload.get("event") or {}
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    body: dict[str, Any] = {
        "id": status.instance_id,
        "eventId": event.get("eventId") or instance_event_id(str(status.instance_id)),
        "type": custom.get("eventType") or event.get("type"),
        "employeeId": custom.get("employeeId") or (event.get("employee") or {}).get("employeeId"),
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "stage": runs.stage(status),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }
    if custom.get("userPrincipalName"):
        body["userPrincipalName"] = custom["userPrincipalName"]
    if isinstance(custom.get("timeZone"), dict):
        body["timeZone"] = custom["timeZone"]
    if custom.get("detail"):
        body["detail"] = custom["detail"]
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        body["error"] = c.parse_failure(str(status.output or ""))
    elif status.runtime_status is df.OrchestrationRuntimeStatus.Completed and isinstance(status.output, dict):
        body["output"] = status.output
    return body


def _summary(status: runs.RunStatus) -> dict[str, Any]:
    """One event in the list: its status without the output, with the outcome instead."""
    body = _event_status(status)
    output = body.pop("output", None)
    if isinstance(output, dict) and output.get("outcome"):
        body["outcome"] = output["outcome"]
    return body


async def _batch_status(client: df.DurableOrchestrationClient, status: runs.RunStatus) -> dict[str, Any]:
    """Counts over the batch's events. The batch is done only when every event has a final stage; until then its
    runtimeStatus is Running whatever the batch orchestration itself did (it only starts the events)."""
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    jobs = payload.get("jobs") or []
    children = await runs.batch_children(client, status)
    stages = Counter(runs.stage(child) if child else "accepted" for child in children)
    outcomes: Counter[str] = Counter()
    for child in children:
        stage = runs.stage(child) if child else "accepted"
        if stage == "failed":
            outcomes["failed"] += 1
        elif stage in c.FINAL_STAGES and isinstance(child.output, dict) and child.output.get("outcome"):
            outcomes[str(child.output["outcome"])] += 1
        elif stage in c.FINAL_STAGES:
            outcomes[stage] += 1
    finished = sum(count for stage, count in stages.items() if stage in c.FINAL_STAGES)
    done = bool(jobs) and finished == len(jobs)
    starter = status.runtime_status
    if starter is df.OrchestrationRuntimeStatus.Failed:
        runtime_status = starter.value
    else:
        runtime_status = "Completed" if done else "Running"
    return {
        "id": status.instance_id,
        "kind": "batch",
        "runtimeStatus": runtime_status,
        "done": done,
        "events": len(jobs),
        "finished": finished,
        "stages": dict(stages),
        "outcomes": dict(outcomes),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)
