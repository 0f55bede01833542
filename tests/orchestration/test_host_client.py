"""Functions host emulator: the real DurableOrchestrationClient, called from a starter, over the RPC endpoints."""

from __future__ import annotations

KEY = {"x-functions-key": "test-function-key"}


def call(host, op, **args):
    response = host.request("POST", f"/api/client/{op}", json=args, headers=KEY)
    assert response.status_code in (200, 409), response.text
    return response.json()


def test_start_with_and_without_instance_id_and_refuse_a_running_id(functions_host_factory):
    host = functions_host_factory()
    generated = call(host, "start_raw", name="sequence_flow", input={"steps": 1})["id"]
    assert len(generated) == 32
    assert call(host, "start_raw", name="wait_for_approval", instance_id="client-1")["id"] == "client-1"
    refused = call(host, "start_raw", name="wait_for_approval", instance_id="client-1")
    assert "already exists" in refused["error"]
    unknown = call(host, "start_raw", name="no_such_flow")
    assert "doesn't exist" in unknown["error"]
    host.run_until_idle()
    assert host.status(generated)["output"] == [0]


def test_status_with_and_without_history_and_queries(functions_host_factory):
    host = functions_host_factory()
    host.start_orchestration("sequence_flow", {"steps": 2}, instance_id="q-done")
    host.start_orchestration("wait_for_approval", instance_id="q-wait")
    host.start_orchestration("sequence_flow", {"steps": 1}, instance_id="other")
    host.run_until_idle()
    plain = call(host, "status", id="q-done")
    assert plain == {
        "exists": True,
        "runtimeStatus": "Completed",
        "output": [0, 10],
        "input": {"steps": 2},
        "customStatus": None,
        "history": None,
    }
    detailed = call(host, "status", id="q-done", history=True)
    assert detailed["history"][0]["EventType"] == "ExecutionStarted"
    assert call(host, "status", id="never-started") == {"exists": False}
    assert call(host, "query", prefix="q-") == ["q-done", "q-wait"]
    assert call(host, "query", runtime_status=["Running"]) == ["q-wait"]
    assert call(host, "query_all") == ["other", "q-done", "q-wait"]
    assert call(host, "query", **{"from": "2026-01-01T00:00:00+00:00"}) == ["other", "q-done", "q-wait"]
    assert call(host, "query", **{"from": "2026-01-02T00:00:00+00:00"}) == []


def test_raise_event_terminate_and_purge_through_the_client(functions_host_factory):
    host = functions_host_factory()
    host.start_orchestration("wait_for_approval", instance_id="c-events")
    host.start_orchestration("wait_for_approval", instance_id="c-stop")
    host.run_until_idle()
    call(host, "raise", id="c-events", event="Approval", data={"by": "boss"})
    call(host, "raise", id="c-events", event="Confirm", data="yes")
    host.run_until_idle()
    # The SDK json.dumps the data and posts it as JSON again (azure-functions-durable-python#295):
    # the orchestrator receives the JSON text, exactly as the extension would hand it over.
    assert host.status("c-events")["output"] == {"approval": '{"by": "boss"}', "confirm": '"yes"'}
    call(host, "terminate", id="c-stop", reason="client says stop")
    host.run_until_idle()
    assert host.status("c-stop")["runtimeStatus"] == "Terminated"
    assert call(host, "purge", id="c-stop") == {"deleted": 1}
    assert call(host, "purge", id="c-stop") == {"deleted": 0}
    assert call(host, "purge_by", **{"from": "2000-01-01T00:00:00+00:00", "runtime_status": ["Completed"]}) == {
        "deleted": 1
    }
    assert host.status("c-events") is None


def test_entity_read_and_signal_through_the_client(functions_host_factory):
    host = functions_host_factory()
    assert call(host, "entity_read", key="client-counter") == {"exists": False, "state": None}
    host.start_orchestration("entity_flow", "client-counter")
    host.run_until_idle()
    assert call(host, "entity_read", key="client-counter") == {"exists": True, "state": 7}
    # signal_entity json.dumps the input before posting it as JSON, so the entity receives JSON text.
    call(host, "entity_signal", key="remembered", operation="remember", input={"a": 1})
    host.run_until_idle()
    assert call(host, "entity_read", key="remembered") == {"exists": True, "state": '{"a": 1}'}
