"""Functions host emulator: many concurrent orchestrations complete (figures live in benchmarks/)."""

from __future__ import annotations

INSTANCES = 200
STEPS = 10


def test_200_orchestrations_of_10_steps_complete(functions_host_factory):
    host = functions_host_factory()
    ids = [host.start_orchestration("sequence_flow", {"steps": STEPS}) for _ in range(INSTANCES)]
    host.run_until_idle(timeout=240)
    expected = [step * 10 for step in range(STEPS)]
    statuses = [host.status(instance_id) for instance_id in ids]
    assert [s["runtimeStatus"] for s in statuses] == ["Completed"] * INSTANCES
    assert all(s["output"] == expected for s in statuses)
    stats = host.stats()
    assert stats["episodes"] == INSTANCES * (STEPS + 1)
