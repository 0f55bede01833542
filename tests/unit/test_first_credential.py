"""The first credential when its mail meets Graph throttling: retried as a whole only when surely unsent.

A 429 is answered before Graph processes the request, so the pass (or password) just created was seen by nobody:
the activity hands the wait to the orchestrator, whose retry creates a new pass that replaces this one. A 503 or
504 may come after the mail went out, so the event reports the credential as not delivered instead of risking a
second one in someone's mailbox. Either way the credential never appears in what the activity raises or returns.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from provisioning import first_credential
from provisioning.graph import GraphThrottled
from provisioning.notifications import Notifier
from tests.unit.test_graph import graph_error, make_harness

PASS = "Tap+Secret-42"
REQUEST: dict[str, Any] = {
    "userId": "u1",
    "employee": {"employeeId": "E1", "givenName": "Ada", "familyName": "Lovelace", "timeZone": "Europe/Berlin"},
    "userPrincipalName": "ada.lovelace@contoso.com",
    "startAt": None,
    "manager": {"displayName": "Grace Hopper", "mail": "grace.hopper@contoso.com"},
    "instanceId": "hr-wd-1",
    "recipients": "new",
    "fresh": True,
}


def tenant(mail_status: int, method: str = "tap") -> tuple[SimpleNamespace, list[httpx.Request]]:
    """A runtime whose Graph answers the protection check and the credential, and `mail_status` to every mail."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/transitiveMemberOf"):
            return httpx.Response(200, json={"value": []})
        if path.endswith("/temporaryAccessPassMethods"):
            body = {
                "id": "tap-1",
                "temporaryAccessPass": PASS,
                "startDateTime": "2026-11-30T08:00:00Z",
                "lifetimeInMinutes": 480,
                "isUsableOnce": False,
            }
            return httpx.Response(201, json=body)
        if path.endswith("/sendMail"):
            if mail_status == 202:
                return httpx.Response(202)
            return graph_error(mail_status, "TooManyRequests" if mail_status == 429 else "ServiceUnavailable")
        if request.method == "PATCH":
            return httpx.Response(204)
        return httpx.Response(404)

    harness = make_harness(answer)
    settings = SimpleNamespace(
        protected_group_ids=(),
        credential_recipient="manager",
        credential_method=method,
        tap_lifetime_minutes=480,
        default_time_zone="UTC",
        mail_sender="hr-bot@contoso.com",
        it_notify_address="it@contoso.com",
    )
    rt = SimpleNamespace(graph=harness.client, settings=settings, notifier=Notifier("it@contoso.com"))
    return rt, harness.requests


def mails(requests: list[httpx.Request]) -> list[httpx.Request]:
    return [request for request in requests if request.url.path.endswith("/sendMail")]


def test_a_mail_throttled_with_429_hands_the_whole_step_back_to_the_orchestrator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt, requests = tenant(429)
    with caplog.at_level(logging.DEBUG), pytest.raises(GraphThrottled) as raised:
        first_credential.issue(rt, REQUEST, None)  # type: ignore[arg-type]
    assert raised.value.status == 429
    assert len(mails(requests)) > 1, "Graph's own retries ran first"
    assert PASS in mails(requests)[0].content.decode()  # the pass was in the mail Graph refused...
    assert PASS not in str(raised.value) and PASS not in repr(raised.value.args)  # ...and is not in the error
    assert PASS not in caplog.text


@pytest.mark.parametrize("status", [503, 504])
def test_a_mail_that_may_have_gone_out_is_reported_not_retried(status: int) -> None:
    rt, requests = tenant(status)
    result = first_credential.issue(rt, REQUEST, None)  # type: ignore[arg-type]
    assert result["error"]["code"] == "CredentialNotDelivered"
    assert PASS not in json.dumps(result)
    assert len([r for r in requests if r.url.path.endswith("/temporaryAccessPassMethods")]) == 1


def test_a_password_whose_mail_met_429_is_set_again_on_the_retry_not_reported() -> None:
    rt, _ = tenant(429, method="password")
    with pytest.raises(GraphThrottled):
        first_credential.issue(rt, REQUEST, None)  # type: ignore[arg-type]


def test_a_delivered_pass_returns_recipient_roles_only() -> None:
    rt, requests = tenant(202)
    result = first_credential.issue(rt, REQUEST, None)  # type: ignore[arg-type]
    assert result["method"] == "tap" and result["recipients"] == ["manager"]
    assert PASS not in json.dumps(result)
    assert len(mails(requests)) == 1
