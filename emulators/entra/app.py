"""The ASGI application: every Microsoft host on one port, plus the control API.

A middleware in front of the routes keeps each hostname to its own API surface (Graph paths
only on graph.microsoft.com, secrets only on ``*.vault.azure.net``...; loopback reaches all),
injects random Graph 429/503 faults, and records every call for ``/_emulator/state``.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulators.entra import (
    control,
    directory_roles,
    graph_authentication,
    graph_batch,
    graph_delta,
    graph_provisioning,
    graph_users,
    keyvault,
    login,
)
from emulators.entra.core import EmulatorCore
from emulators.entra.responses import graph_error
from emulators.entra.timeutil import iso, now

GRAPH_HOST = "graph.microsoft.com"
LOGIN_HOST = "login.microsoftonline.com"
VAULT_SUFFIX = ".vault.azure.net"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _surface(path: str) -> str:
    if path.startswith("/_emulator/"):
        return "control"
    if path.startswith(("/v1.0/", "/beta/")):
        return "graph"
    if path.startswith("/secrets/"):
        return "vault"
    if path.startswith("/msi/"):
        return "msi"
    return "login"


def _host_allows(host: str, surface: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    if host == GRAPH_HOST:
        return surface == "graph"
    if host == LOGIN_HOST:
        return surface == "login"
    if host.endswith(VAULT_SUFFIX):
        return surface == "vault"
    return False


def _host_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            text = str(value.decode("latin-1")).lower()
            if text.startswith("["):
                return text.split("]")[0] + "]"
            return text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return "localhost"


class FrontDoor:
    """Host routing, Graph fault injection and call recording."""

    def __init__(self, app: ASGIApp, core: EmulatorCore) -> None:
        self.app = app
        self.core = core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        surface = _surface(path)
        if surface == "control":
            await self.app(scope, receive, send)
            return
        if surface == "graph" and "//" in path:
            # Graph treats empty path segments as absent: msgraph-sdk (kiota-http >= 1.9.4) joins its base URL
            # "https://graph.microsoft.com/v1.0/" and "/users" into ".../v1.0//users" in its default setup.
            path = re.sub("/{2,}", "/", path)
            raw_path = re.sub(b"/{2,}", b"/", scope.get("raw_path") or path.encode())
            scope = {**scope, "path": path, "raw_path": raw_path}
        status_seen = 0

        async def recording_send(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = int(message["status"])
            await send(message)

        host = _host_of(scope)
        try:
            if not _host_allows(host, surface):
                await JSONResponse(
                    {"error": {"code": "NotFound", "message": f"No such resource on {host}."}},
                    status_code=404,
                )(scope, receive, recording_send)
                return
            if surface == "graph" and not path.endswith("/$batch"):
                with self.core.state.lock:
                    fault = self.core.faults.graph_fault()
                    retry_after = self.core.state.config["faults"].get("retryAfterSeconds")
                if fault is not None:
                    await self._fault_response(scope, fault, retry_after)(scope, receive, recording_send)
                    return
            await self.app(scope, receive, recording_send)
        finally:
            with self.core.state.lock:
                self.core.state.record_call(
                    {
                        "method": scope["method"],
                        "host": host,
                        "path": path,
                        "status": status_seen,
                        "time": iso(now()),
                        **({"inBatch": True} if scope.get(graph_batch.BATCH_ITEM) else {}),
                    }
                )

    def _fault_response(self, scope: Scope, status: int, retry_after: Any) -> Response:
        request = Request(scope)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None and status == 429 else {}
        if status == 429:
            return graph_error(
                request,
                429,
                "TooManyRequests",
                "Too many requests from Identifier under category throttle.aad.ags (injected fault).",
                headers=headers,
            )
        return graph_error(
            request, 503, "serviceNotAvailable", "The service is temporarily unavailable (injected fault)."
        )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _surface(request.url.path) == "graph":
        if exc.status_code == 405:
            return graph_error(
                request, 405, "Request_BadRequest", "The HTTP method is not supported for this resource."
            )
        segment = request.url.path.rsplit("/", 1)[-1]
        return graph_error(request, 400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    return JSONResponse({"error": {"code": "NotFound", "message": exc.detail}}, status_code=exc.status_code)


def build_app(core: EmulatorCore) -> ASGIApp:
    """The Starlette app with every route, wrapped in the front door."""
    app = Starlette(
        routes=[
            *control.routes,
            *directory_roles.routes,
            *graph_batch.routes,
            *graph_delta.routes,
            *graph_users.routes,
            *graph_authentication.routes,
            *graph_provisioning.routes,
            *keyvault.routes,
            *login.routes,
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.core = core
    front_door = FrontDoor(app, core)
    # $batch runs each of its requests through the front door, as if it had come on its own.
    app.state.dispatch = front_door
    return front_door
