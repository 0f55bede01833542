"""Where a reconciliation keeps what is too big for orchestration history and custom status: durable entities.

A run over 10,000 employees has a population and a plan of megabytes. Orchestration history replays on every
step and custom status is capped at 16 KB, so neither holds them: each goes into `reconciliation_chunk` entities of
`CHUNK_SIZE` items (`<runId>.<part>.<n>`), written by the activity that produced them and read back with the
Durable client. Each chunk carries a tag (the run and a digest of its items), so a reader can tell a chunk of this
write from a stale one and wait until every chunk has arrived. The orchestration history holds only counts.

`correlation_cases` (one entity) remembers the go-live cases that are open and what people decided: confirmed links
and rejected pairs outlive the run that raised them, and a hire for a person with an open case waits here until a
person decides (its instance is released when they do).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import azure.durable_functions as df

from provisioning.workflows import contracts as c
from provisioning.workflows.steps import decoded

bp = df.Blueprint()

CHUNK_SIZE: Final = 250
"""Items per chunk: a plan entry is about 1 KB, so a chunk stays well under the size Azure Storage keeps inline."""
CASES: Final = df.EntityId(c.CORRELATION_CASES, c.SINGLETON_KEY)


def chunk_key(run_id: str, part: str, number: int) -> str:
    return f"{run_id}.{part}.{number}"


def chunk_tag(run_id: str, items: Sequence[Any]) -> str:
    digest = hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{run_id}:{len(items)}:{digest}"


def chunks(items: Sequence[Any], size: int = CHUNK_SIZE) -> list[list[Any]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)] or [[]]


async def write_chunks(
    client: df.DurableOrchestrationClient, run_id: str, part: str, items: Sequence[Any]
) -> list[str]:
    """Signal every chunk of `items` into its entity; returns the tags a reader waits for, in order."""
    tags = []
    for number, chunk in enumerate(chunks(items)):
        tag = chunk_tag(run_id, chunk)
        entity = df.EntityId(c.RECONCILIATION_CHUNK, chunk_key(run_id, part, number))
        await client.signal_entity(entity, "put", {"tag": tag, "items": chunk})
        tags.append(tag)
    return tags


async def _chunk(client: df.DurableOrchestrationClient, run_id: str, part: str, number: int, tag: str) -> Any:
    """One chunk's stored value when it holds the write tagged `tag`, else None."""
    state = await client.read_entity_state(df.EntityId(c.RECONCILIATION_CHUNK, chunk_key(run_id, part, number)))
    value = decoded(state.entity_state) if state and state.entity_exists else None
    return value if isinstance(value, dict) and value.get("tag") == tag else None


async def read_chunks(
    client: df.DurableOrchestrationClient, run_id: str, part: str, tags: Sequence[str]
) -> list[Any] | None:
    """Every item of the part, in order, or None while a chunk of this write has not arrived yet."""
    items: list[Any] = []
    for number, tag in enumerate(tags):
        value = await _chunk(client, run_id, part, number, tag)
        if value is None:
            return None
        items.extend(value.get("items") or [])
    return items


async def missing_chunks(
    client: df.DurableOrchestrationClient, run_id: str, part: str, tags: Sequence[str]
) -> list[int]:
    """The numbers of the chunks whose entity does not hold this write yet."""
    return [number for number, tag in enumerate(tags) if await _chunk(client, run_id, part, number, tag) is None]


def _input(context: df.DurableEntityContext) -> Any:
    """An operation's input; a signal from the Durable client arrives JSON-encoded once more (steps.decoded)."""
    return decoded(context.get_input())


@bp.entity_trigger(context_name="context", entity_name=c.RECONCILIATION_CHUNK)
def reconciliation_chunk(context: df.DurableEntityContext) -> None:
    """One chunk of a run's population or plan: `put` replaces it, `delete` forgets it (retention)."""
    if context.operation_name == "put":
        context.set_state(_input(context))
    elif context.operation_name == "delete":
        context.destruct_on_exit()
    context.set_result(True)


# -- correlation cases -------------------------------------------------------------------------------------------


def _empty_cases() -> dict[str, Any]:
    return {"runAt": None, "open": {}, "decided": {}, "waiting": {}}


def replace_open(state: dict[str, Any] | None, run_at: str, run_id: str, open_cases: dict[str, Any]) -> dict[str, Any]:
    """The open cases as the newest run sees them (an older run finishing late does not overwrite a newer one)."""
    state = {**_empty_cases(), **(state or {})}
    if state["runAt"] and state["runAt"] > run_at:
        return state
    decided = state["decided"]
    state["open"] = {
        employee_id: {case_id: {**case, "runId": run_id} for case_id, case in cases.items() if case_id not in decided}
        for employee_id, cases in open_cases.items()
    }
    state["open"] = {employee_id: cases for employee_id, cases in state["open"].items() if cases}
    state["runAt"] = run_at
    return state


def decide(state: dict[str, Any] | None, decision: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Record a person's decision on a case; returns the new state and the instances waiting for that employee.

    Confirming a case rejects the employee's other candidates and the account's other claimants: an account is one
    person's, and a person has one account.
    """
    state = {**_empty_cases(), **(state or {})}
    employee_id, account_id = str(decision["employeeId"]), str(decision["accountId"]).lower()
    stamp = {key: decision.get(key) for key in ("at", "by", "runId")}
    decided = dict(state["decided"])
    decided[decision["caseId"]] = {
        "employeeId": employee_id,
        "accountId": account_id,
        "status": decision["status"],
        **stamp,
    }
    open_cases = {emp: dict(cases) for emp, cases in state["open"].items()}
    open_cases.get(employee_id, {}).pop(decision["caseId"], None)
    if decision["status"] == "confirmed":
        for other_employee, cases in open_cases.items():
            for other_id, case in list(cases.items()):
                if other_employee == employee_id or str(case.get("accountId", "")).lower() == account_id:
                    decided[other_id] = {
                        "employeeId": other_employee,
                        "accountId": str(case.get("accountId", "")).lower(),
                        "status": "rejected",
                        "because": decision["caseId"],
                        **stamp,
                    }
                    del cases[other_id]
    state["open"] = {emp: cases for emp, cases in open_cases.items() if cases}
    state["decided"] = decided
    waiting = list(state["waiting"].get(employee_id, []))
    state["waiting"] = {emp: ids for emp, ids in state["waiting"].items() if emp != employee_id}
    return state, waiting


def check(
    state: dict[str, Any] | None, employee_id: str, instance_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a hire must know: the employee's open cases and confirmed link; a waiting instance is remembered."""
    state = {**_empty_cases(), **(state or {})}
    open_cases = state["open"].get(employee_id, {})
    confirmed = [
        {"caseId": case_id, "accountId": item["accountId"]}
        for case_id, item in state["decided"].items()
        if item["employeeId"] == employee_id and item["status"] == "confirmed"
    ]
    if open_cases and instance_id:
        waiting = dict(state["waiting"])
        waiting[employee_id] = sorted({*waiting.get(employee_id, []), instance_id})
        state["waiting"] = waiting
    return state, {"open": [{"caseId": key, **value} for key, value in open_cases.items()], "confirmed": confirmed}


def decisions_of(state: dict[str, Any] | None) -> tuple[frozenset[str], dict[str, str]]:
    """Rejected case ids and confirmed links (employeeId -> account id), for the next comparison."""
    decided = (state or {}).get("decided") or {}
    rejected = frozenset(case_id for case_id, item in decided.items() if item.get("status") == "rejected")
    confirmed = {
        item["employeeId"]: item["accountId"] for item in decided.values() if item.get("status") == "confirmed"
    }
    return rejected, confirmed


def open_cases_of(entries: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The open cases of a plan, by employee, as `correlation_cases` keeps them (ids and confidence only)."""
    result: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for case in entry.get("cases") or ():
            result.setdefault(str(entry["employeeId"]), {})[case["caseId"]] = {
                "accountId": str(case["account"]["id"]).lower(),
                "confidence": case["confidence"],
            }
    return result


@bp.entity_trigger(context_name="context", entity_name=c.CORRELATION_CASES)
def correlation_cases(context: df.DurableEntityContext) -> None:
    state = context.get_state(_empty_cases)
    payload = _input(context) or {}
    operation = context.operation_name
    if operation == "replace":
        state = replace_open(state, str(payload["runAt"]), str(payload["runId"]), dict(payload.get("open") or {}))
        context.set_result(True)
    elif operation == "decide":
        state, waiting = decide(state, payload)
        context.set_result({"waiting": waiting})
    elif operation == "check":
        state, answer = check(state, str(payload["employeeId"]), payload.get("instanceId"))
        context.set_result(answer)
    else:
        context.set_result(state)
    context.set_state(state)
