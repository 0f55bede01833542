"""Personal data does not linger: finished orchestrations are purged RETENTION_DAYS after they end.

An event's orchestration keeps its input (the HR record, with the personal address and phone number), history
and output in the task hub for as long as the instance exists. A daily timer deletes every event, batch,
uploader and signature-guard instance that finished (completed, failed or terminated) more than RETENTION_DAYS
ago, by its last update, not its creation, so a termination scheduled months ahead keeps its status for the
full period after it ran. Running instances and entities (name reservations, per-employee watermarks,
lifecycle dates and records, the breaker, the upload queue: identifiers and dates) are never purged here; the one
entity state with personal data, an amendment queued for a pending hire, lives only as long as that hire waits
(employee_record; docs/security.md lists it). A reconciliation run's population and plan chunks are deleted
with the run.

The status API answers 404 for a purged event; an HR system that needs the result longer keeps its own copy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.settings import SettingsError
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c

__all__ = ["PURGE_SCHEDULE", "bp", "purge_expired"]

bp = df.Blueprint()
logger = logging.getLogger("provisioning.retention")

PURGE_SCHEDULE = "0 17 3 * * *"
"""Every day at 03:17 UTC (NCRONTAB with seconds): off the hour, when few HR events arrive."""
MAX_PURGED_PER_RUN = 5000
"""Bounds one run; a backlog (after a long outage or a lowered retention) is cleared over the following days."""
PURGED_PREFIXES = (
    c.EVENT_INSTANCE_PREFIX,
    c.BATCH_INSTANCE_PREFIX,
    c.UPLOADER_INSTANCE_PREFIX,
    c.SIGNATURE_INSTANCE_PREFIX,
    c.RECONCILIATION_INSTANCE_PREFIX,
)
RUN_PARTS = (("hrTags", "hr"), ("planTags", "plan"))
"""A reconciliation run's population and plan chunks (entities) go with the run."""
FINISHED = [
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
]


def _utc(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def purge_expired(
    client: df.DurableOrchestrationClient, *, now: datetime, retention_days: int, limit: int = MAX_PURGED_PER_RUN
) -> int:
    """Purge finished instances last updated before `now - retention_days`; return how many were purged."""
    cutoff = now - timedelta(days=retention_days)
    purged = 0
    for prefix in PURGED_PREFIXES:
        statuses = await client.get_status_by(
            created_time_to=cutoff, runtime_status=FINISHED, instance_id_prefix=prefix
        )
        for status in statuses:
            if purged >= limit:
                return purged
            ended = _utc(status.last_updated_time)
            if ended is None or ended > cutoff or not str(status.instance_id).startswith(prefix):
                continue
            await _forget_run_chunks(client, status)
            await client.purge_instance_history(status.instance_id)
            purged += 1
    return purged


async def _forget_run_chunks(client: df.DurableOrchestrationClient, status: Any) -> None:
    """Delete a reconciliation run's chunk entities (the HR records and the plan) before its instance goes."""
    instance_id = str(status.instance_id)
    output = status.output if isinstance(status.output, dict) else {}
    if not instance_id.startswith(c.RECONCILIATION_INSTANCE_PREFIX) or not output.get("runId"):
        return
    for key, part in RUN_PARTS:
        for number, _ in enumerate(output.get(key) or ()):
            entity = df.EntityId(c.RECONCILIATION_CHUNK, f"{output['runId']}.{part}.{number}")
            await client.signal_entity(entity, "delete")


@bp.timer_trigger(schedule=PURGE_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def purge_finished_instances(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The daily purge (see the module docstring)."""
    try:
        retention_days = runtime.current().settings.retention_days
    except SettingsError:
        log_event(logger, "retention-purge", level=logging.ERROR, outcome="misconfigured")
        return
    purged = await purge_expired(client, now=datetime.now(UTC), retention_days=retention_days)
    log_event(logger, "retention-purge", outcome="done", count=purged)
