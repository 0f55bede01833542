"""HMAC request signing for every HR-facing route (scheme `v1`; see docs/security.md for a worked example).

The HR system (or an IT operator approving a held event) sends two headers:

- `X-HR-Timestamp: <unix seconds>` (ASCII digits), within ±SIGNATURE_TOLERANCE_SECONDS of the app's clock;
- `X-HR-Signature: v1=<hex HMAC-SHA256>` over the *string to sign*, six lines joined by `\\n`:

      v1
      <METHOD>                  upper case, e.g. POST
      <path>                    as sent, e.g. /api/hr-events/hr-wd-1/approve (normalised: see canonical_path)
      <canonical query>         name=value pairs sorted, RFC 3986-encoded, `code` left out; empty line if none
      <timestamp>               the X-HR-Timestamp value
      <hex SHA-256 of the body> of the raw bytes sent (e3b0c442… for an empty body)

Binding the method, path and query means a signature for one route or one event cannot be replayed against
another (an unsigned or re-targeted DELETE is refused); binding the body hash means the body cannot change; the
timestamp bounds how long a captured request stays valid. The `v1=` prefix names the scheme, so a future scheme
can be told apart and the retired body-only `sha256=` form is refused with a message that says so.

Pure: no clock, no I/O. The replay memory shared by all instances lives in `provisioning.intake.replay`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = [
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureError",
    "VerifiedSignature",
    "canonical_path",
    "canonical_query",
    "sign",
    "signed_headers",
    "string_to_sign",
    "verify",
]

SCHEME = "v1"
TIMESTAMP_HEADER = "X-HR-Timestamp"
SIGNATURE_HEADER = "X-HR-Signature"
FUNCTION_KEY_PARAMETER = "code"
"""The Functions host's key parameter: a transport credential, not part of what the request asks for."""

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=([0-9a-fA-F]{64})")
_UNRESERVED = "-._~"


class SignatureError(Exception):
    """The request is not signed by the holder of the secret; the message says why without echoing any value."""


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that matched: its hex digest (the replay key) and the instant it was made for."""

    digest: str
    timestamp: int


def canonical_path(path: str) -> str:
    """The path with percent-encoding normalised: decoded once, then every byte outside RFC 3986's unreserved
    set (and `/`) encoded upper-case. `/api/hr-events/hr-wd%3a1` and `/api/hr-events/hr-wd:1` sign alike."""
    return quote(unquote(path or "/"), safe="/" + _UNRESERVED)


def canonical_query(query: str | Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """Query parameters as `name=value` pairs sorted by name then value, each part RFC 3986-encoded, joined with
    `&`; the function key parameter `code` is left out, so moving the key between header and query changes
    nothing. Empty when there are no parameters."""
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = list(query.items())
    else:
        pairs = list(query)
    kept = sorted(
        (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for name, value in pairs
        if name != FUNCTION_KEY_PARAMETER
    )
    return "&".join(f"{name}={value}" for name, value in kept)


def string_to_sign(method: str, path: str, query: str, timestamp: str, body: bytes) -> str:
    """The exact text the HMAC covers (see the module docstring)."""
    return "\n".join(
        (
            SCHEME,
            method.upper(),
            canonical_path(path),
            canonical_query(query),
            timestamp,
            hashlib.sha256(body).hexdigest(),
        )
    )


def _digest(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(secret: str, method: str, url: str, timestamp: str, body: bytes = b"") -> str:
    """The `X-HR-Signature` value for a request to `url` (absolute, or a path with an optional query)."""
    parts = urlsplit(url)
    return f"{SCHEME}={_digest(secret, string_to_sign(method, parts.path, parts.query, timestamp, body))}"


def signed_headers(
    secret: str, method: str, url: str, body: bytes = b"", *, now: float | None = None
) -> dict[str, str]:
    """Both signing headers for a request sent now (what an HR client or an operator's script adds)."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, method, url, timestamp, body)}


def verify(
    secret: str,
    *,
    method: str,
    url: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: int,
) -> VerifiedSignature:
    """Check one request's signature; raise SignatureError saying what is wrong.

    The comparison is constant-time; only ASCII digits count as a timestamp (`str.isdigit` would also accept
    `²`, which `int()` then refuses).
    """
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds in ASCII digits")
    instant = int(timestamp)
    if abs(now - instant) > tolerance_seconds:
        raise SignatureError(f"{TIMESTAMP_HEADER} is outside the ±{tolerance_seconds} s window")
    presented = _SIGNATURE.fullmatch(signature.strip())
    if presented is None:
        if signature.strip().lower().startswith("sha256="):
            raise SignatureError(
                "the body-only sha256= signature is retired: sign method, path, query, timestamp and body hash "
                f"with the {SCHEME}= scheme"
            )
        raise SignatureError(f"{SIGNATURE_HEADER} must be {SCHEME}=<64 hex digits>")
    parts = urlsplit(url)
    expected = _digest(secret, string_to_sign(method, parts.path, parts.query, timestamp, body))
    if not hmac.compare_digest(expected, presented.group(1).lower()):
        raise SignatureError("the signature does not match the method, path, query, timestamp and body")
    return VerifiedSignature(digest=expected, timestamp=instant)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m provisioning.intake.signing METHOD URL [BODY_FILE]`: print the two headers for a request, with the
    secret read from the environment variable HR_SIGNING_SECRET (so it never appears in a shell history)."""
    parser = argparse.ArgumentParser(prog="python -m provisioning.intake.signing", description=main.__doc__)
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("body_file", nargs="?")
    args = parser.parse_args(argv)
    secret = os.environ.get("HR_SIGNING_SECRET")
    if not secret:
        print("set HR_SIGNING_SECRET to the signing secret", file=sys.stderr)
        return 2
    body = b""
    if args.body_file:
        with open(args.body_file, "rb") as handle:
            body = handle.read()
    for name, value in signed_headers(secret, args.method, args.url, body).items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    raise SystemExit(main())
