"""Durable entities: the small pieces of shared state that concurrent HR events coordinate through.

Each entity processes one operation at a time, which is what makes these safe without locks:
- `name_reservation` (one per name key): a candidate UPN/mail/sAMAccountName held by a running event, so two
  hires named the same get different names even before either reaches Entra, and, once known, the fact that
  the name is taken, so the next hire with the same name skips it without asking Graph.
- `employee_watermark` (one per employeeId): the newest `occurredAt` applied, so a late, older event ends as
  `superseded` instead of overwriting newer data.
- the mass-change breaker and the per-account lifecycle live in `provisioning.safeguards`.
- `bulk_upload_queue` (singleton): records waiting for the next bulk request, so single events that arrive close
  together share requests, a batch's records travel in full requests however slowly they arrive, and every
  bulkUpload call is paced in one place.

Logic lives in plain functions over plain state (easy to test); the entity functions only adapt them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c

bp = df.Blueprint()

MAX_OPERATIONS_PER_REQUEST = 50
DEFAULT_GROUP_WAIT_SECONDS = 180.0
"""BATCH_UPLOAD_WAIT_SECONDS: how long a batch's partial request waits for the batch's next record before the
uploader looks whether the missing records are still on their way (they are then waited for again)."""


# -- name reservations -------------------------------------------------------------------------------------------

TAKEN_FOR = timedelta(days=30)
"""How long a name known to be taken (used in Entra or AD, or provisioned by this app) is skipped without asking
Graph again; afterwards a hire that reaches it checks Entra once more."""


def reserve(state: dict[str, Any] | None, owner: str, at: str | None = None) -> tuple[dict[str, Any] | None, bool]:
    """Reserve for `owner`; True if it was free or already theirs (retries are idempotent).

    A name marked taken within TAKEN_FOR is refused without a directory lookup: that is what keeps the Graph
    traffic of many hires with the same name linear.
    """
    if state and state.get("owner") not in (None, owner):
        return state, False
    if state and state.get("taken") and at is not None and _age(state, at) < TAKEN_FOR:
        return state, False
    return {"owner": owner}, True


def is_free(state: dict[str, Any] | None, owner: str, at: str | None = None) -> bool:
    """Whether `reserve` would grant the name to `owner` now (a look that changes nothing)."""
    return reserve(state, owner, at)[1]


def _age(state: dict[str, Any], at: str) -> timedelta:
    return datetime.fromisoformat(at) - datetime.fromisoformat(state["at"])


def release(state: dict[str, Any] | None, owner: str) -> dict[str, Any] | None:
    """Release only your own reservation, so a late release cannot free another event's name."""
    if state and state.get("owner") == owner:
        return None
    return state


def mark_taken(state: dict[str, Any] | None, owner: str, kind: str, at: str) -> dict[str, Any] | None:
    """Remember the name as taken (`entra`, `ad` or `provisioned`); another event's live reservation wins."""
    if state and state.get("owner") not in (None, owner):
        return state
    return {"taken": kind, "at": at}


@bp.entity_trigger(context_name="context", entity_name=c.NAME_RESERVATION)
def name_reservation(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: None)
    payload = context.get_input()
    request = payload if isinstance(payload, dict) else {"owner": payload}
    owner = str(request.get("owner"))
    if context.operation_name == "reserve":
        state, granted = reserve(state, owner, request.get("at"))
        context.set_state(state)
        context.set_result(granted)
    elif context.operation_name == "peek":
        context.set_result(is_free(state, owner, request.get("at")))
    elif context.operation_name == "release":
        context.set_state(release(state, owner))
        context.set_result(True)
    elif context.operation_name == "taken":
        context.set_state(mark_taken(state, owner, str(request.get("kind")), str(request.get("at"))))
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
        groups[group] = {
            **groups[group],
            "arrived": groups[group].get("arrived", 0) + 1,
            "lastArrival": item.get("at") or groups[group].get("lastArrival"),
        }
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
    groups[group] = {"expected": count, "arrived": arrived, "since": at, "lastArrival": at}
    state["groups"] = groups
    return state


def leave_group(state: dict[str, Any] | None, group: str, at: str | None = None) -> dict[str, Any]:
    """A batch member ended without a record to upload (failed early, superseded, rescinded, held)."""
    state = dict(state or _empty_queue())
    if group in state["groups"]:
        groups = dict(state["groups"])
        current = groups[group]
        groups[group] = {
            **current,
            "expected": max(0, current.get("expected", 0) - 1),
            "lastArrival": at or current.get("lastArrival"),
        }
        state["groups"] = groups
    return state


def extend_group(state: dict[str, Any] | None, group: str, at: str) -> dict[str, Any]:
    """The uploader looked: the batch's missing records are still on their way, so its partial waits again."""
    state = dict(state or _empty_queue())
    if group in state["groups"]:
        state["groups"] = {**state["groups"], group: {**state["groups"][group], "lastArrival": at}}
    return state


def release_group(state: dict[str, Any] | None, group: str) -> dict[str, Any]:
    """The uploader looked: nothing more of the batch is on its way, so its partial request may go."""
    state = dict(state or _empty_queue())
    state["groups"] = {name: value for name, value in state["groups"].items() if name != group}
    return state


def take(
    state: dict[str, Any] | None,
    at: str,
    quiet_seconds: float,
    group_wait_seconds: float = DEFAULT_GROUP_WAIT_SECONDS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hand the uploader the next bulk requests' worth of records.

    Full requests (50 records) go at once. A single event's partial request goes once arrivals have been quiet
    for the coalescing window. A batch's partial request waits until every member of the batch has either queued
    its record or left; it never goes early because of time alone: when no record of the batch has arrived for
    `group_wait_seconds`, the batch is listed in `verify` and the uploader looks whether the missing members are
    still on their way (then `extend_group`) or not (then `release_group`). That is what keeps packing exact at
    any clock speed and load. When nothing is left the uploader is told to finish, atomically with marking it
    inactive, so a record enqueued afterwards always starts a new uploader.
    """
    state = dict(state or _empty_queue())
    now = datetime.fromisoformat(at)
    groups: dict[str, Any] = {
        name: group for name, group in state["groups"].items() if group.get("arrived", 0) < group.get("expected", 0)
    }
    state["groups"] = groups
    verify = sorted(
        name
        for name, group in groups.items()
        if now - datetime.fromisoformat(group.get("lastArrival") or group["since"])
        >= timedelta(seconds=group_wait_seconds)
    )
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
    return state, {"chunks": chunks, "close": close, "waiting": len(pending), "verify": verify}


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
        context.set_state(leave_group(state, str(payload["group"]), payload.get("at")))
        context.set_result(True)
    elif operation == "extend":
        context.set_state(extend_group(state, str(payload["group"]), str(payload["at"])))
        context.set_result(True)
    elif operation == "release":
        context.set_state(release_group(state, str(payload["group"])))
        context.set_result(True)
    elif operation == "take":
        wait = float(payload.get("groupWaitSeconds", DEFAULT_GROUP_WAIT_SECONDS))
        state, taken = take(state, payload["at"], float(payload.get("quietSeconds", 0)), wait)
        context.set_state(state)
        context.set_result(taken)
    else:
        context.set_result({"waiting": len(state["pending"]), "uploader": state.get("uploader")})
