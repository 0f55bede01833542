"""Which time zone an employee lives in when the event does not say: the country's zone, when it has only one.

A leaver must be disabled at the end of their own day, not at 18:00 UTC, yet a termination often carries nothing but
the employee id. Before the configured default applies, the workflow looks for a zone it can stand behind: the
zone an earlier event named (kept per employee), or the employee's country (usageLocation / country) when every
IANA zone of that country keeps the same clock. Germany (Europe/Berlin and Europe/Busingen keep the same time)
qualifies; Spain (Madrid and the Canaries) and the United States do not, and fall back to the default.

Pure: the country table is the IANA `zone.tab` shipped in the `tzdata` package, read once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["ZoneSource", "country_zones", "zone_for_country"]

ZoneSource = Literal["event", "event-location", "earlier-event", "account-location", "default"]
"""Where the zone of a run came from, best first (shown in the status)."""


@lru_cache(maxsize=1)
def _zone_table() -> dict[str, tuple[str, ...]]:
    """ISO 3166 country code → its IANA zones, in zone.tab order (the most populous region first)."""
    table: dict[str, list[str]] = defaultdict(list)
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            table[fields[0].upper()].append(fields[2])
    return {code: tuple(zones) for code, zones in table.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """The IANA zones of an ISO 3166-1 alpha-2 country (empty for an unknown code)."""
    return _zone_table().get(country.strip().upper(), ())


def zone_for_country(country: str | None, around: date) -> str | None:
    """The zone of `country` if all its zones keep the same clock in the year around `around`, else None.

    Clocks are compared at noon UTC on the first of every month from six months before to six months after
    `around`, which catches different standard offsets and different daylight-saving rules alike.
    """
    if not country:
        return None
    zones = country_zones(country)
    if not zones:
        return None
    if len(zones) == 1:
        return zones[0]
    # Six months either side must stay inside the calendar Python holds (HR writes 9999-12-31 for "open-ended").
    first = datetime(min(max(around.year, 2), 9998), around.month, 1, 12, tzinfo=UTC)
    instants = [first + timedelta(days=30 * months) for months in range(-6, 7)]
    offsets = {tuple(ZoneInfo(zone).utcoffset(instant) for instant in instants) for zone in zones}
    return zones[0] if len(offsets) == 1 else None
