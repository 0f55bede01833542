"""What the app remembers about one employee between events (a durable entity per employeeId).

HR events are often thin: a termination carries the employee id and a date, nothing else. Three facts must still
reach the workflows, and Entra holds none of them:
- the employee's **time zone**, as the last event that named one said, so a leaver is disabled at the end of their
  own day;
- the **pending hire**: a hire or rehire still waiting for its start. A correction before the start (an update, a
  hire sent again with a moved start date) amends it instead of failing for want of an account, and a termination
  dated before the start withdraws it so no account is ever created;
- a **leave of absence** the app started, so a return re-enables only an account the app disabled for a leave, never
  a leaver's.

The entity processes one operation at a time, which is what makes "amend unless the hire has started provisioning"
race-free: a hire claims its amendments and closes the door in one operation. Logic is in plain functions over plain
state; the entity function only adapts them.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c
from provisioning.workflows.blueprint import bp

State = dict[str, Any]

WAITING = "waiting"
PROVISIONING = "provisioning"
CANCELLED = "cancelled"


def record_id(employee_id: str) -> df.EntityId:
    return df.EntityId(c.EMPLOYEE_RECORD, employee_id)


async def register_pending_hire(client: df.DurableOrchestrationClient, instance_id: str, event: dict[str, Any]) -> None:
    """Called where a hire's instance is started: make it the pending hire before anyone hears it was accepted, so
    a correction HR sends right after it (an update, a withdrawal) finds it. The orchestration registers itself too;
    this only makes the order certain."""
    if event["type"] in ("hire", "rehire"):
        await client.signal_entity(
            record_id(event["employee"]["employeeId"]),
            "register-hire",
            {"instanceId": instance_id, "eventId": event["eventId"], "startDate": event["effectiveDate"]},
        )


def remember_zone(state: State | None, name: str, event_id: str) -> State:
    """Keep the zone an event named; the newest one wins."""
    return {**(state or {}), "timeZone": {"name": name, "eventId": event_id}}


def register_hire(
    state: State | None, instance_id: str, event_id: str, start_date: str, *, reopen: bool = False
) -> tuple[State, State]:
    """Make this hire the employee's pending hire, unless another one still is (then this one amends that one).

    `reopen` is the hire's own orchestration (also after it continued as new with a moved start date): it is waiting
    again. The registration made where the instance is started never reopens, so a late one cannot make an
    already provisioning hire look amendable. Returns `{"role": "pending" | "amends", "hire"}`.
    """
    state = dict(state or {})
    pending = state.get("pendingHire")
    if pending and pending["instanceId"] != instance_id and pending["state"] in (WAITING, PROVISIONING):
        return state, {"role": "amends", "hire": dict(pending)}
    if pending and pending["instanceId"] == instance_id and reopen and pending["state"] == PROVISIONING:
        state["pendingHire"] = {**pending, "state": WAITING, "startDate": start_date}
    elif not pending or pending["instanceId"] != instance_id:
        state["pendingHire"] = {
            "instanceId": instance_id,
            "eventId": event_id,
            "startDate": start_date,
            "state": WAITING,
        }
        state["amendments"] = []
    return state, {"role": "pending", "hire": dict(state["pendingHire"])}


def amend(state: State | None, amendment: dict[str, Any]) -> tuple[State, State]:
    """Queue an amendment for the waiting hire, if there is one and the change takes effect by its start.

    `amendment` is `{"eventId", "instanceId", "event"}`. An update dated after the start date is not an amendment:
    it applies to the account once the hire has made it. A hire or rehire sent again moves the start date.
    Returns `{"status": "queued" | "provisioning" | "none", "hire"?}`.
    """
    state = dict(state or {})
    pending = state.get("pendingHire")
    if not pending or pending["state"] == CANCELLED:
        return state, {"status": "none"}
    event = amendment["event"]
    moves_start = event["type"] in ("hire", "rehire")
    effective = event.get("effectiveDate")
    if not moves_start and effective and effective > pending["startDate"]:
        return state, {"status": "none"}
    if pending["state"] == PROVISIONING:
        return state, {"status": "provisioning", "hire": dict(pending)}
    queued = [item for item in state.get("amendments", []) if item["eventId"] != amendment["eventId"]]
    state["amendments"] = [*queued, amendment]
    if moves_start and effective:
        state["pendingHire"] = {**pending, "startDate": effective}
    return state, {"status": "queued", "hire": dict(state["pendingHire"])}


def withdraw(state: State | None, event_id: str, last_day: str) -> tuple[State, State]:
    """A termination dated before the pending hire's start withdraws it (the offer was withdrawn).

    Returns `{"status": "withdrawn" | "provisioning" | "none", "hire"?}`.
    """
    state = dict(state or {})
    pending = state.get("pendingHire")
    if not pending or pending["state"] == CANCELLED or last_day >= pending["startDate"]:
        return state, {"status": "none"}
    if pending["state"] == PROVISIONING:
        return state, {"status": "provisioning", "hire": dict(pending)}
    state["pendingHire"] = {**pending, "state": CANCELLED, "cancelledBy": event_id}
    return state, {"status": "withdrawn", "hire": dict(state["pendingHire"])}


def take(state: State | None, instance_id: str, *, claim: bool) -> tuple[State, State]:
    """Hand the pending hire its queued amendments (and whether it was withdrawn).

    With `claim` the hire is starting to provision: from now on changes wait for it to finish instead of amending.
    """
    state = dict(state or {})
    pending = state.get("pendingHire")
    if not pending or pending["instanceId"] != instance_id:
        return state, {"amendments": [], "cancelledBy": None}
    result = {
        "amendments": list(state.get("amendments", [])),
        "cancelledBy": pending.get("cancelledBy") if pending["state"] == CANCELLED else None,
    }
    state["amendments"] = []
    if claim and pending["state"] == WAITING:
        state["pendingHire"] = {**pending, "state": PROVISIONING}
    return state, result


def hire_ended(state: State | None, instance_id: str) -> State:
    """The hire finished, failed or was cancelled: it is no longer pending."""
    state = dict(state or {})
    pending = state.get("pendingHire")
    if pending and pending["instanceId"] == instance_id:
        state.pop("pendingHire", None)
        state.pop("amendments", None)
    return state


def start_leave(state: State | None, event_id: str, since: str) -> State:
    return {**(state or {}), "leave": {"eventId": event_id, "since": since}}


def end_leave(state: State | None) -> State:
    """A return from leave, a termination or a rehire: the account is no longer disabled for a leave."""
    state = dict(state or {})
    state.pop("leave", None)
    return state


@bp.entity_trigger(context_name="context", entity_name=c.EMPLOYEE_RECORD)
def employee_record(context: df.DurableEntityContext) -> None:
    state: State | None = context.get_state(lambda: None)
    payload: Any = context.get_input() or {}
    if isinstance(payload, str):
        # DurableOrchestrationClient.signal_entity JSON-encodes its input once more than call_entity does (the
        # same double encoding as raise_event, azure-functions-durable-python issue 295).
        payload = json.loads(payload)
    operation = context.operation_name
    result: Any = True
    if operation == "remember-zone":
        state = remember_zone(state, payload["name"], payload["eventId"])
    elif operation == "register-hire":
        state, result = register_hire(
            state,
            payload["instanceId"],
            payload["eventId"],
            payload["startDate"],
            reopen=bool(payload.get("reopen")),
        )
        if payload.get("timeZone"):
            state = remember_zone(state, payload["timeZone"], payload["eventId"])
        if result["role"] == "pending" and payload.get("claim"):
            state, result["claimed"] = take(state, payload["instanceId"], claim=True)
    elif operation == "amend":
        state, result = amend(state, payload)
    elif operation == "withdraw":
        state, result = withdraw(state, payload["eventId"], payload["lastDay"])
    elif operation in ("take", "claim"):
        state, result = take(state, payload["instanceId"], claim=operation == "claim")
    elif operation == "hire-ended":
        state = hire_ended(state, payload["instanceId"])
    elif operation == "leave-started":
        state = start_leave(state, payload["eventId"], payload["since"])
    elif operation == "leave-ended":
        state = end_leave(state)
    else:
        result = state
    context.set_state(state)
    context.set_result(result)
