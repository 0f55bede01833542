"""The reconciliation routes: start a run, read its plan (JSON or CSV), apply it, decide correlation cases.

Guarded like the HR routes (`provisioning.intake.request_auth`): the function key, and with signing on the HR signature
on every route. Applying a plan and deciding a case change accounts, so they are privileged like approving a held
event: the HR signature, or an Entra-authenticated caller holding APPROVER_APP_ROLE. Bad input is an RFC 9457
problem naming the field; a roster with problems is refused whole, with every row and column named.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.events import EventValidationError, FieldError, JsonBodyError, loads_strict, parse_event
from provisioning.intake import registry, request_auth
from provisioning.intake.hr_api import submission
from provisioning.intake.mapping import Mapping, MappingFormat, MappingLoadError, load_configured
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.reconciliation import report, store
from provisioning.reconciliation.activities import HR_PART, PLAN_PART
from provisioning.reconciliation.drift import CLASSES
from provisioning.reconciliation.population import Policy
from provisioning.reconciliation.roster import RosterError, read_roster
from provisioning.safeguards import RunLimits
from provisioning.settings import Settings, SettingsError
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import workflow_options
from provisioning.workflows.steps import decoded

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.reconciliation")

_ROSTER_TYPES = {"text/csv": "csv", "application/csv": "csv", "application/json": "json"}
_MAX_APPLY_IDS = 10_000


def run_options(settings: Settings) -> dict[str, Any]:
    """What a run needs from the settings, snapshotted into its input (orchestrators never read the environment)."""
    return {
        "policy": Policy(
            attributes=settings.reconcile_attributes,
            scope=settings.reconcile_scope,
            provision_lead_days=settings.provision_lead_days,
            termination_local_time=settings.termination_local_time.strftime("%H:%M"),
            default_time_zone=settings.default_time_zone,
        ).to_dict(),
        "limits": RunLimits(
            creates=settings.reconcile_max_creates,
            creates_percent=settings.reconcile_max_creates_percent,
            updates=settings.reconcile_max_updates,
            updates_percent=settings.reconcile_max_updates_percent,
            disables=settings.reconcile_max_disables,
            disables_percent=settings.reconcile_max_disables_percent,
        ).to_dict(),
    }


def run_instance(run_id: str) -> str:
    return f"{c.RECONCILIATION_INSTANCE_PREFIX}{run_id}"


def new_run_id(now: datetime) -> str:
    """Time first, so runs sort by when they started, then a random part: two runs in one second are two runs."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(5)}"


async def start_run(
    client: df.DurableOrchestrationClient,
    settings: Settings,
    run_id: str,
    source: dict[str, Any],
    *,
    now: datetime,
    requested_by: str,
    scheduled: bool = False,
) -> bool:
    """Start the run's orchestration unless it exists; returns whether this call started it."""
    instance_id = run_instance(run_id)
    if await client.get_status(instance_id):
        return False
    run_input = {
        "runId": run_id,
        "source": source,
        "startedAt": now.isoformat(),
        "requestedBy": requested_by,
        "scheduled": scheduled,
        "autoApply": list(settings.reconcile_auto_apply or ()),
        **run_options(settings),
    }
    await client.start_new(c.RECONCILIATION, instance_id, run_input)
    log_event(logger, "reconciliation-started", instance_id=instance_id, operation=source["kind"])
    return True


# -- POST /api/reconciliations ------------------------------------------------------------------------------------


@bp.route(route="reconciliations", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def start_reconciliation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a run from an uploaded roster (CSV or JSON, with a mapping) or from a connector (`{"source": ...}`)."""
    try:
        settings = _settings()
        body = _roster_body(req, settings.reconcile_roster_max_bytes)
        await request_auth.verify_signature(req, settings, body, client)
        now = datetime.now(UTC)
        run_id = new_run_id(now)
        media = _media_type(req)
        if media == "application/json" and _is_source_request(body):
            source = _connector_source(body, settings)
        else:
            roster_bytes, fmt, mapping = _roster_parts(req, body, media, settings)
            roster = await asyncio.to_thread(
                read_roster, roster_bytes, fmt, mapping, default_time_zone=settings.default_time_zone
            )
            items = [person.to_json() for person in roster.people]
            tags = await store.write_chunks(client, run_id, HR_PART, items)
            source = {
                "kind": "roster",
                "format": fmt,
                "tags": tags,
                "records": len(items),
                "rows": roster.rows,
                "skipped": roster.skipped,
            }
        started = await start_run(client, settings, run_id, source, now=now, requested_by="hr-api")
        url = _run_url(req, run_id)
        payload = {"id": run_id, "status": "accepted" if started else "exists", "statusUrl": url}
        return _json_response(payload, 202 if started else 200, headers={"Location": url})
    except Problem as problem:
        return problem.response()
    except RosterError as invalid:
        detail = "Nothing was planned: fix these rows and columns."
        return Problem(400, "Roster does not fit", detail, invalid.errors).response()


def _roster_body(req: func.HttpRequest, limit: int) -> bytes:
    """The upload, refused (413) over RECONCILE_ROSTER_MAX_BYTES, before it is read when its length is declared."""
    try:
        return request_auth.read_body(req, limit)
    except Problem:
        raise Problem(
            413, "Roster too large", f"The body exceeds {limit} bytes (RECONCILE_ROSTER_MAX_BYTES)."
        ) from None


def _media_type(req: func.HttpRequest) -> str:
    return (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def _is_source_request(body: bytes) -> bool:
    head = body.lstrip()[:1]
    if head != b"{":
        return False
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and "source" in document


def _connector_source(body: bytes, settings: Settings) -> dict[str, Any]:
    try:
        document = loads_strict(body.decode("utf-8"))
    except (UnicodeDecodeError, JsonBodyError, ValueError) as error:
        errors = [FieldError("body", "invalid")]
        raise Problem(400, "Invalid JSON", f"The body is not plain JSON: {error}.", errors) from None
    if not isinstance(document, dict):
        raise Problem(400, "Invalid JSON", "Send a JSON object.", [FieldError("body", "must be an object")])
    unknown = sorted(set(document) - {"source"})
    if unknown:
        raise Problem(400, "Invalid request", "Unknown fields.", [FieldError(key, "unknown field") for key in unknown])
    name = document["source"]
    if not isinstance(name, str) or name not in registry.CONNECTORS:
        choices = ", ".join(sorted(registry.CONNECTORS))
        errors = [FieldError("source", f"one of {choices}")]
        raise Problem(400, "Unknown source", "No such HR system connector.", errors)
    if not registry.connector(name).enabled(settings):
        raise Problem(
            409, "Connector not enabled", f"Set {name.upper()}_ENABLED=true (docs/connectors.md) to read from it."
        )
    return {"kind": "connector", "connector": name}


def _roster_parts(req: func.HttpRequest, body: bytes, media: str, settings: Settings) -> tuple[bytes, str, Mapping]:
    """The roster, its format and the mapping: a multipart upload may carry its own mapping."""
    inline: Mapping | None = None
    if media == "multipart/form-data":
        parts = _multipart(req, body)
        roster = parts.get("roster")
        if roster is None:
            errors = [FieldError("roster", "required")]
            raise Problem(400, "Roster missing", "Send the roster as the form part `roster`.", errors)
        content, filename, part_type = roster
        fmt = _format_of(filename, part_type)
        if "mapping" in parts:
            mapping_bytes, mapping_name, _ = parts["mapping"]
            mapping_format: MappingFormat = "json" if (mapping_name or "").lower().endswith(".json") else "yaml"
            try:
                inline = Mapping.load(mapping_bytes, mapping_format, source=mapping_name or "mapping")
            except MappingLoadError as invalid:
                errors = [
                    FieldError(f"mapping.{problem.location}".rstrip("."), problem.message)
                    for problem in invalid.problems
                ]
                raise Problem(400, "Mapping invalid", "The uploaded mapping has problems.", errors) from None
    elif media in _ROSTER_TYPES:
        content, fmt = body, _ROSTER_TYPES[media]
    else:
        raise Problem(415, "Unsupported media type", "Send text/csv, application/json or multipart/form-data.")
    mapping = inline or _configured_mapping(settings)
    return content, fmt, mapping


def _configured_mapping(settings: Settings) -> Mapping:
    if not settings.reconcile_roster_mapping_file:
        raise Problem(
            400,
            "No roster mapping",
            "Upload the roster as multipart/form-data with a `mapping` part, or set RECONCILE_ROSTER_MAPPING_FILE.",
            [FieldError("mapping", "required")],
        )
    try:
        return load_configured(settings.reconcile_roster_mapping_file)
    except MappingLoadError as invalid:
        errors = [FieldError("RECONCILE_ROSTER_MAPPING_FILE", line) for line in invalid.lines()]
        detail = "The configured roster mapping file is unusable."
        raise Problem(503, "Roster mapping invalid", detail, errors) from None


def _multipart(req: func.HttpRequest, body: bytes) -> dict[str, tuple[bytes, str | None, str]]:
    header = f"Content-Type: {req.headers.get('Content-Type')}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise Problem(400, "Invalid form", "The multipart body could not be read.", [FieldError("body", "invalid")])
    parts: dict[str, tuple[bytes, str | None, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = (payload if isinstance(payload, bytes) else b"", part.get_filename(), part.get_content_type())
    return parts


def _format_of(filename: str | None, content_type: str) -> str:
    name = (filename or "").lower()
    if name.endswith(".json") or content_type == "application/json":
        return "json"
    return "csv"


# -- GET /api/reconciliations/{id} --------------------------------------------------------------------------------


@bp.route(route="reconciliations/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def reconciliation_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The run's stage and summary and, once planned, its plan (JSON; `?format=csv` for a spreadsheet)."""
    try:
        await _signed(req, client)
        run_id, status = await _find_run(client, req.route_params.get("id", ""))
        view = _run_view(run_id, status)
        output = status.output if isinstance(status.output, dict) else None
        entries: list[dict[str, Any]] = []
        if output and output.get("planTags"):
            stored = await store.read_chunks(client, run_id, PLAN_PART, output["planTags"])
            if stored is None:
                raise Problem(503, "Plan not readable", "The plan's chunks could not be read; retry.")
            entries = _filtered(stored, req)
        if (req.params.get("format") or "").lower() == "csv":
            return func.HttpResponse(
                report.plan_csv(entries),
                status_code=200,
                mimetype="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'},
            )
        view["applies"] = await _applies(client, run_id)
        if output:
            view["plan"] = entries
        return _json_response(view, 200)
    except Problem as problem:
        return problem.response()


def _filtered(entries: list[dict[str, Any]], req: func.HttpRequest) -> list[dict[str, Any]]:
    classes = {value.strip() for value in (req.params.get("class") or "").split(",") if value.strip()}
    unknown = sorted(classes - set(CLASSES))
    if unknown:
        errors = [FieldError("class", f"one of {', '.join(CLASSES)}")]
        raise Problem(400, "Unknown class", "No such drift class.", errors)
    employee = (req.params.get("employeeId") or "").casefold()
    return [
        entry
        for entry in entries
        if (not classes or entry.get("class") in classes)
        and (not employee or str(entry.get("employeeId") or "").casefold() == employee)
    ]


async def _find_run(client: df.DurableOrchestrationClient, run_id: str) -> tuple[str, Any]:
    if not run_id or len(run_id) > 100 or not all(ch.isalnum() or ch in "-_" for ch in run_id):
        raise Problem(404, "Not found", "No reconciliation run has this id.")
    status = await client.get_status(run_instance(run_id), show_input=False)
    if not status or status.runtime_status is None:
        raise Problem(404, "Not found", "No reconciliation run has this id.")
    return run_id, status


def _run_view(run_id: str, status: Any) -> dict[str, Any]:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    output = status.output if isinstance(status.output, dict) else {}
    view: dict[str, Any] = {
        "id": run_id,
        "runtimeStatus": status.runtime_status.value,
        "stage": output.get("stage") or custom.get("stage") or "accepted",
        "source": custom.get("source"),
        "scheduled": custom.get("scheduled"),
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
        "progress": {
            key: custom[key] for key in ("hrRecords", "hrProblems", "rosterRows", "skippedRows") if key in custom
        },
    }
    if output:
        view.update({key: output.get(key) for key in ("plannedAt", "summary", "holdReasons", "autoApplied")})
    if status.runtime_status is df.OrchestrationRuntimeStatus.Failed:
        view["stage"] = "failed"
        view["error"] = custom.get("error") or c.parse_failure(str(status.output or ""))
    return view


async def _applies(client: df.DurableOrchestrationClient, run_id: str) -> list[dict[str, Any]]:
    statuses = await client.get_status_by(instance_id_prefix=f"{c.RECONCILIATION_APPLY_PREFIX}{run_id}-")
    result = []
    for status in statuses:
        output = status.output if isinstance(status.output, dict) else {}
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        result.append(
            {
                "id": status.instance_id,
                "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
                "createdTime": _iso(status.created_time),
                **{key: output.get(key, custom.get(key)) for key in ("events", "started", "existing", "batches")},
            }
        )
    return sorted(result, key=lambda item: str(item["createdTime"]))


def _run_url(req: func.HttpRequest, run_id: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/api/reconciliations/{quote(run_id, safe='')}"


# -- POST /api/reconciliations/{id}/apply -------------------------------------------------------------------------


@bp.route(route="reconciliations/{id}/apply", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def apply_reconciliation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Turn the planned changes (all, or these employees' / these classes') into HR events."""
    try:
        by, body = await _privileged(req, client)
        settings = _settings()
        request = _apply_request(body)
        run_id, status = await _find_run(client, req.route_params.get("id", ""))
        output = _planned_output(status)
        planned_at = datetime.fromisoformat(output["plannedAt"])
        if datetime.now(UTC) - planned_at > timedelta(hours=settings.reconcile_plan_max_age_hours):
            raise Problem(
                409,
                "Plan too old",
                f"The plan is older than {settings.reconcile_plan_max_age_hours} hours (RECONCILE_PLAN_MAX_AGE_HOURS); "
                "the directory has moved on. Start a new run.",
            )
        if output.get("holdReasons") and not request["approve"]:
            raise Problem(
                409,
                "Plan held",
                "The plan is over the reconciliation thresholds: " + "; ".join(output["holdReasons"]) + ". Review it "
                'and apply with {"approve": true} to release it.',
            )
        entries = await store.read_chunks(client, run_id, PLAN_PART, output["planTags"])
        if entries is None:
            raise Problem(503, "Plan not readable", "The plan's chunks could not be read; retry.")
        selection = report.select(entries, employee_ids=request["employeeIds"], classes=request["classes"])
        if selection.unknown:
            errors = [FieldError("employeeIds", f"{value} is not in this run's plan") for value in selection.unknown]
            raise Problem(400, "Unknown employees", "Some employee ids are not in the plan.", errors)
        key = json.dumps([request["employeeIds"], request["classes"]], sort_keys=True).encode()
        instance_id = f"{c.RECONCILIATION_APPLY_PREFIX}{run_id}-{hashlib.sha256(key).hexdigest()[:12]}"
        payload: dict[str, Any] = {
            "id": instance_id,
            "runId": run_id,
            "events": len(selection.entries),
            "notPlanned": selection.not_planned,
        }
        existing = await client.get_status(instance_id)
        if existing and existing.runtime_status is not df.OrchestrationRuntimeStatus.Failed:
            payload["status"] = "already applied"
            return _json_response(payload, 200)
        await client.start_new(
            c.RECONCILIATION_APPLY,
            instance_id,
            {
                "runId": run_id,
                "planTags": output["planTags"],
                "employeeIds": request["employeeIds"],
                "classes": request["classes"],
                "approvedBy": by,
                "options": workflow_options(settings).to_dict(),
            },
        )
        count = len(selection.entries)
        log_event(logger, "reconciliation-applied", instance_id=instance_id, outcome=by, count=count)
        payload["status"] = "applying"
        payload["runUrl"] = _run_url(req, run_id)
        return _json_response(payload, 202)
    except Problem as problem:
        return problem.response()


async def _privileged(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> tuple[str, bytes]:
    """Who may change accounts from a plan: an approver (APPROVER_APP_ROLE) or the signed HR API, like approve."""
    settings = _settings()
    body = request_auth.read_body(req)
    if request_auth.approver(req, settings):
        return "approver", body
    await request_auth.verify_signature(req, settings, body, client)
    return "hr-api", body


def _apply_request(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {"employeeIds": None, "classes": None, "approve": False}
    document = _parse_json(body)
    if not isinstance(document, dict):
        raise Problem(400, "Invalid request", "Send a JSON object.", [FieldError("body", "must be an object")])
    errors = [FieldError(key, "unknown field") for key in sorted(set(document) - {"employeeIds", "classes", "approve"})]
    ids = document.get("employeeIds")
    valid_ids = isinstance(ids, list) and 0 < len(ids) <= _MAX_APPLY_IDS and all(isinstance(v, str) and v for v in ids)
    if ids is not None and not valid_ids:
        errors.append(FieldError("employeeIds", f"a non-empty list of at most {_MAX_APPLY_IDS} employee ids"))
    classes = document.get("classes")
    valid_classes = isinstance(classes, list) and classes and all(isinstance(c, str) and c in CLASSES for c in classes)
    if classes is not None and not valid_classes:
        errors.append(FieldError("classes", f"a list of drift classes: {', '.join(CLASSES)}"))
    approve = document.get("approve", False)
    if not isinstance(approve, bool):
        errors.append(FieldError("approve", "true or false"))
    if errors:
        raise Problem(400, "Invalid request", "One or more fields are invalid.", errors)
    return {"employeeIds": ids, "classes": classes, "approve": approve}


def _planned_output(status: Any) -> dict[str, Any]:
    output = status.output if isinstance(status.output, dict) else None
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed or not output:
        stage = "failed" if status.runtime_status is df.OrchestrationRuntimeStatus.Failed else "running"
        raise Problem(409, "Not planned", f"The run is {stage}; only a planned run can be applied or decided.")
    return output


# -- correlation cases ---------------------------------------------------------------------------------------------


@bp.route(route="reconciliations/{id}/cases/{caseId}/confirm", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def confirm_case(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The account is this person's: record it and write the employeeId through an ordinary update."""
    return await _decide(req, client, "confirm")


@bp.route(route="reconciliations/{id}/cases/{caseId}/reject", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def reject_case(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The account is not this person's: the next run plans their own account (if no other case is open)."""
    return await _decide(req, client, "reject")


async def _decide(req: func.HttpRequest, client: df.DurableOrchestrationClient, decision: str) -> func.HttpResponse:
    try:
        by, _ = await _privileged(req, client)
        settings = _settings()
        case_id = req.route_params.get("caseId", "")
        run_id, status = await _find_run(client, req.route_params.get("id", ""))
        output = _planned_output(status)
        entries = await store.read_chunks(client, run_id, PLAN_PART, output["planTags"])
        entry, case = _find_case(entries or [], case_id)
        state = await client.read_entity_state(store.CASES)
        current = decoded(state.entity_state) if state and state.entity_exists else None
        earlier = ((current or {}).get("decided") or {}).get(case_id)
        if earlier:
            raise Problem(409, "Already decided", f"The case was {earlier['status']} before.")
        employee_id = str(entry["employeeId"])
        account_id = str(case["account"]["id"])
        status_word = "confirmed" if decision == "confirm" else "rejected"
        await client.signal_entity(
            store.CASES,
            "decide",
            {
                "caseId": case_id,
                "employeeId": employee_id,
                "accountId": account_id,
                "status": status_word,
                "at": datetime.now(UTC).isoformat(),
                "by": by,
                "runId": run_id,
            },
        )
        body: dict[str, Any] = {"caseId": case_id, "employeeId": employee_id, "status": status_word}
        if decision == "confirm":
            event = {**entry["event"], "eventId": f"recon-{run_id}-{employee_id}-link", "type": "update"}
            event.pop("effectiveDate", None)
            try:
                parsed = parse_event(event)
            except EventValidationError as invalid:
                detail = "The HR record of this case is not a valid update."
                raise Problem(422, "Case cannot be linked", detail, invalid.errors) from None
            instance_id, stage, _ = await submission.start_event(
                client, parsed, settings, link={"accountId": account_id, "caseId": case_id}
            )
            body["event"] = {"id": instance_id, "status": stage, "statusUrl": _event_url(req, instance_id)}
        waiting = ((current or {}).get("waiting") or {}).get(employee_id, [])
        await _release_waiting(client, waiting, by)
        log_event(logger, "correlation-case", instance_id=run_instance(run_id), outcome=status_word)
        return _json_response(body, 200)
    except Problem as problem:
        return problem.response()


def _find_case(entries: list[dict[str, Any]], case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for entry in entries:
        for case in entry.get("cases") or ():
            if case.get("caseId") == case_id:
                return entry, case
    raise Problem(404, "Not found", "No correlation case of this run has this id.")


async def _release_waiting(client: df.DurableOrchestrationClient, instance_ids: list[str], by: str) -> None:
    """Hires held for the employee's open case look again now that it is decided."""
    for instance_id in instance_ids:
        status = await client.get_status(instance_id)
        if status is None or _stage(status) != "held":
            continue
        await client.raise_event(instance_id, c.approve_event(_hold(status)), {"approvedBy": by})


# -- small HTTP helpers ----------------------------------------------------------------------------------------------


def _settings() -> Settings:
    try:
        return runtime.current().settings
    except SettingsError:
        raise Problem(503, "Service misconfigured", "The app settings are invalid; see /api/health.") from None


async def _signed(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> None:
    """A read: the function key (the host) and, with signing on, the HR signature."""
    settings = _settings()
    await request_auth.verify_signature(req, settings, request_auth.read_body(req), client)


def _json_response(payload: Any, status: int, headers: dict[str, str] | None = None) -> func.HttpResponse:
    body = json.dumps(payload, default=str)
    return func.HttpResponse(body, status_code=status, mimetype="application/json", charset="utf-8", headers=headers)


def _parse_json(body: bytes) -> object:
    try:
        return loads_strict(body.decode("utf-8"))
    except (UnicodeDecodeError, JsonBodyError, ValueError):
        raise Problem(
            400, "Invalid JSON", "The body is not plain UTF-8 JSON.", [FieldError("body", "invalid")]
        ) from None


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


def _event_url(req: func.HttpRequest, instance_id: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/api/hr-events/{quote(instance_id, safe='')}"


def _stage(status: Any) -> str:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return str(custom.get("stage") or "")


def _hold(status: Any) -> int | None:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    number = custom.get("hold")
    return number if isinstance(number, int) else None


__all__ = ["bp", "new_run_id", "run_instance", "run_options", "start_run"]
