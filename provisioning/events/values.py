"""What a single value in an HR event must look like: names, free text, email addresses, phone numbers, country
codes, time zones, language tags. Pure checks; `custom` is the validation error they raise inside the models."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import available_timezones

from pydantic_core import PydanticCustomError

# ISO 3166-1 alpha-2, officially assigned codes (249, as in the IANA tz iso3166.tab).
_ISO_3166_TEXT = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW "
)
ISO_3166_ALPHA2 = frozenset(_ISO_3166_TEXT.split())
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
PHONE_NUMBER = re.compile(r"^\+?[0-9 ()./-]{3,40}(?: ?(?:x|ext\.?) ?[0-9]{1,8})?\Z")
# BCP 47 language tag (RFC 5646 "langtag" and private use), case-insensitive.
LANGUAGE_TAG = re.compile(
    r"""^(?:
        (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})   # language (+ extlang)
        (?:-[a-z]{4})?                               # script
        (?:-(?:[a-z]{2}|[0-9]{3}))?                  # region
        (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*     # variants
        (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*         # extensions
        (?:-x(?:-[a-z0-9]{1,8})+)?                   # private use
      | x(?:-[a-z0-9]{1,8})+
    )\Z""",
    re.IGNORECASE | re.VERBOSE,
)
# RFC 6761 special-use names: no mailbox there can receive mail (email-validator rejects them too).
SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def custom(kind: str, message: str, *, path: str = "") -> PydanticCustomError:
    """A validation error; `path` (one key, relative to where it is raised) points at the field."""
    return PydanticCustomError(kind, message, {"path": path} if path else None)


def has_control(value: str) -> bool:
    # A lone surrogate ("\\ud800" in JSON) is not a character and cannot be encoded as UTF-8 downstream.
    return any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") for char in value)


def optional_text(value: object, max_length: int) -> str | None:
    """Free text: surrounding whitespace trimmed, blank means absent, no control characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise custom("string_type", "must be a string")
    stripped = value.strip()
    if not stripped:
        return None
    if has_control(stripped):
        raise custom("control_characters", "must not contain control characters or line breaks")
    if len(stripped) > max_length:
        raise custom("too_long", f"must be at most {max_length} characters")
    return stripped


# Characters a name may never carry, whatever the script: they are invisible or reorder what is displayed, so a
# name holding one can look like someone else's (Trojan-Source style spoofing in displayName and the portal).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u2060\ufeff\u180e")
# ZERO WIDTH NON-JOINER and JOINER are part of the spelling in Persian, Kurdish and Indic scripts (a Persian
# family name such as Shah-Mohammadi is written with U+200C between its parts), so between two letters they are
# kept, as IDNA's CONTEXTJ rule (RFC 5892) allows them.
_JOINERS = frozenset("\u200c\u200d")
PERSON_NAME_MAX = 64
"""Entra's and AD's limit for givenName and surname."""


def _name_character_problem(text: str) -> str | None:
    """Why `text` cannot be a person's name, or None: only invisible, reordering or non-characters are refused."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        code = f"U+{ord(char):04X}"
        if category == "Cs":
            return f"must not contain an unpaired surrogate ({code})"
        if category in ("Cc", "Zl", "Zp"):
            return f"must not contain control characters or line breaks ({code})"
        if char in _BIDI_CONTROLS:
            return f"must not contain bidirectional override or embedding characters ({code})"
        if char in _JOINERS:
            before = text[position - 1] if position else ""
            after = text[position + 1] if position + 1 < len(text) else ""
            if before and after and unicodedata.category(before)[0] in "LM" and unicodedata.category(after)[0] in "LM":
                continue
            return f"must not contain a zero-width joiner or non-joiner outside a word ({code})"
        if char in _ZERO_WIDTH or category == "Cf":
            return f"must not contain zero-width or invisible formatting characters ({code})"
    return None


def person_name(value: object) -> str | None:
    """A given/family/middle name exactly as HR holds it: any printable text up to 64 characters.

    Periods, commas, parentheses, digits ("Smith Jr.", "Müller, II", "García (Pepe)", "J.R.") and every script are
    accepted; the value goes to displayName, givenName and surname unchanged (only surrounding whitespace is
    trimmed). The user name generator (naming.py) keeps only what a UPN or sAMAccountName can hold.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise custom("string_type", "must be a string")
    text = value.strip()
    if not text:
        return None
    problem = _name_character_problem(text)
    if problem:
        raise custom("name_characters", problem)
    if len(text) > PERSON_NAME_MAX:
        raise custom("too_long", f"must be at most {PERSON_NAME_MAX} characters (the Entra and AD limit)")
    return text


def is_email_address(value: str) -> bool:
    """Address shape check (dot-atom local part, DNS domain with an alphabetic, non-special-use
    TLD); no DNS lookups, no extra dependency."""
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or len(value) > 254 or not _EMAIL_LOCAL.match(local):
        return False
    labels = domain.split(".")
    return (
        len(labels) >= 2
        and all(_DOMAIN_LABEL.match(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
        and labels[-1].lower() not in SPECIAL_USE_TLDS
    )


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(value: str) -> bool:
    """Whether `value` is an IANA time zone key known to the shipped tz database."""
    return value in _time_zones()


def not_a_string(value: object) -> PydanticCustomError:
    """An id sent as another JSON type; HR exports often turn numeric ids into numbers, so say how to send it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return custom("id_type", f'must be a string (send "{value}" in quotes), not a JSON number')
    return custom("id_type", f"must be a string, not a JSON {_json_kind(value)}")


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "value"
