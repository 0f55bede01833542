"""Our own app reproducing the documented behaviour of Microsoft's Durable Functions samples.

Written from the sample descriptions on Microsoft Learn, not copied from the samples' code. Each orchestrator
names the sample whose behaviour it reproduces; `test_samples.py` asserts the documented outputs. Importable
as `tests.conformance.host.samples_app.function_app` (in-process) and as `function_app` from this directory
(the CLI, like `func start`), so it imports nothing from the test package. Side effects an outside observer
needs (the SMS "sent", the files "backed up") go to directories named by app settings.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

CITIES = ("Tokyo", "Seattle", "London")
CHALLENGE_SECONDS = 90
CHALLENGE_ATTEMPTS = 4  # the code, then "an additional three tries"


# ---- HTTP starter (the samples' HttpStart) -------------------------------------------------------------------------
@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


# ---- function chaining (E1_HelloSequence) --------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    greetings = []
    for city in CITIES:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


# ---- fan-out/fan-in (E2_BackupSiteContent) -------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def backup_site_content(context: df.DurableOrchestrationContext):
    files = yield context.call_activity("list_files", context.get_input())
    copied = yield context.task_all([context.call_activity("copy_file", path) for path in files])
    return sum(copied)


@app.activity_trigger(input_name="root")
def list_files(root: str) -> list[str]:
    return sorted(str(path) for path in Path(root).rglob("*") if path.is_file())


@app.activity_trigger(input_name="path")
def copy_file(path: str) -> int:
    """Copies one file into BACKUP_DIR and returns its size in bytes."""
    source = Path(path)
    target = Path(os.environ["BACKUP_DIR"]) / source.name
    shutil.copyfile(source, target)
    return target.stat().st_size


# ---- human interaction with a timeout (E4_SmsPhoneVerification) ----------------------------------------------------
@app.orchestration_trigger(context_name="context")
def verify_phone(context: df.DurableOrchestrationContext):
    code = yield context.call_activity("send_sms_challenge", context.get_input())
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=CHALLENGE_SECONDS))
    verified = False
    for _ in range(CHALLENGE_ATTEMPTS):
        answer = context.wait_for_external_event("SmsChallengeResponse")
        winner = yield context.task_any([answer, deadline])
        if winner != answer:
            break
        if answer.result == code:
            verified = True
            break
    if not deadline.is_completed:
        deadline.cancel()
    return verified


@app.activity_trigger(input_name="phone")
def send_sms_challenge(phone: str) -> int:
    """Picks a four-digit code and "sends" it: the message lands in SMS_OUTBOX as <phone>.txt."""
    code = random.randint(1000, 9999)  # a sample's challenge code, as the sample picks it
    outbox = Path(os.environ["SMS_OUTBOX"])
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{phone}.txt").write_text(str(code))
    return code


# ---- monitor (E3_Monitor) ------------------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def monitor_job(context: df.DurableOrchestrationContext):
    """Polls a job's state every `interval` seconds until it is done or `expires` seconds have passed."""
    request = context.get_input()
    expiry = context.current_utc_datetime + timedelta(seconds=request["expires"])
    checks = 0
    while context.current_utc_datetime < expiry:
        checks += 1
        state = yield context.call_activity("check_job", request["job"])
        if state == "done":
            yield context.call_activity("send_alert", f"job {request['job']} is done")
            return {"outcome": "done", "checks": checks}
        context.set_custom_status({"checks": checks, "last": state})
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=request["interval"]))
    return {"outcome": "expired", "checks": checks}


@app.activity_trigger(input_name="job")
def check_job(job: str) -> str:
    """Reads JOBS_DIR/<job>: the job is done once the file says so."""
    state = Path(os.environ["JOBS_DIR"]) / job
    return state.read_text().strip() if state.exists() else "pending"


@app.activity_trigger(input_name="message")
def send_alert(message: str) -> str:
    return message


# ---- counter entity (the entities article's Counter) ---------------------------------------------------------------
@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        context.set_state(value + context.get_input())
    elif operation == "reset":
        context.set_state(0)
    elif operation == "get":
        context.set_result(value)


@app.orchestration_trigger(context_name="context")
def counter_user(context: df.DurableOrchestrationContext):
    """Signals the counter, then calls it: calls see every earlier signal from the same sender."""
    counter = df.EntityId("Counter", context.get_input())
    context.signal_entity(counter, "add", 10)
    context.signal_entity(counter, "add", 5)
    return (yield context.call_entity(counter, "get"))


# ---- sub-orchestrations (device provisioning) ----------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def provision_devices(context: df.DurableOrchestrationContext):
    devices = context.get_input()
    return (
        yield context.task_all(
            [context.call_sub_orchestrator("provision_device", device, f"device-{device}") for device in devices]
        )
    )


@app.orchestration_trigger(context_name="context")
def provision_device(context: df.DurableOrchestrationContext):
    device = context.get_input()
    key = yield context.call_activity("create_device_key", device)
    yield context.call_activity("send_device_config", {"device": device, "key": key})
    return {"device": device, "key": key, "parent": context.parent_instance_id}


@app.activity_trigger(input_name="device")
def create_device_key(device: str) -> str:
    return f"key-{device}"


@app.activity_trigger(input_name="config")
def send_device_config(config: dict[str, Any]) -> bool:
    return bool(config["key"])


# ---- custom status -------------------------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def booking_progress(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting for approval", "options": ["London", "Seattle"]})
    choice = yield context.wait_for_external_event("Approved")
    context.set_custom_status({"stage": "booked", "destination": choice})
    return f"booked {choice}"


# ---- eternal orchestration (continue-as-new) -----------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def periodic_cleanup(context: df.DurableOrchestrationContext):
    state = context.get_input()
    yield context.call_activity("clean_up", state["round"])
    if state["round"] >= state["rounds"]:
        return {"rounds": state["round"], "history_events": len(context.histories)}
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    context.continue_as_new({"round": state["round"] + 1, "rounds": state["rounds"]})
    return None


@app.activity_trigger(input_name="round_number")
def clean_up(round_number: int) -> int:
    return round_number


# ---- automatic retry on failure ------------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def retry_transient(context: df.DurableOrchestrationContext):
    request = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=request["attempts"])
    try:
        return (yield context.call_activity_with_retry("unreliable_call", options, request))
    except Exception as exc:
        return {"gave_up": str(exc).split(" \n ")[0]}


@app.activity_trigger(input_name="request")
def unreliable_call(request: dict[str, Any]) -> str:
    """Fails the first `failures` times for its key (counted in ATTEMPTS_DIR/<key>)."""
    counter = Path(os.environ["ATTEMPTS_DIR"]) / request["key"]
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt <= request["failures"]:
        raise ConnectionError(f"attempt {attempt} failed")
    return f"succeeded on attempt {attempt}"


# ---- serialized arguments (custom classes with to_json / from_json) ------------------------------------------------
class Parcel:
    """A custom type crossing the orchestration boundary through its to_json / from_json pair."""

    def __init__(self, label: str, grams: int) -> None:
        self.label = label
        self.grams = grams

    @staticmethod
    def to_json(obj: Parcel) -> str:
        return json.dumps({"label": obj.label, "grams": obj.grams})

    @staticmethod
    def from_json(text: str) -> Parcel:
        data = json.loads(text)
        return Parcel(data["label"], data["grams"])


@app.orchestration_trigger(context_name="context")
def ship_parcel(context: df.DurableOrchestrationContext):
    parcel = Parcel(context.get_input(), 250)
    weighed: Parcel = yield context.call_activity("weigh_parcel", parcel)
    return {"type": type(weighed).__name__, "label": weighed.label, "grams": weighed.grams}


@app.activity_trigger(input_name="parcel")
def weigh_parcel(parcel: Parcel) -> Parcel:
    return Parcel(parcel.label.upper(), parcel.grams + 50)


# ---- for the management API table: an instance that fails ----------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def fail_fast(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "nobody")
    raise ValueError("this orchestration always fails")
