"""Instance status as the management API shows it: the status payload and the `showHistory=true` rows.

The history rows follow what the extension does to the DTFx history before returning it
(`DurableClient.GetDurableOrchestrationStatusAsync` in Azure/azure-functions-durable-extension):

- `EventType` becomes the DTFx name; `EventId` and `IsPlayed` go; episode delimiters (OrchestratorStarted /
  OrchestratorCompleted) are dropped.
- A TaskScheduled / SubOrchestrationInstanceCreated row is folded into the row that completes it, which gains
  `FunctionName`, `ScheduledTime` and (with inputs shown) `Input`, and loses `TaskScheduledId`. Work that has not
  finished yet keeps its scheduling row.
- ExecutionStarted carries `FunctionName` instead of `Name`, without OrchestrationInstance, ParentInstance,
  Version or Tags. TimerFired loses `TimerId`.
- `Result` (TaskCompleted, SubOrchestrationInstanceCompleted, ExecutionCompleted) is there only with
  `showHistoryOutput=true`, and then as a JSON value rather than JSON text.
- `showInput=false` removes `Input` everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from .history import EventType, HistoryEvent
from .store import InstanceRow

_FOLDED_INTO = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
_RESULT_SHOWN = {EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED, EventType.EXECUTION_COMPLETED}
_STARTED_ONLY_INTERNAL = ("OrchestrationInstance", "ParentInstance", "Version", "Tags")


def decode_json(text: str | None) -> Any:
    """JSON text as a value; text that is not JSON stays a string (as the extension's ParseToJToken does:
    a termination reason is usually plain text)."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def history_rows(events: list[HistoryEvent], *, show_output: bool, show_input: bool) -> list[dict[str, Any]]:
    """The `historyEvents` array for one execution's host-side history."""
    rows: list[dict[str, Any] | None] = []
    scheduled: dict[tuple[EventType, int], int] = {}
    for event in events:
        kind = EventType(event["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        row: dict[str, Any] = {"EventType": kind.wire_name}
        row.update({key: value for key, value in event.items() if key not in ("EventType", "EventId", "IsPlayed")})
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[(kind, event["EventId"])] = len(rows)
            row.pop("Version", None)
        elif kind in _FOLDED_INTO:
            index = scheduled.get((_FOLDED_INTO[kind], row.pop("TaskScheduledId", -1)))
            source = rows[index] if index is not None else None
            if source is not None and index is not None:
                row["ScheduledTime"] = source["Timestamp"]
                row["FunctionName"] = source.get("Name")
                if show_input:
                    row["Input"] = source.get("Input")
                rows[index] = None
        elif kind is EventType.EXECUTION_STARTED:
            row["FunctionName"] = row.pop("Name", None)
            for key in _STARTED_ONLY_INTERNAL:
                row.pop(key, None)
        elif kind is EventType.TIMER_FIRED:
            row.pop("TimerId", None)
        if kind in _RESULT_SHOWN:
            if show_output:
                row["Result"] = decode_json(row.get("Result"))
            else:
                row.pop("Result", None)
        if not show_input:
            row.pop("Input", None)
        rows.append(row)
    return [row for row in rows if row is not None]


def status_payload(
    row: InstanceRow, *, show_history: bool = False, show_input: bool = True, show_output: bool = False
) -> dict[str, Any]:
    """The status object (`StatusResponsePayload`); `historyEvents` only when asked for, as the extension
    leaves it out of the JSON when there is none."""
    payload: dict[str, Any] = {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": decode_json(row.input) if show_input else None,
        "customStatus": decode_json(row.custom_status),
        "output": decode_json(row.output),
        "createdTime": row.created_time,
        "lastUpdatedTime": row.updated_time,
    }
    if show_history and row.status != "Pending":
        payload["historyEvents"] = history_rows(row.history, show_output=show_output, show_input=show_input)
    return payload
