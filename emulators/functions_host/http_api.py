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
from datetime import datetime
from typing import Any
from urllib.parse import quote

import azure.functions as func
from azure.functions.timer import TimerRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .engine import Engine, InstanceExistsError, UnknownFunctionError
from .history import parse_time
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

    def __init__(self, engine: Engine, runner: AsyncRunner, keys: HostKeys, hub_name: str) -> None:
        self.engine = engine
        self.runner = runner
        self.keys = keys
        self.hub_name = hub_name
        self.base_url = ""

    def build(self) -> Starlette:
        prefix = self.engine.app.route_prefix
        routes = [
            Route("/admin/host/status", self._host_status, methods=["GET"]),
            Route("/admin/functions/{name}", self._invoke_function, methods=["POST"]),
        ]
        for base, public in ((WEBHOOK_PREFIX, True), (RPC_PREFIX, False)):
            routes += [
                Route(f"{base}/orchestrators/{{name}}", self._wrap(self._start, public), methods=["POST"]),
                Route(
                    f"{base}/orchestrators/{{name}}/{{instance_id}}",
                    self._wrap(self._start, public),
                    methods=["POST"],
                ),
                Route(f"{base}/instances", self._wrap(self._instances, public), methods=["GET", "DELETE"]),
                Route(f"{base}/instances/", self._wrap(self._instances, public), methods=["GET", "DELETE"]),
                Route(
                    f"{base}/instances/{{instance_id}}",
                    self._wrap(self._instance, public),
                    methods=["GET", "DELETE"],
                ),
                Route(
                    f"{base}/instances/{{instance_id}}/raiseEvent/{{event_name}}",
                    self._wrap(self._raise_event, public),
                    methods=["POST"],
                ),
                Route(
                    f"{base}/instances/{{instance_id}}/terminate",
                    self._wrap(self._terminate, public),
                    methods=["POST"],
                ),
                Route(
                    f"{base}/entities/{{name}}/{{key}}",
                    self._wrap(self._entity, public),
                    methods=["GET", "POST"],
                ),
            ]
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        routes.append(Route(f"/{prefix}/{{path:path}}" if prefix else "/{path:path}", self._app_route, methods=methods))
        return Starlette(routes=routes)

    # ---- binding JSON ------------------------------------------------------------------------------------
    def client_binding(self) -> str:
        """The durableClient binding value the host hands to a starter function."""
        base = f"{self.base_url}{WEBHOOK_PREFIX}"
        query = f"taskHub={quote(self.hub_name)}&connection=Storage&code={quote(self.keys.system_key)}"
        instance = f"{base}/instances/INSTANCEID"
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?code={quote(self.keys.system_key)}",
                    "createAndWaitOnNewInstancePostUri": f"{create}"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval="
                    f"{{intervalInSeconds}}&code={quote(self.keys.system_key)}",
                },
                "managementUrls": {
                    "id": "INSTANCEID",
                    "statusQueryGetUri": f"{instance}?{query}",
                    "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
                    "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
                    "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
                    "purgeHistoryDeleteUri": f"{instance}?{query}",
                    "restartPostUri": f"{instance}/restart?{query}",
                    "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
                    "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
                },
                "rpcBaseUrl": f"{self.base_url}{RPC_PREFIX}/",
                "requiredQueryStringParameters": f"code={quote(self.keys.system_key)}",
            }
        )

    def management_payload(self, instance_id: str, origin: str) -> dict[str, str]:
        binding = json.loads(self.client_binding())
        payload: dict[str, str] = {}
        for key, url in binding["managementUrls"].items():
            payload[key] = url.replace(self.base_url, origin).replace("INSTANCEID", quote(instance_id, safe=""))
        return payload

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
        self, handler: Callable[[Request, bool], Awaitable[Response]], public: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if public and not self._authorised(request, "system"):
                return Response(status_code=401)
            return await handler(request, public)

        return endpoint

    # ---- app routes ---------------------------------------------------------------------------------------
    async def _host_status(self, _request: Request) -> Response:
        return JSONResponse({"state": "Running", "functions": self._function_names()})

    def _function_names(self) -> list[str]:
        app = self.engine.app
        names = [f.name for f in app.http] + list(app.orchestrators) + list(app.activities) + list(app.entities)
        return sorted(names + list(app.timers))

    async def _invoke_function(self, request: Request) -> Response:
        """Run a non-HTTP function now (Azure: `POST /admin/functions/{name}` with the master key). Timer
        functions only; answers 202 once the run has finished, 500 when it raised."""
        if not _same(self._presented_key(request), self.keys.master_key):
            return Response(status_code=401)
        timer = self.engine.app.timers.get(request.path_params["name"])
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
        found = self.engine.app.find_route(request.path_params["path"], request.method)
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

    # ---- management API / RPC ------------------------------------------------------------------------------
    def _origin(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def _start(self, request: Request, public: bool) -> Response:
        raw = (await request.body()).decode("utf-8")
        input_text: str | None = raw or None
        if not public and raw:
            parsed = json.loads(raw)
            input_text = parsed if isinstance(parsed, str) else raw
        try:
            instance_id = self.engine.start_instance(
                request.path_params["name"], request.path_params.get("instance_id"), input_text
            )
        except UnknownFunctionError as exc:
            return JSONResponse(
                {
                    "Message": "One or more of the arguments submitted is incorrect",
                    "ExceptionMessage": str(exc),
                },
                status_code=400,
            )
        except InstanceExistsError as exc:
            return JSONResponse({"Message": str(exc), "ExceptionMessage": str(exc)}, status_code=409)
        payload = self.management_payload(instance_id, self._origin(request))
        return JSONResponse(
            payload, status_code=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def _instance(self, request: Request, _public: bool) -> Response:
        instance_id = request.path_params["instance_id"]
        if request.method == "DELETE":
            deleted = self.engine.purge(instance_id)
            if not deleted:
                return Response(status_code=404)
            return JSONResponse({"instancesDeleted": deleted})
        query = request.query_params
        status = self.engine.status(
            instance_id,
            show_history=_flag(query.get("showHistory")),
            show_input=query.get("showInput") is None or _flag(query.get("showInput")),
            show_history_output=_flag(query.get("showHistoryOutput")),
        )
        if status is None:
            return Response(status_code=404)
        code = {"Completed": 200, "Failed": 400, "Terminated": 400}.get(status["runtimeStatus"], 202)
        return JSONResponse(status, status_code=code)

    async def _instances(self, request: Request, _public: bool) -> Response:
        query = request.query_params
        created_from = _time(query.get("createdTimeFrom"))
        created_to = _time(query.get("createdTimeTo"))
        statuses = {s for s in (query.get("runtimeStatus") or "").split(",") if s} or None
        if request.method == "DELETE":
            deleted = self.engine.purge_by(created_from, created_to, statuses)
            if not deleted:
                return Response(status_code=404)
            return JSONResponse({"instancesDeleted": deleted})
        listed = self.engine.query(
            created_from,
            created_to,
            statuses,
            query.get("instanceIdPrefix"),
            query.get("showInput") is None or _flag(query.get("showInput")),
        )
        return JSONResponse(listed)

    async def _raise_event(self, request: Request, _public: bool) -> Response:
        raw = (await request.body()).decode("utf-8")
        outcome = self.engine.raise_event(
            request.path_params["instance_id"], request.path_params["event_name"], raw or None
        )
        return Response(status_code={"accepted": 202, "not_found": 404, "gone": 410}[outcome])

    async def _terminate(self, request: Request, _public: bool) -> Response:
        outcome = self.engine.terminate(request.path_params["instance_id"], request.query_params.get("reason", ""))
        return Response(status_code={"accepted": 202, "not_found": 404, "gone": 410}[outcome])

    async def _entity(self, request: Request, _public: bool) -> Response:
        entity_id = f"@{request.path_params['name'].lower()}@{request.path_params['key']}"
        if request.method == "GET":
            exists, state = self.engine.read_entity(entity_id)
            if not exists:
                return Response(status_code=404)
            return Response(content=state or "null", media_type="application/json")
        raw = (await request.body()).decode("utf-8")
        operation = request.query_params.get("op", "")
        self.engine.signal_entity(entity_id, operation, raw or None)
        return Response(status_code=202)


def _flag(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


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
