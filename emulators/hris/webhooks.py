"""Outgoing webhooks: vendor-shaped, vendor-signed POSTs to the configured target, with the vendor's retries.

Each vendor module renders a `Delivery` (body bytes and headers, signed the vendor's way) and names its retry
policy; the dispatcher thread posts it and retries per that policy, scaled by `retry_scale` so minutes become
milliseconds in tests. Faults: a lost webhook is recorded and never sent; a duplicated one is sent twice.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from emulators.hris.state import HrisState


@dataclass(frozen=True)
class RetryPolicy:
    """When a delivery is retried: on which answers, after which delays (seconds), within which timeout."""

    delays: tuple[float, ...]
    timeout_seconds: float
    retry_on: Callable[[int], bool]
    fast_attempts: int = 1
    """Requests per attempt (Personio sends up to 2 in a row before waiting)."""


@dataclass
class Delivery:
    vendor: str
    kind: str
    employee_id: str
    body: bytes
    headers: dict[str, str]
    policy: RetryPolicy
    attempts: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 0


class Dispatcher:
    """A worker thread that sends deliveries in order, one vendor retry schedule at a time."""

    def __init__(self, state: HrisState) -> None:
        self._state = state
        self._queue: queue.PriorityQueue[tuple[float, int, Delivery | None]] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._thread = threading.Thread(target=self._run, name="hris-webhooks", daemon=True)
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put((0.0, next(self._sequence), None))
        self._thread.join(timeout=10)
        self._client.close()

    def submit(self, delivery: Delivery) -> None:
        """Queue a webhook, applying the lost / duplicated faults (a duplicate is a second, separate delivery)."""
        with self._state.lock:
            vendor = self._state.vendor(delivery.vendor)
            lost = vendor.lose_webhooks > 0
            vendor.lose_webhooks -= int(lost)
            duplicated = not lost and vendor.duplicate_webhooks > 0
            vendor.duplicate_webhooks -= int(duplicated)
            copies = [delivery] + ([replace(delivery, attempts=[])] if duplicated else [])
            for copy in copies:
                vendor.deliveries.append(
                    {
                        "kind": copy.kind,
                        "employeeId": copy.employee_id,
                        "body": copy.body.decode("utf-8"),
                        "status": "lost" if lost else "queued",
                        "attempts": copy.attempts,
                        "queuedAt": _now(),
                    }
                )
        if not lost:
            for copy in copies:
                copy.generation = self._state.generation
                self._queue.put((time.monotonic(), next(self._sequence), copy))

    def _run(self) -> None:
        """Send whatever is due first; a retry waiting for its time never holds back a newer webhook."""
        while not self._stopping.is_set():
            due, sequence, delivery = self._queue.get()
            if delivery is None:
                return
            if delivery.generation != self._state.generation:
                continue  # queued before a reset of the emulator
            wait = due - time.monotonic()
            if wait > 0:
                self._queue.put((due, sequence, delivery))
                if self._stopping.wait(min(wait, 0.02)):
                    return
                continue
            self._attempt(delivery, len(delivery.attempts) // delivery.policy.fast_attempts)

    def _attempt(self, delivery: Delivery, round_number: int) -> None:
        with self._state.lock:
            vendor = self._state.vendor(delivery.vendor)
            target, scale = vendor.webhook_target, vendor.retry_scale
        status = 0
        for _ in range(delivery.policy.fast_attempts):
            status = self._post(delivery, target)
            if 200 <= status < 300 or not delivery.policy.retry_on(status):
                break
        self._settle(delivery, status)
        if (200 <= status < 300) or not delivery.policy.retry_on(status):
            return
        if round_number >= len(delivery.policy.delays):
            return
        self._queue.put(
            (time.monotonic() + delivery.policy.delays[round_number] * scale, next(self._sequence), delivery)
        )

    def _post(self, delivery: Delivery, target: str | None) -> int:
        if not target:
            delivery.attempts.append({"at": _now(), "status": 0, "error": "no webhook target"})
            return 0
        try:
            response = self._client.post(
                target, content=delivery.body, headers=delivery.headers, timeout=delivery.policy.timeout_seconds
            )
            status = response.status_code
            # What the receiver answered, as the vendor's delivery log shows it (bounded).
            delivery.attempts.append({"at": _now(), "status": status, "response": response.text[:4000]})
        except httpx.TimeoutException:
            status = 0
            delivery.attempts.append({"at": _now(), "status": 0, "error": "timeout"})
        except httpx.HTTPError as error:
            status = 0
            delivery.attempts.append({"at": _now(), "status": 0, "error": type(error).__name__})
        return status

    def _settle(self, delivery: Delivery, status: int) -> None:
        with self._state.lock:
            for record in self._state.vendor(delivery.vendor).deliveries:
                if record["attempts"] is delivery.attempts:
                    record["status"] = "delivered" if 200 <= status < 300 else f"failed ({status})"


def _now() -> str:
    return datetime.now(UTC).isoformat()
