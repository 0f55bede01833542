"""One orchestration per HR system notification: fetch the record, run the HR event, write the email back.

Vendor webhooks carry ids only. This orchestration fetches the employee from the vendor's API (durable retries;
the vendor's Retry-After waited out with durable timers), maps the record to an `HrEvent`, and runs the existing
`hr_event` workflow for it as a sub-orchestration under the event's own instance id, so an event announced by
two notifications runs once. After a hire or rehire is provisioned the work email (and UPN where configured) is
written back to the HR system; a failed writeback is a warning and an IT mail, never a failed hire.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.events import sanitize_instance_id
from provisioning.workflows import contracts as c
from provisioning.workflows.blueprint import bp
from provisioning.workflows.steps import Step, call_retrying

MAX_THROTTLED_WAITS = 30
"""How often one vendor call may be throttled before the run gives up (with the waits, hours of 429s)."""
MAX_THROTTLE_WAIT = timedelta(minutes=30)
VENDOR_TITLES = {"bamboohr": "BambooHR", "hibob": "HiBob", "personio": "Personio"}


class IntakeRun:
    """What the run knows; rebuilt identically on every replay."""

    def __init__(self, context: Any) -> None:
        payload: dict[str, Any] = context.get_input()
        self.context = context
        self.notification: dict[str, Any] = payload["notification"]
        self.options: dict[str, Any] = payload.get("options") or {}
        self.vendor: str = self.notification["vendor"]
        self.title = VENDOR_TITLES.get(self.vendor, self.vendor)
        self.employee_ref: str = self.notification["employee_ref"]
        self.warnings: list[str] = []
        self.event: dict[str, Any] | None = None
        self.stage = "accepted"

    def status(self, stage: str, detail: str | None = None, **extra: Any) -> None:
        self.stage = stage
        status: dict[str, Any] = {
            "stage": stage,
            "source": self.vendor,
            "since": self.context.current_utc_datetime.isoformat(),
        }
        if self.event:
            status.update(eventType=self.event["type"], employeeId=self.event["employee"]["employeeId"])
            status["eventId"] = self.event["eventId"]
        if detail:
            status["detail"] = detail
        status.update(extra)
        self.context.set_custom_status(status)


@bp.orchestration_trigger(context_name="context", orchestration=c.HRIS_NOTIFICATION)
def hris_notification(context: df.DurableOrchestrationContext) -> Step:
    """Fetch, run the HR event, write back."""
    run = IntakeRun(context)
    try:
        return (yield from _run(run))
    except c.WorkflowFailed as failure:
        run.status("failed", f"{failure.code}: {failure.message}")
        raise


def _run(run: IntakeRun) -> Step:
    run.status("fetching", f"reading employee {run.employee_ref} from {run.title}")
    fetched = yield from _vendor_call(run, c.FETCH_HR_EVENT, {"notification": run.notification})
    status = fetched["status"]
    if status == "notFound":
        yield from _fail(
            run,
            c.WorkflowFailed(
                "HrRecordNotFound",
                f"{run.title} does not return employee {run.employee_ref} (404): the record was deleted or the "
                "API user may not see it.",
            ),
        )
    if status == "unauthorized":
        yield from _fail(
            run,
            c.WorkflowFailed(
                "HrApiUnauthorized", f"{run.title} refused the app's API credentials: {fetched['reason']}"
            ),
        )
    if status == "invalid":
        problems = "; ".join(f"{error['field']}: {error['message']}" for error in fetched["errors"])
        yield from _fail(
            run,
            c.WorkflowFailed(
                "HrRecordInvalid",
                f"The {run.title} record of employee {run.employee_ref} is not a valid HR event: {problems}",
            ),
        )

    event: dict[str, Any] = fetched["event"]
    instance_id = sanitize_instance_id(event["eventId"])
    existing = yield call_retrying(run.context, c.GET_INSTANCE_STATE, {"instanceId": instance_id})
    if existing["exists"] and event["type"] in ("hire", "rehire") and existing["runtimeStatus"] == "Completed":
        # The hire this record announces already ran: the change is an update of the account it created.
        event = {key: value for key, value in event.items() if key != "effectiveDate"}
        event.update(type="update", eventId=fetched["updateEventId"])
        instance_id = sanitize_instance_id(event["eventId"])
        existing = yield call_retrying(run.context, c.GET_INSTANCE_STATE, {"instanceId": instance_id})
    run.event = event
    if existing["exists"] and existing["runtimeStatus"] != "Failed":
        run.status("completed", f"{event['type']} {event['eventId']} already accepted")
        return _result(run, "duplicate", instance_id)

    run.status("accepted", f"running {event['type']} {event['eventId']}", eventInstanceId=instance_id)
    try:
        output = yield run.context.call_sub_orchestrator(
            c.HR_EVENT, {"event": event, "options": run.options}, instance_id
        )
    except Exception as child_failure:  # the event failed (it has alerted IT itself) or another run holds it
        failure = c.parse_failure(str(child_failure)) or {"code": "InternalError", "message": ""}
        if "already exists" in str(child_failure):
            run.status("completed", f"{event['type']} {event['eventId']} is already running")
            return _result(run, "duplicate", instance_id)
        raise c.WorkflowFailed(failure["code"], failure["message"]) from None

    result = _result(run, str(output.get("outcome")), instance_id, output)
    if output.get("outcome") == "provisioned" and event["type"] in ("hire", "rehire"):
        result["writeback"] = yield from _write_back(run, output)
    run.status("completed", eventInstanceId=instance_id)
    result["warnings"] = [*output.get("warnings", []), *run.warnings]
    return result


def _write_back(run: IntakeRun, output: dict[str, Any]) -> Step:
    """Tell the HR system the new account's email (and UPN); a failure warns and alerts IT, the hire stands."""
    if not run.options.get("hris_writeback", True):
        return {"status": "disabled"}
    run.status("writing-back", f"writing the work email to {run.title}")
    request = {
        "vendor": run.vendor,
        "employeeRef": run.employee_ref,
        "mail": output.get("mail"),
        "userPrincipalName": output.get("userPrincipalName"),
    }
    written = yield from _vendor_call(
        run, c.WRITE_BACK_TO_HR, request, give_up={"status": "failed", "reason": "throttled too long"}
    )
    if written["status"] != "written":
        reason = f"Writing the work email back to {run.title} failed ({written.get('reason')}); enter it there by hand."
        run.warnings.append(reason)
        yield from _alert(run, "writing-back", "HrWritebackFailed", reason)
    return written


def _vendor_call(run: IntakeRun, activity: str, request: dict[str, Any], give_up: dict[str, Any] | None = None) -> Step:
    """Call a vendor activity, waiting out the vendor's Retry-After with durable timers."""
    for _ in range(MAX_THROTTLED_WAITS):
        answer: dict[str, Any] = yield call_retrying(run.context, activity, request)
        if answer.get("status") != "throttled":
            return answer
        wait = min(timedelta(seconds=max(1.0, float(answer.get("retryAfterSeconds") or 30))), MAX_THROTTLE_WAIT)
        run.status(run.stage, f"{run.title} asked to wait {int(wait.total_seconds())} s (rate limit)")
        yield run.context.create_timer(run.context.current_utc_datetime + wait)
    if give_up is not None:
        return give_up
    yield from _fail(
        run, c.WorkflowFailed("HrApiThrottled", f"{run.title} kept answering 429 / Retry-After; resubmit later.")
    )
    return None  # pragma: no cover - _fail raises


def _fail(run: IntakeRun, failure: c.WorkflowFailed) -> Step:
    """End the run with a code, after telling IT (an alert that cannot be sent does not hide the failure)."""
    run.status("failed", f"{failure.code}: {failure.message}")
    yield from _alert(run, run.stage if run.stage != "failed" else "fetching", failure.code, failure.message)
    raise failure


def _alert(run: IntakeRun, stage: str, code: str, reason: str) -> Step:
    event = run.event or {}
    ids = {
        "eventId": event.get("eventId") or run.context.instance_id,
        "type": event.get("type") or "hr-notification",
        "employeeId": (event.get("employee") or {}).get("employeeId") or run.employee_ref,
    }
    try:
        yield call_retrying(
            run.context,
            c.SEND_NOTIFICATION,
            {
                "kind": "it_alert",
                "instanceId": run.context.instance_id,
                "event": ids,
                "extra": {"stage": stage, "errorCode": code, "reason": reason},
            },
        )
    except Exception:  # the alert failed after its retries; the status still shows the problem
        run.warnings.append(f"IT alert for {code} could not be sent")


def _result(run: IntakeRun, outcome: str, instance_id: str, output: dict[str, Any] | None = None) -> dict[str, Any]:
    event = run.event or {}
    result: dict[str, Any] = {
        "outcome": outcome,
        "source": run.vendor,
        "eventId": event.get("eventId"),
        "eventType": event.get("type"),
        "employeeId": (event.get("employee") or {}).get("employeeId"),
        "eventInstanceId": instance_id,
        "warnings": run.warnings,
    }
    for key in ("userPrincipalName", "mail", "objectId", "samAccountName"):
        if output and output.get(key):
            result[key] = output[key]
    return result
