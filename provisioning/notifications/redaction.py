"""Personal data out of free text: what IT alerts quote from provisioning logs carries no address or phone."""

from __future__ import annotations

import re

# Anything address-shaped or an international phone number inside free text from a provisioning log.
_EMBEDDED_EMAIL = re.compile(r"(?<![^\s@<>\"'(),;:])[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
_EMBEDDED_PHONE = re.compile(r"(?<![\d+])\+\d[\d\s().-]{6,}\d")

REDACTION_LIMIT = 2000
"""Characters of free text an alert carries; a provisioning-log reason longer than this is cut (and marked)."""


def redact_personal_data(text: str) -> str:
    """Blank out email addresses and international phone numbers in free text (provisioning log reasons).

    The text is cut to REDACTION_LIMIT characters first and the patterns only start at a token boundary, so the
    work is linear in the (bounded) length whatever the input: a long run without separators can no longer make
    the address pattern rescan it from every position.
    """
    if len(text) > REDACTION_LIMIT:
        text = text[:REDACTION_LIMIT] + "…"
    return _EMBEDDED_PHONE.sub("[phone]", _EMBEDDED_EMAIL.sub("[email]", text))
