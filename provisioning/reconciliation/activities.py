"""The activities of a reconciliation run: read the HR population, compare it with the directory, start the changes.

Each reads and writes the big data itself (entity chunks, `store`) and returns only counts and chunk tags, so the
orchestration's history stays small however large the population. No result carries a secret.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import azure.durable_functions as df

from provisioning import runtime
from provisioning.events import MAX_BATCH_EVENTS, parse_event
from provisioning.intake.hr_api import submission
from provisioning.intake.notifications import Notification
from provisioning.intake.records import map_record
from provisioning.intake.registry import connector
from provisioning.intake.vendor_http import VendorThrottled, VendorUnauthorized
from provisioning.reconciliation import report, store
from provisioning.reconciliation.drift import Decisions, reconcile
from provisioning.reconciliation.population import ACCOUNT_SELECT, HrPerson, Policy
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import workflow_options
from provisioning.workflows.steps import decoded

bp = df.Blueprint()
logger = logging.getLogger("provisioning.reconciliation")

HR_PART = "hr"
PLAN_PART = "plan"


@bp.activity_trigger(input_name="request", activity=c.RECON_READ_CONNECTOR)
@bp.durable_client_input(client_name="client")
async def reconcile_read_connector(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Read every employee from an HR system's list API and store them as the run's population.

    A refused credential or a long throttle comes back as a status (no retry helps the first; the orchestration
    waits out the second); any other vendor failure raises, so Durable retries and then the run fails with the
    vendor's error. Nothing is applied from a run whose read failed; a rerun reads from the start.
    """
    rt = runtime.current()
    settings = rt.settings
    vendor = connector(request["connector"])
    if not vendor.enabled(settings):
        return {"status": "failed", "reason": f"the {vendor.title} connector is not enabled"}
    if rt.secrets is None:
        return {"status": "failed", "reason": "KEY_VAULT_URL is required for the HR system connectors"}
    now = datetime.fromisoformat(request["now"])
    today = now.astimezone(ZoneInfo(settings.default_time_zone)).date()
    reader = rt.secrets.get

    def read() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for record in vendor.list_employees(settings, reader):
            ref = record.employee_id or "unknown"
            notification = Notification(vendor.name, f"reconcile-{request['runId']}", "updated", ref, None)
            mapped = map_record(record, notification, kind="updated", today=today)
            source = f"{vendor.title} employee {ref}"
            if mapped.event is not None:
                items.append(HrPerson.from_event(mapped.event, source).to_json())
            else:
                errors = [error.as_dict() for error in mapped.errors]
                items.append({"problem": {"employeeId": record.employee_id, "source": source, "errors": errors}})
        return items

    try:
        items = await asyncio.to_thread(read)
    except VendorThrottled as throttled:
        return {"status": "throttled", "retryAfterSeconds": throttled.retry_after}
    except VendorUnauthorized as refused:
        return {"status": "failed", "reason": str(refused)}
    tags = await store.write_chunks(client, request["runId"], HR_PART, items)
    problems = sum(1 for item in items if "problem" in item)
    log_event(logger, "reconcile-read", instance_id=request["runId"], operation=vendor.name, count=len(items))
    return {"status": "read", "records": len(items), "problems": problems, "tags": tags}


@bp.activity_trigger(input_name="request", activity=c.RECON_CHUNKS_STORED)
@bp.durable_client_input(client_name="client")
async def reconcile_chunks_stored(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Which chunks of a write have not reached their entities yet (signals are delivered asynchronously)."""
    missing = await store.missing_chunks(client, request["runId"], request["part"], request["tags"])
    return {"missing": missing}


@bp.activity_trigger(input_name="request", activity=c.RECON_COMPARE)
@bp.durable_client_input(client_name="client")
async def reconcile_compare(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Read the directory in pages of 999, compare it with the stored population, store the plan and its cases."""
    rt = runtime.current()
    run_id = request["runId"]
    items = await store.read_chunks(client, run_id, HR_PART, request["hrTags"])
    if items is None:
        raise LookupError("the run's HR population is not stored completely yet")
    people = [HrPerson.from_json(item) for item in items if "problem" not in item]
    problems = [item["problem"] for item in items if "problem" in item]
    state = await client.read_entity_state(store.CASES)
    rejected, confirmed = store.decisions_of(decoded(state.entity_state) if state and state.entity_exists else None)
    policy = Policy.from_dict(request["policy"])

    def compare() -> tuple[Any, int]:
        accounts: list[dict[str, Any]] = []
        pages = 0
        for page in rt.graph.list_user_pages(select=ACCOUNT_SELECT, top=999):
            pages += 1
            accounts.extend(page)
        plan = reconcile(
            people,
            accounts,
            policy=policy,
            names=rt.settings.name_policy(),
            now=datetime.fromisoformat(request["now"]),
            decisions=Decisions(rejected, confirmed),
            hr_problems=problems,
        )
        return plan, pages

    plan, pages = await asyncio.to_thread(compare)
    tags = await store.write_chunks(client, run_id, PLAN_PART, plan.entries)
    await client.signal_entity(
        store.CASES, "replace", {"runId": run_id, "runAt": request["now"], "open": store.open_cases_of(plan.entries)}
    )
    log_event(logger, "reconcile-compare", instance_id=run_id, count=len(plan.entries))
    return {"summary": plan.summary, "planTags": tags, "directoryPages": pages}


@bp.activity_trigger(input_name="request", activity=c.RECON_START_EVENTS)
@bp.durable_client_input(client_name="client")
async def reconcile_start_events(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Start the selected planned changes as ordinary HR events, in batches of up to 1,000 (safe to repeat).

    Each event's id is derived from the run and the employee (`report.event_id`), so an event that already runs
    is left alone: a second apply starts nothing.
    """
    rt = runtime.current()
    run_id = request["runId"]
    entries = await store.read_chunks(client, run_id, PLAN_PART, request["planTags"])
    if entries is None:
        raise LookupError("the run's plan is not stored completely")
    selection = report.select(entries, employee_ids=request.get("employeeIds"), classes=request.get("classes"))
    events = [parse_event(report.event_for(run_id, entry)) for entry in selection.entries]
    options = request.get("options") or workflow_options(rt.settings).to_dict()
    batches: list[str] = []
    started = existing = 0
    for first in range(0, len(events), MAX_BATCH_EVENTS):
        chunk = list(enumerate(events[first : first + MAX_BATCH_EVENTS]))
        outcome = await submission.start_batch(client, chunk, options)
        started += outcome["accepted"]
        existing += len(outcome["duplicates"])
        if outcome["id"]:
            batches.append(outcome["id"])
    log_event(logger, "reconcile-apply", instance_id=run_id, outcome=request.get("approvedBy"), count=started)
    return {"events": len(events), "started": started, "existing": existing, "batches": batches}
