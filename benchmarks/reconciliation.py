"""A reconciliation over N HR records against N directory users, then an apply of the drift, on the real stack.

Seeds N synced accounts in the Entra emulator, 5 % of them with a stale job title, uploads a roster of the same N
employees (CSV, with its mapping), waits until the plan is stored, and prints the Graph requests the run used
(target ⌈N/999⌉ + a constant: the directory is read in pages of 999), the wall time, and the peak memory; then
applies the plan and counts the bulkUpload requests its updates needed (target ⌈changes/50⌉).

    python -m benchmarks.reconciliation              # N = 10,000
    python -m benchmarks.reconciliation --n 2000
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import CLOCK_START, Rows, benchmark_stack, print_rows, quiet_deferred_event_warning
from demo.stack import Stack, wait_until
from provisioning import naming
from provisioning.intake.mapping import Mapping
from provisioning.reconciliation.drift import reconcile
from provisioning.reconciliation.population import Policy
from provisioning.reconciliation.roster import read_roster

DEFAULT_SIZE = 10_000
STALE_SHARE = 0.05
GRAPH_HOST = "graph.microsoft.com"
OPERATIONS_PER_BULK_REQUEST = 50
PAGE = 999
INSTANT_PIPELINE = {"agentDelaySeconds": 0, "logDelaySeconds": 0, "syncDelaySeconds": 0}
MAPPING = """
event:
  eventId: {const: roster}
  type: {const: update}
  employee:
    employeeId: $['Employee ID']
    givenName: $['First Name']
    familyName: $['Last Name']
    jobTitle: $.Title
    department: $.Department
"""
SETTINGS = {
    "RECONCILE_MAX_UPDATES": "100000",
    "RECONCILE_MAX_UPDATES_PERCENT": "100",
    "BREAKER_UPDATE_LIMIT": "100000",
    "PROVISIONING_POLL_INITIAL_SECONDS": "15",
}


@dataclass
class Figures:
    employees: int
    stale: int
    run_seconds: float
    graph_requests: int
    user_list_requests: int
    token_requests: int
    peak_rss_mib: float
    compare_peak_mib: float
    compare_seconds: float
    plan_entries: int
    apply_seconds: float
    bulk_uploads: int
    completed: int


def _letters(number: int) -> str:
    """A name part per number in letters only (HR names carry no digits): 0 -> a, 25 -> z, 26 -> ba, ..."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(ord("a") + digit) + text
        if number == 0:
            return text


def _employee(number: int) -> dict[str, str]:
    given, family = f"Given{_letters(number)}", f"Family{_letters(number)}"
    return {
        "employeeId": f"B{number:06d}",
        "givenName": given,
        "surname": family,
        "displayName": f"{given} {family}",
        "userPrincipalName": f"{given}.{family}@contoso.com".lower(),
        "mail": f"{given}.{family}@contoso.com".lower(),
        "jobTitle": "Analyst",
        "department": f"Dept {_letters(number % 40)}",
    }


def _roster(count: int, stale: set[int]) -> bytes:
    lines = ["Employee ID,First Name,Last Name,Title,Department"]
    for number in range(count):
        person = _employee(number)
        title = "Senior Analyst" if number in stale else "Analyst"
        lines.append(f"{person['employeeId']},{person['givenName']},{person['surname']},{title},{person['department']}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _compare_alone(roster: bytes, users: list[dict[str, Any]]) -> tuple[float, float, int]:
    """The pure comparison on the same data, under tracemalloc: its own peak memory and time."""
    tracemalloc.start()
    started = time.perf_counter()
    people = read_roster(roster, "csv", Mapping.load(MAPPING, "yaml")).people
    accounts = [
        {**user, "id": str(index), "accountEnabled": True, "onPremisesSyncEnabled": True}
        for index, user in enumerate(users)
    ]
    plan = reconcile(
        people,
        accounts,
        policy=Policy(),
        names=naming.NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com"),
        now=CLOCK_START,
    )
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds, len(plan.entries)


def _wait_run(stack: Stack, client: httpx.Client, run_id: str, timeout: float) -> dict[str, Any]:
    def planned() -> dict[str, Any] | None:
        view = client.get(f"/reconciliations/{run_id}", params={"class": "stale"}).json()
        return view if view.get("runtimeStatus") in ("Completed", "Failed") else None

    result: dict[str, Any] = wait_until(planned, timeout, interval=0.5)
    return result


def run(count: int = DEFAULT_SIZE, *, timeout: float = 3600.0) -> Figures:
    stale = set(range(0, count, round(1 / STALE_SHARE)))
    users = [_employee(number) for number in range(count)]
    roster = _roster(count, stale)
    with (
        tempfile.TemporaryDirectory() as state_dir,
        # The clock starts now: the apply route judges a plan's age by the real clock (RECONCILE_PLAN_MAX_AGE_HOURS).
        benchmark_stack(
            Path(state_dir),
            time_scale=60,
            clock_start=datetime.now(UTC),
            entra_config=INSTANT_PIPELINE,
            settings=SETTINGS,
        ) as stack,
    ):
        for first in range(0, count, 1000):
            stack.entra.control.seed_users("synced", users[first : first + 1000])
        calls_before = len(stack.entra.control.state()["calls"])
        with stack.client() as client:
            started = time.perf_counter()
            answer = client.post(
                "/reconciliations",
                files={"roster": ("roster.csv", roster, "text/csv"), "mapping": ("mapping.yaml", MAPPING.encode())},
            )
            answer.raise_for_status()
            run_id = answer.json()["id"]
            view = _wait_run(stack, client, run_id, timeout)
            run_seconds = time.perf_counter() - started
            calls = stack.entra.control.state()["calls"][calls_before:]
            graph = [call for call in calls if call.get("host") == GRAPH_HOST]
            listing = [call for call in graph if str(call["path"]).rstrip("/").endswith("/v1.0/users")]
            tokens = [call for call in calls if call.get("host") != GRAPH_HOST]
            peak_rss = _peak_rss_mib()

            before_apply = len(stack.entra.control.state()["calls"])
            applied_at = time.perf_counter()
            client.post(f"/reconciliations/{run_id}/apply", json={}).raise_for_status()
            event_ids = [f"hr-recon-{run_id}-B{number:06d}" for number in sorted(stale)]
            completed = 0
            for instance_id in event_ids:
                status = stack.wait_for(instance_id, timeout=timeout)
                completed += status.get("runtimeStatus") == "Completed"
            apply_seconds = time.perf_counter() - applied_at
            uploads = [
                call
                for call in stack.entra.control.state()["calls"][before_apply:]
                if call.get("host") == GRAPH_HOST and str(call["path"]).endswith("/bulkUpload")
            ]
    compare_peak, compare_seconds, entries = _compare_alone(roster, users)
    return Figures(
        employees=count,
        stale=len(stale),
        run_seconds=run_seconds,
        graph_requests=len(graph),
        user_list_requests=len(listing),
        token_requests=len(tokens),
        peak_rss_mib=peak_rss,
        compare_peak_mib=compare_peak,
        compare_seconds=compare_seconds,
        plan_entries=int((view.get("summary") or {}).get("entries", entries)),
        apply_seconds=apply_seconds,
        bulk_uploads=len(uploads),
        completed=completed,
    )


def report(figures: Figures) -> Rows:
    target = math.ceil(figures.employees / PAGE)
    return [
        ("HR records / directory users", f"{figures.employees:,} / {figures.employees:,}"),
        ("run wall time (upload to planned)", f"{figures.run_seconds:.1f} s"),
        (
            "Graph requests during the run",
            f"{figures.graph_requests} ({figures.user_list_requests} user pages; target ceil(N/999) = {target} "
            f"+ a constant)",
        ),
        ("token requests during the run", str(figures.token_requests)),
        ("plan entries", f"{figures.plan_entries:,} ({figures.stale:,} stale planted)"),
        ("peak RSS, whole process", f"{figures.peak_rss_mib:.0f} MiB (host, app, Entra emulator in one process)"),
        (
            "compare alone (roster + plan)",
            f"{figures.compare_seconds:.1f} s, peak {figures.compare_peak_mib:.0f} MiB allocated (tracemalloc)",
        ),
        (
            f"apply of {figures.stale:,} updates",
            f"{figures.bulk_uploads} bulkUpload requests (target ceil(changes/50) = "
            f"{math.ceil(figures.stale / OPERATIONS_PER_BULK_REQUEST)}); {figures.completed} / {figures.stale} "
            f"events completed in {figures.apply_seconds:.0f} s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_SIZE, help="employees and directory users")
    args = parser.parse_args()
    quiet_deferred_event_warning()
    print_rows(f"Reconciliation of {args.n:,} employees ({datetime.now(UTC):%Y-%m-%d})", report(run(args.n)))


if __name__ == "__main__":
    main()
