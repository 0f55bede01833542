"""One orchestration per HR event: hire, update (mover), termination (leaver), rehire and leave of absence
(docs/design.md, "Workflows").

Read `hr_event` top to bottom and it is the workflow: settle the time zone, deal with a pending hire, schedule,
hold, resolve, then the path for the event's type. Every Graph and Key Vault call lives in an activity; this module
decides, waits and records.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import schedule
from provisioning.workflows import contracts as c
from provisioning.workflows import lifecycle, pending_hire
from provisioning.workflows.blueprint import bp
from provisioning.workflows.employee_record import record_id
from provisioning.workflows.plan import decide_action, effective_instant, scim_record
from provisioning.workflows.progress import Progress
from provisioning.workflows.steps import (
    QUEUE,
    Step,
    call_retrying,
    cancel_timer,
    poll_delays,
    release_reservations,
    reserve_names,
    upload_record,
    wait_for_events,
)
from provisioning.workflows.time_zone import settle_zone

WATERMARK = c.EMPLOYEE_WATERMARK
BREAKER = df.EntityId(c.TERMINATION_BREAKER, c.SINGLETON_KEY)


class EventRun:
    """The state one orchestration carries between steps (rebuilt identically on every replay)."""

    def __init__(self, context: Any) -> None:
        payload: dict[str, Any] = context.get_input()
        self.payload = payload
        self.context = context
        self.event: dict[str, Any] = payload["event"]
        self.options = c.WorkflowOptions.from_dict(payload.get("options"))
        self.group: str | None = payload.get("group")
        self.employee: dict[str, Any] = self.event["employee"]
        self.employee_id: str = self.employee["employeeId"]
        self.progress = Progress(context, self.event)
        self.warnings: list[str] = list(payload.get("warnings") or [])
        self.reserved: list[str] = []
        self.enqueued = False
        self.settled_log_ids: list[str] = []
        """Provisioning-log entries already acted on (a conflict), so a re-upload is judged by its own entry."""
        self.timings: dict[str, str] = {
            "acceptedAt": payload.get("acceptedAt") or context.current_utc_datetime.isoformat()
        }
        self.zone = schedule.zone(self.employee.get("timeZone"), self.options.default_time_zone)
        self.amended_by: list[str] = list(payload.get("amendedBy") or [])
        """Events that amended this pending hire before it started (see pending_hire)."""

    def carry_over(self) -> dict[str, Any]:
        """The input of this run's next execution (a hire that continues as new after its start date moved)."""
        return {
            **self.payload,
            "event": self.event,
            "amendedBy": self.amended_by,
            "warnings": self.warnings,
            "acceptedAt": self.timings["acceptedAt"],
        }

    def use_zone(self, choice: dict[str, str]) -> None:
        """Schedule in `choice` from now on and show it, with its source, in the custom status."""
        self.zone = schedule.zone(choice["name"], self.options.default_time_zone)
        self.progress.time_zone = choice

    @property
    def zone_name(self) -> str:
        return self.progress.time_zone["name"] if self.progress.time_zone else self.zone.key

    def now(self) -> datetime:
        return self.context.current_utc_datetime  # type: ignore[no-any-return]

    def mark(self, name: str) -> None:
        self.timings[name] = self.now().isoformat()


@bp.orchestration_trigger(context_name="context", orchestration=c.HR_EVENT)
def hr_event(context: df.DurableOrchestrationContext) -> Step:
    """Run one HR event from acceptance to a provisioned, updated or disabled account."""
    run = EventRun(context)
    if not context.get_input().get("acceptedAt"):
        run.progress.enter("accepted")
    # No try/finally: a generator abandoned mid-replay runs its finally block, which would schedule actions.
    try:
        result = yield from _run(run)
    except c.WorkflowFailed as failure:
        _let_go(run)
        yield from _fail(run, failure)
        raise
    except Exception as unexpected:  # an activity failed after its retries: report it the same way
        _let_go(run)
        activity_failure = c.WorkflowFailed("ActivityFailed", _first_line(str(unexpected)))
        yield from _fail(run, activity_failure)
        raise activity_failure from None
    if result is None:  # continued as new: the next execution carries on (and keeps its reservations)
        return None
    _let_go(run)
    # The final stage is published in the same step that records the output, never before a durable step, so the
    # status API cannot show `completed` while the output is still missing.
    run.progress.enter(_final_stage(result["outcome"]))
    return result


def _let_go(run: EventRun) -> None:
    """Release this event's name reservations, its place in a batch, and (a hire) its place as the pending hire."""
    release_reservations(run.context, run.reserved)
    if run.group and not run.enqueued:
        run.context.signal_entity(QUEUE, "leave", {"group": run.group})
    if run.event["type"] in ("hire", "rehire"):
        run.context.signal_entity(record_id(run.employee_id), "hire-ended", {"instanceId": run.context.instance_id})


def _run(run: EventRun) -> Step:
    context, event = run.context, run.event

    # 1. The employee's zone: from the event, its country, an earlier event, the account, or the default.
    run.use_zone((yield from settle_zone(context, event, run.options.default_time_zone)))

    # 2. A hire still waiting for its start is amended or withdrawn rather than raced (pending_hire).
    if event["type"] in ("hire", "rehire"):
        early = yield from pending_hire.before_start(run)
    else:
        early = yield from pending_hire.settle_with_pending_hire(run)
    if early is not None:
        if early[0] == pending_hire.CONTINUED:
            return None
        return _finish(run, early[0], **early[1])

    # 3. Schedule: wait, rescindably, for the moment the event takes effect (a hire waited in step 2).
    when = effective_instant(event, run.options, run.zone)
    if event["type"] not in ("hire", "rehire") and when is not None and when > run.now():
        run.progress.enter("scheduled", detail=f"until {when.isoformat()}")
        name, _ = yield from wait_for_events(context, when, (c.rescind_event("scheduled"),))
        if name is not None:
            return _finish(run, "cancelled")

    # 4. Mass-termination breaker: a burst of leavers waits for a human.
    if event["type"] == "termination":
        admitted = yield context.call_entity(
            BREAKER,
            "admit",
            {
                "instanceId": context.instance_id,
                "at": run.now().isoformat(),
                "limit": run.options.termination_breaker_limit,
            },
        )
        if admitted != "admitted":
            run.progress.enter("held", detail="mass-termination breaker: approve or rescind")
            yield call_retrying(
                context,
                c.SEND_NOTIFICATION,
                {"kind": "held_for_approval", "instanceId": context.instance_id, "event": _event_ids(run)},
            )
            name, _ = yield from wait_for_events(context, None, (c.EVENT_APPROVE, c.rescind_event("held")))
            context.signal_entity(BREAKER, "release", context.instance_id)
            if name != c.EVENT_APPROVE:
                return _finish(run, "cancelled")

    # 5. Ordering: an event older than one already applied for this employee must not overwrite it.
    watermark = df.EntityId(WATERMARK, run.employee_id)
    verdict = yield context.call_entity(watermark, "check", {"occurredAt": event.get("occurredAt")})
    if verdict == "stale":
        return _finish(run, "superseded")

    # 6. Resolve the person in Entra; a hire for an existing account becomes an update or a rehire.
    run.progress.enter("resolving")
    person: dict[str, Any] | None = yield call_retrying(context, c.RESOLVE_PERSON, {"employeeId": run.employee_id})
    action, warning = decide_action(event["type"], person, update_creates_missing=run.options.update_creates_missing)
    if warning:
        run.warnings.append(warning)
    if action != event["type"]:
        run.progress.retype(action)

    result = yield from _act(run, action, person or {})

    yield context.call_entity(watermark, "apply", {"occurredAt": event.get("occurredAt"), "eventId": event["eventId"]})
    return result


def _act(run: EventRun, action: str, person: dict[str, Any]) -> Step:
    """The path for what the event turned out to be, given the account Entra holds."""
    if action in ("hire", "rehire-new"):
        return (yield from _provision_new_account(run))
    paths = {
        "rehire": _reactivate,
        "update": _update,
        "termination": _terminate,
        "leave-of-absence": lifecycle.start_leave,
        "return-from-leave": lifecycle.return_from_leave,
    }
    result = yield from paths[action](run, person)
    if action in ("termination", "rehire"):
        # Someone who left, or came back as a rehire, is no longer on a leave a late return could end.
        run.context.signal_entity(record_id(run.employee_id), "leave-ended", {"eventId": run.event["eventId"]})
    return result


# -- hire --------------------------------------------------------------------------------------------------------


def _provision_new_account(run: EventRun) -> Step:
    """Hire (or rehire with no account left): names, manager, upload, outcome, sync, credential, notify."""
    context = run.context
    tried: list[str] = []
    names, run.reserved, name_warnings = yield from reserve_names(context, run.progress, run.employee, tried)
    run.warnings.extend(name_warnings)
    manager = yield from _resolve_manager(run)
    yield from _preflight(run)

    while True:
        record = scim_record(run.event, run.options, names=names, existing=None, active=True)
        outcome = yield from _upload_and_await(run, record, expect_user=True)
        if outcome["status"] != "conflict":
            break
        names = yield from next_name_after_conflict(run, outcome, names, tried, run.employee)

    return (yield from _welcome(run, outcome["user"], manager, names["samAccountName"]))


def next_name_after_conflict(
    run: EventRun,
    outcome: dict[str, Any],
    names: dict[str, Any],
    tried: list[str],
    naming_input: dict[str, Any],
    *,
    owner_id: str | None = None,
) -> Step:
    """AD reported the name taken: reserve the next candidate, or fail once NAME_CONFLICT_RETRIES are spent."""
    if run.progress.attempt > run.options.name_conflict_retries:
        raise c.WorkflowFailed(
            "NameConflictsExhausted",
            f"Active Directory reported a name conflict {run.progress.attempt} times "
            f"(last: {outcome.get('errorCode')}).",
        )
    run.warnings.append(f"{names['userPrincipalName']} is taken in Active Directory; trying the next name")
    tried.append(names["userPrincipalName"])
    release_reservations(run.context, run.reserved)
    run.progress.attempt += 1
    names, run.reserved, name_warnings = yield from reserve_names(
        run.context, run.progress, naming_input, tried, owner_id=owner_id
    )
    run.warnings.extend(name_warnings)
    return names


# -- rehire -----------------------------------------------------------------------------------------------------


def _reactivate(run: EventRun, person: dict[str, Any]) -> Step:
    """Rehire of a disabled account: keep its UPN and mail, enable it with the new record."""
    manager = yield from _resolve_manager(run)
    yield from _preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    names = _existing_names(person)
    record = scim_record(run.event, run.options, names=names, existing=person, active=True)
    outcome = yield from _upload_and_await(run, record, expect_user=True, require_enabled=True)
    if outcome["status"] == "conflict":
        raise c.WorkflowFailed("NameConflict", str(outcome.get("reason") or "Active Directory reported a conflict."))
    return (yield from _welcome(run, outcome["user"], manager, person.get("onPremisesSamAccountName")))


def _welcome(run: EventRun, user: dict[str, Any], manager: dict[str, Any] | None, sam: str | None) -> Step:
    """The end of a hire or rehire: first credential, the account's details, the welcome email, the output."""
    credential = yield from _first_credential(run, user, manager)
    details = yield from _details(run, user)
    notified = yield from _notify(run, "welcome", details, manager)
    return _finish(
        run,
        "provisioned",
        userPrincipalName=details.get("userPrincipalName"),
        mail=details.get("mail"),
        objectId=details.get("id"),
        samAccountName=details.get("onPremisesSamAccountName") or sam,
        credential=credential,
        notified=notified + credential_recipients(credential),
    )


# -- update (mover) ---------------------------------------------------------------------------------------------


def _update(run: EventRun, person: dict[str, Any]) -> Step:
    """Mover: upload the full merged record with the existing names; tell a new manager. A legal name change keeps
    the UPN and mail unless RENAME_ON_NAME_CHANGE is on (lifecycle.rename); a new employee type keeps the account."""
    new_manager_id = run.employee.get("managerEmployeeId")
    manager_changed = bool(new_manager_id) and new_manager_id != person.get("managerEmployeeId")
    manager = (yield from _resolve_manager(run)) if manager_changed else None
    yield from _preflight(run)
    name_changed = lifecycle.name_changed(run.employee, person)
    renamed = None
    if name_changed and run.options.rename_on_name_change:
        renamed = yield from lifecycle.rename(run, person)
    if renamed is None:
        run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
        record = scim_record(
            run.event,
            run.options,
            names=_existing_names(person),
            existing=person,
            active=bool(person.get("accountEnabled", True)),
        )
        yield from _upload_and_await(run, record, expect_user=False)
    notified: list[str] = []
    if manager_changed:
        notified = yield from _notify(run, "manager_changed", person, manager)
    names = renamed or {"userPrincipalName": person.get("userPrincipalName"), "mail": person.get("mail")}
    return _finish(
        run,
        "updated",
        userPrincipalName=names["userPrincipalName"],
        mail=names["mail"],
        objectId=person.get("id"),
        managerChanged=manager_changed,
        nameChange=("renamed" if renamed else "kept") if name_changed else None,
        previousUserPrincipalName=person.get("userPrincipalName") if renamed else None,
        converted=lifecycle.conversion(run.employee, person),
        notified=notified,
    )


# -- termination (leaver) ---------------------------------------------------------------------------------------


def _terminate(run: EventRun, person: dict[str, Any]) -> Step:
    """Leaver: disable with the full record (never delete), revoke sessions, tell the manager and IT."""
    yield from _preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    record = scim_record(run.event, run.options, names=_existing_names(person), existing=person, active=False)
    yield from _upload_and_await(run, record, expect_user=False)
    revoked = False
    if run.options.revoke_sessions and person.get("id"):
        yield call_retrying(run.context, c.REVOKE_SESSIONS, {"userId": person["id"]})
        revoked = True
    manager = yield from _resolve_manager(run, employee_id=person.get("managerEmployeeId"))
    notified = yield from _notify(run, "termination", person, manager, extra={"sessionsRevoked": revoked})
    return _finish(
        run,
        "disabled",
        userPrincipalName=person.get("userPrincipalName"),
        objectId=person.get("id"),
        sessionsRevoked=revoked,
        notified=notified,
    )


# -- shared steps -----------------------------------------------------------------------------------------------


def _resolve_manager(run: EventRun, employee_id: str | None = None) -> Step:
    """The manager's Entra account, for notifications; missing is a warning, not a failure."""
    manager_id = employee_id or run.employee.get("managerEmployeeId")
    if not manager_id:
        return None
    manager: dict[str, Any] | None = yield call_retrying(
        run.context, c.RESOLVE_MANAGER, {"managerEmployeeId": manager_id}
    )
    if manager is None:
        run.warnings.append(f"manager {manager_id} was not found in Entra; notifications go to IT")
    return manager


def _preflight(run: EventRun) -> Step:
    """Fail fast, before writing anything, when the Graph token lacks a permission this workflow needs."""
    run.progress.enter("preflight")
    facts = yield call_retrying(run.context, c.PREFLIGHT, {"credentialMethod": run.options.credential_method})
    missing = facts.get("missingRoles") or []
    if missing:
        raise c.WorkflowFailed(
            "MissingGraphPermissions",
            "The app's identity lacks Microsoft Graph application permission(s): " + ", ".join(missing),
        )
    return facts


def _upload_and_await(
    run: EventRun, record: dict[str, Any], *, expect_user: bool, require_enabled: bool = False
) -> Step:
    """Upload, then watch the provisioning logs (and, for accounts that must sign in, Entra) until settled.

    The provisioning outcome and the Entra Connect sync race one durable deadline timer started at the upload
    (SYNC_TIMEOUT_MINUTES). In `fixed` mode the seed workflow's behaviour is reproduced: wait out the deadline,
    then look once. Returns `{"status": "success"|"conflict", "user"?, ...}` or raises WorkflowFailed.
    """
    context, options = run.context, run.options
    run.progress.enter("uploading")
    run.enqueued = True
    upload = yield from upload_record(context, record, run.group)
    run.mark("uploadedAt")
    submitted_at: str = upload["submittedAt"]
    deadline_at = run.now() + timedelta(minutes=options.sync_timeout_minutes)
    deadline = context.create_timer(deadline_at)
    check_input = {
        "employeeId": run.employee_id,
        "submittedAt": submitted_at,
        "expectUser": expect_user,
        "requireEnabled": require_enabled,
        "expectedActive": record.get("active"),
        "ignoreLogIds": list(run.settled_log_ids),
    }
    run.progress.enter("awaiting-provisioning")
    seen_log: dict[str, Any] | None = None
    if options.sync_wait_mode == "fixed":
        yield deadline
        check = yield call_retrying(context, c.CHECK_PROVISIONING, check_input)
        return _settle(run, check, seen_log=check.get("log"), deadline_passed=True)

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


def _settle(
    run: EventRun, check: dict[str, Any], *, seen_log: dict[str, Any] | None, deadline_passed: bool
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


def _first_credential(run: EventRun, user: dict[str, Any], manager: dict[str, Any] | None) -> Step:
    """Issue the first sign-in credential; the pass is created and emailed inside one activity, never returned."""
    if run.options.credential_method == "none":
        return {"method": "none", "recipients": []}
    run.progress.enter("credential")
    start_date = run.event.get("effectiveDate")
    tap_start = None
    if start_date:
        tap_start = schedule.at_local_time(
            date.fromisoformat(start_date),
            schedule.parse_local_time(run.options.tap_start_local_time),
            run.zone,
        ).isoformat()
    issued: dict[str, Any] = yield call_retrying(
        run.context,
        c.ISSUE_FIRST_CREDENTIAL,
        {
            "userId": user["id"],
            "employee": _mail_context(run),
            "userPrincipalName": user.get("userPrincipalName"),
            "startAt": tap_start,
            "manager": manager,
            "instanceId": run.context.instance_id,
        },
    )
    if issued.get("error"):
        raise c.WorkflowFailed(str(issued["error"]["code"]), str(issued["error"]["message"]))
    run.mark("credentialAt")
    return issued


def _details(run: EventRun, user: dict[str, Any]) -> Step:
    details: dict[str, Any] = yield call_retrying(run.context, c.GET_USER_DETAILS, {"userId": user["id"]})
    return details


def _notify(
    run: EventRun,
    kind: str,
    user: dict[str, Any],
    manager: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> Step:
    run.progress.enter("notifying")
    sent: dict[str, Any] = yield call_retrying(
        run.context,
        c.SEND_NOTIFICATION,
        {
            "kind": kind,
            "instanceId": run.context.instance_id,
            "event": _event_ids(run),
            "employee": _mail_context(run),
            "user": {key: user.get(key) for key in ("id", "userPrincipalName", "mail", "displayName")},
            "manager": manager,
            "extra": extra or {},
        },
    )
    return list(sent.get("recipients", []))


def _fail(run: EventRun, failure: c.WorkflowFailed) -> Step:
    """Email IT, then record the failure where IT looks (custom status, logs) as the instance fails.

    `failed` is published only after the alert, in the step that fails the instance, so the status API never shows
    `failed` without its error. A failing alert (e.g. the sender mailbox is misconfigured) must not hide the
    failure it reports, so its error is only added to the custom status detail.
    """
    stage = run.progress.stage
    detail = f"{failure.code}: {failure.message}"
    try:
        yield call_retrying(
            run.context,
            c.SEND_NOTIFICATION,
            {
                "kind": "it_alert",
                "instanceId": run.context.instance_id,
                "event": _event_ids(run),
                "extra": {"stage": stage, "errorCode": failure.code, "reason": failure.message},
            },
        )
    except Exception as alert_failure:  # the activity failed after its retries
        detail += f" (IT alert not sent: {_first_line(str(alert_failure))[:200]})"
    run.progress.enter("failed", detail=detail, error_code=failure.code)


def _final_stage(outcome: str) -> str:
    return {"cancelled": "cancelled", "superseded": "superseded"}.get(outcome, "completed")


def _finish(run: EventRun, outcome: str, **fields: Any) -> dict[str, Any]:
    """The run's output; `hr_event` publishes the matching final stage as the very last thing it does."""
    run.mark("completedAt")
    if run.amended_by:
        fields.setdefault("amendedBy", list(run.amended_by))
    result: dict[str, Any] = {"outcome": outcome, **{k: v for k, v in fields.items() if v is not None}}
    result["warnings"] = run.warnings
    result["timings"] = run.timings
    return result


def credential_recipients(credential: dict[str, Any]) -> list[str]:
    return [f"{recipient} (first sign-in pass)" for recipient in credential.get("recipients", [])]


def _existing_names(person: dict[str, Any]) -> dict[str, Any]:
    upn = str(person.get("userPrincipalName") or "")
    return {
        "userPrincipalName": upn,
        "mail": person.get("mail") or upn,
        "mailNickname": person.get("mailNickname") or upn.split("@", 1)[0],
        "samAccountName": person.get("onPremisesSamAccountName"),
    }


def _mail_context(run: EventRun) -> dict[str, Any]:
    keys = (
        "employeeId",
        "givenName",
        "familyName",
        "preferredGivenName",
        "personalEmail",
        "preferredLanguage",
    )
    context = {key: run.employee.get(key) for key in keys if run.employee.get(key) is not None}
    # The zone the run settled on, not only one the event carried: emails state local times in it.
    context["timeZone"] = run.zone_name
    return context


def _event_ids(run: EventRun) -> dict[str, Any]:
    return {
        "eventId": run.event["eventId"],
        "type": run.event["type"],
        "employeeId": run.employee_id,
        "effectiveDate": run.event.get("effectiveDate") or run.now().date().isoformat(),
    }


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "unknown error"
