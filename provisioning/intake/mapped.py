"""POST /api/hris/mapped: the generic webhook for HR systems that post their own JSON.

SuccessFactors Integration Center, a Workday integration or an in-house system posts the document it was built
to send; the mapping file named by MAPPED_WEBHOOK_MAPPING_FILE (docs/mapping.md) turns each record into an HR
event, and each event starts exactly as POST /api/hr-events starts one: the same validation, the same problem
documents, the same idempotency by eventId. Nothing starts unless every record of the document maps and
validates, so a sender that retries after a 4xx never leaves half a document behind.

Assume the function key leaks: besides it, the sender can be checked with an HMAC over the timestamp and body, a
shared token, or HTTP basic credentials, the secret read from Key Vault. A broken mapping file never stops the
app: this route answers 503 naming the problems, /api/health reports them, and every other route works.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.credentials import SecretUnavailable
from provisioning.events import EventValidationError, FieldError, HrEvent
from provisioning.intake.hr_api.messages import (
    current_settings,
    invalid_event,
    json_body,
    json_response,
    parse_json,
    status_url,
)
from provisioning.intake.hr_api.submission import start_event
from provisioning.intake.mapping import (
    MappedDocument,
    Mapping,
    MappingError,
    MappingLoadError,
    TooManyRecords,
    load_configured,
)
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.settings import Settings
from provisioning.telemetry import log_event

__all__ = ["MAPPING_FILE_SETTING", "ROUTE", "bp", "check_mapping_at_startup", "mapped_webhook"]

ROUTE = "hris/mapped"
MAPPING_FILE_SETTING = "MAPPED_WEBHOOK_MAPPING_FILE"
# How many events of one document are started at once: enough to answer a 1,000-record document within a
# webhook's timeout without flooding the Durable task hub.
_CONCURRENT_STARTS = 8
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.intake.mapped")
clock: Callable[[], float] = time.time  # replaced in tests that sign at a chosen moment


@bp.route(route=ROUTE, methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def mapped_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Map the posted document with the configured mapping and start one HR event per record."""
    settings: Settings | None = None
    try:
        settings = current_settings()
        if not settings.mapped_webhook_mapping_file:
            raise Problem(404, "Not enabled", f"The mapped webhook is off: {MAPPING_FILE_SETTING} is not set.")
        body = json_body(req)
        await _verify_sender(req, settings, body)
        mapping = _configured_mapping(settings.mapped_webhook_mapping_file)
        mapped = _map(mapping, parse_json(body), settings)
        events = _validated(mapped)
        started = await _start_all(client, events, settings)
        return _answer(req, mapped, started)
    except Problem as problem:
        return _with_challenge(problem.response(), problem, settings)
    except EventValidationError as invalid:
        return invalid_event(invalid).response()


def check_mapping_at_startup() -> None:
    """Load the configured mapping once when the app starts and log what is wrong with it; never raises.

    Only the mapping setting is read here (the others may be missing while the host indexes functions); the route
    and /api/health report the same problems on every request until the file is fixed.
    """
    setting = os.environ.get(MAPPING_FILE_SETTING, "").strip()
    if not setting:
        return
    try:
        mapping = load_configured(setting)
    except MappingLoadError as invalid:
        for line in invalid.lines():
            logger.error("mapping file problem: %s", line)
        return
    logger.info("mapping file %s loaded: %d event fields", setting, len(mapping.targets))


# -- the sender --------------------------------------------------------------------------------------------------


async def _verify_sender(req: func.HttpRequest, settings: Settings, body: bytes) -> None:
    mode = settings.mapped_webhook_auth
    if mode == "none":
        return
    secret = await _secret(settings)
    try:
        if mode == "hmac":
            _check_signature(req, settings, secret, body)
        elif mode == "token":
            _check_token(req, settings.mapped_webhook_token_header, secret)
        else:
            _check_basic(req, secret)
    except _Unverified as unverified:
        log_event(logger, "sender-rejected", level=logging.WARNING, operation=ROUTE, outcome="unauthorized")
        raise Problem(401, "Sender not verified", str(unverified)) from None


class _Unverified(Exception):
    """The request does not prove it comes from the HR system; the message says why, never echoing a secret."""


async def _secret(settings: Settings) -> str:
    secrets = runtime.current().secrets
    name = settings.mapped_webhook_secret_name or ""
    if secrets is None:
        raise Problem(503, "Sender check unavailable", "MAPPED_WEBHOOK_AUTH needs KEY_VAULT_URL.")
    try:
        return await asyncio.to_thread(secrets.get, name)
    except SecretUnavailable as unavailable:
        raise Problem(
            503, "Sender check unavailable", f"The Key Vault secret {name} is unavailable: {unavailable.reason}."
        ) from None


def _check_signature(req: func.HttpRequest, settings: Settings, secret: str, body: bytes) -> None:
    """HMAC-SHA256 over "<timestamp>.<raw body>" with the shared key, the timestamp within the tolerance.

    A replay inside the window maps to the same eventIds, which the idempotency answers with the existing runs;
    the window keeps an old captured request from starting an event whose run has since been purged.
    """
    timestamp_header = settings.mapped_webhook_timestamp_header
    signature_header = settings.mapped_webhook_signature_header
    timestamp = (req.headers.get(timestamp_header) or "").strip()
    signature = (req.headers.get(signature_header) or "").strip()
    if not timestamp or not signature:
        raise _Unverified(f"missing {timestamp_header} or {signature_header} header")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise _Unverified(f"{timestamp_header} must be unix seconds")
    tolerance = settings.signature_tolerance_seconds
    if abs(clock() - int(timestamp)) > tolerance:
        raise _Unverified(f"{timestamp_header} is outside the ±{tolerance} s window")
    expected = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()
    given = _signature_bytes(signature)
    if given is None or not hmac.compare_digest(expected, given):
        raise _Unverified(f"{signature_header} does not match the body and timestamp")


def _signature_bytes(value: str) -> bytes | None:
    """The 32 signature bytes from hex (optionally "sha256=" first) or base64; None when it is neither."""
    text = value[7:] if value[:7].lower() == "sha256=" else value
    if _HEX_SIGNATURE.fullmatch(text):
        return bytes.fromhex(text)
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == hashlib.sha256().digest_size else None


def _check_token(req: func.HttpRequest, header: str, secret: str) -> None:
    value = (req.headers.get(header) or "").strip()
    if header.lower() == "authorization":
        scheme, _, value = value.partition(" ")
        if scheme.lower() != "bearer":
            raise _Unverified("send the token as Authorization: Bearer <token>")
        value = value.strip()
    if not value:
        raise _Unverified(f"missing {header} header")
    if not _same(value, secret):
        raise _Unverified(f"the token in {header} is not the configured one")


def _check_basic(req: func.HttpRequest, secret: str) -> None:
    scheme, _, encoded = (req.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _Unverified("send HTTP basic credentials (Authorization: Basic …)")
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _Unverified("the basic credentials are not base64 of user:password") from None
    if ":" not in secret:
        raise Problem(503, "Sender check unavailable", "The basic-auth secret must hold user:password.")
    if not _same(credentials, secret):
        raise _Unverified("the basic credentials are not the configured ones")


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that does not reveal the expected length either (both sides hashed first)."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8")).digest(), hashlib.sha256(expected.encode("utf-8")).digest()
    )


def _with_challenge(response: func.HttpResponse, problem: Problem, settings: Settings | None) -> func.HttpResponse:
    """A 401 names the scheme the sender must use (RFC 9110 §11.6.1); basic clients wait for that challenge."""
    if problem.status != 401 or settings is None:
        return response
    if settings.mapped_webhook_auth == "basic":
        response.headers["WWW-Authenticate"] = 'Basic realm="hr-provisioning", charset="UTF-8"'
    elif settings.mapped_webhook_auth == "token" and settings.mapped_webhook_token_header.lower() == "authorization":
        response.headers["WWW-Authenticate"] = 'Bearer realm="hr-provisioning"'
    return response


# -- mapping and starting ----------------------------------------------------------------------------------------


def _configured_mapping(setting: str) -> Mapping:
    try:
        return load_configured(setting)
    except MappingLoadError as invalid:
        logger.error("mapping file %s unusable: %d problem(s)", invalid.source, len(invalid.problems))
        errors = [FieldError(problem.location or "mapping", problem.message) for problem in invalid.problems]
        raise Problem(
            503,
            "Mapping file invalid",
            f"The mapping file {invalid.source} cannot be used ({len(errors)} problem(s)); see /api/health.",
            errors,
        ) from None


def _map(mapping: Mapping, document: object, settings: Settings) -> MappedDocument:
    try:
        return mapping.apply(document, default_time_zone=settings.default_time_zone)
    except TooManyRecords as too_many:
        raise Problem(413, "Too many records", "At most 1000 records per document.", too_many.errors) from None
    except MappingError as unfit:
        log_event(logger, "mapping-rejected", level=logging.WARNING, operation=ROUTE, count=len(unfit.errors))
        raise Problem(
            400, "Document does not fit the mapping", "One or more records do not fit the mapping.", unfit.errors
        ) from None


def _validated(mapped: MappedDocument) -> list[HrEvent]:
    """Every event validated as POST /api/hr-events validates one; any invalid event rejects the document."""
    events: list[HrEvent] = []
    errors: list[FieldError] = []
    for item in mapped.events:
        try:
            events.append(item.validate())
        except EventValidationError as invalid:
            errors.extend(invalid.errors)
    if errors:
        raise EventValidationError(errors)
    return events


async def _start_all(
    client: df.DurableOrchestrationClient, events: list[HrEvent], settings: Settings
) -> list[tuple[str, str, bool]]:
    gate = asyncio.Semaphore(_CONCURRENT_STARTS)

    async def start(event: HrEvent) -> tuple[str, str, bool]:
        async with gate:
            return await start_event(client, event, settings)

    return list(await asyncio.gather(*(start(event) for event in events)))


def _answer(req: func.HttpRequest, mapped: MappedDocument, started: list[tuple[str, str, bool]]) -> func.HttpResponse:
    events: list[dict[str, Any]] = []
    for item, (instance_id, stage, _) in zip(mapped.events, started, strict=True):
        events.append(
            {
                "index": item.index,
                "source": item.location,
                "id": instance_id,
                "eventId": item.event_id,
                "status": stage,
                "statusUrl": status_url(req, instance_id),
            }
        )
    accepted = sum(1 for _, _, now in started if now)
    payload = {"accepted": accepted, "events": events, "skipped": [skip.as_dict() for skip in mapped.skipped]}
    return json_response(payload, 202 if accepted else 200)
