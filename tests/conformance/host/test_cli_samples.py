"""Two samples run the way their articles run them: `python -m emulators.functions_host` serving the app, driven
over HTTP only (the starter, the 202 + Location polling of "Async operation tracking", the raise-event webhook).

Sources: learn.microsoft.com/azure/azure-functions/durable/ durable-functions-http-features#async-operation-tracking,
durable-functions-sequence, durable-functions-phone-verification.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.fixtures.functions_host import wait_until

SAMPLES_DIR = Path(__file__).resolve().parent / "samples_app"


def _follow(location: str, timeout: float = 30.0) -> httpx.Response:
    """The client side of the polling consumer pattern: GET the Location while it answers 202."""

    def finished() -> httpx.Response | None:
        response = httpx.get(location, timeout=10, trust_env=False)
        if response.status_code == 202:
            assert response.headers["location"] and response.headers["retry-after"] == "5"
            return None
        return response

    return wait_until(finished, timeout, f"{location} to stop answering 202")


def test_samples_over_http_against_the_cli_host(functions_host_process, tmp_path):
    outbox = tmp_path / "outbox"
    host = functions_host_process(app_dir=SAMPLES_DIR, env={"SMS_OUTBOX": str(outbox)})
    with host.client() as api:
        started = api.post("/orchestrators/hello_sequence")
        assert started.status_code == 202
        assert started.headers["location"] == started.json()["statusQueryGetUri"]
        done = _follow(started.headers["location"])
        assert (done.status_code, done.json()["output"]) == (200, ["Hello Tokyo!", "Hello Seattle!", "Hello London!"])

        phone = "+14255550199"
        verification = api.post("/orchestrators/verify_phone", json=phone).json()
        sms = outbox / f"{phone}.txt"
        code = wait_until(lambda: sms.exists() and sms.read_text(), 30, "the SMS with the code")
        answer = verification["sendEventPostUri"].replace("{eventName}", "SmsChallengeResponse")
        sent = httpx.post(answer, content=code, headers={"content-type": "application/json"}, trust_env=False)
        assert sent.status_code == 202
        verified = _follow(verification["statusQueryGetUri"])
        assert (verified.status_code, verified.json()["output"], verified.json()["input"]) == (200, True, phone)
        history = httpx.get(
            verification["statusQueryGetUri"] + "&showHistory=true", timeout=10, trust_env=False
        ).json()["historyEvents"]
        assert [row["EventType"] for row in history].count("EventRaised") == 1
        assert json.loads(next(row for row in history if row["EventType"] == "EventRaised")["Input"]) == int(code)
    assert host.stop() == 0
