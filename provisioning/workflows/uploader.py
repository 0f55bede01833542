"""The bulk uploader: the one place that calls bulkUpload, so packing and pacing hold across every event.

Entra allows 40 bulkUpload calls in any 5 seconds and 2,000 (P1/P2) or 6,000 (Governance) a day per tenant,
and each call carries up to 50 records. Every HR event therefore queues its record in the `bulk_upload_queue`
entity; an uploader orchestration drains the queue in requests of up to 50 records, paces the calls with
durable timers, waits for the next UTC day when the daily quota is spent (records wait, they are never dropped),
and tells each waiting event which request carried its record and when. A batch's records travel in full requests
of 50 however slowly they reach the queue: its last partial request waits for every member that is still on its
way (see entities.take), which keeps the count exact at any clock and load. The queue holds record specs, not
records: the upload activity builds each record from its event's input, so no personal data passes through
the queue or this orchestration's history. One round per execution, then
continue-as-new, keeps its history small however long it runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import schedule
from provisioning.workflows import contracts as c
from provisioning.workflows.blueprint import bp
from provisioning.workflows.steps import QUEUE, Step, call_retrying

PACING_WINDOW = timedelta(seconds=5)


def result_for(instance_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """What one waiting event is told: the request's result, or why its own record could not be built."""
    problem = (result.get("rejectedItems") or {}).get(instance_id)
    if problem is not None:
        return {"status": "rejected", "code": "RecordNotBuilt", "message": str(problem)}
    return {key: value for key, value in result.items() if key != "rejectedItems"}


def next_call_time(recent: list[str], now: datetime, calls_per_window: int) -> datetime | None:
    """When the next call may go without exceeding `calls_per_window` in any 5 s, or None for now."""
    window = [datetime.fromisoformat(t) for t in recent if now - datetime.fromisoformat(t) < PACING_WINDOW]
    if len(window) < max(1, calls_per_window):
        return None
    return min(window) + PACING_WINDOW


@bp.orchestration_trigger(context_name="context", orchestration=c.BULK_UPLOADER)
def bulk_uploader(context: df.DurableOrchestrationContext) -> Step:
    """One round: wait the coalescing window, take ready records from the queue, upload them, repeat."""
    state: dict[str, Any] = context.get_input() or {}
    options = c.WorkflowOptions.from_dict(state.get("options"))
    recent: list[str] = list(state.get("recent", []))
    day: str = state.get("day") or context.current_utc_datetime.date().isoformat()
    day_calls: int = int(state.get("dayCalls", 0))
    uploaded: int = int(state.get("uploaded", 0))

    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=options.upload_coalesce_seconds))
    taken = yield context.call_entity(
        QUEUE,
        "take",
        {
            "at": context.current_utc_datetime.isoformat(),
            "quietSeconds": options.upload_coalesce_seconds,
            "groupWaitSeconds": options.batch_upload_wait_seconds,
        },
    )
    for group in taken.get("verify") or []:
        # A batch's partial request has waited BATCH_UPLOAD_WAIT_SECONDS for its next record: look whether the
        # missing members are still on their way (then wait again) or not (then the partial may go).
        look = yield call_retrying(context, c.CHECK_BATCH_ARRIVING, {"group": group})
        verdict = "extend" if look.get("arriving") else "release"
        yield context.call_entity(QUEUE, verdict, {"group": group, "at": context.current_utc_datetime.isoformat()})
    if taken["close"]:
        context.set_custom_status({"stage": "idle", "uploaded": uploaded, "dayCalls": day_calls})
        return {"uploaded": uploaded, "dayCalls": day_calls}

    for chunk in taken["chunks"]:
        now = context.current_utc_datetime
        if now.date().isoformat() != day:
            day, day_calls = now.date().isoformat(), 0
        if day_calls >= options.bulk_daily_call_quota:
            context.set_custom_status(
                {"stage": "quota-exhausted", "waitingUntil": schedule.next_utc_midnight(now).isoformat()}
            )
            yield context.create_timer(schedule.next_utc_midnight(now))
            day, day_calls = context.current_utc_datetime.date().isoformat(), 0
        result = yield from _upload_paced(context, options, chunk, recent)
        day_calls += int(result.pop("calls", 1))
        recent = [t for t in recent if context.current_utc_datetime - datetime.fromisoformat(t) < PACING_WINDOW]
        uploaded += len(chunk)
        yield context.call_activity(
            c.DELIVER_UPLOAD_RESULT, {"instanceIds": [item["instanceId"] for item in chunk], "result": result}
        )
        context.set_custom_status({"stage": "uploading", "uploaded": uploaded, "dayCalls": day_calls})

    context.continue_as_new(
        {
            "options": options.to_dict(),
            "recent": recent,
            "day": day,
            "dayCalls": day_calls,
            "uploaded": uploaded,
        }
    )
    return None


def _upload_paced(context: Any, options: c.WorkflowOptions, chunk: list[dict[str, Any]], recent: list[str]) -> Step:
    """Upload one request, waiting out the 5-second window and any long Retry-After with durable timers."""
    calls = 0
    while True:
        wait_until = next_call_time(recent, context.current_utc_datetime, options.bulk_calls_per_5s)
        if wait_until is not None:
            yield context.create_timer(wait_until)
        recent.append(context.current_utc_datetime.isoformat())
        calls += 1
        try:
            result: dict[str, Any] = yield call_retrying(
                context,
                c.UPLOAD_BULK_REQUEST,
                {"items": [{"instanceId": item["instanceId"], "spec": item["spec"]} for item in chunk]},
            )
        except Exception as failure:  # retries spent: fail the waiting events now instead of after 36 hours
            reason = str(failure).strip().splitlines()[0][:300] if str(failure).strip() else "unknown error"
            return {"status": "rejected", "code": "BulkUploadFailed", "message": reason, "calls": calls}
        if result.get("status") != "throttled":
            return {**result, "calls": calls}
        retry_after = max(1.0, float(result.get("retryAfterSeconds") or 5))
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=retry_after))
