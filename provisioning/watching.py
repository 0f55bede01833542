"""Activities of the sync watch and of the upload queue's look at a batch: thin adapters over Graph, the
registry entities and the Durable client.

- `start_sync_watcher`: takes a directory change link "from now" (one Graph request), starts the watcher with it,
  and tells the coordinator the watcher is primed. Safe to repeat.
- `watch_tenant`: one round (see :mod:`provisioning.tenant_watch`): reads the registry shards, asks the tenant,
  raises to each event what concerns it, and records what was raised.
- `check_batch_arriving`: whether any member of a batch is still on its way to the upload queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning import runtime, sync_watch, tenant_watch
from provisioning.schedule import ENTRA_CLOCK_SKEW
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import workflow_options

bp = df.Blueprint()
logger = logging.getLogger("provisioning.watching")

ARRIVING_STAGES = frozenset({"accepted", "fetching", "resolving", "names", "preflight", "uploading"})
"""Stages in which a batch member has not queued its record yet but will (held and scheduled members left)."""


@bp.activity_trigger(input_name="request", activity=c.START_SYNC_WATCHER)
@bp.durable_client_input(client_name="client")
async def start_sync_watcher(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Start the watcher generation the coordinator asked for, primed with a change link from now."""
    instance_id = request["instanceId"]
    if await client.get_status(instance_id):
        return {"started": False}
    rt = runtime.current()
    link = rt.graph.latest_user_changes_link(tenant_watch.WATCH_SELECT)
    since = datetime.now(UTC) - ENTRA_CLOCK_SKEW
    options = workflow_options(rt.settings)
    state = {"options": options.to_dict(), "deltaLink": link, "logSince": since.isoformat(), "rounds": 0}
    await client.start_new(c.SYNC_WATCHER, instance_id, state)
    await client.signal_entity(sync_watch.COORDINATOR, "primed", {"watcher": instance_id})
    return {"started": True}


async def _registrations(client: df.DurableOrchestrationClient) -> dict[str, dict[str, Any]]:
    waiting: dict[str, dict[str, Any]] = {}
    for entity in sync_watch.all_shards():
        response = await client.read_entity_state(entity)
        state = response.entity_state
        if isinstance(state, str):
            state = json.loads(state)
        if response.entity_exists and isinstance(state, dict):
            waiting.update(state.get("waiting") or {})
    return waiting


NOTICE_CONCURRENCY = 16
"""Notices in flight at once. When Entra Connect exports a batch, hundreds of events are told in the same round;
one at a time, the last would hear a round trip per event later than the first."""


async def _raise_notices(client: df.DurableOrchestrationClient, notices: dict[str, tuple[str, Any]]) -> int:
    """Raise each notice to its event, NOTICE_CONCURRENCY at a time; returns how many were delivered."""
    gate = asyncio.Semaphore(NOTICE_CONCURRENCY)

    async def tell(iid: str, name: str, notice: Any) -> bool:
        async with gate:
            try:
                await client.raise_event(iid, name, notice)
                return True
            except Exception as error:  # the event ended meanwhile: nobody waits for this any more
                logger.warning("sync notice not delivered to %s: %s", iid, type(error).__name__)
                return False

    delivered = await asyncio.gather(*(tell(iid, name, notice) for iid, (name, notice) in notices.items()))
    return sum(delivered)


@bp.activity_trigger(input_name="request", activity=c.WATCH_TENANT)
@bp.durable_client_input(client_name="client")
async def watch_tenant(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """One round for every waiting event; returns the watcher's next state and what the round cost."""
    rt = runtime.current()
    waiting = await _registrations(client)
    host_now = datetime.fromisoformat(request["hostNow"])
    expiry = timedelta(minutes=float(request["expireAfterMinutes"]))
    expired = [
        iid
        for iid, registration in waiting.items()
        if host_now - datetime.fromisoformat(str(registration.get("registeredAt") or request["hostNow"])) > expiry
    ]
    live = {iid: registration for iid, registration in waiting.items() if iid not in expired}
    # The round's Graph calls block; run them off the worker's event loop, which serves the async functions.
    result = await asyncio.to_thread(
        tenant_watch.watch_round,
        rt.graph,
        job_id=rt.settings.job_id,
        waiting=live,
        delta_link=request.get("deltaLink"),
        log_since=datetime.fromisoformat(request["logSince"]),
        look_directly=bool(request.get("lookDirectly")),
    )
    notified = await _raise_notices(client, result.notices)
    updates: dict[str, dict[str, dict[str, Any]]] = {}
    for iid, update in result.delivered.items():
        updates.setdefault(sync_watch.shard_key(iid), {})[iid] = update
    for key, shard_updates in updates.items():
        await client.signal_entity(df.EntityId(c.SYNC_WATCH_REGISTRY, key), "delivered", shard_updates)
    if expired:
        # Events that ended without unregistering (terminated by hand): drop them so the watcher can go idle.
        by_shard: dict[str, list[str]] = {}
        for iid in expired:
            by_shard.setdefault(sync_watch.shard_key(iid), []).append(iid)
        for key, ids in by_shard.items():
            await client.signal_entity(df.EntityId(c.SYNC_WATCH_REGISTRY, key), "unwatch", {"instanceIds": ids})
        await client.signal_entity(sync_watch.COORDINATOR, "unregister", {"count": len(expired)})
    log_event(logger, "sync-watch-round", count=len(live), operation="notified", status=notified)
    assert result.log_since is not None
    return {
        "deltaLink": result.delta_link,
        "logSince": result.log_since.isoformat(),
        "waiting": len(live),
        "notified": notified,
        "graphRequests": result.graph_requests,
        "expired": len(expired),
    }


@bp.activity_trigger(input_name="request", activity=c.CHECK_BATCH_ARRIVING)
@bp.durable_client_input(client_name="client")
async def check_batch_arriving(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Whether a member of the batch is still on its way to the upload queue (running in a stage before it).

    Members are read from the batch's own input and looked at one by one until one is found on its way, so the
    usual answer costs one status read.
    """
    batch = await client.get_status(request["group"], show_input=True)  # a batch's group is its instance id
    payload = batch.input_ if batch and isinstance(batch.input_, dict) else {}
    jobs: list[dict[str, Any]] = payload.get("jobs") or []
    looked = 0
    for job in reversed(jobs):  # the last started are the likeliest to be on their way
        looked += 1
        status = await client.get_status(job["instanceId"])
        if not status or status.runtime_status not in (
            df.OrchestrationRuntimeStatus.Running,
            df.OrchestrationRuntimeStatus.Pending,
        ):
            continue
        stage = (status.custom_status or {}).get("stage") if isinstance(status.custom_status, dict) else None
        if stage is None or stage in ARRIVING_STAGES:
            return {"arriving": True, "looked": looked}
    return {"arriving": False, "looked": looked}
