"""Choosing a hire's names: reservations first, Graph only for a name this event holds.

Candidates come from the pure name generator, best first. The best one is reserved straight away (Durable
entities, no Graph call); after a miss the next ones are looked at in growing windows: the reservation entities of
every candidate in the window are read at once without reserving anything, so names held by other running
events, and names already known to be taken, are skipped for the price of an entity operation. The first
candidate that looks free is reserved (atomically; if another event was quicker the next one is tried) and only
then looked up in Entra; a taken one is remembered as taken, so the next hire with the same name does not ask
again. Each event examines at most MAX_CANDIDATES names and makes at most MAX_DIRECTORY_CHECKS lookups, so the work
per event is bounded and the Graph traffic of many hires with the same name grows linearly with their number.

A rename (a legal name change with RENAME_ON_NAME_CHANGE) searches the same way for an existing account: the
account's current user principal name is its own (no reservation, no lookup), and the identifiers the account
itself holds (its old addresses) do not count as in use in Entra.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c
from provisioning.workflows.progress import Progress
from provisioning.workflows.steps import Step, call_retrying

WINDOW = 16
"""The most candidates looked at in one round (the first round takes one, then 4, then 16)."""
MAX_CANDIDATES = 100
MAX_DIRECTORY_CHECKS = 20
NAME_FIELDS = ("employeeId", "givenName", "familyName", "preferredGivenName", "middleName")


def reservation_keys(names: dict[str, Any]) -> list[str]:
    """Entity keys that reserve a candidate: its mail/UPN local part and its sAMAccountName.

    Keys avoid '@' because the Durable entity instance id is `@name@key`.
    """
    local = str(names["userPrincipalName"]).split("@", 1)[0].lower()
    mail_local = str(names.get("mail") or names["userPrincipalName"]).split("@", 1)[0].lower()
    keys = {f"local:{local}", f"local:{mail_local}", f"sam:{str(names['samAccountName']).lower()}"}
    return sorted(keys)


def release_reservations(context: Any, keys: list[str]) -> None:
    """Give reserved names back (fire and forget): the event ended or moved on to another candidate."""
    for key in keys:
        context.signal_entity(df.EntityId(c.NAME_RESERVATION, key), "release", {"owner": context.instance_id})


def mark_taken(context: Any, keys: list[str], kind: str) -> None:
    """Remember names as taken (`entra`, `ad`, `provisioned`) so other events skip them without a lookup."""
    at = context.current_utc_datetime.isoformat()
    for key in keys:
        context.signal_entity(
            df.EntityId(c.NAME_RESERVATION, key), "taken", {"owner": context.instance_id, "kind": kind, "at": at}
        )


def best_name(context: Any, employee: dict[str, Any]) -> Step:
    """Generate the candidates and reserve the best one, before the hire's lookups (no Graph call).

    Returns `{"found": <the generated candidates>, "names": <the best one, reserved> | None, "keys": [...]}`; the
    names are None when another event holds the best candidate. The caller checks the reserved names in Entra in
    the same JSON batch as the person and the manager, and passes the result on to `reserve_names` as `first`.
    """
    found = yield call_retrying(
        context,
        c.NAME_CANDIDATES,
        {"employee": {key: employee.get(key) for key in NAME_FIELDS}, "limit": MAX_CANDIDATES},
    )
    if not found["candidates"]:
        return {"found": found, "names": None, "keys": []}
    names = found["candidates"][0]
    keys = reservation_keys(names)
    request = {"owner": context.instance_id, "at": context.current_utc_datetime.isoformat()}
    grants = yield context.task_all(
        [context.call_entity(df.EntityId(c.NAME_RESERVATION, key), "reserve", request) for key in keys]
    )
    if not all(grants):
        release_reservations(context, [key for key, ok in zip(keys, grants, strict=True) if ok])
        return {"found": found, "names": None, "keys": []}
    return {"found": found, "names": names, "keys": keys}


def _generated(context: Any, employee: dict[str, Any], first: dict[str, Any] | None) -> Step:
    """The generated candidates: those `best_name` already has, or a fresh call (pure generation, no Graph)."""
    if first is not None:
        return first["found"]
    found = yield call_retrying(
        context,
        c.NAME_CANDIDATES,
        {"employee": {key: employee.get(key) for key in NAME_FIELDS}, "limit": MAX_CANDIDATES},
    )
    return found


def _held(context: Any, keys: list[str], request: dict[str, Any], checked: dict[str, Any] | None) -> Step:
    """Reserve `keys` for this event (True), or give back what was granted when another event was quicker."""
    if checked is not None:
        return True  # best_name reserved them
    grants = yield context.task_all(
        [context.call_entity(df.EntityId(c.NAME_RESERVATION, key), "reserve", request) for key in keys]
    )
    if not all(grants):
        release_reservations(context, [key for key, ok in zip(keys, grants, strict=True) if ok])
        return False
    return True


def _used_in_entra(context: Any, names: dict[str, Any], owner_id: str | None, checked: dict[str, Any] | None) -> Step:
    """Whether Entra uses the names (one request; none when the hire's batched lookup already answered)."""
    if checked is not None:
        return bool(checked["inUse"])
    check: dict[str, Any] = {"names": names}
    if owner_id:
        check["ownerId"] = owner_id
    in_use = yield call_retrying(context, c.CHECK_NAME_IN_USE, check)
    return bool(in_use.get("inUse"))


def reserve_names(
    context: Any,
    progress: Progress,
    employee: dict[str, Any],
    tried: list[str],
    *,
    account: dict[str, Any] | None = None,
    first: dict[str, Any] | None = None,
) -> Step:
    """Reserve the first candidate that no other event holds and Entra does not use.

    `account` (a rename) is the existing account the names are for (`id`, `userPrincipalName`): its current name
    is returned as is, with no keys, when it comes first. `first` is what `best_name` reserved and the hire's
    batched lookup found (`inUse`): that candidate is neither reserved nor looked up again. Returns
    `(names, keys, warnings)`; the caller releases `keys` (or marks them provisioned) when it ends.
    """
    own_upn = str((account or {}).get("userPrincipalName") or "").lower()
    owner_id = (account or {}).get("id")
    found = yield from _generated(context, employee, first)
    answered = first if first is not None and first.get("names") and first.get("inUse") is not None else None
    warnings: list[str] = list(found.get("warnings", []))
    skipped = {upn.lower() for upn in tried}
    candidates = [names for names in found["candidates"] if names["userPrincipalName"].lower() not in skipped]
    checks = 0
    request = {"owner": context.instance_id, "at": context.current_utc_datetime.isoformat()}
    position, window = 0, 1
    while position < len(candidates) and checks < MAX_DIRECTORY_CHECKS:
        batch = candidates[position : position + window]
        position += len(batch)
        # The best candidate is simply reserved; after a miss, a look that reserves nothing tells which of the
        # next few are free, so the candidates this event will not take stay free for the others.
        looks: list[bool] = [True] * sum(len(reservation_keys(names)) for names in batch)
        if window > 1:
            looks = yield context.task_all(
                [
                    context.call_entity(df.EntityId(c.NAME_RESERVATION, key), "peek", request)
                    for names in batch
                    for key in reservation_keys(names)
                ]
            )
        window = min(window * 4, WINDOW)
        offset = 0
        for names in batch:
            if own_upn and names["userPrincipalName"].lower() == own_upn:
                progress.enter("names", user_principal_name=names["userPrincipalName"])
                return names, [], warnings
            keys = reservation_keys(names)
            checked = answered if answered is not None and names == answered["names"] else None
            free = checked is not None or all(looks[offset : offset + len(keys)])
            offset += len(keys)
            if not free or not (yield from _held(context, keys, request, checked)):
                continue
            if checks >= MAX_DIRECTORY_CHECKS:
                release_reservations(context, keys)
                break
            checks += 1
            if (yield from _used_in_entra(context, names, owner_id, checked)):
                warnings.append(f"{names['userPrincipalName']} is already used in Entra; took the next candidate")
                mark_taken(context, keys, "entra")
                continue
            progress.enter("names", user_principal_name=names["userPrincipalName"])
            return names, keys, warnings
    raise c.WorkflowFailed(
        "NoFreeName",
        f"No free user principal name among the first {len(candidates)} candidates "
        f"({checks} checked in Entra, the others held by other events or known to be taken).",
    )


def next_name_after_conflict(
    run: Any,
    outcome: dict[str, Any],
    names: dict[str, Any],
    tried: list[str],
    employee: dict[str, Any],
    *,
    account: dict[str, Any] | None = None,
) -> Step:
    """AD reported the name taken (an object Graph cannot see): remember it as taken, reserve the next candidate,
    or fail once NAME_CONFLICT_RETRIES are spent. Used by a hire and by a rename (`account`, see reserve_names)."""
    if run.progress.attempt > run.options.name_conflict_retries:
        raise c.WorkflowFailed(
            "NameConflictsExhausted",
            f"Active Directory reported a name conflict {run.progress.attempt} times "
            f"(last: {outcome.get('errorCode')}).",
        )
    run.warnings.append(f"{names['userPrincipalName']} is taken in Active Directory; trying the next name")
    tried.append(names["userPrincipalName"])
    mark_taken(run.context, run.reserved, "ad")
    run.reserved = []
    run.progress.attempt += 1
    names, run.reserved, name_warnings = yield from reserve_names(
        run.context, run.progress, employee, tried, account=account
    )
    run.warnings.extend(name_warnings)
    return names
