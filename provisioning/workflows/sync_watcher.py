"""The sync watcher: one orchestration that reads the tenant for every waiting event, once per interval.

Started by the first event that registers (see :mod:`provisioning.sync_watch`), it runs one round per
execution and continues as new, so its history stays small however long it runs: wait SYNC_WATCH_INTERVAL_SECONDS,
ask the coordinator whether anybody still waits (it ends when nobody does, or when a newer watcher replaced it),
then one `watch_tenant` round (provisioning logs and directory changes, once each, whatever the number of waiting
events). A round that fails (Graph throttling it away, a token outage) is logged in its custom status and the next
interval tries again; the events lose nothing meanwhile, each keeps its own deadline and looks for itself then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import sync_watch
from provisioning.workflows import contracts as c
from provisioning.workflows.blueprint import bp
from provisioning.workflows.steps import UPLOAD_RESULT_TIMEOUT, Step


@bp.orchestration_trigger(context_name="context", orchestration=c.SYNC_WATCHER)
def sync_watcher(context: df.DurableOrchestrationContext) -> Step:
    state: dict[str, Any] = dict(context.get_input() or {})
    options = c.WorkflowOptions.from_dict(state.get("options"))
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=options.sync_watch_interval_seconds))
    now = context.current_utc_datetime
    answer = yield context.call_entity(
        sync_watch.COORDINATOR, "round", {"watcher": context.instance_id, "at": now.isoformat()}
    )
    rounds = int(state.get("rounds", 0))
    if answer.get("stop"):
        totals = {
            "rounds": rounds,
            "failedRounds": state.get("failedRounds", 0),
            "graphRequestsTotal": state.get("graphRequests", 0),
        }
        context.set_custom_status({"stage": "idle", "reason": answer.get("reason"), **totals})
        return {**totals, "stopped": answer.get("reason")}
    # A registration older than this belongs to an event that ended without saying so (terminated by hand).
    expire_after = UPLOAD_RESULT_TIMEOUT + timedelta(minutes=options.sync_timeout_minutes) * 2
    request = {
        "deltaLink": state.get("deltaLink"),
        "logSince": state["logSince"],
        "hostNow": now.isoformat(),
        "expireAfterMinutes": expire_after.total_seconds() / 60,
        # A new watcher's link does not cover what changed before it started: its first round looks directly.
        "lookDirectly": not state.get("lookedDirectly"),
    }
    status: dict[str, Any] = {"stage": "watching", "rounds": rounds + 1, "waiting": answer.get("waiting")}
    try:
        result: dict[str, Any] = yield context.call_activity(c.WATCH_TENANT, request)
        state.update(deltaLink=result["deltaLink"], logSince=result["logSince"], lookedDirectly=True)
        status.update(notified=result["notified"], graphRequests=result["graphRequests"], lastRoundAt=now.isoformat())
        state["graphRequests"] = int(state.get("graphRequests", 0)) + int(result["graphRequests"])
    except Exception as failure:  # the next round tries again; waiting events keep their own deadlines
        detail = str(failure).strip().splitlines()[0][:300] if str(failure).strip() else "unknown error"
        status.update(lastError=detail, lastErrorAt=now.isoformat())
        state["failedRounds"] = int(state.get("failedRounds", 0)) + 1
    status.update(graphRequestsTotal=state.get("graphRequests", 0), failedRounds=state.get("failedRounds", 0))
    context.set_custom_status(status)
    state["rounds"] = rounds + 1
    context.continue_as_new(state)
    return None
