"""`FunctionsHost`: the in-process API (tests, demo) around the engine, store and HTTP server."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app_loader import LoadedApp, load_app
from .clock import HostClock, ScaledClock, VirtualClock
from .engine import TERMINAL_STATES, Engine, EngineOptions
from .history import HistoryEvent
from .host_logging import LogCapture
from .http_api import HostKeys, HttpFrontEnd
from .management import Management, Outcome
from .store import TaskHubStore
from .worker import AsyncRunner

DEFAULT_FUNCTION_KEY = "local-function-key"
DEFAULT_MASTER_KEY = "local-master-key"
DEFAULT_SYSTEM_KEY = "local-durabletask-key"


class FunctionsHost:
    """A local Durable Functions host for one v2-model app module.

    Without `autorun`, nothing runs by itself: a test drives episodes, activities, entities and timers
    with `run_until_idle` / `wait_for`, which makes orchestration tests deterministic. With `autorun`, a
    worker thread drives everything continuously (e2e tests, demo, CLI).
    """

    def __init__(
        self,
        app_module: str,
        state_dir: str | os.PathLike[str],
        *,
        port: int = 0,
        clock: HostClock | None = None,
        time_scale: float = 1.0,
        function_key: str | None = None,
        master_key: str | None = None,
        env: Mapping[str, str] | None = None,
        activity_overrides: Mapping[str, Callable[[Any], Any]] | None = None,
        strict: bool = False,
        autorun: bool = False,
        log_to_stderr: bool = False,
        app_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.app_module = app_module
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.clock: HostClock = clock or ScaledClock(time_scale)
        self.function_key = function_key or os.environ.get("FUNCTION_KEY") or DEFAULT_FUNCTION_KEY
        self.master_key = master_key or os.environ.get("FUNCTIONS_MASTER_KEY") or DEFAULT_MASTER_KEY
        self.system_key = DEFAULT_SYSTEM_KEY
        self.autorun = autorun
        self.log_path = self.state_dir / "host.log"
        self._port = port
        self._env = dict(env or {})
        self._saved_env: dict[str, str | None] = {}
        self._overrides = dict(activity_overrides or {})
        self._strict = strict
        self._log_to_stderr = log_to_stderr
        self._app_path = str(app_path) if app_path is not None else None
        self._added_path = False
        self._logs: LogCapture | None = None
        self._runner: AsyncRunner | None = None
        self._store: TaskHubStore | None = None
        self._engine: Engine | None = None
        self._management: Management | None = None
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._driver: threading.Thread | None = None
        self._stopping = threading.Event()
        self._client: httpx.Client | None = None
        self.base_url = ""
        self.app: LoadedApp | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> FunctionsHost:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> FunctionsHost:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        for key, value in self._env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._logs = LogCapture(self.log_path, to_stderr=self._log_to_stderr)
        self._logs.attach()
        if self._app_path and self._app_path not in sys.path:
            sys.path.insert(0, self._app_path)
            self._added_path = True
        self.app = load_app(self.app_module)
        self._runner = AsyncRunner()
        self._store = TaskHubStore(self.state_dir / "taskhub.sqlite")
        options = EngineOptions(
            strict=self._strict,
            max_activities=self.app.max_concurrent_activities,
            activity_overrides=self._overrides,
        )
        self._engine = Engine(self.app, self._store, self.clock, self._runner, options)
        self._management = Management(self._engine)
        keys = HostKeys(self.function_key, self.master_key, self.system_key)
        front = HttpFrontEnd(self._management, self._runner, keys, self.app.hub_name(dict(os.environ)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self._port}"
        front.base_url = self.base_url
        self._engine.client_binding = front.client_binding
        config = uvicorn.Config(
            front.build(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            # Kestrel, the real host's server, keeps an idle connection 130 s (KestrelServerLimits.KeepAliveTimeout);
            # uvicorn's 5 s default closed pooled connections under the Durable client's feet (aiohttp then reports
            # ServerDisconnectedError on reuse), a race the real host makes rare.
            timeout_keep_alive=130,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="functions-host-http", daemon=True
        )
        self._server_thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._server_thread.is_alive():
                raise RuntimeError("the functions host HTTP server did not start")
            self._stopping.wait(0.01)
        self._client = httpx.Client(base_url=self.base_url, timeout=60)
        if self.autorun:
            self._driver = threading.Thread(target=self._drive_forever, name="functions-host-driver", daemon=True)
            self._driver.start()

    def close(self) -> None:
        self._stopping.set()
        if self._engine is not None:
            self._engine.notify()
        if self._driver is not None:
            self._driver.join(timeout=30)
            self._driver = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(timeout=10)
            self._server = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None
            self._management = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._added_path and self._app_path in sys.path:
            sys.path.remove(self._app_path)
            self._added_path = False
        if self._logs is not None:
            self._logs.detach()
            self._logs = None
        for key, previous in self._saved_env.items():
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous
        self._saved_env.clear()

    def stop_serving(self) -> None:
        """Ask `serve_forever` to return (safe to call from a signal handler)."""
        self._stopping.set()

    def serve_forever(self) -> None:
        """Block until `close()` is called (or the process is signalled)."""
        while not self._stopping.wait(0.5):
            pass

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the host is not running")
        return self._engine

    @property
    def management(self) -> Management:
        """Client operations (start, raise, terminate, suspend, resume, restart, rewind, purge, queries)."""
        if self._management is None:
            raise RuntimeError("the host is not running")
        return self._management

    @property
    def port(self) -> int:
        return self._port

    # ---- HTTP --------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> httpx.Response:
        """Send a real HTTP request to this host (path relative to base_url, e.g. `/api/start/x`)."""
        if self._client is None:
            raise RuntimeError("the host is not running")
        return self._client.request(
            method, path, json=json, content=content, headers=headers, params=params, timeout=timeout
        )

    # ---- driving -------------------------------------------------------------------------------------------
    def _drive_forever(self) -> None:
        engine = self.engine
        while not self._stopping.is_set():
            try:
                if engine.drive_once():
                    continue
            except Exception:
                import logging

                logging.getLogger("emulators.functions_host").exception("the host driver hit an error")
            wait = 0.5
            next_timer = engine.next_timer()
            if next_timer is not None:
                if self.clock.is_virtual and engine.activities_in_flight() == 0:
                    self.clock.jump_to(next_timer)
                    continue
                wait = min(wait, self.clock.real_seconds_until(next_timer))
            engine.wait_for_change(wait)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Drive everything runnable until nothing is: activities finished, no deliverable messages,
        and no timers left (a virtual clock jumps to each next timer; a real clock waits for it). Returns
        when only an external event could make progress. Raises TimeoutError at the deadline."""
        if self.autorun:
            self._wait_until_quiet(timeout)
            return
        engine = self.engine
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if engine.drive_once():
                continue
            if engine.activities_in_flight():
                engine.wait_for_change(min(0.5, deadline - time.monotonic()))
                continue
            next_timer = engine.next_timer()
            if next_timer is None:
                if engine.store.count_activities():
                    engine.wait_for_change(min(0.05, deadline - time.monotonic()))
                    continue
                return
            if self.clock.is_virtual:
                self.clock.jump_to(next_timer)
                continue
            engine.wait_for_change(min(self.clock.real_seconds_until(next_timer), deadline - time.monotonic()))
        raise TimeoutError(f"the host was still busy after {timeout} s")

    def _wait_until_quiet(self, timeout: float) -> None:
        engine = self.engine
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = (
                engine.activities_in_flight()
                or engine.store.count_activities()
                or engine.store.ready_instances(_now_text(engine), engine.timers_enabled)
                or engine.next_timer() is not None
            )
            if not busy:
                return
            engine.wait_for_change(0.1)
        raise TimeoutError(f"the host was still busy after {timeout} s")

    def wait_for(
        self, instance_id: str, status: Iterable[str] = TERMINAL_STATES, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Drive (or, with autorun, wait) until the instance reaches one of `status`; return its status."""
        wanted = {status} if isinstance(status, str) else set(status)
        engine = self.engine
        deadline = time.monotonic() + timeout
        while True:
            current = self.status(instance_id)
            if current is not None and current["runtimeStatus"] in wanted:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                shown = current["runtimeStatus"] if current else "unknown"
                raise TimeoutError(f"instance {instance_id} is {shown}, not {sorted(wanted)}, after {timeout} s")
            if self.autorun:
                engine.wait_for_change(min(0.2, remaining))
                continue
            if engine.drive_once():
                continue
            next_timer = engine.next_timer()
            if engine.activities_in_flight() or engine.store.count_activities():
                engine.wait_for_change(min(0.2, remaining))
            elif next_timer is not None and self.clock.is_virtual:
                self.clock.jump_to(next_timer)
            elif next_timer is not None:
                engine.wait_for_change(min(self.clock.real_seconds_until(next_timer), remaining))
            else:
                engine.wait_for_change(min(0.2, remaining))

    def set_timers_enabled(self, enabled: bool) -> None:
        """Stop (or resume) delivering durable timers, to park instances at a timer."""
        self.engine.timers_enabled = enabled
        self.engine.notify()

    # ---- instance views -----------------------------------------------------------------------------------
    def start_orchestration(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start an orchestration directly (what a starter function does through the client)."""
        return self.management.start(name, instance_id, None if input is None else json.dumps(input))

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> Outcome:
        return self.management.raise_event(instance_id, event_name, json.dumps(data))

    def status(self, instance_id: str, history: bool = False) -> dict[str, Any] | None:
        """The management API's status object (with `historyEvents`, outputs included, when `history`)."""
        return self.management.status(instance_id, show_history=history, show_output=history)

    def history(self, instance_id: str) -> list[HistoryEvent]:
        """The raw host-side history of the current execution (EventType as numbers, as sent to the SDK)."""
        return self.engine.history(instance_id)

    def custom_status(self, instance_id: str) -> Any:
        current = self.status(instance_id)
        return current["customStatus"] if current else None

    def entity_state(self, entity_name: str, key: str) -> Any:
        exists, state = self.engine.read_entity(f"@{entity_name.lower()}@{key}")
        return json.loads(state) if exists and state else None

    def stats(self) -> dict[str, int]:
        """Totals over stored instances: episodes run and history events replayed."""
        rows = self.engine.store.list_instances(with_history=False)
        return {
            "instances": len(rows),
            "episodes": sum(row.episodes for row in rows),
            "replayed_events": sum(row.replayed_events for row in rows),
        }


def _now_text(engine: Engine) -> str:
    from .history import format_time

    return format_time(engine.now())


__all__ = ["FunctionsHost", "ScaledClock", "VirtualClock"]
