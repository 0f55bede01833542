"""Upload a record and wait for what became of it: the provisioning log's verdict and, for an account that must
sign in, the account synced into Entra ID.

The provisioning service reports minutes after an upload, and Entra Connect sync adds its own delay. How the event
learns of both is SYNC_WAIT_MODE: `watch` (default) registers with the sync watch (provisioning.sync_watch) and
waits for the watcher's notice; `poll` polls both with backoff itself; `fixed` waits out the deadline and looks once.
Every mode races one durable deadline (SYNC_TIMEOUT_MINUTES) started at the upload, and at that deadline the event
always looks for itself, so a watcher outage never loses an event. A name conflict becomes a retry with another
name, every other failure the event's failure code. Used by every path that writes (hr_event, lifecycle).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from provisioning import sync_watch
from provisioning.workflows import contracts as c
from provisioning.workflows.steps import Step, call_retrying, cancel_timer, decoded, poll_delays, upload_record


def upload_and_await(run: Any, spec: dict[str, Any], *, expect_user: bool, require_enabled: bool = False) -> Step:
    """Upload, then watch the provisioning logs (and, for accounts that must sign in, Entra) until settled.

    The provisioning outcome and the Entra Connect sync race one durable deadline timer started at the upload
    (SYNC_TIMEOUT_MINUTES). In `fixed` mode the seed workflow's behaviour is reproduced: wait out the deadline,
    then look once. Returns `{"status": "success"|"conflict", "user"?, ...}` or raises WorkflowFailed.
    """
    context, options = run.context, run.options
    run.progress.enter("uploading")
    notice = None
    if options.sync_wait_mode == "watch":
        # Registered before the upload: the watcher's directory change link must predate the account's creation.
        notice = yield from _watch(run, expect_user=expect_user, require_enabled=require_enabled)
    run.enqueued = True
    upload = yield from upload_record(context, spec, run.group)
    run.mark("uploadedAt")
    submitted_at: str = upload["submittedAt"]
    run.submitted_at = submitted_at
    deadline_at = run.now() + timedelta(minutes=options.sync_timeout_minutes)
    deadline = context.create_timer(deadline_at)
    check_input = {
        "employeeId": run.employee_id,
        "submittedAt": submitted_at,
        "expectUser": expect_user,
        "requireEnabled": require_enabled,
        "expectedActive": spec.get("active"),
        "ignoreLogIds": list(run.settled_log_ids),
    }
    run.progress.enter("awaiting-provisioning")
    seen_log: dict[str, Any] | None = None
    if options.sync_wait_mode == "fixed":
        yield deadline
        check = yield call_retrying(context, c.CHECK_PROVISIONING, check_input)
        return _settle(run, check, seen_log=check.get("log"), deadline_passed=True)
    if notice is not None:
        shard = sync_watch.shard(context.instance_id)
        context.signal_entity(shard, "uploaded", {"instanceId": context.instance_id, "submittedAt": submitted_at})
        settled = yield from _await_notices(run, notice, deadline_at, check_input)
        stop_watching(run)
        return settled

    for delay in poll_delays(options.poll_initial_seconds, options.poll_max_seconds):
        poll = context.create_timer(min(run.now() + delay, deadline_at))
        winner = yield context.task_any([poll, deadline])
        if winner is deadline:
            check = yield call_retrying(context, c.CHECK_PROVISIONING, check_input)
            return _settle(run, check, seen_log=seen_log or check.get("log"), deadline_passed=True)
        poll_check: dict[str, Any] = yield call_retrying(context, c.CHECK_PROVISIONING, check_input)
        seen_log = poll_check.get("log") or seen_log
        settled = _settle(run, poll_check, seen_log=seen_log, deadline_passed=False)
        if settled is not None:
            cancel_timer(deadline)
            return settled
        if seen_log and seen_log.get("status") in ("success", "skipped") and run.progress.stage != "awaiting-sync":
            run.mark("provisionedAt")
            run.progress.enter("awaiting-sync")
    raise AssertionError("unreachable: poll_delays never ends")  # pragma: no cover


def _watch(run: Any, *, expect_user: bool, require_enabled: bool) -> Step:
    """Register what this upload attempt waits for with the sync watch; returns the notice's event name.

    The coordinator counts the event and starts a watcher when none runs; the registration itself goes to the
    event's registry shard. Each attempt (a re-upload after a name conflict) has its own notice name, so a late
    notice about an earlier attempt cannot be taken for this one.
    """
    context = run.context
    if not run.watching:
        ticket = yield context.call_entity(
            sync_watch.COORDINATOR,
            "register",
            {"at": run.now().isoformat(), "intervalSeconds": run.options.sync_watch_interval_seconds},
        )
        run.watching = True
        run.watch_primed = bool(ticket.get("primed"))
        if ticket.get("startWatcher"):
            yield call_retrying(context, c.START_SYNC_WATCHER, {"instanceId": ticket["startWatcher"]})
    run.watch_attempts += 1
    notice = f"{c.EVENT_SYNC_NOTICE_PREFIX}{run.watch_attempts}"
    registration = {
        "instanceId": context.instance_id,
        "employeeId": run.employee_id,
        "notice": notice,
        "expectUser": expect_user,
        "requireEnabled": require_enabled,
        "ignoreLogIds": list(run.settled_log_ids),
        "registeredAt": run.now().isoformat(),
        "submittedAt": None,
        "direct": not run.watch_primed,
    }
    context.signal_entity(sync_watch.shard(context.instance_id), "watch", registration)
    return notice


def stop_watching(run: Any) -> None:
    """Leave the sync watch (fire and forget): the event settled, failed or ended."""
    if not getattr(run, "watching", False):
        return
    context = run.context
    context.signal_entity(sync_watch.shard(context.instance_id), "unwatch", {"instanceId": context.instance_id})
    context.signal_entity(sync_watch.COORDINATOR, "unregister", {})
    run.watching = False


def _await_notices(run: Any, notice: str, deadline_at: Any, check_input: dict[str, Any]) -> Step:
    """Wait for the watcher's notices until they settle the upload, or until the deadline, then look once.

    A notice carries what the watcher saw for this event (a provisioning-log verdict, the account); what an earlier
    notice said about the log is kept, so an account reported later is judged together with it. Each wait races a
    timer of its own at the same deadline (the previous one cancelled): a WhenAny that reuses a timer scheduled by
    an earlier WhenAny sends the host only its new child, which a host that replays actions in order takes for a
    wait on the notice alone, and the deadline would never be seen.
    """
    context = run.context
    seen_log: dict[str, Any] | None = None
    while True:
        arrived = context.wait_for_external_event(notice)
        deadline = context.create_timer(deadline_at)
        winner = yield context.task_any([arrived, deadline])
        if winner is deadline:
            check = yield call_retrying(context, c.CHECK_PROVISIONING, check_input)
            return _settle(run, check, seen_log=seen_log or check.get("log"), deadline_passed=True)
        cancel_timer(deadline)
        told: dict[str, Any] = decoded(arrived.result) or {}
        log = told.get("log")
        if log and log.get("id") not in run.settled_log_ids:
            seen_log = log
        check = {**told, "log": seen_log, "expectUser": check_input["expectUser"]}
        settled = _settle(run, check, seen_log=seen_log, deadline_passed=False)
        if settled is not None:
            return settled
        if seen_log and seen_log.get("status") in ("success", "skipped") and run.progress.stage != "awaiting-sync":
            run.mark("provisionedAt")
            run.progress.enter("awaiting-sync")


def _settle(
    run: Any, check: dict[str, Any], *, seen_log: dict[str, Any] | None, deadline_passed: bool
) -> dict[str, Any] | None:
    """Turn one provisioning check into a decision: done, retry with another name, fail, or keep waiting."""
    log = check.get("log") or {}
    status = log.get("status")
    if status == "failure":
        if log.get("conflict"):
            if log.get("id"):
                run.settled_log_ids.append(str(log["id"]))
            return {"status": "conflict", "errorCode": log.get("errorCode"), "reason": log.get("reason")}
        raise c.WorkflowFailed(
            str(log.get("errorCode") or "ProvisioningFailed"),
            str(log.get("reason") or "The provisioning service reported a failure for this record."),
        )
    if status == "skipped" and log.get("reasonCode") == "UnableToResolveReferenceAttributeValue":
        warning = "the provisioning service could not resolve the manager yet; it links the manager later"
        if warning not in run.warnings:
            run.warnings.append(warning)
    if check.get("user") is not None:
        run.mark("syncedAt")
        if check.get("syncWarning") and check["syncWarning"] not in run.warnings:
            run.warnings.append(check["syncWarning"])
        return {"status": "success", "user": check["user"], "log": log}
    if not check.get("expectUser", True) and status in ("success", "skipped"):
        return {"status": "success", "user": None, "log": log}
    if not deadline_passed:
        return None
    minutes = run.options.sync_timeout_minutes
    if not seen_log:
        raise c.WorkflowFailed(
            "SyncDeadlineNoProvisioningLog",
            f"No provisioning log entry for this record within {minutes} minutes: the provisioning agent is "
            "offline, or the provisioning job is paused or in quarantine.",
        )
    raise c.WorkflowFailed(
        "SyncDeadlineEntraUserMissing",
        f"The provisioning service reported {seen_log.get('status')}, but the account did not appear in Entra ID "
        f"within {minutes} minutes: Entra Connect sync is late or the account is out of its sync scope.",
    )
