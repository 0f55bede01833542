"""Client operations on the task hub with the Durable extension's rules (what `DurableOrchestrationClient`,
the management webhooks and the in-process API all go through).

The rules follow `DurableClient` and the Azure Storage provider (Azure/azure-functions-durable-extension,
Azure/durabletask): suspend only a Pending/Running instance, resume only a Suspended one, rewind only a Failed
one; restart starts the same orchestrator with the instance's input; purge deletes whatever instance it is
given, as Azure Storage does; purge by filter honours only the terminal runtime statuses; listings are paged
(100 by default) with an opaque continuation token.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .engine import TERMINAL_STATES, Engine, UnknownFunctionError
from .history import EventType, HistoryEvent, format_status_time, parse_time
from .status_view import decode_json, status_payload
from .store import InstanceRow

DEFAULT_PAGE_SIZE = 100
MAX_INSTANCE_ID_LENGTH = 256
REWIND_ONLY_FAILED = "The rewind operation is only supported on failed orchestration instances."
_FORBIDDEN_KEY_CHARACTERS = set("/\\#?")


class Outcome(StrEnum):
    """How the management API answers an operation on one instance: 202, 404 or 410."""

    ACCEPTED = "accepted"
    NOT_FOUND = "not_found"
    GONE = "gone"


class InvalidOperationError(Exception):
    """The extension's InvalidOperationException: the instance is in a state the operation does not apply to
    (the management API answers 500, as the extension does)."""


class InstanceNotFoundError(LookupError):
    """Restart of an instance id that does not exist (the extension's ArgumentException, answered with 400)."""


@dataclass
class InstanceQuery:
    """The filters of `GET /instances` (and the SDK's get_status_by / get_status_all)."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: set[str] | None = None
    prefix: str | None = None
    show_input: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    continuation: str | None = None


@dataclass
class EntityQuery:
    """The filters of `GET /entities/{entityName?}`."""

    name: str | None = None
    last_operation_from: datetime | None = None
    last_operation_to: datetime | None = None
    fetch_state: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    continuation: str | None = None


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    continuation: str | None = None


def entity_scheduler_id(name: str, key: str) -> str:
    """`@<name lower-cased>@<key>`, the id the extension keeps an entity under."""
    return f"@{name.lower()}@{key}"


class Management:
    """Client operations for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    # ---- start, status, queries ----------------------------------------------------------------------------
    def start(self, name: str, instance_id: str | None, input_text: str | None) -> str:
        """Start an orchestration; an explicit instance id must be one the extension accepts (ValueError)."""
        if instance_id:
            _check_instance_id(instance_id)
        return self.engine.start_instance(name, instance_id, input_text)

    def status(
        self, instance_id: str, *, show_history: bool = False, show_input: bool = True, show_output: bool = False
    ) -> dict[str, Any] | None:
        row = self.store.get_instance(instance_id)
        if row is None:
            return None
        return status_payload(row, show_history=show_history, show_input=show_input, show_output=show_output)

    def query(self, query: InstanceQuery) -> Page:
        rows = [row for row in self.store.list_instances(with_history=False) if _matches(row, query)]
        selected, token = _page([row.instance_id for row in rows], query.page_size, query.continuation)
        chosen = {row.instance_id: row for row in rows}
        return Page([status_payload(chosen[key], show_input=query.show_input) for key in selected], token)

    # ---- messages to a running instance ------------------------------------------------------------------
    def raise_event(self, instance_id: str, event_name: str, input_text: str | None) -> Outcome:
        return self._post(instance_id, EventType.EVENT_RAISED, Name=event_name, Input=input_text)

    def terminate(self, instance_id: str, reason: str | None) -> Outcome:
        # DTFx keeps the reason as given; the status output parses it as JSON when it is JSON.
        return self._post(instance_id, EventType.EXECUTION_TERMINATED, Input=reason)

    def suspend(self, instance_id: str, reason: str | None) -> Outcome:
        def check(row: InstanceRow) -> None:
            if row.status not in ("Pending", "Running"):
                raise InvalidOperationError(
                    f"Cannot suspend the orchestration instance {instance_id} because instance is in the "
                    f"{row.status} state."
                )

        return self._post(instance_id, EventType.EXECUTION_SUSPENDED, check=check, Reason=reason)

    def resume(self, instance_id: str, reason: str | None) -> Outcome:
        def check(row: InstanceRow) -> None:
            if row.status != "Suspended":
                raise InvalidOperationError(
                    f"Cannot resume the orchestration instance {instance_id} because instance is in the "
                    f"{row.status} state."
                )

        return self._post(instance_id, EventType.EXECUTION_RESUMED, check=check, Reason=reason)

    def _post(self, instance_id: str, kind: EventType, *, check: Any = None, **fields: Any) -> Outcome:
        with self.store.transaction():
            row = self.store.get_instance(instance_id)
            if row is None:
                return Outcome.NOT_FOUND
            if row.status in TERMINAL_STATES:
                return Outcome.GONE
            if check is not None:
                check(row)
            self.engine.post_event(row, kind, **fields)
        return Outcome.ACCEPTED

    # ---- restart and rewind ---------------------------------------------------------------------------------
    def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        """Start the instance's orchestrator again with its input, under a new id or the same one (which must
        then no longer be running)."""
        row = self.store.get_instance(instance_id)
        if row is None:
            # The extension's wording, spelling included.
            raise InstanceNotFoundError(f"An orchestrastion with the instanceId {instance_id} was not found.")
        return self.engine.start_instance(row.name, None if new_instance_id else instance_id, row.input)

    def rewind(self, instance_id: str, reason: str | None) -> Outcome:
        """Azure Storage's rewind: the failed tasks, failed sub-orchestrations (rewound in turn) and the failed
        end become generic events, the instance goes back to Pending, and the deepest failed instances get a
        generic event that wakes them, so the failed work is scheduled again."""
        with self.store.transaction():
            row = self.store.get_instance(instance_id)
            if row is None:
                return Outcome.NOT_FOUND
            if row.status in ("Completed", "Terminated"):
                return Outcome.GONE
            if row.status != "Failed":
                raise InvalidOperationError(REWIND_ONLY_FAILED)
            for revived in self._rewind_history(row):
                target = self.store.get_instance(revived)
                if target is not None:
                    self.engine.post_event(target, EventType.GENERIC, Data=reason)
        return Outcome.ACCEPTED

    def _rewind_history(self, row: InstanceRow) -> list[str]:
        history = row.history
        revive: list[str] = []
        failed_children = False
        scheduled = {
            (event["EventType"], event["EventId"]): index
            for index, event in enumerate(history)
            if event["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)
        }
        for index, event in enumerate(history):
            kind = event["EventType"]
            if kind == EventType.TASK_FAILED:
                source = scheduled.get((EventType.TASK_SCHEDULED, event.get("TaskScheduledId")))
                if source is not None:
                    history[source] = _rewound(history[source])
                history[index] = _rewound(event)
            elif kind == EventType.SUB_ORCHESTRATION_FAILED:
                source = scheduled.get((EventType.SUB_ORCHESTRATION_CREATED, event.get("TaskScheduledId")))
                history[index] = _rewound(event)
                if source is None:
                    continue
                child = self.store.get_instance(str(history[source].get("InstanceId")))
                if child is not None and child.status == "Failed":
                    history[source] = dict(history[source], Reason="Rewound: SubOrchestrationInstanceCreated")
                    revive += self._rewind_history(child)
                    failed_children = True
                else:
                    # No failed child to rewind (it was never created): schedule the sub-orchestration again.
                    history[source] = _rewound(history[source])
            elif kind == EventType.EXECUTION_COMPLETED and event.get("OrchestrationStatus") == "Failed":
                history[index] = _rewound(event)
        row.status = "Pending"
        row.updated_time = format_status_time(self.engine.now())
        self.store.save_instance(row)
        if not failed_children:
            revive.append(row.instance_id)
        return revive

    # ---- purge ------------------------------------------------------------------------------------------
    def purge(self, instance_id: str) -> int | None:
        """Delete the instance with its history and queued work, whatever its status (Azure Storage does
        not check); None when there is no such instance."""
        with self.store.transaction():
            if self.store.get_instance(instance_id) is None:
                return None
            self.store.delete_instance(instance_id)
        return 1

    def purge_by(self, created_from: datetime, created_to: datetime | None, statuses: set[str] | None) -> int:
        """Only terminal statuses take part in the filter (Azure Storage drops the others); with none left,
        every instance created in the window is purged."""
        terminal = (statuses or set()) & TERMINAL_STATES
        query = InstanceQuery(created_from, created_to or self.engine.now(), terminal or None)
        doomed = [row.instance_id for row in self.store.list_instances(with_history=False) if _matches(row, query)]
        return sum(self.purge(instance_id) or 0 for instance_id in doomed)

    # ---- entities ---------------------------------------------------------------------------------------
    def signal_entity(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        if name.lower() not in self.engine.app.entities:
            raise UnknownFunctionError(self.engine.app.missing_function_message(name, "entity"))
        if _has_forbidden_character(key):
            raise ValueError("entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')")
        self.store.add_entity_op(
            entity_scheduler_id(name, key), {"name": operation, "input": input_text, "isSignal": True}
        )
        self.engine.notify()

    def read_entity(self, name: str, key: str) -> tuple[bool, str | None]:
        return self.engine.read_entity(entity_scheduler_id(name, key))

    def list_entities(self, query: EntityQuery) -> Page:
        prefix = entity_scheduler_id(query.name, "") if query.name else "@"
        upper = query.last_operation_to or self.engine.now()
        rows = []
        for row in self.store.list_entities():
            if not row.entity_id.startswith(prefix):
                continue
            when = parse_time(row.last_operation) if row.last_operation else None
            if when is not None and (when > upper or (query.last_operation_from and when < query.last_operation_from)):
                continue
            rows.append(row)
        selected, token = _page([row.entity_id for row in rows], query.page_size, query.continuation)
        chosen = {row.entity_id: row for row in rows}
        items = []
        for entity_id in selected:
            row = chosen[entity_id]
            name, _, key = entity_id[1:].partition("@")
            items.append(
                {
                    "entityId": {"key": key, "name": name},
                    "lastOperationTime": row.last_operation,
                    "state": decode_json(row.state) if query.fetch_state else None,
                }
            )
        return Page(items, token)


def _has_forbidden_character(text: str) -> bool:
    return any(ch in _FORBIDDEN_KEY_CHARACTERS or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def _check_instance_id(instance_id: str) -> None:
    """The extension's StartNewAsync checks. Its ArgumentException (like the entity key check's) passes the
    parameter name where the message goes, so .NET reports the texts below; they are kept as returned."""
    if instance_id.startswith("@"):
        raise ValueError("instanceId (Parameter 'Orchestration instance ids must not start with @.')")
    if _has_forbidden_character(instance_id):
        raise ValueError(
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.')"
        )
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise ValueError(f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters.")


def _rewound(event: HistoryEvent) -> HistoryEvent:
    """What a rewound history row reads back as: a GenericEvent in the same place, ignored by replay."""
    return {
        "EventType": int(EventType.GENERIC),
        "EventId": event.get("EventId", -1),
        "IsPlayed": event.get("IsPlayed", False),
        "Timestamp": event["Timestamp"],
        "Data": None,
    }


def _matches(row: InstanceRow, query: InstanceQuery) -> bool:
    created = parse_time(row.created_time)
    if query.created_from is not None and created < query.created_from:
        return False
    if query.created_to is not None and created > query.created_to:
        return False
    if query.statuses and row.status not in query.statuses:
        return False
    return not (query.prefix and not row.instance_id.startswith(query.prefix))


def _page(keys: list[str], page_size: int, continuation: str | None) -> tuple[list[str], str | None]:
    """One page of keys (sorted) after the continuation token, and the token for the next page, if any."""
    size = page_size if page_size > 0 else DEFAULT_PAGE_SIZE
    after = decode_continuation(continuation) if continuation else None
    remaining = [key for key in keys if after is None or key > after]
    page = remaining[:size]
    token = encode_continuation(page[-1]) if len(remaining) > size else None
    return page, token


def encode_continuation(last_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_key}).encode()).decode()


def decode_continuation(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError("the x-ms-continuation-token header is not a token this host issued") from exc
    if not isinstance(after, str):
        raise ValueError("the x-ms-continuation-token header is not a token this host issued")
    return after
