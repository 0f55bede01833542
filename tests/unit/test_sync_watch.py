"""The sync watch: who waits (coordinator and registry shards) and what one round tells each waiting event.

The round runs against a GraphClient whose transport answers like Graph (provisioning logs, users/delta, JSON
batches), so the requests the watcher makes are counted: they must not grow with the number of waiting events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from provisioning import sync_watch, tenant_watch
from provisioning.graph import GraphClient
from tests.unit.test_graph import FakeCredential

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GRAPH = "https://graph.microsoft.com"


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


class TestCoordinator:
    def test_the_first_registration_starts_a_watcher_later_ones_do_not(self) -> None:
        state, ticket = sync_watch.register(None, at(0), 30)
        assert ticket == {"startWatcher": "sync-watcher-1", "primed": False}
        state = sync_watch.primed(state, "sync-watcher-1")
        state, ticket = sync_watch.register(state, at(1), 30)
        assert ticket == {"startWatcher": None, "primed": True}
        assert state["waiting"] == 2

    def test_the_watcher_stops_when_nobody_waits_and_the_next_registration_starts_another(self) -> None:
        state, _ = sync_watch.register(None, at(0), 30)
        state, answer = sync_watch.begin_round(state, "sync-watcher-1", at(30))
        assert answer == {"stop": False, "waiting": 1}
        state = sync_watch.unregister(state)
        state, answer = sync_watch.begin_round(state, "sync-watcher-1", at(60))
        assert answer["stop"] and answer["reason"] == "idle" and state["watcher"] is None
        _, ticket = sync_watch.register(state, at(61), 30)
        assert ticket["startWatcher"] == "sync-watcher-2"

    @pytest.mark.parametrize(("interval", "stale_after"), [(30, 600), (60, 600), (300, 1500)])
    def test_a_watcher_that_stopped_taking_rounds_is_replaced(self, interval: int, stale_after: int) -> None:
        # Five intervals, but never less than ten minutes: a backlog in the task hub is not an outage.
        state, _ = sync_watch.register(None, at(0), interval)
        state, ticket = sync_watch.register(state, at(stale_after - 1), interval)
        assert ticket["startWatcher"] is None
        state, ticket = sync_watch.register(state, at(stale_after + 1), interval)
        assert ticket["startWatcher"] == "sync-watcher-2"
        _, answer = sync_watch.begin_round(state, "sync-watcher-1", at(stale_after + 100))
        assert answer == {"stop": True, "reason": "replaced"}

    def test_unregistering_never_counts_below_zero(self) -> None:
        assert sync_watch.unregister(None, 3)["waiting"] == 0


def registration(iid: str, employee: str, **fields: Any) -> dict[str, Any]:
    return {
        "instanceId": iid,
        "employeeId": employee,
        "notice": f"sync-notice-{iid}",
        "expectUser": True,
        "requireEnabled": False,
        "ignoreLogIds": [],
        "registeredAt": at(0),
        "submittedAt": None,
        "direct": False,
        **fields,
    }


class TestRegistry:
    def test_a_new_attempt_forgets_what_was_delivered_for_the_old_one(self) -> None:
        state = sync_watch.watch(None, registration("hr-1", "E1"))
        state = sync_watch.uploaded(state, "hr-1", at(5))
        state = sync_watch.delivered(state, {"hr-1": {"notice": "sync-notice-hr-1", "logId": "l1", "logFinal": True}})
        assert state["waiting"]["hr-1"]["logIds"] == ["l1"] and state["waiting"]["hr-1"]["logFinal"]
        state = sync_watch.watch(state, registration("hr-1", "E1", notice="sync-notice-hr-1-2", ignoreLogIds=["l1"]))
        assert "logIds" not in state["waiting"]["hr-1"] and state["waiting"]["hr-1"]["submittedAt"] is None
        stale = sync_watch.delivered(state, {"hr-1": {"notice": "sync-notice-hr-1", "user": True}})
        assert "userSent" not in stale["waiting"]["hr-1"], "a delivery for the old attempt is not recorded"

    def test_shards_spread_instances_and_are_stable(self) -> None:
        keys = {sync_watch.shard_key(f"hr-{n}") for n in range(200)}
        assert len(keys) == sync_watch.SHARDS
        assert sync_watch.shard_key("hr-abc") == sync_watch.shard_key("hr-abc")

    def test_unwatch_removes_only_the_named(self) -> None:
        state = sync_watch.watch(sync_watch.watch(None, registration("hr-1", "E1")), registration("hr-2", "E2"))
        assert list(sync_watch.unwatch(state, ["hr-1"])["waiting"]) == ["hr-2"]


# -- one round against a Graph that answers like the real one ------------------------------------------------------


class Tenant:
    """Provisioning-log entries and users, behind /auditLogs/provisioning, /users/delta and /$batch."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []
        self.changed: list[dict[str, Any]] = []
        self.users: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.expired = False

    def log(self, employee: str, status: str, seconds: float, action: str = "create") -> str:
        entry_id = f"log-{len(self.logs)}"
        self.logs.append(
            {
                "id": entry_id,
                "activityDateTime": at(seconds).replace("+00:00", "Z"),
                "provisioningAction": action,
                "sourceIdentity": {"id": employee},
                "provisioningStatusInfo": {"status": status},
                "provisioningSteps": [],
            }
        )
        return entry_id

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path.endswith("/auditLogs/provisioning"):
            return httpx.Response(200, json={"value": list(self.logs)})
        if path.endswith("/users/delta"):
            if self.expired:
                return httpx.Response(410, json={"error": {"code": "syncStateNotFound", "message": "expired"}})
            changed, self.changed = self.changed, []
            return httpx.Response(
                200, json={"value": changed, "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=next"}
            )
        if path.endswith("/$batch"):
            responses = []
            for item in json.loads(request.content)["requests"]:
                wanted = unquote(item["url"]).split("employeeId in (", 1)[1].split(")", 1)[0]
                ids = {value.strip("'") for value in wanted.split(",")}
                value = [user for user in self.users if user["employeeId"] in ids]
                responses.append({"id": item["id"], "status": 200, "headers": {}, "body": {"value": value}})
            return httpx.Response(200, json={"responses": responses})
        raise AssertionError(f"unexpected request {request.method} {request.url}")


def user(employee: str, enabled: bool = True, synced: bool = True) -> dict[str, Any]:
    return {
        "id": f"id-{employee}",
        "employeeId": employee,
        "userPrincipalName": f"{employee.lower()}@contoso.com",
        "accountEnabled": enabled,
        "onPremisesSyncEnabled": synced,
    }


def run_round(
    tenant: Tenant, waiting: dict[str, dict[str, Any]], link: str | None = "link", *, first: bool = False
) -> tenant_watch.RoundResult:
    graph = GraphClient(
        FakeCredential(), http=httpx.Client(transport=httpx.MockTransport(tenant.handle)), sleep=lambda _: None
    )
    delta_link = f"{GRAPH}/v1.0/users/delta?$deltatoken=1" if link else None
    return tenant_watch.watch_round(
        graph, job_id="job", waiting=waiting, delta_link=delta_link, log_since=T0, look_directly=first
    )


def waiting_for(count: int, **fields: Any) -> dict[str, dict[str, Any]]:
    return {f"hr-{n}": registration(f"hr-{n}", f"E{n}", submittedAt=at(10), **fields) for n in range(count)}


@pytest.mark.parametrize("count", [10, 100, 1000])
def test_a_round_costs_the_same_whatever_the_number_of_waiting_events(count: int) -> None:
    tenant = Tenant()
    waiting = waiting_for(count)
    for n in range(0, count, 3):
        tenant.log(f"E{n}", "success", 20)
    tenant.changed = [user(f"E{n}") for n in range(0, count, 5)]
    result = run_round(tenant, waiting)
    assert tenant.requests == ["GET /v1.0/auditLogs/provisioning", "GET /v1.0/users/delta"]
    assert result.graph_requests == 2
    told = {iid for iid, _ in result.notices.items()}
    assert told == {f"hr-{n}" for n in range(count) if n % 3 == 0 or n % 5 == 0}, "exactly the events concerned"


def test_notices_carry_the_verdict_and_the_account_and_each_is_raised_once() -> None:
    tenant = Tenant()
    waiting = waiting_for(2)
    tenant.log("E0", "failure", 5)  # before the upload (minus clock skew it is still in): a previous attempt's?
    old = tenant.log("E1", "success", -600)  # long before this upload: not this event's
    conflict = tenant.log("E0", "success", 30)
    tenant.changed = [user("E0")]
    result = run_round(tenant, waiting)
    name, notice = result.notices["hr-0"]
    assert name == "sync-notice-hr-0"
    assert notice["log"]["id"] == conflict and notice["log"]["status"] == "success"
    assert notice["user"]["id"] == "id-E0" and "syncWarning" not in notice
    assert "hr-1" not in result.notices and old
    update = result.delivered["hr-0"]
    assert update == {"notice": "sync-notice-hr-0", "logId": conflict, "logFinal": True, "user": True}
    registry = sync_watch.delivered({"waiting": waiting}, result.delivered)["waiting"]
    tenant.changed = [user("E0")]
    again = run_round(tenant, registry)
    assert again.notices == {}, "what was raised is not raised again"
    assert again.log_since == max(T0, datetime.fromisoformat(at(30)) - tenant_watch.LOG_OVERLAP)


def test_ignored_entries_and_disabled_accounts_do_not_settle_what_needs_more() -> None:
    tenant = Tenant()
    waiting = waiting_for(1, requireEnabled=True, ignoreLogIds=["log-0"])
    tenant.log("E0", "failure", 20)
    tenant.changed = [user("E0", enabled=False)]
    result = run_round(tenant, waiting)
    assert result.notices == {}


def test_an_account_without_the_sync_flag_comes_with_a_warning() -> None:
    tenant = Tenant()
    tenant.changed = [user("E0", synced=False)]
    result = run_round(tenant, waiting_for(1))
    assert "onPremisesSyncEnabled" in result.notices["hr-0"][1]["syncWarning"]


def test_events_the_change_link_may_not_cover_get_one_direct_look_in_batches() -> None:
    tenant = Tenant()
    waiting = waiting_for(40, direct=True)
    tenant.users = [user("E7"), user("E33")]
    result = run_round(tenant, waiting)
    assert tenant.requests.count("POST /v1.0/$batch") == 1, "40 employees: 3 requests of 15, one batch"
    assert result.graph_requests == 2 + 3
    assert set(result.notices) == {"hr-7", "hr-33"}
    assert all(update.get("checked") for update in result.delivered.values())


def test_an_expired_change_link_is_replaced_and_everybody_waiting_looked_for_directly() -> None:
    tenant = Tenant()
    tenant.expired = True
    tenant.users = [user("E1")]
    original = tenant.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if "deltatoken=latest" in unquote(str(request.url)):
            tenant.requests.append("GET latest")
            return httpx.Response(
                200, json={"value": [], "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=fresh"}
            )
        return original(request)

    tenant.handle = handle  # type: ignore[method-assign]
    result = run_round(tenant, waiting_for(3))
    assert result.delta_link is not None and result.delta_link.endswith("fresh")
    assert set(result.notices) == {"hr-1"}


def test_nothing_is_asked_when_nobody_needs_an_answer() -> None:
    tenant = Tenant()
    waiting = {"hr-0": registration("hr-0", "E0", expectUser=False)}  # not uploaded yet, no account expected
    result = run_round(tenant, waiting)
    assert tenant.requests == [] and result.graph_requests == 0


def test_a_new_watchers_first_round_looks_directly_for_everybody_still_waiting_for_an_account() -> None:
    """Events registered with a watcher that was replaced: the new watcher's link began after their accounts."""
    tenant = Tenant()
    tenant.users = [user("E1")]  # created before the new watcher took its link: not among its changes
    waiting = waiting_for(3, logFinal=True)
    assert run_round(tenant, waiting).notices == {}, "a later round follows the link only"
    result = run_round(tenant, waiting, first=True)
    assert set(result.notices) == {"hr-1"} and result.notices["hr-1"][1]["user"]["id"] == "id-E1"
    assert tenant.requests.count("POST /v1.0/$batch") == 1
