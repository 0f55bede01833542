"""Functions host emulator throughput: N concurrent orchestrations of S activity steps each.

Prints orchestrations per second, episodes and replayed history events per instance (each episode
replays the whole history through the real SDK, so replayed events grow with the square of the steps).

    python -m benchmarks.host_throughput [--instances 200] [--steps 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

from emulators.functions_host import FunctionsHost, VirtualClock

APP_MODULE = "tests.host_app.function_app"


def run(instances: int, steps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as state_dir:
        clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
        with FunctionsHost(APP_MODULE, state_dir, clock=clock) as host:
            started = time.perf_counter()
            ids = [host.start_orchestration("sequence_flow", {"steps": steps}) for _ in range(instances)]
            host.run_until_idle(timeout=3600)
            elapsed = time.perf_counter() - started
            completed = sum(1 for i in ids if (host.status(i) or {}).get("runtimeStatus") == "Completed")
            stats = host.stats()
    return {
        "instances": instances,
        "steps": steps,
        "completed": completed,
        "seconds": elapsed,
        "orchestrations_per_second": completed / elapsed if elapsed else 0.0,
        "episodes_per_instance": stats["episodes"] / instances,
        "replayed_events_per_instance": stats["replayed_events"] / instances,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    figures = run(args.instances, args.steps)
    print(f"functions host: {figures['instances']} orchestrations x {figures['steps']} activity steps")
    print(f"  completed:                     {figures['completed']}")
    print(f"  wall time:                     {figures['seconds']:.2f} s")
    print(f"  orchestrations per second:     {figures['orchestrations_per_second']:.1f}")
    print(f"  episodes per instance:         {figures['episodes_per_instance']:.1f}")
    print(f"  replayed events per instance:  {figures['replayed_events_per_instance']:.1f}")


if __name__ == "__main__":
    main()
