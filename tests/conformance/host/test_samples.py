"""The official Durable Functions samples' documented behaviour, reproduced by our own app on the functions host.

Each test names the Microsoft Learn article whose documented outcome it asserts (paths under
https://learn.microsoft.com/azure/azure-functions/durable/). The app (`samples_app/function_app.py`) is ours,
written from those descriptions; the runs use the in-process host on a virtual clock, so 90-second windows,
hourly timers and retry intervals take no real time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from emulators.functions_host import DEFAULT_SYSTEM_KEY, FunctionsHost

APP = "tests.conformance.host.samples_app.function_app"
SYSTEM = {"code": DEFAULT_SYSTEM_KEY}
WEBHOOKS = "/runtime/webhooks/durabletask"
JSON = {"content-type": "application/json"}


@pytest.fixture
def samples(functions_host_factory, tmp_path) -> Callable[[], FunctionsHost]:
    folders = {name: tmp_path / name.lower() for name in ("BACKUP_DIR", "SMS_OUTBOX", "JOBS_DIR", "ATTEMPTS_DIR")}
    for folder in folders.values():
        folder.mkdir()

    def make() -> FunctionsHost:
        return functions_host_factory(APP, env={name: str(path) for name, path in folders.items()})

    return make


def raise_event(host: FunctionsHost, instance_id: str, name: str, value: object) -> None:
    url = f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}"
    response = host.request("POST", url, params=SYSTEM, content=json.dumps(value), headers=JSON)
    assert response.status_code == 202, response.text


def history(host: FunctionsHost, instance_id: str) -> list[dict]:
    params = {**SYSTEM, "showHistory": "true", "showHistoryOutput": "true"}
    return host.request("GET", f"{WEBHOOKS}/instances/{instance_id}", params=params).json()["historyEvents"]


def test_function_chaining_greets_the_three_cities_in_order(samples):
    """durable-functions-sequence: ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]."""
    host = samples()
    instance_id = host.start_orchestration("hello_sequence")
    host.run_until_idle()
    expected = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert host.status(instance_id)["output"] == expected
    completed = [row for row in history(host, instance_id) if row["EventType"] == "TaskCompleted"]
    assert [(row["FunctionName"], row["Result"]) for row in completed] == [("say_hello", text) for text in expected]


def test_fan_out_fan_in_backs_up_every_file_and_returns_the_total_bytes(samples, tmp_path):
    """durable-functions-cloud-backup: one copy per file in parallel; the output is the total bytes copied."""
    host = samples()
    site = tmp_path / "site"
    sizes = {"index.html": 120, "style.css": 64, "logo.png": 2048, "deep/page.html": 300}
    for name, size in sizes.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(b"x" * size)
    instance_id = host.start_orchestration("backup_site_content", str(site))
    host.run_until_idle()
    assert host.status(instance_id)["output"] == sum(sizes.values())
    assert sorted(path.name for path in (tmp_path / "backup_dir").iterdir()) == sorted(Path(n).name for n in sizes)
    copies = [row for row in history(host, instance_id) if row.get("FunctionName") == "copy_file"]
    assert len(copies) == len(sizes)


@pytest.mark.parametrize(
    ("answers", "verified"),
    [
        (["right"], True),
        ([1111, "right"], True),
        ([1111, 2222, 3333, "right"], True),  # the code plus "an additional three tries"
        ([1111, 2222, 3333, 4444, "right"], False),
        ([], False),  # nobody answers within 90 seconds
    ],
)
def test_human_interaction_verifies_the_code_within_90_seconds(samples, tmp_path, answers, verified):
    """durable-functions-phone-verification: true for the right 4-digit code in time, false after the timeout or
    four wrong codes."""
    host = samples()
    started = host.clock.now()
    host.set_timers_enabled(False)  # the person answers inside the window; the clock moves only afterwards
    instance_id = host.start_orchestration("verify_phone", "+14255550123")
    host.run_until_idle()
    code = int((tmp_path / "sms_outbox" / "+14255550123.txt").read_text())
    assert 1000 <= code <= 9999
    for answer in answers:
        if host.status(instance_id)["runtimeStatus"] != "Running":
            break
        raise_event(host, instance_id, "SmsChallengeResponse", code if answer == "right" else answer)
        host.run_until_idle()
    host.set_timers_enabled(True)
    host.run_until_idle()
    status = host.status(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", verified)
    if not answers:
        assert (host.clock.now() - started).total_seconds() >= 90


def test_monitor_polls_until_the_condition_holds_or_the_monitor_expires(samples, tmp_path):
    """durable-functions-monitor: a timer-driven loop that stops when the condition is met, or at expiry."""
    host = samples()
    (tmp_path / "jobs_dir" / "ready").write_text("done")
    quick = host.start_orchestration("monitor_job", {"job": "ready", "interval": 60, "expires": 600})
    never = host.start_orchestration("monitor_job", {"job": "stuck", "interval": 60, "expires": 600})
    host.run_until_idle()
    assert host.status(quick)["output"] == {"outcome": "done", "checks": 1}
    expired = host.status(never)
    assert expired["output"] == {"outcome": "expired", "checks": 10}
    assert expired["customStatus"] == {"checks": 10, "last": "pending"}
    timers = [row for row in history(host, never) if row["EventType"] == "TimerFired"]
    assert len(timers) == 10


def test_counter_entity_through_the_http_api_and_an_orchestration(samples):
    """durable-functions-entities / durable-functions-http-api#signal-entity: signal `add` with 5, read the state."""
    host = samples()
    signal = f"{WEBHOOKS}/entities/Counter/steps"
    for amount in (5, 3):
        response = host.request("POST", signal, params={**SYSTEM, "op": "add"}, content=str(amount), headers=JSON)
        assert response.status_code == 202
    host.run_until_idle()
    state = host.request("GET", signal, params=SYSTEM)
    assert (state.status_code, state.json()) == (200, 8)
    instance_id = host.start_orchestration("counter_user", "steps")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == 23
    host.request("POST", signal, params={**SYSTEM, "op": "reset"})
    host.run_until_idle()
    assert host.request("GET", signal, params=SYSTEM).json() == 0


def test_sub_orchestrations_run_one_per_device_and_report_to_the_parent(samples):
    """durable-functions-sub-orchestrations: the parent fans out sub-orchestrations and gets each one's output."""
    host = samples()
    parent = host.start_orchestration("provision_devices", ["d1", "d2", "d3"], instance_id="fleet")
    host.run_until_idle()
    assert host.status(parent)["output"] == [
        {"device": device, "key": f"key-{device}", "parent": "fleet"} for device in ("d1", "d2", "d3")
    ]
    for device in ("d1", "d2", "d3"):
        assert host.status(f"device-{device}")["runtimeStatus"] == "Completed"
    created = [row for row in history(host, parent) if row["EventType"] == "SubOrchestrationInstanceCompleted"]
    assert [row["FunctionName"] for row in created] == ["provision_device"] * 3


def test_custom_status_is_visible_while_running_and_after_completion(samples):
    """durable-functions-custom-orchestration-status: customStatus in the status query, updated by the
    orchestrator."""
    host = samples()
    instance_id = host.start_orchestration("booking_progress")
    host.run_until_idle()
    running = host.request("GET", f"{WEBHOOKS}/instances/{instance_id}", params=SYSTEM)
    assert running.status_code == 202
    assert running.json()["customStatus"] == {"stage": "waiting for approval", "options": ["London", "Seattle"]}
    raise_event(host, instance_id, "Approved", "Seattle")
    host.run_until_idle()
    done = host.request("GET", f"{WEBHOOKS}/instances/{instance_id}", params=SYSTEM).json()
    assert done["customStatus"] == {"stage": "booked", "destination": "Seattle"}
    assert done["output"] == "booked Seattle"


def test_continue_as_new_restarts_the_history_and_keeps_the_instance_id(samples):
    """durable-functions-eternal-orchestrations: each round restarts with fresh history and the new input."""
    host = samples()
    started = host.clock.now()
    instance_id = host.start_orchestration("periodic_cleanup", {"round": 1, "rounds": 3}, instance_id="janitor")
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["instanceId"] == "janitor" and status["input"] == {"round": 3, "rounds": 3}
    assert status["output"]["rounds"] == 3
    rows = history(host, instance_id)
    assert [row["EventType"] for row in rows].count("ExecutionStarted") == 1
    assert [row["Result"] for row in rows if row["EventType"] == "TaskCompleted"] == [3]
    assert (host.clock.now() - started).total_seconds() >= 2 * 3600


@pytest.mark.parametrize(
    ("failures", "attempts", "output"),
    [
        (2, 3, "succeeded on attempt 3"),
        (5, 3, {"gave_up": "Activity function 'unreliable_call' failed: ConnectionError: attempt 3 failed"}),
    ],
)
def test_automatic_retry_on_failure(samples, failures, attempts, output):
    """durable-functions-error-handling#automatic-retry-on-failure: call_activity_with_retry tries up to
    max_number_of_attempts, first_retry_interval apart, then raises the last failure to the orchestrator."""
    host = samples()
    started = host.clock.now()
    request = {"key": f"retry-{failures}", "failures": failures, "attempts": attempts}
    instance_id = host.start_orchestration("retry_transient", request)
    host.run_until_idle()
    assert host.status(instance_id)["output"] == output
    failed = [row for row in history(host, instance_id) if row["EventType"] == "TaskFailed"]
    assert len(failed) == min(failures, attempts)
    assert (host.clock.now() - started).total_seconds() >= 5 * min(failures, attempts)


def test_custom_classes_cross_the_boundary_with_to_json_and_from_json(samples):
    """durable-functions-serialization-and-persistence (Python): a class with to_json / from_json is passed to an
    activity and returned from it as an instance of that class."""
    host = samples()
    instance_id = host.start_orchestration("ship_parcel", "books")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"type": "Parcel", "label": "BOOKS", "grams": 300}
    [completed] = [row for row in history(host, instance_id) if row["EventType"] == "TaskCompleted"]
    envelope = completed["Result"]
    assert envelope["__class__"] == "Parcel"
    assert json.loads(envelope["__data__"]) == {"label": "BOOKS", "grams": 300}
