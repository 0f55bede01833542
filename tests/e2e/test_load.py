"""Load: hundreds of hires, as a batch and as a stream of single events, against Entra's bulkUpload limits.

Entra's API-driven provisioning takes at most 50 records per bulkUpload call and 40 calls in any 5 seconds
(the bulkUpload API page and the inbound provisioning concepts page). These tests prove the product packs and
paces by counting, at the Entra emulator, the bulkUpload calls it received and when, and that no hire is lost or
provisioned twice on the way.
The functions host is a real subprocess (as in Azure, it has a CPU of its own); timings are printed, never
asserted (benchmarks/ holds the figures).
"""

from __future__ import annotations

import math
import string
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.load import busy_cores
from demo.stack import HostSubprocess, start_host_subprocess, wait_until
from emulators.entra.testing import FAST_CONFIG, EntraEmulator

pytestmark = pytest.mark.e2e

BULK_OPERATIONS_LIMIT = 50
CALLS_PER_WINDOW = 40
WINDOW = timedelta(seconds=5)
START_DATE = (date.today() + timedelta(days=3)).isoformat()
"""Inside PROVISION_LEAD_DAYS: the hires run at once (the CLI host's clock starts at the real now)."""


def given_name(index: int) -> str:
    """A distinct, letters-only given name per index ("Ab", "Ac", …), so no two hires compete for a name."""
    letters = ""
    while True:
        index, digit = divmod(index, 26)
        letters = string.ascii_lowercase[digit] + letters
        if index == 0:
            break
    return "A" + letters.rjust(3, "a")


def hires(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "eventId": f"{prefix}-{index}",
            "type": "hire",
            "effectiveDate": START_DATE,
            "employee": {
                "employeeId": f"{prefix.upper()[:4]}{index:05d}",
                "givenName": given_name(index),
                "preferredGivenName": None,
                "familyName": "Loadtest",
                "department": "Operations",
            },
        }
        for index in range(count)
    ]


def bulk_upload_times(state: dict[str, Any]) -> list[datetime]:
    calls = [call for call in state["calls"] if call["path"].endswith("/bulkUpload")]
    return sorted(datetime.fromisoformat(call["time"].replace("Z", "+00:00")) for call in calls)


def busiest_window(times: list[datetime]) -> int:
    """The most bulkUpload calls Entra saw in any 5-second window."""
    busiest, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= WINDOW:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def assert_every_hire_provisioned_once(state: dict[str, Any], events: list[dict[str, Any]]) -> None:
    expected = {body["employee"]["employeeId"] for body in events}
    accounts = Counter(user.get("employeeId") for user in state["adUsers"] if user.get("employeeId") in expected)
    assert set(accounts) == expected, f"{len(expected - set(accounts))} hires have no AD account"
    assert set(accounts.values()) == {1}, [employee for employee, count in accounts.items() if count > 1][:10]
    in_entra = {user.get("employeeId") for user in state["entraUsers"]}
    assert expected <= in_entra


@pytest.fixture
def load_host(entra: EntraEmulator, tmp_path: Path) -> Iterator[Callable[..., HostSubprocess]]:
    """A clean tenant and a functions host subprocess on a fresh task hub; stopped at teardown."""
    started: list[HostSubprocess] = []

    def start(*, time_scale: float, settings: dict[str, str] | None = None) -> HostSubprocess:
        entra.control.reset()
        entra.control.configure(**{**FAST_CONFIG, "agentOnline": True})
        host = start_host_subprocess(
            entra,
            tmp_path / f"host{len(started)}",
            settings={"PROVISIONING_POLL_INITIAL_SECONDS": "15", **(settings or {})},
            time_scale=time_scale,
        )
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
        # Shown only when the test fails (captured output): what the host logged as failed, since its folder is gone
        # by the time anyone reads a CI report.
        if host.log_file.exists():
            lines = host.log_file.read_text(errors="replace").splitlines()
            failed = [number for number, line in enumerate(lines) if "(Failed)" in line]
            print(f"{host.log_file}: {len(failed)} failed invocations")
            for number in failed[-3:]:  # the last ones, each with its traceback
                print(*lines[number : number + 25], sep="\n")


def wait_for_events(host: HostSubprocess, instance_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    """Wait (deadline) until every instance has ended; returns their final statuses.

    Each poll stops at the first instance still running, so waiting costs a few requests, not one per event (a
    batch's own status reads every member's status: polling it would load the host more than the hires do).
    """
    ended: dict[str, dict[str, Any]] = {}
    with host.client() as client:

        def all_ended() -> bool:
            for instance_id in instance_ids:
                if instance_id in ended:
                    continue
                response = client.get(f"/hr-events/{instance_id}")
                if response.status_code == 503:  # the task hub did not answer in time: documented, ask again
                    return False
                status = response.json()
                if status["runtimeStatus"] not in ("Completed", "Failed", "Terminated"):
                    return False
                ended[instance_id] = status
            return True

        wait_until(all_ended, timeout=timeout, interval=0.5)
    return [ended[instance_id] for instance_id in instance_ids]


@pytest.mark.parametrize(
    ("count", "time_scale", "busy"),
    [(300, 600, 2), pytest.param(2000, 600, 2, marks=[pytest.mark.slow, pytest.mark.timeout(1800)])],
)
def test_a_batch_of_hires_is_packed_into_full_bulk_requests_and_paced(
    load_host: Callable[..., HostSubprocess], entra: EntraEmulator, count: int, time_scale: float, busy: int
) -> None:
    """A batch announces its size to the upload queue, so its records travel in full requests of 50.

    Packing must not depend on timing: at x600 the queue's wait for a batch's next record
    (BATCH_UPLOAD_WAIT_SECONDS, 180 scaled seconds) is 0.3 real seconds, far shorter than the host needs to start
    every event of the batch on a loaded machine (`busy` processes spin on the cores meanwhile). The partial request
    still waits: the uploader looks whether the missing members are still on their way before it lets it go. The
    sync deadline is lengthened to a day so that a backlog of real seconds at x600 never reads as a missed deadline
    (this test is about packing; the deadline has tests of its own).
    """
    host = load_host(time_scale=time_scale, settings={"SYNC_TIMEOUT_MINUTES": "1440"})
    events = hires(count, f"batch{count}")
    began = time.monotonic()
    batch_ids = []
    with busy_cores(busy), host.client(timeout=120) as client:
        for first in range(0, count, 1000):  # the API takes at most 1000 events per batch
            response = client.post("/hr-events/batch", json={"events": events[first : first + 1000]})
            assert response.status_code == 202, response.text
            assert response.json()["accepted"] == len(events[first : first + 1000])
            batch_ids.append(response.json()["id"])
        statuses = wait_for_events(host, [f"hr-{body['eventId']}" for body in events], timeout=180 + count * 0.8)
    elapsed = time.monotonic() - began

    assert Counter(status["runtimeStatus"] for status in statuses) == {"Completed": count}
    with host.client() as client:
        summaries = [client.get(f"/hr-events/{batch_id}").json() for batch_id in batch_ids]
    assert sum((Counter(summary["outcomes"]) for summary in summaries), Counter()) == {"provisioned": count}
    state = entra.control.state()
    times = bulk_upload_times(state)
    assert len(times) == math.ceil(count / BULK_OPERATIONS_LIMIT)
    assert busiest_window(times) <= CALLS_PER_WINDOW
    assert all(len(request["body"]["Operations"]) <= BULK_OPERATIONS_LIMIT for request in state["bulkRequests"])
    assert_every_hire_provisioned_once(state, events)
    print(f"\n{count} hires in batches: {elapsed:.1f} s, {len(times)} bulkUpload calls")


@pytest.mark.parametrize(
    "count",
    [150, pytest.param(500, marks=[pytest.mark.slow, pytest.mark.timeout(900)])],
)
def test_single_hires_arriving_together_share_bulk_requests(
    load_host: Callable[..., HostSubprocess], entra: EntraEmulator, count: int
) -> None:
    """HR systems without a batch export post one event per hire; the queue packs them (UPLOAD_COALESCE_SECONDS).

    At time scale 10 the default 10-second coalescing window is one real second, longer than the gap between
    submissions, so records wait for company instead of travelling alone.
    """
    host = load_host(time_scale=10)
    events = hires(count, f"single{count}")
    began = time.monotonic()
    with host.client() as client:
        for body in events:
            response = client.post("/hr-events", json=body)
            assert response.status_code == 202, response.text
    submitted = time.monotonic() - began
    statuses = wait_for_events(host, [f"hr-{body['eventId']}" for body in events], timeout=120 + count * 0.3)
    elapsed = time.monotonic() - began

    assert Counter(status["runtimeStatus"] for status in statuses) == {"Completed": count}
    assert Counter(status["output"]["outcome"] for status in statuses) == {"provisioned": count}
    state = entra.control.state()
    times = bulk_upload_times(state)
    assert len(times) <= math.ceil(count / 25), f"{len(times)} bulkUpload calls for {count} single hires"
    assert busiest_window(times) <= CALLS_PER_WINDOW
    assert_every_hire_provisioned_once(state, events)
    print(f"\n{count} single hires: submitted in {submitted:.1f} s, done in {elapsed:.1f} s, {len(times)} bulk calls")
