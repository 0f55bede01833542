"""What every HR system connector offers the route and the activities, and helpers the vendor modules share."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from iso3166 import countries

from provisioning.events import ISO_3166_ALPHA2
from provisioning.intake.notifications import Notification
from provisioning.intake.records import HrRecord, MappedEvent
from provisioning.settings import Settings

__all__ = ["Connector", "SecretReader", "WritebackResult", "country_code", "rfc3339", "text"]

SecretReader = Callable[[str], str]
"""Reads a Key Vault secret by name (the runtime's cached SecretCache.get)."""

# Short names HR systems show that differ from the ISO 3166 English short names.
_COUNTRY_ALIASES = {
    "united states": "US",
    "usa": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "deutschland": "DE",
    "österreich": "AT",
    "schweiz": "CH",
    "switzerland": "CH",
    "netherlands": "NL",
    "the netherlands": "NL",
    "south korea": "KR",
    "russia": "RU",
    "czech republic": "CZ",
    "vietnam": "VN",
    "taiwan": "TW",
    "iran": "IR",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "syria": "SY",
    "laos": "LA",
}
_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


@dataclass(frozen=True)
class WritebackResult:
    """What a writeback did: which vendor fields it set (names only, never the values)."""

    fields: tuple[str, ...]


class Connector(Protocol):
    """One HR system: how it proves a webhook is its own, what the webhook means, and its API."""

    name: str
    title: str

    def enabled(self, settings: Settings) -> bool: ...

    def webhook_secret_name(self, settings: Settings) -> str | None: ...

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str, *, settings: Settings, now: float) -> None:
        """Raise IntakeProblem(401) unless the request is signed (or carries the token) as the vendor documents."""

    def parse(self, payload: object, body: bytes, settings: Settings) -> list[Notification]:
        """The employee changes the payload announces ([] for event types that need no action); IntakeProblem(400)
        naming what is unexpected otherwise."""

    def fetch_event(
        self, notification: Notification, settings: Settings, secrets: SecretReader, *, today: date
    ) -> MappedEvent:
        """Fetch the full record and map it; raises vendor_http errors (404 as VendorNotFound)."""

    def write_back(
        self, employee_ref: str, *, mail: str | None, upn: str | None, settings: Settings, secrets: SecretReader
    ) -> WritebackResult:
        """Write the work email (and the UPN where a field is configured) to the HR system; idempotent."""

    def list_employees(self, settings: Settings, secrets: SecretReader) -> Iterator[HrRecord]:
        """Every employee, page by page (for reconciliation)."""


def country_code(value: object) -> str | None:
    """ISO 3166-1 alpha-2 for a country as HR systems write it ("DE", "Germany", "United States"); None if
    unknown (the event then carries no country rather than failing a hire over it)."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip()
    if name.upper() in ISO_3166_ALPHA2:
        return name.upper()
    alias = _COUNTRY_ALIASES.get(name.casefold())
    if alias:
        return alias
    try:
        return str(countries.get(name).alpha2)
    except KeyError:
        return None


def text(value: object) -> str | None:
    """A vendor value as text: strings trimmed, numbers as digits, anything else (objects, empty) as None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def rfc3339(value: object) -> str | None:
    """A vendor timestamp as RFC 3339 with an offset ("2026-01-31T18:42:00+0000" -> "...+00:00"); None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    candidate = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", value.strip().replace(" ", "T", 1))
    try:
        parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()
