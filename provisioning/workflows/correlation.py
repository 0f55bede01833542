"""Go-live correlation inside an HR event: link a confirmed account, and never create a second account for a person
whose existing account may be waiting to be confirmed.

A reconciliation run raises a *case* when an account without an employeeId looks like an HR person's
(provisioning.reconciliation). While a case is open, a hire (or rehire) that would create an account for that person
waits in stage `held` ("correlation"): creating one would leave the person with two. Deciding the case releases
it: confirmed, the event goes on against the confirmed account (which gets the employeeId with this upload); rejected,
it creates the account. The confirm route's own update names the account (`link` in the orchestration input).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c
from provisioning.workflows import holds
from provisioning.workflows.steps import Step, call_retrying

CASES = df.EntityId(c.CORRELATION_CASES, c.SINGLETON_KEY)
CREATES_ACCOUNT = frozenset({"hire", "rehire"})
DECISION_POLLS = 5
DECISION_POLL = timedelta(seconds=5)
"""After a release, how long (5 x 5 s) to wait for the decision's signal to reach the cases entity."""


def account_without_employee_id(run: Any) -> Step:
    """The existing account this event must use although no account carries its employeeId yet, or None.

    Returns `("cancelled", None)` when IT rescinded the event while it waited for a case to be decided.
    """
    link = run.payload.get("link")
    if link:
        return "account", (yield from _linked(run, str(link["accountId"]), str(link.get("caseId") or "")))
    creates = run.event["type"] in CREATES_ACCOUNT or (
        run.event["type"] == "update" and run.options.update_creates_missing
    )
    if not creates:
        return "account", None
    released = False
    while True:
        answer: dict[str, Any] = yield run.context.call_entity(
            CASES, "check", {"employeeId": run.employee_id, "instanceId": run.context.instance_id}
        )
        confirmed = answer.get("confirmed") or []
        if confirmed:
            return "account", (yield from _linked(run, confirmed[0]["accountId"], confirmed[0]["caseId"]))
        cases = answer.get("open") or []
        if not cases:
            return "account", None
        if released:
            # The decision's signal may still be on its way to the entity: look again shortly before holding again.
            for _ in range(DECISION_POLLS):
                yield run.context.create_timer(run.now() + DECISION_POLL)
                answer = yield run.context.call_entity(CASES, "check", {"employeeId": run.employee_id})
                if not answer.get("open"):
                    break
            if not answer.get("open"):
                continue
        reasons = [
            f"an existing account without an employeeId may be this person's (correlation case {case['caseId']}, "
            f"confidence {case.get('confidence')}); confirm or reject the case before an account is created"
            for case in cases
        ]
        if not (yield from holds.hold(run, "correlation", reasons)):
            return "cancelled", None
        released = True


def _linked(run: Any, account_id: str, case_id: str) -> Step:
    """The confirmed account, checked: it must still exist and carry no other employee's id."""
    account: dict[str, Any] | None = yield call_retrying(run.context, c.RESOLVE_ACCOUNT, {"accountId": account_id})
    if account is None:
        raise c.WorkflowFailed("LinkedAccountGone", f"The account confirmed in case {case_id} no longer exists.")
    held = account.get("employeeId")
    if held and str(held).casefold() != run.employee_id.casefold():
        raise c.WorkflowFailed(
            "LinkedAccountTaken",
            f"The account confirmed in case {case_id} now carries another employeeId; decide again.",
        )
    run.warnings.append(f"linked to the existing account confirmed in correlation case {case_id}")
    return account
