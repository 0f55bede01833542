"""The HR-facing HTTP API (docs/design.md, "HTTP API"): submit, batch, status, list, preview, rescind, approve,
health.

Every route needs the function key (the app's auth level is FUNCTION) and, with signing on, the HR signature
(`provisioning.request_auth`); health answers the verdict only, its details need the admin key. Bad input is
answered with an RFC 9457 problem naming the field and never reaches Graph; once an event is accepted it is a
durable orchestration, so it cannot be lost. The Durable management URLs carry the system key and are never
returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from provisioning import directory, event_listing, request_auth, runtime, schedule, scim
from provisioning.credentials import SecretUnavailable, missing_roles, required_roles, token_facts
from provisioning.events import (
    LEAVE_TYPES,
    BatchTooLargeError,
    EventValidationError,
    FieldError,
    HrEvent,
    JsonBodyError,
    event_fingerprint,
    instance_event_id,
    loads_strict,
    parse_batch,
    parse_event,
    sanitize_instance_id,
)
from provisioning.graph import GraphError
from provisioning.intake import registry as intake_registry
from provisioning.intake.mapping import MappingLoadError, load_configured
from provisioning.problems import Problem
from provisioning.settings import Settings, SettingsError
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import register_pending_hire
from provisioning.workflows.plan import decide_action, effective_instant, ids_only, scim_record, workflow_options
from provisioning.workflows.time_zone import choose as choose_zone

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")

_Status = Any  # DurableOrchestrationStatus (untyped SDK)


# -- routes ------------------------------------------------------------------------------------------------------


@bp.route(route="hr-events", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def submit_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept one HR event; a repeated eventId returns the existing run instead of starting another."""
    try:
        settings = _settings()
        body = await _signed_body(req, settings, client)
        event = parse_event(_json(body))
        instance_id, stage, started = await start_event(client, event, settings, refuse_conflicts=True)
        return _accepted_response(req, instance_id, event.event_id, stage, status_code=202 if started else 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return _invalid(invalid).response()


@bp.route(route="hr-events/batch", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def submit_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Accept up to 1,000 events; invalid ones are rejected one by one, repeats are reported as duplicates, and an
    eventId reused for a different event is rejected (it would be lost as a silent duplicate)."""
    try:
        settings = _settings()
        body = await _signed_body(req, settings, client)
        parsed = parse_batch(_json(body))
        rejected = [item.as_dict() for item in parsed.rejected]
        if not parsed.accepted:
            errors = [error for item in parsed.rejected for error in item.errors]
            raise Problem(400, "No valid event in the batch", "Every event in the batch was rejected.", errors)
        started = await start_batch(client, parsed.accepted, workflow_options(settings).to_dict())
        rejected = sorted([*rejected, *started["rejected"]], key=lambda item: item["index"])
        batch_id, jobs, duplicates = started["id"], started["accepted"], started["duplicates"]
        status_url = _status_url(req, batch_id) if batch_id else None
        payload = {
            "id": batch_id,
            "accepted": jobs,
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
@bp.durable_client_input(client_name="client")
async def preview_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Dry run: what the event would do, with read-only Graph lookups and no writes, reservations or runs.

    Signed like every route: a preview looks people up by employeeId, so it must not serve as a directory
    lookup for someone holding only the function key; and it answers with the event's own values and the
    generated or existing names, never the profile Entra holds.
    """
    try:
        settings = _settings()
        body = await _signed_body(req, settings, client)
        event = parse_event(_json(body))
        return _json_response(await asyncio.to_thread(_plan, event, settings), 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return _invalid(invalid).response()
    except (GraphError, directory.DuplicateEmployeeId) as error:
        return Problem(502, "Directory lookup failed", str(error)).response()


@bp.route(route="hr-events", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def list_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Recent events, newest first, filtered by stage, type, employee and creation time, paged by a cursor.

    Signed like every route (the query string is part of the signed string): a listing names employees and
    events, so the function key alone must not read it.
    """
    try:
        await _authenticated(req, client)
        query = event_listing.parse_query(dict(req.params))
    except Problem as problem:
        return problem.response()
    except event_listing.ListQueryError as invalid:
        return Problem(400, "Invalid query", "One or more query parameters are invalid.", invalid.errors).response()

    async def run_query(low: datetime | None, high: datetime | None, statuses: Any) -> list[Any]:
        return list(await client.get_status_by(low, high, statuses, c.EVENT_INSTANCE_PREFIX) or [])

    def matches(status: _Status) -> bool:
        summary = _event_status(status)
        return (
            (query.stages is None or summary["stage"] in query.stages)
            and (query.types is None or summary["type"] in query.types)
            and (query.employee_id is None or summary["employeeId"] == query.employee_id)
        )

    page, cursor = await event_listing.collect(query, run_query, matches)
    events = [_summary(status) for status in page]
    return _json_response({"events": events, "nextCursor": cursor}, 200)


@bp.route(route="hr-events/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def event_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Sanitised status of one event (or batch): never the Durable management URLs, never a secret."""
    try:
        await _authenticated(req, client)
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        if instance_id.startswith(c.BATCH_INSTANCE_PREFIX):
            return _json_response(await _batch_status(client, status), 200)
        return _json_response(_event_status(status), 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="hr-events/{id}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
async def rescind_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Rescind an event still waiting for its effective date (or held for approval)."""
    try:
        by = await _authenticated(req, client, approver_allowed=True)
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        stage = _stage(status)
        if stage == "cancelled" and not _is_running(status):  # rescinding twice is still rescinded
            return _json_response({"id": instance_id, "status": "cancelled"}, 200)
        if stage in c.FINAL_STAGES and not _is_running(status):
            raise Problem(409, "Event already ended", f"The event has ended ({stage}); there is nothing to rescind.")
        if not _is_waiting(status):
            raise Problem(
                409,
                "Too late to rescind",
                f"The event is at stage '{stage}' and has started writing; only scheduled or held events can be "
                "rescinded.",
            )
        await client.raise_event(instance_id, c.rescind_event(_stage(status), _hold(status)), {"requestedBy": by})
        log_event(logger, "rescinded", instance_id=instance_id, outcome=by)
        return _json_response({"id": instance_id, "status": "cancelled"}, 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="hr-events/{id}/approve", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def approve_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Release an event held for approval (the mass-change breaker or a rehire); a batch id releases every held
    event of the batch."""
    try:
        by = await _authenticated(req, client, approver_allowed=True)
        instance_id, status = await _find(client, req.route_params.get("id", ""))
        if instance_id.startswith(c.BATCH_INSTANCE_PREFIX):
            held = [child for child in await _batch_children(client, status) if child and _is_held(child)]
            if not held:
                raise Problem(409, "Not held", "No event of this batch is held for approval.")
            for child in held:
                await client.raise_event(child.instance_id, c.approve_event(_hold(child)), {"approvedBy": by})
            log_event(logger, "approved", instance_id=instance_id, outcome=by, count=len(held))
            return _json_response({"id": instance_id, "status": "approved"}, 200)
        if not _is_held(status):
            raise Problem(409, "Not held", f"The event is at stage '{_stage(status)}', not held for approval.")
        await client.raise_event(instance_id, c.approve_event(_hold(status)), {"approvedBy": by})
        log_event(logger, "approved", instance_id=instance_id, outcome=by)
        return _json_response({"id": instance_id, "status": "approved"}, 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Configuration and dependency check for monitors: the verdict and what is wrong, nothing that maps the
    tenant (no tenant or app id, vault, secret names or addresses). The details need the admin key."""
    body, status = _health_report()
    return _json_response({"status": body["status"], "problems": body["summary"]}, status)


@bp.route(route="health/details", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    """The full check for an operator holding the host's admin (master) key: facts, settings, exact problems."""
    body, status = _health_report()
    details = {"status": body["status"], "problems": body["problems"]}
    if "checks" in body:
        details["checks"] = body["checks"]
    return _json_response(details, status)


def _health_report() -> tuple[dict[str, Any], int]:
    """Settings, Graph token and permissions, Key Vault secrets, templates; `summary` is the public wording."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        names = sorted({problem.split(" ", 1)[0].rstrip(":") for problem in error.problems})
        wording = [f"setting {name} is missing or invalid" for name in names]
        return {"status": "unhealthy", "problems": error.problems, "summary": wording}, 503
    problems: list[str] = []
    summary: list[str] = []
    checks: dict[str, Any] = {}
    rt = runtime.current()
    try:
        facts = token_facts(rt.credential)
        needed = required_roles(
            settings.credential_method, settings.revoke_sessions, mail_permission=settings.mail_permission
        )
        missing = missing_roles(facts["roles"], needed)
        checks["graph"] = {"tenantId": facts["tenantId"], "appId": facts["appId"], "missingRoles": missing}
        problems += [f"Graph permission missing: {role}" for role in missing]
        summary += [f"Graph permission missing: {role}" for role in missing]
    except Exception as error:  # any credential failure is a health problem, reported without details
        problems.append(f"Graph token could not be acquired ({type(error).__name__})")
        summary.append("Graph token could not be acquired")
    if rt.secrets is not None:
        secrets_to_read = (
            ("Graph client secret", settings.graph_client_secret_name),
            ("request signing secret", settings.hr_signing_secret_name),
            ("mapped webhook secret", settings.mapped_webhook_secret_name),
            *(("HR system connector secret", name) for name in intake_registry.secret_names(settings)),
        )
        for purpose, name in secrets_to_read:
            if not name:
                continue
            try:
                rt.secrets.get(name)
                checks.setdefault("keyVault", {})[name] = "readable"
            except SecretUnavailable as unavailable:
                problems.append(f"Key Vault secret {name} unavailable: {unavailable.reason}")
                summary.append(f"the {purpose} cannot be read from Key Vault")
    template_problems = rt.notifier.template_problems()
    problems += template_problems
    summary += ["an email template does not compile"] if template_problems else []
    if settings.mapped_webhook_mapping_file:
        try:
            load_configured(settings.mapped_webhook_mapping_file)
        except MappingLoadError as invalid:
            problems += invalid.lines()
            summary.append("the mapped webhook's mapping file is invalid")
    checks["settings"] = settings.public_summary()
    status = "ok" if not problems else "unhealthy"
    return {"status": status, "problems": problems, "summary": summary, "checks": checks}, 200 if not problems else 503


# -- request handling --------------------------------------------------------------------------------------------


async def start_event(
    client: df.DurableOrchestrationClient,
    event: HrEvent,
    settings: Settings,
    *,
    refuse_conflicts: bool = False,
    link: dict[str, str] | None = None,
) -> tuple[str, str, bool]:
    """Start `event`'s orchestration unless its eventId already has a run that has not failed.

    Returns the instance id, its stage ("accepted" when started now) and whether this call started it. Every route
    that turns HR input into events starts them here, so idempotency by eventId is the same for all of them. The
    run keeps a canonical hash of the event; with `refuse_conflicts` an eventId already used for a different event
    is answered 409 instead of being reported as the earlier run. `link` names the existing account a confirmed
    go-live correlation case gives the employee (`{"accountId", "caseId"}`; provisioning.workflows.correlation).
    """
    instance_id = sanitize_instance_id(event.event_id)
    fingerprint = event_fingerprint(event)
    existing = await client.get_status(instance_id, show_input=True)
    if _blocks_resubmission(existing):
        return _existing_run(instance_id, event.event_id, existing, fingerprint, refuse_conflicts)
    event_input: dict[str, Any] = {
        "event": event.to_json(),
        "options": workflow_options(settings).to_dict(),
        "fingerprint": fingerprint,
    }
    if link:
        event_input["link"] = dict(link)
    try:
        await client.start_new(c.HR_EVENT, instance_id, event_input)
    except Exception:  # a concurrent request for the same eventId won the race: report that run
        existing = await client.get_status(instance_id, show_input=True)
        if not existing:
            raise
        return _existing_run(instance_id, event.event_id, existing, fingerprint, refuse_conflicts)
    await register_pending_hire(client, instance_id, event_input["event"])
    log_event(
        logger,
        "accepted",
        instance_id=instance_id,
        event_id=event.event_id,
        employee_id=event.employee.employee_id,
        event_type=event.type,
    )
    return instance_id, "accepted", True


async def start_batch(
    client: df.DurableOrchestrationClient, events: Sequence[tuple[int, HrEvent]], options: dict[str, Any]
) -> dict[str, Any]:
    """Start up to 1,000 valid events as one batch (packed into bulk requests of 50), like POST /hr-events/batch.

    Returns `{"id", "accepted", "duplicates", "rejected"}`: the batch id (None when nothing is new), how many
    events start, the eventIds that already ran with the same body, and (by index) those reused for a different
    event. The batch id follows from the event ids, so a repeated batch starts nothing twice. Reconciliation
    applies its plans through here.
    """
    candidates = [(index, event, sanitize_instance_id(event.event_id)) for index, event in events]
    statuses = await asyncio.gather(
        *(client.get_status(instance_id, show_input=True) for _, _, instance_id in candidates)
    )
    duplicates: list[str] = []
    rejected: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    for (index, event, instance_id), status in zip(candidates, statuses, strict=True):
        fingerprint = event_fingerprint(event)
        if not _blocks_resubmission(status):
            jobs.append({"instanceId": instance_id, "event": event.to_json(), "fingerprint": fingerprint})
        elif _same_event(status, fingerprint):
            duplicates.append(event.event_id)
        else:
            error = FieldError(f"events[{index}].eventId", _CONFLICT_MESSAGE)
            rejected.append({"index": index, "eventId": event.event_id, "errors": [error.as_dict()]})
    batch_id: str | None = None
    if jobs:
        batch_id = _batch_id(job["event"]["eventId"] for job in jobs)
        existing = await client.get_status(batch_id)
        if not existing or existing.runtime_status is df.OrchestrationRuntimeStatus.Failed:
            await client.start_new(c.HR_BATCH, batch_id, {"batchId": batch_id, "options": options, "jobs": jobs})
        log_event(logger, "batch-accepted", instance_id=batch_id, count=len(jobs))
    return {"id": batch_id, "accepted": len(jobs), "duplicates": duplicates, "rejected": rejected}


def _settings() -> Settings:
    try:
        return runtime.current().settings
    except SettingsError as error:
        logger.error("configuration invalid: %d problem(s)", len(error.problems))
        raise Problem(503, "Service misconfigured", "The app settings are invalid; see /api/health.") from None


def _body(req: func.HttpRequest) -> bytes:
    """A JSON body: its size checked (before it is read, when declared), then its media type."""
    body = request_auth.read_body(req)
    _require_json(req)
    return body


def _require_json(req: func.HttpRequest) -> None:
    content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem(415, "Unsupported media type", "Send the event as application/json.")


async def _signed_body(req: func.HttpRequest, settings: Settings, client: df.DurableOrchestrationClient) -> bytes:
    """The JSON body of a submission or preview, once its size, signature and media type are checked."""
    body = request_auth.read_body(req)
    await request_auth.verify_signature(req, settings, body, client)
    _require_json(req)
    return body


async def _authenticated(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, *, approver_allowed: bool = False
) -> str:
    """Check the HR signature of a status, rescind or approve call; an Entra-authenticated approver may rescind
    or approve without it (APPROVER_APP_ROLE). Returns who acted, for the audit trail."""
    settings = _settings()
    body = request_auth.read_body(req)
    if approver_allowed and request_auth.approver(req, settings):
        return "approver"
    await request_auth.verify_signature(req, settings, body, client)
    return "hr-api"


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
    stage = str(custom.get("stage") or "accepted")
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        return "failed"
    if status.runtime_status is df.OrchestrationRuntimeStatus.Terminated:
        return "cancelled"
    if stage in c.FINAL_STAGES and _is_running(status):
        # A run records its final stage and its output in one step; a running instance showing a final stage is
        # still recording (or predates that rule), so its output is not there yet: it is still finishing up.
        return "notifying"
    return stage


def _is_running(status: _Status) -> bool:
    return status.runtime_status in (
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
    )


def _is_waiting(status: _Status) -> bool:
    return _is_running(status) and _stage(status) in ("scheduled", "held")


def _is_held(status: _Status) -> bool:
    return _is_running(status) and _stage(status) == "held"


def _hold(status: _Status) -> int | None:
    """Which of the run's holds is waiting (custom status `hold`), so approve and rescind reach it."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    number = custom.get("hold")
    return number if isinstance(number, int) else None


async def _batch_children(client: df.DurableOrchestrationClient, status: _Status) -> list[_Status]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    jobs = payload.get("jobs") or []
    return list(await asyncio.gather(*(client.get_status(job["instanceId"]) for job in jobs)))


def _blocks_resubmission(status: _Status) -> bool:
    """Any earlier run of the eventId except a failed one: only failed events may run again."""
    return bool(status) and _stage(status) != "failed"


_CONFLICT_MESSAGE = (
    "this eventId was already accepted with a different body; an eventId names one event, so send a correction as a "
    "new event with its own eventId"
)


def _same_event(status: _Status, fingerprint: str) -> bool:
    """Whether the earlier run of this eventId was started with the same event (compared by canonical hash)."""
    payload = status.input_ if isinstance(status.input_, dict) else {}
    stored = payload.get("fingerprint")
    if stored is None and isinstance(payload.get("event"), dict):
        try:  # runs started before fingerprints were stored
            stored = event_fingerprint(parse_event(payload["event"]))
        except EventValidationError:
            return False
    return stored is None or stored == fingerprint


def _existing_run(
    instance_id: str, event_id: str, existing: _Status, fingerprint: str, refuse_conflicts: bool
) -> tuple[str, str, bool]:
    """The same eventId again: the earlier run for the same event; 409 for a different one (when refused)."""
    if refuse_conflicts and not _same_event(existing, fingerprint):
        raise Problem(
            409,
            "eventId already used for a different event",
            f"Event {event_id} was accepted before with a different body, and that run is kept. An eventId names "
            "one event: send the correction as a new event with its own eventId.",
            [FieldError("eventId", _CONFLICT_MESSAGE)],
        )
    return instance_id, _stage(existing), False


def _event_status(status: _Status) -> dict[str, Any]:
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    event = payload.get("event") or {}
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    body: dict[str, Any] = {
        "id": status.instance_id,
        "eventId": event.get("eventId") or instance_event_id(str(status.instance_id)),
        "type": custom.get("eventType") or event.get("type"),
        "employeeId": custom.get("employeeId") or (event.get("employee") or {}).get("employeeId"),
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "stage": _stage(status),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
    }
    if custom.get("userPrincipalName"):
        body["userPrincipalName"] = custom["userPrincipalName"]
    if isinstance(custom.get("timeZone"), dict):
        body["timeZone"] = custom["timeZone"]
    if custom.get("detail"):
        body["detail"] = custom["detail"]
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        body["error"] = c.parse_failure(str(status.output or ""))
    elif status.runtime_status is df.OrchestrationRuntimeStatus.Completed and isinstance(status.output, dict):
        body["output"] = status.output
    return body


def _summary(status: _Status) -> dict[str, Any]:
    """One event in the list: its status without the output, with the outcome instead."""
    body = _event_status(status)
    output = body.pop("output", None)
    if isinstance(output, dict) and output.get("outcome"):
        body["outcome"] = output["outcome"]
    return body


async def _batch_status(client: df.DurableOrchestrationClient, status: _Status) -> dict[str, Any]:
    """Counts over the batch's events. The batch is done only when every event has a final stage; until then its
    runtimeStatus is Running whatever the batch orchestration itself did (it only starts the events)."""
    payload: dict[str, Any] = status.input_ if isinstance(status.input_, dict) else {}
    jobs = payload.get("jobs") or []
    children = await _batch_children(client, status)
    stages = Counter(_stage(child) if child else "accepted" for child in children)
    outcomes: Counter[str] = Counter()
    for child in children:
        stage = _stage(child) if child else "accepted"
        if stage == "failed":
            outcomes["failed"] += 1
        elif stage in c.FINAL_STAGES and isinstance(child.output, dict) and child.output.get("outcome"):
            outcomes[str(child.output["outcome"])] += 1
        elif stage in c.FINAL_STAGES:
            outcomes[stage] += 1
    finished = sum(count for stage, count in stages.items() if stage in c.FINAL_STAGES)
    done = bool(jobs) and finished == len(jobs)
    starter = status.runtime_status
    if starter is df.OrchestrationRuntimeStatus.Failed:
        runtime_status = starter.value
    else:
        runtime_status = "Completed" if done else "Running"
    return {
        "id": status.instance_id,
        "kind": "batch",
        "runtimeStatus": runtime_status,
        "done": done,
        "events": len(jobs),
        "finished": finished,
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
    around = event.effective_date or datetime.now(UTC).date()
    # A preview sees the event and the account; the zone an earlier event named is known only to a real run.
    zone_choice = choose_zone(data, record=None, account=person, default=options.default_time_zone, around=around)
    zone = schedule.zone(zone_choice["name"], options.default_time_zone)
    if action in LEAVE_TYPES:
        data = ids_only(data)
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
    active = action not in ("termination", "leave-of-absence") and (
        action != "update" or bool((person or {}).get("accountEnabled", True))
    )
    record = scim_record(data, options, names=names, existing=existing, active=active)
    when = effective_instant(data, options, zone)
    return {
        "action": action,
        "userPrincipalName": names.get("userPrincipalName"),
        "mail": names.get("mail"),
        "mailNickname": names.get("mailNickname"),
        "samAccountName": names.get("samAccountName"),
        "scim": scim.bulk_requests([record])[0],
        "steps": [f"schedule in {zone_choice['name']} ({zone_choice['source']})", *_steps(action, when, options)],
        "warnings": warnings,
    }


def _steps(action: str, when: Any, options: c.WorkflowOptions) -> list[str]:
    steps = []
    if when is not None:
        steps.append(f"wait until {when.isoformat()} (rescindable)")
    if action == "termination":
        steps += [
            "count the change against the mass-change breaker (held for approval when tripped)",
            "bulk upload the full record with active=false",
            "await the provisioning outcome",
        ]
        if options.revoke_sessions:
            steps.append("revoke sign-in sessions")
        steps.append("notify the manager and IT")
        return steps
    if action in LEAVE_TYPES:
        enabled = action == "return-from-leave"
        steps += [
            "count the change against the mass-change breaker (held for approval when tripped)",
            "check Graph permissions",
            f"bulk upload the unchanged record with active={'true' if enabled else 'false'}",
            "await the provisioning outcome",
        ]
        if not enabled and options.revoke_sessions:
            steps.append("revoke sign-in sessions")
        if enabled:
            steps.append(f"await the enabled account in Entra (deadline {options.sync_timeout_minutes} min)")
        return steps
    if action in ("hire", "rehire-new"):
        steps.append("reserve the generated names")
    if action == "rehire":
        steps += [
            "refuse if the account holds or can activate a directory role or is in a protected group",
            "hold for IT approval when a hire matched the disabled account, when it was disabled more than "
            f"{options.rehire_hold_after_days} days ago or at an unknown time, or when the mass-change breaker trips",
        ]
    steps += ["check Graph permissions", "bulk upload the full record", "await the provisioning outcome"]
    if action != "update":
        steps.append(
            f"await Entra Connect sync (deadline {options.sync_timeout_minutes} min, {options.sync_wait_mode})"
        )
        recipient = "the manager on record (or IT)" if action == "rehire" else options.credential_recipient
        if options.credential_method != "none":
            steps.append(f"issue the first credential ({options.credential_method}) to {recipient}")
        steps.append("send the welcome email")
        if action != "hire":
            steps.append("tell IT about the rehire")
    else:
        steps.append("notify a new manager, if the manager changed")
    return steps
