"""The workflow's safeguards: the mass-change breaker, the rehire holds and the protected-account refusal.

An account-state change (a termination or a leave of absence, which disable an account; a rehire that re-enables
an existing account or a return from leave, which enable one) is counted when the event is accepted and again
when it runs (a mass leave is as dangerous as a mass termination); too many, and the event waits in stage `held`
until IT approves or rescinds it. A rehire of an existing account is held as well when it is not obviously the
same employment coming back: a *hire* that matched a disabled account, or an explicit rehire of an account
disabled longer than REHIRE_HOLD_AFTER_DAYS (or disabled at a time this app does not know). Whatever the
approvals, an account that holds or can activate a directory role, or belongs to a protected group, is never
re-enabled: the event fails with `ProtectedAccount` and IT is alerted.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from provisioning import safeguards
from provisioning.workflows import contracts as c
from provisioning.workflows.names import release_reservations
from provisioning.workflows.steps import QUEUE, Step, call_retrying, wait_for_events

BREAKER = df.EntityId(c.CHANGE_BREAKER, c.SINGLETON_KEY)
COUNTED_AT_SUBMISSION = frozenset({"termination", "rehire", "leave-of-absence", "return-from-leave"})
COUNTED_AT_EXECUTION = frozenset({"termination", "leave-of-absence", "return-from-leave"})
"""Counted again after the scheduled wait; a rehire is counted again in `rehire_checks`, once it is known to
re-enable an existing account."""


def admit_change(run: Any, phase: str) -> Step:
    """Count this change against the breaker; hold it when tripped. Returns False when it was rescinded."""
    if "breaker" in run.approved:
        return True
    options = run.options
    verdict = yield run.context.call_entity(
        BREAKER,
        "admit",
        {
            "instanceId": run.context.instance_id,
            "phase": phase,
            "at": run.now().isoformat(),
            "effectiveDate": run.event.get("effectiveDate"),
            "batch": run.batch,
            "limits": {
                "hourly": options.termination_breaker_limit,
                "daily": options.breaker_daily_limit,
                "batch": options.breaker_batch_limit,
            },
        },
    )
    if verdict.get("verdict") == "admitted":
        return True
    approved = yield from hold(run, "breaker", [str(verdict.get("reason") or "mass-change breaker")])
    run.context.signal_entity(BREAKER, "release", run.context.instance_id)
    return approved


def admit_volume(run: Any, kind: str) -> Step:
    """Count an account creation (`create`) or update (`update`) as it runs; over its hourly limit the event is
    held like any tripped breaker. Returns False when IT rescinded it."""
    if "breaker" in run.approved:
        return True
    options = run.options
    hourly = options.breaker_create_limit if kind == "create" else options.breaker_update_limit
    verdict = yield run.context.call_entity(
        BREAKER,
        "admit",
        {
            "instanceId": run.context.instance_id,
            "phase": safeguards.EXECUTION,
            "kind": kind,
            "at": run.now().isoformat(),
            # Only the hourly limit applies to volumes; the day and batch bounds are the hour's, never tighter.
            "limits": {"hourly": hourly, "daily": 24 * max(hourly, 1), "batch": max(hourly, 1)},
        },
    )
    if verdict.get("verdict") == "admitted":
        return True
    approved = yield from hold(run, "breaker", [str(verdict.get("reason") or "mass-change breaker")])
    run.context.signal_entity(BREAKER, "release", run.context.instance_id)
    return approved


def hold(run: Any, kind: str, reasons: list[str]) -> Step:
    """Wait in stage `held` for approve or rescind, after telling IT why. Returns True when approved."""
    context = run.context
    run.holds += 1
    number = run.holds
    run.held_reasons.extend(reasons)
    if run.group and not run.enqueued:
        # A held batch member may wait for days: the rest of its batch must not wait for it to pack its requests.
        context.signal_entity(QUEUE, "leave", {"group": run.group, "at": run.now().isoformat()})
        run.group = None
    if getattr(run, "first_name", None) is not None:
        # The hire's best name, reserved ahead of its lookup, is not held while it waits; it reserves again after.
        release_reservations(context, run.reserved)
        run.reserved, run.first_name = [], None
    run.progress.enter("held", detail=f"{kind}: approve or rescind", hold=number)
    yield call_retrying(
        context,
        c.SEND_NOTIFICATION,
        {
            "kind": "held_for_approval",
            "instanceId": context.instance_id,
            "event": run.event_ids(),
            "extra": {"hold": kind, "reasons": reasons, "holdNumber": number},
        },
    )
    name, _ = yield from wait_for_events(context, None, (c.approve_event(number), c.rescind_event("held", number)))
    if name != c.approve_event(number):
        return False
    run.approved.add(kind)
    return True


def rehire_checks(run: Any, person: dict[str, Any]) -> Step:
    """Before an existing disabled account is re-enabled: refuse protected accounts, hold the doubtful ones.

    Returns False when IT rescinded the held rehire; raises WorkflowFailed("ProtectedAccount") for an account
    this app must never re-enable.
    """
    context, options = run.context, run.options
    run.rehire_facts["existingAccount"] = True
    yield from refuse_if_protected(run, person)
    reasons: list[str] = []
    if run.event["type"] == "hire":
        reasons.append(
            "a hire matched an existing disabled account; only an explicit rehire re-enables an account, so IT "
            "must confirm this is the same person"
        )
    else:
        lifecycle = yield context.call_entity(df.EntityId(c.ACCOUNT_LIFECYCLE, run.employee_id), "get")
        days = safeguards.disabled_days(lifecycle, run.now())
        run.rehire_facts["disabledDays"] = None if days is None else int(days)
        limit = options.rehire_hold_after_days
        if days is None:
            reasons.append("this app did not disable the account, so how long it has been disabled is unknown")
        elif limit == 0 or days > limit:
            reasons.append(f"the account has been disabled for {int(days)} days (REHIRE_HOLD_AFTER_DAYS is {limit})")
    if "breaker" not in run.approved:
        verdict = yield context.call_entity(
            BREAKER,
            "admit",
            {
                "instanceId": context.instance_id,
                "phase": safeguards.EXECUTION,
                "at": run.now().isoformat(),
                "limits": {
                    "hourly": options.termination_breaker_limit,
                    "daily": options.breaker_daily_limit,
                    "batch": options.breaker_batch_limit,
                },
            },
        )
        if verdict.get("verdict") != "admitted":
            reasons.append(str(verdict.get("reason")))
    if not reasons:
        return True
    approved = yield from hold(run, "rehire", reasons)
    context.signal_entity(BREAKER, "release", context.instance_id)
    if approved:
        run.approved.add("breaker")
        yield from refuse_if_protected(run, person)  # roles may have changed while the event waited
    return approved


def refuse_if_protected(run: Any, person: dict[str, Any]) -> Step:
    """Fail the event (IT is alerted) when the account holds or can activate a role, or is protected."""
    found: dict[str, Any] = yield call_retrying(run.context, c.CHECK_ACCOUNT_PROTECTION, {"userId": person["id"]})
    if found.get("protected"):
        raise c.WorkflowFailed(
            "ProtectedAccount",
            "The account "
            + "; ".join(found.get("reasons") or ["is protected"])
            + ". This app never re-enables such an account or issues it a credential; an administrator must "
            "handle it by hand.",
        )


def tell_it_about_rehire(
    run: Any, user: dict[str, Any], credential: dict[str, Any], manager: dict[str, Any] | None
) -> Step:
    """Every rehire reaches IT: which account came back, whether it was held, who received the pass."""
    recipients = list(credential.get("recipients") or [])
    yield call_retrying(
        run.context,
        c.SEND_NOTIFICATION,
        {
            "kind": "rehire_notice",
            "instanceId": run.context.instance_id,
            "event": run.event_ids(),
            "user": {key: user.get(key) for key in ("id", "userPrincipalName")},
            "manager": {"displayName": (manager or {}).get("displayName")} if "manager" in recipients else None,
            "extra": {
                **run.rehire_facts,
                "heldReasons": list(run.held_reasons),
                "credentialMethod": credential.get("method"),
                "credentialRecipients": recipients,
            },
        },
    )
