"""Functions host emulator: HTTP triggers, keys, app settings, logs and the public management API."""

from __future__ import annotations

import os

import pytest

from emulators.functions_host import DEFAULT_MASTER_KEY, DEFAULT_SYSTEM_KEY

KEY = {"x-functions-key": "test-function-key"}
SYSTEM = {"code": DEFAULT_SYSTEM_KEY}
WEBHOOKS = "/runtime/webhooks/durabletask"


def test_http_request_is_built_from_method_route_query_headers_and_body(functions_host_factory):
    host = functions_host_factory()
    response = host.request(
        "POST", "/api/echo/42/extra", params={"x": "1", "y": "two"}, headers={"x-custom": "hello"}, content=b"raw body"
    )
    assert response.status_code == 201
    assert response.headers["x-echo"] == "yes"
    assert response.headers["content-type"].startswith("application/json")
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["route"] == {"id": "42", "rest": "extra"}
    assert seen["params"] == {"x": "1", "y": "two"}
    assert seen["header"] == "hello"
    assert seen["body"] == "raw body"
    assert seen["url"].startswith(f"{host.base_url}/api/echo/42/extra?")


def test_route_constraints_and_optional_segments(functions_host_factory):
    host = functions_host_factory()
    assert host.request("GET", "/api/echo/abc").status_code == 404
    assert host.request("GET", "/api/echo/7").json()["route"] == {"id": "7"}
    assert host.request("PUT", "/api/echo/7").status_code == 404
    assert host.request("GET", "/api/nothing/here").status_code == 404


def test_function_and_admin_keys_are_enforced_per_auth_level(functions_host_factory):
    host = functions_host_factory(env={"TASKHUB_NAME": "KeysHub"})
    path = "/api/settings/TASKHUB_NAME"
    assert host.request("GET", path).status_code == 401
    assert host.request("GET", path, headers={"x-functions-key": "wrong"}).status_code == 401
    assert host.request("GET", path, headers=KEY).json() == {"value": "KeysHub"}
    assert host.request("GET", path, params={"code": "test-function-key"}).status_code == 200
    assert host.request("GET", path, params={"code": DEFAULT_MASTER_KEY}).status_code == 200
    assert host.request("GET", "/api/admin/ping", headers=KEY).status_code == 401
    admin = host.request("GET", "/api/admin/ping", headers={"x-functions-key": DEFAULT_MASTER_KEY})
    assert (admin.status_code, admin.text) == (200, "pong")


def test_app_settings_are_set_for_the_host_lifetime_and_restored(functions_host_factory):
    before = os.environ.get("HOST_TEST_SETTING")
    host = functions_host_factory(env={"HOST_TEST_SETTING": "on"})
    assert host.request("GET", "/api/settings/HOST_TEST_SETTING", headers=KEY).json() == {"value": "on"}
    host.close()
    assert os.environ.get("HOST_TEST_SETTING") == before


def test_function_errors_give_500_and_every_log_line_lands_in_host_log(functions_host_factory):
    host = functions_host_factory()
    assert host.request("GET", "/api/broken").status_code == 500
    instance_id = host.start_orchestration("logging_flow")
    host.run_until_idle()
    assert host.status(instance_id)["output"] == "activity says hello"
    log_text = host.log_path.read_text()
    assert "this function always fails" in log_text
    assert log_text.count(f"orchestrator logging for {instance_id}") == 1
    assert "activity log: activity says hello" in log_text


def test_management_api_status_codes(functions_host_factory):
    host = functions_host_factory()
    assert host.request("POST", f"{WEBHOOKS}/orchestrators/sequence_flow", json={"steps": 2}).status_code == 401
    started = host.request("POST", f"{WEBHOOKS}/orchestrators/sequence_flow/mgmt-1", params=SYSTEM, json={"steps": 2})
    assert started.status_code == 202
    links = started.json()
    assert links["id"] == "mgmt-1"
    assert started.headers["location"] == links["statusQueryGetUri"]
    status_url = links["statusQueryGetUri"].replace(host.base_url, "")
    assert host.request("GET", status_url).status_code == 202
    again = host.request("POST", f"{WEBHOOKS}/orchestrators/sequence_flow/mgmt-1", params=SYSTEM)
    # DTFx's OrchestrationAlreadyExistsException is not an argument error: the extension answers 500.
    assert again.status_code == 500
    assert "already exists" in again.json()["ExceptionMessage"]
    unknown = host.request("POST", f"{WEBHOOKS}/orchestrators/no_such_flow", params=SYSTEM)
    assert unknown.status_code == 400
    assert "doesn't exist" in unknown.json()["ExceptionMessage"]

    host.run_until_idle()
    done = host.request("GET", status_url)
    assert done.status_code == 200
    assert done.json()["output"] == [0, 10]
    with_history = host.request("GET", status_url + "&showHistory=true&showHistoryOutput=true").json()
    kinds = [event["EventType"] for event in with_history["historyEvents"]]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert "TaskCompleted" in kinds
    assert host.request("POST", f"{WEBHOOKS}/instances/mgmt-1/raiseEvent/X", params=SYSTEM).status_code == 410
    assert host.request("POST", f"{WEBHOOKS}/instances/mgmt-1/terminate", params=SYSTEM).status_code == 410
    assert host.request("GET", f"{WEBHOOKS}/instances/nope", params=SYSTEM).status_code == 404
    assert host.request("POST", f"{WEBHOOKS}/instances/nope/raiseEvent/X", params=SYSTEM).status_code == 404

    failed = host.start_orchestration("failing_flow", instance_id="mgmt-failed")
    host.run_until_idle()
    assert host.request("GET", f"{WEBHOOKS}/instances/{failed}", params=SYSTEM).status_code == 200

    listed = host.request("GET", f"{WEBHOOKS}/instances", params={**SYSTEM, "instanceIdPrefix": "mgmt-"}).json()
    assert sorted(item["instanceId"] for item in listed) == ["mgmt-1", "mgmt-failed"]
    purge = host.request("DELETE", f"{WEBHOOKS}/instances/mgmt-1", params=SYSTEM)
    assert (purge.status_code, purge.json()) == (200, {"instancesDeleted": 1})
    assert host.request("DELETE", f"{WEBHOOKS}/instances/mgmt-1", params=SYSTEM).status_code == 404


@pytest.mark.parametrize("reason", ["manual stop"])
def test_management_api_terminate_and_raise_event(functions_host_factory, reason):
    host = functions_host_factory()
    instance_id = host.start_orchestration("wait_for_approval", {"who": "x"}, instance_id="mgmt-wait")
    host.run_until_idle()
    event = host.request(
        "POST", f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/Approval", params=SYSTEM, json={"by": "boss"}
    )
    assert event.status_code == 202
    host.run_until_idle()
    stop = host.request("POST", f"{WEBHOOKS}/instances/{instance_id}/terminate", params={**SYSTEM, "reason": reason})
    assert stop.status_code == 202
    host.run_until_idle()
    status = host.status(instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == reason
