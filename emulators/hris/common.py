"""What every emulated HR API does before answering: check credentials, apply faults, record the call."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.hris.state import HrisState, VendorState


def state_of(request: Request) -> HrisState:
    state: HrisState = request.app.state.hris
    return state


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


async def gate(request: Request, vendor: VendorState, *, operation: str, employee_id: str | None) -> Response | None:
    """Record the call; answer with an injected fault (after any injected slowness) or None to go on."""
    with state_of(request).lock:
        vendor.calls.append(
            {
                "method": request.method,
                "path": request.url.path,
                "operation": operation,
                "employeeId": employee_id,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        fault = vendor.next_fault(operation)
        slow = vendor.slow_seconds
        vendor.calls[-1]["status"] = fault.status if fault else None
    if slow:
        await asyncio.sleep(slow)
    if fault is None:
        return None
    headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
    return JSONResponse({"error": {"code": fault.status, "message": "injected fault"}}, fault.status, headers=headers)


def record_status(request: Request, vendor: VendorState, status: int) -> None:
    with state_of(request).lock:
        if vendor.calls:
            vendor.calls[-1]["status"] = status


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
