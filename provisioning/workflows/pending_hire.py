"""Changes HR makes before a new hire starts: corrections amend the pending hire, a withdrawn offer cancels it.

Start dates move, titles and managers get corrected, offers are withdrawn, all before the account exists. Without
this module an update for someone whose hire is still scheduled would fail with `UnknownEmployee` (there is no
account yet), and a termination would wait for its date while the hire created an account anyway. Instead, the
employee record (employee_record.py) knows the pending hire, and:
- an **update** taking effect on or before the start date (or without a date) is queued as an amendment of the
  hire, which applies it when it wakes, and ends with outcome `amended`;
- a **hire or rehire sent again** (a new eventId) for someone whose hire is pending amends it the same way and moves
  its start date: the pending hire re-schedules itself;
- a **termination** whose last day is before the start date withdraws the hire: it ends `cancelled` without ever
  writing, and the termination ends with outcome `withdrawn`.
Once the hire has started provisioning, a change waits for it to finish and then applies to the account as usual.
An amended hire continues as new with the amended event (so it waits once per execution, and the upload reads the
amended record from its input).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import record_id
from provisioning.workflows.plan import effective_instant
from provisioning.workflows.steps import Step, call_retrying, cancel_timer

Early = tuple[str, dict[str, Any]] | None
"""`(outcome, output fields)` when the event ends here, or None to continue with the normal workflow."""
CONTINUED = "continued-as-new"
"""The Early outcome of a hire that restarted itself with its amended event; it has no output of its own."""

HIRE_POLL_FIRST = timedelta(minutes=1)
HIRE_POLL_MAX = timedelta(minutes=30)
MAX_REGISTRATIONS = 3


def before_start(run: Any, on_arrival: Callable[[], Step] | None = None) -> Step:
    """A hire or rehire: become the employee's pending hire and wait for the start (amendably), or amend the one
    that already is.

    `on_arrival` runs once this event is known to be the pending hire, before it waits (the mass-change breaker's
    first count of a rehire: a rehire sent again only to amend the pending one is not counted); it returns an
    Early outcome to end the event there. Amendments that arrive meanwhile stay queued for the wait that follows.
    """
    for _ in range(MAX_REGISTRATIONS):
        when = effective_instant(run.event, run.options, run.zone)
        due = when is None or when <= run.context.current_utc_datetime
        role = yield run.context.call_entity(
            record_id(run.employee_id),
            "register-hire",
            {
                "instanceId": run.context.instance_id,
                "eventId": run.event["eventId"],
                "startDate": run.event["effectiveDate"],
                "reopen": True,
                # A hire due now claims in the same operation (one round trip less before the upload), unless it
                # still has to pass `on_arrival`: it stays amendable while it waits there.
                "claim": due and on_arrival is None,
                "timeZone": run.employee.get("timeZone"),
            },
        )
        if role["role"] == "pending" and on_arrival is not None:
            early = yield from on_arrival()
            if early is not None:
                return early
        if role["role"] == "pending" and "claimed" in role:
            return _claimed(run, role["claimed"])
        if role["role"] == "pending":
            return (yield from _wait_for_start(run))
        early = yield from _amend(run)
        if early is not None:
            return early
    return (yield from _wait_for_start(run))


def settle_with_pending_hire(run: Any) -> Step:
    """An update or termination: amend or withdraw a pending hire, or wait for one that is provisioning."""
    kind = run.event["type"]
    if kind not in ("update", "termination"):
        return None
    if kind == "update":
        return (yield from _amend(run))
    answer = yield run.context.call_entity(
        record_id(run.employee_id),
        "withdraw",
        {"eventId": run.event["eventId"], "lastDay": run.event["effectiveDate"]},
    )
    return (yield from _after(run, answer, "withdrawn"))


def _amend(run: Any) -> Step:
    """Offer this event to the pending hire as an amendment (the employee record decides whether it is one)."""
    amendment = {"eventId": run.event["eventId"], "instanceId": run.context.instance_id, "event": run.event}
    answer = yield run.context.call_entity(record_id(run.employee_id), "amend", amendment)
    return (yield from _after(run, answer, "amended"))


def _after(run: Any, answer: dict[str, Any], outcome: str) -> Step:
    """Act on the employee record's answer to an amendment or withdrawal.

    A waiting hire only needs waking when its schedule changes: a withdrawal reaches it as a rescind, a moved start
    date as `pending-hire-changed`. Other amendments wait in the record until the hire claims them.
    """
    hire = answer.get("hire") or {}
    if answer["status"] in ("queued", "withdrawn"):
        if answer["status"] == "withdrawn":
            signal = c.rescind_event("scheduled")
        elif run.event["type"] in ("hire", "rehire"):
            signal = c.EVENT_PENDING_HIRE_CHANGED
        else:
            signal = None
        woke = yield call_retrying(
            run.context, c.WAKE_PENDING_HIRE, {"instanceId": hire["instanceId"], "event": signal}
        )
        if woke.get("delivered"):
            return outcome, {
                "hireId": hire["instanceId"],
                "hireEventId": hire["eventId"],
                "startDate": hire["startDate"],
            }
        # The hire's instance no longer runs (ended by hand): forget it and handle this event on its own.
        run.context.signal_entity(record_id(run.employee_id), "hire-ended", {"instanceId": hire["instanceId"]})
        return None
    if answer["status"] == "provisioning":
        yield from _wait_for_hire(run, hire)
    return None


def _wait_for_hire(run: Any, hire: dict[str, Any]) -> Step:
    """The hire is creating the account right now: wait until it has ended, then go on as usual.

    Shown as `resolving` (the account this event needs is being made); not rescindable, and minutes long.
    """
    context = run.context
    delay = HIRE_POLL_FIRST
    run.progress.enter("resolving", detail=f"waiting for hire {hire['eventId']} to finish creating the account")
    while True:
        status = yield call_retrying(context, c.GET_INSTANCE_STATE, {"instanceId": hire["instanceId"]})
        if status.get("runtimeStatus") not in ("Running", "Pending"):
            return
        yield context.create_timer(context.current_utc_datetime + delay)
        delay = min(HIRE_POLL_MAX, delay * 2)


def _wait_for_start(run: Any) -> Step:
    """Wait until the hire's provisioning moment; None when it is time, an Early outcome otherwise.

    One wait per execution: when the schedule changes (a moved start date), the hire continues as new with its
    amended event. Waiting again in a loop would leave the first wait's rescind waiter open, and a rescind raised
    later would go to it (a raised event goes to the oldest open waiter of its name) instead of the new wait.
    """
    context = run.context
    record = record_id(run.employee_id)
    when = effective_instant(run.event, run.options, run.zone)
    if when is not None and when > context.current_utc_datetime:
        run.progress.enter("scheduled", detail=f"until {when.isoformat()}")
        rescind = context.wait_for_external_event(c.rescind_event("scheduled"))
        wake = context.wait_for_external_event(c.EVENT_PENDING_HIRE_CHANGED)
        timer = context.create_timer(when)
        winner = yield context.task_any([rescind, wake, timer])
        if winner is not timer:
            cancel_timer(timer)
            taken = yield context.call_entity(record, "take", {"instanceId": context.instance_id})
            apply_amendments(run, taken["amendments"])
            if winner is rescind or taken.get("cancelledBy"):  # HR rescinded it, or a termination withdrew it
                return "cancelled", {"cancelledBy": taken.get("cancelledBy")}
            return _continue_as_new(run)
    claimed = yield context.call_entity(record, "claim", {"instanceId": context.instance_id})
    return _claimed(run, claimed)


def _claimed(run: Any, claimed: dict[str, Any]) -> Early:
    """The hire has claimed its start: apply what was queued; go on (None), end, or start again amended.

    An amended hire always continues as new, also when its start did not move: its next execution is started with
    the amended event, which is where the upload and the credential read the record's personal data (they never
    get it copied into their inputs), and the amendments do not stay in this execution's history.
    """
    apply_amendments(run, claimed["amendments"])
    if claimed.get("cancelledBy"):
        return "cancelled", {"cancelledBy": claimed["cancelledBy"]}
    if claimed["amendments"]:
        return _continue_as_new(run)
    return None


def _continue_as_new(run: Any) -> tuple[str, dict[str, Any]]:
    """Start this hire's next execution with its amended event (same instance id, fresh waits)."""
    run.context.continue_as_new(run.carry_over())
    return CONTINUED, {}


def apply_amendments(run: Any, amendments: list[dict[str, Any]]) -> bool:
    """Merge amendments into the pending hire's event, in order; True when the start date moved.

    An amendment's employee fields replace the hire's (absent ones are kept, as for any update); `attributes`
    merge by name; a hire or rehire sent again also moves the start date and, with a `timeZone`, the zone. An
    amendment that happened before the data the hire already holds (`occurredAt`) is ignored with a warning.
    """
    moved = False
    for amendment in amendments:
        event = amendment["event"]
        current, incoming = run.event.get("occurredAt"), event.get("occurredAt")
        if current and incoming and datetime.fromisoformat(incoming) < datetime.fromisoformat(current):
            run.warnings.append(f"event {amendment['eventId']} is older than this hire's data and was not applied")
            continue
        for key, value in event["employee"].items():
            if key == "attributes":
                run.employee["attributes"] = {**(run.employee.get("attributes") or {}), **value}
            else:
                run.employee[key] = value
        if event["type"] in ("hire", "rehire") and event.get("effectiveDate"):
            moved = moved or event["effectiveDate"] != run.event.get("effectiveDate")
            run.event["effectiveDate"] = event["effectiveDate"]
        if "timeZone" in event["employee"]:
            run.use_zone({"name": event["employee"]["timeZone"], "source": "event", "from": amendment["eventId"]})
        if incoming:
            run.event["occurredAt"] = incoming
        run.amended_by.append(amendment["eventId"])
    return moved
