"""The sync watch against today's per-event polling, side by side on the real stack.

Two measurements, each run once per design (SYNC_WAIT_MODE=watch and SYNC_WAIT_MODE=poll):

- **Graph requests per minute while N events wait for sync** (N = 10, 100, 1,000): N hires upload, their
  provisioning logs say success, and Entra Connect never exports them (the emulator's sync delay is far away), so
  all N wait for the account. Once every one of them is waiting, the Graph requests over the next 10 scaled minutes
  are counted (every request inside a JSON batch counts). The watcher's are constant in N; polling's grow with N.
- **Sync-to-ready**: a batch of 200 hires with realistic delays (agent 30 s, provisioning log 5 min, Entra Connect
  13 min after the agent, all scaled; Connect's cycle does not know the upload, and 12 min would land exactly on
  one of polling's backoff steps, 12.5 min after the upload, and flatter it); for each hire, the scaled seconds
  from the moment its account appeared in Entra (the emulator's createdDateTime, mapped onto the host's clock) to
  its first credential (`credentialAt`).

    python -m benchmarks.sync_watch                       # both, both designs
    python -m benchmarks.sync_watch --only waiting --n 10 --n 100
    python -m benchmarks.sync_watch --only ready --time-scale 4
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import batch
from benchmarks.common import (
    CLOCK_START,
    MANAGER,
    Rows,
    benchmark_stack,
    graph_requests,
    print_rows,
    quiet_deferred_event_warning,
)
from demo.stack import Stack, wait_until

MODES = ("watch", "poll")
WAITING_SIZES = (10, 100, 1000)
WAITING_TIME_SCALE = 60.0
WAITING_WINDOW_MINUTES = 10.0
READY_HIRES = 200
READY_TIME_SCALE = 4.0
SYNC_AFTER_AGENT_SECONDS = 780.0
"""Entra Connect exports a user 13 scaled minutes after the agent wrote it (not on one of polling's steps)."""
NEVER = 10_000_000.0
"""An emulator delay (real seconds) that does not pass during a benchmark: Entra Connect never exports."""


@dataclass
class WaitingFigures:
    mode: str
    events: int
    waiting: int
    window_minutes: float
    requests: int
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def per_minute(self) -> float:
        return self.requests / self.window_minutes if self.window_minutes else 0.0


@dataclass
class ReadyFigures:
    mode: str
    hires: int
    completed: int
    time_scale: float
    seconds: list[float] = field(default_factory=list)
    notice_seconds: list[float] = field(default_factory=list)
    real_seconds: float = 0.0

    @property
    def p95(self) -> float | None:
        """The sync-to-ready figure the target is about."""
        return percentile(self.seconds, 0.95)


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: a value some hire really had, none when nobody finished."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _stages(stack: Stack, prefix: str) -> dict[str, str]:
    """Each hire's stage from its custom status, read from the host's store (no HTTP round trip per event)."""
    stages: dict[str, str] = {}
    for row in stack.host.engine.store.list_instances(with_history=False):
        if row.instance_id.startswith(prefix):
            custom = json.loads(row.custom_status) if row.custom_status else {}
            stages[row.instance_id] = str((custom or {}).get("stage") or row.status)
    return stages


def _post(stack: Stack, events: list[dict[str, Any]]) -> None:
    with stack.client() as client:
        for first in range(0, len(events), batch.API_BATCH_LIMIT):
            response = client.post("/hr-events/batch", json={"events": events[first : first + batch.API_BATCH_LIMIT]})
            response.raise_for_status()


def waiting(events: int, mode: str, *, time_scale: float = WAITING_TIME_SCALE) -> WaitingFigures:
    """Graph requests per scaled minute while `events` hires wait for Entra Connect (which never comes)."""
    tag = f"wait{events}{mode}{int(time.time())}"
    hires = [batch.hire_event(tag, index) for index in range(events)]
    settings = {"SYNC_WAIT_MODE": mode, "SYNC_TIMEOUT_MINUTES": str(7 * 24 * 60)}
    pipeline = {"agentDelaySeconds": 0, "logDelaySeconds": 0, "syncDelaySeconds": NEVER}
    with (
        tempfile.TemporaryDirectory() as state_dir,
        benchmark_stack(
            Path(state_dir), time_scale=time_scale, clock_start=CLOCK_START, settings=settings, entra_config=pipeline
        ) as stack,
    ):
        stack.entra.control.seed_user("synced", **MANAGER)
        _post(stack, hires)
        prefix = f"hr-bench-{tag}-"
        try:
            wait_until(
                lambda: sum(stage == "awaiting-sync" for stage in _stages(stack, prefix).values()) == events,
                timeout=60 + events * 1.5,
                interval=1.0,
            )
        except TimeoutError as timeout:
            stages = Counter(_stages(stack, prefix).values())
            raise TimeoutError(f"{events} hires did not all reach awaiting-sync; stages: {dict(stages)}") from timeout
        started = datetime.now().astimezone()
        time.sleep(WAITING_WINDOW_MINUTES * 60 / time_scale)  # the measured window itself, not a wait for a state
        ended = datetime.now().astimezone()
        still = sum(stage == "awaiting-sync" for stage in _stages(stack, prefix).values())
        calls = [
            call
            for call in graph_requests(stack.entra.control.state()["calls"])
            if started <= datetime.fromisoformat(str(call["time"]).replace("Z", "+00:00")) < ended
        ]
    kinds: dict[str, int] = {}
    for call in calls:
        kind = batch.graph_call_kind(str(call["path"]))
        kinds[kind] = kinds.get(kind, 0) + 1
    window = (ended - started).total_seconds() * time_scale / 60
    return WaitingFigures(mode, events, still, window, len(calls), kinds)


def ready(mode: str, *, hires: int = READY_HIRES, time_scale: float = READY_TIME_SCALE) -> ReadyFigures:
    """Sync-to-ready over a batch of `hires` with realistic delays (scaled seconds on the host's clock)."""
    tag = f"ready{mode}{int(time.time())}"
    events = [batch.hire_event(tag, index) for index in range(hires)]
    delays = {
        "agentDelaySeconds": 30 / time_scale,
        "logDelaySeconds": 300 / time_scale,
        "syncDelaySeconds": SYNC_AFTER_AGENT_SECONDS / time_scale,
        "agentOnline": True,
    }
    with (
        tempfile.TemporaryDirectory() as state_dir,
        benchmark_stack(
            Path(state_dir),
            time_scale=time_scale,
            clock_start=CLOCK_START,
            settings={"SYNC_WAIT_MODE": mode},
            entra_config=delays,
        ) as stack,
    ):
        stack.entra.control.seed_user("synced", **MANAGER)
        host_now, wall_now = stack.host.clock.now(), time.time()
        started = time.perf_counter()
        _post(stack, events)
        statuses = [stack.wait_for(f"hr-{event['eventId']}", timeout=3600) for event in events]
        real = time.perf_counter() - started
        appeared = {
            str(user.get("employeeId")): str(user.get("createdDateTime"))
            for user in stack.entra.control.state()["entraUsers"]
        }
    figures = ReadyFigures(mode, hires, 0, time_scale, real_seconds=real)
    for event, status in zip(events, statuses, strict=True):
        output = status.get("output") if isinstance(status.get("output"), dict) else {}
        timings = (output or {}).get("timings") or {}
        created = appeared.get(event["employee"]["employeeId"])
        if status.get("runtimeStatus") != "Completed" or not created or "credentialAt" not in timings:
            continue
        figures.completed += 1
        wall = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        on_host = host_now + timedelta(seconds=(wall - wall_now) * time_scale)
        figures.seconds.append((datetime.fromisoformat(timings["credentialAt"]) - on_host).total_seconds())
        if "syncedAt" in timings:
            figures.notice_seconds.append((datetime.fromisoformat(timings["syncedAt"]) - on_host).total_seconds())
    return figures


def format_seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} s"


def report_waiting(results: list[WaitingFigures]) -> Rows:
    rows: Rows = []
    for result in results:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.by_kind.items()))
        rows.append(
            (
                f"{result.mode}, N = {result.events:,}",
                f"{result.per_minute:.1f} Graph requests per scaled minute ({result.requests} in "
                f"{result.window_minutes:.1f} min; {result.waiting} still waiting{'; ' + kinds if kinds else ''})",
            )
        )
    return rows


def report_ready(results: list[ReadyFigures]) -> Rows:
    rows: Rows = []
    for result in results:
        rows.append(
            (
                f"{result.mode}, {result.hires} hires",
                f"sync-to-ready p50 {format_seconds(percentile(result.seconds, 0.5))}, "
                f"p95 {format_seconds(result.p95)}, max {format_seconds(max(result.seconds, default=None))}; "
                f"sync-to-notice p95 "
                f"{format_seconds(percentile(result.notice_seconds, 0.95))} ({result.completed}/{result.hires} "
                f"ready; x{result.time_scale:g}, {result.real_seconds:.0f} s real)",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=("waiting", "ready"), action="append")
    parser.add_argument("--mode", choices=MODES, action="append")
    parser.add_argument("--n", type=int, action="append", help="waiting events (default 10, 100 and 1,000)")
    parser.add_argument("--time-scale", type=float, default=READY_TIME_SCALE, help="host clock for `ready`")
    args = parser.parse_args(argv)
    quiet_deferred_event_warning()
    modes = tuple(args.mode or MODES)
    if not args.only or "waiting" in args.only:
        results = [waiting(n, mode) for n in args.n or WAITING_SIZES for mode in modes]
        print_rows("Graph requests per minute while N events wait for sync", report_waiting(results))
    if not args.only or "ready" in args.only:
        ready_results = [ready(mode, time_scale=args.time_scale) for mode in modes]
        print_rows("sync-to-ready over a batch of 200, realistic delays", report_ready(ready_results))


if __name__ == "__main__":
    main()
