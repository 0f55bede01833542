"""The life events between hire and leave: leave of absence, return from leave, legal name change, conversion.

- **Leave of absence** (`leave-of-absence`, effective date = the first day of leave): at 00:00 local on that day the
  account is disabled with its record otherwise untouched (whatever else the event carries is not applied, and
  said so), sign-in sessions are revoked when `REVOKE_SESSIONS` is on, and the employee record notes the leave.
  No email: a leave's reason is the employee's business.
- **Return from leave** (`return-from-leave`, effective date = the first day back): at 00:00 local the account is
  enabled again, and the run waits until Entra shows it enabled. Only an account this app disabled for a leave is
  re-enabled; a termination during the leave ends the leave, so a late return cannot revive a leaver.
- **Legal name change** (an update whose givenName or familyName differs from the account's): the names on the
  account change; the user principal name and mail are kept unless `RENAME_ON_NAME_CHANGE` is on, in which case the
  account gets the first free name made from the new name and keeps its old address as an alias in proxyAddresses.
  The sAMAccountName never changes (it is the Windows logon name). The output says which was done.
- **Conversion** (an update with another employeeType, contractor to employee and back): the same account is kept;
  the output names the old and new type.
"""

from __future__ import annotations

from typing import Any

from provisioning.workflows import contracts as c
from provisioning.workflows import hr_event as flow
from provisioning.workflows.employee_record import record_id
from provisioning.workflows.names import next_name_after_conflict, reserve_names
from provisioning.workflows.provisioning_outcome import upload_and_await
from provisioning.workflows.steps import Step, call_retrying

# -- leave of absence --------------------------------------------------------------------------------------------


def _ignored_fields(run: Any) -> None:
    ignored = sorted(key for key in run.employee if key != "employeeId")
    if ignored:
        run.warnings.append(
            f"a {run.event['type']} only changes whether the account is enabled; not applied: {', '.join(ignored)} "
            "(send an update for those)"
        )


def start_leave(run: Any, person: dict[str, Any]) -> Step:
    """Disable the account for a leave of absence, touching nothing else."""
    _ignored_fields(run)
    if not person.get("accountEnabled", True):
        run.warnings.append(
            "the account was already disabled; nothing was changed and no leave was recorded, so a return from "
            "leave will not enable it"
        )
        return flow._finish(
            run, "on-leave", userPrincipalName=person.get("userPrincipalName"), objectId=person.get("id")
        )
    yield from flow._preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    spec = run.spec(flow._existing_names(person), person, active=False, ids_only=True)
    yield from upload_and_await(run, spec, expect_user=False)
    revoked = False
    if run.options.revoke_sessions and person.get("id"):
        yield call_retrying(run.context, c.REVOKE_SESSIONS, {"userId": person["id"]})
        revoked = True
    run.context.signal_entity(
        record_id(run.employee_id), "leave-started", {"eventId": run.event["eventId"], "since": run.now().isoformat()}
    )
    return flow._finish(
        run,
        "on-leave",
        userPrincipalName=person.get("userPrincipalName"),
        objectId=person.get("id"),
        sessionsRevoked=revoked,
    )


def return_from_leave(run: Any, person: dict[str, Any]) -> Step:
    """Enable an account this app disabled for a leave of absence; wait until Entra shows it enabled."""
    _ignored_fields(run)
    known: dict[str, Any] | None = yield run.context.call_entity(record_id(run.employee_id), "get")
    if not (known or {}).get("leave"):
        raise c.WorkflowFailed(
            "NotOnLeave",
            "This app recorded no leave of absence for this employee (never started, or ended by a termination), "
            "so the account is left as it is. Send a rehire to bring back someone who left.",
        )
    yield from flow._preflight(run)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    spec = run.spec(flow._existing_names(person), person, active=True, ids_only=True)
    yield from upload_and_await(run, spec, expect_user=True, require_enabled=True)
    run.context.signal_entity(record_id(run.employee_id), "leave-ended", {"eventId": run.event["eventId"]})
    return flow._finish(
        run,
        "returned",
        userPrincipalName=person.get("userPrincipalName"),
        objectId=person.get("id"),
        leaveStartedBy=(known or {})["leave"]["eventId"],
    )


# -- legal name change and conversion ----------------------------------------------------------------------------


def name_changed(employee: dict[str, Any], person: dict[str, Any]) -> bool:
    """Whether the update gives a legal given or family name other than the account's."""
    return any(
        employee.get(field) is not None and employee[field] != person.get(graph_name)
        for field, graph_name in (("givenName", "givenName"), ("familyName", "surname"))
    )


def conversion(employee: dict[str, Any], person: dict[str, Any]) -> dict[str, Any] | None:
    """`{"from", "to"}` when the update changes the employee type (contractor to employee and back)."""
    new_type = employee.get("employeeType")
    if new_type is None or new_type == person.get("employeeType"):
        return None
    return {"from": person.get("employeeType"), "to": new_type}


def rename(run: Any, person: dict[str, Any]) -> Step:
    """Give the account the first free name made from the new legal name, keeping the old address as an alias.

    Returns the new names, or None when the new name makes the account's own user name (then nothing needs
    renaming). The search is the hire's (names.reserve_names) for this account; conflicts that only AD knows are
    retried with the next candidate, as for a hire. The record is built at upload from a spec that names the old
    address (plan.record_from_spec puts it in proxyAddresses), so no profile is copied into the history.
    """
    naming_input = {
        "employeeId": run.employee_id,
        "givenName": run.employee.get("givenName") or person.get("givenName"),
        "familyName": run.employee.get("familyName") or person.get("surname"),
        "preferredGivenName": run.employee.get("preferredGivenName"),
        "middleName": run.employee.get("middleName"),
    }
    account = {"id": person.get("id"), "userPrincipalName": person.get("userPrincipalName")}
    current = str(person.get("userPrincipalName") or "").lower()
    tried: list[str] = []
    names, run.reserved, warnings = yield from reserve_names(
        run.context, run.progress, naming_input, tried, account=account
    )
    run.warnings.extend(warnings)
    while names["userPrincipalName"].lower() != current:
        # The sAMAccountName is the Windows logon name: a rename keeps it.
        names = {**names, "samAccountName": person.get("onPremisesSamAccountName") or names["samAccountName"]}
        spec = run.spec(
            names, person, active=bool(person.get("accountEnabled", True)), previous_mail=person.get("mail")
        )
        outcome = yield from upload_and_await(run, spec, expect_user=False)
        if outcome["status"] != "conflict":
            run.names_used = True  # the new names are the account's now: kept as taken when the event ends
            return names
        names = yield from next_name_after_conflict(run, outcome, names, tried, naming_input, account=account)
    run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
    return None
