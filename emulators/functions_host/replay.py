"""Replay of an orchestrator's action list against its history, the way DTFx runs the out-of-process shim.

The SDK reports *what* the orchestrator wants (a flat list of actions, compound for WhenAll / WhenAny);
the host decides *which sequence id* each piece of work gets and *when* it is scheduled. DTFx awaits
each top-level action in turn, waits for every child of a WhenAll, stops at the first child of a
WhenAny, and runs retries itself, spending one hidden timer id after every failed attempt (the last one
included). Getting this exactly right is what keeps the SDK's task ids and the host's history aligned;
comparing the history's scheduling events with the replay is how non-determinism is detected.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .durable_http import HTTP_ACTIVITY_NAME, UnsupportedHttpRequestError, activity_input
from .history import SCHEDULING_EVENTS, EventType, HistoryEvent, parse_time

NON_DETERMINISM_PREFIX = "Non-Deterministic workflow detected: "


class NonDeterminismError(Exception):
    """The orchestrator's replay no longer matches the history it produced earlier."""


class UnsupportedActionError(Exception):
    """An action this host cannot carry out (an unknown action type, or a .NET-only CallHttp option)."""


@dataclass
class ScheduledWork:
    """One piece of work a replay scheduled under a sequence id."""

    seq: int
    kind: EventType
    name: str = ""
    input: str | None = None
    fire_at: datetime | None = None
    target_id: str | None = None
    request_id: str | None = None
    is_signal: bool = False
    hidden: bool = False

    def describe(self) -> str:
        if self.kind is EventType.TASK_SCHEDULED:
            return f"activity '{self.name}'"
        if self.kind is EventType.SUB_ORCHESTRATION_CREATED:
            return f"sub-orchestration '{self.name}'"
        if self.kind is EventType.TIMER_CREATED:
            return "retry timer" if self.hidden else "timer"
        verb = "signal" if self.is_signal else "call"
        return f"entity {verb} '{self.name}' on '{self.target_id}'"


@dataclass
class ReplayOutcome:
    """What the replay found: new work to dispatch and whether the action program has finished."""

    new_work: list[ScheduledWork]
    finished: bool
    open_timers: bool
    continue_as_new_input: str | None = None
    continued_as_new: bool = False
    scheduled: dict[int, ScheduledWork] = field(default_factory=dict)


def _describe_event(event: HistoryEvent) -> str:
    kind = EventType(event["EventType"])
    if kind is EventType.TASK_SCHEDULED:
        return f"activity '{event.get('Name')}'"
    if kind is EventType.SUB_ORCHESTRATION_CREATED:
        return f"sub-orchestration '{event.get('Name')}'"
    if kind is EventType.TIMER_CREATED:
        return "timer"
    return f"entity message '{event.get('Name')}' to '{event.get('InstanceId')}'"


class _Node:
    def __init__(self, program: ReplayProgram) -> None:
        self.program = program
        self.done = False
        self.failed = False
        self._listeners: list[Callable[[_Node], None]] = []

    def on_done(self, listener: Callable[[_Node], None]) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        raise NotImplementedError

    def finish(self, failed: bool) -> None:
        if self.done:
            return
        self.done = True
        self.failed = failed
        for listener in list(self._listeners):
            listener(self)


class _Leaf(_Node):
    """Work with a sequence id: an activity, a sub-orchestration, a timer or an entity message."""

    def __init__(self, program: ReplayProgram, work: ScheduledWork, canceled: bool = False) -> None:
        super().__init__(program)
        self.work = work
        self.canceled = canceled

    def start(self) -> None:
        self.program.schedule(self)
        if self.work.is_signal:
            self.finish(False)


class _EventWait(_Node):
    def __init__(self, program: ReplayProgram, name: str) -> None:
        super().__init__(program)
        self.name = name

    def start(self) -> None:
        self.program.wait_for_event(self)


class _ContinueAsNew(_Node):
    def __init__(self, program: ReplayProgram, new_input: str | None) -> None:
        super().__init__(program)
        self.new_input = new_input

    def start(self) -> None:
        self.program.continue_as_new_input = self.new_input
        self.program.continued_as_new = True
        self.finish(False)


class _Retry(_Node):
    """DTFx RetryInterceptor: attempt, and after every failure a timer; give up after the last timer."""

    def __init__(self, program: ReplayProgram, template: ScheduledWork, first_interval_ms: int, attempts: int):
        super().__init__(program)
        self.template = template
        self.interval = timedelta(milliseconds=first_interval_ms)
        self.max_attempts = max(1, attempts)
        self.attempts = 0

    def start(self) -> None:
        self._attempt()

    def _attempt(self) -> None:
        self.attempts += 1
        leaf = _Leaf(
            self.program,
            ScheduledWork(
                seq=-1,
                kind=self.template.kind,
                name=self.template.name,
                input=self.template.input,
                target_id=self.template.target_id,
            ),
        )
        leaf.on_done(self._attempt_done)
        leaf.start()

    def _attempt_done(self, leaf: _Node) -> None:
        if not leaf.failed:
            self.finish(False)
            return
        timer = _Leaf(
            self.program,
            ScheduledWork(seq=-1, kind=EventType.TIMER_CREATED, fire_at=self.program.now + self.interval, hidden=True),
        )
        timer.on_done(self._timer_fired)
        timer.start()

    def _timer_fired(self, _timer: _Node) -> None:
        if self.attempts >= self.max_attempts:
            self.finish(True)
        else:
            self._attempt()


class _WhenAll(_Node):
    def __init__(self, program: ReplayProgram, children: list[_Node]) -> None:
        super().__init__(program)
        self.children = children
        self._started = False

    def start(self) -> None:
        for child in self.children:
            child.on_done(self._child_done)
            child.start()
        self._started = True
        self._child_done(None)

    def _child_done(self, _child: _Node | None) -> None:
        if self._started and all(child.done for child in self.children):
            self.finish(any(child.failed for child in self.children))


class _WhenAny(_Node):
    def __init__(self, program: ReplayProgram, children: list[_Node]) -> None:
        super().__init__(program)
        self.children = children

    def start(self) -> None:
        for child in self.children:
            child.on_done(self._child_done)
            child.start()
        if not self.children:
            self.finish(False)

    def _child_done(self, _child: _Node) -> None:
        self.finish(False)


class ReplayProgram:
    """Replays one episode's action list over the full history of the current execution."""

    def __init__(self, actions: list[dict[str, Any]], instance_id: str, *, strict: bool = False) -> None:
        self.instance_id = instance_id
        self.strict = strict
        self.now = datetime.min.replace(tzinfo=UTC)
        self.continue_as_new_input: str | None = None
        self.continued_as_new = False
        self._actions = actions
        self._next_index = 0
        self._finished = False
        self._next_seq = 0
        self._scheduled: dict[int, _Leaf] = {}
        self._pending_by_seq: dict[int, _Leaf] = {}
        self._pending_by_request: dict[str, _Leaf] = {}
        self._waiters: dict[str, deque[_EventWait]] = {}
        self._buffered_events: dict[str, int] = {}
        self._history_by_seq: dict[int, HistoryEvent] = {}

    # ---- building nodes from the SDK's action JSON -------------------------------------------------
    def _build(self, action: dict[str, Any]) -> _Node:
        kind = action.get("actionType")
        if kind == 0:
            return _Leaf(self, ScheduledWork(-1, EventType.TASK_SCHEDULED, action["functionName"], action.get("input")))
        if kind == 1:
            options = action.get("retryOptions") or {}
            template = ScheduledWork(-1, EventType.TASK_SCHEDULED, action["functionName"], action.get("input"))
            return _Retry(
                self,
                template,
                int(options.get("firstRetryIntervalInMilliseconds", 1000)),
                int(options.get("maxNumberOfAttempts", 1)),
            )
        if kind in (2, 3):
            template = ScheduledWork(
                -1,
                EventType.SUB_ORCHESTRATION_CREATED,
                action["functionName"],
                action.get("input"),
                target_id=action.get("instanceId") or None,
            )
            if kind == 2:
                return _Leaf(self, template)
            options = action.get("retryOptions") or {}
            return _Retry(
                self,
                template,
                int(options.get("firstRetryIntervalInMilliseconds", 1000)),
                int(options.get("maxNumberOfAttempts", 1)),
            )
        if kind == 4:
            return _ContinueAsNew(self, action.get("input"))
        if kind == 5:
            fire_at = parse_time(action["fireAt"])
            return _Leaf(
                self,
                ScheduledWork(-1, EventType.TIMER_CREATED, fire_at=fire_at),
                canceled=bool(action.get("isCanceled")),
            )
        if kind == 6:
            return _EventWait(self, action["externalEventName"])
        if kind in (7, 9):
            return _Leaf(
                self,
                ScheduledWork(
                    -1,
                    EventType.EVENT_SENT,
                    action["operation"],
                    action.get("input"),
                    target_id=action["instanceId"],
                    is_signal=kind == 9,
                ),
            )
        if kind == 11:
            return _WhenAny(self, [self._build(child) for child in action.get("compoundActions", [])])
        if kind == 12:
            return _WhenAll(self, [self._build(child) for child in action.get("compoundActions", [])])
        if kind == 8:
            try:
                request = activity_input(action)
            except UnsupportedHttpRequestError as exc:
                raise UnsupportedActionError(str(exc)) from exc
            return _Leaf(self, ScheduledWork(-1, EventType.TASK_SCHEDULED, HTTP_ACTIVITY_NAME, request))
        raise UnsupportedActionError(f"unknown actionType {kind!r}")

    # ---- what nodes ask of the program ------------------------------------------------------------
    def schedule(self, leaf: _Leaf) -> None:
        work = leaf.work
        work.seq = self._next_seq
        self._next_seq += 1
        recorded = self._history_by_seq.get(work.seq)
        if work.kind is EventType.SUB_ORCHESTRATION_CREATED and not work.target_id:
            work.target_id = (recorded or {}).get("InstanceId") or f"{self.instance_id}:{work.seq:04d}"
        if work.kind is EventType.EVENT_SENT and not work.is_signal:
            work.request_id = _request_id_of(recorded) or str(uuid.uuid4())
            self._pending_by_request[work.request_id] = leaf
        self._scheduled[work.seq] = leaf
        if not work.is_signal:
            self._pending_by_seq[work.seq] = leaf

    def wait_for_event(self, waiter: _EventWait) -> None:
        if self._buffered_events.get(waiter.name, 0) > 0:
            self._buffered_events[waiter.name] -= 1
            waiter.finish(False)
            return
        self._waiters.setdefault(waiter.name, deque()).append(waiter)

    def _advance(self, _node: _Node | None = None) -> None:
        while self._next_index < len(self._actions):
            node = self._build(self._actions[self._next_index])
            self._next_index += 1
            node.start()
            if not node.done:
                node.on_done(self._advance)
                return
        self._finished = True

    # ---- the replay itself -------------------------------------------------------------------------
    def run(self, history: list[HistoryEvent]) -> ReplayOutcome:
        for event in history:
            if event["EventType"] in SCHEDULING_EVENTS and event.get("EventId", -1) >= 0:
                self._history_by_seq[event["EventId"]] = event
        for event in history:
            self._apply(event)
        new_work = sorted(
            (leaf.work for seq, leaf in self._scheduled.items() if seq not in self._history_by_seq),
            key=lambda work: work.seq,
        )
        open_timers = any(
            leaf.work.kind is EventType.TIMER_CREATED and not leaf.canceled and not leaf.done
            for leaf in self._scheduled.values()
        )
        return ReplayOutcome(
            new_work=new_work,
            finished=self._finished,
            open_timers=open_timers,
            continue_as_new_input=self.continue_as_new_input,
            continued_as_new=self.continued_as_new,
            scheduled={seq: leaf.work for seq, leaf in self._scheduled.items()},
        )

    def _apply(self, event: HistoryEvent) -> None:
        kind = EventType(event["EventType"])
        if kind is EventType.ORCHESTRATOR_STARTED:
            self.now = parse_time(event["Timestamp"])
        elif kind is EventType.EXECUTION_STARTED:
            self._advance()
        elif kind in SCHEDULING_EVENTS and event.get("EventId", -1) >= 0:
            self._verify(event)
        elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
            self._resolve(self._pending_by_seq.pop(event.get("TaskScheduledId", -1), None), failed=False)
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
            self._resolve(self._pending_by_seq.pop(event.get("TaskScheduledId", -1), None), failed=True)
        elif kind is EventType.TIMER_FIRED:
            self._resolve(self._pending_by_seq.pop(event.get("TimerId", -1), None), failed=False)
        elif kind is EventType.EVENT_RAISED:
            self._raise(event)

    def _resolve(self, leaf: _Leaf | None, *, failed: bool) -> None:
        if leaf is not None:
            leaf.finish(failed)

    def _raise(self, event: HistoryEvent) -> None:
        name = event.get("Name") or ""
        entity_call = self._pending_by_request.pop(name, None)
        if entity_call is not None:
            self._pending_by_seq.pop(entity_call.work.seq, None)
            failed = False
            try:
                failed = "exceptionType" in json.loads(event.get("Input") or "{}")
            except (ValueError, TypeError):
                failed = False
            entity_call.finish(failed)
            return
        waiters = self._waiters.get(name)
        if waiters:
            waiters.popleft().finish(False)
        else:
            self._buffered_events[name] = self._buffered_events.get(name, 0) + 1

    def _verify(self, event: HistoryEvent) -> None:
        seq = event["EventId"]
        leaf = self._scheduled.get(seq)
        recorded = _describe_event(event)
        if leaf is None:
            raise NonDeterminismError(
                f"{NON_DETERMINISM_PREFIX}A previous execution of this orchestration scheduled {recorded} "
                f"with sequence ID {seq}, but the current replay execution hasn't (yet?) scheduled it. "
                "Was a change made to the orchestrator code after this instance had already started running?"
            )
        work = leaf.work
        kind = EventType(event["EventType"])
        same_type = kind is work.kind
        same_name = kind is EventType.TIMER_CREATED or event.get("Name") == work.name
        if kind is EventType.EVENT_SENT:
            same_name = same_name and event.get("InstanceId") == work.target_id
        if not (same_type and same_name):
            raise NonDeterminismError(
                f"{NON_DETERMINISM_PREFIX}sequence ID {seq} was {recorded} in a previous execution, "
                f"but the current replay scheduled {work.describe()}. Was a change made to the "
                "orchestrator code after this instance had already started running?"
            )
        if self.strict:
            self._verify_inputs(event, work)

    def _verify_inputs(self, event: HistoryEvent, work: ScheduledWork) -> None:
        seq = work.seq
        if work.kind is EventType.TIMER_CREATED:
            if work.hidden or work.fire_at is None:
                return
            recorded_fire = parse_time(event["FireAt"])
            if recorded_fire != work.fire_at:
                raise NonDeterminismError(
                    f"{NON_DETERMINISM_PREFIX}(strict) the timer with sequence ID {seq} fired at "
                    f"{event['FireAt']} in a previous execution, but the current replay asked for "
                    f"{work.fire_at.isoformat()}."
                )
            return
        recorded_input = event.get("Input")
        if work.kind is EventType.EVENT_SENT:
            recorded_input = _entity_input_of(event)
        if recorded_input != work.input:
            raise NonDeterminismError(
                f"{NON_DETERMINISM_PREFIX}(strict) {work.describe()} with sequence ID {seq} got input "
                f"{_clip(recorded_input)} in a previous execution, but the current replay passed "
                f"{_clip(work.input)}. Orchestrator inputs must be deterministic."
            )


def _request_id_of(event: HistoryEvent | None) -> str | None:
    if not event:
        return None
    try:
        found = json.loads(event.get("Input") or "{}").get("id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _entity_input_of(event: HistoryEvent) -> str | None:
    try:
        found = json.loads(event.get("Input") or "{}").get("input")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _clip(text: str | None, limit: int = 120) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
