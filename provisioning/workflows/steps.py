"""Reusable orchestration steps, written as generators for `yield from`.

Each step is deterministic: it only yields Durable tasks, reads `context.current_utc_datetime`, and calls pure
functions. All I/O happens in the activities named in `contracts`.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c

Step = Generator[Any, Any, Any]

QUEUE = df.EntityId(c.BULK_UPLOAD_QUEUE, c.SINGLETON_KEY)
UPLOAD_RESULT_TIMEOUT = timedelta(hours=36)
"""How long an event waits for its bulk upload before giving up; covers a full day of exhausted call quota."""

TRANSIENT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=30_000, max_number_of_attempts=10)
"""Durable retries for activities that are safe to repeat (reads, idempotent writes, notifications).

Inside one attempt the Graph client and azure-identity already retry for seconds; these retries ride out what
lasts minutes: a managed identity or token endpoint outage, Key Vault unavailable while the Graph client secret
is read, or Graph answering 429/503 longer than the in-call budget. Ten attempts 30 s apart cover about five
minutes before the event fails with `ActivityFailed`.
"""


def call_retrying(context: Any, name: str, payload: Any) -> Any:
    """Schedule an activity that may run more than once with the same input (see TRANSIENT_RETRY)."""
    return context.call_activity_with_retry(name, TRANSIENT_RETRY, payload)


def wait_for_events(context: Any, when: datetime | None, names: tuple[str, ...]) -> Step:
    """Wait for the first of the external events `names`, or until `when` (a durable timer) when given.

    Returns `(name, payload)` for the event that arrived first, or `(None, None)` when the timer fired. Each
    stage waits on event names of its own (see `contracts.rescind_event`): the SDK hands a raised event to the
    oldest open waiter of that name, so a waiter abandoned in one stage would swallow an event meant for a later
    one if names were shared.
    """
    waits = {name: context.wait_for_external_event(name) for name in names}
    timer = context.create_timer(when) if when is not None else None
    winner = yield context.task_any([*waits.values(), *([timer] if timer is not None else [])])
    if timer is not None and winner is timer:
        return None, None
    if timer is not None:
        cancel_timer(timer)
    name = next(name for name, task in waits.items() if task is winner)
    return name, decoded(winner.result)


def cancel_timer(timer: Any) -> None:
    """Cancel a durable timer so the orchestration can complete without waiting for it.

    A timer longer than the backend's maximum is a LongTimerTask that runs a chain of shorter timers; in
    azure-functions-durable 1.x its cancel() flags only itself, not the child timer actually scheduled, so the
    host would keep the instance open until that child fires. Cancel the children too.
    """
    if timer.is_completed:
        return
    timer.cancel()
    for child in list(getattr(timer, "pending_tasks", ())):
        if not child.is_completed and hasattr(child, "cancel"):
            child.cancel()


def decoded(payload: Any) -> Any:
    """`DurableOrchestrationClient.raise_event` JSON-encodes its payload twice (azure-functions-durable-python
    issue 295), so an event raised by our own activities arrives as JSON text; decode it once more."""
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def upload_record(context: Any, spec: dict[str, Any], group: str | None) -> Step:
    """Hand the record's spec to the shared bulk upload queue and wait for the bulk request that carried it.

    Events never call bulkUpload themselves: one uploader orchestration packs records from every running event
    into requests of at most 50 operations and paces them against the tenant's call limits (docs/design.md).
    The queue carries a spec (names, account id, active flag, zone), not the record: the upload activity builds
    the record from the event's own input, so personal data is not copied into the queue and the uploader's
    history. Returns the uploader's result: `{"status": "accepted", "submittedAt": ...}` or
    `{"status": "rejected", ...}`.
    """
    ticket = yield context.call_entity(
        QUEUE,
        "enqueue",
        {"instanceId": context.instance_id, "spec": spec, "group": group, "at": _now(context)},
    )
    if ticket and ticket.get("startUploader"):
        yield call_retrying(context, c.START_BULK_UPLOADER, {"instanceId": ticket["startUploader"]})
    deadline = context.current_utc_datetime + UPLOAD_RESULT_TIMEOUT
    name, result = yield from wait_for_events(context, deadline, (c.EVENT_UPLOADED,))
    if name is None:
        raise c.WorkflowFailed(
            "BulkUploadNotDelivered",
            "The record was queued for bulk upload but no upload result arrived within 36 hours.",
        )
    if result.get("status") != "accepted":
        raise c.WorkflowFailed(
            str(result.get("code") or "BulkUploadRejected"),
            str(result.get("message") or "Microsoft Graph rejected the bulk upload."),
        )
    return result


def poll_delays(initial_seconds: int, max_seconds: int) -> Generator[timedelta, None, None]:
    """Provisioning logs arrive minutes after an upload: start slow-ish, back off to a ceiling."""
    delay = max(1, initial_seconds)
    while True:
        yield timedelta(seconds=delay)
        delay = min(max_seconds, delay * 2)


def _now(context: Any) -> str:
    return str(context.current_utc_datetime.isoformat())
