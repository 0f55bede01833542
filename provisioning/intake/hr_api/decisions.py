"""`DELETE /api/hr-events/{id}` (rescind) and `POST /api/hr-events/{id}/approve`: the decisions HR or an approver
takes on an event that waits for its date or is held for approval."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from provisioning.intake.hr_api import runs
from provisioning.intake.hr_api.messages import (
    authenticated,
    json_response,
)
from provisioning.intake.problems import Problem, task_hub_outage_is_503
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")


@bp.route(route="hr-events/{id}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def rescind_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Rescind an event still waiting for its effective date (or held for approval)."""
    try:
        by = await authenticated(req, client, approver_allowed=True)
        instance_id, status = await runs.find(client, req.route_params.get("id", ""))
        stage = runs.stage(status)
        if stage == "cancelled" and not runs.is_running(status):  # rescinding twice is still rescinded
            return json_response({"id": instance_id, "status": "cancelled"}, 200)
        if stage in c.FINAL_STAGES and not runs.is_running(status):
            raise Problem(409, "Event already ended", f"The event has ended ({stage}); there is nothing to rescind.")
        if not runs.is_waiting(status):
            raise Problem(
                409,
                "Too late to rescind",
                f"The event is at stage '{stage}' and has started writing; only scheduled or held events can be "
                "rescinded.",
            )
        await client.raise_event(
            instance_id, c.rescind_event(runs.stage(status), runs.hold(status)), {"requestedBy": by}
        )
        log_event(logger, "rescinded", instance_id=instance_id, outcome=by)
        return json_response({"id": instance_id, "status": "cancelled"}, 200)
    except Problem as problem:
        return problem.response()


@bp.route(route="hr-events/{id}/approve", methods=["POST"])
@bp.durable_client_input(client_name="client")
@task_hub_outage_is_503
async def approve_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Release an event held for approval (the mass-change breaker or a rehire); a batch id releases every held
    event of the batch."""
    try:
        by = await authenticated(req, client, approver_allowed=True)
        instance_id, status = await runs.find(client, req.route_params.get("id", ""))
        if instance_id.startswith(c.BATCH_INSTANCE_PREFIX):
            held = [child for child in await runs.batch_children(client, status) if child and runs.is_held(child)]
            if not held:
                raise Problem(409, "Not held", "No event of this batch is held for approval.")
            for child in held:
                await client.raise_event(child.instance_id, c.approve_event(runs.hold(child)), {"approvedBy": by})
            log_event(logger, "approved", instance_id=instance_id, outcome=by, count=len(held))
            return json_response({"id": instance_id, "status": "approved"}, 200)
        if not runs.is_held(status):
            raise Problem(409, "Not held", f"The event is at stage '{runs.stage(status)}', not held for approval.")
        await client.raise_event(instance_id, c.approve_event(runs.hold(status)), {"approvedBy": by})
        log_event(logger, "approved", instance_id=instance_id, outcome=by)
        return json_response({"id": instance_id, "status": "approved"}, 200)
    except Problem as problem:
        return problem.response()
