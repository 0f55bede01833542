"""Error bodies in the shapes each Microsoft service uses.

Graph: ``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``.
Entra sign-in (AADSTS): ``{"error", "error_description", "error_codes", "timestamp", "trace_id",
"correlation_id"}``. Key Vault: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def request_ids(request: Request) -> dict[str, str]:
    """The request-id Graph assigns and the client-request-id it echoes."""
    request_id = getattr(request.state, "request_id", None) or str(uuid.uuid4())
    request.state.request_id = request_id
    client_request_id = request.headers.get("client-request-id") or request_id
    return {"request-id": request_id, "client-request-id": client_request_id}


def graph_error(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    ids = request_ids(request)
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                **ids,
            },
        }
    }
    return JSONResponse(body, status_code=status, headers={**ids, **(headers or {})})


def graph_json(request: Request, body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers=request_ids(request))


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return JSONResponse(body, status_code=status)


def vault_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
