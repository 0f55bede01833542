"""What each setting's value must look like: one parser per kind of value, raising ValueError saying what is wrong.

The settings model (provisioning.settings.model) runs them as field validators on the raw environment
strings; the messages name the value but never the setting, which the model adds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import time
from urllib.parse import urlsplit

from croniter import croniter

from provisioning.events import SPECIAL_USE_TLDS, is_email_address, is_time_zone
from provisioning.naming import pattern_problems
from provisioning.settings.endpoints import GUID
from provisioning.settings.spec import DEFAULT_SCIM_EXTENSION_URN

# URNs the custom extension must not collide with: they have fixed meanings in the bulk upload.
RESERVED_SCIM_URNS = frozenset(
    {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:api:messages:2.0:BulkRequest",
    }
)
_DOMAIN_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_VAULT_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]$")
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_SCIM_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*']+$")
# Durable Functions (Azure Storage provider) task hub names: letters and digits, starting with a letter.
_TASKHUB = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_APP_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,248}$")
_VENDOR_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_VENDOR_FIELD = re.compile(r"^/?[A-Za-z0-9_.-]{1,64}(?:/[A-Za-z0-9_.-]{1,64}){0,4}$")
# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
# Headers the Functions host or HTTP itself owns: a sender check cannot live in them.
_RESERVED_HEADERS = frozenset({"x-functions-key", "content-type", "content-length", "host", "transfer-encoding"})


def domain(value: str) -> str:
    domain = value.lower().rstrip(".")
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a DNS domain name like contoso.com")
    if not labels[-1].isalpha():
        raise ValueError(f"{value!r} is not a DNS domain name like contoso.com")
    if labels[-1] in SPECIAL_USE_TLDS:
        raise ValueError(f"{value!r} uses the special-use top-level domain .{labels[-1]}, which Entra cannot verify")
    return domain


def email(value: str) -> str:
    local, _, host = value.rpartition("@")
    if not is_email_address(value):
        raise ValueError(f"{value!r} is not an email address")
    return f"{local}@{domain(host)}"


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.lower()
        if lowered not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return lowered

    return parse


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value, 10)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"{number} must be {bound}")
        return number

    return parse


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"{value!r} is not a boolean (true, false, 1 or 0)")


def local_time(value: str) -> time:
    match = _LOCAL_TIME.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a local time HH:MM (00:00..23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def guid_or_domain(value: str) -> str:
    if GUID.match(value):
        return value.lower()
    try:
        return domain(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither a tenant GUID nor a tenant domain") from None


def guid(value: str) -> str:
    if not GUID.match(value):
        raise ValueError(f"{value!r} is not a GUID")
    return value.lower()


def key_vault_url(value: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    name, _, suffix = host.partition(".")
    if (
        parts.scheme != "https"
        or suffix != "vault.azure.net"
        or parts.port is not None
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not _VAULT_NAME.match(name)
    ):
        raise ValueError(f"{value!r} is not a Key Vault URL like https://<name>.vault.azure.net/")
    return f"https://{host}/"


def secret_name(value: str) -> str:
    # The value is not echoed: someone may have pasted the secret itself instead of its name.
    if not _SECRET_NAME.match(value):
        raise ValueError("is not a Key Vault secret name (1-127 letters, digits, hyphens); value not shown")
    return value


def scim_urn(value: str) -> str:
    if not _SCIM_URN.match(value):
        raise ValueError(f"{value!r} is not a URN like {DEFAULT_SCIM_EXTENSION_URN}")
    if value in RESERVED_SCIM_URNS:
        raise ValueError(f"{value!r} is reserved; choose your own extension URN")
    return value


def time_zone(value: str) -> str:
    if not is_time_zone(value):
        raise ValueError(f"{value!r} is not an IANA time zone like Europe/Berlin")
    return value


def name_patterns(value: str) -> tuple[str, ...]:
    patterns = tuple(part.strip() for part in value.split(","))
    problems = [problem for pattern in patterns for problem in pattern_problems(pattern, suffix=False)]
    if problems:
        raise ValueError("; ".join(problems))
    return patterns


def suffix_pattern(value: str) -> str:
    problems = pattern_problems(value, suffix=True)
    if problems:
        raise ValueError("; ".join(problems))
    return value


def guid_list(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = [index for index, item in enumerate(ids, 1) if not GUID.match(item)]
    if bad:
        raise ValueError(f"entries {', '.join(map(str, bad))} are not object ids (GUIDs)")
    return tuple(item.lower() for item in ids)


def app_role(value: str) -> str:
    # App role values: no spaces, at most 249 characters (Entra's appRole.value rules).
    if not _APP_ROLE.match(value):
        raise ValueError(f"{value!r} is not an app role value (letters, digits and . _ - : without spaces)")
    return value


def templates_dir(value: str) -> str:
    if not os.path.isdir(value):
        raise ValueError(f"{value!r} is not an existing folder")
    return value


def mapping_file(value: str) -> str:
    # Only the name is checked here: a missing or broken file must not stop the other routes (the mapped route
    # and /api/health report it instead).
    if not value.lower().endswith((".yaml", ".yml", ".json")):
        raise ValueError(f"{value!r} must name a .yaml, .yml or .json mapping file")
    return value


def cron(value: str) -> str:
    """A cron expression: 5 fields (minute first) or Azure Functions' 6-field NCRONTAB (seconds first)."""
    fields_count = len(value.split())
    if fields_count not in (5, 6) or not croniter.is_valid(value, second_at_beginning=fields_count == 6):
        raise ValueError(f"{value!r} is not a cron expression like '0 30 2 * * *' (02:30 UTC daily) or '30 2 * * *'")
    return value


def subset(what: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}")
        return items

    return parse


def header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError(f"{value!r} is not an HTTP header name")
    if value.lower() in _RESERVED_HEADERS:
        raise ValueError(f"{value!r} is used by HTTP or the Functions host; choose another header")
    return value


def taskhub(value: str) -> str:
    if not _TASKHUB.match(value):
        raise ValueError(f"{value!r} must be 3-45 letters and digits starting with a letter")
    return value


def vendor_token(value: str) -> str:
    """An identifier an HR system issued (subdomain, company id, client id): no spaces or URL syntax."""
    if not _VENDOR_TOKEN.match(value):
        raise ValueError(f"{value!r} must be 1-128 letters, digits, '.', '_' or '-'")
    return value


def vendor_field(value: str) -> str:
    """A field name or path in the HR system (customField123, /work/custom/field_1)."""
    if not _VENDOR_FIELD.match(value):
        raise ValueError(f"{value!r} must be a field name or /path of letters, digits, '.', '_' or '-'")
    return value


def https_base_url(value: str) -> str:
    """An HR system's API base URL: https, no credentials, query or fragment; the trailing slash is dropped."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"{value!r} must be an https URL without credentials")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not carry a query or fragment")
    return value.rstrip("/")
