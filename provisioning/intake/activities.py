"""The activities of the `hris_notification` orchestration: fetch the record, write the email back, look an event up.

Results carry no credential and no raw vendor record: the fetch returns the mapped event (what the workflow runs
anyway) or a status; throttling comes back as `{"status": "throttled"}` so the orchestration waits with a durable
timer. A 5xx or network failure raises, so Durable retries the activity.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import azure.durable_functions as df

from provisioning import runtime
from provisioning.intake.notifications import Notification
from provisioning.intake.registry import connector
from provisioning.intake.vendor_http import VendorError, VendorNotFound, VendorThrottled, VendorUnauthorized
from provisioning.settings import Settings
from provisioning.telemetry import log_event
from provisioning.workflows import contracts as c

bp = df.Blueprint()
logger = logging.getLogger("provisioning.intake.activities")


def _reader(settings: Settings) -> Any:
    secrets = runtime.current().secrets
    if secrets is None:
        raise ValueError("KEY_VAULT_URL is required for the HR system connectors")
    return secrets.get


@bp.activity_trigger(input_name="request", activity=c.FETCH_HR_EVENT)
def fetch_hr_event(request: dict[str, Any]) -> dict[str, Any]:
    """Fetch the employee the notification names and map it to an event (or say why not)."""
    settings = runtime.current().settings
    notification = Notification.from_json(request["notification"])
    vendor = connector(notification.vendor)
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.default_time_zone)).date()
    try:
        mapped = vendor.fetch_event(notification, settings, _reader(settings), today=today)
    except VendorThrottled as throttled:
        return {"status": "throttled", "retryAfterSeconds": throttled.retry_after}
    except VendorNotFound:
        return {"status": "notFound"}
    except VendorUnauthorized as refused:
        return {"status": "unauthorized", "reason": str(refused)}
    if mapped.event is None:
        log_event(logger, "hr-record-invalid", level=logging.WARNING, operation=vendor.name, count=len(mapped.errors))
        return {"status": "invalid", "errors": [error.as_dict() for error in mapped.errors]}
    return {"status": "found", "event": mapped.event, "updateEventId": mapped.update_event_id}


@bp.activity_trigger(input_name="request", activity=c.WRITE_BACK_TO_HR)
def write_back_to_hr(request: dict[str, Any]) -> dict[str, Any]:
    """Write the provisioned work email (and UPN) to the HR system; failures are returned, never raised."""
    settings = runtime.current().settings
    vendor = connector(request["vendor"])
    try:
        result = vendor.write_back(
            request["employeeRef"],
            mail=request.get("mail"),
            upn=request.get("userPrincipalName"),
            settings=settings,
            secrets=_reader(settings),
        )
    except VendorThrottled as throttled:
        return {"status": "throttled", "retryAfterSeconds": throttled.retry_after}
    except Exception as error:  # any failure is a warning for the hire, with a reason IT can act on
        log_event(logger, "writeback", level=logging.WARNING, operation=vendor.name, outcome="failed")
        return {"status": "failed", "reason": _reason(error)}
    log_event(logger, "writeback", operation=vendor.name, outcome="written", count=len(result.fields))
    return {"status": "written", "fields": list(result.fields)}


@bp.activity_trigger(input_name="request", activity=c.GET_INSTANCE_STATE)
@bp.durable_client_input(client_name="client")
async def get_instance_state(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Whether an event's instance exists, and how it ended (for de-duplicating lifecycle changes)."""
    status = await client.get_status(request["instanceId"])
    if not status or status.runtime_status is None:
        return {"exists": False}
    output = status.output if isinstance(status.output, dict) else {}
    return {"exists": True, "runtimeStatus": status.runtime_status.value, "outcome": output.get("outcome")}


def _reason(error: Exception) -> str:
    # Vendor errors say vendor, status and reason; anything else only its type (messages may echo data).
    return str(error) if isinstance(error, VendorError) else type(error).__name__
