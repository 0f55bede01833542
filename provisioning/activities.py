"""Activity functions: the only place workflows touch Graph, Key Vault, mail or the Durable client.

Each activity is thin: it adapts JSON input to a call on `directory`, `graph`, `credentials` or `notifications`
and returns a JSON-ready result. Results never carry a token, a secret or a Temporary Access Pass; failures that a
retry cannot fix are returned as `{"error": {...}}` so the orchestrator fails the event with a clear code instead
of retrying in vain.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, date, datetime
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ClientAuthenticationError

from provisioning import directory, runtime, scim
from provisioning.credentials import SecretUnavailable, missing_roles, required_roles, token_facts
from provisioning.graph import GraphError, GraphThrottled, SyncedUserPasswordError
from provisioning.notifications import (
    HeldForApprovalContext,
    ItAlertContext,
    ManagerChangedContext,
    PassContext,
    RenderedEmail,
    TerminationContext,
    WelcomeContext,
)
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c
from provisioning.workflows.employee_record import register_pending_hire
from provisioning.workflows.plan import workflow_options

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
    needed = required_roles(request.get("credentialMethod", rt.settings.credential_method), rt.settings.revoke_sessions)
    return {**facts, "missingRoles": missing_roles(facts["roles"], needed)}


@bp.activity_trigger(input_name="request", activity=c.RESOLVE_PERSON)
def resolve_person(request: dict[str, Any]) -> dict[str, Any] | None:
    return directory.find_person(runtime.current().graph, request["employeeId"])


@bp.activity_trigger(input_name="request", activity=c.RESOLVE_MANAGER)
def resolve_manager(request: dict[str, Any]) -> dict[str, Any] | None:
    return directory.find_manager(runtime.current().graph, request["managerEmployeeId"])


@bp.activity_trigger(input_name="request", activity=c.FIND_FREE_NAMES)
def find_free_names(request: dict[str, Any]) -> dict[str, Any]:
    rt = runtime.current()
    return directory.find_free_names(
        rt.graph,
        rt.settings.name_policy(),
        request["employee"],
        exclude=request.get("exclude", []),
        owner_id=request.get("ownerId"),
    )


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
def upload_bulk_request(request: dict[str, Any]) -> dict[str, Any]:
    """POST one bulk request of up to 50 records. Throttling and transient failures come back as `throttled`
    so the uploader waits with a durable timer; a 4xx comes back as `rejected` for the waiting events."""
    rt = runtime.current()
    payloads = scim.bulk_requests(request["records"])
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
    log_event(logger, "bulk-upload", outcome="accepted", count=len(request["records"]))
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
            await client.raise_event(instance_id, c.EVENT_UPLOADED, request["result"])
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
        payload = {"event": job["event"], "options": request["options"], "group": job.get("group")}
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
def issue_first_credential(request: dict[str, Any]) -> dict[str, Any]:
    """Create the first credential and email it from here: the pass or password never leaves this activity."""
    rt = runtime.current()
    method = rt.settings.credential_method
    if method == "tap":
        return _issue_temporary_access_pass(rt, request)
    if method == "password":
        return _issue_password(rt, request)
    return {"method": "none", "recipients": []}


def _issue_temporary_access_pass(rt: runtime.Runtime, request: dict[str, Any]) -> dict[str, Any]:
    settings = rt.settings
    now = datetime.now(UTC)
    start = max(now, datetime.fromisoformat(request["startAt"])) if request.get("startAt") else now
    employee = request["employee"]
    manager = request.get("manager") or {}
    tap = rt.graph.create_temporary_access_pass(
        request["userId"], start=start, lifetime_minutes=settings.tap_lifetime_minutes, usable_once=False
    )
    context = PassContext(
        employee_id=employee["employeeId"],
        display_name=_display_name(employee),
        user_principal_name=request.get("userPrincipalName") or "",
        starts_at=tap.start or start,
        lifetime_minutes=tap.lifetime_minutes,
        time_zone=employee.get("timeZone") or settings.default_time_zone,
        is_usable_once=tap.usable_once,
        recipient=settings.credential_recipient,
        manager_name=manager.get("displayName"),
        manager_email=manager.get("mail"),
        personal_email=employee.get("personalEmail"),
        preferred_language=employee.get("preferredLanguage"),
    )
    try:
        email = rt.notifier.render_temporary_access_pass(context, tap.reveal())
        _send(rt, email)
    except Exception as error:  # the pass exists now: a retry would create a second one, so report instead
        return _credential_not_delivered("Temporary Access Pass", error)
    log_event(logger, "first-credential", outcome="tap-issued", employee_id=employee["employeeId"])
    return {"method": "tap", "recipients": list(email.to), **tap.facts()}


def _issue_password(rt: runtime.Runtime, request: dict[str, Any]) -> dict[str, Any]:
    password = _generate_password()
    try:
        rt.graph.reset_password(request["userId"], password=password, force_change=True)
    except SyncedUserPasswordError:
        return {
            "error": {
                "code": "PasswordNotSupportedForSyncedUser",
                "message": "Graph cannot set the password of an account mastered in on-prem AD with app-only "
                "permissions. Use CREDENTIAL_METHOD=tap (Temporary Access Pass) for hybrid accounts.",
            }
        }
    employee = request["employee"]
    manager = request.get("manager") or {}
    # The password is sent like a pass: same template, same recipients, never returned.
    context = PassContext(
        employee_id=employee["employeeId"],
        display_name=_display_name(employee),
        user_principal_name=request.get("userPrincipalName") or "",
        starts_at=datetime.now(UTC),
        lifetime_minutes=rt.settings.tap_lifetime_minutes,
        time_zone=employee.get("timeZone") or rt.settings.default_time_zone,
        is_usable_once=True,
        recipient=rt.settings.credential_recipient,
        manager_name=manager.get("displayName"),
        manager_email=manager.get("mail"),
        personal_email=employee.get("personalEmail"),
        preferred_language=employee.get("preferredLanguage"),
    )
    try:
        email = rt.notifier.render_temporary_access_pass(context, password)
        _send(rt, email)
    except Exception as error:  # the password is set now: a retry would set and send another one
        return _credential_not_delivered("initial password", error)
    return {"method": "password", "recipients": list(email.to)}


def _credential_not_delivered(what: str, error: Exception) -> dict[str, Any]:
    """The credential was created but its email failed. Failing the event (instead of raising into the
    orchestrator's retries) keeps one credential per hire; IT issues a new one by hand."""
    log_event(logger, "first-credential", level=logging.ERROR, outcome="not-delivered", error_code=type(error).__name__)
    return {
        "error": {
            "code": "CredentialNotDelivered",
            "message": f"The {what} was created but the email carrying it could not be sent "
            f"({type(error).__name__}). Issue a new Temporary Access Pass in the Entra admin center.",
        }
    }


def _generate_password() -> str:
    """A random initial password meeting Entra's complexity rules (it must be changed at first sign-in)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{body}-{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{secrets.randbelow(10)}!"


# -- notifications ----------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="request", activity=c.SEND_NOTIFICATION)
def send_notification(request: dict[str, Any]) -> dict[str, Any]:
    """Render and send one notification (welcome, manager change, termination, IT alert, breaker hold)."""
    rt = runtime.current()
    email = _render(rt, request)
    _send(rt, email)
    event = request.get("event") or {}
    log_event(
        logger,
        "notification",
        instance_id=request.get("instanceId"),
        event_id=event.get("eventId"),
        employee_id=event.get("employeeId"),
        operation=request["kind"],
    )
    return {"kind": request["kind"], "recipients": [*email.to, *email.cc]}


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
                terminations_in_window=int(extra.get("terminationsInWindow", settings.termination_breaker_limit)),
                breaker_limit=settings.termination_breaker_limit,
            )
        )
    raise ValueError(f"unknown notification kind {kind!r}")


def _send(rt: runtime.Runtime, email: RenderedEmail) -> None:
    request = email.send_mail_request()
    rt.graph.send_mail(
        rt.settings.mail_sender, request["message"], save_to_sent_items=request.get("saveToSentItems", False)
    )


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
