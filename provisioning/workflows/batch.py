"""A batch of HR events (docs/design.md, "Workflows"): each event becomes its own orchestration, started durably.

The batch orchestration exists so that accepting up to 1,000 events is one durable write: once it has started,
every event in it will run even if the HTTP request dies. It tells the bulk upload queue how many records to
expect (so they are packed into full requests of 50), starts the events in chunks, and ends. Each event keeps its
own instance (`hr-<eventId>`), status and retries; the batch status is the sum of theirs.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from provisioning import schedule
from provisioning.workflows import contracts as c
from provisioning.workflows.blueprint import bp
from provisioning.workflows.plan import effective_instant
from provisioning.workflows.steps import QUEUE, Step

START_CHUNK = 100


@bp.orchestration_trigger(context_name="context", orchestration=c.HR_BATCH)
def hr_batch(context: df.DurableOrchestrationContext) -> Step:
    batch: dict[str, Any] = context.get_input()
    jobs: list[dict[str, Any]] = batch["jobs"]
    options = c.WorkflowOptions.from_dict(batch.get("options"))
    now = context.current_utc_datetime
    immediate = 0
    for job in jobs:
        zone = schedule.zone(job["event"]["employee"].get("timeZone"), options.default_time_zone)
        when = effective_instant(job["event"], options, zone)
        # Only events that upload now join the batch's bulk requests; scheduled ones upload on their own day.
        job["group"] = batch["batchId"] if when is None or when <= now else None
        job["batch"] = batch["batchId"]  # every event counts against the breaker's per-batch cap
        immediate += job["group"] is not None
    context.set_custom_status({"stage": "starting", "events": len(jobs), "immediate": immediate})
    if immediate:
        yield context.call_entity(
            QUEUE, "expect", {"group": batch["batchId"], "count": immediate, "at": now.isoformat()}
        )
    started = 0
    for first in range(0, len(jobs), START_CHUNK):
        chunk = jobs[first : first + START_CHUNK]
        result = yield context.call_activity(c.START_HR_EVENTS, {"jobs": chunk, "options": options.to_dict()})
        started += int(result.get("started", 0))
    context.set_custom_status({"stage": "started", "events": len(jobs), "immediate": immediate, "started": started})
    return {"events": len(jobs), "started": started}
