"""Host-shaped history events (PascalCase JSON, as the Durable extension sends them to the SDK)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

HistoryEvent = dict[str, Any]


class EventType(IntEnum):
    """`HistoryEventType` numbering shared by DTFx and azure-functions-durable."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20

    @property
    def wire_name(self) -> str:
        """The name DTFx gives the event type (what `showHistory` prints instead of the number)."""
        special = {
            EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
            EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
            EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
            EventType.GENERIC: "GenericEvent",
        }
        return special.get(self, "".join(part.capitalize() for part in self.name.split("_")))


SCHEDULING_EVENTS = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_CREATED,
        EventType.EVENT_SENT,
    }
)

_WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the way the host writes history timestamps and fireAt values."""
    return moment.astimezone(UTC).strftime(_WIRE_FORMAT)


def format_status_time(moment: datetime) -> str:
    """Second-precision UTC, the way the management API writes createdTime / lastUpdatedTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse the wire timestamps this host and the SDK write (microseconds optional, `Z` or offset)."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if "." in cleaned:
        head, _, tail = cleaned.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def new_event(kind: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> HistoryEvent:
    """One history event with the keys every event carries, plus its type-specific fields."""
    event: HistoryEvent = {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_time(timestamp),
    }
    event.update(fields)
    return event
