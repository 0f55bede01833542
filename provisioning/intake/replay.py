"""Replay memory for signed requests, shared by every instance of the app and surviving restarts.

A signed request that changes something is remembered as a tiny orchestration whose instance id is derived from
its signature (`sig-<first 40 hex digits>`). Instance ids are unique per task hub, which every scaled-out instance
shares: starting a second instance with an id that is still Pending or Running fails on every Durable backend,
and the status lookup before it catches ids whose guard has already completed. So a replay to another instance,
or after a restart, is refused just like one to the same worker. The guard stays Running until the signature's
timestamp leaves the acceptance window (so the backend's own uniqueness check covers the whole window), then
completes; the retention purge deletes it with other finished instances.

Why not an entity: a client can only signal an entity (fire and forget) or read its state; neither is an
atomic check-and-set, so two concurrent replays could both read "unseen". Starting an instance is atomic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c

bp = df.Blueprint()

GUARD_ID_DIGITS = 40
"""160 bits of the HMAC: collisions between different requests are out of reach."""


class ReplayRefused(Exception):
    """This signed request was received before (by this or another instance)."""


def guard_instance_id(digest: str) -> str:
    return f"{c.SIGNATURE_INSTANCE_PREFIX}{digest[:GUARD_ID_DIGITS].lower()}"


async def remember(client: df.DurableOrchestrationClient, digest: str, expires_at: datetime) -> None:
    """Record a signature as used; raise ReplayRefused when it was used before. Other failures propagate."""
    instance_id = guard_instance_id(digest)
    if await client.get_status(instance_id):
        raise ReplayRefused(instance_id)
    try:
        await client.start_new(c.SIGNATURE_GUARD, instance_id, {"expiresAt": expires_at.astimezone(UTC).isoformat()})
    except Exception:
        if await client.get_status(instance_id):  # a concurrent copy of the same request won the start
            raise ReplayRefused(instance_id) from None
        raise


@bp.orchestration_trigger(context_name="context", orchestration=c.SIGNATURE_GUARD)
def signature_guard(context: df.DurableOrchestrationContext) -> Any:
    """Hold the signature's instance id until its timestamp can no longer be accepted."""
    expires_at = datetime.fromisoformat(str((context.get_input() or {}).get("expiresAt")))
    if expires_at > context.current_utc_datetime:
        yield context.create_timer(expires_at)
    return None
