"""The first step of every event: settle the employee's time zone, and say where it came from.

Everything an event schedules (a hire's provisioning day, a leaver's 18:00, a leave's midnight, the pass's 08:00)
is local time, and most HR events after the hire do not repeat the zone. The zone is taken, best first, from:
1. the event's `timeZone` (`event`), which is also remembered in the employee record;
2. the event's `usageLocation` or `country` when that country keeps one clock (`event-location`);
3. the zone an earlier event named, from the employee record (`earlier-event`);
4. the account's `usageLocation` or `country` in Entra, same rule (`account-location`);
5. `DEFAULT_TIME_ZONE` (`default`).
The choice is part of the custom status, so the status API shows which zone a run used and why.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from provisioning import time_zones
from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import record_id
from provisioning.workflows.steps import Step, call_retrying


def from_location(facts: dict[str, Any], around: date) -> tuple[str, str] | None:
    """`(zone, country)` from a record's usageLocation, else its country, when that country has one clock."""
    for key in ("usageLocation", "country"):
        country = facts.get(key)
        zone = time_zones.zone_for_country(country, around) if isinstance(country, str) else None
        if zone:
            return zone, str(country).upper()
    return None


def choose(
    event: dict[str, Any],
    *,
    record: dict[str, Any] | None,
    account: dict[str, Any] | None,
    default: str,
    around: date,
) -> dict[str, str]:
    """The zone for this event as `{"name", "source", "from"?}`; `record`/`account` may be None when unknown."""
    employee = event["employee"]
    if employee.get("timeZone"):
        return {"name": employee["timeZone"], "source": "event"}
    located = from_location(employee, around)
    if located:
        return {"name": located[0], "source": "event-location", "from": located[1]}
    remembered = (record or {}).get("timeZone")
    if remembered:
        return {"name": remembered["name"], "source": "earlier-event", "from": remembered["eventId"]}
    located = from_location(account or {}, around)
    if located:
        return {"name": located[0], "source": "account-location", "from": located[1]}
    return {"name": default, "source": "default"}


def settle_zone(context: Any, event: dict[str, Any], default: str) -> Step:
    """Gather only the facts the choice needs: the employee record, then (not for a hire) the Entra account."""
    employee = event["employee"]
    record_key = record_id(employee["employeeId"])
    effective = event.get("effectiveDate")
    around = date.fromisoformat(effective) if effective else context.current_utc_datetime.date()
    if employee.get("timeZone"):
        if event["type"] not in ("hire", "rehire"):  # a hire remembers it when it registers (pending_hire)
            context.signal_entity(
                record_key, "remember-zone", {"name": employee["timeZone"], "eventId": event["eventId"]}
            )
        return choose(event, record=None, account=None, default=default, around=around)
    if from_location(employee, around):
        return choose(event, record=None, account=None, default=default, around=around)
    record: dict[str, Any] | None = yield context.call_entity(record_key, "get")
    account: dict[str, Any] | None = None
    if not (record or {}).get("timeZone") and event["type"] != "hire":
        account = yield call_retrying(context, c.RESOLVE_PERSON, {"employeeId": employee["employeeId"]})
    return choose(event, record=record, account=account, default=default, around=around)
