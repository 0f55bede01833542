"""What the stack benchmarks share: the simulated date, the manager every hire reports to, and output rows."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo.stack import Stack, running_stack

Rows = list[tuple[str, str]]
"""A benchmark's figures as (label, value) pairs: printed as a table, or as Markdown by `python -m benchmarks`."""

CLOCK_START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
START_DATE = "2026-12-01"
"""Inside PROVISION_LEAD_DAYS (7) of CLOCK_START, so every hire is provisioned at once instead of scheduled."""

MANAGER: dict[str, Any] = {
    "employeeId": "M00001",
    "userPrincipalName": "grace.hopper@contoso.com",
    "mail": "grace.hopper@contoso.com",
    "givenName": "Grace",
    "surname": "Hopper",
    "displayName": "Grace Hopper",
}
"""An existing, synced manager: hires resolve her and her mailbox receives their Temporary Access Passes."""


BENCHMARK_SETTINGS: dict[str, str] = {"BREAKER_CREATE_LIMIT": "1000000"}
"""Settings every stack benchmark adds to production's. The per-hour create breaker (500 by default) would hold a
large batch's later hires for approval, and at a fast host clock an hour passes in a minute; the benchmarks measure
throughput and cost, the breaker has tests of its own."""


def benchmark_stack(
    state_dir: Path, *, settings: Mapping[str, str] | None = None, **options: Any
) -> AbstractContextManager[Stack]:
    """The demo stack with BENCHMARK_SETTINGS under the benchmark's own settings, so no benchmark meets the
    breaker by forgetting them."""
    return running_stack(state_dir, settings={**BENCHMARK_SETTINGS, **(settings or {})}, **options)


def quiet_deferred_event_warning() -> None:
    """Hide the SDK's "Potential duplicate Task completion" UserWarning from benchmark output.

    azure-functions-durable warns when an external event (here the bulk uploader's `bulk-upload-result`) is in
    the history before the orchestrator has created its waiter; it then defers the event and hands it to the
    waiter when created, so the run is correct. With hundreds of hires the warning would bury the figures.
    """
    warnings.filterwarnings("ignore", message="Potential duplicate Task completion", category=UserWarning)


def print_rows(title: str, rows: Rows) -> None:
    width = max((len(label) for label, _ in rows), default=0) + 2
    print(title)
    for label, value in rows:
        print(f"  {label:<{width}}{value}")


GRAPH_HOST = "graph.microsoft.com"
EMULATOR_THREADS = ("entra-emulator-http", "entra-emulator-pipeline")


def graph_requests(calls: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Graph requests among the emulator's recorded calls, as Graph counts them: each request inside a JSON
    batch counts, the batch's envelope does not."""
    return [
        call for call in calls if call.get("host") == GRAPH_HOST and not str(call.get("path", "")).endswith("/$batch")
    ]


def emulator_cpu_seconds() -> float:
    """CPU time (user + system) of the Entra emulator's threads in this process, from /proc (Linux)."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name in EMULATOR_THREADS and thread.native_id is not None:
            try:
                fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
