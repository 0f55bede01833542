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
from provisioning.workflows.plan import ids_only, scim_record
from provisioning.workflows.steps import Step, call_retrying, release_reservations, reserve_names

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
    record = scim_record(
        ids_only(run.event), run.options, names=flow._existing_names(person), existing=person, active=False
    )
    yield from flow._upload_and_await(run, record, expect_user=False)
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
    record = scim_record(
        ids_only(run.event), run.options, names=flow._existing_names(person), existing=person, active=True
    )
    yield from flow._upload_and_await(run, record, expect_user=True, require_enabled=True)
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


def alias_addresses(person: dict[str, Any], new_mail: str) -> list[str]:
    """proxyAddresses after a rename: the new address primary, every old one (the old primary too) an alias."""
    known = [str(address) for address in person.get("proxyAddresses") or []]
    old_mail = person.get("mail")
    if old_mail and not any(address.lower() == f"smtp:{old_mail.lower()}" for address in known):
        known.append(f"SMTP:{old_mail}")
    aliases = [
        "smtp:" + address[5:] if address.startswith("SMTP:") else address
        for address in known
        if address.lower() != f"smtp:{new_mail.lower()}"
    ]
    return [f"SMTP:{new_mail}", *aliases]


def rename(run: Any, person: dict[str, Any]) -> Step:
    """Give the account the first free name made from the new legal name, keeping the old address as an alias.

    Returns the new names, or None when the new name makes the same user name (then nothing needs renaming). Name
    conflicts that only AD knows are retried with the next candidate, as for a hire.
    """
    context = run.context
    naming_input = {
        "employeeId": run.employee_id,
        "givenName": run.employee.get("givenName") or person.get("givenName"),
        "familyName": run.employee.get("familyName") or person.get("surname"),
        "preferredGivenName": run.employee.get("preferredGivenName"),
        "middleName": run.employee.get("middleName"),
    }
    current = str(person.get("userPrincipalName") or "").lower()
    tried: list[str] = []
    names, run.reserved, warnings = yield from reserve_names(
        context, run.progress, naming_input, tried, owner_id=person.get("id")
    )
    run.warnings.extend(warnings)
    if names["userPrincipalName"].lower() == current:
        release_reservations(context, run.reserved)
        run.reserved = []
        run.progress.enter("uploading", user_principal_name=person.get("userPrincipalName"))
        return None
    while True:
        names = {**names, "samAccountName": person.get("onPremisesSamAccountName") or names["samAccountName"]}
        record = scim_record(
            run.event,
            run.options,
            names=names,
            existing=person,
            active=bool(person.get("accountEnabled", True)),
            proxy_addresses=alias_addresses(person, names["mail"]),
        )
        outcome = yield from flow._upload_and_await(run, record, expect_user=False)
        if outcome["status"] != "conflict":
            return names
        names = yield from flow.next_name_after_conflict(
            run, outcome, names, tried, naming_input, owner_id=person.get("id")
        )
