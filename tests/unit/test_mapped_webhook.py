"""POST /api/hris/mapped through its real handler, with stand-ins only at the edges (Durable client, Key Vault):
the sender checks (HMAC, token, basic) refuse with 401 and start nothing, a broken mapping file answers 503 and
shows in /api/health without stopping anything else, and a document starts its events all or not at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from provisioning import runtime
from provisioning.intake import mapped
from provisioning.settings import Settings, SettingsError
from provisioning.workflows import contracts as c
from tests.unit.test_openapi import (
    REQUIRED_SETTINGS,
    FakeDurableClient,
    FakeSecrets,
    _call,
    _request,
    _runtime,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "mappings"
VAULT = "https://kv-hr.vault.azure.net/"
SECRET = "mapped-webhook-key-" + "7" * 24
NOW = 1_796_000_000

ROWS_MAPPING = """
records: $.rows[*]
event:
  eventId: $.id
  type: {path: $.kind, then: [{switch: {cases: {pay: {skip: pay changes change no account}}, default: {keep: true}}}]}
  effectiveDate: {path: $.day, ignoreIfEmpty: true}
  employee:
    employeeId: $.emp
    givenName: {path: $.first, ignoreIfEmpty: true}
    familyName: {path: $.last, ignoreIfEmpty: true}
"""


def row(index: int, **changes: Any) -> dict[str, Any]:
    return {"id": f"ev-{index}", "kind": "update", "emp": f"E{index}", **changes}


@pytest.fixture
def hire() -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / "successfactors-hire.json").read_text(encoding="utf-8")))


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Run the handler with these settings (and Key Vault secrets); returns the validated settings."""
    monkeypatch.setattr(mapped, "clock", lambda: float(NOW))

    def configure(secrets: dict[str, str] | None = None, **overrides: str) -> Settings:
        settings = Settings.from_env({**REQUIRED_SETTINGS, **overrides})
        rt = _runtime(settings, secrets=FakeSecrets(secrets) if secrets is not None else None)
        monkeypatch.setattr(runtime, "current", lambda: rt)
        return settings

    yield configure


def post(
    client: FakeDurableClient, body: object = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return _call("mapped_webhook", _request("POST", "hris/mapped", body, raw=raw, headers=headers or {}), client)


def answer(response: func.HttpResponse) -> dict[str, Any]:
    return dict(json.loads(response.get_body()))


def signed(body: bytes, timestamp: int = NOW, key: str = SECRET) -> str:
    return hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sf_settings(**overrides: str) -> dict[str, str]:
    return {"MAPPED_WEBHOOK_MAPPING_FILE": str(EXAMPLES / "successfactors.yaml"), **overrides}


# -- the happy path ----------------------------------------------------------------------------------------------


def test_a_hire_starts_like_post_hr_events(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use(**sf_settings())
    client = FakeDurableClient()
    response = post(client, hire)
    assert response.status_code == 202
    body = answer(response)
    assert body == {
        "accepted": 1,
        "events": [
            {
                "index": 0,
                "source": "body",
                "id": "hr-sf-103022-20261201-1",
                "eventId": "sf-103022-20261201-1",
                "status": "accepted",
                "statusUrl": "https://contoso-hr.azurewebsites.net/api/hr-events/hr-sf-103022-20261201-1",
            }
        ],
        "skipped": [],
    }
    ((name, instance_id, payload),) = client.started
    assert (name, instance_id) == (c.HR_EVENT, "hr-sf-103022-20261201-1")
    assert payload["event"]["employee"]["givenName"] == "Zoë"
    assert payload["options"] == c.WorkflowOptions.from_dict(payload["options"]).to_dict()

    again = post(client, hire)  # the HR system retries: same eventId, nothing new
    assert again.status_code == 200 and answer(again)["accepted"] == 0
    assert len(client.started) == 1
    client.put("hr-sf-103022-20261201-1", "Failed", output="boom")  # only a failed event may run again
    assert post(client, hire).status_code == 202 and len(client.started) == 2


def test_a_document_starts_all_its_events_or_none(tmp_path: Path, use: Callable[..., Settings]) -> None:
    file = tmp_path / "rows.yaml"
    file.write_text(ROWS_MAPPING, encoding="utf-8")
    use(MAPPED_WEBHOOK_MAPPING_FILE=str(file))
    client = FakeDurableClient()

    rows = [row(i) for i in range(30)] + [row(30, kind="pay")]
    response = post(client, {"rows": rows})
    assert response.status_code == 202
    body = answer(response)
    assert body["accepted"] == 30 and len(client.started) == 30
    assert body["skipped"] == [
        {"index": 30, "source": "rows[30]", "field": "type", "reason": "pay changes change no account"}
    ]

    broken = [row(100), row(101, kind="hire", day="2026-12-01", first="A"), row(102, emp="E 102")]
    refused = post(client, {"rows": broken})
    assert refused.status_code == 400 and len(client.started) == 30
    problem = answer(refused)
    assert problem["title"] == "Invalid HR event"
    assert sorted((error["field"], error["message"]) for error in problem["errors"]) == [
        ("rows[1]", "employee.familyName: required for a hire event"),
        ("rows[2].emp", "employee.employeeId: must be 1-16 characters of A-Z, a-z, 0-9, '_' or '-'"),
    ]

    only_skipped = post(client, {"rows": [row(200, kind="pay")]})
    assert only_skipped.status_code == 200 and answer(only_skipped)["accepted"] == 0

    too_many = post(client, {"rows": [row(i) for i in range(1001)]})
    assert too_many.status_code == 413 and len(client.started) == 30


def test_documents_that_do_not_fit(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use(**sf_settings())
    client = FakeDurableClient()
    hire["employeeEvent"]["jobInfo"]["countryOfCompany"] = "BRA"
    del hire["employeeEvent"]["personalInfo"]["firstName"]
    response = post(client, hire)
    assert response.status_code == 400
    problem = answer(response)
    assert problem["title"] == "Document does not fit the mapping"
    assert [(error["field"], error["message"]) for error in problem["errors"]] == [
        (
            "body",
            "employee.givenName: $.employeeEvent.personalInfo.firstName is not in the document (add ignoreIfEmpty: "
            "true or a default if the sender leaves it out)",
        ),
        (
            "employeeEvent.jobInfo.countryOfCompany",
            "employee.country: no ISO 3166 alpha-2 code for this countryOfCompany; add it to the switch (value 'BRA')",
        ),
        (
            "employeeEvent.jobInfo.countryOfCompany",
            "employee.usageLocation: no ISO 3166 alpha-2 code for this countryOfCompany; add it to the switch "
            "(value 'BRA')",
        ),
    ]
    for raw, status in [(b"[1, 2", 400), (b'"text"', 400), (b"\xff", 400)]:
        assert post(client, raw=raw).status_code == status
    assert client.started == []


def test_off_unless_a_mapping_file_is_set(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use()
    response = post(FakeDurableClient(), hire)
    assert response.status_code == 404
    assert "MAPPED_WEBHOOK_MAPPING_FILE" in answer(response)["detail"]


def test_invalid_settings_are_a_503(monkeypatch: pytest.MonkeyPatch, hire: dict[str, Any]) -> None:
    def broken() -> Any:
        raise SettingsError(["UPN_DOMAIN: required"])

    monkeypatch.setattr(runtime, "current", broken)
    assert post(FakeDurableClient(), hire).status_code == 503


# -- a broken mapping file ---------------------------------------------------------------------------------------


def test_a_broken_mapping_file_is_a_503_here_and_in_health(
    tmp_path: Path, use: Callable[..., Settings], hire: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "hr.yaml"
    file.write_text(
        (EXAMPLES / "successfactors.yaml")
        .read_text(encoding="utf-8")
        .replace("default: {keep: true}", "ignoreCase: true", 1)
    )
    settings = use(MAPPED_WEBHOOK_MAPPING_FILE=str(file))
    client = FakeDurableClient()
    response = post(client, hire)
    assert response.status_code == 503
    problem = answer(response)
    assert problem["title"] == "Mapping file invalid" and str(file) in problem["detail"]
    assert problem["errors"] == [
        {
            "field": "event.employee.employeeType.then[0].switch.default",
            "message": "required: what an unlisted value becomes — a value, null, {keep: true}, {skip: reason} or "
            "{reject: message}",
        }
    ]
    for name, value in {**REQUIRED_SETTINGS, "MAPPED_WEBHOOK_MAPPING_FILE": str(file)}.items():
        monkeypatch.setenv(name, value)  # /api/health validates the settings from the environment itself
    health = _call("health", _request("GET", "health"))
    assert health.status_code == 503
    assert "the mapped webhook's mapping file is invalid" in answer(health)["problems"]  # the public verdict
    details = _call("health_details", _request("GET", "health/details"))  # the admin key's view
    assert f"{file}: event.employee.employeeType.then[0].switch.default: required" in " ".join(
        answer(details)["problems"]
    )
    assert settings.mapped_webhook_mapping_file == str(file)

    file.write_text((EXAMPLES / "successfactors.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert post(client, hire).status_code == 202  # fixed: picked up without a restart

    (tmp_path / "hr.yaml").unlink()
    assert "cannot be read" in answer(post(client, hire))["errors"][0]["message"]


def test_startup_logs_what_is_wrong_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provisioning.intake.mapped")
    monkeypatch.delenv("MAPPED_WEBHOOK_MAPPING_FILE", raising=False)
    mapped.check_mapping_at_startup()
    assert caplog.records == []
    file = tmp_path / "broken.json"
    file.write_text('{"event": {"eventId": "id"}}', encoding="utf-8")
    monkeypatch.setenv("MAPPED_WEBHOOK_MAPPING_FILE", str(file))
    mapped.check_mapping_at_startup()
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(f"mapping file problem: {file}: event.eventId: 'id' is not a JSONPath" in line for line in errors)
    assert len(errors) == 3  # eventId, type, employee
    monkeypatch.setenv("MAPPED_WEBHOOK_MAPPING_FILE", "examples/mappings/workday.yaml")
    mapped.check_mapping_at_startup()
    assert "mapping file examples/mappings/workday.yaml loaded" in caplog.records[-1].getMessage()


# -- the sender --------------------------------------------------------------------------------------------------


def hmac_settings(**overrides: str) -> dict[str, str]:
    return sf_settings(
        MAPPED_WEBHOOK_AUTH="hmac", MAPPED_WEBHOOK_SECRET_NAME="hr-mapped", KEY_VAULT_URL=VAULT, **overrides
    )


def test_hmac_signatures(use: Callable[..., Settings], hire: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    use({"hr-mapped": SECRET}, **hmac_settings())
    client = FakeDurableClient()
    body = json.dumps(hire).encode()
    digest = signed(body)

    def attempt(headers: dict[str, str], content: bytes = body) -> int:
        return post(client, raw=content, headers=headers).status_code

    stamp = str(NOW)
    refused = {
        "missing": {},
        "no timestamp": {"X-HR-Signature": digest},
        "no signature": {"X-HR-Timestamp": stamp},
        "other key": {"X-HR-Timestamp": stamp, "X-HR-Signature": signed(body, key="guess")},
        "stale": {"X-HR-Timestamp": str(NOW - 301), "X-HR-Signature": signed(body, NOW - 301)},
        "future": {"X-HR-Timestamp": str(NOW + 301), "X-HR-Signature": signed(body, NOW + 301)},
        "other moment": {"X-HR-Timestamp": str(NOW + 1), "X-HR-Signature": digest},
        "not digits": {"X-HR-Timestamp": "17960000²0", "X-HR-Signature": digest},
        "milliseconds": {"X-HR-Timestamp": "1796000000000000", "X-HR-Signature": digest},
        "not hex": {"X-HR-Timestamp": stamp, "X-HR-Signature": "z" * 64},
        "short": {"X-HR-Timestamp": stamp, "X-HR-Signature": digest[:-2]},
    }
    for case, headers in refused.items():
        assert attempt(headers) == 401, case
    assert attempt({"X-HR-Timestamp": stamp, "X-HR-Signature": digest}, body + b" ") == 401  # tampered body
    assert client.started == []
    assert all(SECRET not in record.getMessage() for record in caplog.records)

    forms = {
        "hex": digest,
        "prefixed, upper case": "SHA256=" + digest.upper(),
        "base64": base64.b64encode(bytes.fromhex(digest)).decode(),
        "within the window": signed(body, NOW - 299),
    }
    for case, signature in forms.items():
        when = str(NOW - 299) if case == "within the window" else stamp
        assert attempt({"X-HR-Timestamp": when, "X-HR-Signature": signature}) in (200, 202), case
    assert len(client.started) == 1  # the same eventId each time: one run

    problem = answer(post(client, raw=body, headers={"X-HR-Timestamp": str(NOW - 301), "X-HR-Signature": digest}))
    assert problem == {
        "type": "about:blank",
        "title": "Sender not verified",
        "status": 401,
        "detail": "X-HR-Timestamp is outside the ±300 s window",
        "errors": [],
    }


def test_hmac_with_the_senders_own_header_names(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use(
        {"hr-mapped": SECRET},
        **hmac_settings(
            MAPPED_WEBHOOK_SIGNATURE_HEADER="X-Signature",
            MAPPED_WEBHOOK_TIMESTAMP_HEADER="X-Request-Timestamp",
            SIGNATURE_TOLERANCE_SECONDS="60",
        ),
    )
    client = FakeDurableClient()
    body = json.dumps(hire).encode()
    missing = post(client, raw=body, headers={"X-HR-Timestamp": str(NOW), "X-HR-Signature": signed(body)})
    assert missing.status_code == 401
    assert answer(missing)["detail"] == "missing X-Request-Timestamp or X-Signature header"
    late = post(client, raw=body, headers={"X-Request-Timestamp": str(NOW - 61), "X-Signature": signed(body, NOW - 61)})
    assert answer(late)["detail"] == "X-Request-Timestamp is outside the ±60 s window"
    good = post(client, raw=body, headers={"X-Request-Timestamp": str(NOW), "X-Signature": signed(body)})
    assert good.status_code == 202


def test_shared_token(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use(
        {"hr-token": "s3cr3t-token"},
        **sf_settings(MAPPED_WEBHOOK_AUTH="token", MAPPED_WEBHOOK_SECRET_NAME="hr-token", KEY_VAULT_URL=VAULT),
    )
    client = FakeDurableClient()
    for headers, detail in [
        ({}, "send the token as Authorization: Bearer <token>"),
        ({"Authorization": "Basic czNjcjN0LXRva2Vu"}, "send the token as Authorization: Bearer <token>"),
        ({"Authorization": "Bearer "}, "missing Authorization header"),
        ({"Authorization": "Bearer s3cr3t-tokem"}, "the token in Authorization is not the configured one"),
        ({"Authorization": "Bearer s3cr3t-token-and-more"}, "the token in Authorization is not the configured one"),
    ]:
        response = post(client, hire, headers=headers)
        assert response.status_code == 401
        assert answer(response)["detail"] == detail
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="hr-provisioning"'
    assert client.started == []
    assert post(client, hire, headers={"Authorization": "bearer  s3cr3t-token "}).status_code == 202

    use(
        {"hr-token": "s3cr3t-token"},
        **sf_settings(
            MAPPED_WEBHOOK_AUTH="token",
            MAPPED_WEBHOOK_SECRET_NAME="hr-token",
            KEY_VAULT_URL=VAULT,
            MAPPED_WEBHOOK_TOKEN_HEADER="X-HR-Token",
        ),
    )
    plain = post(client, hire, headers={"Authorization": "Bearer s3cr3t-token"})
    assert plain.status_code == 401 and "WWW-Authenticate" not in plain.headers
    assert answer(plain)["detail"] == "missing X-HR-Token header"
    assert post(client, hire, headers={"X-HR-Token": "s3cr3t-token"}).status_code == 200


def test_basic_credentials(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use(
        {"hr-basic": "sfsf-integration:p@ss:word"},
        **sf_settings(MAPPED_WEBHOOK_AUTH="basic", MAPPED_WEBHOOK_SECRET_NAME="hr-basic", KEY_VAULT_URL=VAULT),
    )
    client = FakeDurableClient()

    def basic(credentials: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    challenge = post(client, hire)  # clients that wait for the challenge before sending their credentials
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="hr-provisioning", charset="UTF-8"'
    for headers in (
        basic("sfsf-integration:p@ss"),
        basic("other:p@ss:word"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer x"},
    ):
        assert post(client, hire, headers=headers).status_code == 401
    assert client.started == []
    assert post(client, hire, headers=basic("sfsf-integration:p@ss:word")).status_code == 202

    use(
        {"hr-basic": "only-a-password"},
        **sf_settings(MAPPED_WEBHOOK_AUTH="basic", MAPPED_WEBHOOK_SECRET_NAME="hr-basic", KEY_VAULT_URL=VAULT),
    )
    misconfigured = post(client, hire, headers=basic("sfsf-integration:p@ss:word"))
    assert misconfigured.status_code == 503 and "user:password" in answer(misconfigured)["detail"]


def test_the_secret_must_be_readable(use: Callable[..., Settings], hire: dict[str, Any]) -> None:
    use({}, **hmac_settings())
    response = post(FakeDurableClient(), hire)
    assert response.status_code == 503
    assert answer(response)["detail"] == "The Key Vault secret hr-mapped is unavailable: not found."
    use(None, **hmac_settings())
    assert answer(post(FakeDurableClient(), hire))["detail"] == "MAPPED_WEBHOOK_AUTH needs KEY_VAULT_URL."


def test_the_sender_is_checked_before_the_mapping_is_read(
    tmp_path: Path, use: Callable[..., Settings], hire: dict[str, Any]
) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("version: 9\n", encoding="utf-8")
    use({"hr-mapped": SECRET}, **hmac_settings(MAPPED_WEBHOOK_MAPPING_FILE=str(file)))
    assert post(FakeDurableClient(), hire).status_code == 401  # nothing about the mapping to an unverified caller


# -- settings ----------------------------------------------------------------------------------------------------


def test_mapped_webhook_settings() -> None:
    defaults = Settings.from_env(REQUIRED_SETTINGS)
    assert (
        defaults.mapped_webhook_mapping_file,
        defaults.mapped_webhook_auth,
        defaults.mapped_webhook_secret_name,
    ) == (
        None,
        "none",
        None,
    )
    assert (
        defaults.mapped_webhook_signature_header,
        defaults.mapped_webhook_timestamp_header,
        defaults.mapped_webhook_token_header,
    ) == ("X-HR-Signature", "X-HR-Timestamp", "Authorization")

    def problems(**overrides: str) -> list[str]:
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({**REQUIRED_SETTINGS, **overrides})
        return caught.value.problems

    assert problems(MAPPED_WEBHOOK_MAPPING_FILE="mapping.txt") == [
        "MAPPED_WEBHOOK_MAPPING_FILE: 'mapping.txt' must name a .yaml, .yml or .json mapping file"
    ]
    assert problems(MAPPED_WEBHOOK_AUTH="oauth") == [
        "MAPPED_WEBHOOK_AUTH: 'oauth' is not one of none, hmac, token, basic"
    ]
    assert problems(MAPPED_WEBHOOK_AUTH="hmac") == [
        "MAPPED_WEBHOOK_SECRET_NAME is required when MAPPED_WEBHOOK_AUTH=hmac",
        "KEY_VAULT_URL is required when MAPPED_WEBHOOK_AUTH=hmac (the secret lives in Key Vault)",
    ]
    assert problems(
        MAPPED_WEBHOOK_AUTH="hmac",
        MAPPED_WEBHOOK_SECRET_NAME="s",
        KEY_VAULT_URL=VAULT,
        MAPPED_WEBHOOK_SIGNATURE_HEADER="x-hr-timestamp",
    ) == ["MAPPED_WEBHOOK_SIGNATURE_HEADER and MAPPED_WEBHOOK_TIMESTAMP_HEADER must differ"]
    assert problems(MAPPED_WEBHOOK_TOKEN_HEADER="X Token") == [
        "MAPPED_WEBHOOK_TOKEN_HEADER: 'X Token' is not an HTTP header name"
    ]
    assert problems(MAPPED_WEBHOOK_TOKEN_HEADER="x-functions-key") == [
        "MAPPED_WEBHOOK_TOKEN_HEADER: 'x-functions-key' is used by HTTP or the Functions host; choose another header"
    ]
    assert problems(MAPPED_WEBHOOK_AUTH="token", MAPPED_WEBHOOK_SECRET_NAME="my token!", KEY_VAULT_URL=VAULT) == [
        "MAPPED_WEBHOOK_SECRET_NAME: is not a Key Vault secret name (1-127 letters, digits, hyphens); value not shown"
    ]
    basic = Settings.from_env(
        {**REQUIRED_SETTINGS, "MAPPED_WEBHOOK_AUTH": "BASIC", "MAPPED_WEBHOOK_SECRET_NAME": "b", "KEY_VAULT_URL": VAULT}
    )
    assert basic.mapped_webhook_auth == "basic"
