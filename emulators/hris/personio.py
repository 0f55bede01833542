"""Personio as documented (docs/connectors.md cites the pages): API v2 on api.personio.de with client credentials
(`POST /v2/auth/token`), persons and their employments with `_data` / `_meta.links.next.href` paging, and dataless
webhooks `{company_id, event_name, occurred_at, payload, meta}` carrying the subscription's token.

Webhook delivery: a 2xx is expected within 3 s; a timeout or a 5xx except 501 is retried for up to 3 days, at most
6 attempts of up to 2 requests each. The intervals are not published; this emulator uses 1 and 10 minutes, 1, 6 and
24 hours.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.hris.common import gate, json_body, record_status, state_of
from emulators.hris.state import VendorState
from emulators.hris.webhooks import Delivery, RetryPolicy

NAME = "personio"
HOSTS = ("api.personio.de",)
POLICY = RetryPolicy(
    delays=(60, 600, 3600, 21600, 86400),
    timeout_seconds=3.0,
    retry_on=lambda status: status == 0 or (status >= 500 and status != 501),
    fast_attempts=2,
)
KINDS = {
    "created": "employment.created",
    "updated": "person.updated",
    "terminated": "employment.terminated",
    "started": "employment.started",
}
API = "https://api.personio.de/v2"


def employment_id(employee: dict[str, Any]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"personio-employment-{employee['id']}"))


def person(employee: dict[str, Any]) -> dict[str, Any]:
    person_id = str(employee["id"])
    answer = {
        "id": person_id,
        "first_name": employee.get("firstName"),
        "last_name": employee.get("lastName"),
        "preferred_name": employee.get("preferredName"),
        "email": employee.get("workEmail"),
        "employments": [{"id": employment_id(employee)}],
        "_meta": {"links": {"employments": {"href": f"{API}/persons/{person_id}/employments"}}},
    }
    if employee.get("upn"):
        answer["custom_attributes"] = [{"id": "upn", "value": employee["upn"]}]
    return answer


def employment(employee: dict[str, Any]) -> dict[str, Any]:
    ended = employee.get("terminationDate")
    supervisor = employee.get("supervisorId")
    return {
        "id": employment_id(employee),
        "person": {"id": str(employee["id"])},
        "status": "INACTIVE" if ended else "ACTIVE",
        "start_date": employee.get("hireDate"),
        "termination_date": ended,
        "position": {"title": employee.get("jobTitle")},
        "department": {"name": employee.get("department")} if employee.get("department") else None,
        "office": {"name": employee.get("location"), "country": employee.get("country")},
        "supervisor": {"id": str(supervisor)} if supervisor else None,
    }


def _vendor(request: Request) -> VendorState:
    return state_of(request).vendor(NAME)


async def token(request: Request) -> Response:
    vendor = _vendor(request)
    fault = await gate(request, vendor, operation="token", employee_id=None)
    if fault is not None:
        return fault
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    expected = (vendor.credentials.get("clientId"), vendor.credentials.get("clientSecret"))
    if form.get("grant_type") != "client_credentials" or (form.get("client_id"), form.get("client_secret")) != expected:
        record_status(request, vendor, 401)
        return JSONResponse({"error": "invalid_client"}, 401)
    issued = secrets.token_urlsafe(24)
    with state_of(request).lock:
        vendor.tokens.add(issued)
    record_status(request, vendor, 200)
    return JSONResponse(
        {"access_token": issued, "token_type": "Bearer", "expires_in": 86400, "scope": "personio:persons:read"}
    )


async def _checked(request: Request, operation: str, employee_id: str | None) -> tuple[VendorState, Response | None]:
    vendor = _vendor(request)
    fault = await gate(request, vendor, operation=operation, employee_id=employee_id)
    if fault is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        with state_of(request).lock:
            valid = scheme.lower() == "bearer" and value in vendor.tokens
        if not valid:
            record_status(request, vendor, 401)
            fault = JSONResponse({"errors": [{"title": "Unauthorized"}]}, 401)
    return vendor, fault


async def get_person(request: Request) -> Response:
    person_id = request.path_params["id"]
    vendor, refused = await _checked(request, "fetch", person_id)
    if refused is not None:
        return refused
    with state_of(request).lock:
        employee = vendor.employees.get(person_id)
        answer = person(employee) if employee else None
    if answer is None:
        record_status(request, vendor, 404)
        return JSONResponse({"errors": [{"title": "Person not found"}]}, 404)
    record_status(request, vendor, 200)
    return JSONResponse(answer)


async def list_employments(request: Request) -> Response:
    person_id = request.path_params["id"]
    vendor, refused = await _checked(request, "fetch-employments", person_id)
    if refused is not None:
        return refused
    with state_of(request).lock:
        employee = vendor.employees.get(person_id)
        rows = [employment(employee)] if employee else None
    if rows is None:
        record_status(request, vendor, 404)
        return JSONResponse({"errors": [{"title": "Person not found"}]}, 404)
    record_status(request, vendor, 200)
    return JSONResponse({"_data": rows, "_meta": {"links": {"self": {"href": str(request.url)}}}})


async def list_persons(request: Request) -> Response:
    vendor, refused = await _checked(request, "list", None)
    if refused is not None:
        return refused
    limit = max(1, min(int(request.query_params.get("limit", "50") or 50), 50))
    cursor = request.query_params.get("cursor")
    with state_of(request).lock:
        rows = [person(item) for item in sorted(vendor.employees.values(), key=lambda item: str(item["id"]))]
    start = int(cursor) if cursor and cursor.isdigit() else 0
    page = rows[start : start + limit]
    links: dict[str, Any] = {"self": {"href": str(request.url)}}
    if start + limit < len(rows):
        links["next"] = {"href": f"{API}/persons?limit={limit}&cursor={start + limit}"}
    record_status(request, vendor, 200)
    return JSONResponse({"_data": page, "_meta": {"links": links}})


async def patch_person(request: Request) -> Response:
    person_id = request.path_params["id"]
    vendor, refused = await _checked(request, "writeback", person_id)
    if refused is not None:
        return refused
    body = await json_body(request)
    with state_of(request).lock:
        employee = vendor.employees.get(person_id)
        if employee is None:
            record_status(request, vendor, 404)
            return JSONResponse({"errors": [{"title": "Person not found"}]}, 404)
        if not isinstance(body, dict):
            record_status(request, vendor, 400)
            return JSONResponse({"errors": [{"title": "Body must be a JSON object"}]}, 400)
        if isinstance(body.get("email"), str):
            employee["workEmail"] = body["email"]
        for attribute in body.get("custom_attributes") or []:
            if isinstance(attribute, dict) and attribute.get("id") == "upn":
                employee["upn"] = attribute.get("value")
        vendor.writebacks.append({"employeeId": person_id, "fields": body})
    record_status(request, vendor, 200)
    return JSONResponse(person(employee))


def deliveries(vendor: VendorState, kind: str, employee: dict[str, Any], changed: list[str]) -> list[Delivery]:
    event = KINDS[kind]
    if event.startswith("person."):
        payload: dict[str, Any] = {"id": str(employee["id"])}
    else:
        payload = {"id": employment_id(employee), "person": {"id": str(employee["id"])}}
    body = json.dumps(
        {
            "company_id": vendor.company_id,
            "event_name": event,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "payload": payload,
            "meta": {"event_id": str(uuid.uuid4())},
        }
    ).encode("utf-8")
    headers = {"Content-Type": "application/json", "Authorization": vendor.webhook_secret or ""}
    return [Delivery(NAME, event, str(employee["id"]), body, headers, POLICY)]


routes = [
    Route("/v2/auth/token", token, methods=["POST"]),
    Route("/v2/persons", list_persons, methods=["GET"]),
    Route("/v2/persons/{id}", get_person, methods=["GET"]),
    Route("/v2/persons/{id}", patch_person, methods=["PATCH"]),
    Route("/v2/persons/{id}/employments", list_employments, methods=["GET"]),
]
