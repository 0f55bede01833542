"""The shared state behind the safeguards: the mass-change breaker and when each account was disabled.

- `change_breaker` (singleton entity) counts account-state changes, terminations (disable) and re-enables
  (rehire of an existing account), so a mistake or a spoofed feed cannot disable or hand back many accounts at
  once. It counts account creations and updates too, each kind on its own (`kind`: `create`, `update`), when they
  run, against their own hourly limits (BREAKER_CREATE_LIMIT, BREAKER_UPDATE_LIMIT): a flood of hires or of
  attribute changes, from a webhook or a reconciliation, waits for a human the same way. For account-state
  changes: It counts twice. When an event is *accepted* it is counted by the instant it arrived (rolling hour), by
  its effective date (per day, whatever the time zone) and by its batch; that catches a burst however its
  effective times are spread over zones and days. When the change *runs* it is counted again by the instant it
  runs (rolling hour and rolling 24 hours), which catches changes accepted over weeks that fall due together.
  Every attempt counts, held or not, so a burst keeps tripping the breaker until a human looks.
- `RunLimits` / `run_hold_reasons`: the same idea for a whole reconciliation plan, before anything runs.
- `account_lifecycle` (one entity per employeeId) remembers when this app disabled the account, so a later
  rehire knows how long the account has been dormant (REHIRE_HOLD_AFTER_DAYS).

Logic lives in plain functions over plain JSON state; the entity functions only adapt them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from provisioning.workflows import contracts as c

bp = df.Blueprint()

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
SUBMISSION = "submission"
EXECUTION = "execution"
STATE_CHANGES = "state"
"""The breaker's original kind: terminations, leaves, re-enables and returns (the state at the top level)."""
NOUNS = {STATE_CHANGES: "terminations or re-enables", "create": "account creations", "update": "account updates"}


@dataclass(frozen=True)
class Limits:
    hourly: int
    daily: int
    batch: int


def _empty() -> dict[str, Any]:
    return {SUBMISSION: {}, EXECUTION: {}, "byDate": {}, "byBatch": {}, "held": []}


def _recent(entries: dict[str, str], now: datetime, window: timedelta, exclude: str) -> int:
    return sum(1 for key, at in entries.items() if key != exclude and now - datetime.fromisoformat(at) < window)


def _prune(state: dict[str, Any], now: datetime) -> None:
    for phase in (SUBMISSION, EXECUTION):
        state[phase] = {key: at for key, at in state[phase].items() if now - datetime.fromisoformat(at) < DAY}
    yesterday = (now - DAY).date()
    state["byDate"] = {day: ids for day, ids in state["byDate"].items() if date.fromisoformat(day) >= yesterday}
    state["byBatch"] = {
        batch: entry for batch, entry in state["byBatch"].items() if now - datetime.fromisoformat(entry["since"]) < DAY
    }


def admit_change(
    state: dict[str, Any] | None,
    *,
    instance_id: str,
    phase: str,
    at: str,
    limits: Limits,
    effective_date: str | None = None,
    batch: str | None = None,
    kind: str = STATE_CHANGES,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Count one change of `kind` in `phase`; return the new state and `{"verdict", "reason"?}`.

    A repeated call for the same instance and phase (a resubmitted event) is answered as before without
    counting it twice. Creations and updates are kept apart from account-state changes (`state["kinds"]`), each
    with its own counts and limits.
    """
    state = {**_empty(), **(state or {})}
    if kind != STATE_CHANGES:
        kinds = dict(state.get("kinds") or {})
        inner, verdict = _admit(
            kinds.get(kind), instance_id=instance_id, phase=phase, at=at, limits=limits, noun=NOUNS.get(kind, kind)
        )
        kinds[kind] = inner
        state["kinds"] = kinds
        return state, verdict
    return _admit(
        state,
        instance_id=instance_id,
        phase=phase,
        at=at,
        limits=limits,
        effective_date=effective_date,
        batch=batch,
        noun=NOUNS[STATE_CHANGES],
    )


def _admit(
    state: dict[str, Any] | None,
    *,
    instance_id: str,
    phase: str,
    at: str,
    limits: Limits,
    noun: str,
    effective_date: str | None = None,
    batch: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    state = {**_empty(), **(state or {})}
    now = datetime.fromisoformat(at)
    _prune(state, now)
    seen = dict(state[phase])
    held = list(state["held"])
    reasons: list[str] = []
    if phase == SUBMISSION:
        if _recent(seen, now, HOUR, instance_id) >= limits.hourly:
            reasons.append(f"more than {limits.hourly} {noun} were submitted within an hour")
        if effective_date:
            same_day = [other for other in state["byDate"].get(effective_date, []) if other != instance_id]
            if len(same_day) >= limits.daily:
                reasons.append(f"more than {limits.daily} {noun} take effect on {effective_date}")
            by_date = dict(state["byDate"])
            by_date[effective_date] = [*same_day, instance_id]
            state["byDate"] = by_date
        if batch:
            entry = state["byBatch"].get(batch) or {"since": at, "ids": []}
            others = [other for other in entry["ids"] if other != instance_id]
            if len(others) >= limits.batch:
                reasons.append(f"the batch holds more than {limits.batch} terminations or rehires")
            state["byBatch"] = {**state["byBatch"], batch: {"since": entry["since"], "ids": [*others, instance_id]}}
    else:
        if _recent(seen, now, HOUR, instance_id) >= limits.hourly:
            reasons.append(f"more than {limits.hourly} {noun} are running within an hour")
        if _recent(seen, now, DAY, instance_id) >= limits.daily:
            reasons.append(f"more than {limits.daily} {noun} are running within 24 hours")
    seen.setdefault(instance_id, at)
    state[phase] = seen
    if reasons:
        if instance_id not in held:
            held.append(instance_id)
        state["held"] = held
        return state, {"verdict": "held", "reason": "; ".join(reasons)}
    return state, {"verdict": "admitted"}


@dataclass(frozen=True)
class RunLimits:
    """Per-run thresholds of a reconciliation: a plan with more changes of a kind than its count or its percentage
    of the accounts in scope is held (disables and re-enables count together, like the breaker's)."""

    creates: int = 100
    creates_percent: int = 10
    updates: int = 500
    updates_percent: int = 20
    disables: int = 25
    disables_percent: int = 5

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunLimits:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: int(value) for key, value in (data or {}).items() if key in known})


def run_hold_reasons(changes: dict[str, int], *, accounts: int, limits: RunLimits) -> list[str]:
    """Why a reconciliation plan must wait for approval ([] = it may be applied as it is).

    `changes` counts the plan's `create`, `update`, `disable` and `enable` changes; `accounts` is the number of
    enabled accounts in scope, the base of the percentages (none: any change of a kind with a percentage is held).
    """
    kinds = (
        ("creates", changes.get("create", 0), limits.creates, limits.creates_percent),
        ("updates", changes.get("update", 0), limits.updates, limits.updates_percent),
        (
            "disables and re-enables",
            changes.get("disable", 0) + changes.get("enable", 0),
            limits.disables,
            limits.disables_percent,
        ),
    )
    reasons = []
    for label, count, most, percent in kinds:
        share = count * 100 / accounts if accounts else (100.0 if count else 0.0)
        if count > most:
            reasons.append(f"the plan holds {count} {label}, more than {most}")
        elif share > percent:
            reasons.append(
                f"the plan holds {count} {label}, {share:.1f}% of {accounts} accounts (more than {percent}%)"
            )
    return reasons


def release_held(state: dict[str, Any] | None, instance_id: str) -> dict[str, Any]:
    state = {**_empty(), **(state or {})}
    state["held"] = [held for held in state["held"] if held != instance_id]
    if state.get("kinds"):
        state["kinds"] = {
            kind: {**inner, "held": [held for held in inner.get("held", []) if held != instance_id]}
            for kind, inner in state["kinds"].items()
        }
    return state


@bp.entity_trigger(context_name="context", entity_name=c.CHANGE_BREAKER)
def change_breaker(context: df.DurableEntityContext) -> None:
    state = context.get_state(_empty)
    payload = context.get_input() or {}
    if context.operation_name == "admit":
        limits = Limits(**payload["limits"])
        state, verdict = admit_change(
            state,
            instance_id=str(payload["instanceId"]),
            phase=str(payload["phase"]),
            at=str(payload["at"]),
            limits=limits,
            effective_date=payload.get("effectiveDate"),
            batch=payload.get("batch"),
            kind=str(payload.get("kind") or STATE_CHANGES),
        )
        context.set_state(state)
        context.set_result(verdict)
    elif context.operation_name == "release":
        context.set_state(release_held(state, str(payload)))
        context.set_result(True)
    else:
        context.set_result(state)


# -- when was the account disabled -------------------------------------------------------------------------------


def disabled_days(state: dict[str, Any] | None, now: datetime) -> float | None:
    """Days since this app disabled the account, or None when it does not know (then a rehire is held)."""
    disabled_at = (state or {}).get("disabledAt")
    if not disabled_at:
        return None
    return max(0.0, (now - datetime.fromisoformat(disabled_at)).total_seconds() / 86400)


@bp.entity_trigger(context_name="context", entity_name=c.ACCOUNT_LIFECYCLE)
def account_lifecycle(context: df.DurableEntityContext) -> None:
    """One per employeeId: `disabled` records when a termination took effect, `enabled` forgets it."""
    state = context.get_state(lambda: None)
    payload = context.get_input() or {}
    if context.operation_name == "disabled":
        state = {"disabledAt": payload["at"], "eventId": payload.get("eventId")}
        context.set_state(state)
    elif context.operation_name == "enabled":
        state = None
        context.set_state(state)
    context.set_result(state)
