"""Durable instance ids for events (an injective escape of the eventId, and back) and the canonical fingerprint of an
event stored with its run, so a reused eventId can be told apart from the same event sent again."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioning.events.models import HrEvent

INSTANCE_ID_PREFIX = "hr-"
# Durable Functions instance ids are limited to 256 characters.
_INSTANCE_ID_MAX = 256
_INSTANCE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")


def event_fingerprint(event: HrEvent) -> str:
    """A canonical hash of what an event says, stored with its run so a reused eventId can be compared.

    Computed over the validated event (camelCase, absent and null values left out, keys sorted), so the same
    event sent again with other whitespace, key order or explicit nulls is the same event, and any change to a
    value is a different one.
    """
    canonical = json.dumps(event.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sanitize_instance_id(event_id: str) -> str:
    """Durable instance id for an event: "hr-" + the eventId with an injective escape.

    Letters, digits, '.' and '-' are kept; any other character becomes "_xx" per UTF-8 byte, so
    two different eventIds never share an instance (which would silently merge two events).
    Ids that would exceed Durable's 256-character limit become "hr-_h" + a SHA-256 (the
    "_h" escape cannot arise from the byte escape, which only uses hex digits).
    """
    escaped = "".join(
        char if char in _INSTANCE_SAFE else "".join(f"_{byte:02x}" for byte in char.encode("utf-8"))
        for char in event_id
    )
    instance_id = INSTANCE_ID_PREFIX + escaped
    if len(instance_id) > _INSTANCE_ID_MAX or not event_id:
        return f"{INSTANCE_ID_PREFIX}_h{hashlib.sha256(event_id.encode('utf-8')).hexdigest()}"
    return instance_id


def instance_event_id(instance_id: str) -> str | None:
    """The eventId an instance id was made from (the inverse of `sanitize_instance_id`), or None when the id was
    hashed or is not an event's."""
    if not instance_id.startswith(INSTANCE_ID_PREFIX) or instance_id.startswith(f"{INSTANCE_ID_PREFIX}_h"):
        return None
    escaped = instance_id[len(INSTANCE_ID_PREFIX) :]
    decoded = bytearray()
    index = 0
    while index < len(escaped):
        if escaped[index] == "_":
            if index + 3 > len(escaped):
                return None
            try:
                decoded.append(int(escaped[index + 1 : index + 3], 16))
            except ValueError:
                return None
            index += 3
        else:
            decoded += escaped[index].encode("ascii")
            index += 1
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
