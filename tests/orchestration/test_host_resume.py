"""Functions host emulator: crash and resume of a real subprocess, and code changes under running instances."""

from __future__ import annotations

from collections import Counter

import httpx

from emulators.functions_host import NON_DETERMINISM_PREFIX
from tests.fixtures.functions_host import wait_until

INSTANCES = 6
STEPS = 8
MAX_CONCURRENT_ACTIVITIES = 4  # tests/host_app/host.json


def _statuses(base_url: str, key: str) -> dict[str, dict]:
    response = httpx.get(
        f"{base_url}/runtime/webhooks/durabletask/instances",
        params={"code": "local-durabletask-key", "instanceIdPrefix": "crash-"},
        timeout=10,
    )
    assert response.status_code == 200
    return {item["instanceId"]: item for item in response.json()}


def test_kill_9_mid_run_then_restart_completes_everything_without_rerunning_completed_work(
    functions_host_process, tmp_path
):
    state = tmp_path / "crash-state"
    side_effects = tmp_path / "side-effects.txt"
    env = {"SIDE_EFFECT_FILE": str(side_effects), "TASKHUB_NAME": "CrashHub"}
    first = functions_host_process(state_dir=state, env=env, time_scale=60)
    for index in range(INSTANCES):
        response = httpx.post(
            f"{first.base_url}/api/start/sequence_flow/crash-{index}",
            headers={"x-functions-key": first.function_key},
            json={"steps": STEPS, "tag": f"crash-{index}", "sleep": 0.05},
            timeout=10,
        )
        assert response.status_code == 202, response.text

    def enough_work_done() -> bool:
        return side_effects.exists() and len(side_effects.read_text().splitlines()) >= 12

    wait_until(enough_work_done, 30, "some activities to finish before the kill")
    first.kill()
    before_restart = Counter(side_effects.read_text().splitlines())
    assert sum(before_restart.values()) < INSTANCES * STEPS, "the kill must land mid-run"

    second = functions_host_process(state_dir=state, env=env, time_scale=60)
    done = wait_until(
        lambda: (
            (s := _statuses(second.base_url, second.function_key))
            and all(item["runtimeStatus"] == "Completed" for item in s.values())
            and s
        ),
        60,
        "every instance to complete after the restart",
    )
    assert len(done) == INSTANCES
    for index in range(INSTANCES):
        assert done[f"crash-{index}"]["output"] == [step * 10 for step in range(STEPS)]
    runs = Counter(side_effects.read_text().splitlines())
    assert set(runs) == {f"crash-{i}:{s}" for i in range(INSTANCES) for s in range(STEPS)}
    reruns = sum(count - 1 for count in runs.values())
    # At-least-once: only activities in flight at the kill may run twice; the pool bounds how many.
    assert reruns <= MAX_CONCURRENT_ACTIVITIES
    assert all(count <= 2 for count in runs.values())
    assert second.stop() == 0
    assert "Functions host for 'function_app' listening on" in second.log_file.read_text()


def test_changed_orchestrator_fails_with_non_determinism_error(functions_host_factory, tmp_path):
    state = tmp_path / "swap"
    old = functions_host_factory("tests.host_app.swap_v1", state_dir=state)
    old.set_timers_enabled(False)
    instance_id = old.start_orchestration("parked_flow", instance_id="parked")
    old.run_until_idle()
    assert old.status(instance_id)["runtimeStatus"] == "Running"
    old.close()

    new = functions_host_factory("tests.host_app.swap_v2", state_dir=state)
    new.run_until_idle()
    status = new.status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert NON_DETERMINISM_PREFIX in status["output"]
    assert "sequence ID 1 was timer" in status["output"]
    assert "activity 'audit'" in status["output"]
    assert "Non-Deterministic workflow detected" in new.log_path.read_text()


def test_unchanged_orchestrator_resumes_after_the_park(functions_host_factory, tmp_path):
    state = tmp_path / "noswap"
    old = functions_host_factory("tests.host_app.swap_v1", state_dir=state)
    old.set_timers_enabled(False)
    instance_id = old.start_orchestration("parked_flow")
    old.run_until_idle()
    old.close()
    same = functions_host_factory("tests.host_app.swap_v1", state_dir=state)
    same.run_until_idle()
    assert same.status(instance_id)["output"] == ["ONE", "TWO"]
