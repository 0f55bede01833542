"""Functions host emulator: suspend, resume, terminate, restart and rewind, over the webhooks and the real client."""

from __future__ import annotations

from emulators.functions_host import DEFAULT_SYSTEM_KEY
from emulators.functions_host.history import EventType

KEY = {"x-functions-key": "test-function-key"}
SYSTEM = {"code": DEFAULT_SYSTEM_KEY}
WEBHOOKS = "/runtime/webhooks/durabletask"


def operate(host, instance_id: str, operation: str, **params: str):
    return host.request("POST", f"{WEBHOOKS}/instances/{instance_id}/{operation}", params={**SYSTEM, **params})


def client(host, op: str, **args):
    response = host.request("POST", f"/api/client/{op}", json=args, headers=KEY)
    assert response.status_code in (200, 409), response.text
    return response.json()


def test_a_suspended_instance_holds_its_events_and_resume_continues(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="paused")
    host.run_until_idle()
    assert operate(host, instance_id, "suspend", reason="maintenance").status_code == 202
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Suspended"
    # Events sent while suspended are accepted and wait: the instance does not move.
    assert host.raise_event(instance_id, "Approval", "yes") == "accepted"
    assert host.raise_event(instance_id, "Confirm", "sure") == "accepted"
    host.run_until_idle()
    suspended = host.request("GET", f"{WEBHOOKS}/instances/{instance_id}", params=SYSTEM)
    assert (suspended.status_code, suspended.json()["runtimeStatus"]) == (202, "Suspended")
    assert operate(host, instance_id, "resume", reason="done").status_code == 202
    host.run_until_idle()
    status = host.status(instance_id, history=True)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", {"approval": "yes", "confirm": "sure"})
    rows = [row["EventType"] for row in status["historyEvents"]]
    suspended_at, resumed_at = rows.index("ExecutionSuspended"), rows.index("ExecutionResumed")
    assert suspended_at < resumed_at < rows.index("EventRaised")
    assert status["historyEvents"][suspended_at]["Reason"] == "maintenance"


def test_suspension_holds_activity_results_and_timers_too(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("sequence_flow", {"steps": 3}, instance_id="paused-steps")
    host.engine.drive_once()  # the first episode schedules step 0
    assert operate(host, instance_id, "suspend").status_code == 202
    host.run_until_idle()
    history = host.history(instance_id)
    assert host.status(instance_id)["runtimeStatus"] == "Suspended"
    assert [e["EventId"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED] == [0]
    assert not [e for e in history if e["EventType"] == EventType.TASK_COMPLETED], "the result waits for the resume"
    operate(host, instance_id, "resume")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == [0, 10, 20]

    held = host.start_orchestration("race_timer_flow", instance_id="paused-timer-2")
    host.engine.drive_once()
    operate(host, held, "suspend")
    host.run_until_idle()
    assert host.status(held)["runtimeStatus"] == "Suspended", "a fired timer does not wake a suspended instance"
    operate(host, held, "resume")
    host.run_until_idle()
    assert host.status(held)["output"] == "timed out"


def test_suspend_resume_conflicts_answer_as_the_extension_does(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="conflicts")
    host.run_until_idle()
    refused = operate(host, instance_id, "resume")
    assert refused.status_code == 500
    assert refused.json()["ExceptionMessage"] == (
        "Cannot resume the orchestration instance conflicts because instance is in the Running state."
    )
    operate(host, instance_id, "suspend")
    host.run_until_idle()
    again = operate(host, instance_id, "suspend")
    assert again.status_code == 500
    assert "because instance is in the Suspended state" in again.json()["ExceptionMessage"]
    assert operate(host, "missing", "suspend").status_code == 404
    not_failed = operate(host, instance_id, "rewind")
    assert not_failed.status_code == 500
    assert not_failed.json()["ExceptionMessage"] == (
        "The rewind operation is only supported on failed orchestration instances."
    )
    assert operate(host, "nobody", "rewind").status_code == 404
    assert client(host, "rewind", id="nobody") == {"error": "No instance with ID nobody found."}
    # A suspended instance can still be terminated.
    assert operate(host, instance_id, "terminate", reason="abandoned").status_code == 202
    host.run_until_idle()
    status = host.status(instance_id, history=True)
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "abandoned")
    assert operate(host, instance_id, "suspend").status_code == 410
    assert operate(host, instance_id, "resume").status_code == 410
    assert operate(host, instance_id, "rewind").status_code == 410
    assert operate(host, instance_id, "explode").status_code == 404
    ended = status["historyEvents"][-1]
    assert ended == {
        "EventType": "ExecutionCompleted",
        "Timestamp": ended["Timestamp"],
        "OrchestrationStatus": "Terminated",
        "Result": "abandoned",
    }


def test_terminate_without_a_reason_and_with_a_json_reason(functions_host_factory):
    host = functions_host_factory()
    first = host.start_orchestration("wait_for_approval", instance_id="t-none")
    second = host.start_orchestration("wait_for_approval", instance_id="t-json")
    host.run_until_idle()
    operate(host, first, "terminate")
    operate(host, second, "terminate", reason='{"ticket": 7}')
    host.run_until_idle()
    # DTFx keeps the reason as given; the status parses it as JSON when it is JSON.
    assert host.status(first)["output"] is None
    assert host.status(second)["output"] == {"ticket": 7}


def test_suspend_and_resume_through_the_sdk_client(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="sdk-paused")
    host.run_until_idle()
    assert client(host, "suspend", id=instance_id, reason="hold on") == {"suspended": True}
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Suspended"
    assert client(host, "resume", id=instance_id) == {"resumed": True}
    assert client(host, "suspend", id="nobody") == {"error": "No instance with ID 'nobody' found."}
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Running"


def test_restart_with_a_new_id_and_with_the_same_id(functions_host_factory):
    host = functions_host_factory()
    original = host.start_orchestration("sequence_flow", {"steps": 2}, instance_id="restart-me")
    host.run_until_idle()
    again = operate(host, original, "restart")
    assert again.status_code == 202
    copy_id = again.json()["id"]
    assert copy_id != original and again.headers["location"] == again.json()["statusQueryGetUri"]
    same = operate(host, original, "restart", restartWithNewInstanceId="false")
    assert (same.status_code, same.json()["id"]) == (202, original)
    host.run_until_idle()
    for instance_id in (original, copy_id):
        status = host.status(instance_id)
        assert (status["runtimeStatus"], status["input"], status["output"]) == ("Completed", {"steps": 2}, [0, 10])

    missing = operate(host, "nobody", "restart")
    assert missing.status_code == 400
    assert missing.json()["Message"] == "InstanceId does not match a valid orchestration instance."
    waiting = host.start_orchestration("wait_for_approval", instance_id="still-running")
    host.run_until_idle()
    clash = operate(host, waiting, "restart", restartWithNewInstanceId="false")
    assert clash.status_code == 500
    assert clash.json()["ExceptionMessage"] == "An Orchestration instance with the status Running already exists."


def test_restart_through_the_sdk_client_returns_what_the_extension_answers(functions_host_factory):
    host = functions_host_factory()
    original = host.start_orchestration("sequence_flow", {"steps": 1}, instance_id="sdk-restart")
    host.run_until_idle()
    # The SDK (1.7.0) returns the response body, which is the extension's check-status payload.
    restarted = client(host, "restart", id=original, new_id=False)["restarted"]
    assert restarted["id"] == original
    assert f"/runtime/webhooks/durabletask/instances/{original}?" in restarted["statusQueryGetUri"]
    assert client(host, "restart", id="nobody")["error"].startswith("The operation failed with an unexpected status")
    host.run_until_idle()
    assert host.status(original)["output"] == [0]


def test_rewind_reruns_the_failed_activity_and_completes(functions_host_factory):
    host = functions_host_factory()
    args = {"key": "rewind-one", "fail_times": 1}
    instance_id = host.start_orchestration("rewind_flow", args, instance_id="rewind-me")
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Failed"
    assert operate(host, "rewind-me", "rewind", reason="fixed the outage").status_code == 202
    assert host.status(instance_id)["runtimeStatus"] == "Pending"
    host.run_until_idle()
    status = host.status(instance_id, history=True)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", ["kept", "ok after 2"])
    rows = status["historyEvents"]
    assert [row["FunctionName"] for row in rows if row["EventType"] == "TaskCompleted"] == ["echo", "flaky"]
    assert [row["EventType"] for row in rows].count("GenericEvent") == 4  # TaskScheduled, TaskFailed, end, wake-up
    assert operate(host, instance_id, "rewind").status_code == 410


def test_rewind_of_a_parent_rewinds_the_failed_child(functions_host_factory):
    host = functions_host_factory()
    parent = host.start_orchestration("rewind_parent_flow", {"key": "rewind-child", "fail_times": 1}, "rw-parent")
    host.run_until_idle()
    assert host.status(parent)["runtimeStatus"] == "Failed"
    assert host.status("rw-parent-child")["runtimeStatus"] == "Failed"
    assert client(host, "rewind", id=parent) == {"rewound": True}
    host.run_until_idle()
    assert host.status("rw-parent-child")["output"] == ["kept", "ok after 2"]
    assert host.status(parent)["output"] == {"child": ["kept", "ok after 2"]}
