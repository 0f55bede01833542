"""One orchestration per HR event: hire, update (mover), termination (leaver), rehire and leave of absence
(docs/design.md, "Workflows").

Read `hr_event` top to bottom and it is the workflow: settle the time zone, deal with a pending hire, schedule,
hold, resolve, then the path for the event's type. Every Graph and Key Vault call lives in an activity; this module
decides, waits and records.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import azure.durable_functions as df

from provisioning import schedule
from provisioning.workflows import contracts as c
from provisioning.workflows import correlation, holds, lifecycle, pending_hire
from provisioning.workflows.blueprint import bp
from provisioning.workflows.employee_record import record_id
from provisioning.workflows.names import (
    best_name,
    mark_taken,
    next_name_after_conflict,
    release_reservations,
    reserve_names,
)
from provisioning.workflows.plan import decide_action, effective_instant, record_spec
from provisioning.workflows.progress import Progress
from provisioning.workflows.provisioning_outcome import stop_watching, upload_and_await
from provisioning.workflows.steps import (
    QUEUE,
    Step,
    call_retrying,
    wait_for_events,
)
from provisioning.workflows.time_zone import settle_zone

WATERMARK = c.EMPLOYEE_WATERMARK


class EventRun:
    """The state one orchestration carries between steps (rebuilt identically on every replay)."""

    def __init__(self, context: Any) -> None:
        payload: dict[str, Any] = context.get_input()
        self.payload = payload
        self.context = context
        self.event: dict[str, Any] = payload["event"]
        self.options = c.WorkflowOptions.from_dict(payload.get("options"))
        self.group: str | None = payload.get("group")
        self.batch: str | None = payload.get("batch") or self.group
        self.input_event: dict[str, Any] = copy.deepcopy(payload["event"])
        """The event as this execution was started with; the upload reads it from the instance input instead of
        copying it, unless amendments (pending_hire) changed `event` since."""
        self.employee: dict[str, Any] = self.event["employee"]
        self.employee_id: str = self.employee["employeeId"]
        self.progress = Progress(context, self.event)
        self.warnings: list[str] = list(payload.get("warnings") or [])
        self.reserved: list[str] = []
        self.names_used = False
        self.enqueued = False
        self.approved: set[str] = set(payload.get("approved") or [])
        """Holds IT approved in this run (`breaker`, `rehire`): an approved kind is not held again."""
        self.holds: int = int(payload.get("holds") or 0)
        self.held_reasons: list[str] = list(payload.get("heldReasons") or [])
        self.counted_at_submission = bool(payload.get("countedAtSubmission"))
        """The breaker counted this event on arrival (in this execution or one before it continued as new)."""
        self.rehire_facts: dict[str, Any] = {}
        self.settled_log_ids: list[str] = []
        """Provisioning-log entries already acted on (a conflict), so a re-upload is judged by its own entry."""
        self.timings: dict[str, str] = {
            "acceptedAt": payload.get("acceptedAt") or context.current_utc_datetime.isoformat()
        }
        self.zone = schedule.zone(self.employee.get("timeZone"), self.options.default_time_zone)
        self.amended_by: list[str] = list(payload.get("amendedBy") or [])
        """Events that amended this pending hire before it started (see pending_hire)."""
        self.watching = False
        """Registered with the sync watch (SYNC_WAIT_MODE=watch) and not yet let go (provisioning_outcome)."""
        self.watch_primed = False
        self.watch_attempts = 0
        self.first_name: dict[str, Any] | None = None
        """A hire's best name candidate, reserved and checked in Entra together with the person (best_name)."""
        self.managers: dict[str, dict[str, Any] | None] = {}
        """Managers already looked up in this run, by employeeId (the hire's lookup found one)."""
        self.submitted_at: str | None = None
        """When Entra accepted this run's latest upload (the bulk request's submittedAt)."""

    def carry_over(self) -> dict[str, Any]:
        """The input of this run's next execution (a hire that continues as new after its start date moved)."""
        return {
            **self.payload,
            "event": self.event,
            "amendedBy": self.amended_by,
            "warnings": self.warnings,
            "acceptedAt": self.timings["acceptedAt"],
            "countedAtSubmission": self.counted_at_submission,
            "approved": sorted(self.approved),
            "holds": self.holds,
            "heldReasons": self.held_reasons,
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

    def event_ids(self) -> dict[str, Any]:
        """The event's identifiers for notifications: never a name, address or phone number."""
        return {
            "eventId": self.event["eventId"],
            "type": self.event["type"],
            "employeeId": self.employee_id,
            "effectiveDate": self.event.get("effectiveDate") or self.now().date().isoformat(),
        }

    def spec(
        self,
        names: dict[str, Any] | None,
        person: dict[str, Any] | None,
        *,
        active: bool,
        ids_only: bool = False,
        previous_mail: str | None = None,
    ) -> dict[str, Any]:
        """What the upload needs to build this event's record (see plan.record_spec)."""
        changed = self.event if self.event != self.input_event else None
        return record_spec(
            names=names, person=person, active=active, event=changed, ids_only=ids_only, previous_mail=previous_mail
        )


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
    """Release this event's name reservations (or keep them as taken once provisioned), its registration with the
    sync watch and, if it never queued a record, its place in a batch."""
    stop_watching(run)
    if run.names_used:
        mark_taken(run.context, run.reserved, "provisioned")
    else:
        release_reservations(run.context, run.reserved)
    if run.group and not run.enqueued:
        run.context.signal_entity(QUEUE, "leave", {"group": run.group, "at": run.now().isoformat()})
    if run.event["type"] in ("hire", "rehire"):
        run.context.signal_entity(record_id(run.employee_id), "hire-ended", {"instanceId": run.context.instance_id})


def _run(run: EventRun) -> Step:
    context, event = run.context, run.event

    # 1. The employee's zone: from the event, its country, an earlier event, the account, or the default.
    run.use_zone((yield from settle_zone(context, event, run.options.default_time_zone)))

    # 2. On arrival: a pending hire amended or withdrawn, the breaker's first count, a hire's wait for its start.
    early = yield from _on_arrival(run)
    if early is not None:
        return None if early[0] == pending_hire.CONTINUED else _finish(run, early[0], **early[1])

    # 3. Schedule: wait, rescindably, for the moment the event takes effect (a hire waited in step 2).
    when = effective_instant(event, run.options, run.zone)
    if event["type"] not in ("hire", "rehire") and when is not None and when > run.now():
        run.progress.enter("scheduled", detail=f"until {when.isoformat()}")
        name, _ = yield from wait_for_events(context, when, (c.rescind_event("scheduled"),))
        if name is not None:
            return _finish(run, "cancelled")

    # 4. Mass-change breaker, counted again when the change runs: a burst of leavers (or of leaves, or returns)
    # waits for a human. A rehire is counted again in holds.rehire_checks, once it is known to re-enable an account.
    if event["type"] in holds.COUNTED_AT_EXECUTION and not (yield from holds.admit_change(run, "execution")):
        return _finish(run, "cancelled")

    # 5. Ordering: an event older than one already applied for this employee must not overwrite it.
    watermark = df.EntityId(WATERMARK, run.employee_id)
    verdict = yield context.call_entity(watermark, "check", {"occurredAt": event.get("occurredAt")})
    if verdict == "stale":
        return _finish(run, "superseded")

    # 6. Resolve the person in Entra; a hire for an existing account becomes an update or a rehire.
    run.progress.enter("resolving")
    person = yield from _resolve(run)
    if person is None:
        # No account carries the employeeId: a confirmed go-live case names one, or an open case holds the event.
        outcome, person = yield from correlation.account_without_employee_id(run)
        if outcome == "cancelled":
            return _finish(run, "cancelled")
    action, warning = decide_action(event["type"], person, update_creates_missing=run.options.update_creates_missing)
    if warning:
        run.warnings.append(warning)
    if run.first_name is not None and action not in ("hire", "rehire-new"):
        release_reservations(context, run.reserved)  # an account exists: the hire's best name is not needed
        run.reserved, run.first_name = [], None
    if action != event["type"]:
        run.progress.retype(action)

    if action == "rehire" and not (yield from holds.rehire_checks(run, person or {})):
        return _finish(run, "cancelled")
    # Volumes: account creations and updates count against their own hourly limits as they run.
    volume = {"hire": "create", "rehire-new": "create", "update": "update"}.get(action)
    if volume and not (yield from holds.admit_volume(run, volume)):
        return _finish(run, "cancelled")
    result = yield from _act(run, action, person or {})

    _record_lifecycle(run, action)
    yield context.call_entity(watermark, "apply", {"occurredAt": event.get("occurredAt"), "eventId": event["eventId"]})
    return result


def _resolve(run: EventRun) -> Step:
    """The person's Entra account; for a hire, looked up in one JSON batch with the manager and the best name.

    A hire almost always needs all three, so its best name candidate is reserved first (entities, no Graph call)
    and checked in Entra in the same batch as the person and the manager (directory.lookup_hire).
    """
    context = run.context
    if run.event["type"] != "hire":
        person: dict[str, Any] | None = yield call_retrying(context, c.RESOLVE_PERSON, {"employeeId": run.employee_id})
        return person
    first = yield from best_name(context, run.employee)
    run.reserved = list(first["keys"])
    manager_id = run.employee.get("managerEmployeeId")
    looked = yield call_retrying(
        context,
        c.LOOKUP_HIRE,
        {"employeeId": run.employee_id, "managerEmployeeId": manager_id, "names": first["names"]},
    )
    if manager_id:
        run.managers[manager_id] = looked.get("manager")
    run.first_name = {**first, "inUse": looked.get("inUse")}
    return looked.get("person")


def _on_arrival(run: EventRun) -> Step:
    """What happens before an event's scheduled wait; returns a pending_hire Early outcome, or None to go on.

    An update or termination for a hire still waiting for its start amends or withdraws it (pending_hire); a
    withdrawal writes nothing, so it is settled before the breaker counts anything. A hire or rehire waits for its
    start amendably, or amends the pending hire it repeats. Disables and re-enables are counted by the breaker in
    between (`_count_on_arrival`).
    """
    kind = run.event["type"]
    if kind in ("hire", "rehire"):
        counts = kind in holds.COUNTED_AT_SUBMISSION and not run.counted_at_submission
        return (yield from pending_hire.before_start(run, (lambda: _count_on_arrival(run)) if counts else None))
    early = yield from pending_hire.settle_with_pending_hire(run)
    if early is not None:
        return early
    return (yield from _count_on_arrival(run))


def _count_on_arrival(run: EventRun) -> Step:
    """The mass-change breaker's first count, once per event: a rehire that continued as new after its start date
    moved was counted by its first execution. Returns an Early `cancelled` when IT rescinded the held event."""
    if run.event["type"] not in holds.COUNTED_AT_SUBMISSION or run.counted_at_submission:
        return None
    run.counted_at_submission = True
    if (yield from holds.admit_change(run, "submission")):
        return None
    return "cancelled", {}


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


def _record_lifecycle(run: EventRun, action: str) -> None:
    """Remember when this app disabled the account (a later rehire is held when that is long ago or unknown).

    Only a termination counts as disabled here: an account disabled for a leave of absence comes back with a return
    from leave, and a rehire of it (which should not happen) is held as one of an account disabled at a time this
    app does not know.
    """
    account = df.EntityId(c.ACCOUNT_LIFECYCLE, run.employee_id)
    if action == "termination":
        payload = {"at": run.now().isoformat(), "eventId": run.event["eventId"]}
        run.context.signal_entity(account, "disabled", payload)
    elif action in ("rehire", "rehire-new"):
        run.context.signal_entity(account, "enabled", {"at": run.now().isoformat()})


# -- hire --------------------------------------------------------------------------------------------------------


def _provision_new_account(run: EventRun) -> Step:
    """Hire (or rehire with no account left): names, manager, upload, outcome, sync, credential, notify."""
    context = run.context
    tried: list[str] = []
    first, run.first_name = run.first_name, None
    names, run.reserved, name_warnings = yield from reserve_names(
        context, run.progress, run.employee, tried, first=first
    )
    run.warnings.extend(name_warnings)
    manager = yield from _resolve_manager(run)
    yield from _preflight(run)

    while True:
        outcome = yield from upload_and_await(run, run.spec(names, None, active=True), expect_user=True)
        if outcome["status"] != "conflict":
            break
        names = yield from next_name_after_conflict(run, outcome, names, tried, run.employee)

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
    fresh = not matched_existing and created_by_upload(outcome["user"], run.submitted_at)
    return (
        yield from _welcome(
            run,
            outcome["user"],
            manager,
            names["samAccountName"],
            recipients=recipients,
            tell_it=tell_it,
            fresh=fresh,
        )
    )


def created_by_upload(user: dict[str, Any], submitted_at: str | None) -> bool:
    """Whether the Entra account was created after this run's upload reached Entra (give or take the clock skew
    between Microsoft's clocks and ours): an account Entra Connect created for the new AD account, not an older
    cloud account the sync matched it to (soft match on the UPN or a proxy address). Unknown times say no."""
    created = user.get("createdDateTime")
    if not isinstance(created, str) or not submitted_at:
        return False
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        uploaded_at = datetime.fromisoformat(submitted_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if created_at.tzinfo is None or uploaded_at.tzinfo is None:
        return False
    return created_at >= uploaded_at - schedule.ENTRA_CLOCK_SKEW


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
    outcome = yield from upload_and_await(run, spec, expect_user=True, require_enabled=True)
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
    fresh: bool = False,
) -> Step:
    """The end of a hire or rehire: first credential, the account's details, the welcome email, the output.

    `recipients` says who may receive the first credential: `new` (an account this event created: the
    CREDENTIAL_RECIPIENT choice, including the personal address), `existing` (only the manager on record) or
    `it`. `tell_it` sends IT the rehire notice (every rehire is visible to IT). `fresh`: the account was created
    by this run's upload (see `created_by_upload`), which narrows the protection check (protection.py).
    """
    credential = yield from _first_credential(run, user, manager, recipients, fresh=fresh)
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
        spec = run.spec(_existing_names(person), person, active=bool(person.get("accountEnabled", True)))
        yield from upload_and_await(run, spec, expect_user=False)
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
    yield from upload_and_await(run, run.spec(_existing_names(person), person, active=False), expect_user=False)
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
    if manager_id in run.managers:
        manager: dict[str, Any] | None = run.managers[manager_id]
    else:
        manager = yield call_retrying(run.context, c.RESOLVE_MANAGER, {"managerEmployeeId": manager_id})
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


def _first_credential(
    run: EventRun, user: dict[str, Any], manager: dict[str, Any] | None, recipients: str, *, fresh: bool = False
) -> Step:
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
    request = {
        "userId": user["id"],
        "employee": _mail_context(run),
        "userPrincipalName": user.get("userPrincipalName"),
        "startAt": tap_start,
        "manager": manager,
        "instanceId": run.context.instance_id,
        "recipients": recipients,
        "fresh": fresh,
    }
    issued: dict[str, Any] = yield call_retrying(run.context, c.ISSUE_FIRST_CREDENTIAL, request)
    if issued.get("error"):
        raise c.WorkflowFailed(str(issued["error"]["code"]), str(issued["error"]["message"]))
    run.mark("credentialAt")
    return issued


DETAIL_KEYS = ("id", "userPrincipalName", "mail", "displayName", "onPremisesSyncEnabled", "onPremisesSamAccountName")


def _details(run: EventRun, user: dict[str, Any]) -> Step:
    """The account's details for the output and the welcome: the summary Graph just returned when it has them all
    (the sync notice or the event's own check read them moments ago), else one read."""
    if all(key in user for key in DETAIL_KEYS):
        return {key: user.get(key) for key in DETAIL_KEYS}
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
                "event": run.event_ids(),
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


def _mail_context(run: EventRun) -> dict[str, Any]:
    """What a mail needs to address the person. The personal address stays in the event's input: the credential
    activity reads it there when (and only when) it sends a new account's pass to it."""
    keys = ("employeeId", "givenName", "familyName", "preferredGivenName", "preferredLanguage")
    context = {key: run.employee.get(key) for key in keys if run.employee.get(key) is not None}
    # The zone the run settled on, not only one the event carried: emails state local times in it.
    context["timeZone"] = run.zone_name
    return context


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "unknown error"
