"""When things happen, in the employee's own time zone.

HR dates are calendar dates in the employee's zone ("last working day is 2026-12-18 in Berlin"), but durable
timers and Graph want UTC instants. Every conversion lives here so that daylight-saving edges are handled in one
place and the orchestrators stay free of zone arithmetic. Pure: no I/O, deterministic for a given input.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ENTRA_CLOCK_SKEW",
    "at_local_time",
    "next_utc_midnight",
    "parse_local_time",
    "provisioning_start",
    "termination_instant",
    "update_instant",
    "zone",
]


ENTRA_CLOCK_SKEW = timedelta(minutes=2)
"""How far Microsoft's timestamps (a provisioning log's activityDateTime, an account's createdDateTime) may read
before our own record of the same moment: the clocks differ, so a look for "since the upload" starts this early."""


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The employee's zone, falling back to the configured default for a missing or unknown name."""
    for candidate in (name, default, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")  # pragma: no cover - UTC always exists with tzdata installed


def parse_local_time(text: str) -> time:
    """Parse an `HH:MM` setting such as TERMINATION_LOCAL_TIME."""
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


_MIDDLE_OF_CALENDAR = date(5000, 1, 1)
"""Which edge a day that cannot be converted is at: one near year 1 clamps to the earliest instant, one near 9999 to
the latest."""


def at_local_time(day: date, local: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of `local` o'clock on `day` in `tz`.

    With fold=0 (PEP 495), a wall-clock time skipped by a spring-forward transition lands just after the gap and an
    ambiguous autumn time resolves to its first occurrence, which is what a person reading a calendar expects.

    It is total: a day at the edge of the calendar (HR's 9999-12-31 for "open-ended") gives the nearest instant
    Python can hold instead of an overflow, so no date an event may carry can fail a workflow.
    """
    try:
        return datetime.combine(day, local).replace(tzinfo=tz, fold=0).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if day < _MIDDLE_OF_CALENDAR else datetime.max.replace(tzinfo=UTC)


def provisioning_start(effective_date: date, lead_days: int, tz: ZoneInfo) -> datetime:
    """00:00 local, `lead_days` before the start date: when a hire's account is created."""
    try:
        day = effective_date - timedelta(days=lead_days)
    except OverflowError:
        day = date.min
    return at_local_time(day, time(0, 0), tz)


def termination_instant(last_working_day: date, local: time, tz: ZoneInfo) -> datetime:
    """The end of the employee's last working day (TERMINATION_LOCAL_TIME, in their zone)."""
    return at_local_time(last_working_day, local, tz)


def update_instant(effective_date: date | None, tz: ZoneInfo) -> datetime | None:
    """A mover's change applies from 00:00 local on its effective date; no date means now."""
    if effective_date is None:
        return None
    return at_local_time(effective_date, time(0, 0), tz)


def next_utc_midnight(now: datetime) -> datetime:
    """The start of the next UTC day, when the bulk upload daily call quota is counted afresh."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), time(0, 0), tzinfo=UTC)
