"""Structured log records that App Insights can chart and that never leak personal data or secrets.

Only an allow-list of dimensions reaches a log record: identifiers IT needs to find an instance (instance id,
event id, employee id), the stage, outcome and error code. Names, emails, phone numbers, tokens and passes have no
field here, so they cannot be logged through this helper by accident.
"""

from __future__ import annotations

import logging

__all__ = ["ALLOWED_DIMENSIONS", "log_event"]

ALLOWED_DIMENSIONS = frozenset(
    {
        "instance_id",
        "event_id",
        "employee_id",
        "event_type",
        "stage",
        "attempt",
        "outcome",
        "error_code",
        "operation",
        "count",
        "status",
        "duration_ms",
    }
)


def log_event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **dimensions: object) -> None:
    """Log `name` with allow-listed dimensions as `customDimensions` (App Insights) and in the message text."""
    unknown = set(dimensions) - ALLOWED_DIMENSIONS
    if unknown:
        raise ValueError(f"not an allowed log dimension: {', '.join(sorted(unknown))}")
    fields = {key: value for key, value in dimensions.items() if value is not None}
    text = " ".join(f"{key}={value}" for key, value in fields.items())
    logger.log(level, "%s %s", name, text, extra={"custom_dimensions": {"event": name, **fields}})
