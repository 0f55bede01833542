"""The HR system webhook routes: `POST /api/hris/bamboohr`, `/api/hris/hibob`, `/api/hris/personio`.

Every route needs the function key (as everywhere), then the vendor's own proof (signature or token, secret from
Key Vault). A verified notification is de-duplicated by the vendor's delivery id and handed to a durable
`hris_notification` orchestration; the answer goes out within the vendor's timeout (Personio allows 3 s) because
nothing here calls the vendor's API or Graph. Nothing is started from a request that failed verification, and the
body is never logged: only the vendor, the delivery id and the outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.credentials import SecretUnavailable
from provisioning.events import PROBLEM_CONTENT_TYPE, JsonBodyError, loads_strict, problem_details
from provisioning.intake import hibob
from provisioning.intake.notifications import IntakeProblem, Notification
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.intake.registry import connector
from provisioning.intake.request_auth import read_body
from provisioning.settings import Settings, SettingsError
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import workflow_options

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.intake")


@bp.route(route="hris/bamboohr", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def bamboohr_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A BambooHR webhook (event-based or field-based JSON), signed with the webhook's private key."""
    return await receive("bamboohr", req, client)


@bp.route(route="hris/hibob", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def hibob_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A HiBob webhook v2, signed with Bob-Signature (HMAC-SHA512)."""
    return await receive("hibob", req, client)


@bp.route(route="hris/personio", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def personio_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A Personio webhook v2, carrying the subscription's token."""
    return await receive("personio", req, client)


async def receive(name: str, req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Verify, parse, de-duplicate and start: the same steps for every vendor."""
    vendor = connector(name)
    try:
        settings = _settings()
        if not vendor.enabled(settings):
            raise IntakeProblem(
                404, "Connector not enabled", f"The {vendor.title} connector is off ({name.upper()}_ENABLED)."
            )
        body = _body(req)
        if name == "hibob" and hibob.is_ping(body):
            return _json({"status": "ok"}, 200)  # Bob's connection test when the webhook is added; starts nothing
        secret = await _secret(vendor.webhook_secret_name(settings))
        try:
            vendor.verify(req.headers, body, secret, settings=settings, now=time.time())
        except IntakeProblem:
            log_event(logger, "webhook-rejected", level=logging.WARNING, operation=name, outcome="unauthorized")
            raise
        _require_json(req)
        notifications = vendor.parse(_payload(body), body, settings)
        if not notifications:
            log_event(logger, "webhook-ignored", operation=name, outcome="ignored")
            return _json({"status": "ignored", "accepted": [], "duplicates": []}, 200)
        accepted: list[dict[str, str]] = []
        duplicates: list[dict[str, str]] = []
        for notification in notifications:
            started = await _start(client, notification, settings)
            entry = {"id": notification.instance_id, "statusUrl": _status_url(req, notification.instance_id)}
            (accepted if started else duplicates).append(entry)
            log_event(
                logger,
                "webhook-accepted" if started else "webhook-duplicate",
                operation=name,
                event_id=notification.delivery_id,
                instance_id=notification.instance_id,
                outcome="accepted" if started else "duplicate",
            )
        status = "accepted" if accepted else "duplicate"
        return _json({"status": status, "accepted": accepted, "duplicates": duplicates}, 202 if accepted else 200)
    except IntakeProblem as problem:
        if problem.status == 400:
            log_event(logger, "webhook-rejected", level=logging.WARNING, operation=name, outcome="unexpected-payload")
        body_json = problem_details(problem.status, problem.title, problem.detail, problem.errors)
        return func.HttpResponse(
            json.dumps(body_json), status_code=problem.status, mimetype=PROBLEM_CONTENT_TYPE, charset="utf-8"
        )


async def _start(client: df.DurableOrchestrationClient, notification: Notification, settings: Settings) -> bool:
    """Start the run for this notification unless one exists (a failed one may run again). True when started."""
    instance_id = notification.instance_id
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status is not df.OrchestrationRuntimeStatus.Failed:
        return False
    options = {**workflow_options(settings).to_dict(), "hris_writeback": settings.hris_writeback}
    payload = {"notification": notification.to_json(), "options": options}
    try:
        await client.start_new(c.HRIS_NOTIFICATION, instance_id, payload)
    except Exception:  # the vendor's retry of the same delivery won the race: that run stands
        if await client.get_status(instance_id):
            return False
        raise
    return True


def _settings() -> Settings:
    try:
        return runtime.current().settings
    except SettingsError:
        raise IntakeProblem(503, "Service misconfigured", "The app settings are invalid; see /api/health.") from None


async def _secret(name: str | None) -> str:
    secrets = runtime.current().secrets
    if not name or secrets is None:
        raise IntakeProblem(503, "Webhook secret unavailable", "The connector has no webhook secret configured.")
    try:
        return await asyncio.to_thread(secrets.get, name)
    except SecretUnavailable:
        raise IntakeProblem(
            503, "Webhook secret unavailable", "The webhook secret could not be read from Key Vault."
        ) from None


def _body(req: func.HttpRequest) -> bytes:
    try:
        return read_body(req)  # an over-long declared body is refused before it is read
    except Problem as too_large:
        raise IntakeProblem(too_large.status, too_large.title, too_large.detail) from None


def _require_json(req: func.HttpRequest) -> None:
    content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise IntakeProblem(415, "Unsupported media type", "Configure the webhook to post JSON.")


def _payload(body: bytes) -> Any:
    try:
        return loads_strict(body)
    except (JsonBodyError, UnicodeDecodeError, ValueError) as error:
        reason = str(error) if isinstance(error, JsonBodyError) else "not valid UTF-8 JSON"
        raise IntakeProblem(400, "Invalid JSON", f"The body is {reason}.") from None


def _status_url(req: func.HttpRequest, instance_id: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/api/hr-events/{quote(instance_id, safe='')}"


def _json(payload: Any, status: int) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(payload), status_code=status, mimetype="application/json", charset="utf-8")
