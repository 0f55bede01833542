"""Directory lookups that both the activities and the preview use: who exists, which names are free, what the
provisioning logs say about a record.

I/O through an injected `GraphClient`; the summaries returned are JSON-ready dicts with Graph property names and
never carry a token or a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from provisioning import naming
from provisioning.graph import (
    GraphClient,
    ODataFilter,
    filter_any,
    filter_eq,
    filter_in,
    users_using_identifier,
)
from provisioning.schedule import ENTRA_CLOCK_SKEW

USER_SELECT = (
    "id",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "employeeType",
    "accountEnabled",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "officeLocation",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "mobilePhone",
    "businessPhones",
    "preferredLanguage",
    "proxyAddresses",
)
MANAGER_SELECT = ("id", "userPrincipalName", "mail", "displayName", "employeeId", "accountEnabled")
ACCOUNT_SUMMARY = (
    "id",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "givenName",
    "surname",
    "employeeId",
    "employeeType",
    "accountEnabled",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "usageLocation",
    "preferredLanguage",
    "createdDateTime",
)
"""What workflows carry between steps about an account: identifiers and state, no contact or profile data.

The legal names and the employee type are here because an update compares them with the event's (a legal name
change, a conversion); both are on the account anyway and say nothing the display name does not.

The complete profile (phones, address, title) is read again where it is needed, at upload, so it never sits in
orchestration history (docs/security.md, "Personal data")."""
# Error codes the provisioning service writes when the UPN, mail or sAMAccountName is already used in the
# target directory (Entra inbound provisioning troubleshooting and the AD agent's export errors). A conflict is
# retried with the next name; other failures are not.
NAME_CONFLICT_CODES = frozenset(
    {
        "AzureActiveDirectoryInvalidUserPrincipalName",
        "AzureActiveDirectoryConflictingObjectFound",
        "ActiveDirectoryUserPrincipalNameConflict",
        "ActiveDirectorySamAccountNameConflict",
        "HybridSynchronizationActiveDirectoryUserPrincipalNameConflict",
        "HybridSynchronizationActiveDirectorySamAccountNameConflict",
        # What the AD agent reports for a UPN another AD object holds (Microsoft 365 troubleshooting, "Problem with
        # attribute and scoping filter"), and the same for sAMAccountName (undocumented, same pattern).
        "HybridSynchronizationActiveDirectoryUserPrincipalNameNotUnique",
        "HybridSynchronizationActiveDirectorySamAccountNameNotUnique",
        "DuplicateTargetEntries",
        "EntryAlreadyExists",
        "AttributeValueMustBeUnique",
    }
)


class DuplicateEmployeeId(Exception):
    """More than one Entra account carries the employeeId: a human has to decide which one is the person."""


def is_name_conflict(error_code: str | None) -> bool:
    """Whether a provisioning failure means "this name is taken", so the next candidate may succeed."""
    if not error_code:
        return False
    return error_code in NAME_CONFLICT_CODES or "Conflict" in error_code or "AlreadyExists" in error_code


def find_person(graph: GraphClient, employee_id: str) -> dict[str, Any] | None:
    """The Entra account for this employeeId (ACCOUNT_SUMMARY) with its manager's employeeId, or None."""
    users = graph.find_users(filter_eq("employeeId", employee_id), select=USER_SELECT)
    if len(users) > 1:
        raise DuplicateEmployeeId(f"{len(users)} Entra accounts carry employeeId {employee_id}")
    if not users:
        return None
    person = summary(users[0])
    manager = graph.get_manager(person["id"], select=MANAGER_SELECT)
    person["managerEmployeeId"] = (manager or {}).get("employeeId")
    return person


def find_account(graph: GraphClient, object_id: str) -> dict[str, Any] | None:
    """An account by object id (ACCOUNT_SUMMARY, with its manager's employeeId), or None when it is gone: the
    account a person confirmed in a go-live correlation case, which does not carry the employeeId yet."""
    user = graph.get_user(object_id, select=USER_SELECT)
    if user is None:
        return None
    person = summary(user)
    manager = graph.get_manager(person["id"], select=MANAGER_SELECT)
    person["managerEmployeeId"] = (manager or {}).get("employeeId")
    return person


def summary(user: dict[str, Any]) -> dict[str, Any]:
    return {key: user.get(key) for key in ACCOUNT_SUMMARY if key in user}


def account_profile(graph: GraphClient, object_id: str) -> dict[str, Any] | None:
    """The account's full profile as the bulk upload merges it (Graph property names), or None when gone."""
    return graph.get_user(object_id, select=USER_SELECT)


def _generated(policy: naming.NamePolicy, employee: dict[str, Any]) -> Iterator[naming.NameCandidate]:
    """The employee's name candidates in pattern order (lazy: the naming core can generate many)."""
    return naming.candidates(
        employee.get("givenName"),
        employee.get("familyName"),
        policy,
        preferred_given_name=employee.get("preferredGivenName"),
        middle_name=employee.get("middleName"),
        fallback_seed=employee.get("employeeId"),
    )


def name_candidates(policy: naming.NamePolicy, employee: dict[str, Any], *, limit: int) -> dict[str, Any]:
    """The first `limit` generated candidates, best first, with the generator's warnings (no Graph call)."""
    generated = _generated(policy, employee)
    found = list(islice(generated, limit))
    warnings: list[str] = []
    for candidate in found:
        warnings.extend(warning for warning in candidate.warnings if warning not in warnings)
    return {"candidates": [names_dict(candidate) for candidate in found], "warnings": warnings}


def names_in_use(graph: GraphClient, names: dict[str, Any], owner_id: str | None = None) -> bool:
    """Whether Entra already uses one of these generated names (UPN, mail, proxy address or sAMAccountName) on an
    account other than `owner_id` (a rename's own account)."""
    return identifier_in_use(graph, _candidate(names), owner_id)


def find_manager(graph: GraphClient, manager_employee_id: str) -> dict[str, Any] | None:
    """The manager's account (for notifications), or None when no Entra account has that employeeId."""
    return _chosen_manager(graph.find_users(filter_eq("employeeId", manager_employee_id), select=MANAGER_SELECT))


def _chosen_manager(users: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An enabled account first: a disabled duplicate of the manager must not receive mail for the team."""
    enabled = [user for user in users if user.get("accountEnabled", True)]
    chosen = enabled or users
    return dict(chosen[0]) if chosen else None


def name_in_use_filter(candidate: naming.NameCandidate) -> ODataFilter:
    """Users holding the candidate's UPN or mail (as UPN, mail or any proxy address) or its sAMAccountName.

    One filter for the whole candidate: ``onPremisesSamAccountName`` can only be filtered with an advanced query
    (``ConsistencyLevel: eventual`` and ``$count=true``), and an advanced query takes the other clauses too, so a
    candidate costs one request instead of one per identifier plus one for the sAMAccountName. Advanced queries are
    eventually consistent (seconds); what they cannot see yet is covered by the reservation entities (names held by
    running events) and by the provisioning log's conflict, which moves the hire to its next name.
    """
    return filter_any(
        *(users_using_identifier(identifier) for identifier in sorted(candidate.identifiers())),
        filter_eq("onPremisesSamAccountName", candidate.sam_account_name),
    )


def identifier_in_use(graph: GraphClient, candidate: naming.NameCandidate, owner_id: str | None = None) -> bool:
    """Whether another Entra object already uses the candidate's UPN, mail (incl. proxy addresses) or
    sAMAccountName; `owner_id` is the person's own account, whose old addresses a rename may take back."""
    users = graph.find_users(name_in_use_filter(candidate), select=("id",), advanced=True, top=2)
    return any(user.get("id") != owner_id for user in users)


def _candidate(names: dict[str, Any]) -> naming.NameCandidate:
    return naming.NameCandidate(
        user_principal_name=names["userPrincipalName"],
        mail=names["mail"],
        mail_nickname=names["mailNickname"],
        sam_account_name=names["samAccountName"],
    )


def lookup_hire(
    graph: GraphClient,
    *,
    employee_id: str,
    manager_employee_id: str | None,
    names: dict[str, Any] | None,
) -> dict[str, Any]:
    """The lookups a hire starts with, in one users query: the person, the manager, and the reserved best name.

    Returns ``{"person", "manager", "inUse"}`` as :func:`find_person`, :func:`find_manager` and
    :func:`names_in_use` would (``manager`` and ``inUse`` are None when not asked). The three questions are one
    filter, ``employeeId in (person, manager) or <the candidate's identifiers>``, and the answer is sorted here by
    which clause each account matched: a hire costs one Graph request where it cost three. The name clause needs an
    advanced query (``onPremisesSamAccountName``), so the whole query is eventually consistent (seconds); an account
    created for this employeeId in those seconds is still caught, as the provisioning service matches the record by
    employeeId and its log then says "update", which sends the credential to IT. The person's own manager, needed
    only when the person already has an account, is read afterwards (its URL needs the account's id).
    """
    wanted = [employee_id]
    if manager_employee_id and manager_employee_id.casefold() != employee_id.casefold():
        wanted.append(manager_employee_id)
    by_employee_id = filter_in("employeeId", wanted) if len(wanted) > 1 else filter_eq("employeeId", employee_id)
    candidate = _candidate(names) if names is not None else None
    query = filter_any(by_employee_id, name_in_use_filter(candidate)) if candidate else by_employee_id
    advanced = candidate is not None or len(wanted) > 1  # `in` and onPremisesSamAccountName are advanced-only
    found = graph.find_users(query, select=USER_SELECT, advanced=advanced, top=HIRE_LOOKUP_PAGE)
    person_rows = [user for user in found if _same_id(user.get("employeeId"), employee_id)]
    if len(person_rows) > 1:
        raise DuplicateEmployeeId(f"{len(person_rows)} Entra accounts carry employeeId {employee_id}")
    person = None
    if person_rows:
        person = summary(person_rows[0])
        own_manager = graph.get_manager(person["id"], select=MANAGER_SELECT)
        person["managerEmployeeId"] = (own_manager or {}).get("employeeId")
    manager = None
    if manager_employee_id:
        manager_rows = [user for user in found if _same_id(user.get("employeeId"), manager_employee_id)]
        manager = _chosen_manager([{key: user.get(key) for key in MANAGER_SELECT} for user in manager_rows])
    in_use = any(holds_name(user, candidate) for user in found) if candidate else None
    return {"person": person, "manager": manager, "inUse": in_use}


HIRE_LOOKUP_PAGE = 25
"""Rows per page of the hire's lookup: the person, the manager and a name's holders are a handful; more pages are
read if a tenant really has more (duplicated employeeIds, a name on many accounts)."""


def _same_id(value: object, employee_id: str) -> bool:
    """employeeId as Entra compares it in a filter: case-insensitively."""
    return isinstance(value, str) and value.casefold() == employee_id.casefold()


def holds_name(user: dict[str, Any], candidate: naming.NameCandidate) -> bool:
    """Whether this account holds one of the candidate's identifiers, as :func:`name_in_use_filter` asks Entra:
    the UPN or mail as UPN, mail or any proxy address, or the sAMAccountName (case-insensitively)."""
    identifiers = {value.casefold() for value in candidate.identifiers()}
    held = {str(user.get(key) or "").casefold() for key in ("userPrincipalName", "mail")}
    for address in user.get("proxyAddresses") or ():
        prefix, _, value = str(address).partition(":")
        if prefix.casefold() == "smtp":
            held.add(value.casefold())
    if held & identifiers:
        return True
    sam = user.get("onPremisesSamAccountName")
    return isinstance(sam, str) and sam.casefold() == candidate.sam_account_name.casefold()


def find_free_names(
    graph: GraphClient,
    policy: naming.NamePolicy,
    employee: dict[str, Any],
    *,
    exclude: Iterable[str] = (),
    wanted: int = 3,
    max_checks: int = 100,
    owner_id: str | None = None,
) -> dict[str, Any]:
    """The first `wanted` candidates (in pattern order) that no Entra object uses and that are not excluded.

    Reservations by other running events are checked by the orchestrator (entities); this only asks Entra.
    `owner_id` (a rename) is the person's own account: its identifiers do not count as taken.
    """
    excluded = {value.lower() for value in exclude}
    generated = _generated(policy, employee)
    free: list[dict[str, Any]] = []
    warnings: list[str] = []
    for candidate in islice(generated, max_checks):
        warnings.extend(warning for warning in candidate.warnings if warning not in warnings)
        if candidate.user_principal_name.lower() in excluded:
            continue
        if identifier_in_use(graph, candidate, owner_id):
            if not free:
                warnings.append(f"{candidate.user_principal_name} is already used in Entra; took the next candidate")
            continue
        free.append(names_dict(candidate))
        if len(free) >= wanted:
            break
    return {"candidates": free, "warnings": warnings}


def names_dict(candidate: naming.NameCandidate) -> dict[str, Any]:
    return {
        "userPrincipalName": candidate.user_principal_name,
        "mail": candidate.mail,
        "mailNickname": candidate.mail_nickname,
        "samAccountName": candidate.sam_account_name,
    }


def summarize_log(entries: list[dict[str, Any]], ignore_ids: Iterable[str] = ()) -> dict[str, Any] | None:
    """The latest provisioning-log verdict for one record, or None when nothing was logged yet.

    Entries are grouped by Microsoft's model (provisioningObjectSummary): one record can produce a create and later
    a manager reference update with the same changeId; the latest entry is authoritative.
    """
    ignored = set(ignore_ids)
    relevant = [entry for entry in entries if entry.get("id") not in ignored]
    if not relevant:
        return None
    latest = max(relevant, key=lambda entry: str(entry.get("activityDateTime", "")))
    info = latest.get("provisioningStatusInfo") or latest.get("statusInfo") or {}
    error = info.get("errorInformation") or {}
    status = str(info.get("status") or "unknown")
    skip_reason = None
    for step in latest.get("provisioningSteps") or []:
        details = step.get("details") or {}
        if step.get("name") == "EntrySynchronizationSkip" or details.get("SkipReason"):
            skip_reason = details.get("SkipReason") or step.get("description")
    summary: dict[str, Any] = {
        "id": latest.get("id"),
        "status": status,
        "action": latest.get("provisioningAction"),
        "activityDateTime": latest.get("activityDateTime"),
        "changeId": latest.get("changeId"),
    }
    if status == "failure":
        summary["errorCode"] = error.get("errorCode")
        summary["reason"] = error.get("reason")
        summary["conflict"] = is_name_conflict(error.get("errorCode"))
    if skip_reason:
        summary["reasonCode"] = skip_reason
    # A manager reference that could not be resolved is logged as a skipped step inside an otherwise
    # successful entry, or as a separate skipped entry; either way the account exists.
    if any(
        (step.get("details") or {}).get("SkipReason") == "UnableToResolveReferenceAttributeValue"
        for entry in relevant
        for step in entry.get("provisioningSteps") or []
    ):
        summary["reasonCode"] = "UnableToResolveReferenceAttributeValue"
    return summary


def check_provisioning(
    graph: GraphClient,
    *,
    job_id: str,
    employee_id: str,
    submitted_at: datetime,
    expect_user: bool,
    require_enabled: bool,
    ignore_log_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """One look at both signals after an upload: the provisioning log verdict and the synced Entra account."""
    entries = graph.provisioning_logs(job_id=job_id, source_id=employee_id, since=submitted_at - ENTRA_CLOCK_SKEW)
    result: dict[str, Any] = {
        "log": summarize_log(entries, ignore_log_ids),
        "user": None,
        "expectUser": expect_user,
    }
    if not expect_user:
        return result
    users = graph.find_users(filter_eq("employeeId", employee_id), select=USER_SELECT)
    for user in users:
        if require_enabled and not user.get("accountEnabled", False):
            continue
        result["user"] = summary(user)
        if user.get("onPremisesSyncEnabled") is not True:
            result["syncWarning"] = (
                "the Entra account appeared without onPremisesSyncEnabled; it may not be the account the "
                "provisioning agent created in Active Directory"
            )
        break
    return result
