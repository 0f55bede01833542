"""HiBob (Bob) as documented (docs/connectors.md cites the pages): the People API on api.hibob.com/v1 with a
service user (id and token as Basic), field paths in the read request, and webhooks v2 signed with
base64(HMAC-SHA512(raw body)) in Bob-Signature.

Webhook retries: Bob retries a failed delivery with exponential backoff for up to 3 days; the exact intervals are
not published, so this emulator uses 1, 5, 30 minutes, 2, 8 and 24 hours, then 1 and 2 days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hris.common import basic_credentials, gate, json_body, record_status, state_of
from emulators.hris.state import VendorState
from emulators.hris.webhooks import Delivery, RetryPolicy

NAME = "hibob"
HOSTS = ("api.hibob.com", "api.sandbox.hibob.com")
POLICY = RetryPolicy(
    delays=(60, 300, 1800, 7200, 28800, 86400, 86400, 172800),
    timeout_seconds=10.0,
    retry_on=lambda status: not 200 <= status < 300,
)
KINDS = {"created": "employee.created", "updated": "employee.updated", "terminated": "employee.left"}


def native(employee: dict[str, Any]) -> dict[str, Any]:
    """The employee as Bob's read answers: root fields at the top level, the rest nested by category."""
    ended = employee.get("terminationDate")
    supervisor = employee.get("supervisorId")
    return {
        "id": str(employee["id"]),
        "firstName": employee.get("firstName"),
        "surname": employee.get("lastName"),
        "email": employee.get("workEmail"),
        "personal": {"preferredName": employee.get("preferredName")},
        "work": {
            "title": employee.get("jobTitle"),
            "department": employee.get("department"),
            "site": employee.get("location"),
            "startDate": employee.get("hireDate"),
            "originalStartDate": employee.get("originalHireDate"),
            "reportsTo": {"id": str(supervisor)} if supervisor else None,
            "employeeIdInCompany": employee.get("employeeNumber"),
            "mobilePhone": employee.get("mobilePhone"),
            "workPhone": employee.get("workPhone"),
            "custom": {"upn": employee.get("upn")},
        },
        "address": {
            "city": employee.get("city"),
            "country": employee.get("country"),
            "postCode": employee.get("postalCode"),
        },
        "home": {"privateEmail": employee.get("homeEmail")},
        "internal": {"status": "Inactive" if ended else "Active", "terminationDate": ended},
    }


def _select(record: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Only the requested field paths, in the same nesting (what Bob answers for a fields list)."""
    answer: dict[str, Any] = {"id": record["id"]}
    for path in paths:
        parts = path.strip("/").split("/")
        source: Any = record if parts[0] != "root" else {parts[0]: record}
        if parts[0] == "root":
            answer[parts[1]] = record.get(parts[1])
            continue
        node, target = source, answer
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            target = target.setdefault(part, {})
        target[parts[-1]] = node.get(parts[-1]) if isinstance(node, dict) else None
    return answer


def _vendor(request: Request) -> VendorState:
    return state_of(request).vendor(NAME)


def _authorised(request: Request, vendor: VendorState) -> bool:
    credentials = basic_credentials(request)
    expected = (vendor.credentials.get("serviceUserId"), vendor.credentials.get("token"))
    return credentials is not None and credentials == expected


async def _checked(request: Request, operation: str, employee_id: str | None) -> tuple[VendorState, Response | None]:
    vendor = _vendor(request)
    fault = await gate(request, vendor, operation=operation, employee_id=employee_id)
    if fault is None and not _authorised(request, vendor):
        record_status(request, vendor, 401)
        fault = JSONResponse({"error": "Unauthorized"}, 401)
    return vendor, fault


async def read_employee(request: Request) -> Response:
    employee_id = request.path_params["id"]
    vendor, refused = await _checked(request, "fetch", employee_id)
    if refused is not None:
        return refused
    body = await json_body(request)
    paths: Any = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        record_status(request, vendor, 400)
        return JSONResponse({"error": "fields must be a list of field paths"}, 400)
    with state_of(request).lock:
        employee = vendor.employees.get(employee_id)
        record = native(employee) if employee else None
    if record is None:
        record_status(request, vendor, 404)
        return JSONResponse({"error": "Employee not found"}, 404)
    record_status(request, vendor, 200)
    return JSONResponse(_select(record, paths))


async def search(request: Request) -> Response:
    vendor, refused = await _checked(request, "list", None)
    if refused is not None:
        return refused
    body = await json_body(request)
    paths: list[str] = body["fields"] if isinstance(body, dict) and isinstance(body.get("fields"), list) else []
    with state_of(request).lock:
        rows = [_select(native(item), paths) for item in vendor.employees.values()]
    record_status(request, vendor, 200)
    return JSONResponse({"employees": rows})


async def update_email(request: Request) -> Response:
    employee_id = request.path_params["id"]
    vendor, refused = await _checked(request, "writeback", employee_id)
    if refused is not None:
        return refused
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        record_status(request, vendor, 400)
        return JSONResponse({"error": "email is required"}, 400)
    with state_of(request).lock:
        employee = vendor.employees.get(employee_id)
        if employee is None:
            record_status(request, vendor, 404)
            return JSONResponse({"error": "Employee not found"}, 404)
        employee["workEmail"] = body["email"]
        vendor.writebacks.append({"employeeId": employee_id, "fields": {"/root/email": body["email"]}})
    record_status(request, vendor, 200)
    return Response(status_code=200)


async def update_employee(request: Request) -> Response:
    employee_id = request.path_params["id"]
    vendor, refused = await _checked(request, "writeback", employee_id)
    if refused is not None:
        return refused
    body = await json_body(request)
    with state_of(request).lock:
        employee = vendor.employees.get(employee_id)
        if employee is None or not isinstance(body, dict):
            record_status(request, vendor, 404 if employee is None else 400)
            return JSONResponse(
                {"error": "not found" if employee is None else "bad body"}, 404 if employee is None else 400
            )
        upn = ((body.get("work") or {}).get("custom") or {}).get("upn")
        if upn:
            employee["upn"] = upn
        vendor.writebacks.append({"employeeId": employee_id, "fields": body})
    record_status(request, vendor, 200)
    return Response(status_code=200)


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode("ascii")


def deliveries(vendor: VendorState, kind: str, employee: dict[str, Any], changed: list[str]) -> list[Delivery]:
    """Webhooks v2: the unified envelope with the employee id only (and the changed field ids for updates)."""
    event = KINDS[kind]
    data: dict[str, Any] = {"employeeId": str(employee["id"])}
    if kind == "updated":
        data["fieldIds"] = changed
    payload = {
        "companyId": int(vendor.company_id) if vendor.company_id.isdigit() else vendor.company_id,
        "type": event,
        "triggeredBy": "system",
        "triggeredAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "version": "v2",
        "data": data,
    }
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", "Bob-Signature": signature(vendor.webhook_secret or "", body)}
    return [Delivery(NAME, event, str(employee["id"]), body, headers, POLICY)]


routes = [
    Route("/v1/people/search", search, methods=["POST"]),
    Route("/v1/people/{id}/email", update_email, methods=["PUT"]),
    Route("/v1/people/{id}", read_employee, methods=["POST"]),
    Route("/v1/people/{id}", update_employee, methods=["PUT"]),
]
