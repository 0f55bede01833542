"""Reading an HR API request and writing its answer: the settings or a 503, the body checked for size, signature
and media type, strict JSON, and JSON responses that point at the status URL."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.events import (
    EventValidationError,
    FieldError,
    JsonBodyError,
    loads_strict,
)
from provisioning.intake import request_auth
from provisioning.intake.problems import Problem
from provisioning.settings import Settings, SettingsError

logger = logging.getLogger("provisioning.http")


def current_settings() -> Settings:
    try:
        return runtime.current().settings
    except SettingsError as error:
        logger.error("configuration invalid: %d problem(s)", len(error.problems))
        raise Problem(503, "Service misconfigured", "The app settings are invalid; see /api/health.") from None


def json_body(req: func.HttpRequest) -> bytes:
    """A JSON body: its size checked (before it is read, when declared), then its media type."""
    body = request_auth.read_body(req)
    require_json(req)
    return body


def require_json(req: func.HttpRequest) -> None:
    content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem(415, "Unsupported media type", "Send the event as application/json.")


async def signed_json_body(req: func.HttpRequest, settings: Settings, client: df.DurableOrchestrationClient) -> bytes:
    """The JSON body of a submission or preview, once its size, signature and media type are checked."""
    body = request_auth.read_body(req)
    await request_auth.verify_signature(req, settings, body, client)
    require_json(req)
    return body


async def authenticated(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, *, approver_allowed: bool = False
) -> str:
    """Check the HR signature of a status, rescind or approve call; an Entra-authenticated approver may rescind
    or approve without it (APPROVER_APP_ROLE). Returns who acted, for the audit trail."""
    settings = current_settings()
    body = request_auth.read_body(req)
    if approver_allowed and request_auth.approver(req, settings):
        return "approver"
    await request_auth.verify_signature(req, settings, body, client)
    return "hr-api"


def parse_json(body: bytes) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            400, "Invalid body", "The body is not valid UTF-8.", [FieldError("body", "invalid UTF-8")]
        ) from None
    try:
        return loads_strict(text)
    except JsonBodyError as error:
        raise Problem(
            400, "Invalid JSON", f"The body is not plain JSON: {error}.", [FieldError("body", str(error))]
        ) from None
    except json.JSONDecodeError as error:
        raise Problem(
            400,
            "Invalid JSON",
            "The body is not valid JSON.",
            [FieldError("body", f"invalid JSON: {error.msg}")],
        ) from None
    except ValueError:  # e.g. an integer literal too long to convert
        raise Problem(
            400, "Invalid JSON", "The body holds a value JSON cannot carry.", [FieldError("body", "invalid")]
        ) from None


def invalid_event(error: EventValidationError) -> Problem:
    return Problem(400, "Invalid HR event", "One or more fields are invalid.", error.errors)


def json_response(payload: Any, status: int, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(payload, default=str),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def status_url(req: func.HttpRequest, instance_id: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/api/hr-events/{quote(instance_id, safe='')}"


def accepted_response(
    req: func.HttpRequest, instance_id: str, event_id: str, stage: str, *, status_code: int
) -> func.HttpResponse:
    url = status_url(req, instance_id)
    payload = {"id": instance_id, "eventId": event_id, "status": stage, "statusUrl": url}
    return json_response(payload, status_code, headers={"Location": url})
