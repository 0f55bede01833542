"""Durable entities: the small pieces of shared state that concurrent HR events coordinate through.

Each entity processes one operation at a time, which is what makes these safe without locks:
- `name_reservation` (one per name key): a candidate UPN/mail/sAMAccountName held by a running event, so two
  hires named the same get different names even before either reaches Entra.
- `employee_watermark` (one per employeeId): the newest `occurredAt` applied, so a late, older event ends as
  `superseded` instead of overwriting newer data.
- `termination_breaker` (singleton): the rolling hour of terminations, so a mass-termination mistake in the HR
  system is held for a human instead of disabling hundreds of accounts.
- `bulk_upload_queue` (singleton): records waiting for the next bulk request, so single events that arrive close
  together share requests and every bulkUpload call is paced in one place.

Logic lives in plain functions over plain state (easy to test); the entity functions only adapt them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c

bp = df.Blueprint()

MAX_OPERATIONS_PER_REQUEST = 50
BREAKER_WINDOW = timedelta(hours=1)
GROUP_WAIT_LIMIT = timedelta(minutes=30)
"""How long the queue holds back a batch's last partial request while the rest of the batch is still arriving."""


# -- name reservations -------------------------------------------------------------------------------------------


def reserve(state: dict[str, Any] | None, owner: str) -> tuple[dict[str, Any] | None, bool]:
    """Reserve for `owner`; True if it was free or already theirs (retries are idempotent)."""
    if state and state.get("owner") not in (None, owner):
        return state, False
    return {"owner": owner}, True


def release(state: dict[str, Any] | None, owner: str) -> dict[str, Any] | None:
    """Release only your own reservation, so a late release cannot free another event's name."""
    if state and state.get("owner") == owner:
        return None
    return state


@bp.entity_trigger(context_name="context", entity_name=c.NAME_RESERVATION)
def name_reservation(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: None)
    owner = str(context.get_input())
    if context.operation_name == "reserve":
        state, granted = reserve(state, owner)
        context.set_state(state)
        context.set_result(granted)
    elif context.operation_name == "release":
        context.set_state(release(state, owner))
        context.set_result(True)
    else:
        context.set_result(state)


# -- per-employee high-water mark --------------------------------------------------------------------------------


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def check_watermark(state: dict[str, Any] | None, occurred_at: str | None) -> str:
    """`stale` when this event happened before the newest one already applied for the employee."""
    incoming, applied = _instant(occurred_at), _instant((state or {}).get("occurredAt"))
    if incoming is None or applied is None:
        return "fresh"
    return "stale" if incoming < applied else "fresh"


def apply_watermark(state: dict[str, Any] | None, occurred_at: str | None, event_id: str) -> dict[str, Any] | None:
    incoming = _instant(occurred_at)
    if incoming is None:
        return state
    applied = _instant((state or {}).get("occurredAt"))
    if applied is not None and applied >= incoming:
        return state
    return {"occurredAt": incoming.isoformat(), "eventId": event_id}


@bp.entity_trigger(context_name="context", entity_name=c.EMPLOYEE_WATERMARK)
def employee_watermark(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: None)
    payload = context.get_input() or {}
    if context.operation_name == "check":
        context.set_result(check_watermark(state, payload.get("occurredAt")))
    elif context.operation_name == "apply":
        state = apply_watermark(state, payload.get("occurredAt"), str(payload.get("eventId", "")))
        context.set_state(state)
        context.set_result(state)
    else:
        context.set_result(state)


# -- mass-termination breaker ------------------------------------------------------------------------------------


def admit_termination(
    state: dict[str, Any] | None, instance_id: str, at: str, limit: int
) -> tuple[dict[str, Any], str]:
    """Admit a termination unless `limit` were already admitted within the last hour; then hold it."""
    now = datetime.fromisoformat(at)
    admitted: dict[str, str] = {
        key: when
        for key, when in (state or {}).get("admitted", {}).items()
        if now - datetime.fromisoformat(when) < BREAKER_WINDOW
    }
    held: list[str] = list((state or {}).get("held", []))
    if instance_id in admitted:
        verdict = "admitted"
    elif len(admitted) >= limit:
        if instance_id not in held:
            held.append(instance_id)
        verdict = "held"
    else:
        admitted[instance_id] = at
        verdict = "admitted"
    return {"admitted": admitted, "held": held}, verdict


def release_held(state: dict[str, Any] | None, instance_id: str) -> dict[str, Any]:
    state = dict(state or {"admitted": {}, "held": []})
    state["held"] = [held for held in state.get("held", []) if held != instance_id]
    return state


@bp.entity_trigger(context_name="context", entity_name=c.TERMINATION_BREAKER)
def termination_breaker(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: None)
    payload = context.get_input()
    if context.operation_name == "admit":
        state, verdict = admit_termination(state, payload["instanceId"], payload["at"], int(payload["limit"]))
        context.set_state(state)
        context.set_result(verdict)
    elif context.operation_name == "release":
        context.set_state(release_held(state, str(payload)))
        context.set_result(True)
    else:
        context.set_result(state)


# -- bulk upload queue -------------------------------------------------------------------------------------------


def _empty_queue() -> dict[str, Any]:
    return {"pending": [], "groups": {}, "lastArrival": None, "uploader": None, "generation": 0}


def enqueue(state: dict[str, Any] | None, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Queue one record; tell the caller to start an uploader when none is active.

    The uploader id carries a generation number so that a new uploader never collides with one that has just
    decided to finish (that instance may still be Running for a moment).
    """
    state = dict(state or _empty_queue())
    pending = [queued for queued in state["pending"] if queued["instanceId"] != item["instanceId"]]
    pending.append(item)
    state["pending"] = pending
    state["lastArrival"] = item.get("at")
    group = item.get("group")
    if group and group in state["groups"]:
        groups = dict(state["groups"])
        groups[group] = {**groups[group], "arrived": groups[group].get("arrived", 0) + 1}
        state["groups"] = groups
    ticket: dict[str, Any] = {"startUploader": None}
    if not state.get("uploader"):
        state["generation"] = int(state.get("generation", 0)) + 1
        state["uploader"] = f"{c.UPLOADER_INSTANCE_PREFIX}{state['generation']}"
        ticket["startUploader"] = state["uploader"]
    return state, ticket


def expect_group(state: dict[str, Any] | None, group: str, count: int, at: str) -> dict[str, Any]:
    """A batch announces how many records it will send, so its last partial request waits for the rest."""
    state = dict(state or _empty_queue())
    groups = dict(state["groups"])
    arrived = sum(1 for item in state["pending"] if item.get("group") == group)
    groups[group] = {"expected": count, "arrived": arrived, "since": at}
    state["groups"] = groups
    return state


def leave_group(state: dict[str, Any] | None, group: str) -> dict[str, Any]:
    """A batch member ended without a record to upload (failed early, superseded, rescinded)."""
    state = dict(state or _empty_queue())
    if group in state["groups"]:
        groups = dict(state["groups"])
        groups[group] = {**groups[group], "expected": max(0, groups[group].get("expected", 0) - 1)}
        state["groups"] = groups
    return state


def take(state: dict[str, Any] | None, at: str, quiet_seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hand the uploader the next bulk requests' worth of records.

    Full requests (50 records) go at once. A partial request goes only once arrivals have been quiet for the
    coalescing window, and never while a batch it belongs to is still arriving (up to GROUP_WAIT_LIMIT). When
    nothing is left the uploader is told to finish, atomically with marking it inactive, so a record enqueued
    afterwards always starts a new uploader.
    """
    state = dict(state or _empty_queue())
    now = datetime.fromisoformat(at)
    groups: dict[str, Any] = {
        name: group
        for name, group in state["groups"].items()
        if group.get("arrived", 0) < group.get("expected", 0)
        and now - datetime.fromisoformat(group["since"]) < GROUP_WAIT_LIMIT
    }
    state["groups"] = groups
    pending: list[dict[str, Any]] = list(state["pending"])
    last = state.get("lastArrival")
    quiet = last is None or (now - datetime.fromisoformat(last)).total_seconds() >= quiet_seconds
    chunks: list[list[dict[str, Any]]] = []
    while len(pending) >= MAX_OPERATIONS_PER_REQUEST:
        chunks.append(pending[:MAX_OPERATIONS_PER_REQUEST])
        pending = pending[MAX_OPERATIONS_PER_REQUEST:]
    if pending and quiet:
        ready = [item for item in pending if item.get("group") not in groups]
        if ready:
            chunks.append(ready)
            pending = [item for item in pending if item.get("group") in groups]
    state["pending"] = pending
    close = not chunks and not pending and not groups
    if close:
        state["uploader"] = None
    return state, {"chunks": chunks, "close": close, "waiting": len(pending)}


@bp.entity_trigger(context_name="context", entity_name=c.BULK_UPLOAD_QUEUE)
def bulk_upload_queue(context: df.DurableEntityContext) -> None:
    state = context.get_state(_empty_queue)
    payload = context.get_input() or {}
    operation = context.operation_name
    if operation == "enqueue":
        state, ticket = enqueue(state, payload)
        context.set_state(state)
        context.set_result(ticket)
    elif operation == "expect":
        context.set_state(expect_group(state, payload["group"], int(payload["count"]), payload["at"]))
        context.set_result(True)
    elif operation == "leave":
        context.set_state(leave_group(state, str(payload["group"])))
        context.set_result(True)
    elif operation == "take":
        state, taken = take(state, payload["at"], float(payload.get("quietSeconds", 0)))
        context.set_state(state)
        context.set_result(taken)
    else:
        context.set_result({"waiting": len(state["pending"]), "uploader": state.get("uploader")})
