"""`GET /api/hr-events`: recent events, newest first, filtered by stage, type, employee and time, paged.

The list is read from the Durable client's instance query (`get_status_by`), the same store the portal reads. That
query answers one page of at most 100 instances in no particular order (the Python SDK does not follow the
continuation token: azure-functions-durable-python#580), so a time window that comes back full may hold more: it is
split at the median creation time of what it returned, newer part first, until every window is complete. Pages are
cut by creation time: the cursor is the (createdTime, id) of the last event returned, and the next page continues
strictly after it, so an event never appears twice however many arrive meanwhile.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from provisioning.events import EVENT_TYPES, FieldError
from provisioning.workflows import contracts as c

QUERY_PAGE = 100
"""Instances the Durable instance query returns per call (the extension's default page size)."""
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_QUERIES = 64
"""Instance queries one request may make; beyond it the page ends early and the cursor continues from there."""
ACTIONS = ("rehire-new",)
"""Types an event can show besides the event types: the action it ran as (a rehire with no account left)."""

Query = Callable[[datetime | None, datetime | None, list[df.OrchestrationRuntimeStatus] | None], Awaitable[list[Any]]]

_RUNNING = [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]
_STATUSES_OF_STAGE: dict[str, list[df.OrchestrationRuntimeStatus]] = {
    "completed": [df.OrchestrationRuntimeStatus.Completed],
    "superseded": [df.OrchestrationRuntimeStatus.Completed],
    "cancelled": [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Terminated],
    "failed": [df.OrchestrationRuntimeStatus.Failed],
}


class ListQueryError(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the caller asked for; `after` is the position the previous page ended at."""

    stages: frozenset[str] | None
    types: frozenset[str] | None
    employee_id: str | None
    created_from: datetime | None
    created_to: datetime | None
    limit: int
    after: tuple[datetime, str] | None = None

    def runtime_statuses(self) -> list[df.OrchestrationRuntimeStatus] | None:
        """The runtime statuses that can hold the wanted stages, so the store filters before we do."""
        if not self.stages:
            return None
        statuses: list[df.OrchestrationRuntimeStatus] = []
        for stage in sorted(self.stages):
            for status in _STATUSES_OF_STAGE.get(stage, _RUNNING):
                if status not in statuses:
                    statuses.append(status)
        return statuses


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""Instance queries format instants as four-digit years; nothing was accepted before 1970 anyway."""


def _instant(name: str, value: str, errors: list[FieldError]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        errors.append(FieldError(name, "must be an RFC 3339 timestamp such as 2026-11-20T00:00:00Z"))
        return None
    if parsed.tzinfo is None:
        errors.append(FieldError(name, "must carry a UTC offset"))
        return None
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or instant < EARLIEST:
        errors.append(FieldError(name, "must be 1970-01-01T00:00:00Z or later"))
        return None
    return instant


def parse_query(params: Mapping[str, str]) -> ListQuery:
    """Validate the query parameters; every problem is reported at once, named by its parameter."""
    errors: list[FieldError] = []
    known = {"stage", "type", "employeeId", "createdFrom", "createdTo", "limit", "cursor", "code"}
    errors += [FieldError(name, "unknown query parameter") for name in sorted(set(params) - known)]
    stages = frozenset(_csv(params.get("stage", ""))) or None
    if stages and not stages <= set(c.STAGES):
        errors.append(FieldError("stage", "must be one or more of " + ", ".join(c.STAGES)))
    types = frozenset(_csv(params.get("type", ""))) or None
    if types and not types <= set(EVENT_TYPES) | set(ACTIONS):
        errors.append(FieldError("type", "must be one or more of " + ", ".join((*EVENT_TYPES, *ACTIONS))))
    employee_id = params.get("employeeId") or None
    created_to = _instant("createdTo", params["createdTo"], errors) if params.get("createdTo") else None
    created_from = _instant("createdFrom", params["createdFrom"], errors) if params.get("createdFrom") else None
    limit = DEFAULT_LIMIT
    if params.get("limit"):
        text = params["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        else:
            limit = int(text)
    after = _cursor(params["cursor"], errors) if params.get("cursor") else None
    if errors:
        raise ListQueryError(errors)
    if created_from and created_to and created_from > created_to:
        raise ListQueryError([FieldError("createdFrom", "must not be after createdTo")])
    return ListQuery(stages, types, employee_id, created_from, created_to, limit, after)


def encode_cursor(created: datetime, instance_id: str) -> str:
    raw = json.dumps([created.astimezone(UTC).isoformat(), instance_id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _cursor(text: str, errors: list[FieldError]) -> tuple[datetime, str] | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        created, instance_id = json.loads(raw)
        position = datetime.fromisoformat(created).astimezone(UTC), str(instance_id)
        if position[0] < EARLIEST:
            raise ValueError("before 1970")
        return position
    except (ValueError, TypeError, OverflowError):
        errors.append(FieldError("cursor", "is not a cursor this API returned (use nextCursor as it is)"))
        return None


def _position(status: Any) -> tuple[datetime, str]:
    created = status.created_time or datetime.min.replace(tzinfo=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC), str(status.instance_id)


async def collect(query: ListQuery, run_query: Query, matches: Callable[[Any], bool]) -> tuple[list[Any], str | None]:
    """The page: up to `limit` matching instances, newest first, and the cursor of the next page (None at the end)."""
    wanted = query.limit + 1
    statuses = query.runtime_statuses()
    found: dict[str, Any] = {}
    queries = 0
    explored_to: datetime | None = None  # everything created at or after this instant has been seen

    def fits(status: Any) -> bool:
        return (query.after is None or _position(status) < query.after) and matches(status)

    async def window(low: datetime | None, high: datetime | None) -> bool:
        """Add the matching instances of [low, high] (None: unbounded); False when the query budget ran out."""
        nonlocal queries, explored_to
        if queries >= MAX_QUERIES:
            return False
        queries += 1
        page = await run_query(low, high, statuses)
        times = sorted(_position(status)[0] for status in page)
        middle = times[len(times) // 2] if times else None
        splittable = middle is not None and (low is None or middle > low) and (high is None or middle < high)
        if len(page) >= QUERY_PAGE and splittable:
            if not await window(middle, high):
                return False
            if sum(1 for status in found.values() if fits(status)) >= wanted:
                return True
            return await window(low, middle)
        for status in page:
            found[str(status.instance_id)] = status
        explored_to = low
        return True

    upper = query.created_to
    if query.after is not None:
        upper = min(upper, query.after[0]) if upper else query.after[0]
    finished = await window(query.created_from, upper)
    ordered = sorted((s for s in found.values() if fits(s)), key=_position, reverse=True)
    page = ordered[: query.limit]
    if len(ordered) > query.limit:
        return page, encode_cursor(*_position(page[-1]))
    if not finished and explored_to is not None:
        # The budget ran out: continue below what was explored (events at that instant were all seen).
        return page, encode_cursor(explored_to, "")
    return page, None
