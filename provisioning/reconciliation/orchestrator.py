"""The reconciliation run and the apply, as durable orchestrations that read like the procedure.

`reconciliation` (instance `recon-<runId>`): read the HR population (a connector's list API; an uploaded roster was
stored by the route), wait until it is stored, compare it with the directory, wait until the plan is stored, hold
the plan when it is over the per-run thresholds, and for a scheduled run apply the classes RECONCILE_AUTO_APPLY
allows and mail IT the summary. Custom status shows the stage and the counts (read, compared, planned) for the
portal; the plan itself lives in entity chunks (`store`), never in history or status.

`reconciliation_apply` (instance `recon-apply-<runId>-<selection>`): start the selected planned changes as ordinary
HR events, in batches, so the second apply of the same selection is the same instance and starts nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import safeguards
from provisioning.reconciliation.activities import HR_PART, PLAN_PART
from provisioning.workflows import contracts as c
from provisioning.workflows.steps import Step, call_retrying

bp = df.Blueprint()

STORE_POLL = timedelta(seconds=2)
STORE_POLLS = 90
"""How long (90 x 2 s) a run waits for its chunk signals to be delivered before it gives up."""
READ_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=15_000, max_number_of_attempts=3)
"""A vendor's 5xx or a network failure mid-read is retried twice; then the run fails with the vendor's error."""
MAX_THROTTLE_WAITS = 20


class RunProgress:
    """Custom status of a run: stage, counts, since when; never an employee's data."""

    def __init__(self, context: Any, run: dict[str, Any]) -> None:
        self._context = context
        self.status: dict[str, Any] = {
            "kind": "reconciliation",
            "runId": run["runId"],
            "source": run["source"]["kind"] if run["source"]["kind"] == "roster" else run["source"]["connector"],
            "scheduled": bool(run.get("scheduled")),
        }

    def enter(self, stage: str, **counts: Any) -> None:
        self.status.update(counts)
        self.status["stage"] = stage
        self.status["since"] = self._context.current_utc_datetime.isoformat()
        self._context.set_custom_status(self.status)


@bp.orchestration_trigger(context_name="context", orchestration=c.RECONCILIATION)
def reconciliation(context: df.DurableOrchestrationContext) -> Step:
    run: dict[str, Any] = context.get_input()
    progress = RunProgress(context, run)
    now = context.current_utc_datetime.isoformat()  # the run's clock: who has started, who has left by now
    try:
        result = yield from _run(context, run, progress, now)
    except c.WorkflowFailed as failure:
        progress.enter("failed", error={"code": failure.code, "message": failure.message})
        raise
    except Exception as unexpected:  # an activity failed after its retries
        message = str(unexpected).strip().splitlines()[0][:500] if str(unexpected).strip() else "unknown error"
        progress.enter("failed", error={"code": "ActivityFailed", "message": message})
        raise c.WorkflowFailed("ActivityFailed", message) from None
    return result


def _run(context: Any, run: dict[str, Any], progress: RunProgress, now: str) -> Step:
    run_id = run["runId"]
    source = run["source"]

    # 1. The HR population: read from the HR system, or the roster the route stored.
    if source["kind"] == "connector":
        progress.enter("reading")
        read = yield from _read_connector(context, run_id, source["connector"], now)
        hr_tags = read["tags"]
        progress.enter("reading", hrRecords=read["records"], hrProblems=read["problems"])
    else:
        hr_tags = source["tags"]
        progress.enter("reading", hrRecords=source["records"], rosterRows=source["rows"], skippedRows=source["skipped"])
    yield from _wait_stored(context, run_id, HR_PART, hr_tags)

    # 2. Compare with the directory (pages of 999) and store the plan.
    progress.enter("comparing")
    compared: dict[str, Any] = yield call_retrying(
        context,
        c.RECON_COMPARE,
        {"runId": run_id, "hrTags": hr_tags, "policy": run["policy"], "now": now},
    )
    summary = compared["summary"]
    yield from _wait_stored(context, run_id, PLAN_PART, compared["planTags"])

    # 3. Safeguards on the whole run: over a threshold, the plan waits for an explicit approval.
    limits = safeguards.RunLimits.from_dict(run.get("limits"))
    reasons = safeguards.run_hold_reasons(summary["changes"], accounts=summary["enabledAccountsInScope"], limits=limits)
    stage = "held" if reasons else "planned"
    progress.enter(stage, summary=summary, holdReasons=reasons, directoryPages=compared["directoryPages"])
    result: dict[str, Any] = {
        "runId": run_id,
        "stage": stage,
        "plannedAt": now,
        "summary": summary,
        "holdReasons": reasons,
        "hrTags": hr_tags,
        "planTags": compared["planTags"],
        "directoryPages": compared["directoryPages"],
    }

    # 4. A scheduled run applies what RECONCILE_AUTO_APPLY allows (never a held plan) and tells IT.
    if run.get("scheduled"):
        classes = list(run.get("autoApply") or [])
        applied = None
        if classes and not reasons:
            progress.enter("applying")
            applied = yield call_retrying(
                context,
                c.RECON_START_EVENTS,
                {"runId": run_id, "planTags": compared["planTags"], "classes": classes, "approvedBy": "schedule"},
            )
            result["autoApplied"] = {key: applied.get(key) for key in ("events", "started", "existing", "batches")}
        yield call_retrying(
            context,
            c.SEND_NOTIFICATION,
            {
                "kind": "reconciliation_summary",
                "instanceId": context.instance_id,
                "extra": {
                    "runId": run_id,
                    "source": progress.status["source"],
                    "stage": stage,
                    "summary": summary,
                    "holdReasons": reasons,
                    "autoApply": classes,
                    "autoApplied": result.get("autoApplied"),
                },
            },
        )
        progress.enter("applied" if applied else stage)
    return result


def _read_connector(context: Any, run_id: str, name: str, now: str) -> Step:
    for _ in range(MAX_THROTTLE_WAITS):
        try:
            read: dict[str, Any] = yield context.call_activity_with_retry(
                c.RECON_READ_CONNECTOR, READ_RETRY, {"runId": run_id, "connector": name, "now": now}
            )
        except Exception as failure:  # the vendor kept failing: the run fails with its error, nothing is applied
            text = str(failure).strip().splitlines()[0][:500] if str(failure).strip() else "the HR system failed"
            raise c.WorkflowFailed("SourceFailed", text) from None
        if read["status"] == "read":
            return read
        if read["status"] == "failed":
            raise c.WorkflowFailed("SourceFailed", str(read.get("reason")))
        wait = timedelta(seconds=max(1.0, float(read.get("retryAfterSeconds") or 30)))
        yield context.create_timer(context.current_utc_datetime + wait)
    raise c.WorkflowFailed("SourceThrottled", f"the {name} API kept throttling the read")


def _wait_stored(context: Any, run_id: str, part: str, tags: list[str]) -> Step:
    """Wait until every chunk signal of a write has reached its entity (delivery is asynchronous)."""
    for _ in range(STORE_POLLS):
        stored: dict[str, Any] = yield call_retrying(
            context, c.RECON_CHUNKS_STORED, {"runId": run_id, "part": part, "tags": tags}
        )
        if not stored["missing"]:
            return
        yield context.create_timer(context.current_utc_datetime + STORE_POLL)
    raise c.WorkflowFailed("ChunksNotStored", f"the run's {part} chunks were not stored within three minutes")


@bp.orchestration_trigger(context_name="context", orchestration=c.RECONCILIATION_APPLY)
def reconciliation_apply(context: df.DurableOrchestrationContext) -> Step:
    """Start the selected planned changes as HR events (in batches of up to 1,000)."""
    request: dict[str, Any] = context.get_input()
    context.set_custom_status({"kind": "reconciliation-apply", "runId": request["runId"], "stage": "starting"})
    started: dict[str, Any] = yield call_retrying(context, c.RECON_START_EVENTS, request)
    context.set_custom_status(
        {"kind": "reconciliation-apply", "runId": request["runId"], "stage": "started", **_counts(started)}
    )
    return started


def _counts(started: dict[str, Any]) -> dict[str, Any]:
    return {key: started.get(key) for key in ("events", "started", "existing", "batches")}
