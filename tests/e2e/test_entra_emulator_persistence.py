"""The Entra emulator's state store: what survives a restart, what a reset forgets, and that a flush writes only
what changed (the whole state was rewritten as JSON every second before, which dominated CPU at 2,000 hires)."""

from __future__ import annotations

import json
from pathlib import Path

from emulators.entra.core import EmulatorCore
from emulators.entra.state import MAX_CALLS_KEPT, EmulatorState
from emulators.entra.store import Changes


def _core(path: Path) -> EmulatorCore:
    return EmulatorCore(EmulatorState(path))


def _log_entry(number: int) -> dict[str, object]:
    return {"id": f"log-{number}", "activityDateTime": "2026-11-27T09:00:00.000Z", "_visibleAt": 0.0}


def test_everything_the_emulator_keeps_survives_a_restart(tmp_path: Path) -> None:
    core = _core(tmp_path)
    state = core.state
    with state.lock:
        core.seed_user("synced", {"userPrincipalName": "ada@contoso.com", "employeeId": "A1"})
        cloud = core.seed_user("entra", {"userPrincipalName": "bob@contoso.com"})["entraUser"]
        state.entra.remove(cloud["id"], reason="changed")
        state.logs.append(_log_entry(1))
        state.outbox.append({"id": "mail-1", "subject": "Welcome"})
        state.bulk_requests.append({"id": "bulk-1", "status": "staged", "body": {}, "_receivedAt": 1.0})
        state.taps["user-1"] = {"id": "tap-1", "temporaryAccessPass": "secret"}
        state.record_call({"method": "GET", "path": "/v1.0/users", "status": 200})
        state.jobs["job-1"] = {"id": "job-1", "status": {"code": "Active"}}
        state.mark_dirty()
    state.flush()
    with state.lock:
        state.bulk_requests[0]["status"] = "processed"  # changed in place, as the pipeline does
        state.mark_dirty()
    state.flush()
    state.store.close()

    again = EmulatorState(tmp_path)
    assert (again.signing_key, again.client_secret, again.epoch) == (
        state.signing_key,
        state.client_secret,
        state.epoch,
    )
    assert [user["employeeId"] for user in again.entra] == ["A1"]
    assert [user["employeeId"] for user in again.ad] == ["A1"]
    assert again.entra_removed[cloud["id"]]["reason"] == "changed"
    assert again.entra_changes.sequence == state.entra_changes.sequence
    assert again.entra_changes.since(0) == state.entra_changes.since(0)
    assert [entry["id"] for entry in again.logs] == ["log-1"]
    assert [mail["subject"] for mail in again.outbox] == ["Welcome"]
    assert [request["status"] for request in again.bulk_requests] == ["processed"]
    assert again.taps == {"user-1": {"id": "tap-1", "temporaryAccessPass": "secret"}}
    assert [call["path"] for call in again.calls] == ["/v1.0/users"] and again.calls_total == 1
    assert again.jobs == state.jobs


def test_a_flush_writes_only_what_changed(tmp_path: Path) -> None:
    core = _core(tmp_path)
    state = core.state
    with state.lock:
        for number in range(500):
            core.seed_user("synced", {"userPrincipalName": f"u{number}@contoso.com", "employeeId": f"U{number}"})
            state.logs.append(_log_entry(number))
            state.record_call({"method": "GET", "path": f"/v1.0/users/{number}", "status": 200})
    state.flush()
    written: list[Changes] = []
    original = state.store.write
    state.store.write = lambda changes: (written.append(changes), original(changes))[-1]  # type: ignore[method-assign]
    with state.lock:
        state.logs.append(_log_entry(500))
        state.record_call({"method": "GET", "path": "/v1.0/users", "status": 200})
        user = state.entra.find_one("employeeId", "U7")
        assert user is not None
        state.entra.update(user["id"], {"jobTitle": "Analyst"})
        state.mark_dirty()
    state.flush()
    [changes] = written
    assert not changes.clear
    assert sorted((collection, position) for collection, position, _ in changes.records) == [
        ("calls", 500),
        ("provisioningLogs", 500),
    ]
    assert [(collection, key) for collection, key, _, _ in changes.items] == [("entraUsers", user["id"])]
    assert set(changes.documents) == {"sequence", "callsTotal"}  # two counters; config, jobs... are unchanged
    state.flush()
    assert len(written) == 1, "nothing changed, nothing written"


def test_the_call_log_keeps_the_newest_calls_on_disk_too(tmp_path: Path) -> None:
    state = EmulatorState(tmp_path)
    with state.lock:
        for number in range(MAX_CALLS_KEPT + 3):
            state.record_call({"n": number})
    state.flush()
    state.store.close()
    again = EmulatorState(tmp_path)
    assert len(again.calls) == MAX_CALLS_KEPT
    assert (again.calls[0]["n"], again.calls[-1]["n"]) == (3, MAX_CALLS_KEPT + 2)


def test_a_reset_empties_the_store(tmp_path: Path) -> None:
    core = _core(tmp_path)
    with core.state.lock:
        core.seed_user("synced", {"userPrincipalName": "ada@contoso.com", "employeeId": "A1"})
    core.state.flush()
    old_epoch = core.state.epoch
    core.reset()
    core.state.flush()
    core.state.store.close()
    again = EmulatorState(tmp_path)
    assert list(again.entra) == [] and list(again.ad) == []
    assert again.epoch != old_epoch, "delta tokens from before a reset must not be honoured"
    assert again.client_secret == core.state.client_secret


def test_a_state_json_from_an_older_emulator_is_read_once(tmp_path: Path) -> None:
    legacy = {
        "version": 1,
        "signingKey": "k" * 64,
        "clientSecret": "old-secret",
        "identityHeader": "h" * 32,
        "sequence": 3,
        "config": {"rateLimit": {"callsPer5s": 10}},
        "adUsers": [],
        "entraUsers": [{"id": "e1", "userPrincipalName": "old@contoso.com", "_seq": 1}],
        "outbox": [{"id": "m1"}],
        "provisioningLogs": [],
        "bulkRequests": [],
        "temporaryAccessPasses": {},
        "calls": [{"path": "/v1.0/users"}],
    }
    (tmp_path / "state.json").write_text(json.dumps(legacy), encoding="utf-8")
    state = EmulatorState(tmp_path)
    assert state.client_secret == "old-secret"
    assert state.config["rateLimit"]["callsPerWindow"] == 10
    state.flush()
    state.store.close()
    again = EmulatorState(tmp_path)
    assert [user["userPrincipalName"] for user in again.entra] == ["old@contoso.com"]
    assert [mail["id"] for mail in again.outbox] == ["m1"] and again.client_secret == "old-secret"
