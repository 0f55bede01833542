"""What a plan looks like to the people who act on it: the CSV IT opens, the selection an apply takes, event ids.

Pure: entries in, rows and events out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["CSV_COLUMNS", "Selection", "event_for", "event_id", "plan_csv", "select"]

CSV_COLUMNS: Final = (
    "employeeId",
    "class",
    "action",
    "reason",
    "hrStatus",
    "attribute",
    "old",
    "new",
    "accountId",
    "userPrincipalName",
    "accountEnabled",
    "caseId",
    "confidence",
    "evidence",
    "source",
)
LIFECYCLE_TYPES: Final = frozenset({"hire", "rehire", "termination"})
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def event_id(run_id: str, entry: Mapping[str, Any]) -> str:
    """The id an applied entry's event runs under.

    Derived from the run and the employee, so applying a run twice starts nothing twice. A change of account
    state (hire, rehire, termination) is derived from the employee, the change and its date instead: a later run
    that sees the same change before the first has landed must not start a second hire or a second termination.
    """
    event = entry["event"]
    employee_id = str(entry["employeeId"])
    if event["type"] in LIFECYCLE_TYPES and event.get("effectiveDate"):
        return f"recon-{employee_id}-{event['type']}-{event['effectiveDate']}"
    return f"recon-{run_id}-{employee_id}"


def event_for(run_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The HR event (wire form) an entry's planned change is."""
    return {"eventId": event_id(run_id, entry), **dict(entry["event"])}


@dataclass(frozen=True, slots=True)
class Selection:
    """What an apply will start, and why the rest of the asked-for entries will not start anything."""

    entries: list[Mapping[str, Any]]
    not_planned: list[dict[str, Any]]
    unknown: list[str]


def select(
    entries: Iterable[Mapping[str, Any]],
    *,
    employee_ids: Sequence[str] | None = None,
    classes: Iterable[str] | None = None,
) -> Selection:
    """The entries with a planned change among those asked for (all, or these employees, or these classes)."""
    wanted = {value.casefold() for value in employee_ids} if employee_ids is not None else None
    allowed = set(classes) if classes is not None else None
    chosen: list[Mapping[str, Any]] = []
    not_planned: list[dict[str, Any]] = []
    found: set[str] = set()
    for entry in entries:
        employee_id = str(entry.get("employeeId") or "")
        if wanted is not None:
            if employee_id.casefold() not in wanted:
                continue
            found.add(employee_id.casefold())
        if allowed is not None and entry.get("class") not in allowed:
            continue
        if entry.get("action") and entry.get("event"):
            chosen.append(entry)
        elif wanted is not None:
            not_planned.append({"employeeId": employee_id, "class": entry.get("class"), "reason": entry.get("reason")})
    unknown = [value for value in employee_ids or () if value.casefold() not in found]
    return Selection(chosen, not_planned, unknown)


def plan_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """The plan as CSV (UTF-8, one row per change, case or account), safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        for row in _rows(entry):
            writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _rows(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = {key: entry.get(key) for key in ("employeeId", "class", "action", "reason", "hrStatus", "source")}
    account = entry.get("account") or {}
    base.update(
        {
            "accountId": account.get("id"),
            "userPrincipalName": account.get("userPrincipalName"),
            "accountEnabled": account.get("accountEnabled"),
        }
    )
    if entry.get("changes"):
        return [{**base, **change} for change in entry["changes"]]
    if entry.get("cases"):
        return [
            {
                **base,
                "accountId": case["account"].get("id"),
                "userPrincipalName": case["account"].get("userPrincipalName"),
                "accountEnabled": case["account"].get("accountEnabled"),
                "caseId": case["caseId"],
                "confidence": case["confidence"],
                "evidence": "; ".join(item["kind"] for item in case["evidence"]),
            }
            for case in entry["cases"]
        ]
    if entry.get("accounts"):
        return [
            {
                **base,
                "accountId": item.get("id"),
                "userPrincipalName": item.get("userPrincipalName"),
                "accountEnabled": item.get("accountEnabled"),
            }
            for item in entry["accounts"]
        ]
    if entry.get("errors") or entry.get("blocked"):
        problems = entry.get("errors") or entry.get("blocked") or []
        return [{**base, "attribute": problem.get("field"), "new": problem.get("message")} for problem in problems]
    return [base]


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP, CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
