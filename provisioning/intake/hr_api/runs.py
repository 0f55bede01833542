"""What an event's or batch's run is at, read from its Durable status: the stage HR sees, whether it still waits
(rescindable) or is held (approvable), and whether an eventId seen again is the same event or a conflict."""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df

from provisioning.events import (
    EventValidationError,
    FieldError,
    event_fingerprint,
    parse_event,
    sanitize_instance_id,
)
from provisioning.intake.problems import Problem
from provisioning.workflows import contracts as c

RunStatus = Any  # DurableOrchestrationStatus (untyped SDK)


async def find(client: df.DurableOrchestrationClient, raw_id: str) -> tuple[str, RunStatus]:
    """Look an instance up by its id, or by the eventId it was created from."""
    if not raw_id or len(raw_id) > 300:
        raise Problem(404, "Not found", "No HR event or batch has this id.")
    candidates = [raw_id]
    if not raw_id.startswith((c.EVENT_INSTANCE_PREFIX, c.BATCH_INSTANCE_PREFIX)):
        candidates.append(sanitize_instance_id(raw_id))
    for instance_id in candidates:
        if not instance_id.startswith((c.EVENT_INSTANCE_PREFIX, c.BATCH_INSTANCE_PREFIX)):
            continue
        status = await client.get_status(instance_id, show_input=True)
        if status:
            return instance_id, status
    raise Problem(404, "Not found", "No HR event or batch has this id.")


def stage(status: RunStatus) -> str:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    stage = str(custom.get("stage") or "accepted")
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        return "failed"
    if status.runtime_status is df.OrchestrationRuntimeStatus.Terminated:
        return "cancelled"
    if stage in c.FINAL_STAGES and is_running(status):
        # A run records its final stage and its output in one step; a running instance showing a final stage is
        # still recording (or predates that rule), so its output is not there yet: it is still finishing up.
        return "notifying"
    return stage


def is_running(status: RunStatus) -> bool:
    return status.runtime_status in (
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
    )


def is_waiting(status: RunStatus) -> bool:
    return is_running(status) and stage(status) in ("scheduled", "held")


def is_held(status: RunStatus) -> bool:
    return is_running(status) and stage(status) == "held"


def hold(status: RunStatus) -> int | None:
    """Which of the run's holds is waiting (custom status `hold`), so approve and rescind reach it."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    number = custom.get("hold")
    return number if isinstance(number, int) else None


async def batch_children(client: df.DurableOrchestrationClient, status: RunStatus) -> list[RunStatus]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    jobs = payload.get("jobs") or []
    return list(await asyncio.gather(*(client.get_status(job["instanceId"]) for job in jobs)))


def blocks_resubmission(status: RunStatus) -> bool:
    """Any earlier run of the eventId except a failed one: only failed events may run again."""
    return bool(status) and stage(status) != "failed"


CONFLICT_MESSAGE = (
    "this eventId was already accepted with a different body; an eventId names one event, so send a correction as a "
    "new event with its own eventId"
)


def same_event(status: RunStatus, fingerprint: str) -> bool:
    """Whether the earlier run of this eventId was started with the same event (compared by canonical hash)."""
    payload = status.input_ if isinstance(status.input_, dict) else {}
    stored = payload.get("fingerprint")
    if stored is None and isinstance(payload.get("event"), dict):
        try:  # runs started before fingerprints were stored
            stored = event_fingerprint(parse_event(payload["event"]))
        except EventValidationError:
            return False
    return stored is None or stored == fingerprint


def existing_run(
    instance_id: str, event_id: str, existing: RunStatus, fingerprint: str, refuse_conflicts: bool
) -> tuple[str, str, bool]:
    """The same eventId again: the earlier run for the same event; 409 for a different one (when refused)."""
    if refuse_conflicts and not same_event(existing, fingerprint):
        raise Problem(
            409,
            "eventId already used for a different event",
            f"Event {event_id} was accepted before with a different body, and that run is kept. An eventId names "
            "one event: send the correction as a new event with its own eventId.",
            [FieldError("eventId", CONFLICT_MESSAGE)],
        )
    return instance_id, stage(existing), False
