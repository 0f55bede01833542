"""The Durable task hub: episodes, activities, entities and timers over the SQLite store.

One engine thread (the caller of `drive_once`) runs orchestrator episodes and entity operations one at
a time, as a single-partition task hub would; activities (and the built-in HTTP activity) run in a bounded
thread pool sized by `maxConcurrentActivityFunctions`. Every state change is one store transaction.
Client operations (start, raise, terminate, suspend, rewind, purge, queries) live in `management.py`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .app_loader import LoadedApp
from .clock import HostClock
from .durable_http import HTTP_ACTIVITY_NAME, DurableHttpClient
from .history import EventType, HistoryEvent, format_status_time, format_time, new_event, parse_time
from .replay import NonDeterminismError, ReplayProgram, ScheduledWork, UnsupportedActionError
from .status_view import decode_json
from .store import ActivityWork, InstanceRow, TaskHubStore
from .worker import ActivityResult, AsyncRunner, call_orchestrator, run_activity, run_entity_operation

log = logging.getLogger("emulators.functions_host")

RUNNING_STATES = frozenset({"Pending", "Running", "Suspended"})
"""Statuses a new start may not overwrite (the extension's default overridableExistingInstanceStates)."""
TERMINAL_STATES = frozenset({"Completed", "Failed", "Terminated"})
CUSTOM_STATUS_LIMIT_BYTES = 16 * 1024
MAX_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"
DEFAULT_HTTP_POLL_MILLISECONDS = 30000


class InstanceExistsError(Exception):
    """Starting an instance id that is still Pending, Running or Suspended (DTFx OrchestrationAlreadyExists)."""


class UnknownFunctionError(Exception):
    """No orchestrator of that name is registered."""


def already_exists_message(status: str) -> str:
    """DTFx's (Azure Storage) refusal to start over an instance that has not finished."""
    return f"An Orchestration instance with the status {status} already exists."


@dataclass
class EngineOptions:
    strict: bool = False
    max_activities: int = 10
    activity_overrides: dict[str, Callable[[Any], Any]] | None = None


class _SuspensionGate:
    """Sorts an episode's new events the way DTFx treats a suspended orchestration: while suspended, every
    event except a resume or a termination waits; the resume releases them, in arrival order, after itself.
    The first ExecutionStarted is always let through so it stays at the head of the history."""

    def __init__(self, suspended: bool, held: list[HistoryEvent]) -> None:
        self.suspended = suspended
        self.held = list(held)

    def admit(self, events: list[HistoryEvent]) -> list[HistoryEvent]:
        delivered: list[HistoryEvent] = []
        for event in events:
            kind = event["EventType"]
            if kind == EventType.EXECUTION_SUSPENDED:
                if not self.suspended:
                    self.suspended = True
                    delivered.append(event)
            elif kind == EventType.EXECUTION_RESUMED:
                if self.suspended:
                    self.suspended = False
                    delivered.append(event)
                    delivered.extend(self.held)
                    self.held = []
            elif self.suspended and kind != EventType.EXECUTION_STARTED:
                self.held.append(event)
            else:
                delivered.append(event)
        return delivered


class Engine:
    """Runs orchestrations, activities and entities for one loaded app against one store."""

    def __init__(
        self,
        app: LoadedApp,
        store: TaskHubStore,
        clock: HostClock,
        runner: AsyncRunner,
        options: EngineOptions,
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.runner = runner
        self.options = options
        self.overrides = dict(options.activity_overrides or {})
        self.client_binding: Callable[[], str] | None = None
        """Set by the host once its HTTP front end (which serves the client RPC) exists."""
        self.timers_enabled = True
        self.changed = threading.Condition()
        self.http = DurableHttpClient()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, options.max_activities), thread_name_prefix="functions-host-activity"
        )
        self._in_flight: set[int] = set()
        self._dispatched_up_to = 0
        self._flight_lock = threading.Lock()
        self._closed = False
        saved = store.get_meta("clock")
        if saved:
            clock.resume_from(parse_time(saved))

    # ---- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout=max(0.0, timeout))

    def now(self) -> datetime:
        return self.clock.now()

    # ---- instances --------------------------------------------------------------------------------------
    def start_instance(
        self,
        name: str,
        instance_id: str | None,
        input_text: str | None,
        *,
        parent: tuple[str, str, int, str] | None = None,
    ) -> str:
        if name not in self.app.orchestrators:
            raise UnknownFunctionError(self.app.missing_function_message(name, "orchestrator"))
        instance_id = instance_id or uuid.uuid4().hex
        with self.store.transaction():
            existing = self.store.get_instance(instance_id)
            if existing is not None and existing.status in RUNNING_STATES:
                raise InstanceExistsError(already_exists_message(existing.status))
            if existing is not None:
                self.store.delete_instance(instance_id)
            self._create_instance(name, instance_id, input_text, parent)
        self.notify()
        return instance_id

    def _create_instance(
        self,
        name: str,
        instance_id: str,
        input_text: str | None,
        parent: tuple[str, str, int, str] | None,
        created: str | None = None,
    ) -> None:
        now = self.now()
        execution_id = uuid.uuid4().hex
        started: dict[str, Any] = {
            "Name": name,
            "Version": "",
            "Input": input_text,
            "Tags": None,
            "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": execution_id},
        }
        if parent is not None:
            parent_id, parent_execution, parent_seq, parent_name = parent
            started["ParentInstance"] = {
                "Name": parent_name,
                "Version": "",
                "TaskScheduledId": parent_seq,
                "OrchestrationInstance": {"InstanceId": parent_id, "ExecutionId": parent_execution},
            }
        row = InstanceRow(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            status="Pending",
            input=input_text,
            output=None,
            custom_status=None,
            created_time=created or format_status_time(now),
            updated_time=format_status_time(now),
            parent_instance_id=parent[0] if parent else None,
            parent_execution_id=parent[1] if parent else None,
            parent_seq=parent[2] if parent else None,
            history=[],
        )
        self.store.save_instance(row)
        self.store.post(instance_id, new_event(EventType.EXECUTION_STARTED, now, **started), execution_id=execution_id)

    def post_event(self, row: InstanceRow, kind: EventType, **fields: Any) -> None:
        """Queue a client message (raised event, terminate, suspend, resume, rewind) for the instance."""
        self.store.post(row.instance_id, new_event(kind, self.now(), **fields), execution_id=row.execution_id)
        self.notify()

    def status_row(self, instance_id: str) -> InstanceRow | None:
        return self.store.get_instance(instance_id)

    def history(self, instance_id: str) -> list[HistoryEvent]:
        row = self.store.get_instance(instance_id)
        return list(row.history) if row else []

    def read_entity(self, entity_id: str) -> tuple[bool, str | None]:
        return self.store.entity_exists(entity_id), self.store.entity_state(entity_id)

    # ---- driving ----------------------------------------------------------------------------------------
    def activities_in_flight(self) -> int:
        with self._flight_lock:
            return len(self._in_flight)

    def next_timer(self) -> datetime | None:
        if not self.timers_enabled:
            return None
        due = self.store.next_timer_due()
        return parse_time(due) if due else None

    def drive_once(self) -> bool:
        """Do everything runnable right now; True if anything happened."""
        progressed = self._dispatch_activities()
        progressed = self._run_entity_operations() or progressed
        ready = self.store.ready_instances(format_time(self.now()), self.timers_enabled)
        for instance_id in ready:
            self.run_episode(instance_id)
            progressed = True
        if ready:
            self.store.set_meta("clock", format_time(self.now()))
            self.notify()
        return progressed

    def _dispatch_activities(self) -> bool:
        with self._flight_lock:
            capacity = self.options.max_activities - len(self._in_flight)
            if capacity <= 0 or self._closed:
                return False
            work = self.store.pending_activities(self._dispatched_up_to, capacity)
            for item in work:
                self._in_flight.add(item.seq)
                self._dispatched_up_to = max(self._dispatched_up_to, item.seq)
        for item in work:
            self._pool.submit(self._run_activity, item)
        return bool(work)

    def _activity_result(self, work: ActivityWork) -> ActivityResult:
        if work.name == HTTP_ACTIVITY_NAME and work.name not in self.overrides:
            return self.http.run(work.input)
        return run_activity(
            self.app, work.name, work.input, self.overrides, self.runner, client_binding=self.client_binding
        )

    def _run_activity(self, work: ActivityWork) -> None:
        try:
            result = self._activity_result(work)
            now = self.now()
            if result.ok:
                event = new_event(EventType.TASK_COMPLETED, now, TaskScheduledId=work.task_seq, Result=result.result)
            else:
                log.warning("%s", result.reason)
                event = new_event(
                    EventType.TASK_FAILED,
                    now,
                    TaskScheduledId=work.task_seq,
                    Reason=result.reason,
                    Details=result.details,
                )
            with self.store.transaction():
                if self.store.delete_activity(work.seq):
                    self.store.post(work.instance_id, event, execution_id=work.execution_id)
        except Exception:
            log.exception("activity '%s' could not be completed", work.name)
        finally:
            with self._flight_lock:
                self._in_flight.discard(work.seq)
            self.notify()

    def _run_entity_operations(self) -> bool:
        progressed = False
        while (op := self.store.next_entity_op()) is not None:
            self._run_entity_operation(op.seq, op.entity_id, op.op)
            progressed = True
        if progressed:
            self.notify()
        return progressed

    def _run_entity_operation(self, seq: int, entity_id: str, op: dict[str, Any]) -> None:
        name, _, key = entity_id[1:].partition("@")
        handler = self.app.entities.get(name.lower())
        exists, state = self.read_entity(entity_id)
        outcome = run_entity_operation(
            handler=handler,
            entity_name=name,
            entity_key=key,
            state=state,
            exists=exists,
            operation=op["name"],
            input_text=op.get("input"),
            is_signal=bool(op.get("isSignal")),
            missing_message=self.app.missing_function_message(name, "entity"),
        )
        if outcome.is_error:
            log.warning("entity operation '%s' on '%s' failed", op["name"], entity_id)
        with self.store.transaction():
            self.store.put_entity_state(entity_id, outcome.exists, outcome.state, format_time(self.now()))
            self.store.delete_entity_op(seq)
            if not op.get("isSignal") and op.get("parent"):
                response: dict[str, Any] = {"result": outcome.result}
                if outcome.is_error:
                    response["exceptionType"] = "System.Exception"
                self.store.post(
                    op["parent"],
                    new_event(EventType.EVENT_RAISED, self.now(), Name=op["id"], Input=json.dumps(response)),
                    execution_id=op.get("parentExecution"),
                )

    # ---- episodes -----------------------------------------------------------------------------------------
    def run_episode(self, instance_id: str) -> None:
        """Run one episode for the instance with every message deliverable now, in one transaction."""
        consumed: list[int] = []
        try:
            with self.store.transaction():
                messages = self.store.messages_for(instance_id, format_time(self.now()), self.timers_enabled)
                consumed = [message.seq for message in messages]
                row = self.store.get_instance(instance_id)
                if row is not None and row.status not in TERMINAL_STATES:
                    inbox_events = [m.event for m in messages if m.execution_id in (None, row.execution_id)]
                    if inbox_events:
                        self._episode(row, inbox_events)
                self.store.delete_messages(consumed)
        except Exception as exc:
            # A host-side fault must not leave the messages to be retried in a hot loop: fail the instance.
            log.exception("an episode of instance %s could not be recorded", instance_id)
            with self.store.transaction():
                broken = self.store.get_instance(instance_id)
                if broken is not None and broken.status not in TERMINAL_STATES:
                    problem = f"the host could not record an episode: {type(exc).__name__}: {exc}"
                    self._fail(broken, problem, self.now())
                self.store.delete_messages(consumed)

    def _episode_time(self, row: InstanceRow) -> datetime:
        now = self.now()
        for event in reversed(row.history):
            if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
                return max(now, parse_time(event["Timestamp"]))
        return now

    def _episode(self, row: InstanceRow, inbox_events: list[HistoryEvent]) -> None:
        now = self._episode_time(row)
        old = [dict(event, IsPlayed=True) for event in row.history]
        started = new_event(EventType.ORCHESTRATOR_STARTED, now)
        terminate = next((e for e in inbox_events if e["EventType"] == EventType.EXECUTION_TERMINATED), None)
        if terminate is not None:
            row.history = [*old, started, terminate]
            self._finish(row, "Terminated", terminate.get("Input"), now)
            return
        gate = _SuspensionGate(row.status == "Suspended", self.store.held_events(row.instance_id))
        delivered = gate.admit(inbox_events)
        self.store.replace_held(row.instance_id, gate.held)
        row.updated_time = format_status_time(now)
        if gate.suspended:
            # A suspended orchestration does not run: what it was sent waits for the resume.
            row.history = [*old, started, *delivered, new_event(EventType.ORCHESTRATOR_COMPLETED, now)]
            row.status = "Suspended"
            self.store.save_instance(row)
            return
        history = [*old, started, *delivered]
        row.episodes += 1
        row.replayed_events += len(old)
        row.status = "Running"
        handle = self.app.orchestrators.get(row.name)
        if handle is None:
            row.history = history
            self._fail(row, self.app.missing_function_message(row.name, "orchestrator"), now)
            return
        reply = call_orchestrator(handle, self._context_json(row, history))
        if reply.state is None:
            row.history = history
            self._fail(row, reply.crash or "the orchestrator returned nothing", now)
            return
        state = reply.state
        actions = [action for group in (state.get("actions") or []) for action in group]
        try:
            outcome = ReplayProgram(actions, row.instance_id, strict=self.options.strict).run(history)
        except (NonDeterminismError, UnsupportedActionError) as exc:
            row.history = history
            log.error("orchestration '%s' (%s): %s", row.name, row.instance_id, exc)
            self._fail(row, str(exc), now)
            return
        if "customStatus" in state:
            custom_text = json.dumps(state["customStatus"])
            size = len(custom_text.encode("utf-16-le"))
            if size > CUSTOM_STATUS_LIMIT_BYTES:
                row.history = history
                self._fail(
                    row,
                    f"The custom status is {size} bytes of UTF-16 JSON, over the 16 KB limit "
                    f"({CUSTOM_STATUS_LIMIT_BYTES} bytes).",
                    now,
                )
                return
            row.custom_status = custom_text
        for work in outcome.new_work:
            history.append(self._dispatch(row, work, now))
        row.history = history
        if outcome.finished and state.get("error"):
            self._fail(row, str(state["error"]), now)
        elif outcome.finished and outcome.continued_as_new:
            row.history.append(new_event(EventType.ORCHESTRATOR_COMPLETED, now))
            self._continue_as_new(row, outcome.continue_as_new_input, now)
        elif outcome.finished and state.get("isDone") and not outcome.open_timers:
            self._finish(row, "Completed", json.dumps(state.get("output")), now)
        else:
            row.history.append(new_event(EventType.ORCHESTRATOR_COMPLETED, now))
            self.store.save_instance(row)

    def _context_json(self, row: InstanceRow, history: list[HistoryEvent]) -> dict[str, Any]:
        parent = next((e.get("ParentInstance") for e in history if e["EventType"] == EventType.EXECUTION_STARTED), None)
        return {
            "history": history,
            "input": row.input,
            "instanceId": row.instance_id,
            "isReplaying": any(e["IsPlayed"] for e in history),
            "parentInstanceId": (parent or {}).get("OrchestrationInstance", {}).get("InstanceId"),
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "maximumShortTimerDuration": MAX_SHORT_TIMER,
            "longRunningTimerIntervalDuration": LONG_TIMER_INTERVAL,
            "defaultHttpAsyncRequestSleepTimeMillseconds": DEFAULT_HTTP_POLL_MILLISECONDS,
        }

    def _dispatch(self, row: InstanceRow, work: ScheduledWork, now: datetime) -> HistoryEvent:
        """Hand new work to its queue; return the scheduling event to record in history."""
        if work.kind is EventType.TASK_SCHEDULED:
            self.store.add_activity(row.instance_id, row.execution_id, work.seq, work.name, work.input)
            return new_event(EventType.TASK_SCHEDULED, now, work.seq, Name=work.name, Version="", Input=work.input)
        if work.kind is EventType.TIMER_CREATED:
            fire_at = work.fire_at or now
            fire_text = format_time(fire_at)
            self.store.post(
                row.instance_id,
                new_event(EventType.TIMER_FIRED, fire_at, TimerId=work.seq, FireAt=fire_text),
                execution_id=row.execution_id,
                visible_at=fire_text,
                is_timer=True,
            )
            return new_event(EventType.TIMER_CREATED, now, work.seq, FireAt=fire_text)
        if work.kind is EventType.SUB_ORCHESTRATION_CREATED:
            child_id = work.target_id or f"{row.instance_id}:{work.seq:04d}"
            self._start_child(row, work, child_id, now)
            return new_event(
                EventType.SUB_ORCHESTRATION_CREATED,
                now,
                work.seq,
                Name=work.name,
                Version="",
                InstanceId=child_id,
                Input=work.input,
            )
        op: dict[str, Any] = {"name": work.name, "input": work.input, "isSignal": work.is_signal}
        if not work.is_signal:
            op.update(id=work.request_id, parent=row.instance_id, parentExecution=row.execution_id)
        self.store.add_entity_op(work.target_id or "", op)
        sent_input = {"id": work.request_id or str(uuid.uuid4()), "op": work.name, "input": work.input}
        return new_event(
            EventType.EVENT_SENT,
            now,
            work.seq,
            InstanceId=work.target_id,
            Name=work.name,
            Input=json.dumps(sent_input),
        )

    def _start_child(self, row: InstanceRow, work: ScheduledWork, child_id: str, now: datetime) -> None:
        existing = self.store.get_instance(child_id)
        problem = None
        if work.name not in self.app.orchestrators:
            problem = self.app.missing_function_message(work.name, "orchestrator")
        elif existing is not None and existing.status in RUNNING_STATES:
            problem = already_exists_message(existing.status)
        if problem is not None:
            self.store.post(
                row.instance_id,
                new_event(
                    EventType.SUB_ORCHESTRATION_FAILED,
                    now,
                    TaskScheduledId=work.seq,
                    Reason=problem,
                    Details=None,
                ),
                execution_id=row.execution_id,
            )
            return
        if existing is not None:
            self.store.delete_instance(child_id)
        self._create_instance(work.name, child_id, work.input, (row.instance_id, row.execution_id, work.seq, row.name))

    def _fail(self, row: InstanceRow, message: str, now: datetime) -> None:
        text = f"Orchestrator function '{row.name}' failed: {message}"
        log.error("%s (instance %s)", text, row.instance_id)
        self._finish(row, "Failed", json.dumps(text), now)

    def _finish(self, row: InstanceRow, status: str, output_text: str | None, now: datetime) -> None:
        """End the execution: DTFx records every end (completed, failed, terminated) as ExecutionCompleted
        with its OrchestrationStatus, before the episode's OrchestratorCompleted."""
        ended = new_event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=status, Result=output_text)
        row.history.append(ended)
        if _episode_open(row.history):
            row.history.append(new_event(EventType.ORCHESTRATOR_COMPLETED, now))
        row.status = status
        row.output = output_text
        row.updated_time = format_status_time(now)
        self.store.save_instance(row)
        with self.store.transaction() as db:
            db.execute("DELETE FROM inbox WHERE instance_id = ? AND is_timer = 1", (row.instance_id,))
            db.execute("DELETE FROM held WHERE instance_id = ?", (row.instance_id,))
        if row.parent_instance_id is None or row.parent_seq is None:
            return
        if status == "Completed":
            event = new_event(
                EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=row.parent_seq, Result=output_text
            )
        else:
            # DTFx hands the parent the child's result: the failure message, or the termination reason.
            reason = decode_json(output_text) if output_text else f"Sub-orchestration '{row.name}' {status.lower()}"
            event = new_event(
                EventType.SUB_ORCHESTRATION_FAILED,
                now,
                TaskScheduledId=row.parent_seq,
                Reason=str(reason),
                Details=None,
            )
        self.store.post(row.parent_instance_id, event, execution_id=row.parent_execution_id)

    def _continue_as_new(self, row: InstanceRow, new_input: str | None, now: datetime) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM inbox WHERE instance_id = ?", (row.instance_id,))
            db.execute("DELETE FROM activities WHERE instance_id = ?", (row.instance_id,))
        parent = None
        if row.parent_instance_id and row.parent_execution_id is not None and row.parent_seq is not None:
            parent = (row.parent_instance_id, row.parent_execution_id, row.parent_seq, "")
        custom_status, created = row.custom_status, row.created_time
        self._create_instance(row.name, row.instance_id, new_input, parent, created=created)
        fresh = self.store.get_instance(row.instance_id)
        if fresh is not None:
            fresh.status = "Running"
            fresh.custom_status = custom_status
            fresh.episodes, fresh.replayed_events = row.episodes, row.replayed_events
            self.store.save_instance(fresh)


def _episode_open(history: list[HistoryEvent]) -> bool:
    """True when the history's last episode has started but not yet ended."""
    for event in reversed(history):
        if event["EventType"] == EventType.ORCHESTRATOR_COMPLETED:
            return False
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
            return True
    return False
