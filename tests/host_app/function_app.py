"""Test app for the functions host emulator: one function per host behaviour worth proving.

Importable both as `tests.host_app.function_app` (in-process tests) and as `function_app` from this
directory (the CLI, like `func start`), so it imports nothing from the test package.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("host_app")

_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()
TERMINAL = {"Completed", "Failed", "Terminated"}


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


# ---- HTTP -------------------------------------------------------------------------------------------------
@app.route(route="start/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starter: with or without an instance id, answering with the check-status payload."""
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], req.route_params.get("instance_id"), payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="singleton/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def singleton(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The documented singleton pattern: start only when no instance with that id is running."""
    instance_id = req.route_params["instance_id"]
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status and existing.runtime_status.value not in TERMINAL:
        return _json({"started": False, "status": existing.runtime_status.value}, 409)
    await client.start_new("wait_for_approval", instance_id, {"who": instance_id})
    return _json({"started": True}, 202)


@app.route(route="client/{op}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Drives the real DurableOrchestrationClient against the host's RPC endpoints."""
    op = req.route_params["op"]
    args = req.get_json() if req.get_body() else {}
    if op == "start_raw":
        try:
            instance_id = await client.start_new(args["name"], args.get("instance_id"), args.get("input"))
        except Exception as exc:
            return _json({"error": str(exc)}, 409)
        return _json({"id": instance_id})
    if op == "status":
        status = await client.get_status(
            args["id"],
            show_history=args.get("history", False),
            show_history_output=args.get("history", False),
            show_input=True,
        )
        if not status:
            return _json({"exists": False})
        return _json(
            {
                "exists": True,
                "runtimeStatus": status.runtime_status.value,
                "output": status.output,
                "input": status.input_,
                "customStatus": status.custom_status,
                "history": getattr(status, "historyEvents", None),
            }
        )
    if op == "query":
        statuses = [df.OrchestrationRuntimeStatus(s) for s in args.get("runtime_status", [])] or None
        created_from = datetime.fromisoformat(args["from"]) if args.get("from") else None
        found = await client.get_status_by(
            created_time_from=created_from, runtime_status=statuses, instance_id_prefix=args.get("prefix")
        )
        return _json(sorted(s.instance_id for s in found))
    if op == "query_all":
        return _json(sorted(s.instance_id for s in await client.get_status_all()))
    if op == "raise":
        await client.raise_event(args["id"], args["event"], args.get("data"))
        return _json({"raised": True})
    if op == "terminate":
        await client.terminate(args["id"], args.get("reason", "stopped"))
        return _json({"terminated": True})
    if op == "purge":
        result = await client.purge_instance_history(args["id"])
        return _json({"deleted": result.instances_deleted})
    if op == "purge_by":
        statuses = [df.OrchestrationRuntimeStatus(s) for s in args.get("runtime_status", [])] or None
        result = await client.purge_instance_history_by(
            created_time_from=datetime.fromisoformat(args["from"]), runtime_status=statuses
        )
        return _json({"deleted": result.instances_deleted})
    if op == "entity_read":
        state = await client.read_entity_state(df.EntityId("Counter", args["key"]))
        return _json({"exists": state.entity_exists, "state": state.entity_state})
    if op == "entity_signal":
        await client.signal_entity(df.EntityId("Counter", args["key"]), args["operation"], args.get("input"))
        return _json({"signalled": True})
    return await _lifecycle_op(client, op, args)


async def _lifecycle_op(client: df.DurableOrchestrationClient, op: str, args: dict) -> func.HttpResponse:
    """suspend / resume / restart / rewind through the client; an SDK exception comes back as its text."""
    try:
        if op == "suspend":
            await client.suspend(args["id"], args.get("reason", "paused"))
            return _json({"suspended": True})
        if op == "resume":
            await client.resume(args["id"], args.get("reason", "resumed"))
            return _json({"resumed": True})
        if op == "restart":
            return _json({"restarted": await client.restart(args["id"], args.get("new_id", True))})
        if op == "rewind":
            await client.rewind(args["id"], args.get("reason", "fixed"))
            return _json({"rewound": True})
    except Exception as exc:
        return _json({"error": str(exc)}, 409)
    return _json({"error": f"unknown op {op}"}, 400)


@app.route(route="echo/{id:int}/{rest?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def inspect_request(req: func.HttpRequest) -> func.HttpResponse:
    """Shows what the host put into func.HttpRequest."""
    log.info("echo called with id %s", req.route_params.get("id"))
    return func.HttpResponse(
        json.dumps(
            {
                "method": req.method,
                "url": req.url,
                "route": dict(req.route_params),
                "params": dict(req.params),
                "header": req.headers.get("x-custom"),
                "body": req.get_body().decode(),
            }
        ),
        status_code=201,
        headers={"x-echo": "yes"},
        mimetype="application/json",
    )


@app.route(route="admin/ping", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_ping(req: func.HttpRequest) -> str:
    return "pong"


@app.route(route="broken", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def broken(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("this function always fails")


@app.route(route="settings/{name}", methods=["GET"])
def settings(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"value": os.environ.get(req.route_params["name"])})


# ---- orchestrators ------------------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def sequence_flow(context: df.DurableOrchestrationContext):
    """N activity steps in a row: the throughput and crash/resume workhorse."""
    args = context.get_input() or {}
    results = []
    for index in range(int(args.get("steps", 3))):
        results.append(
            (
                yield context.call_activity(
                    "step", {"i": index, "tag": args.get("tag", context.instance_id), "sleep": args.get("sleep", 0)}
                )
            )
        )
    return results


@app.orchestration_trigger(context_name="context")
def fan_flow(context: df.DurableOrchestrationContext):
    """WhenAll over several activities, then WhenAny of an activity against a cancelled timer."""
    doubled = yield context.task_all([context.call_activity("double", n) for n in range(4)])
    deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    quick = context.call_activity("echo", "fast")
    winner = yield context.task_any([quick, deadline])
    if winner == quick:
        deadline.cancel()
    return {"doubled": doubled, "winner": "activity" if winner == quick else "timer", "value": winner.result}


@app.orchestration_trigger(context_name="context")
def fan_fail_flow(context: df.DurableOrchestrationContext):
    """WhenAll where one child fails: the host still waits for every child before anything else runs."""
    try:
        yield context.task_all(
            [context.call_activity("step", {"i": 1, "sleep": 0.2}), context.call_activity("explode", "boom")]
        )
    except Exception as exc:
        cleanup = yield context.call_activity("echo", "cleanup")
        return {"caught": "explode" in str(exc), "cleanup": cleanup}
    return {"caught": False}


@app.orchestration_trigger(context_name="context")
def race_timer_flow(context: df.DurableOrchestrationContext):
    """WhenAny where the timer wins (the event never comes)."""
    timeout = context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timeout])
    return "approved" if winner == approval else "timed out"


@app.orchestration_trigger(context_name="context")
def retry_flow(context: df.DurableOrchestrationContext):
    args = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=args["attempts"])
    try:
        result = yield context.call_activity_with_retry("flaky", options, args)
    except Exception as exc:
        result = f"gave up: {'still failing' in str(exc)}"
    after = yield context.call_activity("echo", "after")
    return {"result": result, "after": after}


@app.orchestration_trigger(context_name="context")
def long_timer_flow(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(days=7))
    return {"started": started.isoformat(), "woke": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def parent_flow(context: df.DurableOrchestrationContext):
    named = yield context.call_sub_orchestrator("child_flow", 5, instance_id=f"{context.instance_id}-named")
    unnamed = yield context.call_sub_orchestrator("child_flow", 7)
    try:
        yield context.call_sub_orchestrator("child_flow", -1)
        failed = "no"
    except Exception as exc:
        failed = "negative" in str(exc)
    return {"named": named, "unnamed": unnamed, "child_failure_seen": failed}


@app.orchestration_trigger(context_name="context")
def child_flow(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value < 0:
        raise ValueError("negative input")
    return (yield context.call_activity("double", value))


@app.orchestration_trigger(context_name="context")
def wait_for_approval(context: df.DurableOrchestrationContext):
    """An activity first, then two events: one may arrive before the wait starts."""
    yield context.call_activity("echo", "prepare")
    first = yield context.wait_for_external_event("Approval")
    second = yield context.wait_for_external_event("Confirm")
    return {"approval": first, "confirm": second}


@app.orchestration_trigger(context_name="context")
def counter_flow(context: df.DurableOrchestrationContext):
    """continue_as_new until the count reaches the limit; history restarts each time."""
    state = context.get_input()
    context.set_custom_status({"count": state["count"]})
    if state["count"] < state["limit"]:
        yield context.call_activity("echo", state["count"])
        context.continue_as_new({"count": state["count"] + 1, "limit": state["limit"]})
        return None
    return {"final": state["count"], "history_events": len(context.histories)}


@app.orchestration_trigger(context_name="context")
def status_flow(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting", "blob": "x" * context.get_input()})
    yield context.wait_for_external_event("Go")
    return "done"


@app.orchestration_trigger(context_name="context")
def failing_flow(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", "before")
    raise ValueError("the orchestrator gave up")


@app.orchestration_trigger(context_name="context")
def entity_flow(context: df.DurableOrchestrationContext):
    counter = df.EntityId("Counter", context.get_input())
    context.signal_entity(counter, "add", 2)
    after_add = yield context.call_entity(counter, "add", 5)
    value = yield context.call_entity(counter, "get")
    try:
        yield context.call_entity(counter, "explode")
        error = None
    except Exception as exc:
        error = str(exc)
    return {"after_add": after_add, "value": value, "error": error}


@app.orchestration_trigger(context_name="context")
def strict_flow(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("echo", str(uuid.uuid4()))
    second = yield context.call_activity("echo", "second")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def logging_flow(context: df.DurableOrchestrationContext):
    if not context.is_replaying:
        logging.getLogger("host_app").info("orchestrator logging for %s", context.instance_id)
    return (yield context.call_activity("log_it", "activity says hello"))


@app.orchestration_trigger(context_name="context", orchestration="renamed_flow")
def renamed_orchestrator(context: df.DurableOrchestrationContext):
    """Registered as 'renamed_flow'; calls an activity by its registered name, then by its Python name."""
    loud = yield context.call_activity("shout_renamed", context.get_input())
    try:
        yield context.call_activity("shout_impl", "by function name")
        python_name = "callable"
    except Exception as exc:
        python_name = str(exc).split(" \n ")[0]
    context.signal_entity(df.EntityId("Tally", "renamed"), "add", 1)
    return {"loud": loud, "python_name": python_name}


@app.orchestration_trigger(context_name="context")
def rewind_flow(context: df.DurableOrchestrationContext):
    """An activity that succeeds, then one that fails until told otherwise: fails, and can be rewound."""
    first = yield context.call_activity("echo", "kept")
    second = yield context.call_activity("flaky", context.get_input())
    return [first, second]


@app.orchestration_trigger(context_name="context")
def rewind_parent_flow(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("rewind_flow", context.get_input(), f"{context.instance_id}-child")
    return {"child": child}


@app.orchestration_trigger(context_name="context")
def http_flow(context: df.DurableOrchestrationContext):
    """One durable HTTP call described by the input; returns the response the host hands back."""
    request = context.get_input()
    source = df.ManagedIdentityTokenSource(request["resource"]) if request.get("resource") else None
    return (
        yield context.call_http(
            request.get("method", "GET"),
            request["url"],
            content=request.get("content"),
            headers=request.get("headers"),
            token_source=source,
        )
    )


@app.orchestration_trigger(context_name="context")
def http_poll_flow(context: df.DurableOrchestrationContext):
    """The asynchronous HTTP pattern done by the orchestrator, as Python has to (202 handling is .NET only):
    follow Location after Retry-After until the answer is not 202."""
    response = yield context.call_http("POST", context.get_input())
    polls = 0
    while response["statusCode"] == 202 and "Location" in response["headers"]:
        wait = int(response["headers"].get("Retry-After", "1"))
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=wait))
        response = yield context.call_http("GET", response["headers"]["Location"])
        polls += 1
    return {"polls": polls, "statusCode": response["statusCode"], "content": response["content"]}


# ---- activities -----------------------------------------------------------------------------------------------
@app.activity_trigger(input_name="payload")
def step(payload: dict) -> int:
    """One unit of work; records its execution in SIDE_EFFECT_FILE so tests can count runs."""
    if payload.get("sleep"):
        time.sleep(float(payload["sleep"]))
    marker = os.environ.get("SIDE_EFFECT_FILE")
    if marker:
        with open(marker, "a", encoding="utf-8") as handle:
            handle.write(f"{payload.get('tag')}:{payload['i']}\n")
    return int(payload["i"]) * 10


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="value")
def explode(value: str) -> None:
    raise RuntimeError(f"explode: {value}")


@app.activity_trigger(input_name="args")
def flaky(args: dict) -> str:
    with _attempts_lock:
        _attempts[args["key"]] = _attempts.get(args["key"], 0) + 1
        attempt = _attempts[args["key"]]
    if attempt <= args["fail_times"]:
        raise ConnectionError(f"still failing (attempt {attempt})")
    return f"ok after {attempt}"


@app.activity_trigger(input_name="message")
def log_it(message: str) -> str:
    logging.getLogger("host_app").info("activity log: %s", message)
    return message


@app.activity_trigger(input_name="text", activity="shout_renamed")
def shout_impl(text: str) -> str:
    """Registered as 'shout_renamed' (the activity property wins over the function name, as in the extension)."""
    return text.upper()


# ---- entities -------------------------------------------------------------------------------------------------
@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
        context.set_result(value)
    elif operation == "get":
        context.set_result(value)
    elif operation == "delete":
        context.destruct_on_exit()
    elif operation == "remember":
        context.set_state(context.get_input())
    elif operation == "explode":
        raise ValueError("counter cannot explode")


@app.entity_trigger(context_name="context", entity_name="Tally")
def tally_impl(context: df.DurableEntityContext) -> None:
    """Registered as 'Tally'."""
    context.set_state(context.get_state(lambda: 0) + context.get_input())
