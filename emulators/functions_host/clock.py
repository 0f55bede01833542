"""Orchestration clocks: what `context.current_utc_datetime` and durable timers run on.

Orchestrators see the host's clock, never the wall clock directly. A scaled clock lets a demo compress a
60-minute timer into a minute; a virtual clock lets tests jump straight to the next timer. Activities
always run in real time and are not affected by either.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class HostClock(Protocol):
    """The clock an orchestration host reads and waits on."""

    @property
    def is_virtual(self) -> bool: ...

    def now(self) -> datetime: ...

    def real_seconds_until(self, when: datetime) -> float:
        """How long, in real seconds, until the clock reaches `when` (0 if it already has)."""
        ...

    def jump_to(self, when: datetime) -> None:
        """Move a virtual clock forward to `when`; a real-time clock ignores this."""
        ...

    def resume_from(self, when: datetime) -> None:
        """After a restart, never run behind the last time the host recorded."""
        ...


class ScaledClock:
    """Real time, running `time_scale` times faster, anchored at construction (or a resumed time)."""

    def __init__(self, time_scale: float = 1.0, start: datetime | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        self._anchor_host = start or datetime.now(UTC)
        self._anchor_mono = time.monotonic()

    @property
    def is_virtual(self) -> bool:
        return False

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._anchor_mono
            return self._anchor_host + timedelta(seconds=elapsed * self.time_scale)

    def real_seconds_until(self, when: datetime) -> float:
        remaining = (when - self.now()).total_seconds()
        return max(0.0, remaining / self.time_scale)

    def jump_to(self, when: datetime) -> None:
        return None

    def resume_from(self, when: datetime) -> None:
        current = self.now()
        if when > current:
            with self._lock:
                self._anchor_host = when
                self._anchor_mono = time.monotonic()


class VirtualClock:
    """A clock that moves only when told to: by `advance`, or by the host jumping to the next timer."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    @property
    def is_virtual(self) -> bool:
        return True

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a clock never runs backwards")
        with self._lock:
            self._now += delta
            return self._now

    def real_seconds_until(self, when: datetime) -> float:
        return 0.0 if when <= self.now() else float("inf")

    def jump_to(self, when: datetime) -> None:
        with self._lock:
            self._now = max(self._now, when)

    def resume_from(self, when: datetime) -> None:
        self.jump_to(when)
