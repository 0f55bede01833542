"""Optional HMAC request signing for HR calls (openapi.yaml says which routes and how).

The HR system sends `X-HR-Timestamp: <unix seconds>` and `X-HR-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`. The timestamp binds the signature to a moment (±tolerance), and a short-lived memory
of accepted signatures refuses an exact replay inside that window. Pure apart from the injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["SignatureError", "SignatureVerifier", "sign"]

TIMESTAMP_HEADER = "X-HR-Timestamp"
SIGNATURE_HEADER = "X-HR-Signature"
_PREFIX = "sha256="


class SignatureError(Exception):
    """The request is not signed by the HR system; the message says why without echoing the signature."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-HR-Signature` value for a body sent at `timestamp` (what the HR system computes)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


class SignatureVerifier:
    """Checks signatures and remembers recent ones so the same signed request cannot be replayed.

    The memory is per worker process: across scaled-out instances a replay inside the window can still be
    accepted once per instance, which the eventId idempotency then turns into a harmless duplicate.
    """

    def __init__(
        self, tolerance_seconds: int = 300, *, clock: Callable[[], float] = time.time, memory: int = 10_000
    ) -> None:
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._memory = memory
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, secret: str, timestamp: str | None, signature: str | None, body: bytes) -> None:
        if not timestamp or not signature:
            raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
        now = self._clock()
        if abs(now - int(timestamp)) > self._tolerance:
            raise SignatureError(f"{TIMESTAMP_HEADER} is outside the ±{self._tolerance} s window")
        expected = sign(secret, timestamp, body)
        if not hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("ascii", "replace")):
            raise SignatureError("the signature does not match the body and timestamp")
        with self._lock:
            self._forget_older_than(now - self._tolerance)
            if expected in self._seen:
                raise SignatureError("this signed request was already received (replay)")
            self._seen[expected] = now
            while len(self._seen) > self._memory:
                self._seen.popitem(last=False)

    def _forget_older_than(self, cutoff: float) -> None:
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if seen_at >= cutoff:
                return
            del self._seen[oldest]
