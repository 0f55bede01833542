"""What some Graph calls hand back: a staged bulk request, a Temporary Access Pass (kept secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["BulkUploadAccepted", "TemporaryAccessPass"]


@dataclass(frozen=True, slots=True)
class BulkUploadAccepted:
    """Graph staged a bulk request (202). The per-record outcome appears later in the provisioning logs."""

    status: int
    location: str | None
    submitted_at: datetime
    request_id: str | None
    client_request_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for activity results."""
        return {
            "status": self.status,
            "location": self.location,
            "submittedAt": self.submitted_at.isoformat(),
            "requestId": self.request_id,
            "clientRequestId": self.client_request_id,
        }


class TemporaryAccessPass:
    """A freshly created Temporary Access Pass.

    The pass value is hidden from ``repr``/``str``, cannot be pickled, and is read only through
    :meth:`reveal`, so it cannot slip into a log line, an exception or an activity result by accident.
    """

    __slots__ = ("_value", "created", "id", "lifetime_minutes", "start", "usable_once")

    def __init__(
        self,
        *,
        id: str,
        value: str,
        start: datetime | None,
        lifetime_minutes: int,
        usable_once: bool,
        created: datetime | None,
    ) -> None:
        self.id = id
        self._value = value
        self.start = start
        self.lifetime_minutes = lifetime_minutes
        self.usable_once = usable_once
        self.created = created

    def reveal(self) -> str:
        """The pass itself. Call only where it is put into the message to its recipient."""
        return self._value

    def facts(self) -> dict[str, Any]:
        """Non-secret facts about the pass, safe for activity results and logs."""
        return {
            "id": self.id,
            "startDateTime": self.start.isoformat() if self.start else None,
            "lifetimeInMinutes": self.lifetime_minutes,
            "isUsableOnce": self.usable_once,
        }

    def __repr__(self) -> str:
        return (
            f"TemporaryAccessPass(id={self.id!r}, start={self.start!r}, "
            f"lifetime_minutes={self.lifetime_minutes}, usable_once={self.usable_once}, value=<hidden>)"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a Temporary Access Pass is never serialised")
