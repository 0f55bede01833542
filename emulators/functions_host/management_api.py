"""The Durable management HTTP API (`/runtime/webhooks/durabletask/...`, and the same routes under the client's
`rpcBaseUrl`), answering as the extension's `HttpApiHandler` does.

Status codes, bodies and headers follow Microsoft's "HTTP API reference" for Durable Functions and, where the
page is silent or differs, the extension's source (Azure/azure-functions-durable-extension, HttpApiHandler.cs):
errors are ASP.NET `HttpError` objects (`Message`, `ExceptionMessage`, `ExceptionType`); a state conflict the
extension meets as an InvalidOperationException answers 500, as it does there.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .engine import InstanceExistsError, UnknownFunctionError
from .history import parse_time
from .management import (
    EntityQuery,
    InstanceNotFoundError,
    InstanceQuery,
    InvalidOperationError,
    Management,
    Outcome,
    Page,
)

CONTINUATION_HEADER = "x-ms-continuation-token"
ARGUMENTS_INCORRECT = "One or more of the arguments submitted is incorrect"
SOMETHING_WENT_WRONG = "Something went wrong while processing your request"
RUNNING_RETRY_AFTER = "5"
CHECK_STATUS_RETRY_AFTER = "10"
_PAYLOAD_KEYS = (
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
)
# OrchestrationRuntimeStatus / OrchestrationStatus as Enum.TryParse reads them (names, case-sensitive, or numbers).
_STATUS_NAMES = ("Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Pending", "Suspended")
_OUTCOME_CODES = {Outcome.ACCEPTED: 202, Outcome.NOT_FOUND: 404, Outcome.GONE: 410}


def http_error(status: int, message: str, exc: BaseException | None = None, exc_type: str | None = None) -> Response:
    """An ASP.NET HttpError body, as the extension's `CreateErrorResponse` writes it."""
    body: dict[str, Any] = {"Message": message}
    if exc is not None:
        body["ExceptionMessage"] = str(exc)
        body["ExceptionType"] = exc_type or type(exc).__name__
    return JSONResponse(body, status_code=status)


class ManagementApi:
    """Request handlers over one `Management`; `payload_for` builds check-status payloads (the binding's URLs)."""

    def __init__(self, management: Management, payload_for: Callable[[str, str], dict[str, str]]) -> None:
        self.management = management
        self.payload_for = payload_for

    # ---- helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def _origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def _check_status_response(self, request: Request, instance_id: str) -> Response:
        links = self.payload_for(instance_id, self._origin(request))
        payload = {key: links[key] for key in _PAYLOAD_KEYS}
        return JSONResponse(
            payload,
            status_code=202,
            headers={"Location": payload["statusQueryGetUri"], "Retry-After": CHECK_STATUS_RETRY_AFTER},
        )

    async def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(function, *args)

    async def _page(self, lister: Callable[[Any], Page], conditions: Any) -> Response:
        """One page of a listing, with the next page's token in `x-ms-continuation-token` when there is one."""
        try:
            page = await self._call(lister, conditions)
        except ValueError as exc:
            return http_error(400, ARGUMENTS_INCORRECT, exc)
        headers = {CONTINUATION_HEADER: page.continuation} if page.continuation else {}
        return JSONResponse(page.items, headers=headers)

    # ---- orchestrators ----------------------------------------------------------------------------------------
    async def start(self, request: Request, public: bool) -> Response:
        raw = (await request.body()).decode("utf-8")
        input_text: str | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                return http_error(400, "Invalid JSON content", exc, "Newtonsoft.Json.JsonReaderException")
            # The client SDK posts its input already serialized (a JSON string holding JSON text).
            input_text = parsed if not public and isinstance(parsed, str) else raw
        name, instance_id = request.path_params["name"], request.path_params.get("instance_id") or None
        return await self._started(request, lambda: self.management.start(name, instance_id, input_text))

    async def _started(self, request: Request, start: Callable[[], str]) -> Response:
        """Run a start (or restart) and answer as the extension does, errors included."""
        try:
            instance_id = await self._call(start)
        except InstanceNotFoundError as exc:
            return http_error(
                400, "InstanceId does not match a valid orchestration instance.", exc, "System.ArgumentException"
            )
        except (UnknownFunctionError, ValueError) as exc:
            return http_error(400, ARGUMENTS_INCORRECT, exc, "System.ArgumentException")
        except InstanceExistsError as exc:
            # DTFx's OrchestrationAlreadyExistsException is not an ArgumentException: the extension answers 500.
            return http_error(
                500, SOMETHING_WENT_WRONG, exc, "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"
            )
        return await self._respond_started(request, instance_id)

    async def _respond_started(self, request: Request, instance_id: str) -> Response:
        """The check-status response, or with `timeout` and `pollingInterval` (seconds) the output once the
        instance finishes within the timeout (WaitForCompletionOrCreateCheckStatusResponse)."""
        timeout = _float(request.query_params.get("timeout"))
        interval = _float(request.query_params.get("pollingInterval"))
        if timeout is None or interval is None:
            return self._check_status_response(request, instance_id)
        if interval > timeout:
            message = f"Total timeout {timeout} should be bigger than retry timeout {interval}"
            return http_error(400, ARGUMENTS_INCORRECT, ValueError(message))
        deadline = time.monotonic() + timeout
        while True:
            status = await self._call(self.management.status, instance_id)
            if status and status["runtimeStatus"] == "Completed":
                return JSONResponse(status["output"], status_code=200)
            if status and status["runtimeStatus"] in ("Failed", "Terminated"):
                return await self.instance_status(request, instance_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._check_status_response(request, instance_id)
            await asyncio.sleep(min(interval, remaining))

    # ---- instances ----------------------------------------------------------------------------------------------
    async def instance(self, request: Request, _public: bool) -> Response:
        instance_id = request.path_params["instance_id"]
        if request.method == "DELETE":
            deleted = await self._call(self.management.purge, instance_id)
            if deleted is None:
                return Response(status_code=404)
            return JSONResponse({"instancesDeleted": deleted})
        if request.method != "GET":
            return Response(status_code=404)
        return await self.instance_status(request, instance_id)

    async def instance_status(self, request: Request, instance_id: str) -> Response:
        query = request.query_params
        status = await self._call(
            lambda: self.management.status(
                instance_id,
                show_history=_flag(query.get("showHistory"), False),
                show_input=_flag(query.get("showInput"), True),
                show_output=_flag(query.get("showHistoryOutput"), False),
            )
        )
        if status is None:
            return Response(status_code=404)
        runtime = status["runtimeStatus"]
        if runtime in ("Running", "Pending", "Suspended", "ContinuedAsNew"):
            return JSONResponse(
                status, status_code=202, headers={"Location": str(request.url), "Retry-After": RUNNING_RETRY_AFTER}
            )
        if runtime == "Failed" and _flag(query.get("returnInternalServerErrorOnFailure"), False):
            return JSONResponse(status, status_code=500)
        return JSONResponse(status, status_code=200)

    async def instances(self, request: Request, _public: bool) -> Response:
        query = request.query_params
        if request.method == "DELETE":
            created_from = _time(query.get("createdTimeFrom"))
            if created_from is None:
                return JSONResponse("Please provide value for 'createdTimeFrom' parameter.", status_code=400)
            deleted = await self._call(
                self.management.purge_by,
                created_from,
                _time(query.get("createdTimeTo")),
                _statuses(query.getlist("runtimeStatus")),
            )
            if not deleted:
                return Response(status_code=404)
            return JSONResponse({"instancesDeleted": deleted})
        if request.method != "GET":
            return Response(status_code=404)
        conditions = InstanceQuery(
            created_from=_time(query.get("createdTimeFrom")),
            created_to=_time(query.get("createdTimeTo")),
            statuses=_statuses(query.getlist("runtimeStatus")),
            prefix=query.get("instanceIdPrefix"),
            show_input=_flag(query.get("showInput"), True),
            page_size=_int(query.get("top")) or 100,
            continuation=request.headers.get(CONTINUATION_HEADER) or None,
        )
        return await self._page(self.management.query, conditions)

    async def raise_event(self, request: Request, _public: bool) -> Response:
        instance_id = request.path_params["instance_id"]
        current = await self._call(self.management.status, instance_id)
        if current is None:
            return Response(status_code=404)
        if current["runtimeStatus"] in ("Completed", "Failed", "Terminated", "Canceled"):
            return Response(status_code=410)
        if _media_type(request) != "application/json":
            return http_error(400, "Only application/json request content is supported")
        raw = (await request.body()).decode("utf-8")
        try:
            json.loads(raw)
        except ValueError as exc:
            return http_error(400, "Invalid JSON content", exc, "Newtonsoft.Json.JsonReaderException")
        outcome = await self._call(self.management.raise_event, instance_id, request.path_params["event_name"], raw)
        return Response(status_code=_OUTCOME_CODES[outcome])

    async def operation(self, request: Request, _public: bool) -> Response:
        """POST instances/{id}/{terminate|suspend|resume|rewind|restart} (operation names are case-insensitive)."""
        instance_id = request.path_params["instance_id"]
        operation = request.path_params["operation"].lower()
        reason = request.query_params.get("reason")
        if operation == "restart":
            return await self._restart(request, instance_id)
        actions = {
            "terminate": self.management.terminate,
            "suspend": self.management.suspend,
            "resume": self.management.resume,
            "rewind": self.management.rewind,
        }
        action = actions.get(operation)
        if action is None:
            return Response(status_code=404)
        try:
            outcome = await self._call(action, instance_id, reason)
        except InvalidOperationError as exc:
            return http_error(500, SOMETHING_WENT_WRONG, exc, "System.InvalidOperationException")
        return Response(status_code=_OUTCOME_CODES[outcome])

    async def _restart(self, request: Request, instance_id: str) -> Response:
        new_id = _flag(request.query_params.get("restartWithNewInstanceId"), True)
        return await self._started(request, lambda: self.management.restart(instance_id, new_id))

    # ---- entities -----------------------------------------------------------------------------------------------
    async def entities(self, request: Request, _public: bool) -> Response:
        name = request.path_params.get("name")
        key = request.path_params.get("key")
        if request.method == "GET":
            if key:
                return await self._read_entity(name or "", "" if key == "$" else key)
            return await self._list_entities(request, name)
        if request.method in ("POST", "DELETE") and name:
            return await self._signal_entity(request, name, key or "")
        return Response(status_code=404)

    async def _read_entity(self, name: str, key: str) -> Response:
        exists, state = await self._call(self.management.read_entity, name, key)
        if not exists:
            return Response(status_code=404)
        return Response(content=state or "null", media_type="application/json")

    async def _list_entities(self, request: Request, name: str | None) -> Response:
        query = request.query_params
        conditions = EntityQuery(
            name=name or None,
            last_operation_from=_time(query.get("lastOperationTimeFrom")),
            last_operation_to=_time(query.get("lastOperationTimeTo")),
            fetch_state=_flag(query.get("fetchState"), False),
            page_size=_int(query.get("top")) or 100,
            continuation=request.headers.get(CONTINUATION_HEADER) or None,
        )
        return await self._page(self.management.list_entities, conditions)

    async def _signal_entity(self, request: Request, name: str, key: str) -> Response:
        operation = "delete" if request.method == "DELETE" else request.query_params.get("op", "")
        body = await request.body()
        input_text: str | None = None
        if body:
            raw = body.decode("utf-8")
            if _media_type(request) == "application/json":
                try:
                    json.loads(raw)
                except ValueError as exc:
                    return http_error(400, f"Could not parse JSON content: {exc}")
                input_text = raw
            else:
                # Other content is the operation's input as a string.
                input_text = json.dumps(raw)
        try:
            await self._call(self.management.signal_entity, name, key, operation, input_text)
        except (UnknownFunctionError, ValueError) as exc:
            return http_error(400, str(exc))
        return Response(status_code=202)


def management_urls(base_url: str, system_key: str, hub_name: str) -> dict[str, str]:
    """The binding's `managementUrls` templates (INSTANCEID, {eventName} and {text} are placeholders)."""
    query = f"taskHub={quote(hub_name)}&connection=Storage&code={quote(system_key)}"
    instance = f"{base_url}/instances/INSTANCEID"
    return {
        "id": "INSTANCEID",
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _flag(value: str | None, default: bool) -> bool:
    """bool.TryParse: "true"/"false" in any case; anything else keeps the default."""
    text = (value or "").strip().lower()
    if text in ("true", "false"):
        return text == "true"
    return default


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float((value or "").strip())
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    """DateTime.TryParse: a value that does not parse is ignored, not an error."""
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _statuses(values: list[str]) -> set[str] | None:
    found: set[str] = set()
    for value in (part.strip() for item in values for part in item.split(",")):
        if value in _STATUS_NAMES:
            found.add(value)
        elif value.lstrip("-").isdigit() and 0 <= int(value) < len(_STATUS_NAMES):
            found.add(_STATUS_NAMES[int(value)])
    return found or None
