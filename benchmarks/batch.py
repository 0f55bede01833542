"""A batch of N hires through the whole product, with every emulator delay at 0.

Posts N hire events to `/api/hr-events/batch` (at most 1,000 per request, the API limit) on the real stack
(Entra emulator + functions host + function_app.py) and waits until every `hr-*` orchestration has ended.
Prints what the architecture promises stays flat as N grows: bulkUpload calls (target ceil(N/50)), Graph calls
per employee, orchestration history events per employee, and the wall time.

    python -m benchmarks.batch            # N = 50 and 500
    python -m benchmarks.batch --n 2000   # the big one
    python -m benchmarks.batch --n 500 --ad samba   # the agent writes to a real Samba AD over LDAPS
    python -m benchmarks.batch --n 500 --mode poll  # today's per-event polling instead of the sync watcher
    python -m benchmarks.batch --n 120 --time-scale 600 --load 2   # packing at x600 with two cores kept busy

Graph calls count every request Graph evaluates: the requests inside a JSON batch each count, the batch's
envelope does not (it is listed apart).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CLOCK_START,
    MANAGER,
    START_DATE,
    Rows,
    benchmark_stack,
    emulator_cpu_seconds,
    graph_requests,
    print_rows,
    quiet_deferred_event_warning,
)
from benchmarks.load import busy_cores
from demo.stack import Stack

DEFAULT_SIZES = (50, 500)
API_BATCH_LIMIT = 1000
OPERATIONS_PER_BULK_REQUEST = 50
TIME_SCALE = 60.0
"""Scaled time runs 60x real time, so the 60-minute sync deadline is a real minute after each upload."""
INSTANT_PIPELINE = {"agentDelaySeconds": 0, "logDelaySeconds": 0, "syncDelaySeconds": 0}
GRAPH_HOST = "graph.microsoft.com"


@dataclass
class BatchFigures:
    """What one batch run measured; per-employee figures are means over the batch's hires."""

    hires: int
    time_scale: float
    completed: int
    wall_seconds: float
    bulk_upload_calls: int
    bulk_upload_target: int
    first_upload_seconds: float
    last_upload_seconds: float
    upload_to_synced_minutes_max: float
    cpu_seconds: float
    emulator_state_mib: float
    graph_calls: int
    token_calls: int
    graph_calls_by_kind: dict[str, int] = field(default_factory=dict)
    history_events_mean: float = 0.0
    history_events_max: int = 0
    episodes_mean: float = 0.0
    replayed_events_mean: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    ad: str = "memory"
    #: CPU seconds of the samba process (a separate process, not in cpu_seconds), when AD is samba.
    directory_cpu_seconds: float | None = None
    mode: str = "watch"
    #: CPU seconds of the Entra emulator's own threads (HTTP server and pipeline worker).
    emulator_cpu_seconds: float = 0.0
    batch_envelopes: int = 0
    load_processes: int = 0

    @property
    def graph_calls_per_employee(self) -> float:
        return self.graph_calls / self.hires

    @property
    def cpu_seconds_per_hire(self) -> float:
        return self.cpu_seconds / self.hires

    @property
    def emulator_cpu_per_hire(self) -> float:
        return self.emulator_cpu_seconds / self.hires

    @property
    def exact_packing(self) -> bool:
        return self.bulk_upload_calls == self.bulk_upload_target

    @property
    def hires_per_second(self) -> float:
        return self.completed / self.wall_seconds if self.wall_seconds else 0.0


def given_name(index: int) -> str:
    """A distinct, letters-only given name per index (HR names may not contain digits)."""
    letters = ""
    number = index
    while True:
        number, digit = divmod(number, 26)
        letters = chr(ord("a") + digit) + letters
        if number == 0:
            break
    return "Ada" + letters


def hire_event(run_tag: str, index: int) -> dict[str, Any]:
    return {
        "eventId": f"bench-{run_tag}-{index}",
        "type": "hire",
        "effectiveDate": START_DATE,
        "employee": {
            "employeeId": f"B{index:06d}",
            "givenName": given_name(index),
            "preferredGivenName": None,
            "familyName": "Lovelace",
            "jobTitle": "Analyst",
            "department": "Finance",
            "companyName": "Contoso Ltd",
            "managerEmployeeId": MANAGER["employeeId"],
            "country": "DE",
            "usageLocation": "DE",
            "timeZone": "Europe/Berlin",
        },
    }


def _post_in_batches(stack: Stack, events: list[dict[str, Any]]) -> None:
    with stack.client() as client:
        for first in range(0, len(events), API_BATCH_LIMIT):
            response = client.post("/hr-events/batch", json={"events": events[first : first + API_BATCH_LIMIT]})
            if response.status_code != 202:
                raise RuntimeError(f"the batch was not accepted: {response.status_code} {response.text[:300]}")


def graph_call_kind(path: str) -> str:
    """Group Graph call paths by what the product asked for, for the per-kind breakdown."""
    if "/users/delta" in path:
        return "directory changes (users/delta)"
    if "/roleManagement/" in path:
        return "role checks"
    if "transitiveMemberOf" in path:
        return "memberships"
    if path.endswith("/bulkUpload"):
        return "bulkUpload"
    if "/auditLogs/provisioning" in path:
        return "provisioning logs"
    if "temporaryAccessPass" in path:
        return "temporary access pass"
    if path.endswith("/sendMail"):
        return "sendMail"
    if "/users" in path:
        return "users (lookup/details)"
    return "other"


def default_time_scale(hires: int) -> float:
    """x60 up to 500 hires; slower for bigger batches, so that a backlog of real seconds in the host never reads
    as the 60-minute sync deadline passing (the deadline is scaled time, the host's work is real time)."""
    return TIME_SCALE if hires <= 500 else max(5.0, TIME_SCALE * 500 / hires)


def run(
    hires: int,
    *,
    time_scale: float | None = None,
    timeout: float = 1800.0,
    ad: str = "memory",
    mode: str = "watch",
    load: int = 0,
) -> BatchFigures:
    """Run one batch of `hires` hires on a fresh stack (AD in memory or in Samba) and return its figures.

    `mode` is SYNC_WAIT_MODE (`watch` or today's per-event `poll`); `load` keeps that many extra processes
    busy meanwhile. An explicit time scale also lengthens SYNC_TIMEOUT_MINUTES to a day, so that a backlog of
    real seconds at x600 never reads as the deadline passing (this run measures packing and cost, not deadlines).
    """
    scale = time_scale or default_time_scale(hires)
    run_tag = f"{hires}-{int(time.time())}"
    events = [hire_event(run_tag, index) for index in range(hires)]
    instance_ids = [f"hr-{event['eventId']}" for event in events]
    settings = {
        "SYNC_WAIT_MODE": mode,
        **({"SYNC_TIMEOUT_MINUTES": "1440"} if time_scale else {}),
    }
    with (
        tempfile.TemporaryDirectory() as state_dir,
        busy_cores(load),
        benchmark_stack(
            Path(state_dir),
            time_scale=scale,
            clock_start=CLOCK_START,
            settings=settings,
            entra_config=INSTANT_PIPELINE,
            ad=ad,
        ) as stack,
    ):
        stack.entra.control.seed_user("synced", **MANAGER)
        calls_before = len(stack.entra.control.state()["calls"])
        posted_at = datetime.now(UTC)
        started = time.perf_counter()
        cpu_started = _process_cpu_seconds()
        emulator_started = emulator_cpu_seconds()
        _post_in_batches(stack, events)
        deadline = time.monotonic() + timeout
        statuses = []
        for instance_id in instance_ids:
            remaining = max(1.0, deadline - time.monotonic())
            statuses.append(stack.wait_for(instance_id, timeout=remaining))
        wall = time.perf_counter() - started
        cpu = _process_cpu_seconds() - cpu_started
        emulator_cpu = emulator_cpu_seconds() - emulator_started
        directory_cpu = (
            _child_cpu_seconds(stack.directory.process.pid) if stack.directory and stack.directory.process else None
        )
        calls = stack.entra.control.state()["calls"][calls_before:]
        stack.entra.flush()
        state_bytes = sum(path.stat().st_size for path in (Path(state_dir) / "entra").glob("state.sqlite3*"))
        rows = {row.instance_id: row for row in stack.host.engine.store.list_instances()}

    hire_rows = [rows[instance_id] for instance_id in instance_ids if instance_id in rows]
    history_sizes = [len(row.history) for row in hire_rows]
    graph_calls = graph_requests(calls)
    kinds = Counter(graph_call_kind(str(call["path"])) for call in graph_calls)
    upload_offsets = [
        (datetime.fromisoformat(str(call["time"])) - posted_at).total_seconds()
        for call in graph_calls
        if graph_call_kind(str(call["path"])) == "bulkUpload"
    ]
    outputs: list[dict[str, Any]] = [_output(status) for status in statuses]
    outcomes = Counter(
        str(output.get("outcome") or status.get("runtimeStatus"))
        for output, status in zip(outputs, statuses, strict=True)
    )
    return BatchFigures(
        hires=hires,
        time_scale=scale,
        completed=sum(1 for status in statuses if status.get("runtimeStatus") == "Completed"),
        wall_seconds=wall,
        bulk_upload_calls=kinds.get("bulkUpload", 0),
        bulk_upload_target=math.ceil(hires / OPERATIONS_PER_BULK_REQUEST),
        first_upload_seconds=min(upload_offsets, default=0.0),
        last_upload_seconds=max(upload_offsets, default=0.0),
        upload_to_synced_minutes_max=max(
            (_minutes_between(output, "uploadedAt", "syncedAt") for output in outputs), default=0.0
        ),
        cpu_seconds=cpu,
        emulator_state_mib=state_bytes / 2**20,
        graph_calls=len(graph_calls),
        token_calls=sum(1 for call in calls if call.get("host") != GRAPH_HOST),
        graph_calls_by_kind=dict(kinds.most_common()),
        history_events_mean=statistics.fmean(history_sizes) if history_sizes else 0.0,
        history_events_max=max(history_sizes, default=0),
        episodes_mean=statistics.fmean(row.episodes for row in hire_rows) if hire_rows else 0.0,
        replayed_events_mean=statistics.fmean(row.replayed_events for row in hire_rows) if hire_rows else 0.0,
        outcomes=dict(outcomes),
        ad=ad,
        directory_cpu_seconds=directory_cpu,
        mode=mode,
        emulator_cpu_seconds=emulator_cpu,
        batch_envelopes=sum(1 for call in calls if str(call.get("path", "")).endswith("/$batch")),
        load_processes=load,
    )


def _process_cpu_seconds() -> float:
    """CPU time of this process, all threads (host, app, Entra emulator): steadier than wall time under load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a running process (Linux /proc), e.g. the samba domain controller."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _output(status: dict[str, Any]) -> dict[str, Any]:
    output = status.get("output")
    return output if isinstance(output, dict) else {}


def _minutes_between(output: dict[str, Any], first: str, last: str) -> float:
    timings = output.get("timings") or {}
    if first not in timings or last not in timings:
        return 0.0
    return (datetime.fromisoformat(timings[last]) - datetime.fromisoformat(timings[first])).total_seconds() / 60


def report(figures: BatchFigures) -> Rows:
    """The figures as (label, value) rows, shared by this CLI and `python -m benchmarks`."""
    per_kind = ", ".join(f"{kind} {count / figures.hires:.2f}" for kind, count in figures.graph_calls_by_kind.items())
    return [
        ("hires completed", f"{figures.completed} / {figures.hires} ({_outcomes(figures.outcomes)})"),
        ("wall time", f"{figures.wall_seconds:.1f} s ({figures.hires_per_second:.1f} hires/s)"),
        (
            "sync wait",
            f"SYNC_WAIT_MODE={figures.mode}"
            + (f", {figures.load_processes} busy processes" if figures.load_processes else ""),
        ),
        ("CPU time per hire", f"{figures.cpu_seconds_per_hire * 1000:.0f} ms (host, app and Entra emulator)"),
        (
            "Entra emulator CPU per hire",
            f"{figures.emulator_cpu_per_hire * 1000:.1f} ms (its HTTP and pipeline threads)",
        ),
        *(
            [("samba CPU per hire", f"{figures.directory_cpu_seconds / figures.hires * 1000:.0f} ms (its own process)")]
            if figures.directory_cpu_seconds is not None
            else []
        ),
        ("bulkUpload calls", f"{figures.bulk_upload_calls} (target ceil(N/50) = {figures.bulk_upload_target})"),
        (
            "bulkUpload calls sent",
            f"{figures.first_upload_seconds:.1f} s to {figures.last_upload_seconds:.1f} s after the POST",
        ),
        (
            "upload to synced, slowest",
            f"{figures.upload_to_synced_minutes_max:.1f} scaled min (deadline 60; time scale x{figures.time_scale:g})",
        ),
        (
            "Graph calls per employee",
            f"{figures.graph_calls_per_employee:.2f} (every request inside a JSON batch counted)",
        ),
        (
            "JSON batch envelopes",
            f"{figures.batch_envelopes} ({figures.batch_envelopes / figures.hires:.2f} per employee)",
        ),
        ("  by kind, per employee", per_kind),
        ("token requests (whole batch)", str(figures.token_calls)),
        ("history events per employee", f"{figures.history_events_mean:.1f} mean, {figures.history_events_max} max"),
        ("episodes per employee", f"{figures.episodes_mean:.1f}"),
        ("replayed events per employee", f"{figures.replayed_events_mean:.0f}"),
        ("Entra emulator state on disk", f"{figures.emulator_state_mib:.1f} MiB (SQLite, written row by row)"),
    ]


def _outcomes(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="batch size; repeat for several (default: 50 and 500)")
    parser.add_argument(
        "--time-scale", type=float, help="host clock speed-up (default x60 up to 500 hires, slower above)"
    )
    parser.add_argument("--ad", choices=("memory", "samba"), default="memory", help="AD backend behind the agent")
    parser.add_argument("--mode", choices=("watch", "poll"), default="watch", help="SYNC_WAIT_MODE")
    parser.add_argument("--load", type=int, default=0, help="busy processes competing for the cores meanwhile")
    args = parser.parse_args(argv)
    quiet_deferred_event_warning()
    for hires in args.n or DEFAULT_SIZES:
        figures = run(hires, time_scale=args.time_scale, ad=args.ad, mode=args.mode, load=args.load)
        print_rows(f"batch of {hires} hires (emulator delays 0, AD {args.ad})", report(figures))


if __name__ == "__main__":
    main()
