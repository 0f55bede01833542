"""Submitting HR events: `POST /api/hr-events` (one) and `POST /api/hr-events/batch` (up to 1,000).

`start_event` and `start_batch` are the one way HR input becomes runs, for these routes, the mapped webhook, the
HR system connectors and reconciliation alike, so idempotency by eventId is the same everywhere."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning.events import (
    BatchTooLargeError,
    EventValidationError,
    FieldError,
    HrEvent,
    event_fingerprint,
    parse_batch,
    parse_event,
    sanitize_instance_id,
)
from provisioning.intake.hr_api import runs
from provisioning.intake.hr_api.messages import (
    accepted_response,
    current_settings,
    invalid_event,
    json_response,
    parse_json,
    signed_json_body,
    status_url,
)
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.settings import Settings
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import register_pending_hire
from provisioning.workflows.plan import workflow_options

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")


@bp.route(route="hr-events", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def submit_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept one HR event; a repeated eventId returns the existing run instead of starting another."""
    try:
        settings = current_settings()
        body = await signed_json_body(req, settings, client)
        event = parse_event(parse_json(body))
        instance_id, stage, started = await start_event(client, event, settings, refuse_conflicts=True)
        return accepted_response(req, instance_id, event.event_id, stage, status_code=202 if started else 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return invalid_event(invalid).response()


@bp.route(route="hr-events/batch", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def submit_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept up to 1,000 events; invalid ones are rejected one by one, repeats are reported as duplicates, and an
    eventId reused for a different event is rejected (it would be lost as a silent duplicate)."""
    try:
        settings = current_settings()
        body = await signed_json_body(req, settings, client)
        parsed = parse_batch(parse_json(body))
        rejected = [item.as_dict() for item in parsed.rejected]
        if not parsed.accepted:
            errors = [error for item in parsed.rejected for error in item.errors]
            raise Problem(400, "No valid event in the batch", "Every event in the batch was rejected.", errors)
        started = await start_batch(client, parsed.accepted, workflow_options(settings).to_dict())
        rejected = sorted([*rejected, *started["rejected"]], key=lambda item: item["index"])
        batch_id, jobs, duplicates = started["id"], started["accepted"], started["duplicates"]
        location = status_url(req, batch_id) if batch_id else None
        payload = {
            "id": batch_id,
            "accepted": jobs,
            "duplicates": duplicates,
            "rejected": rejected,
            "statusUrl": location,
        }
        headers = {"Location": location} if location else None
        return json_response(payload, 202 if jobs else 200, headers=headers)
    except Problem as problem:
        return problem.response()
    except BatchTooLargeError as too_large:
        return Problem(413, "Batch too large", "At most 1000 events per batch.", too_large.errors).response()
    except EventValidationError as invalid:
        return invalid_event(invalid).response()


async def start_event(
    client: df.DurableOrchestrationClient,
    event: HrEvent,
    settings: Settings,
    *,
    refuse_conflicts: bool = False,
    link: dict[str, str] | None = None,
) -> tuple[str, str, bool]:
    """Start `event`'s orchestration unless its eventId already has a run that has not failed.

    Returns the instance id, its stage ("accepted" when started now) and whether this call started it. Every route
    that turns HR input into events starts them here, so idempotency by eventId is the same for all of them. The
    run keeps a canonical hash of the event; with `refuse_conflicts` an eventId already used for a different event
    is answered 409 instead of being reported as the earlier run. `link` names the existing account a confirmed
    go-live correlation case gives the employee (`{"accountId", "caseId"}`; provisioning.workflows.correlation).
    """
    instance_id = sanitize_instance_id(event.event_id)
    fingerprint = event_fingerprint(event)
    existing = await client.get_status(instance_id, show_input=True)
    if runs.blocks_resubmission(existing):
        return runs.existing_run(instance_id, event.event_id, existing, fingerprint, refuse_conflicts)
    event_input: dict[str, Any] = {
        "event": event.to_json(),
        "options": workflow_options(settings).to_dict(),
        "fingerprint": fingerprint,
    }
    if link:
        event_input["link"] = dict(link)
    try:
        await client.start_new(c.HR_EVENT, instance_id, event_input)
    except Exception:  # a concurrent request for the same eventId won the race: report that run
        existing = await client.get_status(instance_id, show_input=True)
        if not existing:
            raise
        return runs.existing_run(instance_id, event.event_id, existing, fingerprint, refuse_conflicts)
    await register_pending_hire(client, instance_id, event_input["event"])
    log_event(
        logger,
        "accepted",
        instance_id=instance_id,
        event_id=event.event_id,
        employee_id=event.employee.employee_id,
        event_type=event.type,
    )
    return instance_id, "accepted", True


async def start_batch(
    client: df.DurableOrchestrationClient, events: Sequence[tuple[int, HrEvent]], options: dict[str, Any]
) -> dict[str, Any]:
    """Start up to 1,000 valid events as one batch (packed into bulk requests of 50), like POST /hr-events/batch.

    Returns `{"id", "accepted", "duplicates", "rejected"}`: the batch id (None when nothing is new), how many
    events start, the eventIds that already ran with the same body, and (by index) those reused for a different
    event. The batch id follows from the event ids, so a repeated batch starts nothing twice. Reconciliation
    applies its plans through here.
    """
    candidates = [(index, event, sanitize_instance_id(event.event_id)) for index, event in events]
    statuses = await asyncio.gather(
        *(client.get_status(instance_id, show_input=True) for _, _, instance_id in candidates)
    )
    duplicates: list[str] = []
    rejected: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    for (index, event, instance_id), status in zip(candidates, statuses, strict=True):
        fingerprint = event_fingerprint(event)
        if not runs.blocks_resubmission(status):
            jobs.append({"instanceId": instance_id, "event": event.to_json(), "fingerprint": fingerprint})
        elif runs.same_event(status, fingerprint):
            duplicates.append(event.event_id)
        else:
            error = FieldError(f"events[{index}].eventId", runs.CONFLICT_MESSAGE)
            rejected.append({"index": index, "eventId": event.event_id, "errors": [error.as_dict()]})
    batch_id: str | None = None
    if jobs:
        batch_id = _batch_id(job["event"]["eventId"] for job in jobs)
        existing = await client.get_status(batch_id)
        if not existing or existing.runtime_status is df.OrchestrationRuntimeStatus.Failed:
            await client.start_new(c.HR_BATCH, batch_id, {"batchId": batch_id, "options": options, "jobs": jobs})
        log_event(logger, "batch-accepted", instance_id=batch_id, count=len(jobs))
    return {"id": batch_id, "accepted": len(jobs), "duplicates": duplicates, "rejected": rejected}


def _batch_id(event_ids: Any) -> str:
    """Same set of events, same batch id: a resubmitted batch cannot start twice."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode("utf-8")).hexdigest()[:32]
    return f"{c.BATCH_INSTANCE_PREFIX}{digest}"
