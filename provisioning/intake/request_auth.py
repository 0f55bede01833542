"""Who may call what: the body limit, the HR signature on every route, its replay memory, the approver role.

Every HR-facing route needs the function key (checked by the Functions host) and, with signing on, a valid
`X-HR-Signature` (scheme v1, `provisioning.intake.signing`) over the method, path, query, timestamp and body. A signed
request that changes something is remembered in the task hub (`provisioning.intake.replay`), so it cannot be replayed to
any instance, even after a restart. Reads (GET) are signed but not remembered: replaying one returns what the
captured response already showed, within the same window.

Approve and rescind may instead be called by a person or an app signed in with Entra ID through App Service
authentication, holding the app role named by APPROVER_APP_ROLE. App Service injects the caller's claims in
`X-MS-CLIENT-PRINCIPAL` and strips that header from incoming requests; without App Service authentication the
header could be forged, so it is trusted only when the platform says authentication is on (WEBSITE_AUTH_ENABLED).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.credentials import SecretUnavailable
from provisioning.events import MAX_BODY_BYTES
from provisioning.intake import replay, signing
from provisioning.intake.problems import Problem
from provisioning.settings import Settings
from provisioning.telemetry import log_event

__all__ = ["approver", "declared_too_large", "read_body", "verify_signature"]

logger = logging.getLogger("provisioning.http")

CLIENT_PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
AUTH_ENABLED_VARIABLE = "WEBSITE_AUTH_ENABLED"
_ROLE_CLAIMS = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})


def read_body(req: func.HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 before it is read when the declared length is over the limit.

    The Functions host has buffered the body by the time the worker sees it; FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
    (set by the Bicep) bounds that, and this check bounds what the app copies, decodes and parses.
    """
    if declared_too_large(req, limit):
        raise Problem(413, "Body too large", f"The request body exceeds {limit} bytes.")
    body = req.get_body() or b""
    if len(body) > limit:
        raise Problem(413, "Body too large", f"The request body exceeds {limit} bytes.")
    return body


def declared_too_large(req: func.HttpRequest, limit: int = MAX_BODY_BYTES) -> bool:
    """Whether the request declares (Content-Length) a body over the limit, known before reading it."""
    declared = (req.headers.get("Content-Length") or "").strip()
    return declared.isascii() and declared.isdigit() and int(declared) > limit


async def verify_signature(
    req: func.HttpRequest,
    settings: Settings,
    body: bytes,
    client: df.DurableOrchestrationClient | None,
) -> None:
    """Refuse (401) a request without a valid, fresh, first-seen signature; nothing to do with signing off."""
    if not settings.signing_enabled or settings.hr_signing_secret_name is None:
        return
    secrets = runtime.current().secrets
    if secrets is None:
        raise Problem(503, "Signing unavailable", "Request signing is on but KEY_VAULT_URL is not set.")
    try:
        secret = await asyncio.to_thread(secrets.get, settings.hr_signing_secret_name)
    except SecretUnavailable:
        raise Problem(
            503, "Signing secret unavailable", "The signing secret could not be read from Key Vault."
        ) from None
    try:
        verified = signing.verify(
            secret,
            method=req.method,
            url=req.url,
            timestamp=req.headers.get(signing.TIMESTAMP_HEADER),
            signature=req.headers.get(signing.SIGNATURE_HEADER),
            body=body,
            now=time.time(),
            tolerance_seconds=settings.signature_tolerance_seconds,
        )
    except signing.SignatureError as error:
        log_event(logger, "signature-rejected", level=logging.WARNING, outcome="unauthorized")
        raise Problem(401, "Invalid signature", str(error)) from None
    if req.method.upper() == "GET" or client is None:
        return
    expires_at = datetime.fromtimestamp(verified.timestamp + settings.signature_tolerance_seconds, UTC)
    try:
        await replay.remember(client, verified.digest, expires_at)
    except replay.ReplayRefused:
        log_event(logger, "signature-rejected", level=logging.WARNING, outcome="replay")
        raise Problem(401, "Invalid signature", "This signed request was already received (replay).") from None
    except Exception as error:  # the task hub is unreachable: refuse rather than accept an unrecorded signature
        log_event(logger, "replay-check", level=logging.ERROR, outcome="unavailable", error_code=type(error).__name__)
        raise Problem(503, "Replay check unavailable", "The signed request could not be recorded; retry.") from None


def approver(req: func.HttpRequest, settings: Settings) -> bool:
    """True when App Service authentication vouches for a caller holding APPROVER_APP_ROLE.

    A principal header without that role is refused (403) rather than ignored: someone signed in, but is not an
    approver. No header (or the option off) returns False, and the caller must then sign like the HR system.
    """
    role = settings.approver_app_role
    raw = req.headers.get(CLIENT_PRINCIPAL_HEADER)
    if not role or not raw:
        return False
    if os.environ.get(AUTH_ENABLED_VARIABLE, "").lower() != "true":
        log_event(logger, "approver-rejected", level=logging.WARNING, outcome="auth-not-enabled")
        raise Problem(
            503,
            "Approver sign-in unavailable",
            "APPROVER_APP_ROLE is set but App Service authentication is not enabled, so the principal header "
            "cannot be trusted.",
        )
    if role not in _roles(raw):
        log_event(logger, "approver-rejected", level=logging.WARNING, outcome="forbidden")
        raise Problem(403, "Not an approver", f"The signed-in caller does not hold the app role {role}.")
    return True


def _roles(raw: str) -> set[str]:
    try:
        principal: Any = json.loads(base64.b64decode(raw, validate=False))
    except (binascii.Error, ValueError):
        return set()
    if not isinstance(principal, dict):
        return set()
    kinds = set(_ROLE_CLAIMS) | {str(principal.get("role_typ") or "")}
    claims = principal.get("claims")
    if not isinstance(claims, list):
        return set()
    return {
        str(claim.get("val"))
        for claim in claims
        if isinstance(claim, dict) and claim.get("typ") in kinds and claim.get("val") is not None
    }
