"""The HTTP face of the host: app routes under /api, the Durable management webhooks, and the client RPC.

- `/{routePrefix}/...`: the app's HTTP triggers with Azure's key checks (`x-functions-key` header or
  `code` query parameter; function level accepts the function or master key, admin only the master key).
- `/runtime/webhooks/durabletask/...`: the public management API (system key or master key).
- `/durabletask/...`: what `DurableOrchestrationClient` calls through `rpcBaseUrl` (loopback, no key,
  like the real host's local RPC endpoint).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import azure.functions as func
from azure.functions.timer import TimerRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .management import Management
from .management_api import ManagementApi, management_urls
from .worker import AsyncRunner

log = logging.getLogger("emulators.functions_host")

WEBHOOK_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"


@dataclass
class HostKeys:
    """Keys as Azure has them: function key, master (admin) key, and the Durable extension's system key."""

    function_key: str
    master_key: str
    system_key: str


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


class HttpFrontEnd:
    """Builds the Starlette application for one host."""

    def __init__(self, management: Management, runner: AsyncRunner, keys: HostKeys, hub_name: str) -> None:
        self.management = management
        self.app = management.engine.app
        self.runner = runner
        self.keys = keys
        self.hub_name = hub_name
        self.base_url = ""
        self.api = ManagementApi(management, self.management_payload)

    def build(self) -> Starlette:
        prefix = self.app.route_prefix
        api = self.api
        every = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        # (path, handler, methods it answers; the extension answers any other method with 404, not 405)
        durable: list[tuple[str, Callable[[Request, bool], Awaitable[Response]], frozenset[str] | None]] = [
            ("/orchestrators/{name}", api.start, frozenset({"POST"})),
            ("/orchestrators/{name}/{instance_id}", api.start, frozenset({"POST"})),
            ("/instances", api.instances, None),
            ("/instances/", api.instances, None),
            ("/instances/{instance_id}", api.instance, None),
            ("/instances/{instance_id}/raiseEvent/{event_name}", api.raise_event, frozenset({"POST"})),
            ("/instances/{instance_id}/{operation}", api.operation, frozenset({"POST"})),
            ("/entities", api.entities, None),
            ("/entities/", api.entities, None),
            ("/entities/{name}", api.entities, None),
            ("/entities/{name}/{key}", api.entities, None),
        ]
        routes = [
            Route("/admin/host/status", self._host_status, methods=["GET"]),
            Route("/admin/functions/{name}", self._invoke_function, methods=["POST"]),
        ]
        for base, public in ((WEBHOOK_PREFIX, True), (RPC_PREFIX, False)):
            routes += [
                Route(f"{base}{path}", self._wrap(handler, public, allowed), methods=every)
                for path, handler, allowed in durable
            ]
        routes.append(Route(f"/{prefix}/{{path:path}}" if prefix else "/{path:path}", self._app_route, methods=every))
        return Starlette(routes=routes)

    # ---- binding JSON ------------------------------------------------------------------------------------
    def client_binding(self) -> str:
        """The durableClient binding value the host hands to a starter function."""
        base = f"{self.base_url}{WEBHOOK_PREFIX}"
        code = quote(self.keys.system_key)
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?code={code}",
                    "createAndWaitOnNewInstancePostUri": f"{create}"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&code={code}",
                },
                "managementUrls": management_urls(base, self.keys.system_key, self.hub_name),
                "rpcBaseUrl": f"{self.base_url}{RPC_PREFIX}/",
                "requiredQueryStringParameters": f"code={code}",
            }
        )

    def management_payload(self, instance_id: str, origin: str) -> dict[str, str]:
        """The binding's management URLs for one instance, on the origin the caller used."""
        urls = management_urls(f"{self.base_url}{WEBHOOK_PREFIX}", self.keys.system_key, self.hub_name)
        return {
            key: url.replace(self.base_url, origin).replace("INSTANCEID", quote(instance_id, safe=""))
            for key, url in urls.items()
        }

    # ---- key checks ----------------------------------------------------------------------------------------
    def _presented_key(self, request: Request) -> str | None:
        return request.headers.get("x-functions-key") or request.query_params.get("code")

    def _authorised(self, request: Request, level: str) -> bool:
        if level == "anonymous":
            return True
        key = self._presented_key(request)
        if _same(key, self.keys.master_key):
            return True
        if level == "function":
            return _same(key, self.keys.function_key)
        if level == "system":
            return _same(key, self.keys.system_key)
        return False

    def _wrap(
        self,
        handler: Callable[[Request, bool], Awaitable[Response]],
        public: bool,
        allowed: frozenset[str] | None = None,
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if public and not self._authorised(request, "system"):
                return Response(status_code=401)
            if allowed is not None and request.method not in allowed:
                return Response(status_code=404)
            return await handler(request, public)

        return endpoint

    # ---- app routes ---------------------------------------------------------------------------------------
    async def _host_status(self, _request: Request) -> Response:
        return JSONResponse({"state": "Running", "functions": self._function_names()})

    def _function_names(self) -> list[str]:
        app = self.app
        names = [f.name for f in app.http] + list(app.orchestrators) + list(app.activities) + list(app.entities)
        return sorted(names + list(app.timers))

    async def _invoke_function(self, request: Request) -> Response:
        """Run a non-HTTP function now (Azure: `POST /admin/functions/{name}` with the master key). Timer
        functions only; answers 202 once the run has finished, 500 when it raised."""
        if not _same(self._presented_key(request), self.keys.master_key):
            return Response(status_code=401)
        timer = self.app.timers.get(request.path_params["name"])
        if timer is None:
            return Response(status_code=404)
        kwargs: dict[str, Any] = {timer.trigger_param: TimerRequest(past_due=False)}
        if timer.client_param:
            kwargs[timer.client_param] = self.client_binding()
        try:
            if timer.is_async:
                await asyncio.wrap_future(self.runner.submit(timer.user_function(**kwargs)))
            else:
                await run_in_threadpool(timer.user_function, **kwargs)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", timer.name)
            return Response(status_code=500)
        log.info("Executed 'Functions.%s' (Succeeded)", timer.name)
        return Response(status_code=202)

    async def _app_route(self, request: Request) -> Response:
        found = self.app.find_route(request.path_params["path"], request.method)
        if found is None:
            return Response(status_code=404)
        function, route_params = found
        if not self._authorised(request, function.auth_level):
            return Response(status_code=401)
        body = await request.body()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query_params),
            route_params=route_params,
            body=body,
        )
        kwargs: dict[str, Any] = {function.trigger_param: http_request}
        if function.client_param:
            kwargs[function.client_param] = self.client_binding()
        try:
            if function.is_async:
                result = await asyncio.wrap_future(self.runner.submit(function.user_function(**kwargs)))
            else:
                result = await run_in_threadpool(function.user_function, **kwargs)
            return _to_response(result)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", function.name)
            return Response(status_code=500)


def _to_response(result: Any) -> Response:
    if isinstance(result, func.HttpResponse):
        headers = {key: value for key, value in result.headers.items() if key.lower() != "content-length"}
        if not any(key.lower() == "content-type" for key in headers):
            mimetype = result.mimetype or "text/plain"
            headers["content-type"] = (
                f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/") else mimetype
            )
        return Response(content=result.get_body() or b"", status_code=result.status_code, headers=headers)
    if result is None:
        return Response(status_code=204)
    if isinstance(result, bytes | str):
        return Response(content=result, status_code=200, media_type="text/plain")
    raise TypeError(f"an HTTP function returned {type(result).__name__}; return func.HttpResponse or str")
