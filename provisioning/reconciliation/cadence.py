"""When the scheduled reconciliation is due: RECONCILE_SCHEDULE read as cron, checked by a timer every few minutes.

The timer itself has a fixed schedule (an Azure Functions timer binding cannot be switched off by an empty app
setting), and each tick asks: which occurrence of the configured schedule is the latest one at or before now, and is
it recent enough to start? The run id is derived from that occurrence, so two ticks (or two instances) after one
occurrence start one run. Pure: `now` is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from croniter import croniter

__all__ = ["GRACE", "TICK_SCHEDULE", "due_occurrence", "scheduled_run_id"]

TICK_SCHEDULE: Final = "0 */5 * * * *"
"""The timer's own NCRONTAB schedule: every 5 minutes, so RECONCILE_SCHEDULE has a 5-minute resolution."""
GRACE: Final = timedelta(minutes=30)
"""An occurrence older than this is not started late (after an outage, wait for the next one)."""


def due_occurrence(expression: str, now: datetime) -> datetime | None:
    """The latest occurrence of `expression` (UTC) at or before `now`, if it is less than GRACE ago."""
    fields = len(expression.split())
    moment = now.astimezone(UTC)
    latest: datetime = croniter(
        expression, moment + timedelta(microseconds=1), second_at_beginning=fields == 6
    ).get_prev(datetime)
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return latest if moment - latest < GRACE else None


def scheduled_run_id(occurrence: datetime) -> str:
    return f"{occurrence.astimezone(UTC):%Y%m%dT%H%M%SZ}-scheduled"
