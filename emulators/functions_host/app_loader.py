"""Loads a v2-model Functions app module and sorts its functions by trigger, as the Python worker does."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from .routes import RouteTemplate

AUTH_LEVELS = ("anonymous", "function", "admin")


@dataclass
class HttpFunction:
    name: str
    route: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str
    user_function: Callable[..., Any]
    trigger_param: str
    client_param: str | None
    is_async: bool


@dataclass
class ActivityFunction:
    name: str
    user_function: Callable[..., Any]
    trigger_param: str
    is_async: bool
    client_param: str | None = None
    """Name of a durableClient input binding, when the activity also takes the Durable client."""


@dataclass
class TimerFunction:
    """A timer-triggered function. This host never fires it by schedule (the app's clock may be virtual or
    scaled); it runs when invoked through the admin API, as `POST /admin/functions/{name}` does in Azure."""

    name: str
    schedule: str
    user_function: Callable[..., Any]
    trigger_param: str
    is_async: bool
    client_param: str | None = None


@dataclass
class LoadedApp:
    """The discovered functions plus the app's host.json settings."""

    module: ModuleType
    app_root: Path
    host_config: dict[str, Any]
    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)
    entities: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    timers: dict[str, TimerFunction] = field(default_factory=dict)

    @property
    def durable_settings(self) -> dict[str, Any]:
        return dict(self.host_config.get("extensions", {}).get("durableTask", {}))

    @property
    def route_prefix(self) -> str:
        prefix = self.host_config.get("extensions", {}).get("http", {}).get("routePrefix", "api")
        return str(prefix).strip("/")

    @property
    def max_concurrent_activities(self) -> int:
        return int(self.durable_settings.get("maxConcurrentActivityFunctions", 10))

    def missing_function_message(self, name: str, kind: str) -> str:
        """The extension's message for a call to a durable function it does not know (kind: activity,
        orchestrator or entity), naming the ones it does."""
        registries: dict[str, dict[str, Any]] = {
            "activity": dict(self.activities),
            "orchestrator": dict(self.orchestrators),
            "entity": dict(self.entities),
        }
        known = registries[kind]
        message = f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. Additional info: "
        if known:
            names = "', '".join(known)
            return message + f"The following are the known {kind} functions: '{names}'."
        return message + f"No {kind} functions are currently registered!"

    def hub_name(self, environ: dict[str, str]) -> str:
        """`hubName` with `%Setting%` references resolved from app settings (default TestHubName)."""
        raw = str(self.durable_settings.get("hubName", "TestHubName"))
        if raw.startswith("%") and raw.endswith("%"):
            return environ.get(raw.strip("%"), "TestHubName") or "TestHubName"
        return raw

    def find_route(self, path: str, method: str) -> tuple[HttpFunction, dict[str, str]] | None:
        candidates: list[tuple[tuple[int, int], HttpFunction, dict[str, str]]] = []
        for function in self.http:
            params = function.route.match(path)
            if params is None:
                continue
            if function.methods is not None and method.upper() not in function.methods:
                continue
            candidates.append((function.route.specificity, function, params))
        if not candidates:
            return None
        candidates.sort(key=lambda item: item[0], reverse=True)
        return candidates[0][1], candidates[0][2]


def _import(module_name: str, fresh: bool) -> ModuleType:
    if fresh and module_name in sys.modules:
        del sys.modules[module_name]
    return importlib.import_module(module_name)


def _find_function_app(module: ModuleType) -> func.FunctionRegister:
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise ValueError(f"module '{module.__name__}' defines no FunctionApp / DFApp")


def _read_host_json(app_root: Path) -> dict[str, Any]:
    candidate = app_root / "host.json"
    if candidate.is_file():
        return dict(json.loads(candidate.read_text(encoding="utf-8")))
    return {}


def load_app(module_name: str, *, fresh: bool = True) -> LoadedApp:
    """Import `module_name` (importable from sys.path) and discover its functions.

    `fresh` re-imports the module so that two hosts in one process never share decorator state, and
    so a test can swap an app's code between two host runs on the same state directory.
    """
    module = _import(module_name, fresh)
    app_root = Path(module.__file__ or ".").resolve().parent
    loaded = LoadedApp(module=module, app_root=app_root, host_config=_read_host_json(app_root))
    app = _find_function_app(module)
    # get_functions() caches names and refuses a second call on the same app unless this is reset.
    app.functions_bindings = None
    for function in app.get_functions():
        _register(loaded, function)
    return loaded


# The trigger binding property that names a durable function, when it is registered under another name than
# the Python function's (ActivityTriggerAttribute.Activity, OrchestrationTriggerAttribute.Orchestration,
# EntityTriggerAttribute.EntityName in the extension, which take priority over the function name).
_DURABLE_NAME_PROPERTY = {
    "orchestrationTrigger": "orchestration",
    "activityTrigger": "activity",
    "entityTrigger": "entityName",
}


def _durable_name(function_name: str, trigger_binding: dict[str, Any]) -> str:
    explicit = trigger_binding.get(_DURABLE_NAME_PROPERTY.get(trigger_binding["type"], ""))
    return str(explicit) if explicit else function_name


def _claim(registry: dict[str, Any], name: str, kind: str, function_name: str) -> None:
    if name in registry:
        raise ValueError(f"two {kind} functions are registered as '{name}' (the second is '{function_name}')")


def _register(loaded: LoadedApp, function: Any) -> None:
    function_name: str = function.get_function_name()
    trigger = function.get_trigger()
    user_function = function.get_user_function()
    bindings = json.loads(function.get_function_json())["bindings"]
    trigger_type = trigger.type
    trigger_binding = next((b for b in bindings if b["type"] == trigger_type), {"type": trigger_type})
    name = _durable_name(function_name, trigger_binding)
    if trigger_type == "orchestrationTrigger":
        _claim(loaded.orchestrators, name, "orchestrator", function_name)
        loaded.orchestrators[name] = user_function
    elif trigger_type == "activityTrigger":
        _claim(loaded.activities, name, "activity", function_name)
        loaded.activities[name] = ActivityFunction(
            name=name,
            user_function=user_function,
            trigger_param=trigger.name,
            is_async=inspect.iscoroutinefunction(user_function),
            client_param=next((b["name"] for b in bindings if b["type"] == "durableClient"), None),
        )
    elif trigger_type == "entityTrigger":
        _claim(loaded.entities, name.lower(), "entity", function_name)
        loaded.entities[name.lower()] = user_function
    elif trigger_type == "httpTrigger":
        http_binding = next(b for b in bindings if b["type"] == "httpTrigger")
        client = next((b["name"] for b in bindings if b["type"] == "durableClient"), None)
        unsupported = [b["type"] for b in bindings if b["type"] not in ("httpTrigger", "durableClient", "http")]
        if unsupported:
            raise ValueError(f"function '{name}' uses binding types this host does not emulate: {unsupported}")
        methods = http_binding.get("methods")
        auth = str(http_binding.get("authLevel", "FUNCTION")).lower()
        if auth not in AUTH_LEVELS:
            raise ValueError(f"function '{name}' has unknown auth level {auth!r}")
        loaded.http.append(
            HttpFunction(
                name=name,
                route=RouteTemplate(http_binding.get("route") or name),
                methods=frozenset(str(m).upper() for m in methods) if methods else None,
                auth_level=auth,
                user_function=user_function,
                trigger_param=http_binding["name"],
                client_param=client,
                is_async=inspect.iscoroutinefunction(user_function),
            )
        )
    elif trigger_type == "timerTrigger":
        unsupported = [b["type"] for b in bindings if b["type"] not in ("timerTrigger", "durableClient")]
        if unsupported:
            raise ValueError(f"function '{name}' uses binding types this host does not emulate: {unsupported}")
        loaded.timers[name] = TimerFunction(
            name=name,
            schedule=str(next(b for b in bindings if b["type"] == "timerTrigger").get("schedule", "")),
            user_function=user_function,
            trigger_param=trigger.name,
            is_async=inspect.iscoroutinefunction(user_function),
            client_param=next((b["name"] for b in bindings if b["type"] == "durableClient"), None),
        )
    else:
        raise ValueError(f"function '{name}' has trigger type '{trigger_type}', which this host does not run")
