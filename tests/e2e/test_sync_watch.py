"""The sync watch on the real stack: the app in the functions host, the Entra emulator's provisioning pipeline.

A hire that has uploaded its record waits for the provisioning log's verdict and its account in Entra. With
SYNC_WAIT_MODE=watch (the default) one watcher orchestration reads the tenant for every waiting event and raises
to each what concerns it; every event also keeps its own deadline timer and looks for itself at the deadline, so
a watcher that is stopped (here: suspended through the Durable management API) never loses an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from demo.stack import Stack, wait_until
from emulators.functions_host.history import EventType
from provisioning.workflows import contracts as c
from tests.e2e.test_product import HIRE, event, outcome, submit

pytestmark = pytest.mark.e2e

WATCHER = f"{c.WATCHER_INSTANCE_PREFIX}1"
"""The first watcher generation: the one the first waiting event starts on a fresh task hub."""


def _history(stack: Stack, instance_id: str) -> list[dict[str, Any]]:
    return [dict(entry) for entry in stack.host.history(instance_id)]


def _notices(history: list[dict[str, Any]]) -> list[str]:
    return [
        str(entry.get("Name"))
        for entry in history
        if entry["EventType"] == EventType.EVENT_RAISED
        and str(entry.get("Name", "")).startswith(c.EVENT_SYNC_NOTICE_PREFIX)
    ]


def _own_checks(history: list[dict[str, Any]]) -> int:
    return sum(
        1
        for entry in history
        if entry["EventType"] == EventType.TASK_SCHEDULED and entry.get("Name") == c.CHECK_PROVISIONING
    )


def _has_user(stack: Stack, employee_id: str) -> bool:
    return any(user.get("employeeId") == employee_id for user in stack.entra.control.state()["entraUsers"])


def test_a_waiting_hire_completes_from_the_watchers_notice(start_stack: Callable[..., Stack]) -> None:
    # A day's deadline (144 real seconds at x600): the notice, not the deadline, must be what settles the hire.
    stack = start_stack(settings={"SYNC_TIMEOUT_MINUTES": "1440"})
    accepted = submit(stack, event(eventId="e2e-watch-notice"))
    status = outcome(stack, accepted["id"], timeout=150)
    assert status["stage"] == "completed", status

    history = _history(stack, accepted["id"])
    assert _notices(history), "the watcher raised what it saw to the hire"
    assert _own_checks(history) == 0, "the hire never looked for itself: its deadline did not come"
    assert _has_user(stack, HIRE["employee"]["employeeId"])

    # Nobody waits any more: the watcher ends by itself (its next round finds the registry empty).
    watcher = wait_until(
        lambda: (found := stack.host.status(WATCHER)) and found["runtimeStatus"] == "Completed" and found,
        timeout=60,
    )
    assert watcher["output"]["rounds"] >= 1 and watcher["output"]["stopped"] == "idle"


def test_a_hire_completes_from_its_own_deadline_check_while_the_watcher_is_suspended(
    start_stack: Callable[..., Stack],
) -> None:
    # The agent is offline until the watcher is suspended, so the watcher cannot have seen anything before.
    stack = start_stack(settings={"SYNC_TIMEOUT_MINUTES": "120"}, entra_config={"agentOnline": False})
    accepted = submit(stack, event(eventId="e2e-watch-outage"))
    wait_until(lambda: stack.host.status(WATCHER), timeout=60)
    stack.host.management.suspend(WATCHER, "watcher outage (e2e)")
    wait_until(lambda: stack.host.status(WATCHER)["runtimeStatus"] == "Suspended", timeout=30)
    stack.entra.control.configure(agentOnline=True)
    wait_until(lambda: _has_user(stack, HIRE["employee"]["employeeId"]), timeout=60)

    status = outcome(stack, accepted["id"], timeout=120)
    assert status["stage"] == "completed", status
    history = _history(stack, accepted["id"])
    assert _notices(history) == [], "the suspended watcher told it nothing"
    assert _own_checks(history) == 1, "one look of its own, at its deadline"

    # Back from the outage, the watcher finds nobody waiting and ends.
    stack.host.management.resume(WATCHER, "outage over")
    watcher = wait_until(
        lambda: (found := stack.host.status(WATCHER)) and found["runtimeStatus"] == "Completed" and found,
        timeout=60,
    )
    assert watcher["output"]["stopped"] == "idle"
