"""The HR-facing HTTP API (product.md §2): submit, batch, status, preview, rescind, approve, health.

Every route needs the function key (the app's auth level is FUNCTION). Bad input is answered with an RFC 9457
problem naming the field and never reaches Graph; once an event is accepted it is a durable orchestration, so it
cannot be lost. The Durable management URLs carry the system key and are never returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import azure.durable_functions as df
import azure.functions as func

from provisioning import directory, runtime, schedule, scim
from provisioning.credentials import SecretUnavailable, missing_roles, required_roles, token_facts
from provisioning.events import (
    MAX_BODY_BYTES,
    PROBLEM_CONTENT_TYPE,
    BatchTooLargeError,
    EventValidationError,
    FieldError,
    HrEvent,
    JsonBodyError,
    loads_strict,
    parse_batch,
    parse_event,
    problem_details,
    sanitize_instance_id,
)
from provisioning.graph import GraphError
from provisioning.intake import registry as intake_registry
from provisioning.intake.mapping import MappingLoadError, load_configured
from provisioning.settings import Settings, SettingsError
from provisioning.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureVerifier
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import decide_action, effective_instant, scim_record, workflow_options

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")

_verifier: SignatureVerifier | None = None
_Status = Any  # DurableOrchestrationStatus (untyped SDK)


class Problem(Exception):
    """An HTTP error answered as application/problem+json."""

    def __init__(self, status: int, title: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors

    def response(self) -> func.HttpResponse:
        body = problem_details(self.status, self.title, self.detail, self.errors)
        return func.HttpResponse(
            json.dumps(body), status_code=self.status, mimetype=PROBLEM_CONTENT_TYPE, charset="utf-8"
        )


# -- routes ------------------------------------------------------------------------------------------------------


@bp.route(route="hr-events", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def submit_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept one HR event; a repeated eventId returns the existing run instead of starting another."""
    try:
        settings = _settings()
        body = await _signed_body(req, settings)
        event = parse_event(_json(body))
        instance_id, stage, started = await start_event(client, event, settings)
        return _accepted_response(req, instance_id, event.event_id, stage, status_code=202 if started else 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return _invalid(invalid).response()


@bp.route(route="hr-events/batch", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def submit_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept up to 1,000 events; invalid ones are rejected one by one, repeats are reported as duplicates."""
    try:
        settings = _settings()
        body = await _signed_body(req, settings)
        parsed = parse_batch(_json(body))
        rejected = [item.as_dict() for item in parsed.rejected]
        if not parsed.accepted:
            errors = [error for item in parsed.rejected for error in item.errors]
            raise Problem(400, "No valid event in the batch", "Every event in the batch was rejected.", errors)
        candidates = [(event, sanitize_instance_id(event.event_id)) for _, event in parsed.accepted]
        statuses = await asyncio.gather(*(client.get_status(instance_id) for _, instance_id in candidates))
        duplicates = [
            event.event_id
            for (event, _), status in zip(candidates, statuses, strict=True)
            if _blocks_resubmission(status)
        ]
        jobs: list[dict[str, Any]] = [
            {"instanceId": instance_id, "event": event.to_json()}
            for (event, instance_id), status in zip(candidates, statuses, strict=True)
            if not _blocks_resubmission(status)
        ]
        batch_id: str | None = None
        if jobs:
            batch_id = _batch_id(job["event"]["eventId"] for job in jobs)
            existing = await client.get_status(batch_id)
            if not existing or existing.runtime_status is df.OrchestrationRuntimeStatus.Failed:
                batch_input = {
                    "batchId": batch_id,
                    "options": workflow_options(settings).to_dict(),
                    "jobs": jobs,
                }
                await client.start_new(c.HR_BATCH, batch_id, batch_input)
            log_event(logger, "batch-accepted", instance_id=batch_id, count=len(jobs))
        status_url = _status_url(req, batch_id) if batch_id else None
        payload = {
            "id": batch_id,
            "accepted": len(jobs),
            "duplicates": duplicates,
            "rejected": rejected,
            "statusUrl": status_url,
        }
        headers = {"Location": status_url} if status_url else None
        return _json_response(payload, 202 if jobs else 200, headers=headers)
    except Problem as problem:
        return problem.response()
    except BatchTooLargeError as too_large:
        return Problem(413, "Batch too large", "At most 1000 events per batch.", too_large.errors).response()
    except EventValidationError as invalid:
        return _invalid(invalid).response()


@bp.route(route="hr-events/preview", methods=["POST"])
async def preview_event(req: func.HttpRequest) -> func.HttpResponse:
    """Dry run: what the event would do, with read-only Graph lookups and no writes, reservations or runs."""
    try:
        settings = _settings()
        body = await _signed_body(req, settings)
        event = parse_event(_json(body))
        return _json_response(await asyncio.to_thread(_plan, event, settings), 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return _invalid(invalid).response()
    except (GraphError, directory.DuplicateEmployeeId) as error:
        return Problem(502, "Directory lookup failed", str(error)).response()


@bp.route(route="hr-events/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def event_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Sanitised status of one event (or batch): never the Durable management URLs, never a secret."""
    try:
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        if instance_id.startswith(c.BATCH_INSTANCE_PREFIX):
            return _json_response(await _batch_status(client, status), 200)
        return _json_response(_event_status(status), 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="hr-events/{id}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
async def rescind_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Rescind an event still waiting for its effective date (or held by the breaker)."""
    try:
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        if not _is_waiting(status):
            raise Problem(
                409,
                "Too late to rescind",
                f"The event is at stage '{_stage(status)}'; only scheduled or held events can be rescinded.",
            )
        await client.raise_event(instance_id, c.rescind_event(_stage(status)), {"requestedBy": "hr-api"})
        return _json_response({"id": instance_id, "status": "cancelled"}, 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="hr-events/{id}/approve", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def approve_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Release a termination held by the mass-termination breaker."""
    try:
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        if _stage(status) != "held" or not _is_running(status):
            raise Problem(409, "Not held", f"The event is at stage '{_stage(status)}', not held for approval.")
        await client.raise_event(instance_id, c.EVENT_APPROVE, {"approvedBy": "hr-api"})
        return _json_response({"id": instance_id, "status": "approved"}, 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Configuration and dependency check: settings, Graph token and permissions, Key Vault, templates."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        return _json_response({"status": "unhealthy", "problems": error.problems}, 503)
    problems: list[str] = []
    checks: dict[str, Any] = {}
    rt = runtime.current()
    try:
        facts = token_facts(rt.credential)
        needed = required_roles(settings.credential_method, settings.revoke_sessions)
        missing = missing_roles(facts["roles"], needed)
        checks["graph"] = {"tenantId": facts["tenantId"], "appId": facts["appId"], "missingRoles": missing}
        problems += [f"Graph permission missing: {role}" for role in missing]
    except Exception as error:  # any credential failure is a health problem, reported without details
        problems.append(f"Graph token could not be acquired ({type(error).__name__})")
    if rt.secrets is not None:
        secret_names = (
            settings.graph_client_secret_name,
            settings.hr_signing_secret_name,
            settings.mapped_webhook_secret_name,
            *intake_registry.secret_names(settings),
        )
        for name in filter(None, secret_names):
            try:
                rt.secrets.get(name)
                checks.setdefault("keyVault", {})[name] = "readable"
            except SecretUnavailable as unavailable:
                problems.append(f"Key Vault secret {name} unavailable: {unavailable.reason}")
    problems += rt.notifier.template_problems()
    if settings.mapped_webhook_mapping_file:
        try:
            load_configured(settings.mapped_webhook_mapping_file)
        except MappingLoadError as invalid:
            problems += invalid.lines()
    checks["settings"] = settings.public_summary()
    body = {"status": "ok" if not problems else "unhealthy", "problems": problems, "checks": checks}
    return _json_response(body, 200 if not problems else 503)


# -- request handling --------------------------------------------------------------------------------------------


async def start_event(
    client: df.DurableOrchestrationClient, event: HrEvent, settings: Settings
) -> tuple[str, str, bool]:
    """Start `event`'s orchestration unless its eventId already has a run that has not failed.

    Returns the instance id, its stage ("accepted" when started now) and whether this call started it. Every route
    that turns HR input into events starts them here, so idempotency by eventId is the same for all of them.
    """
    instance_id = sanitize_instance_id(event.event_id)
    existing = await client.get_status(instance_id)
    if _blocks_resubmission(existing):
        return instance_id, _stage(existing), False
    event_input = {"event": event.to_json(), "options": workflow_options(settings).to_dict()}
    try:
        await client.start_new(c.HR_EVENT, instance_id, event_input)
    except Exception:  # a concurrent request for the same eventId won the race: report that run
        existing = await client.get_status(instance_id)
        if not existing:
            raise
        return instance_id, _stage(existing), False
    log_event(
        logger,
        "accepted",
        instance_id=instance_id,
        event_id=event.event_id,
        employee_id=event.employee.employee_id,
        event_type=event.type,
    )
    return instance_id, "accepted", True


def _settings() -> Settings:
    try:
        return runtime.current().settings
    except SettingsError as error:
        logger.error("configuration invalid: %d problem(s)", len(error.problems))
        raise Problem(503, "Service misconfigured", "The app settings are invalid; see /api/health.") from None


def _body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise Problem(413, "Body too large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem(415, "Unsupported media type", "Send the event as application/json.")
    return body


async def _signed_body(req: func.HttpRequest, settings: Settings) -> bytes:
    body = _body(req)
    if not settings.hr_signing_secret_name:
        return body
    global _verifier  # noqa: PLW0603 - the replay memory must outlive one request
    if _verifier is None:
        _verifier = SignatureVerifier(settings.signature_tolerance_seconds)
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
        _verifier.verify(secret, req.headers.get(TIMESTAMP_HEADER), req.headers.get(SIGNATURE_HEADER), body)
    except SignatureError as error:
        log_event(logger, "signature-rejected", level=logging.WARNING, outcome="unauthorized")
        raise Problem(401, "Invalid signature", str(error)) from None
    return body


def _json(body: bytes) -> object:
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


def _invalid(error: EventValidationError) -> Problem:
    return Problem(400, "Invalid HR event", "One or more fields are invalid.", error.errors)


def _json_response(payload: Any, status: int, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(payload, default=str),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def _status_url(req: func.HttpRequest, instance_id: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/api/hr-events/{quote(instance_id, safe='')}"


def _accepted_response(
    req: func.HttpRequest, instance_id: str, event_id: str, stage: str, *, status_code: int
) -> func.HttpResponse:
    url = _status_url(req, instance_id)
    payload = {"id": instance_id, "eventId": event_id, "status": stage, "statusUrl": url}
    return _json_response(payload, status_code, headers={"Location": url})


def _batch_id(event_ids: Any) -> str:
    """Same set of events, same batch id: a resubmitted batch cannot start twice."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode("utf-8")).hexdigest()[:32]
    return f"{c.BATCH_INSTANCE_PREFIX}{digest}"


# -- status ------------------------------------------------------------------------------------------------------


async def _find(client: df.DurableOrchestrationClient, raw_id: str) -> tuple[str, _Status]:
    """Look an instance up by its id, or by the eventId it was created from."""
    if not raw_id or len(raw_id) > 300:
        raise Problem(404, "Not found", "No HR event or batch has this id.")
    candidates = [raw_id]
    if not raw_id.startswith((c.EVENT_INSTANCE_PREFIX, c.BATCH_INSTANCE_PREFIX)):
        candidates.append(sanitize_instance_id(raw_id))
    for instance_id in candidates:
        if not instance_id.startswith((c.EVENT_INSTANCE_PREFIX, c.BATCH_INSTANCE_PREFIX)):
            continue
        status = await client.get_status(instance_id, show_input=True)
        if status:
            return instance_id, status
    raise Problem(404, "Not found", "No HR event or batch has this id.")


def _stage(status: _Status) -> str:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    stage = custom.get("stage")
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        return "failed"
    if status.runtime_status is df.OrchestrationRuntimeStatus.Terminated:
        return "cancelled"
    return str(stage or "accepted")


def _is_running(status: _Status) -> bool:
    return status.runtime_status in (
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
    )


def _is_waiting(status: _Status) -> bool:
    return _is_running(status) and _stage(status) in ("scheduled", "held")


def _blocks_resubmission(status: _Status) -> bool:
    """Any earlier run of the eventId except a failed one: only failed events may run again."""
    return bool(status) and _stage(status) != "failed"


def _event_status(status: _Status) -> dict[str, Any]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    event = payload.get("event") or {}
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    body: dict[str, Any] = {
        "id": status.instance_id,
        "eventId": event.get("eventId"),
        "type": custom.get("eventType") or event.get("type"),
        "employeeId": custom.get("employeeId") or (event.get("employee") or {}).get("employeeId"),
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "stage": _stage(status),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }
    if custom.get("userPrincipalName"):
        body["userPrincipalName"] = custom["userPrincipalName"]
    if custom.get("detail"):
        body["detail"] = custom["detail"]
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        body["error"] = c.parse_failure(str(status.output or ""))
    elif status.runtime_status is df.OrchestrationRuntimeStatus.Completed and isinstance(status.output, dict):
        body["output"] = status.output
    return body


async def _batch_status(client: df.DurableOrchestrationClient, status: _Status) -> dict[str, Any]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    jobs = payload.get("jobs") or []
    children = await asyncio.gather(*(client.get_status(job["instanceId"]) for job in jobs))
    stages = Counter(_stage(child) if child else "accepted" for child in children)
    outcomes = Counter(
        child.output.get("outcome")
        for child in children
        if child and isinstance(child.output, dict) and child.output.get("outcome")
    )
    return {
        "id": status.instance_id,
        "kind": "batch",
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "events": len(jobs),
        "stages": dict(stages),
        "outcomes": dict(outcomes),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


# -- preview -----------------------------------------------------------------------------------------------------


def _plan(event: HrEvent, settings: Settings) -> dict[str, Any]:
    """The workflow's decisions for this event, computed with live read-only lookups."""
    rt = runtime.current()
    options = workflow_options(settings)
    data = event.to_json()
    employee = data["employee"]
    warnings: list[str] = []
    try:
        person = directory.find_person(rt.graph, event.employee.employee_id)
        action, warning = decide_action(event.type, person, update_creates_missing=options.update_creates_missing)
    except c.WorkflowFailed as failure:
        raise Problem(
            422, "Event cannot run", failure.message, [FieldError("employee.employeeId", failure.message)]
        ) from None
    if warning:
        warnings.append(warning)
    zone = settings_zone(employee, options)
    if action in ("hire", "rehire-new"):
        free = directory.find_free_names(rt.graph, settings.name_policy(), employee, wanted=1)
        warnings += free["warnings"]
        if not free["candidates"]:
            raise Problem(422, "No free name", "No free user principal name could be generated.")
        names = free["candidates"][0]
        existing = None
    else:
        existing = person or {}
        names = {
            "userPrincipalName": existing.get("userPrincipalName"),
            "mail": existing.get("mail"),
            "mailNickname": existing.get("mailNickname"),
            "samAccountName": existing.get("onPremisesSamAccountName"),
        }
    active = action != "termination" and (action != "update" or bool((person or {}).get("accountEnabled", True)))
    record = scim_record(data, options, names=names, existing=existing, active=active, zone=zone)
    when = effective_instant(data, options, zone)
    return {
        "action": action,
        "userPrincipalName": names.get("userPrincipalName"),
        "mail": names.get("mail"),
        "mailNickname": names.get("mailNickname"),
        "samAccountName": names.get("samAccountName"),
        "scim": scim.bulk_requests([record])[0],
        "steps": _steps(action, when, options),
        "warnings": warnings,
    }


def settings_zone(employee: dict[str, Any], options: c.WorkflowOptions) -> ZoneInfo:
    return schedule.zone(employee.get("timeZone"), options.default_time_zone)


def _steps(action: str, when: Any, options: c.WorkflowOptions) -> list[str]:
    steps = []
    if when is not None:
        steps.append(f"wait until {when.isoformat()} (rescindable)")
    if action == "termination":
        steps += [
            "check the mass-termination breaker",
            "bulk upload the full record with active=false",
            "await the provisioning outcome",
        ]
        if options.revoke_sessions:
            steps.append("revoke sign-in sessions")
        steps.append("notify the manager and IT")
        return steps
    if action in ("hire", "rehire-new"):
        steps.append("reserve the generated names")
    steps += ["check Graph permissions", "bulk upload the full record", "await the provisioning outcome"]
    if action != "update":
        steps.append(
            f"await Entra Connect sync (deadline {options.sync_timeout_minutes} min, {options.sync_wait_mode})"
        )
        if options.credential_method != "none":
            steps.append(f"issue the first credential ({options.credential_method}) to {options.credential_recipient}")
        steps.append("send the welcome email")
    else:
        steps.append("notify a new manager, if the manager changed")
    return steps
