"""bulkUpload throttling: a sliding short window and a rolling 24 h tenant quota.

Microsoft's API-driven inbound provisioning concepts page (and its troubleshooting page) state "40 API
calls within any 5-second window" and a tenant quota of 2,000 calls per 24 hours with Entra ID P1/P2
or 6,000 with Entra ID Governance; the bulkUpload API reference states "40 requests per second". The
defaults (``rateLimit.callsPerWindow`` 40, ``windowSeconds`` 5, ``dailyCalls`` 6000) follow the
concepts page, the stricter reading; ``windowSeconds: 1`` emulates the API reference's figure and
``dailyCalls: 2000`` the P1/P2 tenant. A throttled call is not counted, so a client that honours
Retry-After gets through once the window has moved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emulators.entra.state import EmulatorState

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class Throttled:
    """A refused call: how long to wait, and the 429 message naming the limit that was hit."""

    seconds: int
    message: str


def _plural(count: float, unit: str) -> str:
    number = f"{count:g}"
    return f"{number} {unit}" if number == "1" else f"{number} {unit}s"


def check_and_count(state: EmulatorState, at: float) -> Throttled | None:
    """Count one bulkUpload call at ``at``; return why and how long to wait when it is throttled instead."""
    limits = state.config["rateLimit"]
    calls = int(limits["callsPerWindow"])
    window = float(limits["windowSeconds"])
    daily_quota = int(limits["dailyCalls"])
    short = state.bulk_call_times
    daily = state.daily_call_times
    while short and short[0] <= at - window:
        short.popleft()
    while daily and daily[0] <= at - DAY_SECONDS:
        daily.popleft()
    if len(daily) >= daily_quota:
        return Throttled(
            max(1, math.ceil(daily[0] + DAY_SECONDS - at)),
            f"Too many requests: the tenant's quota of {_plural(daily_quota, 'bulkUpload call')} "
            "in 24 hours is used up.",
        )
    if len(short) >= calls:
        return Throttled(
            max(1, math.ceil(short[0] + window - at)),
            f"Too many requests: the provisioning API allows {_plural(calls, 'call')} "
            f"in any {_plural(window, 'second')}.",
        )
    short.append(at)
    daily.append(at)
    return None
