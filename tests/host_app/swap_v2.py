"""Version 2 of the same app, deployed while version 1 instances are parked at their timer: the timer
became an activity call, which replay must reject as non-deterministic."""

from __future__ import annotations

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def parked_flow(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("shout", "one")
    checked = yield context.call_activity("audit", first)
    second = yield context.call_activity("shout", "two")
    return [first, checked, second]


@app.activity_trigger(input_name="text")
def shout(text: str) -> str:
    return text.upper()


@app.activity_trigger(input_name="text")
def audit(text: str) -> str:
    return f"audited {text}"
