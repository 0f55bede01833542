"""Time to ready for one hire under realistic Microsoft delays: this design vs. the seed's fixed 60-minute wait.

The Entra emulator is set to what a real tenant shows (provisioning agent 30 s after the upload, provisioning log
5 min after the agent, Entra Connect sync 12 min after the agent), in scaled time: the host clock runs
`--time-scale` times faster than real time and the emulator's delays are divided by the same factor. The same hire
runs twice on a fresh stack, with SYNC_WAIT_MODE=poll (this design: poll the logs and Entra with backoff) and
SYNC_WAIT_MODE=fixed (the seed: wait the full 60 minutes, then look once). Every other setting is the product's
default. Figures are scaled minutes from the orchestration's own timings, so they read as production minutes.

    python -m benchmarks.time_to_ready [--time-scale 120]

Activities and the emulator run in real time, so each activity's real duration is inflated by the time scale in
the scaled figures (50 ms of real work reads as 6 s at x120); a lower time scale is more faithful and slower.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CLOCK_START,
    MANAGER,
    START_DATE,
    Rows,
    benchmark_stack,
    print_rows,
    quiet_deferred_event_warning,
)

TIME_SCALE = 120.0
AGENT_SECONDS = 30.0
LOG_SECONDS = 5 * 60.0
SYNC_SECONDS = 12 * 60.0
MODES = ("poll", "fixed")
HIRE: dict[str, Any] = {
    "eventId": "bench-ready-1",
    "type": "hire",
    "effectiveDate": START_DATE,
    "employee": {
        "employeeId": "R00001",
        "givenName": "Katherine",
        "familyName": "Johnson",
        "jobTitle": "Mathematician",
        "department": "Research",
        "managerEmployeeId": "M00001",
        "country": "US",
        "usageLocation": "US",
        "timeZone": "America/New_York",
    },
}
MILESTONES = ("uploadedAt", "provisionedAt", "syncedAt", "credentialAt", "completedAt")


@dataclass
class ReadyFigures:
    """Scaled minutes from acceptance to each milestone the orchestration recorded (None when not reached)."""

    mode: str
    outcome: str
    minutes: dict[str, float | None]
    real_seconds: float

    @property
    def ready_minutes(self) -> float | None:
        """Ready = the first credential is issued (the new hire can sign in)."""
        return self.minutes.get("credentialAt")


def realistic_delays(time_scale: float, sync_seconds: float = SYNC_SECONDS) -> dict[str, float]:
    """The emulator's pipeline delays in real seconds for the given host time scale."""
    return {
        "agentDelaySeconds": AGENT_SECONDS / time_scale,
        "logDelaySeconds": LOG_SECONDS / time_scale,
        "syncDelaySeconds": sync_seconds / time_scale,
    }


def run(mode: str, time_scale: float = TIME_SCALE, sync_seconds: float = SYNC_SECONDS) -> ReadyFigures:
    """One hire on a fresh stack with SYNC_WAIT_MODE=`mode`; returns its scaled milestones."""
    # Wide enough for the fixed mode's 60 scaled minutes plus the steps around it, in real seconds.
    timeout = 2 * 3600 / time_scale + 60
    with (
        tempfile.TemporaryDirectory() as state_dir,
        benchmark_stack(
            Path(state_dir),
            time_scale=time_scale,
            clock_start=CLOCK_START,
            settings={"SYNC_WAIT_MODE": mode},
            entra_config={**realistic_delays(time_scale, sync_seconds), "agentOnline": True},
        ) as stack,
    ):
        stack.entra.control.seed_user("synced", **MANAGER)
        started = time.perf_counter()
        response = stack.post_event(HIRE)
        response.raise_for_status()
        instance_id = str(response.json()["id"])
        stack.wait_for(instance_id, timeout=timeout)
        real_seconds = time.perf_counter() - started
        status = stack.status(instance_id)
    output = status.get("output") or {}
    timings: dict[str, str] = output.get("timings") or {}
    accepted = datetime.fromisoformat(timings["acceptedAt"]) if "acceptedAt" in timings else None
    minutes: dict[str, float | None] = {}
    for milestone in MILESTONES:
        at = timings.get(milestone)
        minutes[milestone] = (
            (datetime.fromisoformat(at) - accepted).total_seconds() / 60 if at and accepted is not None else None
        )
    return ReadyFigures(
        mode=mode,
        outcome=str(output.get("outcome") or status.get("stage")),
        minutes=minutes,
        real_seconds=real_seconds,
    )


def ratio(fixed: ReadyFigures, poll: ReadyFigures) -> float | None:
    """How many times longer the seed's fixed wait takes to ready than this design."""
    if fixed.ready_minutes is None or not poll.ready_minutes:
        return None
    return fixed.ready_minutes / poll.ready_minutes


def report(results: list[ReadyFigures], time_scale: float, sync_seconds: float = SYNC_SECONDS) -> Rows:
    """The figures as (label, value) rows, shared by this CLI and `python -m benchmarks`."""
    rows = [
        (
            "emulator delays (scaled)",
            f"agent {AGENT_SECONDS:g} s, logs +{LOG_SECONDS / 60:g} min, sync +{sync_seconds / 60:g} min "
            f"(ideal: user in Entra {(AGENT_SECONDS + sync_seconds) / 60:g} min after the upload)",
        ),
        ("time scale", f"x{time_scale:g}"),
    ]
    by_mode = {result.mode: result for result in results}
    for result in results:
        marks = ", ".join(
            f"{name.removesuffix('At')} {value:.1f}" for name, value in result.minutes.items() if value is not None
        )
        rows.append((f"{result.mode} ({result.outcome})", f"{marks} min ({result.real_seconds:.1f} s real)"))
    if "poll" in by_mode and "fixed" in by_mode:
        found = ratio(by_mode["fixed"], by_mode["poll"])
        rows.append(
            (
                "ready (credential issued)",
                f"poll {_minutes(by_mode['poll'].ready_minutes)} vs fixed {_minutes(by_mode['fixed'].ready_minutes)}"
                + (f": fixed takes {found:.1f}x as long" if found else ""),
            )
        )
    return rows


def _minutes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} min"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=TIME_SCALE, help="host clock speed-up (default 120)")
    parser.add_argument("--mode", choices=MODES, action="append", help="run only this SYNC_WAIT_MODE")
    parser.add_argument(
        "--sync-minutes",
        type=float,
        default=SYNC_SECONDS / 60,
        help="Entra Connect sync delay after the agent, scaled minutes (default 12)",
    )
    args = parser.parse_args(argv)
    quiet_deferred_event_warning()
    sync_seconds = args.sync_minutes * 60
    results = [run(mode, args.time_scale, sync_seconds) for mode in args.mode or MODES]
    title = "time to ready for one hire (scaled minutes after acceptance)"
    print_rows(title, report(results, args.time_scale, sync_seconds))


if __name__ == "__main__":
    main()
