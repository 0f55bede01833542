"""Timestamps in the shapes Microsoft's APIs use (UTC ISO 8601 with a trailing Z)."""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    """Wall-clock seconds; the emulator always runs on real time."""
    return time.time()


def iso(epoch: float) -> str:
    """Epoch seconds as Graph writes them: UTC, seconds precision plus fraction, trailing Z."""
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp (Z or offset); naive values are taken as UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def to_epoch(value: float | int | str | None) -> float | None:
    """Accept epoch seconds or an ISO string (config values may use either)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return parse_iso(value).timestamp()
