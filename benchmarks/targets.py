"""The performance targets of the sync watch, measured for both designs in one run: per-event polling
(SYNC_WAIT_MODE=poll, the design before the watcher) and the shared watcher (SYNC_WAIT_MODE=watch).

| target | how it is measured |
|---|---|
| Graph requests per hire ≤ 6 | a batch of N hires (benchmarks.batch), every request inside a JSON batch counted |
| sync-to-ready p95 ≤ 45 s | a batch with realistic delays (benchmarks.sync_watch.ready), account created → credential |
| Graph requests per minute while N wait: constant in N | N hires waiting for an Entra Connect that never comes |
| exactly ⌈N/50⌉ bulkUpload requests at x60 and x600, machine loaded | batches with two busy processes on the cores |
| Entra emulator CPU per hire flat in N | the emulator's own threads over the batches above |

Sizes: the issue's (`--full`: N = 500 for the cost, waiting N = 10, 100, 1,000, ready over 200 hires on the host's
real clock, packing at N = 120, 500, 2,000) take well over an hour on two shared cores; the default sizes are reduced
(ready over 40 hires at x4) and printed with the table.

Sync-to-ready is a latency in seconds, so the full run measures it on the real clock (x1): at a faster host clock
every real second the host spends raising notices and issuing passes reads as several, and the figure would
measure the machine running the benchmark, not the design.

    python -m benchmarks.targets           # reduced sizes
    python -m benchmarks.targets --full    # the issue's sizes
    python -m benchmarks.targets --cost-hires 500 --waiting 10,100,1000   # some rows at the issue's sizes
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace

from benchmarks import batch, sync_watch
from benchmarks.batch import BatchFigures
from benchmarks.common import quiet_deferred_event_warning
from benchmarks.sync_watch import ReadyFigures, WaitingFigures, format_seconds

DESIGNS = ("poll", "watch")
BUSY_PROCESSES = 2
"""Processes spinning on the cores during the packing runs ("with the machine loaded"; the machine has two)."""


@dataclass(frozen=True)
class Sizes:
    cost_hires: int
    cpu_hires: tuple[int, ...]
    waiting: tuple[int, ...]
    ready_hires: int
    ready_time_scale: float
    packing: tuple[int, ...]
    packing_scales: tuple[float, ...] = (60.0, 600.0)


REDUCED = Sizes(
    cost_hires=120, cpu_hires=(120, 300), waiting=(10, 100), ready_hires=40, ready_time_scale=4.0, packing=(120,)
)
FULL = Sizes(
    cost_hires=500,
    cpu_hires=(120, 500, 2000),
    waiting=(10, 100, 1000),
    ready_hires=200,
    ready_time_scale=1.0,
    packing=(120, 500, 2000),
)


@dataclass
class DesignFigures:
    design: str
    batches: dict[tuple[int, float], BatchFigures]
    waiting: list[WaitingFigures]
    ready: ReadyFigures


def _progress(design: str, what: str, started: float) -> None:
    """One line per finished run on stderr: a run of the full sizes takes hours, and a late failure (or an
    interrupted run) must not lose the figures already measured."""
    print(f"[{design}] {what} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)


def measure(design: str, sizes: Sizes) -> DesignFigures:
    """Every run of one design. A packing run at x60 also gives the cost and CPU figures of its size."""
    batches: dict[tuple[int, float], BatchFigures] = {}
    for hires in sorted({*sizes.packing, *sizes.cpu_hires, sizes.cost_hires}):
        scales = sizes.packing_scales if hires in sizes.packing else (sizes.packing_scales[0],)
        for scale in scales:
            started = time.monotonic()
            figures = batch.run(hires, time_scale=scale, mode=design, load=BUSY_PROCESSES)
            batches[(hires, scale)] = figures
            _progress(
                design,
                f"batch of {hires} at x{scale:g}: bulkUpload requests {_uploads(figures)}, Graph requests per hire "
                f"{_per_hire(figures)}, emulator CPU per hire {_cpu(figures)}",
                started,
            )
    waiting = []
    for events in sizes.waiting:
        started = time.monotonic()
        waiting.append(sync_watch.waiting(events, design))
        _progress(design, f"{events} waiting: {_per_minute(waiting[-1])} Graph requests per minute", started)
    started = time.monotonic()
    ready = sync_watch.ready(design, hires=sizes.ready_hires, time_scale=sizes.ready_time_scale)
    _progress(design, f"sync-to-ready p95 {_ready(ready)}", started)
    return DesignFigures(design, batches, waiting, ready)


# One formatter per figure, shared by the progress lines and the table so the two never disagree.


def _per_hire(figures: BatchFigures) -> str:
    return f"{figures.graph_calls_per_employee:.2f}"


def _uploads(figures: BatchFigures) -> str:
    return f"{figures.bulk_upload_calls} ({figures.completed}/{figures.hires} done)"


def _cpu(figures: BatchFigures) -> str:
    return f"{figures.emulator_cpu_per_hire * 1000:.1f} ms"


def _per_minute(figures: WaitingFigures) -> str:
    return f"{figures.per_minute:.1f}"


def _ready(figures: ReadyFigures) -> str:
    return f"{format_seconds(figures.p95)} ({figures.completed}/{figures.hires})"


def _clock(time_scale: float) -> str:
    return "real clock" if time_scale == 1 else f"x{time_scale:g}"


def table(results: list[DesignFigures], sizes: Sizes) -> list[tuple[str, str, list[str]]]:
    """(figure, target, one value per design) rows."""
    rows: list[tuple[str, str, list[str]]] = []
    low = sizes.packing_scales[0]
    cost = [result.batches[(sizes.cost_hires, low)] for result in results]
    rows.append(
        (
            f"Graph requests per hire, N = {sizes.cost_hires:,}",
            "≤ 6",
            [_per_hire(figures) for figures in cost],
        )
    )
    ready = [result.ready for result in results]
    rows.append(
        (
            f"sync-to-ready p95, {sizes.ready_hires} hires ({_clock(sizes.ready_time_scale)})",
            "≤ 45 s",
            [_ready(figures) for figures in ready],
        )
    )
    for index, events in enumerate(sizes.waiting):
        rows.append(
            (
                f"Graph requests per minute, {events:,} waiting",
                "constant in N",
                [_per_minute(result.waiting[index]) for result in results],
            )
        )
    for hires in sizes.packing:
        for scale in sizes.packing_scales:
            runs = [result.batches[(hires, scale)] for result in results]
            rows.append(
                (
                    f"bulkUpload requests, N = {hires:,}, x{scale:g}, {BUSY_PROCESSES} busy processes",
                    f"= {runs[0].bulk_upload_target}",
                    [_uploads(figures) for figures in runs],
                )
            )
    for hires in sizes.cpu_hires:
        runs = [result.batches[(hires, low)] for result in results]
        rows.append(
            (
                f"Entra emulator CPU per hire, N = {hires:,}",
                "flat in N",
                [_cpu(figures) for figures in runs],
            )
        )
    return rows


def render(results: list[DesignFigures], sizes: Sizes) -> str:
    """The target table as aligned text (Markdown-compatible pipes, so it pastes into docs/benchmarks.md)."""
    header = ["figure", "target", *(f"SYNC_WAIT_MODE={result.design}" for result in results)]
    body = [[figure, target, *values] for figure, target, values in table(results, sizes)]
    widths = [max(len(row[column]) for row in [header, *body]) for column in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def run(full: bool = False, sizes: Sizes | None = None) -> str:
    chosen = sizes or (FULL if full else REDUCED)
    results = [measure(design, chosen) for design in DESIGNS]
    return render(results, chosen)


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (well over an hour on two cores)")
    parser.add_argument("--cost-hires", type=int, help="N of the Graph-requests-per-hire row (and its CPU row)")
    parser.add_argument("--ready-hires", type=int, help="hires of the sync-to-ready row")
    parser.add_argument("--waiting", type=_counts, help="comma-separated numbers of waiting events")
    parser.add_argument("--packing", type=_counts, help="comma-separated batch sizes of the packing rows")
    args = parser.parse_args(argv)
    base = FULL if args.full else REDUCED
    sizes = replace(
        base,
        cost_hires=args.cost_hires or base.cost_hires,
        cpu_hires=tuple(sorted({*base.cpu_hires, args.cost_hires})) if args.cost_hires else base.cpu_hires,
        ready_hires=args.ready_hires or base.ready_hires,
        waiting=args.waiting or base.waiting,
        packing=args.packing or base.packing,
    )
    quiet_deferred_event_warning()
    print(run(sizes=sizes))


if __name__ == "__main__":
    main()
