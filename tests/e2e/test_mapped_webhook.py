"""The mapped webhook end to end: the shipped SuccessFactors and Workday examples, posted to POST /api/hris/mapped
the way those systems would (function key in the URL, basic credentials or an HMAC signature), become accounts in
AD and Entra through the real app in the functions host and the Entra emulator. A sender that cannot prove itself
starts nothing; a broken mapping file takes down this route only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.stack import Stack
from tests.e2e import test_product as product

pytestmark = pytest.mark.e2e

start_stack = product.start_stack  # the same fixture, so every e2e test starts the product the same way

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mappings"
VAULT_HOST = "kv-hr-mapped.vault.azure.net"


def seed_person(stack: Stack, employee_id: str, user: str, name: str, **extra: Any) -> None:
    given, family = name.split(" ", 1)
    stack.entra.control.seed_user(
        "synced",
        employeeId=employee_id,
        userPrincipalName=f"{user}@contoso.com",
        mail=f"{user}@contoso.com",
        givenName=given,
        surname=family,
        displayName=name,
        **extra,
    )


def post_document(stack: Stack, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """As an HR system posts: the function key as the `code` query parameter, its own headers beside it."""
    url = f"{stack.api}/hris/mapped"
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        return client.post(
            url,
            params={"code": stack.host.function_key},
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )


def not_started(stack: Stack, event_id: str) -> bool:
    with stack.client() as client:
        return client.get(f"/hr-events/{event_id}").status_code == 404


def accounts(stack: Stack, employee_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    state = stack.entra.control.state()
    ad_user = next(user for user in state["adUsers"] if user.get("employeeId") == employee_id)
    entra_user = next(user for user in state["entraUsers"] if user.get("employeeId") == employee_id)
    return ad_user, entra_user


def test_a_successfactors_hire_with_basic_credentials(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(
        seed_manager=False,  # SuccessFactors knows Maria as 100007; AD holds one maria.schmidt (UPNs are unique)
        settings={
            "MAPPED_WEBHOOK_MAPPING_FILE": "examples/mappings/successfactors.yaml",
            "MAPPED_WEBHOOK_AUTH": "basic",
            "MAPPED_WEBHOOK_SECRET_NAME": "sf-integration-center",
            "KEY_VAULT_URL": f"https://{VAULT_HOST}/",
        },
    )
    stack.entra.control.seed_secret(VAULT_HOST, "sf-integration-center", "sfsf-ic:Integration-Center-Pa55")
    seed_person(stack, "100007", "maria.schmidt", "Maria Schmidt")
    body = (EXAMPLES / "successfactors-hire.json").read_bytes()

    def basic(credentials: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    with httpx.Client(timeout=30.0, trust_env=False) as anonymous:  # no function key: the host refuses first
        keyless = anonymous.post(f"{stack.api}/hris/mapped", content=body, headers=basic("sfsf-ic:x"))
    assert keyless.status_code == 401 and keyless.content == b""
    challenge = post_document(stack, body, {})
    assert challenge.status_code == 401 and challenge.headers["WWW-Authenticate"].startswith("Basic")
    assert post_document(stack, body, basic("sfsf-ic:guess")).status_code == 401
    assert not_started(stack, "sf-103022-20261201-1")

    accepted = post_document(stack, body, basic("sfsf-ic:Integration-Center-Pa55"))
    assert accepted.status_code == 202, accepted.text
    (started,) = accepted.json()["events"]
    assert started["eventId"] == "sf-103022-20261201-1"
    status = product.outcome(stack, started["id"])
    assert status["stage"] == "completed", status
    ad_user, entra_user = accounts(stack, "103022")
    assert status["output"]["userPrincipalName"] == entra_user["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
    assert ad_user["onPremisesSamAccountName"] == status["output"]["samAccountName"]
    assert entra_user["accountEnabled"] is True and entra_user["onPremisesSyncEnabled"] is True
    assert (entra_user["jobTitle"], entra_user["department"]) == ("Financial Analyst", "Finance")
    outbox = json.dumps(stack.entra.control.state()["outbox"])
    assert "maria.schmidt@contoso.com" in outbox  # the manager named by SuccessFactors got the welcome and pass

    resent = post_document(stack, body, basic("sfsf-ic:Integration-Center-Pa55"))
    assert resent.status_code == 200 and resent.json()["events"][0]["status"] == "completed"
    assert len(product.bulk_calls(stack.entra.control.state())) == 1


def test_workday_events_with_an_hmac_signature(start_stack: Callable[..., Stack]) -> None:
    secret = "workday-studio-" + "k" * 32
    stack = start_stack(
        settings={
            "MAPPED_WEBHOOK_MAPPING_FILE": "examples/mappings/workday.yaml",
            "MAPPED_WEBHOOK_AUTH": "hmac",
            "MAPPED_WEBHOOK_SECRET_NAME": "workday-integration",
            "KEY_VAULT_URL": f"https://{VAULT_HOST}/",
        }
    )
    stack.entra.control.seed_secret(VAULT_HOST, "workday-integration", secret)
    seed_person(stack, "21000", "ana.lopez", "Ana Lopez")
    seed_person(stack, "20999", "priya.raman", "Priya Raman", manager="21000", onPremisesSamAccountName="priya.raman")
    body = (EXAMPLES / "workday-events.json").read_bytes()

    def signature(timestamp: str, key: str = secret, content: bytes = body) -> dict[str, str]:
        digest = hmac.new(key.encode(), timestamp.encode() + b"." + content, hashlib.sha256).hexdigest()
        return {"X-HR-Timestamp": timestamp, "X-HR-Signature": f"sha256={digest}"}

    now = str(int(time.time()))
    assert post_document(stack, body, signature(now, key="forged")).status_code == 401
    assert post_document(stack, body, signature(str(int(now) - 3600))).status_code == 401
    assert post_document(stack, body + b"\n", signature(now)).status_code == 401
    assert not_started(stack, "wd-3f2a9c1d4e5f4a6b8c7d9e0f1a2b3c4d")
    assert not_started(stack, "wd-9b8a7c6d5e4f40312a1b0c9d8e7f6a5b")

    accepted = post_document(stack, body, signature(now))
    assert accepted.status_code == 202, accepted.text
    answer = accepted.json()
    assert answer["accepted"] == 2
    assert answer["skipped"] == [
        {"index": 2, "source": "Report_Entry[2]", "field": "type", "reason": "this business process changes no account"}
    ]
    hire, leaver = answer["events"]
    hired = product.outcome(stack, hire["id"])
    assert hired["stage"] == "completed", hired
    _, entra_user = accounts(stack, "21001")
    assert entra_user["userPrincipalName"] == "kai.nakamura@contoso.com" and entra_user["accountEnabled"] is True
    left = product.outcome(stack, leaver["id"])
    assert left["output"]["outcome"] == "disabled", left
    ad_user, entra_user = accounts(stack, "20999")
    assert ad_user["accountEnabled"] is False and entra_user["accountEnabled"] is False


def test_a_broken_mapping_file_stops_only_the_mapped_route(start_stack: Callable[..., Stack], tmp_path: Path) -> None:
    broken = tmp_path / "hr-mapping.yaml"
    broken.write_text(
        (EXAMPLES / "workday.yaml")
        .read_text(encoding="utf-8")
        .replace("default: {skip: this business process changes no account}", "ignoreCase: true"),
        encoding="utf-8",
    )
    stack = start_stack(settings={"MAPPED_WEBHOOK_MAPPING_FILE": str(broken)})
    refused = post_document(stack, (EXAMPLES / "workday-events.json").read_bytes(), {})
    assert refused.status_code == 503, refused.text
    problem = refused.json()
    assert problem["title"] == "Mapping file invalid"
    assert problem["errors"] == [
        {
            "field": "event.type.then[0].switch.default",
            "message": "required: what an unlisted value becomes — a value, null, {keep: true}, {skip: reason} or "
            "{reject: message}",
        }
    ]
    with stack.client() as client:
        health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["problems"] == ["the mapped webhook's mapping file is invalid"]
    assert str(broken) not in health.text, "the public verdict does not name files"
    with httpx.Client(base_url=stack.api, headers={"x-functions-key": stack.host.master_key}) as admin:
        details = admin.get("/health/details")
    assert f"{broken}: event.type.then[0].switch.default: required" in " ".join(details.json()["problems"])
    accepted = product.submit(stack, product.HIRE)  # the rest of the app works
    assert product.outcome(stack, accepted["id"])["stage"] == "completed"
