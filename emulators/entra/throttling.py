"""bulkUpload throttling: 40 calls in any sliding 5 s window and a rolling 24 h tenant quota.

Both limits come from config (rateLimit.callsPer5s, rateLimit.dailyCalls). A throttled call is
not counted, so a client that honours Retry-After gets through once the window has moved.
"""

from __future__ import annotations

import math

from emulators.entra.state import EmulatorState

WINDOW_SECONDS = 5.0
DAY_SECONDS = 86_400.0


def check_and_count(state: EmulatorState, at: float) -> int | None:
    """Count one bulkUpload call at ``at``; return seconds to wait when it is throttled instead."""
    limits = state.config["rateLimit"]
    short = state.bulk_call_times
    daily = state.daily_call_times
    while short and short[0] <= at - WINDOW_SECONDS:
        short.popleft()
    while daily and daily[0] <= at - DAY_SECONDS:
        daily.popleft()
    if len(daily) >= int(limits["dailyCalls"]):
        return max(1, math.ceil(daily[0] + DAY_SECONDS - at))
    if len(short) >= int(limits["callsPer5s"]):
        return max(1, math.ceil(short[0] + WINDOW_SECONDS - at))
    short.append(at)
    daily.append(at)
    return None
