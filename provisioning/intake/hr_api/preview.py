"""`POST /api/hr-events/preview`: what an event would do, from read-only lookups, without writing anything."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning import directory, runtime, schedule, scim
from provisioning.events import (
    LEAVE_TYPES,
    EventValidationError,
    FieldError,
    HrEvent,
    parse_event,
)
from provisioning.graph import GraphError
from provisioning.intake.hr_api.messages import (
    current_settings,
    invalid_event,
    json_response,
    parse_json,
    signed_json_body,
)
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.settings import Settings
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import decide_action, effective_instant, ids_only, scim_record, workflow_options
from provisioning.workflows.time_zone import choose as choose_zone

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")


@bp.route(route="hr-events/preview", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def preview_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Dry run: what the event would do, with read-only Graph lookups and no writes, reservations or runs.

    Signed like every route: a preview looks people up by employeeId, so it must not serve as a directory
    lookup for someone holding only the function key; and it answers with the event's own values and the
    generated or existing names, never the profile Entra holds.
    """
    try:
        settings = current_settings()
        body = await signed_json_body(req, settings, client)
        event = parse_event(parse_json(body))
        return json_response(await asyncio.to_thread(_plan, event, settings), 200)
    except Problem as problem:
        return problem.response()
    except EventValidationError as invalid:
        return invalid_event(invalid).response()
    except (GraphError, directory.DuplicateEmployeeId) as error:
        return Problem(502, "Directory lookup failed", str(error)).response()


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
