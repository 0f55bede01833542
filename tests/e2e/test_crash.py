"""Crash anywhere: kill -9 the functions host at each workflow stage, restart it on the same task hub, and prove
that nothing is lost or done twice.

The host runs as a real subprocess (`python -m emulators.functions_host`), so a kill leaves its SQLite task hub
exactly as a crashed Azure worker would. The Entra emulator keeps running in this process and is the witness:
every accepted event must complete, every employee must have exactly one AD account, and every Temporary Access
Pass must reach its recipient in exactly one email (a pass is never mailed twice).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.stack import HostSubprocess, start_host_subprocess, wait_until
from emulators.entra.testing import EntraEmulator
from tests.e2e.helpers import carries
from tests.e2e.test_product import MANAGER

pytestmark = pytest.mark.e2e

TIME_SCALE = 120.0
"""Fast enough that a 60-minute sync deadline is 30 real seconds; slow enough that stages are observable."""
SETTINGS = {"PROVISIONING_POLL_INITIAL_SECONDS": "15", "UPLOAD_COALESCE_SECONDS": "5"}
PIPELINE_DELAYS = {"agentDelaySeconds": 0.3, "logDelaySeconds": 0.3, "syncDelaySeconds": 1.3}
"""Small but nonzero, so that awaiting-provisioning and awaiting-sync last long enough to be caught. The polls
after an upload come at about 0.15, 0.4, 0.95 and 2 s (15 scaled seconds, doubling); the log shows at 0.6 s and
the account at 1.6 s, so the 0.95 s poll lands in awaiting-sync with a margin of a third of a second either side
(with the log at 0.9 s the margin was a few milliseconds, and a fast run skipped the stage)."""
COMPLETION_TIMEOUT = 60.0

START_DATE = (date.today() + timedelta(days=3)).isoformat()
"""Inside PROVISION_LEAD_DAYS: hires run at once (the CLI host's clock starts at the real now)."""
LAST_DAY = (date.today() - timedelta(days=1)).isoformat()
"""The leaver's last day is over, so the termination runs at once."""


def _hire(event_id: str, employee_id: str, given: str, family: str, **employee: Any) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "type": "hire",
        "effectiveDate": START_DATE,
        "employee": {
            "employeeId": employee_id,
            "givenName": given,
            "familyName": family,
            "managerEmployeeId": MANAGER["employeeId"],
            "department": "Finance",
            "timeZone": "Europe/Berlin",
            **employee,
        },
    }


HIRES = [
    # Anna Smith's first name is held in AD only (invisible to Graph): found through the provisioning log.
    _hire("crash-hire-1", "E31001", "Anna", "Smith"),
    # A second Anna Smith at the same time: the name reservation entity must give her another name.
    _hire("crash-hire-2", "E31002", "Anna", "Smith"),
    _hire("crash-hire-3", "E31003", "Zoë", "O'Brien-Müller", preferredLanguage="de-DE"),
]
MOVER = {
    "eventId": "crash-move-1",
    "type": "update",
    "employee": {"employeeId": "E31010", "jobTitle": "Senior Analyst", "managerEmployeeId": "E31099"},
}
LEAVER = {
    "eventId": "crash-leave-1",
    "type": "termination",
    "effectiveDate": LAST_DAY,
    "employee": {"employeeId": "E31011", "timeZone": "Europe/Berlin"},
}
EVENTS = [*HIRES, MOVER, LEAVER]
INSTANCE_IDS = [f"hr-{body['eventId']}" for body in EVENTS]
EMPLOYEE_OF = {f"hr-{body['eventId']}": body["employee"]["employeeId"] for body in EVENTS}
HIRE_IDS = {body["employee"]["employeeId"] for body in HIRES}


def seed_tenant(entra: EntraEmulator) -> None:
    """The manager, the mover, the leaver, a new manager for the mover, and an AD-only holder of anna.smith."""
    control = entra.control
    control.reset()
    control.configure(agentOnline=True, **PIPELINE_DELAYS)
    control.seed_user("synced", **MANAGER)
    control.seed_user(
        "synced",
        employeeId="E31099",
        userPrincipalName="lee.chen@contoso.com",
        mail="lee.chen@contoso.com",
        displayName="Lee Chen",
    )
    for employee_id, given, family in (("E31010", "Mo", "Ver"), ("E31011", "Lee", "Ver")):
        upn = f"{given}.{family}@contoso.com".lower()
        control.seed_user(
            "synced",
            employeeId=employee_id,
            userPrincipalName=upn,
            mail=upn,
            givenName=given,
            surname=family,
            displayName=f"{given} {family}",
            manager=MANAGER["employeeId"],
            onPremisesSamAccountName=upn.split("@")[0],
        )
    control.seed_user(
        "ad",
        employeeId="X31000",
        userPrincipalName="anna.smith@contoso.com",
        onPremisesSamAccountName="anna.smith",
        displayName="Anna Smith (AD only)",
    )


@dataclass
class Watch:
    """What the test saw before it pulled the plug: each instance's stage trail and the emulator's progress."""

    trails: dict[str, list[str]] = field(default_factory=dict)

    def record(self, instance_id: str, stage: str) -> None:
        trail = self.trails.setdefault(instance_id, [])
        if not trail or trail[-1] != stage:
            trail.append(stage)

    def seen(self, stage: str) -> bool:
        return any(stage in trail for trail in self.trails.values())


def current_stages(client: httpx.Client, watch: Watch) -> dict[str, str]:
    stages: dict[str, str] = {}
    for instance_id in INSTANCE_IDS:
        response = client.get(f"/hr-events/{instance_id}")
        if response.status_code == 200:
            stages[instance_id] = str(response.json().get("stage"))
            watch.record(instance_id, stages[instance_id])
    return stages


Trigger = Callable[[httpx.Client, EntraEmulator, Watch], bool]


def at_stage(*stages: str) -> Trigger:
    def trigger(client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
        return any(stage in stages for stage in current_stages(client, watch).values())

    return trigger


def just_accepted(client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
    """The first event was accepted (202) and may not have run a single step yet."""
    current_stages(client, watch)
    return True


def upload_staged(client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
    """A bulk request reached Entra: the uploader may not have recorded it, nor told the events."""
    return bool(entra.control.state()["bulkRequests"])


def names_reserved(client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
    """A hire holds reserved names that no bulk request carries yet: it is resolving its names, or it waits in
    the upload queue ("uploading") while nothing has reached Entra. The name stages pass in a few milliseconds,
    so this crash point is armed with a bulkUpload outage (`HOLDS`): hires wait in the queue with their names
    reserved until the test has pulled the plug."""
    stages = current_stages(client, watch)
    if set(stages.values()) & {"resolving", "names", "preflight"}:
        return True
    queued = [EMPLOYEE_OF[instance_id] for instance_id, stage in stages.items() if stage == "uploading"]
    if not queued:
        return False
    uploaded = json.dumps(entra.control.state()["bulkRequests"])
    return any(f'"{employee_id}"' not in uploaded for employee_id in queued)


def pass_created(client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
    """A pass exists: the credential activity is running or has just run. Notes whether its mail was still
    unsent, the crash the activity must survive without mailing one pass twice or leaving the hire without one."""
    state = entra.control.state()
    if not state["temporaryAccessPasses"]:
        return False
    outbox = json.dumps(state["outbox"])
    if any(not carries(outbox, tap["temporaryAccessPass"]) for tap in state["temporaryAccessPasses"]):
        watch.record("emulator", "pass-created-not-mailed")
    return True


CRASH_POINTS: dict[str, Trigger] = {
    "accepted": just_accepted,
    # Names are reserved between resolving and the upload; a crash there must not strand a reservation.
    "names": names_reserved,
    "upload-staged": upload_staged,
    "awaiting-provisioning": at_stage("awaiting-provisioning"),
    "awaiting-sync": at_stage("awaiting-sync"),
    "credential": pass_created,
}
HOLDS: dict[str, dict[str, Any]] = {
    "names": {"faults": {"bulkUpload503": True, "retryAfterSeconds": 30}},
}
"""Emulator faults that hold the workflow at a crash point until the host is killed (then they are lifted): the
Entra provisioning API is down, so each upload is retried after Retry-After (a quarter of a real second)."""
LIFTED: dict[str, Any] = {"faults": {"bulkUpload503": False, "retryAfterSeconds": 5}}


@pytest.fixture
def hosts(entra: EntraEmulator, tmp_path: Path) -> Iterator[Callable[[], HostSubprocess]]:
    """Start host processes on one task hub; every one still running is stopped at teardown."""
    started: list[HostSubprocess] = []

    def start() -> HostSubprocess:
        host = start_host_subprocess(entra, tmp_path / "host", settings=SETTINGS, time_scale=TIME_SCALE)
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


@pytest.mark.parametrize("crash_point", list(CRASH_POINTS))
def test_kill_9_at_any_stage_loses_nothing_and_duplicates_nothing(
    entra: EntraEmulator, hosts: Callable[[], HostSubprocess], crash_point: str
) -> None:
    seed_tenant(entra)
    if crash_point in HOLDS:
        entra.control.configure(**HOLDS[crash_point])
    host = hosts()
    watch = Watch()
    trigger = CRASH_POINTS[crash_point]
    posted = 0
    with host.client() as client:
        # The crash point is checked after every submission, since early stages pass while HR is still posting.
        for body in EVENTS:
            response = client.post("/hr-events", json=body)
            assert response.status_code == 202, response.text
            posted += 1
            if trigger(client, entra, watch):
                break
        else:
            try:
                wait_until(lambda: trigger(client, entra, watch), timeout=30, interval=0.005)
            except TimeoutError:
                pytest.fail(f"never saw the crash point {crash_point}; stages seen: {watch.trails}")
    host.kill()
    entra.control.configure(**LIFTED)

    restarted = hosts()
    with restarted.client() as client:
        for body in EVENTS[posted:]:  # what HR could not deliver while the host was down
            response = client.post("/hr-events", json=body)
            assert response.status_code == 202, response.text
        statuses = wait_until(lambda: all_ended(client), timeout=COMPLETION_TIMEOUT, interval=0.1)
    assert_nothing_lost_or_doubled(entra.control.state(), statuses)


def test_repeated_crashes_in_one_run_including_during_recovery(
    entra: EntraEmulator, hosts: Callable[[], HostSubprocess]
) -> None:
    """One task hub, killed again and again: a crash point already passed when the host comes back means the
    kill lands while it is still recovering, which must be just as harmless."""
    seed_tenant(entra)
    host = hosts()
    watch = Watch()
    with host.client() as client:
        for body in EVENTS:
            assert client.post("/hr-events", json=body).status_code == 202
    for crash_point in ("names", "upload-staged", "awaiting-sync", "credential"):
        with host.client() as client:
            wait_until(partial(crash_due, CRASH_POINTS[crash_point], client, entra, watch), timeout=30, interval=0.005)
        host.kill()
        host = hosts()
    with host.client() as client:
        statuses = wait_until(lambda: all_ended(client), timeout=COMPLETION_TIMEOUT, interval=0.1)
    assert_nothing_lost_or_doubled(entra.control.state(), statuses)


def crash_due(trigger: Trigger, client: httpx.Client, entra: EntraEmulator, watch: Watch) -> bool:
    """The crash point is reached, or there is nothing left to crash into."""
    return trigger(client, entra, watch) or all_ended(client) is not None


def all_ended(client: httpx.Client) -> dict[str, dict[str, Any]] | None:
    """Every event's status once all of them have ended, else None."""
    responses = {instance_id: client.get(f"/hr-events/{instance_id}") for instance_id in INSTANCE_IDS}
    if any(response.status_code == 503 for response in responses.values()):  # the task hub did not answer yet
        return None
    statuses = {instance_id: response.json() for instance_id, response in responses.items()}
    ended = all(status["runtimeStatus"] in ("Completed", "Failed", "Terminated") for status in statuses.values())
    return statuses if ended else None


def assert_nothing_lost_or_doubled(state: dict[str, Any], statuses: dict[str, dict[str, Any]]) -> None:
    for instance_id, status in statuses.items():
        assert status["runtimeStatus"] == "Completed" and status["stage"] == "completed", (instance_id, status)
    outcomes = {instance_id: status["output"]["outcome"] for instance_id, status in statuses.items()}
    assert outcomes == {
        "hr-crash-hire-1": "provisioned",
        "hr-crash-hire-2": "provisioned",
        "hr-crash-hire-3": "provisioned",
        "hr-crash-move-1": "updated",
        "hr-crash-leave-1": "disabled",
    }

    accounts = Counter(user.get("employeeId") for user in state["adUsers"])
    for employee_id in (*HIRE_IDS, "E31010", "E31011"):
        assert accounts[employee_id] == 1, f"{employee_id} has {accounts[employee_id]} AD accounts"
    upns = [user["userPrincipalName"].lower() for user in state["adUsers"]]
    assert len(upns) == len(set(upns)), "two AD accounts share a UPN"
    hired_upns = {statuses[f"hr-{body['eventId']}"]["output"]["userPrincipalName"] for body in HIRES}
    assert len(hired_upns) == 3 and "anna.smith@contoso.com" not in hired_upns

    ad = {user.get("employeeId"): user for user in state["adUsers"]}
    assert ad["E31011"]["accountEnabled"] is False
    assert ad["E31010"].get("jobTitle") == "Senior Analyst"

    entra_ids = {user.get("employeeId"): user["id"] for user in state["entraUsers"]}
    passes = {tap["userId"]: tap["temporaryAccessPass"] for tap in state["temporaryAccessPasses"]}
    mails = [json.dumps(mail) for mail in state["outbox"]]
    for employee_id in HIRE_IDS:
        current = passes.get(entra_ids[employee_id])
        assert current, f"{employee_id} has no Temporary Access Pass"
        carrying = [mail for mail in mails if carries(mail, current)]
        assert len(carrying) == 1, f"the pass of {employee_id} is in {len(carrying)} emails"
