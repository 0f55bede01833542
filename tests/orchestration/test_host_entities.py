"""Functions host emulator: entities (call, signal, errors, one operation at a time, persisted state)."""

from __future__ import annotations


def test_call_signal_and_error_paths(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("entity_flow", "k1")
    host.run_until_idle()
    output = host.status(instance_id)["output"]
    assert output == {"after_add": 7, "value": 7, "error": "counter cannot explode"}
    history = host.history(instance_id)
    sent = [(e["EventId"], e["Name"], e["InstanceId"]) for e in history if e["EventType"] == 14]
    assert sent == [
        (0, "add", "@counter@k1"),
        (1, "add", "@counter@k1"),
        (2, "get", "@counter@k1"),
        (3, "explode", "@counter@k1"),
    ]
    assert host.entity_state("Counter", "k1") == 7


def test_operations_on_one_entity_never_interleave(functions_host_factory):
    host = functions_host_factory()
    ids = [host.start_orchestration("entity_flow", "shared") for _ in range(10)]
    host.run_until_idle()
    results = [host.status(i)["output"]["after_add"] for i in ids]
    assert host.entity_state("Counter", "shared") == 70
    assert max(results) == 70
    assert len(set(results)) == len(results), "every add saw a distinct previous value"


def test_entity_state_survives_a_restart(functions_host_factory, tmp_path):
    state = tmp_path / "entities"
    first = functions_host_factory(state_dir=state)
    first.start_orchestration("entity_flow", "durable")
    first.run_until_idle()
    first.close()
    second = functions_host_factory(state_dir=state)
    assert second.entity_state("Counter", "durable") == 7
