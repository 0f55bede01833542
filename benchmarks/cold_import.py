"""Cold import of function_app vs. importing the same third-party dependencies bare.

The Functions host imports function_app.py in a fresh worker process on every cold start (Flex Consumption scales
to zero), so its import time is start-up latency a caller sees. Each run is a fresh `python -c` subprocess that
times the import with perf_counter and reads its peak RSS (VmHWM, or resource.getrusage where there is no /proc);
the median over the runs is reported. The bare-dependency figure is the floor the app cannot go below without
dropping a dependency; the difference is the product's own cost. The OS file cache and the .pyc files are warm
after the first run, as on a warm-started instance of the same image.

    python -m benchmarks.cold_import [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
DEPENDENCIES = (
    "azure.functions",
    "azure.durable_functions",
    "azure.identity",
    "azure.keyvault.secrets",
    "httpx",
    "pydantic",
    "jinja2",
    "anyascii",
)
SUBJECTS: dict[str, tuple[str, ...]] = {
    "function_app": ("function_app",),
    "dependencies bare": DEPENDENCIES,
    # `import pydantic` is lazy: BaseModel's machinery (pydantic.main and ~30 internal modules) loads on first use,
    # so the bare figure leaves out a cost any pydantic model pays; this subject shows how much of the gap it is.
    "dependencies + BaseModel": (*DEPENDENCIES, "pydantic.main"),
    "interpreter only": (),
}
PROBE = """
import json, resource, sys, time
started = time.perf_counter()
for name in sys.argv[1:]:
    __import__(name)
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"seconds": seconds, "maxrss_kib": peak_kib, "modules": len(sys.modules)}))
"""
"""Runs in the child: imports the names given as arguments and reports its peak RSS in KiB.

On Linux, getrusage's ru_maxrss survives exec: a child started from a parent that already holds 50 MiB reports
at least 50 MiB even if it never uses that much. VmHWM is the high-water mark of the child's own address space,
so it is preferred where /proc exists; getrusage is the fallback elsewhere (macOS reports bytes there, Linux KiB).
"""


@dataclass
class ImportFigures:
    subject: str
    median_seconds: float
    min_seconds: float
    median_peak_rss_mib: float
    modules: int


def measure_once(modules: tuple[str, ...]) -> dict[str, float]:
    """One fresh interpreter importing `modules`; returns seconds, peak RSS (KiB) and the module count."""
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(runs: int = RUNS) -> list[ImportFigures]:
    """Interleave the subjects run by run, so a burst of load on the machine hits them alike."""
    samples: dict[str, list[dict[str, float]]] = {subject: [] for subject in SUBJECTS}
    for _ in range(runs):
        for subject, modules in SUBJECTS.items():
            samples[subject].append(measure_once(modules))
    figures = []
    for subject, taken in samples.items():
        seconds = [sample["seconds"] for sample in taken]
        figures.append(
            ImportFigures(
                subject=subject,
                median_seconds=statistics.median(seconds),
                min_seconds=min(seconds),
                median_peak_rss_mib=statistics.median(sample["maxrss_kib"] for sample in taken) / 1024,
                modules=int(taken[-1]["modules"]),
            )
        )
    return figures


def own_modules_self_seconds() -> list[tuple[str, float]]:
    """Self import time of the product's own modules (python -X importtime), largest first."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    own: list[tuple[str, float]] = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if name == "function_app" or name.startswith("provisioning"):
            own.append((name, int(self_us) / 1_000_000))
    return sorted(own, key=lambda item: item[1], reverse=True)


def report(figures: list[ImportFigures], own: list[tuple[str, float]], runs: int) -> list[tuple[str, str]]:
    """The figures as (label, value) rows, shared by this CLI and `python -m benchmarks`."""
    rows = [
        (
            subject.subject,
            f"{subject.median_seconds:.3f} s median (min {subject.min_seconds:.3f}), "
            f"peak RSS {subject.median_peak_rss_mib:.1f} MiB, {subject.modules} modules",
        )
        for subject in figures
    ]
    by_subject = {subject.subject: subject for subject in figures}
    app, bare = by_subject["function_app"], by_subject["dependencies bare"]
    rows.append(
        (
            "product's own cost",
            f"+{app.median_seconds - bare.median_seconds:.3f} s, "
            f"+{app.median_peak_rss_mib - bare.median_peak_rss_mib:.1f} MiB over the bare dependencies",
        )
    )
    if own:
        total = sum(seconds for _, seconds in own)
        top = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in own[:3])
        rows.append(("own modules, self time", f"{total:.3f} s in total; largest: {top}"))
    rows.append(("runs", f"{runs} fresh subprocesses per subject"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"subprocesses per subject (default {RUNS})")
    args = parser.parse_args(argv)
    figures = run(args.runs)
    print("cold import (fresh interpreter per run)")
    for label, value in report(figures, own_modules_self_seconds(), args.runs):
        print(f"  {label:<24} {value}")


if __name__ == "__main__":
    main()
