"""Version 1 of a tiny app: an activity, then a one-hour timer, then another activity."""

from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def parked_flow(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("shout", "one")
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    second = yield context.call_activity("shout", "two")
    return [first, second]


@app.activity_trigger(input_name="text")
def shout(text: str) -> str:
    return text.upper()
