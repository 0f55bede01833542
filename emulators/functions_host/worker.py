"""The Python worker's side of each trigger: converters in, user code, converters out.

Everything goes through `azure.functions` converters and the SDK's own entry points, so that what an
orchestrator, activity or entity sees here is what it sees under the real Python worker.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import traceback
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from azure.functions.durable_functions import (
    ActivityTriggerConverter,
    EnitityTriggerConverter,
    OrchestrationTriggerConverter,
)
from azure.functions.meta import Datum

from .app_loader import LoadedApp

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


class AsyncRunner:
    """One event loop on its own thread for every `async def` the app defines.

    The SDK keeps a module-global aiohttp session bound to the first loop that used it, so all async
    app code (HTTP starters, async activities) must share one loop for the host's lifetime.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="functions-host-async", daemon=True)
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self.submit(coroutine).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            from azure.durable_functions.models.utils import http_utils

            self.run(http_utils._close_session())
        except Exception:  # noqa: S110 - closing a session that may never have been opened
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass
class OrchestratorReply:
    """The orchestrator's state JSON, or the crash that kept it from producing one."""

    state: dict[str, Any] | None
    crash: str | None = None


def call_orchestrator(handle: Callable[[Any], str], context: dict[str, Any]) -> OrchestratorReply:
    context_object = OrchestrationTriggerConverter.decode(
        Datum(type="string", value=json.dumps(context)), trigger_metadata=None
    )
    try:
        return OrchestratorReply(json.loads(handle(context_object)))
    except Exception as exc:
        message = str(exc)
        if OUT_OF_PROC_MARKER in message:
            return OrchestratorReply(json.loads(message.split(OUT_OF_PROC_MARKER, 1)[1]))
        return OrchestratorReply(None, crash=f"{type(exc).__name__}: {message}")


@dataclass
class ActivityResult:
    ok: bool
    result: str | None = None
    reason: str = ""
    details: str = ""


def run_activity(
    app: LoadedApp,
    name: str,
    input_text: str | None,
    overrides: dict[str, Callable[[Any], Any]],
    runner: AsyncRunner,
    *,
    client_binding: Callable[[], str] | None = None,
) -> ActivityResult:
    """Run one activity as the worker does: decode the input, call, await if needed, encode the output.

    An activity may also declare a durableClient input binding (any function type can in Azure); it gets the
    same binding JSON an HTTP starter gets.
    """
    activity = app.activities.get(name)
    override = overrides.get(name)
    if activity is None and override is None:
        return ActivityResult(ok=False, reason=app.missing_function_message(name, "activity"))
    try:
        decoded = ActivityTriggerConverter.decode(
            Datum(type="string", value=input_text or "null"), trigger_metadata=None
        )
        if override is not None:
            value = override(decoded)
        else:
            assert activity is not None
            kwargs: dict[str, Any] = {activity.trigger_param: decoded}
            if activity.client_param:
                if client_binding is None:
                    raise RuntimeError(f"activity '{name}' needs a durable client, but the host serves no client RPC")
                kwargs[activity.client_param] = client_binding()
            value = activity.user_function(**kwargs)
        if inspect.isawaitable(value):
            value = runner.run(_awaited(value))
        encoded = ActivityTriggerConverter.encode(value, expected_type=None).value
        return ActivityResult(ok=True, result=encoded)
    except Exception as exc:
        return ActivityResult(
            ok=False,
            reason=f"Activity function '{name}' failed: {type(exc).__name__}: {exc}",
            details=traceback.format_exc(),
        )


async def _awaited(value: Any) -> Any:
    return await value


@dataclass
class EntityOutcome:
    exists: bool
    state: str | None
    result: str
    is_error: bool


def run_entity_operation(
    *,
    handler: Callable[[Any], str] | None,
    entity_name: str,
    entity_key: str,
    state: str | None,
    exists: bool,
    operation: str,
    input_text: str | None,
    is_signal: bool,
    missing_message: str,
) -> EntityOutcome:
    """Run one operation (a batch of one) through the SDK's entity entry point."""
    if handler is None:
        return EntityOutcome(exists, state, json.dumps(missing_message), True)
    body = {
        "self": {"name": entity_name, "key": entity_key},
        "state": state,
        "exists": exists,
        "batch": [{"name": operation, "input": json.dumps(input_text or "null"), "isSignal": is_signal}],
    }
    context = EnitityTriggerConverter.decode(Datum(type="string", value=json.dumps(body)), trigger_metadata=None)
    try:
        reply = json.loads(handler(context))
    except Exception as exc:
        return EntityOutcome(exists, state, json.dumps(f"{type(exc).__name__}: {exc}"), True)
    outcome = reply["results"][0]
    new_exists = bool(reply.get("entityExists"))
    return EntityOutcome(
        new_exists,
        reply.get("entityState") if new_exists else None,
        outcome.get("result") or "null",
        bool(outcome.get("isError")),
    )
