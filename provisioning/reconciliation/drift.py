"""The comparison: HR people against directory accounts, as a plan with one entry per employee that drifted.

Drift classes (docs/reconciliation.md says what each means and what to do):

| class | when | planned change |
|---|---|---|
| `missing` | HR says active, no account has the employeeId, and no account is a candidate | hire (or rehire) |
| `stale` | the account differs from HR on a compared attribute (old -> new per attribute) | update |
| `leaver-enabled` | HR's last working day has ended, the account is still enabled | termination |
| `rehire-disabled` | HR says active, the account is disabled | rehire |
| `correlation` | no account has the employeeId; accounts without one look like the person's | none until confirmed |
| `linking` | a case was confirmed; its employeeId has not reached the account yet | none (the link is under way) |
| `orphan` | an enabled account whose employeeId HR does not know, or that has none | none: reported only |
| `conflict` | several accounts carry one employeeId | none: reported only |
| `hr-invalid` | an HR record that cannot be an event (e.g. a hire without a name) | none: fix it in HR |

A planned change is the HR event the employee's record maps to, with its type chosen by the drift; its event id is
given when the plan is applied. Pure: no I/O, `now` is passed in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from provisioning import naming, schedule
from provisioning.events import EventValidationError, parse_event
from provisioning.reconciliation.correlation import CorrelationIndex
from provisioning.reconciliation.population import (
    HrPerson,
    Policy,
    account_value,
    desired_value,
    hr_status,
    in_scope,
)

__all__ = ["CHANGE_OF_ACTION", "CLASSES", "Decisions", "Plan", "reconcile"]

CLASSES: Final = (
    "missing",
    "stale",
    "leaver-enabled",
    "rehire-disabled",
    "correlation",
    "linking",
    "orphan",
    "conflict",
    "hr-invalid",
)
CHANGE_OF_ACTION: Final = {"hire": "create", "rehire-new": "create", "update": "update", "termination": "disable"}
"""The kind of change (what the safeguards count) each planned event type makes; a rehire re-enables."""
ACCOUNT_FIELDS: Final = ("id", "userPrincipalName", "accountEnabled", "onPremisesSyncEnabled")
_VALIDATION_EVENT_ID = "reconciliation-check"


@dataclass(frozen=True, slots=True)
class Decisions:
    """What people decided about correlation cases in earlier runs: rejected case ids, confirmed links."""

    rejected: frozenset[str] = frozenset()
    confirmed: Mapping[str, str] = field(default_factory=dict)
    """employeeId -> the account id a person confirmed as theirs."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The entries (JSON-ready dicts, employees in order) and the counts that summarise them."""

    entries: list[dict[str, Any]]
    summary: dict[str, Any]


def change_kind(entry: Mapping[str, Any]) -> str | None:
    """create, update, disable or enable: what an entry's planned change does to an account, if anything."""
    event = entry.get("event")
    if not entry.get("action") or not isinstance(event, Mapping):
        return None
    if event.get("type") in ("rehire", "return-from-leave"):
        return "enable" if entry.get("class") == "rehire-disabled" else "create"
    return CHANGE_OF_ACTION.get(str(event.get("type")))


def reconcile(
    people: Iterable[HrPerson],
    accounts: Iterable[Mapping[str, Any]],
    *,
    policy: Policy,
    names: naming.NamePolicy,
    now: datetime,
    decisions: Decisions | None = None,
    hr_problems: Iterable[Mapping[str, Any]] = (),
) -> Plan:
    """Compare and plan. `hr_problems` are HR records that could not be read as events (reported as `hr-invalid`;
    their employee ids count as known, so their accounts are not called orphans)."""
    decisions = decisions or Decisions()
    members = [account for account in accounts if str(account.get("userType") or "").lower() != "guest"]
    by_employee: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for account in members:
        key = _key(account.get("employeeId"))
        if key:
            by_employee[key].append(account)
    scoped = [account for account in members if in_scope(account, policy.scope)]
    linked_accounts = {account_id.lower() for account_id in decisions.confirmed.values()}
    unanchored = [
        account
        for account in scoped
        if not _key(account.get("employeeId")) and str(account.get("id", "")).lower() not in linked_accounts
    ]
    index = CorrelationIndex(unanchored, names)

    entries: list[dict[str, Any]] = []
    problems = [dict(problem) for problem in hr_problems]
    unreadable = len(problems)
    known: set[str] = {_key(problem.get("employeeId")) for problem in problems} - {""}
    grouped: dict[str, list[HrPerson]] = defaultdict(list)
    for person in people:
        grouped[_key(person.employee_id)].append(person)
    statuses: Counter[str] = Counter()
    in_cases: set[str] = set()
    for key in sorted(grouped):
        group = grouped[key]
        known.add(key)
        if len(group) > 1:
            problems.append(
                {
                    "employeeId": group[0].employee_id,
                    "errors": [
                        {"field": person.source, "message": "the employeeId appears more than once in HR"}
                        for person in group
                    ],
                }
            )
            continue
        person = group[0]
        status = hr_status(person, now=now, policy=policy)
        statuses[status] += 1
        entry = _judge(person, status, by_employee.get(key, []), _Context(index, decisions, policy, now))
        if entry is None:
            continue
        for case in entry.get("cases", ()):
            in_cases.add(str(case["account"]["id"]).lower())
        entries.append(entry)

    for problem in problems:
        entries.append(
            {
                "employeeId": problem.get("employeeId"),
                "class": "hr-invalid",
                "action": None,
                "reason": "the HR record cannot be read as an HR event; fix it in the HR system",
                "errors": problem.get("errors", []),
                "source": problem.get("source"),
            }
        )
    entries.extend(_orphans(scoped, known, in_cases | linked_accounts))
    enabled_in_scope = sum(1 for account in scoped if account.get("accountEnabled"))
    changes = Counter(kind for entry in entries if (kind := change_kind(entry)))
    summary = {
        "hrRecords": sum(len(group) for group in grouped.values()) + unreadable,
        "hrByStatus": dict(sorted(statuses.items())),
        "directoryUsers": len(members),
        "accountsInScope": len(scoped),
        "enabledAccountsInScope": enabled_in_scope,
        "classes": {name: count for name in CLASSES if (count := sum(1 for e in entries if e["class"] == name))},
        "changes": {kind: changes.get(kind, 0) for kind in ("create", "update", "disable", "enable")},
        "entries": len(entries),
    }
    return Plan(entries, summary)


@dataclass(frozen=True, slots=True)
class _Context:
    index: CorrelationIndex
    decisions: Decisions
    policy: Policy
    now: datetime


def _judge(
    person: HrPerson, status: str, accounts: list[Mapping[str, Any]], context: _Context
) -> dict[str, Any] | None:
    """The entry for one HR person, or None when the directory agrees with HR."""
    index, decisions, policy, now = context.index, context.decisions, context.policy, context.now
    base: dict[str, Any] = {"employeeId": person.employee_id, "source": person.source, "hrStatus": status}
    if len(accounts) > 1:
        return {
            **base,
            "class": "conflict",
            "action": None,
            "reason": f"{len(accounts)} accounts carry this employeeId; decide which one is the person's and clear "
            "the employeeId on the others",
            "accounts": [_account(account) for account in accounts],
        }
    if accounts:
        account = accounts[0]
        enabled = bool(account.get("accountEnabled"))
        if status in ("active", "leaving"):
            if not enabled:
                kind = "return-from-leave" if person.event_type == "return-from-leave" else "rehire"
                event = _event(kind, person, _start_date(person, now, policy), now)
                return _planned(
                    base, "rehire-disabled", "HR says the employee is active; the account is disabled", event, account
                )
            changes = _differences(person, account, policy.attributes)
            if changes:
                event = _event("update", person, None, now)
                reason = "the account differs from HR on " + ", ".join(change["attribute"] for change in changes)
                return {**_planned(base, "stale", reason, event, account), "changes": changes}
            return None
        if status == "leaver" and enabled:
            event = _event("termination", person, person.effective_date or _today(person, now, policy), now)
            reason = f"HR's last working day ({person.effective_date}) has ended; the account is still enabled"
            return _planned(base, "leaver-enabled", reason, event, account)
        return None
    if person.employee_id.casefold() in {key.casefold() for key in decisions.confirmed}:
        return {
            **base,
            "class": "linking",
            "action": None,
            "reason": "a person confirmed an existing account as this employee's; the employeeId is on its way",
        }
    if status not in ("active", "leaving", "leaver"):
        return None
    cases = index.cases(person, rejected=decisions.rejected)
    if cases:
        return {
            **base,
            "class": "correlation",
            "action": None,
            "reason": f"no account has this employeeId, but {len(cases)} account(s) without one look like this "
            "person's; confirm the right one or reject them",
            "cases": [case.to_json() for case in cases],
            # What a confirmation sends: an update of the HR record, linked to the confirmed account.
            "event": _event("update", person, None, now),
        }
    if status == "leaver":
        return None
    kind = "rehire" if person.event_type == "rehire" else "hire"
    event = _event(kind, person, _start_date(person, now, policy), now)
    return _planned(base, "missing", "HR says the employee is active; no account has this employeeId", event, None)


def _planned(
    base: dict[str, Any], klass: str, reason: str, event: dict[str, Any], account: Mapping[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {**base, "class": klass, "action": event["type"], "reason": reason, "event": event}
    if account is not None:
        entry["account"] = _account(account)
    try:
        parse_event({"eventId": _VALIDATION_EVENT_ID, **event})
    except EventValidationError as invalid:
        entry["action"] = None
        entry["blocked"] = [{"field": error.field, "message": error.message} for error in invalid.errors]
        entry["reason"] += "; the HR record lacks what the change needs, so nothing is planned"
    return entry


def _event(kind: str, person: HrPerson, effective_date: str | None, now: datetime) -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind, "occurredAt": now.isoformat(), "employee": dict(person.employee)}
    if effective_date:
        event["effectiveDate"] = effective_date
    return event


def _today(person: HrPerson, now: datetime, policy: Policy) -> str:
    zone = schedule.zone(person.employee.get("timeZone"), policy.default_time_zone)
    return now.astimezone(zone).date().isoformat()


def _start_date(person: HrPerson, now: datetime, policy: Policy) -> str:
    """A start (or return) date: HR's, when the record is a hire, rehire or return that carries one; else today."""
    if person.event_type in ("hire", "rehire", "return-from-leave") and person.effective_date:
        return person.effective_date
    return _today(person, now, policy)


def _differences(person: HrPerson, account: Mapping[str, Any], attributes: Iterable[str]) -> list[dict[str, Any]]:
    changes = []
    for attribute in attributes:
        wanted = desired_value(person, attribute)
        if wanted is None:
            continue  # HR says nothing: an update never clears a value, so there is nothing to compare
        held = account_value(account, attribute)
        if held != wanted:
            changes.append({"attribute": attribute, "old": held, "new": wanted})
    return changes


def _orphans(scoped: list[Mapping[str, Any]], known: set[str], spoken_for: set[str]) -> list[dict[str, Any]]:
    entries = []
    for account in sorted(scoped, key=lambda item: (str(item.get("employeeId") or "~"), str(item.get("id")))):
        if not account.get("accountEnabled") or str(account.get("id", "")).lower() in spoken_for:
            continue
        employee_id = account.get("employeeId")
        if _key(employee_id) in known:
            continue
        reason = (
            "the account carries an employeeId HR does not know"
            if _key(employee_id)
            else "the account has no employeeId and looks like no HR person"
        )
        entries.append(
            {
                "employeeId": employee_id or None,
                "class": "orphan",
                "action": None,
                "reason": reason + "; disable or delete it by hand if nobody owns it",
                "account": _account(account),
            }
        )
    return entries


def _account(account: Mapping[str, Any]) -> dict[str, Any]:
    return {key: account.get(key) for key in ACCOUNT_FIELDS}


def _key(value: object) -> str:
    return str(value).strip().casefold() if value not in (None, "") else ""
