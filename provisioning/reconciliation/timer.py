"""The scheduled reconciliation: a timer that starts a run when RECONCILE_SCHEDULE says one is due (off when empty).

The run reads RECONCILE_SOURCE, previews, applies only what RECONCILE_AUTO_APPLY allows (never a held plan) and
mails IT the summary (`orchestrator`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.reconciliation.cadence import TICK_SCHEDULE, due_occurrence, scheduled_run_id
from provisioning.reconciliation.routes import start_run
from provisioning.settings import SettingsError
from provisioning.telemetry import log_event

bp = df.Blueprint()
logger = logging.getLogger("provisioning.reconciliation")


@bp.timer_trigger(schedule=TICK_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def scheduled_reconciliation(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start the run for the latest due occurrence of RECONCILE_SCHEDULE, once."""
    try:
        settings = runtime.current().settings
    except SettingsError:
        log_event(logger, "scheduled-reconciliation", level=logging.ERROR, outcome="misconfigured")
        return
    if not settings.reconcile_schedule or not settings.reconcile_source:
        return
    now = datetime.now(UTC)
    occurrence = due_occurrence(settings.reconcile_schedule, now)
    if occurrence is None:
        return
    run_id = scheduled_run_id(occurrence)
    source = {"kind": "connector", "connector": settings.reconcile_source}
    started = await start_run(client, settings, run_id, source, now=now, requested_by="schedule", scheduled=True)
    if started:
        log_event(logger, "scheduled-reconciliation", instance_id=run_id, outcome="started")
