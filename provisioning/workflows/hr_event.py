"""One orchestration per HR event: hire, update (mover), termination (leaver) and rehire (product.md §4).

Read `hr_event` top to bottom and it is the spec's workflow: schedule, hold, resolve, then the path for the
event's type. Every Graph and Key Vault call lives in an activity; this module decides, waits and records.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import schedule
from provisioning.workflows import contracts as c
from provisioning.workflows import holds
from provisioning.workflows.blueprint import bp
from provisioning.workflows.names import mark_taken, release_reservations, reserve_names
from provisioning.workflows.plan import decide_action, effective_instant, record_spec
from provisioning.workflows.progress import Progress
from provisioning.workflows.steps import (
    QUEUE,
    Step,
    call_retrying,
    cancel_timer,
    poll_delays,
    upload_record,
    wait_for_events,
)

WATERMARK = c.EMPLOYEE_WATERMARK


class EventRun:
    """The state one orchestration carries between steps (rebuilt identically on every replay)."""

    def __init__(self, context: Any) -> None:
        payload: dict[str, Any] = context.get_input()
        self.context = context
        self.event: dict[str, Any] = payload["event"]
        self.options = c.WorkflowOptions.from_dict(payload.get("options"))
        self.group: str | None = payload.get("group")
        self.batch: str | None = payload.get("batch") or self.group
        self.input_event: dict[str, Any] = payload["event"]
        """The event as submitted; the upload reads it from the instance input instead of copying it."""
        self.employee: dict[str, Any] = self.event["employee"]
        self.employee_id: str = self.employee["employeeId"]
        self.progress = Progress(context, self.event)
        self.warnings: list[str] = []
        self.reserved: list[str] = []
        self.names_used = False
        self.enqueued = False
        self.approved: set[str] = set()
        """Holds IT approved in this run (`breaker`, `rehire`): an approved kind is not held again."""
        self.holds = 0
        self.held_reasons: list[str] = []
        self.rehire_facts: dict[str, Any] = {}
        self.settled_log_ids: list[str] = []
        """Provisioning-log entries already acted on (a conflict), so a re-upload is judged by its own entry."""
        self.timings: dict[str, str] = {"acceptedAt": context.current_utc_datetime.isoformat()}
        self.zone = schedule.zone(self.employee.get("timeZone"), self.options.default_time_zone)

    def now(self) -> datetime:
        return self.context.current_utc_datetime  # type: ignore[no-any-return]

    def mark(self, name: str) -> None:
        self.timings[name] = self.now().isoformat()

    def event_ids(self) -> dict[str, Any]:
        """The event's identifiers for notifications: never a name, address or phone number."""
        return {
            "eventId": self.event["eventId"],
            "type": self.event["type"],
            "employeeId": self.employee_id,
            "effectiveDate": self.event.get("effectiveDate") or self.now().date().isoformat(),
        }

    def spec(self, names: dict[str, Any] | None, person: dict[str, Any] | None, *, active: bool) -> dict[str, Any]:
        """What the upload needs to build this event's record (see plan.record_spec)."""
        changed = self.event if self.event != self.input_event else None
        return record_spec(names=names, person=person, active=active, zone=self.zone, event=changed)


@bp.orchestration_trigger(context_name="context", orchestration=c.HR_EVENT)
def hr_event(context: df.DurableOrchestrationContext) -> Step:
    """Run one HR event from acceptance to a provisioned, updated or disabled account."""
    run = EventRun(context)
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
    _let_go(run)
    return result


def _let_go(run: EventRun) -> None:
    """Release this event's name reservations (or keep them as taken once provisioned) and, if it never queued a
    record, its place in a batch."""
    if run.names_used:
        mark_taken(run.context, run.reserved, "provisioned")
    else:
        release_reservations(run.context, run.reserved)
    if run.group and not run.enqueued:
        run.context.signal_entity(QUEUE, "leave", {"group": run.group})


def _run(run: EventRun) -> Step:
    context, event = run.context, run.event

    # 0. Safeguard on arrival: terminations and rehires count against the mass-change breaker when accepted.
    if event["type"] in holds.COUNTED_AT_SUBMISSION and not (yield from holds.admit_change(run, "submission")):
        return _finish(run, "cancelled")

    # 1. Schedule: wait, rescindably, for the moment the event takes effect.
    when = effective_instant(event, run.options, run.zone)
    if when is not None and when > run.now():
        run.progress.enter("scheduled", detail=f"until {when.isoformat()}")
        name, _ = yield from wait_for_events(context, when, (c.rescind_event("scheduled"),))
        if name is not None:
            return _finish(run, "cancelled")

    # 2. Mass-change breaker, counted again when the change runs: a burst of leavers waits for a human.
    if event["type"] == "termination" and not (yield from holds.admit_change(run, "execution")):
        return _finish(run, "cancelled")

    # 3. Ordering: an event older than one already applied for this employee must not overwrite it.
    watermark = df.EntityId(WATERMARK, run.employee_id)
    verdict = yield context.call_entity(watermark, "check", {"occurredAt": event.get("occurredAt")})
    if verdict == "stale":
        return _finish(run, "superseded")

    # 4. Resolve the person in Entra; a hire for an existing account becomes an update or a rehire.
    run.progress.enter("resolving")
    person: dict[str, Any] | None = yield call_retrying(context, c.RESOLVE_PERSON, {"employeeId": run.employee_id})
    action, warning = decide_action(event["type"], person, update_creates_missing=run.options.update_creates_missing)
    if warning:
        run.warnings.append(warning)
    if action != event["type"]:
        run.progress.retype(action)

    if action in ("hire", "rehire-new"):
        result = yield from _provision_new_account(run)
    elif action == "rehire":
        if not (yield from holds.rehire_checks(run, person or {})):
            return _finish(run, "cancelled")
        result = yield from _reactivate(run, person or {})
    elif action == "update":
        result = yield from _update(run, person or {})
    else:
        result = yield from _terminate(run, person or {})

    _record_lifecycle(run, action)
    yield context.call_entity(watermark, "apply", {"occurredAt": event.get("occurredAt"), "eventId": event["eventId"]})
    return result


def _record_lifecycle(run: EventRun, action: str) -> None:
    """Remember when this app disabled the account (a later rehire is held when that is long ago or unknown)."""
    lifecycle = df.EntityId(c.ACCOUNT_LIFECYCLE, run.employee_id)
    if action == "termination":
        payload = {"at": run.now().isoformat(), "eventId": run.event["eventId"]}
        run.context.signal_entity(lifecycle, "disabled", payload)
    elif action in ("rehire", "rehire-new"):
        run.context.signal_entity(lifecycle, "enabled", {"at": run.now().isoformat()})


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
        outcome = yield from _upload_and_await(run, run.spec(names, None, active=True), expect_user=True)
        if outcome["status"] != "conflict":
            break
        if run.progress.attempt > run.options.name_conflict_retries:
            raise c.WorkflowFailed(
                "NameConflictsExhausted",
                f"Active Directory reported a name conflict {run.progress.attempt} times "
                f"(last: {outcome.get('errorCode')}).",
            )
        run.warnings.append(f"{names['userPrincipalName']} is taken in Active Directory; trying the next name")
        tried.append(names["userPrincipalName"])
        mark_taken(context, run.reserved, "ad")
        run.reserved = []
        run.progress.attempt += 1
        names, run.reserved, name_warnings = yield from reserve_names(context, run.progress, run.employee, tried)
        run.warnings.extend(name_warnings)

    run.names_used = True
    # The provisioning service creates an account it does not find by employeeId; an "update" means the record
    # matched an account that already existed in AD (invisible to Graph until synced): not a new account, so its
    # first credential goes to IT, never to an address or manager taken from the event.
    matched_existing = (outcome.get("log") or {}).get("action") not in (None, "create")
    if matched_existing:
        run.rehire_facts["existingAccount"] = True
        run.warnings.append(
            "the record matched an account that already existed in Active Directory; its first credential went to IT"
        )
    recipients = "it" if matched_existing else "new"
    tell_it = run.event["type"] == "rehire" or matched_existing
    return (
        yield from _welcome(
            run, outcome["user"], manager, names["samAccountName"], recipients=recipients, tell_it=tell_it
        )
    )


# -- rehire -----------------------------------------------------------------------------------------------------


def _reactivate(run: EventRun, person: dict[str, Any]) -> Step:
    """Rehire of a disabled account: keep its UPN and mail, enable it with the new record.

    The pass and the welcome go to the manager recorded on the account in Entra before this event changed
    anything (IT when there is none): a manager or address named by the event is never trusted with a credential
    for an account that already exists.
    """
    manager = yield from _recorded_manager(run, person)
    yield from _preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    names = _existing_names(person)
    spec = run.spec(names, person, active=True)
    outcome = yield from _upload_and_await(run, spec, expect_user=True, require_enabled=True)
    if outcome["status"] == "conflict":
        raise c.WorkflowFailed("NameConflict", str(outcome.get("reason") or "Active Directory reported a conflict."))
    sam = person.get("onPremisesSamAccountName")
    return (yield from _welcome(run, outcome["user"], manager, sam, recipients="existing", tell_it=True))


def _recorded_manager(run: EventRun, person: dict[str, Any]) -> Step:
    """The enabled manager Entra had on record for the account before this event, or None (then IT)."""
    manager_id = person.get("managerEmployeeId")
    if not manager_id or manager_id == run.employee_id:
        run.warnings.append("the account has no manager on record in Entra; its first credential goes to IT")
        return None
    manager: dict[str, Any] | None = yield call_retrying(
        run.context, c.RESOLVE_MANAGER, {"managerEmployeeId": manager_id}
    )
    if not manager or manager.get("accountEnabled") is False:
        run.warnings.append(f"manager {manager_id} on record is not an enabled account; the credential goes to IT")
        return None
    return manager


def _welcome(
    run: EventRun,
    user: dict[str, Any],
    manager: dict[str, Any] | None,
    sam: str | None,
    *,
    recipients: str,
    tell_it: bool = False,
) -> Step:
    """The end of a hire or rehire: first credential, the account's details, the welcome email, the output.

    `recipients` says who may receive the first credential: `new` (an account this event created: the
    CREDENTIAL_RECIPIENT choice, including the personal address), `existing` (only the manager on record) or
    `it`. `tell_it` sends IT the rehire notice (every rehire is visible to IT).
    """
    credential = yield from _first_credential(run, user, manager, recipients)
    details = yield from _details(run, user)
    notified = yield from _notify(run, "welcome", details, manager)
    if tell_it:
        yield from holds.tell_it_about_rehire(run, details, credential, manager)
        notified.append("it")
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
    """Mover: upload the full merged record with the existing names; tell a new manager."""
    new_manager_id = run.employee.get("managerEmployeeId")
    manager_changed = bool(new_manager_id) and new_manager_id != person.get("managerEmployeeId")
    manager = (yield from _resolve_manager(run)) if manager_changed else None
    yield from _preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    spec = run.spec(_existing_names(person), person, active=bool(person.get("accountEnabled", True)))
    yield from _upload_and_await(run, spec, expect_user=False)
    notified: list[str] = []
    if manager_changed:
        notified = yield from _notify(run, "manager_changed", person, manager)
    return _finish(
        run,
        "updated",
        userPrincipalName=person.get("userPrincipalName"),
        mail=person.get("mail"),
        objectId=person.get("id"),
        managerChanged=manager_changed,
        notified=notified,
    )


# -- termination (leaver) ---------------------------------------------------------------------------------------


def _terminate(run: EventRun, person: dict[str, Any]) -> Step:
    """Leaver: disable with the full record (never delete), revoke sessions, tell the manager and IT."""
    yield from _preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    yield from _upload_and_await(run, run.spec(_existing_names(person), person, active=False), expect_user=False)
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


def _upload_and_await(run: EventRun, spec: dict[str, Any], *, expect_user: bool, require_enabled: bool = False) -> Step:
    """Upload, then watch the provisioning logs (and, for accounts that must sign in, Entra) until settled.

    The provisioning outcome and the Entra Connect sync race one durable deadline timer started at the upload
    (SYNC_TIMEOUT_MINUTES). In `fixed` mode the seed workflow's behaviour is reproduced: wait out the deadline,
    then look once. Returns `{"status": "success"|"conflict", "user"?, ...}` or raises WorkflowFailed.
    """
    context, options = run.context, run.options
    run.progress.enter("uploading")
    run.enqueued = True
    upload = yield from upload_record(context, spec, run.group)
    run.mark("uploadedAt")
    submitted_at: str = upload["submittedAt"]
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


def _first_credential(run: EventRun, user: dict[str, Any], manager: dict[str, Any] | None, recipients: str) -> Step:
    """Issue the first sign-in credential; the pass is created and emailed inside one activity, never returned.

    The activity refuses accounts that hold or can activate a role or are in a protected group (defence in depth:
    the check runs again right before the pass is created) and reports recipients as roles, not addresses.
    """
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
            "employee": _mail_context(run.employee),
            "userPrincipalName": user.get("userPrincipalName"),
            "startAt": tap_start,
            "manager": manager,
            "instanceId": run.context.instance_id,
            "recipients": recipients,
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
            "event": run.event_ids(),
            "employee": _mail_context(run.employee),
            "user": {key: user.get(key) for key in ("id", "userPrincipalName", "mail", "displayName")},
            "manager": manager,
            "extra": extra or {},
        },
    )
    return list(sent.get("recipients", []))


def _fail(run: EventRun, failure: c.WorkflowFailed) -> Step:
    """Record the failure where IT looks (custom status, logs) and email IT before the instance fails.

    A failing alert (e.g. the sender mailbox is misconfigured) must not hide the failure it reports, so its
    error is only added to the custom status detail.
    """
    stage = run.progress.stage
    run.progress.enter("failed", detail=f"{failure.code}: {failure.message}", error_code=failure.code)
    try:
        yield call_retrying(
            run.context,
            c.SEND_NOTIFICATION,
            {
                "kind": "it_alert",
                "instanceId": run.context.instance_id,
                "event": run.event_ids(),
                "extra": {"stage": stage, "errorCode": failure.code, "reason": failure.message},
            },
        )
    except Exception as alert_failure:  # the activity failed after its retries
        run.progress.enter(
            "failed",
            detail=f"{failure.code}: {failure.message} (IT alert not sent: {_first_line(str(alert_failure))[:200]})",
            error_code=failure.code,
        )


def _finish(run: EventRun, outcome: str, **fields: Any) -> dict[str, Any]:
    stage = {"cancelled": "cancelled", "superseded": "superseded"}.get(outcome, "completed")
    run.mark("completedAt")
    run.progress.enter(stage)
    result: dict[str, Any] = {"outcome": outcome, **{k: v for k, v in fields.items() if v is not None}}
    result["warnings"] = run.warnings
    result["timings"] = run.timings
    return result


def credential_recipients(credential: dict[str, Any]) -> list[str]:
    """Who received the first credential, as roles (`manager`, `personal`, `it`), never addresses."""
    return [f"{recipient} (first sign-in pass)" for recipient in credential.get("recipients", [])]


def _existing_names(person: dict[str, Any]) -> dict[str, Any]:
    upn = str(person.get("userPrincipalName") or "")
    return {
        "userPrincipalName": upn,
        "mail": person.get("mail") or upn,
        "mailNickname": person.get("mailNickname") or upn.split("@", 1)[0],
        "samAccountName": person.get("onPremisesSamAccountName"),
    }


def _mail_context(employee: dict[str, Any]) -> dict[str, Any]:
    """What a mail needs to address the person. The personal address stays in the event's input: the credential
    activity reads it there when (and only when) it sends a new account's pass to it."""
    keys = ("employeeId", "givenName", "familyName", "preferredGivenName", "preferredLanguage", "timeZone")
    return {key: employee.get(key) for key in keys if employee.get(key) is not None}


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "unknown error"
