"""BambooHR as documented (docs/connectors.md cites the pages): the employee API under
`/api/gateway.php/{companyDomain}/v1/` with the API key as Basic user, throttling as 503 + Retry-After, and
event-based webhooks signed HMAC-SHA256(raw body + X-BambooHR-Timestamp), hex in X-BambooHR-Signature.

Webhook retries: a 5xx is retried up to 5 times after 5, 10, 20, 40 and 80 minutes; a 4xx is never retried. A new
hire fires `employee.created` and then `employee.updated` (BambooHR's create-then-initialise sequence).
"""

from __future__ import annotations

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

NAME = "bamboohr"
HOSTS = ("api.bamboohr.com", "*.bamboohr.com")
POLICY = RetryPolicy(
    delays=(300, 600, 1200, 2400, 4800), timeout_seconds=10.0, retry_on=lambda status: status >= 500 or status == 0
)
COUNTRY_NAMES = {"DE": "Germany", "US": "United States", "GB": "United Kingdom", "FR": "France", "AT": "Austria"}
NATIVE = {
    "id": "id",
    "employeeNumber": "employeeNumber",
    "firstName": "firstName",
    "lastName": "lastName",
    "preferredName": "preferredName",
    "middleName": "middleName",
    "jobTitle": "jobTitle",
    "department": "department",
    "division": "division",
    "location": "location",
    "city": "city",
    "postalCode": "zipcode",
    "workPhone": "workPhone",
    "mobilePhone": "mobilePhone",
    "homeEmail": "homeEmail",
    "workEmail": "workEmail",
    "hireDate": "hireDate",
    "originalHireDate": "originalHireDate",
    "supervisorId": "supervisorEId",
}


def native(employee: dict[str, Any]) -> dict[str, Any]:
    """The employee as BambooHR's get-employee answers (every field; the route filters by `fields`)."""
    record = {NATIVE[key]: value for key, value in employee.items() if key in NATIVE}
    record["id"] = str(employee["id"])
    country = employee.get("country")
    if country:
        record["country"] = COUNTRY_NAMES.get(country, country)
    ended = employee.get("terminationDate")
    record["terminationDate"] = ended or "0000-00-00"
    record["status"] = "Inactive" if ended else "Active"
    if employee.get("upn"):
        record["customUpn"] = employee["upn"]
    return record


def _vendor(request: Request) -> VendorState:
    return state_of(request).vendor(NAME)


def _authorised(request: Request, vendor: VendorState) -> bool:
    credentials = basic_credentials(request)
    return credentials is not None and credentials[0] == vendor.credentials.get("apiKey")


async def get_employee(request: Request) -> Response:
    vendor = _vendor(request)
    employee_id = request.path_params["id"]
    fault = await gate(request, vendor, operation="fetch", employee_id=employee_id)
    if fault is not None:
        return fault
    if not _authorised(request, vendor):
        record_status(request, vendor, 401)
        return Response(status_code=401, headers={"X-BambooHR-Error-Message": "Invalid API key"})
    with state_of(request).lock:
        employee = vendor.employees.get(employee_id)
        record = native(employee) if employee else None
    if record is None:
        record_status(request, vendor, 404)
        return Response(status_code=404, headers={"X-BambooHR-Error-Message": "Employee not found"})
    fields = [name for name in request.query_params.get("fields", "").split(",") if name]
    answer = {"id": record["id"], **{name: record.get(name) for name in fields if name != "id"}}
    record_status(request, vendor, 200)
    return JSONResponse(answer)


async def update_employee(request: Request) -> Response:
    vendor = _vendor(request)
    employee_id = request.path_params["id"]
    fault = await gate(request, vendor, operation="writeback", employee_id=employee_id)
    if fault is not None:
        return fault
    if not _authorised(request, vendor):
        record_status(request, vendor, 401)
        return Response(status_code=401)
    body = await json_body(request)
    if not isinstance(body, dict) or not body:
        record_status(request, vendor, 400)
        return Response(status_code=400, headers={"X-BambooHR-Error-Message": "Body must be a JSON object"})
    with state_of(request).lock:
        employee = vendor.employees.get(employee_id)
        if employee is None:
            record_status(request, vendor, 404)
            return Response(status_code=404)
        if "workEmail" in body:
            employee["workEmail"] = body["workEmail"]
        if "customUpn" in body:
            employee["upn"] = body["customUpn"]
        vendor.writebacks.append({"employeeId": employee_id, "fields": body})
    record_status(request, vendor, 200)
    return Response(status_code=200)


async def list_employees(request: Request) -> Response:
    """List Employees: cursor-paginated, `{data, meta: {total, page}, _links: {self, next}}`."""
    vendor = _vendor(request)
    fault = await gate(request, vendor, operation="list", employee_id=None)
    if fault is not None:
        return fault
    if not _authorised(request, vendor):
        record_status(request, vendor, 401)
        return Response(status_code=401)
    limit = min(int(request.query_params.get("page[limit]", "2") or 2), 100)
    after = request.query_params.get("page[after]")
    with state_of(request).lock:
        everyone = sorted(
            vendor.employees.values(), key=lambda item: int(str(item["id"])) if str(item["id"]).isdigit() else 0
        )
        rows = [native(item) for item in everyone]
    start = next((index + 1 for index, row in enumerate(rows) if row["id"] == after), 0) if after else 0
    page = rows[start : start + limit]
    data = [{"employeeId": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in page]
    links: dict[str, Any] = {"self": {"href": str(request.url)}}
    if start + limit < len(rows):
        base = str(request.url).split("?", 1)[0]
        links["next"] = {"href": f"{base}?page[limit]={limit}&page[after]={page[-1]['id']}"}
    record_status(request, vendor, 200)
    return JSONResponse({"data": data, "meta": {"total": len(rows), "page": {"limit": limit}}, "_links": links})


def deliveries(vendor: VendorState, kind: str, employee: dict[str, Any], changed: list[str]) -> list[Delivery]:
    """The webhooks BambooHR sends for a change: created is followed by updated, like the real sequence."""
    # BambooHR has no termination event: a termination is an update of status / terminationDate.
    kinds = ["employee.created", "employee.updated"] if kind == "created" else ["employee.updated"]
    result = []
    for event in kinds:
        payload = {
            "type": event,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
            "data": {"companyId": vendor.company_id, "employeeId": str(employee["id"]), "changedFields": changed},
        }
        body = json.dumps(payload).encode("utf-8")
        timestamp = str(int(time.time()))
        signature = hmac.new(
            (vendor.webhook_secret or "").encode(), body + timestamp.encode(), hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)",
            "X-BambooHR-Timestamp": timestamp,
            "X-BambooHR-Signature": signature,
        }
        result.append(Delivery(NAME, event, str(employee["id"]), body, headers, POLICY))
    return result


routes = [
    Route("/api/gateway.php/{company}/v1/employees/{id}", get_employee, methods=["GET"]),
    Route("/api/gateway.php/{company}/v1/employees/{id}", update_employee, methods=["POST"]),
    Route("/api/gateway.php/{company}/v1/employees", list_employees, methods=["GET"]),
]
