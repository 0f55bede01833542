"""Who waits for what after an upload: the sync watch's registry, and its watcher's lifecycle.

In `SYNC_WAIT_MODE=watch` (the default) an event that has uploaded a record does not poll Graph itself. It
registers what it waits for (its employee's provisioning-log entry, and for accounts that must sign in, the
account in Entra), and one watcher orchestration reads the tenant once per interval for everybody and raises to
each registered event exactly what concerns it.
The cost per interval therefore does not grow with the number of waiting events.

Two kinds of durable entities hold this (each operation runs alone, so no locks):
- `sync_watch` (singleton) counts the registered events and owns the watcher's lifecycle: the first registration
  starts a watcher, the watcher ends when nobody waits (atomically with being marked gone, so a later
  registration always starts a new one), and a watcher that stopped taking rounds is replaced.
- `sync_watch_registry` (SHARDS of them, by instance id) hold the registrations themselves, so no single entity's
  state grows with thousands of waiting events.

A watcher outage never loses an event: every event also keeps its own deadline timer and checks for itself then.
Logic lives in plain functions over plain state; the entity functions only adapt them.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c
from provisioning.workflows.steps import decoded

bp = df.Blueprint()

SHARDS = 16
"""How many registry entities share the registrations (each holds about 1/SHARDS of the waiting events)."""
STALE_ROUNDS = 5
"""A watcher that has not begun a round for this many intervals (and at least STALE_AT_LEAST) is taken for gone."""
STALE_AT_LEAST = timedelta(minutes=10)
"""A task hub with a backlog (thousands of events in flight) delays a watcher's timer and entity call by minutes
without anything being wrong; replacing it then would only add a new watcher's direct look for everybody. Events
lose nothing while a watcher is really gone: each keeps its own deadline."""
COORDINATOR = df.EntityId(c.SYNC_WATCH, c.SINGLETON_KEY)


def shard_key(instance_id: str) -> str:
    """The registry shard an event's registration lives in (stable across processes, unlike hash())."""
    return str(zlib.crc32(instance_id.encode("utf-8")) % SHARDS)


def shard(instance_id: str) -> df.EntityId:
    return df.EntityId(c.SYNC_WATCH_REGISTRY, shard_key(instance_id))


def all_shards() -> list[df.EntityId]:
    return [df.EntityId(c.SYNC_WATCH_REGISTRY, str(index)) for index in range(SHARDS)]


# -- the coordinator: how many wait, and which watcher serves them ----------------------------------------------


def _coordinator() -> dict[str, Any]:
    return {"waiting": 0, "watcher": None, "generation": 0, "since": None, "primed": None}


def register(state: dict[str, Any] | None, at: str, interval_seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """One more event waits. Returns `{"startWatcher": id | None, "primed": bool}`.

    `primed` is True when the running watcher already holds a directory change link taken before this call: it
    will see every change from now on. Otherwise the registration is marked for a direct look in the watcher's
    next round (a user that appeared between the link and the registration would not be in the link's changes).
    """
    state = dict(state or _coordinator())
    state["waiting"] = int(state.get("waiting", 0)) + 1
    ticket: dict[str, Any] = {"startWatcher": None, "primed": False}
    stale_after = max(timedelta(seconds=STALE_ROUNDS * max(1.0, interval_seconds)), STALE_AT_LEAST)
    alive = state.get("watcher") and datetime.fromisoformat(at) - datetime.fromisoformat(state["since"]) < stale_after
    if not alive:
        state["generation"] = int(state.get("generation", 0)) + 1
        state["watcher"] = f"{c.WATCHER_INSTANCE_PREFIX}{state['generation']}"
        state["primed"] = None
        ticket["startWatcher"] = state["watcher"]
    state["since"] = state["since"] if alive else at
    ticket["primed"] = bool(state.get("primed")) and state.get("primed") == state.get("watcher")
    return state, ticket


def unregister(state: dict[str, Any] | None, count: int = 1) -> dict[str, Any]:
    state = dict(state or _coordinator())
    state["waiting"] = max(0, int(state.get("waiting", 0)) - count)
    return state


def primed(state: dict[str, Any] | None, watcher: str) -> dict[str, Any]:
    """The watcher holds its change link: registrations from now on need no direct look."""
    state = dict(state or _coordinator())
    if state.get("watcher") == watcher:
        state["primed"] = watcher
    return state


def begin_round(state: dict[str, Any] | None, watcher: str, at: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A watcher starts a round: go on (`{"stop": False}`), or stop because nobody waits or it was replaced."""
    state = dict(state or _coordinator())
    if state.get("watcher") != watcher:
        return state, {"stop": True, "reason": "replaced"}
    if int(state.get("waiting", 0)) <= 0:
        state["watcher"] = None
        state["primed"] = None
        return state, {"stop": True, "reason": "idle"}
    state["since"] = at
    return state, {"stop": False, "waiting": state["waiting"]}


@bp.entity_trigger(context_name="context", entity_name=c.SYNC_WATCH)
def sync_watch(context: df.DurableEntityContext) -> None:
    state = context.get_state(_coordinator)
    payload = decoded(context.get_input()) or {}  # a client's signal arrives JSON-encoded once more
    operation = context.operation_name
    if operation == "register":
        state, ticket = register(state, str(payload["at"]), float(payload.get("intervalSeconds", 30)))
        context.set_state(state)
        context.set_result(ticket)
    elif operation == "unregister":
        context.set_state(unregister(state, int(payload.get("count", 1))))
        context.set_result(True)
    elif operation == "primed":
        context.set_state(primed(state, str(payload["watcher"])))
        context.set_result(True)
    elif operation == "round":
        state, answer = begin_round(state, str(payload["watcher"]), str(payload["at"]))
        context.set_state(state)
        context.set_result(answer)
    else:
        context.set_result(state)


# -- the registry shards: what each event waits for -------------------------------------------------------------


def watch(state: dict[str, Any] | None, registration: dict[str, Any]) -> dict[str, Any]:
    """Register (or re-register, for a new upload attempt) what an event waits for; what was delivered for an
    earlier attempt is forgotten with it."""
    waiting = dict((state or {}).get("waiting", {}))
    waiting[registration["instanceId"]] = {
        key: registration.get(key)
        for key in (
            "employeeId",
            "notice",
            "expectUser",
            "requireEnabled",
            "ignoreLogIds",
            "registeredAt",
            "submittedAt",
            "direct",
        )
    }
    return {"waiting": waiting}


def uploaded(state: dict[str, Any] | None, instance_id: str, submitted_at: str) -> dict[str, Any]:
    """The record went out: its provisioning-log entries are those from `submitted_at` (minus clock skew) on."""
    waiting = dict((state or {}).get("waiting", {}))
    if instance_id in waiting:
        waiting[instance_id] = {**waiting[instance_id], "submittedAt": submitted_at}
    return {"waiting": waiting}


def unwatch(state: dict[str, Any] | None, instance_ids: list[str]) -> dict[str, Any]:
    waiting = {key: value for key, value in (state or {}).get("waiting", {}).items() if key not in set(instance_ids)}
    return {"waiting": waiting}


def delivered(state: dict[str, Any] | None, updates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Remember what the watcher raised to each event (log ids, the account), so it is raised once."""
    waiting = dict((state or {}).get("waiting", {}))
    for instance_id, update in updates.items():
        current = waiting.get(instance_id)
        if current is None or update.get("notice") not in (None, current.get("notice")):
            continue  # the event ended or started another attempt meanwhile
        merged = dict(current)
        if update.get("logId"):
            merged["logIds"] = [*current.get("logIds", []), update["logId"]][-5:]
        if update.get("logFinal"):
            merged["logFinal"] = True
        if update.get("user"):
            merged["userSent"] = True
        if update.get("checked"):
            merged["direct"] = False
        waiting[instance_id] = merged
    return {"waiting": waiting}


@bp.entity_trigger(context_name="context", entity_name=c.SYNC_WATCH_REGISTRY)
def sync_watch_registry(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: {"waiting": {}})
    payload = decoded(context.get_input()) or {}  # a client's signal arrives JSON-encoded once more
    operation = context.operation_name
    if operation == "watch":
        context.set_state(watch(state, payload))
    elif operation == "uploaded":
        context.set_state(uploaded(state, str(payload["instanceId"]), str(payload["submittedAt"])))
    elif operation == "unwatch":
        context.set_state(unwatch(state, [str(i) for i in payload.get("instanceIds", [payload.get("instanceId")])]))
    elif operation == "delivered":
        context.set_state(delivered(state, payload))
    context.set_result(True)


__all__ = [
    "COORDINATOR",
    "SHARDS",
    "all_shards",
    "begin_round",
    "bp",
    "delivered",
    "primed",
    "register",
    "shard",
    "shard_key",
    "unregister",
    "unwatch",
    "uploaded",
    "watch",
]
