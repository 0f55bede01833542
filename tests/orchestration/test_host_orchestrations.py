"""Functions host emulator: the episode loop, sequence ids, timers, events, sub-orchestrations and limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from emulators.functions_host import InstanceExistsError, ScaledClock
from emulators.functions_host.history import EventType, parse_time

KEY = {"x-functions-key": "test-function-key"}


def scheduled(history, kind):
    return [event for event in history if event["EventType"] == kind]


def test_sequence_history_is_host_shaped(functions_host_factory):
    host = functions_host_factory()
    response = host.request("POST", "/api/start/sequence_flow", json={"steps": 3}, headers=KEY)
    assert response.status_code == 202
    instance_id = response.json()["id"]
    assert host.status(instance_id)["runtimeStatus"] == "Pending"
    host.run_until_idle()
    status = host.wait_for(instance_id, {"Completed"})
    assert status["output"] == [0, 10, 20]
    assert status["input"] == {"steps": 3}
    history = host.history(instance_id)
    kinds = [event["EventType"] for event in history]
    assert kinds[:4] == [
        EventType.ORCHESTRATOR_STARTED,
        EventType.EXECUTION_STARTED,
        EventType.TASK_SCHEDULED,
        EventType.ORCHESTRATOR_COMPLETED,
    ]
    assert kinds.count(EventType.ORCHESTRATOR_STARTED) == 4
    assert [e["EventId"] for e in scheduled(history, EventType.TASK_SCHEDULED)] == [0, 1, 2]
    assert [e["TaskScheduledId"] for e in scheduled(history, EventType.TASK_COMPLETED)] == [0, 1, 2]
    assert history[1]["Version"] == ""
    # DTFx ends the last episode with ExecutionCompleted, then OrchestratorCompleted.
    assert kinds[-2:] == [EventType.EXECUTION_COMPLETED, EventType.ORCHESTRATOR_COMPLETED]
    assert history[-2]["OrchestrationStatus"] == "Completed"


def test_when_all_and_when_any_with_cancelled_timer(functions_host_factory):
    host = functions_host_factory()
    start = host.clock.now()
    instance_id = host.start_orchestration("fan_flow")
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["output"] == {"doubled": [0, 2, 4, 6], "winner": "activity", "value": "fast"}
    assert host.clock.now() - start < timedelta(hours=1), "a cancelled timer must not hold the instance"
    ids = [
        e["EventId"]
        for e in host.history(instance_id)
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED)
    ]
    assert ids == [0, 1, 2, 3, 4, 5]


def test_when_all_waits_for_every_child_before_the_next_step(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("fan_fail_flow")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"caught": True, "cleanup": "cleanup"}
    history = host.history(instance_id)
    slow_done = next(
        i for i, e in enumerate(history) if e["EventType"] == EventType.TASK_COMPLETED and e["TaskScheduledId"] == 0
    )
    cleanup = next(i for i, e in enumerate(history) if e["EventType"] == EventType.TASK_SCHEDULED and e["EventId"] == 2)
    assert slow_done < cleanup
    failure = next(e for e in history if e["EventType"] == EventType.TASK_FAILED)
    assert failure["Reason"].startswith("Activity function 'explode' failed: RuntimeError: explode: boom")


def test_when_any_timer_wins_on_the_virtual_clock(functions_host_factory):
    host = functions_host_factory()
    start = host.clock.now()
    instance_id = host.start_orchestration("race_timer_flow")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == "timed out"
    assert host.clock.now() - start >= timedelta(minutes=30)


def test_retry_spends_hidden_timer_ids(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("retry_flow", {"attempts": 3, "fail_times": 2, "key": "retry-ok"})
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"result": "ok after 3", "after": "after"}
    history = host.history(instance_id)
    work = [
        (e["EventType"], e["EventId"])
        for e in history
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED)
    ]
    assert work == [(4, 0), (10, 1), (4, 2), (10, 3), (4, 4), (4, 5)]
    first_failure = next(e for e in history if e["EventType"] == EventType.TASK_FAILED)
    timer = next(e for e in history if e["EventType"] == EventType.TIMER_CREATED)
    assert parse_time(timer["FireAt"]) - parse_time(first_failure["Timestamp"]) <= timedelta(seconds=5)
    assert parse_time(timer["FireAt"]) - parse_time(history[0]["Timestamp"]) >= timedelta(seconds=5)


def test_retry_waits_one_more_interval_after_the_last_attempt(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("retry_flow", {"attempts": 2, "fail_times": 9, "key": "retry-no"})
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"result": "gave up: True", "after": "after"}
    work = [
        (e["EventType"], e["EventId"])
        for e in host.history(instance_id)
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED)
    ]
    assert work == [(4, 0), (10, 1), (4, 2), (10, 3), (4, 4)]


def test_seven_day_timer_is_split_like_azure_storage(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("long_timer_flow")
    host.run_until_idle()
    output = host.status(instance_id)["output"]
    started, woke = parse_time(output["started"]), parse_time(output["woke"])
    assert woke - started >= timedelta(days=7)
    timers = [
        parse_time(e["FireAt"]) - started
        for e in host.history(instance_id)
        if e["EventType"] == EventType.TIMER_CREATED
    ]
    assert timers == [timedelta(days=3), timedelta(days=7)]


def test_time_scale_runs_the_orchestrator_clock_faster(functions_host_factory):
    host = functions_host_factory(clock=ScaledClock(time_scale=3600))
    instance_id = host.start_orchestration("race_timer_flow")
    assert host.wait_for(instance_id, timeout=20)["output"] == "timed out"


def test_sub_orchestrations_with_and_without_instance_ids(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("parent_flow", instance_id="parent")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"named": 10, "unnamed": 14, "child_failure_seen": True}
    assert host.status("parent-named")["runtimeStatus"] == "Completed"
    created = scheduled(host.history(instance_id), EventType.SUB_ORCHESTRATION_CREATED)
    assert [e["InstanceId"] for e in created] == ["parent-named", "parent:0001", "parent:0002"]
    assert host.status("parent:0002")["runtimeStatus"] == "Failed"
    child_start = host.history("parent-named")[1]
    assert child_start["ParentInstance"]["OrchestrationInstance"]["InstanceId"] == "parent"


def test_external_events_before_and_after_the_wait(functions_host_factory):
    host = functions_host_factory()
    early = host.start_orchestration("wait_for_approval", instance_id="early")
    assert host.raise_event(early, "Confirm", "c") == "accepted"
    assert host.raise_event(early, "Approval", {"by": "boss"}) == "accepted"
    host.run_until_idle()
    assert host.status(early)["output"] == {"approval": {"by": "boss"}, "confirm": "c"}

    late = host.start_orchestration("wait_for_approval", instance_id="late")
    host.run_until_idle()
    assert host.status(late)["runtimeStatus"] == "Running"
    host.raise_event(late, "Approval", 1)
    host.run_until_idle()
    assert host.status(late)["runtimeStatus"] == "Running"
    host.raise_event(late, "Confirm", 2)
    host.run_until_idle()
    assert host.status(late)["output"] == {"approval": 1, "confirm": 2}
    assert host.raise_event(late, "Confirm", 3) == "gone"
    assert host.raise_event("missing", "Confirm", 3) == "not_found"


def test_continue_as_new_restarts_history_and_keeps_custom_status(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("counter_flow", {"count": 0, "limit": 3})
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["output"] == {"final": 3, "history_events": 2}
    assert status["input"] == {"count": 3, "limit": 3}
    assert host.custom_status(instance_id) == {"count": 3}


def test_custom_status_limit_is_16_kb_of_utf16(functions_host_factory):
    host = functions_host_factory()
    small = host.start_orchestration("status_flow", 8000)
    big = host.start_orchestration("status_flow", 8300)
    host.run_until_idle()
    assert host.custom_status(small)["stage"] == "waiting"
    assert host.status(small)["runtimeStatus"] == "Running"
    failed = host.status(big)
    assert failed["runtimeStatus"] == "Failed"
    assert "16 KB limit" in failed["output"]


def test_unhandled_orchestrator_exception_fails_the_instance(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("failing_flow")
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'failing_flow' failed: the orchestrator gave up"
    ended = host.history(instance_id)[-2]
    assert (ended["EventType"], ended["OrchestrationStatus"]) == (EventType.EXECUTION_COMPLETED, "Failed")


def test_terminate_purge_and_instance_id_rules(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="rules")
    host.run_until_idle()
    with pytest.raises(InstanceExistsError):
        host.start_orchestration("wait_for_approval", instance_id="rules")
    assert host.management.terminate(instance_id, "no longer needed") == "accepted"
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Terminated"
    assert host.management.terminate(instance_id, "again") == "gone"
    host.start_orchestration("sequence_flow", {"steps": 1}, instance_id="rules")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == [0]
    assert host.management.purge(instance_id) == 1
    assert host.status(instance_id) is None
    assert host.history(instance_id) == []
    assert host.management.purge(instance_id) is None


def test_singleton_starter_refuses_a_running_id(functions_host_factory):
    host = functions_host_factory()
    first = host.request("POST", "/api/singleton/tenant-a", headers=KEY)
    assert first.status_code == 202
    host.run_until_idle()
    second = host.request("POST", "/api/singleton/tenant-a", headers=KEY)
    assert (second.status_code, second.json()) == (409, {"started": False, "status": "Running"})
    host.management.terminate("tenant-a", "reset")
    host.run_until_idle()
    assert host.request("POST", "/api/singleton/tenant-a", headers=KEY).status_code == 202


def test_strict_mode_catches_non_deterministic_inputs(functions_host_factory, tmp_path):
    lenient = functions_host_factory(state_dir=tmp_path / "lenient")
    ok = lenient.start_orchestration("strict_flow")
    lenient.run_until_idle()
    assert lenient.status(ok)["runtimeStatus"] == "Completed"

    strict = functions_host_factory(state_dir=tmp_path / "strict", strict=True)
    bad = strict.start_orchestration("strict_flow")
    strict.run_until_idle()
    status = strict.status(bad)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-Deterministic workflow detected: (strict) activity 'echo' with sequence ID 0" in status["output"]


def test_activity_overrides_script_results(functions_host_factory):
    host = functions_host_factory(activity_overrides={"double": lambda value: value + 100})
    instance_id = host.start_orchestration("fan_flow")
    host.run_until_idle()
    assert host.status(instance_id)["output"]["doubled"] == [100, 101, 102, 103]


def test_parked_timers_and_in_process_restart_resume(functions_host_factory, tmp_path):
    state = tmp_path / "resume"
    first = functions_host_factory(state_dir=state)
    first.set_timers_enabled(False)
    instance_id = first.start_orchestration("race_timer_flow")
    first.run_until_idle()
    assert first.status(instance_id)["runtimeStatus"] == "Running"
    first.close()
    second = functions_host_factory(state_dir=state)
    second.run_until_idle()
    assert second.status(instance_id)["output"] == "timed out"


def test_autorun_drives_everything_in_the_background(functions_host_factory):
    host = functions_host_factory(clock=ScaledClock(time_scale=600), autorun=True)
    response = host.request("POST", "/api/start/fan_flow", headers=KEY)
    assert response.status_code == 202
    status_url = response.json()["statusQueryGetUri"].replace(host.base_url, "")
    assert host.wait_for(response.json()["id"], {"Completed"}, timeout=30)["output"]["winner"] == "activity"
    assert host.request("GET", status_url).status_code == 200
