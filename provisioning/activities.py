"""Activity functions: the only place workflows touch Graph, Key Vault, mail or the Durable client.

Each activity is thin: it adapts JSON input to a call on `directory`, `graph`, `credentials` or `notifications`
and returns a JSON-ready result. Results never carry a token, a secret or a Temporary Access Pass; failures that a
retry cannot fix are returned as `{"error": {...}}` so the orchestrator fails the event with a clear code instead
of retrying in vain.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Any, Literal

import azure.durable_functions as df
from azure.core.exceptions import ClientAuthenticationError

from provisioning import directory, first_credential, runtime, scim
from provisioning.credentials import SecretUnavailable, missing_roles, required_roles, token_facts
from provisioning.first_credential import recipient_roles, send
from provisioning.graph import GraphError, GraphThrottled
from provisioning.notifications import (
    HeldForApprovalContext,
    ItAlertContext,
    ManagerChangedContext,
    ReconciliationSummaryContext,
    RehireNoticeContext,
    RenderedEmail,
    TerminationContext,
    WelcomeContext,
)
from provisioning.protection import account_protection
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import register_pending_hire
from provisioning.workflows.plan import record_from_spec, workflow_options
from provisioning.workflows.uploader import result_for

bp = df.Blueprint()
logger = logging.getLogger("provisioning.activities")

RETRYABLE_UPLOAD_SECONDS = 30.0
"""How long the uploader waits before retrying a bulk request that hit a transient failure."""


# -- preflight and lookups ---------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.PREFLIGHT)
def preflight(request: dict[str, Any]) -> dict[str, Any]:
    """Acquire a Graph token and report which required permissions it lacks. The token stays here."""
    rt = runtime.current()
    facts = token_facts(rt.credential)
    needed = required_roles(
        request.get("credentialMethod", rt.settings.credential_method),
        rt.settings.revoke_sessions,
        mail_permission=rt.settings.mail_permission,
    )
    return {**facts, "missingRoles": missing_roles(facts["roles"], needed)}


@bp.activity_trigger(input_name="request", activity=c.RESOLVE_PERSON)
def resolve_person(request: dict[str, Any]) -> dict[str, Any] | None:
    return directory.find_person(runtime.current().graph, request["employeeId"])


@bp.activity_trigger(input_name="request", activity=c.LOOKUP_HIRE)
def lookup_hire(request: dict[str, Any]) -> dict[str, Any]:
    """A hire's person, manager and best name candidate, in one JSON batch (see directory.lookup_hire)."""
    return directory.lookup_hire(
        runtime.current().graph,
        employee_id=request["employeeId"],
        manager_employee_id=request.get("managerEmployeeId"),
        names=request.get("names"),
    )


@bp.activity_trigger(input_name="request", activity=c.RESOLVE_ACCOUNT)
def resolve_account(request: dict[str, Any]) -> dict[str, Any] | None:
    """The account a confirmed correlation case names (by object id), for the update that links it."""
    return directory.find_account(runtime.current().graph, request["accountId"])


@bp.activity_trigger(input_name="request", activity=c.RESOLVE_MANAGER)
def resolve_manager(request: dict[str, Any]) -> dict[str, Any] | None:
    return directory.find_manager(runtime.current().graph, request["managerEmployeeId"])


@bp.activity_trigger(input_name="request", activity=c.NAME_CANDIDATES)
def name_candidates(request: dict[str, Any]) -> dict[str, Any]:
    """The generated name candidates, best first (pure generation with the configured policy; no Graph call)."""
    rt = runtime.current()
    return directory.name_candidates(rt.settings.name_policy(), request["employee"], limit=int(request["limit"]))


@bp.activity_trigger(input_name="request", activity=c.CHECK_NAME_IN_USE)
def check_name_in_use(request: dict[str, Any]) -> dict[str, Any]:
    return {"inUse": directory.names_in_use(runtime.current().graph, request["names"], request.get("ownerId"))}


@bp.activity_trigger(input_name="request", activity=c.CHECK_ACCOUNT_PROTECTION)
def check_account_protection(request: dict[str, Any]) -> dict[str, Any]:
    """Whether the account holds or can activate a directory role or is in a protected group (ids only)."""
    rt = runtime.current()
    return account_protection(rt.graph, request["userId"], rt.settings.protected_group_ids or ())


@bp.activity_trigger(input_name="request", activity=c.GET_USER_DETAILS)
def get_user_details(request: dict[str, Any]) -> dict[str, Any]:
    user = runtime.current().graph.get_user(request["userId"], select=directory.USER_SELECT)
    if user is None:
        raise LookupError("the provisioned user is no longer in Entra")
    keys = (
        "id",
        "userPrincipalName",
        "mail",
        "displayName",
        "onPremisesSyncEnabled",
        "onPremisesSamAccountName",
    )
    return {key: user.get(key) for key in keys}


# -- bulk upload -------------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.UPLOAD_BULK_REQUEST)
@bp.durable_client_input(client_name="client")
async def upload_bulk_request(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Build up to 50 records from their events' inputs and POST them as one bulk request.

    Each item is `{"instanceId", "spec"}`: the record is built here from the event the instance was started
    with and, for an existing account, its profile read now, so personal data is never copied into the queue
    or any history. An item whose record cannot be built is reported on its own (`rejectedItems`) and left out.
    Throttling and transient failures come back as `throttled` so the uploader waits with a durable timer; a
    4xx comes back as `rejected` for the waiting events.
    """
    rt = runtime.current()
    items = request["items"]
    statuses = await asyncio.gather(*(client.get_status(item["instanceId"], show_input=True) for item in items))
    records: list[dict[str, Any]] = []
    rejected: dict[str, str] = {}
    for item, status in zip(items, statuses, strict=True):
        payload = status.input_ if status and isinstance(status.input_, dict) else None
        try:
            if payload is None:
                raise LookupError("the event's input could not be read")
            records.append(await asyncio.to_thread(_build_record, rt, payload, item["spec"]))
        except (LookupError, ValueError) as error:
            rejected[item["instanceId"]] = str(error)[:300]
    if not records:
        return {"status": "accepted", "submittedAt": datetime.now(UTC).isoformat(), "rejectedItems": rejected}
    result = await asyncio.to_thread(_upload, rt, records)
    return {**result, "rejectedItems": rejected} if rejected else result


def _build_record(rt: runtime.Runtime, payload: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    existing = directory.account_profile(rt.graph, spec["existingId"]) if spec.get("existingId") else None
    options = c.WorkflowOptions.from_dict(payload.get("options"))
    return record_from_spec(payload["event"], options, spec, existing)


def _upload(rt: runtime.Runtime, records: list[dict[str, Any]]) -> dict[str, Any]:
    payloads = scim.bulk_requests(records)
    if len(payloads) != 1:
        raise ValueError("the uploader sends at most 50 records per bulk request")
    try:
        accepted = rt.graph.bulk_upload(rt.settings.provisioning_api_endpoint, payloads[0])
    except GraphThrottled as throttled:
        return {"status": "throttled", "retryAfterSeconds": throttled.retry_after_seconds}
    except (ClientAuthenticationError, SecretUnavailable):
        log_event(logger, "bulk-upload", level=logging.WARNING, outcome="token-unavailable")
        return {"status": "throttled", "retryAfterSeconds": RETRYABLE_UPLOAD_SECONDS}
    except GraphError as error:
        if error.status == 0 or error.status >= 500 or error.status == 429:
            return {"status": "throttled", "retryAfterSeconds": RETRYABLE_UPLOAD_SECONDS}
        log_event(logger, "bulk-upload", level=logging.ERROR, outcome="rejected", error_code=error.code)
        return {"status": "rejected", "code": error.code or f"Http{error.status}", "message": str(error)}
    log_event(logger, "bulk-upload", outcome="accepted", count=len(records))
    return {
        "status": "accepted",
        "submittedAt": accepted.submitted_at.isoformat(),
        "requestId": accepted.request_id,
    }


@bp.activity_trigger(input_name="request", activity=c.DELIVER_UPLOAD_RESULT)
@bp.durable_client_input(client_name="client")
async def deliver_upload_result(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Wake every event whose record was in the bulk request. An event that ended meanwhile is skipped."""
    delivered = 0
    for instance_id in request["instanceIds"]:
        try:
            await client.raise_event(instance_id, c.EVENT_UPLOADED, result_for(instance_id, request["result"]))
            delivered += 1
        except Exception as error:  # a rescinded or terminated event no longer waits; nothing to deliver
            logger.warning("upload result not delivered to %s: %s", instance_id, type(error).__name__)
    return {"delivered": delivered}


@bp.activity_trigger(input_name="request", activity=c.START_BULK_UPLOADER)
@bp.durable_client_input(client_name="client")
async def start_bulk_uploader(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Start the uploader generation the queue asked for (idempotent: an existing instance is left alone)."""
    instance_id = request["instanceId"]
    status = await client.get_status(instance_id)
    if status:
        return {"started": False}
    options = workflow_options(runtime.current().settings)
    await client.start_new(c.BULK_UPLOADER, instance_id, {"options": options.to_dict()})
    return {"started": True}


@bp.activity_trigger(input_name="request", activity=c.START_HR_EVENTS)
@bp.durable_client_input(client_name="client")
async def start_hr_events(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Start a batch's events as their own orchestrations; safe to repeat after a crash."""
    started = 0
    for job in request["jobs"]:
        status = await client.get_status(job["instanceId"])
        if status and status.runtime_status is not df.OrchestrationRuntimeStatus.Failed:
            continue
        payload = {
            "event": job["event"],
            "options": request["options"],
            "group": job.get("group"),
            "batch": job.get("batch"),
        }
        if job.get("fingerprint"):
            payload["fingerprint"] = job["fingerprint"]
        await client.start_new(c.HR_EVENT, job["instanceId"], payload)
        await register_pending_hire(client, job["instanceId"], job["event"])
        started += 1
    return {"started": started}


@bp.activity_trigger(input_name="request", activity=c.WAKE_PENDING_HIRE)
@bp.durable_client_input(client_name="client")
async def wake_pending_hire(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Raise `event` into a pending hire (its start date moved, or a termination withdrew it); with no event, only
    check that it still runs. Not delivered means the hire's instance no longer runs (ended by hand)."""
    status = await client.get_status(request["instanceId"])
    if not status or status.runtime_status not in (
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
    ):
        return {"delivered": False}
    if request.get("event"):
        await client.raise_event(request["instanceId"], request["event"], {"at": datetime.now(UTC).isoformat()})
    return {"delivered": True}


# -- outcome ----------------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.CHECK_PROVISIONING)
def check_provisioning(request: dict[str, Any]) -> dict[str, Any]:
    rt = runtime.current()
    return directory.check_provisioning(
        rt.graph,
        job_id=rt.settings.job_id,
        employee_id=request["employeeId"],
        submitted_at=datetime.fromisoformat(request["submittedAt"]),
        expect_user=bool(request.get("expectUser")),
        require_enabled=bool(request.get("requireEnabled")),
        ignore_log_ids=request.get("ignoreLogIds", []),
    )


@bp.activity_trigger(input_name="request", activity=c.REVOKE_SESSIONS)
def revoke_sign_in_sessions(request: dict[str, Any]) -> dict[str, Any]:
    return {"revoked": runtime.current().graph.revoke_sign_in_sessions(request["userId"])}


# -- first credential -------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.ISSUE_FIRST_CREDENTIAL)
@bp.durable_client_input(client_name="client")
async def issue_first_credential(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Create the first credential and email it from here: the pass or password never leaves this activity."""
    rt = runtime.current()
    personal = None
    if (request.get("recipients") or "new") == "new" and rt.settings.credential_recipient != "manager":
        personal = await _personal_email(client, request["instanceId"])
    return await asyncio.to_thread(first_credential.issue, rt, request, personal)


async def _personal_email(client: df.DurableOrchestrationClient, instance_id: str) -> str | None:
    """The HR personal address, read from the event's input only when a new account's pass goes there."""
    status = await client.get_status(instance_id, show_input=True)
    payload = status.input_ if status and isinstance(status.input_, dict) else {}
    address = ((payload.get("event") or {}).get("employee") or {}).get("personalEmail")
    return str(address) if address else None


# -- notifications ----------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.SEND_NOTIFICATION)
def send_notification(request: dict[str, Any]) -> dict[str, Any]:
    """Render and send one notification (welcome, manager change, termination, IT alert, breaker hold)."""
    rt = runtime.current()
    email = _render(rt, request)
    send(rt, email)
    event = request.get("event") or {}
    log_event(
        logger,
        "notification",
        instance_id=request.get("instanceId"),
        event_id=event.get("eventId"),
        employee_id=event.get("employeeId"),
        operation=request["kind"],
    )
    roles = {
        "manager": (request.get("manager") or {}).get("mail"),
        "account": (request.get("user") or {}).get("mail"),
        "it": rt.settings.it_notify_address,
    }
    return {"kind": request["kind"], "recipients": recipient_roles([*email.to, *email.cc], roles)}


def _render(rt: runtime.Runtime, request: dict[str, Any]) -> RenderedEmail:
    kind = request["kind"]
    event = request.get("event") or {}
    employee = request.get("employee") or {}
    user = request.get("user") or {}
    manager = request.get("manager") or {}
    extra = request.get("extra") or {}
    now = datetime.now(UTC)
    settings = rt.settings
    language = employee.get("preferredLanguage")
    if kind == "welcome":
        return rt.notifier.render_welcome(
            WelcomeContext(
                employee_id=event["employeeId"],
                display_name=user.get("displayName") or _display_name(employee),
                user_principal_name=user.get("userPrincipalName") or "",
                mail=user.get("mail"),
                start_date=_date(event.get("effectiveDate")) or now.date(),
                manager_name=manager.get("displayName"),
                manager_email=manager.get("mail"),
                credential_method=settings.credential_method,
                credential_recipient=settings.credential_recipient,
                send_to_new_mailbox=settings.welcome_to_new_mailbox,
                preferred_language=language,
            )
        )
    if kind == "manager_changed":
        return rt.notifier.render_manager_changed(
            ManagerChangedContext(
                employee_id=event["employeeId"],
                display_name=user.get("displayName") or _display_name(employee),
                user_principal_name=user.get("userPrincipalName") or "",
                mail=user.get("mail"),
                new_manager_name=manager.get("displayName"),
                new_manager_email=manager.get("mail"),
                previous_manager_name=None,
                effective_date=_date(event.get("effectiveDate")) or now.date(),
                preferred_language=language,
            )
        )
    if kind == "termination":
        return rt.notifier.render_termination(
            TerminationContext(
                employee_id=event["employeeId"],
                display_name=user.get("displayName") or _display_name(employee) or event["employeeId"],
                user_principal_name=user.get("userPrincipalName") or "",
                last_working_day=_date(event.get("effectiveDate")) or now.date(),
                disabled_at=now,
                time_zone=employee.get("timeZone") or settings.default_time_zone,
                sessions_revoked=bool(extra.get("sessionsRevoked")),
                manager_name=manager.get("displayName"),
                manager_email=manager.get("mail"),
                preferred_language=language,
            )
        )
    if kind == "it_alert":
        return rt.notifier.render_it_alert(
            ItAlertContext(
                event_id=event["eventId"],
                employee_id=event["employeeId"],
                event_type=event["type"],
                stage=str(extra.get("stage", "")),
                error_code=str(extra.get("errorCode", "")),
                reason=str(extra.get("reason", "")),
                instance_id=request["instanceId"],
                failed_at=now,
            )
        )
    if kind == "held_for_approval":
        return rt.notifier.render_held_for_approval(
            HeldForApprovalContext(
                event_id=event["eventId"],
                employee_id=event["employeeId"],
                status_id=request["instanceId"],
                effective_date=_date(event.get("effectiveDate")),
                held_at=now,
                reasons=tuple(str(reason) for reason in extra.get("reasons") or ["held for approval"]),
                hold=_hold_kind(extra.get("hold")),
                event_type=str(event.get("type") or ""),
                breaker_limit=settings.termination_breaker_limit,
            )
        )
    if kind == "reconciliation_summary":
        summary = extra.get("summary") or {}
        return rt.notifier.render_reconciliation_summary(
            ReconciliationSummaryContext(
                run_id=str(extra["runId"]),
                source=str(extra.get("source") or ""),
                stage=str(extra.get("stage") or ""),
                classes=dict(summary.get("classes") or {}),
                changes=dict(summary.get("changes") or {}),
                hold_reasons=tuple(str(reason) for reason in extra.get("holdReasons") or ()),
                auto_apply=tuple(str(name) for name in extra.get("autoApply") or ()),
                applied=extra.get("autoApplied"),
                planned_at=now,
            )
        )
    if kind == "rehire_notice":
        return rt.notifier.render_rehire_notice(
            RehireNoticeContext(
                event_id=event["eventId"],
                employee_id=event["employeeId"],
                instance_id=request["instanceId"],
                user_principal_name=str(user.get("userPrincipalName") or ""),
                existing_account=bool(extra.get("existingAccount")),
                disabled_days=extra.get("disabledDays"),
                held_reasons=tuple(extra.get("heldReasons") or ()),
                credential_method=extra.get("credentialMethod"),
                credential_recipients=tuple(extra.get("credentialRecipients") or ()),
                manager_name=manager.get("displayName"),
                completed_at=now,
            )
        )
    raise ValueError(f"unknown notification kind {kind!r}")


def _hold_kind(value: object) -> Literal["breaker", "rehire", "correlation"]:
    if value == "rehire":
        return "rehire"
    if value == "correlation":
        return "correlation"
    return "breaker"


def _display_name(employee: dict[str, Any]) -> str:
    first = employee.get("preferredGivenName") or employee.get("givenName") or ""
    return " ".join(part for part in (first, employee.get("familyName") or "") if part) or employee.get(
        "employeeId", ""
    )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


__all__ = ["bp"]

# Durable's client middleware wraps async activities; keep asyncio imported for the type checker's benefit.
_ = asyncio
