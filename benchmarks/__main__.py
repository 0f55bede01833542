"""`make bench`: run every benchmark and print the figures as one readable table (or Markdown).

    python -m benchmarks              # batch N=50 and 500, time to ready, cold import, host, Entra filters,
                                      # reconciliation of 10,000 employees, and the sync watch's targets for
                                      # both designs at reduced sizes
    python -m benchmarks --full       # adds the batch of 2,000 hires; the targets at the issue's sizes
    python -m benchmarks --markdown   # the same figures as Markdown (what docs/benchmarks.md is made of)
    python -m benchmarks --only batch --only cold_import

Figures only, never assertions. Each benchmark also runs alone: `python -m benchmarks.<name> --help`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import batch, cold_import, host_throughput, reconciliation, targets, time_to_ready
from benchmarks.common import Rows, quiet_deferred_event_warning

REPO_ROOT = Path(__file__).resolve().parents[1]
NAMES = ("cold_import", "host_throughput", "entra_filter", "time_to_ready", "batch", "reconciliation", "targets")


@dataclass
class Section:
    """One benchmark's result: (label, value) rows, or verbatim text for a benchmark that only prints."""

    title: str
    command: str
    rows: Rows = field(default_factory=list)
    text: str = ""
    seconds: float = 0.0


def _timed(title: str, command: str, measure: Callable[[], Rows | str]) -> Section:
    print(f"running: {command}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = measure()
    seconds = time.perf_counter() - started
    if isinstance(result, str):
        return Section(title, command, text=result, seconds=seconds)
    return Section(title, command, rows=result, seconds=seconds)


def _cold_import() -> Rows:
    figures = cold_import.run(cold_import.RUNS)
    return cold_import.report(figures, cold_import.own_modules_self_seconds(), cold_import.RUNS)


def _host_throughput() -> Rows:
    figures = host_throughput.run(200, 10)
    return [
        ("completed", f"{figures['completed']:.0f} / {figures['instances']:.0f}"),
        ("wall time", f"{figures['seconds']:.2f} s"),
        ("orchestrations per second", f"{figures['orchestrations_per_second']:.1f}"),
        ("episodes per instance", f"{figures['episodes_per_instance']:.1f}"),
        ("replayed events per instance", f"{figures['replayed_events_per_instance']:.1f}"),
    ]


def _entra_filter() -> str:
    # A subprocess: this benchmark points os.environ at its own emulator, which must not leak into the others.
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.entra_filter"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return completed.stdout.rstrip()


def _time_to_ready() -> Rows:
    results = [time_to_ready.run(mode) for mode in time_to_ready.MODES]
    return time_to_ready.report(results, time_to_ready.TIME_SCALE)


def _batch(hires: int) -> Callable[[], Rows]:
    return lambda: batch.report(batch.run(hires))


def run_all(names: tuple[str, ...], full: bool) -> list[Section]:
    py = ".venv/bin/python -m"
    sections: list[Section] = []
    if "cold_import" in names:
        sections.append(_timed("Cold import", f"{py} benchmarks.cold_import", _cold_import))
    if "host_throughput" in names:
        sections.append(
            _timed("Functions host throughput (200 x 10 steps)", f"{py} benchmarks.host_throughput", _host_throughput)
        )
    if "entra_filter" in names:
        sections.append(_timed("Entra emulator user filters", f"{py} benchmarks.entra_filter", _entra_filter))
    if "time_to_ready" in names:
        sections.append(
            _timed("Time to ready, one hire: poll vs fixed 60 min", f"{py} benchmarks.time_to_ready", _time_to_ready)
        )
    if "batch" in names:
        for hires in (*batch.DEFAULT_SIZES, *((2000,) if full else ())):
            sections.append(_timed(f"Batch of {hires} hires", f"{py} benchmarks.batch --n {hires}", _batch(hires)))
    if "reconciliation" in names:
        size = reconciliation.DEFAULT_SIZE
        sections.append(
            _timed(
                f"Reconciliation of {size:,} employees against {size:,} accounts",
                f"{py} benchmarks.reconciliation --n {size}",
                lambda: reconciliation.report(reconciliation.run(size)),
            )
        )
    if "targets" in names:
        title = "Sync watch targets: per-event polling vs the shared watcher" + ("" if full else " (reduced sizes)")
        command = f"{py} benchmarks.targets" + (" --full" if full else "")
        sections.append(_timed(title, command, lambda: targets.run(full)))
    return sections


def machine() -> Rows:
    load = os.getloadavg()
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("cores (nproc)", str(os.cpu_count())),
        ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("platform", platform.platform()),
        ("load average at the end", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)"),
    ]


def render_text(sections: list[Section]) -> str:
    lines = ["machine"]
    lines += _aligned(machine())
    for section in sections:
        lines += ["", f"{section.title}  [{section.command}; took {section.seconds:.0f} s]"]
        lines += _aligned(section.rows) if section.rows else ["  " + line for line in section.text.splitlines()]
    return "\n".join(lines)


def _aligned(rows: Rows) -> list[str]:
    width = max((len(label) for label, _ in rows), default=0) + 2
    return [f"  {label:<{width}}{value}" for label, value in rows]


def render_markdown(sections: list[Section]) -> str:
    lines = ["### Machine", "", *_markdown_table(machine())]
    for section in sections:
        lines += ["", f"### {section.title}", "", f"`{section.command}` (took {section.seconds:.0f} s)", ""]
        if section.rows:
            lines += _markdown_table(section.rows)
        else:  # a Markdown table already (the targets), or plain text kept as printed
            lines += [section.text] if section.text.startswith("|") else ["```", section.text, "```"]
    return "\n".join(lines)


def _markdown_table(rows: Rows) -> list[str]:
    lines = ["| figure | value |", "|---|---|"]
    for label, value in rows:
        lines.append(f"| {label.strip()} | {value.replace('|', '/')} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run the batch of 2,000 hires (several minutes)")
    parser.add_argument("--markdown", action="store_true", help="print the figures as Markdown")
    parser.add_argument("--only", choices=NAMES, action="append", help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    quiet_deferred_event_warning()
    sections = run_all(tuple(args.only or NAMES), args.full)
    print(render_markdown(sections) if args.markdown else render_text(sections))


if __name__ == "__main__":
    main()
