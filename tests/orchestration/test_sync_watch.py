"""How a hire learns that its record was provisioned and its account synced, in each SYNC_WAIT_MODE.

`watch` (the default): the event registers with the sync watch and settles from the watcher's notice; it looks for
itself only at its deadline, which is what keeps it safe through a watcher outage. `poll`: today's per-event
polling, kept selectable so both designs can be measured side by side (benchmarks/sync_watch.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from emulators.functions_host import FunctionsHost
from provisioning import sync_watch
from provisioning.workflows import contracts as c
from tests.orchestration.scripted_tenant import ScriptedTenant
from tests.orchestration.test_workflows import HIRE, finish, host, make_host, submit, tenant

__all__ = ["host", "make_host", "tenant"]  # the fixtures this module uses


def _nobody_waits(host: FunctionsHost) -> bool:
    coordinator = host.entity_state(c.SYNC_WATCH, c.SINGLETON_KEY) or {}
    shards = [host.entity_state(c.SYNC_WATCH_REGISTRY, str(n)) or {} for n in range(sync_watch.SHARDS)]
    return coordinator.get("waiting") == 0 and not any(shard.get("waiting") for shard in shards)


def test_a_hire_settles_from_the_watchers_notice(host: FunctionsHost, tenant: ScriptedTenant) -> None:
    status = finish(host, submit(host, HIRE)["id"])
    assert status["runtimeStatus"] == "Completed" and status["output"]["outcome"] == "provisioned"
    assert tenant.watch_rounds >= 1 and tenant.checks == 0, "the watcher told it; it never looked for itself"
    assert tenant.lookups == 1, "person, manager and best name in one batched lookup"
    timings = status["output"]["timings"]
    waited = (
        datetime.fromisoformat(timings["syncedAt"]) - datetime.fromisoformat(timings["uploadedAt"])
    ).total_seconds()
    assert waited <= c.WorkflowOptions().sync_watch_interval_seconds * 2
    watcher = host.status(f"{c.WATCHER_INSTANCE_PREFIX}1")
    assert watcher is not None and watcher["runtimeStatus"] == "Completed", "the watcher ends when nobody waits"
    assert _nobody_waits(host)


def test_a_watcher_outage_never_loses_an_event(host: FunctionsHost, tenant: ScriptedTenant) -> None:
    tenant.watcher_down = True
    status = finish(host, submit(host, HIRE)["id"])
    assert status["runtimeStatus"] == "Completed" and status["output"]["outcome"] == "provisioned"
    assert tenant.checks == 1, "one look of its own, at its deadline"
    timings = status["output"]["timings"]
    waited = datetime.fromisoformat(timings["syncedAt"]) - datetime.fromisoformat(timings["uploadedAt"])
    assert waited.total_seconds() >= 60 * 60
    custom = host.custom_status(f"{c.WATCHER_INSTANCE_PREFIX}1")
    assert custom["stage"] == "idle" and custom["failedRounds"] >= 1 and custom["failedRounds"] == custom["rounds"]
    assert _nobody_waits(host)


def test_poll_mode_is_todays_per_event_polling(make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant) -> None:
    host = make_host(SYNC_WAIT_MODE="poll")
    status = finish(host, submit(host, HIRE)["id"])
    assert status["output"]["outcome"] == "provisioned"
    assert tenant.checks >= 1 and tenant.watch_rounds == 0
    assert host.status(f"{c.WATCHER_INSTANCE_PREFIX}1") is None


def test_a_name_conflict_reregisters_with_a_notice_of_its_own(host: FunctionsHost, tenant: ScriptedTenant) -> None:
    tenant.taken_in_ad.add("zoe.obrien-muller@contoso.com")
    status = finish(host, submit(host, HIRE)["id"])
    assert status["output"]["outcome"] == "provisioned"
    assert status["output"]["userPrincipalName"] != "zoe.obrien-muller@contoso.com"
    assert tenant.checks == 0 and len(tenant.uploads) == 2
    assert _nobody_waits(host)


def test_a_notice_that_does_not_settle_leaves_the_deadline_running(host: FunctionsHost, tenant: ScriptedTenant) -> None:
    """The watcher reports the log's success but the account never syncs: the event fails at its own deadline."""
    tenant.connect_sync = False
    status = finish(host, submit(host, HIRE)["id"])
    assert status["runtimeStatus"] == "Failed"
    assert tenant.checks == 1, "one look of its own, at its deadline, after the watcher's notice"
    assert _nobody_waits(host)
