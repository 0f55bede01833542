"""Functions host emulator: the management API's answers where they used to differ from the extension's."""

from __future__ import annotations

import pytest

from emulators.functions_host import DEFAULT_SYSTEM_KEY

SYSTEM = {"code": DEFAULT_SYSTEM_KEY}
WEBHOOKS = "/runtime/webhooks/durabletask"
JSON = {"content-type": "application/json"}


def instance_url(instance_id: str, suffix: str = "") -> str:
    return f"{WEBHOOKS}/instances/{instance_id}{suffix}"


# ---- invalid input is refused and the instance is left alone -------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        ("{not json", JSON, "Invalid JSON content"),
        ('"approved"', {"content-type": "text/plain"}, "Only application/json request content is supported"),
        ("", JSON, "Invalid JSON content"),
    ],
)
def test_raise_event_with_bad_content_is_400_and_the_instance_keeps_waiting(
    functions_host_factory, content, headers, message
):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="waiting")
    host.run_until_idle()
    refused = host.request(
        "POST", instance_url(instance_id, "/raiseEvent/Approval"), params=SYSTEM, content=content, headers=headers
    )
    assert (refused.status_code, refused.json()["Message"]) == (400, message)
    host.run_until_idle()
    assert host.status(instance_id)["runtimeStatus"] == "Running"
    for event, value in (("Approval", '"yes"'), ("Confirm", '{"by": "boss"}')):
        accepted = host.request(
            "POST", instance_url(instance_id, f"/raiseEvent/{event}"), params=SYSTEM, content=value, headers=JSON
        )
        assert accepted.status_code == 202
    host.run_until_idle()
    assert host.status(instance_id)["output"] == {"approval": "yes", "confirm": {"by": "boss"}}


def test_start_with_invalid_json_is_400_and_starts_nothing(functions_host_factory):
    host = functions_host_factory()
    refused = host.request(
        "POST", f"{WEBHOOKS}/orchestrators/sequence_flow/never", params=SYSTEM, content="{steps: 2", headers=JSON
    )
    assert (refused.status_code, refused.json()["Message"]) == (400, "Invalid JSON content")
    assert host.status("never") is None
    for bad_id in ("@entity-like", "x" * 257):
        refused_id = host.request("POST", f"{WEBHOOKS}/orchestrators/sequence_flow/{bad_id}", params=SYSTEM)
        assert (refused_id.status_code, refused_id.json()["ExceptionType"]) == (400, "System.ArgumentException")
    assert host.status("@entity-like") is None
    # Another method on a route the extension knows is 404 there, not 405.
    assert host.request("GET", f"{WEBHOOKS}/orchestrators/sequence_flow", params=SYSTEM).status_code == 404
    assert host.request("GET", instance_url("never", "/terminate"), params=SYSTEM).status_code == 404
    unknown = host.request("POST", f"{WEBHOOKS}/orchestrators/no_such_flow", params=SYSTEM)
    assert unknown.status_code == 400
    assert unknown.json()["ExceptionMessage"].startswith(
        "The function 'no_such_flow' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: "
    )


def test_entity_signal_content_rules(functions_host_factory):
    host = functions_host_factory()
    url = f"{WEBHOOKS}/entities/Counter/signals"
    assert host.request("POST", url, params={**SYSTEM, "op": "add"}, content="5", headers=JSON).status_code == 202
    host.run_until_idle()
    bad = host.request("POST", url, params={**SYSTEM, "op": "add"}, content="{five", headers=JSON)
    assert bad.status_code == 400
    assert bad.json()["Message"].startswith("Could not parse JSON content: ")
    host.run_until_idle()
    assert host.entity_state("Counter", "signals") == 5, "a refused signal changes nothing"
    # Content of another type is the operation's input as a string, as the extension passes it on.
    text = host.request(
        "POST", url, params={**SYSTEM, "op": "remember"}, content="plain words", headers={"content-type": "text/plain"}
    )
    assert text.status_code == 202
    host.run_until_idle()
    assert host.entity_state("Counter", "signals") == "plain words"
    unknown = host.request("POST", f"{WEBHOOKS}/entities/Nobody/x", params={**SYSTEM, "op": "add"})
    assert unknown.status_code == 400
    assert unknown.json()["Message"].startswith("The function 'Nobody' doesn't exist, is disabled, or is not an entity")


# ---- status codes --------------------------------------------------------------------------------------------------
def test_status_codes_for_failed_terminated_and_running_instances(functions_host_factory):
    host = functions_host_factory()
    failed = host.start_orchestration("failing_flow", instance_id="st-failed")
    stopped = host.start_orchestration("wait_for_approval", instance_id="st-stopped")
    running = host.start_orchestration("wait_for_approval", instance_id="st-running")
    host.run_until_idle()
    host.management.terminate(stopped, "enough")
    host.run_until_idle()

    assert host.request("GET", instance_url(failed), params=SYSTEM).status_code == 200
    flagged = host.request("GET", instance_url(failed), params={**SYSTEM, "returnInternalServerErrorOnFailure": "true"})
    assert (flagged.status_code, flagged.json()["runtimeStatus"]) == (500, "Failed")
    assert host.request("GET", instance_url(stopped), params=SYSTEM).status_code == 200
    terminated_flagged = host.request(
        "GET", instance_url(stopped), params={**SYSTEM, "returnInternalServerErrorOnFailure": "true"}
    )
    assert terminated_flagged.status_code == 200
    in_progress = host.request("GET", instance_url(running), params={**SYSTEM, "showInput": "false"})
    assert in_progress.status_code == 202
    assert in_progress.headers["location"] == str(in_progress.request.url)
    assert in_progress.headers["retry-after"] == "5"
    assert in_progress.json()["input"] is None


# ---- showHistory rows ----------------------------------------------------------------------------------------------
def test_history_rows_have_the_extension_shape(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("sequence_flow", {"steps": 2}, instance_id="shaped")
    host.run_until_idle()
    with_output = host.request(
        "GET", instance_url(instance_id), params={**SYSTEM, "showHistory": "true", "showHistoryOutput": "true"}
    ).json()["historyEvents"]
    started, first, second, ended = with_output
    assert started == {
        "EventType": "ExecutionStarted",
        "Timestamp": started["Timestamp"],
        "Input": '{"steps": 2}',
        "FunctionName": "sequence_flow",
    }
    assert first == {
        "EventType": "TaskCompleted",
        "Timestamp": first["Timestamp"],
        "Result": 0,
        "ScheduledTime": first["ScheduledTime"],
        "FunctionName": "step",
        "Input": '{"i": 0, "tag": "shaped", "sleep": 0}',
    }
    assert second["Result"] == 10
    assert ended == {
        "EventType": "ExecutionCompleted",
        "Timestamp": ended["Timestamp"],
        "OrchestrationStatus": "Completed",
        "Result": [0, 10],
    }
    quiet = host.request(
        "GET", instance_url(instance_id), params={**SYSTEM, "showHistory": "true", "showInput": "false"}
    ).json()
    assert quiet["input"] is None
    assert all("Result" not in row and "Input" not in row for row in quiet["historyEvents"])
    plain = host.request("GET", instance_url(instance_id), params=SYSTEM).json()
    assert "historyEvents" not in plain


def test_history_keeps_unfinished_work_and_shows_timers_and_events(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", instance_id="half-way")
    host.raise_event(instance_id, "Approval", {"by": "boss"})
    host.set_timers_enabled(False)
    racing = host.start_orchestration("race_timer_flow", instance_id="racing")
    host.run_until_idle()
    rows = host.request(
        "GET", instance_url(instance_id), params={**SYSTEM, "showHistory": "true", "showHistoryOutput": "true"}
    ).json()["historyEvents"]
    assert [row["EventType"] for row in rows] == ["ExecutionStarted", "EventRaised", "TaskCompleted"]
    assert rows[1] == {
        "EventType": "EventRaised",
        "Timestamp": rows[1]["Timestamp"],
        "Name": "Approval",
        "Input": '{"by": "boss"}',
    }
    timer_rows = host.request("GET", instance_url(racing), params={**SYSTEM, "showHistory": "true"}).json()[
        "historyEvents"
    ]
    assert [row["EventType"] for row in timer_rows] == ["ExecutionStarted", "TimerCreated"]
    assert set(timer_rows[1]) == {"EventType", "Timestamp", "FireAt"}
    host.set_timers_enabled(True)
    host.run_until_idle()
    fired = host.request("GET", instance_url(racing), params={**SYSTEM, "showHistory": "true"}).json()
    assert [row["EventType"] for row in fired["historyEvents"]][1:3] == ["TimerCreated", "TimerFired"]
    assert "TimerId" not in fired["historyEvents"][2]


# ---- purge and listing ---------------------------------------------------------------------------------------------
def test_purge_answers_404_only_for_a_missing_instance(functions_host_factory):
    host = functions_host_factory()
    running = host.start_orchestration("wait_for_approval", instance_id="purge-running")
    host.run_until_idle()
    # Azure Storage purges whatever instance it is given, running or not.
    purged = host.request("DELETE", instance_url(running), params=SYSTEM)
    assert (purged.status_code, purged.json()) == (200, {"instancesDeleted": 1})
    assert host.status(running) is None
    assert host.request("DELETE", instance_url(running), params=SYSTEM).status_code == 404


def test_purge_by_filter_needs_created_time_from_and_keeps_running_instances_out_of_a_status_filter(
    functions_host_factory,
):
    host = functions_host_factory()
    done = host.start_orchestration("sequence_flow", {"steps": 1}, instance_id="pf-done")
    waiting = host.start_orchestration("wait_for_approval", instance_id="pf-waiting")
    host.run_until_idle()
    missing = host.request("DELETE", f"{WEBHOOKS}/instances", params=SYSTEM)
    assert (missing.status_code, missing.json()) == (400, "Please provide value for 'createdTimeFrom' parameter.")
    assert host.status(done) is not None, "nothing is purged without createdTimeFrom"
    window = {**SYSTEM, "createdTimeFrom": "2025-01-01T00:00:00Z"}
    nothing = host.request("DELETE", f"{WEBHOOKS}/instances", params={**window, "runtimeStatus": "Failed"})
    assert nothing.status_code == 404
    # Non-terminal statuses are dropped from the filter: asking for Running with Completed purges the completed one.
    purged = host.request("DELETE", f"{WEBHOOKS}/instances", params={**window, "runtimeStatus": "Running,Completed"})
    assert (purged.status_code, purged.json()) == (200, {"instancesDeleted": 1})
    assert host.status(done) is None and host.status(waiting) is not None


def test_instance_listing_pages_with_top_and_the_continuation_header(functions_host_factory):
    host = functions_host_factory()
    for index in range(5):
        host.start_orchestration("sequence_flow", {"steps": 1}, instance_id=f"page-{index}")
    host.start_orchestration("sequence_flow", {"steps": 1}, instance_id="other")
    host.run_until_idle()
    seen: list[str] = []
    headers: dict[str, str] = {}
    pages = 0
    while True:
        response = host.request(
            "GET", f"{WEBHOOKS}/instances", params={**SYSTEM, "instanceIdPrefix": "page-", "top": "2"}, headers=headers
        )
        assert response.status_code == 200
        assert len(response.json()) <= 2
        seen += [item["instanceId"] for item in response.json()]
        pages += 1
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert (seen, pages) == ([f"page-{index}" for index in range(5)], 3)
    bad = host.request("GET", f"{WEBHOOKS}/instances", params=SYSTEM, headers={"x-ms-continuation-token": "nope"})
    assert bad.status_code == 400


# ---- entities ------------------------------------------------------------------------------------------------------
def test_entity_listing_reading_and_delete(functions_host_factory):
    host = functions_host_factory()
    for key, amount in (("alpha", 1), ("beta", 2), ("gamma", 3)):
        host.request("POST", f"{WEBHOOKS}/entities/Counter/{key}", params={**SYSTEM, "op": "add"}, json=amount)
    host.request("POST", f"{WEBHOOKS}/entities/Tally/t1", params=SYSTEM | {"op": "add"}, json=4)
    host.run_until_idle()
    listed = host.request("GET", f"{WEBHOOKS}/entities/counter", params={**SYSTEM, "fetchState": "true", "top": "2"})
    assert listed.status_code == 200
    first_page = listed.json()
    assert [(item["entityId"], item["state"]) for item in first_page] == [
        ({"key": "alpha", "name": "counter"}, 1),
        ({"key": "beta", "name": "counter"}, 2),
    ]
    assert first_page[0]["lastOperationTime"].startswith("2026-01-01T")
    rest = host.request(
        "GET",
        f"{WEBHOOKS}/entities/counter",
        params={**SYSTEM, "fetchState": "true", "top": "2"},
        headers={"x-ms-continuation-token": listed.headers["x-ms-continuation-token"]},
    ).json()
    assert [item["entityId"]["key"] for item in rest] == ["gamma"]
    everything = host.request("GET", f"{WEBHOOKS}/entities", params=SYSTEM).json()
    assert [item["entityId"]["name"] for item in everything] == ["counter", "counter", "counter", "tally"]
    assert all(item["state"] is None for item in everything), "state only with fetchState=true"
    read = host.request("GET", f"{WEBHOOKS}/entities/Counter/beta", params=SYSTEM)
    assert (read.status_code, read.json()) == (200, 2)
    # DELETE signals the entity's "delete" operation (the test app's Counter deletes itself on it).
    assert host.request("DELETE", f"{WEBHOOKS}/entities/Counter/beta", params=SYSTEM).status_code == 202
    host.run_until_idle()
    assert host.request("GET", f"{WEBHOOKS}/entities/Counter/beta", params=SYSTEM).status_code == 404
    remaining = host.request("GET", f"{WEBHOOKS}/entities/Counter", params=SYSTEM).json()
    assert [item["entityId"]["key"] for item in remaining] == ["alpha", "gamma"]
