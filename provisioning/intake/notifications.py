"""What a vendor webhook tells us, once verified and parsed: which employee changed, and how we recognise a repeat.

Vendor notifications carry ids only (BambooHR, HiBob and Personio all recommend fetching the record from their
API), so a `Notification` is small and holds no personal data beyond the vendor's employee id. It is the input of
the `hris_notification` orchestration and its instance id is derived from the vendor's delivery id: the same
delivery posted twice finds the first run instead of starting a second.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from provisioning.events import FieldError

__all__ = [
    "INSTANCE_PREFIX",
    "IntakeProblem",
    "Notification",
    "constant_time_equal",
    "digest",
    "optional_text",
    "require_object",
    "require_text",
]

INSTANCE_PREFIX = "hr-intake-"
"""Instance ids of `hris_notification` runs. They start with "hr-" so GET /api/hr-events/{id} reports them too."""

_SAFE_REF = re.compile(r"[^A-Za-z0-9._-]")


class IntakeProblem(Exception):
    """A webhook the route must refuse, answered as RFC 9457 problem+json. Never carries the body or a secret."""

    def __init__(self, status: int, title: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, list(errors or [])


@dataclass(frozen=True, slots=True)
class Notification:
    """One employee change announced by an HR system.

    `delivery_id` is the vendor's own event or delivery id; where the vendor sends none (BambooHR) it is a digest
    of the signed body, which the vendor re-sends unchanged on a retry. `event_name` is the vendor's event type,
    `occurred_at` its timestamp (RFC 3339), kept to order changes for one employee.
    """

    vendor: str
    delivery_id: str
    event_name: str
    employee_ref: str
    occurred_at: str | None = None

    @property
    def instance_id(self) -> str:
        """The Durable instance id of the run for this notification (same delivery, same id)."""
        return f"{INSTANCE_PREFIX}{self.vendor}-{digest(self.delivery_id, self.employee_ref)[:40]}"

    @property
    def safe_employee_ref(self) -> str:
        """The vendor's employee id with anything outside [A-Za-z0-9._-] replaced, for event ids."""
        return _SAFE_REF.sub("-", self.employee_ref)[:64]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        return cls(
            vendor=str(data["vendor"]),
            delivery_id=str(data["delivery_id"]),
            event_name=str(data["event_name"]),
            employee_ref=str(data["employee_ref"]),
            occurred_at=data.get("occurred_at"),
        )


def digest(*parts: str | bytes) -> str:
    """SHA-256 hex of the parts, unambiguously joined (a length prefix per part)."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()


def constant_time_equal(expected: str, received: str) -> bool:
    """Compare a computed signature or token with what the request carried without leaking timing."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8", "replace"))


def require_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise IntakeProblem(
            400, "Unexpected payload", f"{path} must be a JSON object.", [FieldError(path, "must be a JSON object")]
        )
    return value


def require_text(data: Mapping[str, Any], key: str, path: str, *, max_length: int = 128) -> str:
    """A required id-like value; numbers are accepted (vendors send ids as numbers or strings)."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise IntakeProblem(400, "Unexpected payload", f"{path} is missing.", [FieldError(path, "required")])
    text = str(value).strip()
    if len(text) > max_length or any(ord(char) < 32 for char in text):
        raise IntakeProblem(400, "Unexpected payload", f"{path} is not an id.", [FieldError(path, "not an id")])
    return text


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None
