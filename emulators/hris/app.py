"""The ASGI app of the HR systems emulator: each vendor's API on its own hostnames, the control API on loopback.

Control API (`/_emulator/hris/...`, loopback only):
- `POST reset`; `GET {vendor}/state` — employees, calls (fetches, lists, writebacks), writebacks, deliveries.
- `PUT {vendor}/config` — `credentials`, `companyId`, `webhookTarget`, `webhookSecret`, `retryScale`.
- `PUT {vendor}/employees/{id}` — seed or change an employee (neutral fields, see state.EMPLOYEE_KEYS);
  `?notify=created|updated` makes the HR system send its webhook(s) for the change.
- `POST {vendor}/employees/{id}/terminate` — `{"terminationDate"}`, then the vendor's termination webhook.
- `POST {vendor}/employees/{id}/notify?kind=created|updated|terminated` — only the webhook, for any id.
- `POST {vendor}/faults` — `{"api": [{"status", "count", "retryAfter", "operation", "after"}], "slowSeconds",
  "loseWebhooks", "duplicateWebhooks"}` (`after`: matching calls answered before the fault, e.g. a failure on the
  third page of a list); `DELETE {vendor}/faults` clears them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from emulators.hris import bamboohr, hibob, personio
from emulators.hris.common import json_body
from emulators.hris.state import ApiFault, ControlError, HrisState, neutral_employee
from emulators.hris.webhooks import Dispatcher

VENDORS: dict[str, ModuleType] = {module.NAME: module for module in (bamboohr, hibob, personio)}
HOSTS: tuple[str, ...] = tuple(host for module in VENDORS.values() for host in module.HOSTS)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _vendor_for_host(host: str) -> str | None:
    for name, module in VENDORS.items():
        for pattern in module.HOSTS:
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return name
    return None


def _host_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            text = str(value.decode("latin-1")).lower()
            return text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return "localhost"


class FrontDoor:
    """Send each request to the vendor that owns its hostname; the control API answers on loopback only."""

    def __init__(self, apps: dict[str, ASGIApp], control: ASGIApp) -> None:
        self.apps = apps
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        host = _host_of(scope)
        if scope["path"].startswith("/_emulator/") and host in LOOPBACK:
            await self.control(scope, receive, send)
            return
        vendor = _vendor_for_host(host)
        if vendor is None:
            await JSONResponse({"error": f"no HR system on {host}"}, 404)(scope, receive, send)
            return
        await self.apps[vendor](scope, receive, send)


def _name(request: Request) -> str:
    name = request.path_params["vendor"]
    if name not in VENDORS:
        raise ControlError(f"unknown HR system {name!r}; one of {', '.join(VENDORS)}")
    return str(name)


def _control(handler: Any) -> Any:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except ControlError as error:
            return JSONResponse({"error": str(error)}, 400)

    return wrapped


def build_app(state: HrisState, dispatcher: Dispatcher) -> ASGIApp:
    async def reset(request: Request) -> Response:
        state.reset()
        return Response(status_code=204)

    async def view(request: Request) -> Response:
        with state.lock:
            return JSONResponse(state.vendor(_name(request)).view())

    async def configure(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ControlError("body must be a JSON object")
        with state.lock:
            vendor = state.vendor(_name(request))
            if "credentials" in body:
                vendor.credentials = {str(k): str(v) for k, v in dict(body["credentials"]).items()}
            if "companyId" in body:
                vendor.company_id = str(body["companyId"])
            if "webhookTarget" in body:
                vendor.webhook_target = body["webhookTarget"]
            if "webhookSecret" in body:
                vendor.webhook_secret = body["webhookSecret"]
            if "retryScale" in body:
                vendor.retry_scale = float(body["retryScale"])
        return Response(status_code=204)

    async def put_employee(request: Request) -> Response:
        name = _name(request)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ControlError("body must be a JSON object of employee fields")
        notify = request.query_params.get("notify")
        if notify not in (None, "created", "updated"):
            raise ControlError("notify must be created or updated")
        employee_id = request.path_params["id"]
        with state.lock:
            vendor = state.vendor(name)
            current = vendor.employees.get(employee_id, {})
            changed = sorted(key for key, value in body.items() if current.get(key) != value)
            vendor.employees[employee_id] = neutral_employee(employee_id, {**current, **body})
            employee = dict(vendor.employees[employee_id])
            deliveries = VENDORS[name].deliveries(vendor, notify, employee, changed) if notify else []
        for delivery in deliveries:
            dispatcher.submit(delivery)
        return JSONResponse({"employee": employee, "webhooks": len(deliveries)})

    async def terminate(request: Request) -> Response:
        name = _name(request)
        body = await json_body(request)
        ended = body.get("terminationDate") if isinstance(body, dict) else None
        if not isinstance(ended, str):
            raise ControlError("terminationDate (YYYY-MM-DD) is required")
        with state.lock:
            vendor = state.vendor(name)
            employee = vendor.employees.get(request.path_params["id"])
            if employee is None:
                raise ControlError("no such employee")
            employee["terminationDate"] = ended
            deliveries = VENDORS[name].deliveries(vendor, "terminated", dict(employee), ["terminationDate", "status"])
        for delivery in deliveries:
            dispatcher.submit(delivery)
        return JSONResponse({"employee": employee, "webhooks": len(deliveries)})

    async def notify(request: Request) -> Response:
        """Send the vendor's webhook for an employee id, known or not (a record deleted or hidden from the API)."""
        name = _name(request)
        kind = request.query_params.get("kind", "updated")
        if kind not in ("created", "updated", "terminated"):
            raise ControlError("kind must be created, updated or terminated")
        employee_id = request.path_params["id"]
        with state.lock:
            vendor = state.vendor(name)
            employee = dict(vendor.employees.get(employee_id) or {"id": employee_id})
            deliveries = VENDORS[name].deliveries(vendor, kind, employee, [])
        for delivery in deliveries:
            dispatcher.submit(delivery)
        return JSONResponse({"webhooks": len(deliveries)})

    async def faults(request: Request) -> Response:
        with state.lock:
            vendor = state.vendor(_name(request))
            if request.method == "DELETE":
                vendor.api_faults, vendor.slow_seconds, vendor.lose_webhooks, vendor.duplicate_webhooks = [], 0.0, 0, 0
                return Response(status_code=204)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ControlError("body must be a JSON object")
        with state.lock:
            for item in body.get("api") or []:
                vendor.api_faults.append(
                    ApiFault(
                        int(item["status"]),
                        int(item.get("count", 1)),
                        item.get("retryAfter"),
                        item.get("operation"),
                        int(item.get("after", 0)),
                    )
                )
            vendor.slow_seconds = float(body.get("slowSeconds", vendor.slow_seconds))
            vendor.lose_webhooks += int(body.get("loseWebhooks", 0))
            vendor.duplicate_webhooks += int(body.get("duplicateWebhooks", 0))
        return Response(status_code=204)

    control = Starlette(
        routes=[
            Route("/_emulator/hris/reset", _control(reset), methods=["POST"]),
            Route("/_emulator/hris/{vendor}/state", _control(view), methods=["GET"]),
            Route("/_emulator/hris/{vendor}/config", _control(configure), methods=["PUT"]),
            Route("/_emulator/hris/{vendor}/employees/{id}", _control(put_employee), methods=["PUT"]),
            Route("/_emulator/hris/{vendor}/employees/{id}/terminate", _control(terminate), methods=["POST"]),
            Route("/_emulator/hris/{vendor}/employees/{id}/notify", _control(notify), methods=["POST"]),
            Route("/_emulator/hris/{vendor}/faults", _control(faults), methods=["POST", "DELETE"]),
        ]
    )
    apps: dict[str, ASGIApp] = {}
    for name, module in VENDORS.items():
        app = Starlette(routes=module.routes)
        app.state.hris = state
        apps[name] = app
    control.state.hris = state
    return FrontDoor(apps, control)
