"""A loaded machine for the benchmarks that must hold "with the machine loaded": busy processes on every core.

`python -m benchmarks.sync_watch --load 2` runs two processes that spin (at the lowest priority, so the
benchmark's own process is slowed by competition for the cores, not starved) while the measurement runs.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _spin(stop_at: float) -> None:
    os.nice(19)
    count = 0
    while time.monotonic() < stop_at:
        count += 1


@contextmanager
def busy_cores(processes: int, longest_seconds: float = 7200.0) -> Iterator[int]:
    """`processes` busy-looping processes for the duration of the block (they also end by themselves)."""
    if processes <= 0:
        yield 0
        return
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_spin, args=(time.monotonic() + longest_seconds,), daemon=True) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        yield processes
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(timeout=10)
