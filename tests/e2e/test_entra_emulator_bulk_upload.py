"""bulkUpload validation, permissions and throttling in the Entra emulator (httpx, production URL)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.entra.testing import EntraEmulator

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).parent / "entra_fixtures"
SP_ID = "3b3b6c41-5bd0-4a44-9a1f-8d0a2bcf7a11"
SCIM = {"Content-Type": "application/scim+json"}


def _job_id(entra: EntraEmulator) -> str:
    return f"API2AD.{entra.env['AZURE_TENANT_ID'].replace('-', '')}.6f0e8d9c-2a1b-4c3d-9e8f-7a6b5c4d3e2f"


def _url(entra: EntraEmulator, version: str = "v1.0") -> str:
    return f"https://graph.microsoft.com/{version}/servicePrincipals/{SP_ID}/synchronization/jobs/{_job_id(entra)}/bulkUpload"


def _example() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "bulk_upload_core_and_enterprise.json").read_text())
    return loaded


def _one_operation(bulk_id: str = "E1") -> dict[str, Any]:
    return {
        "method": "POST",
        "bulkId": bulk_id,
        "path": "/Users",
        "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": bulk_id,
            "userName": f"{bulk_id.lower()}@contoso.com",
            "active": True,
        },
    }


def test_microsofts_documented_examples_are_accepted(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    for fixture in ("bulk_upload_core_and_enterprise.json", "bulk_upload_update_existing.json"):
        response = entra_graph.post(
            _url(entra_env),
            content=(FIXTURES / fixture).read_bytes(),
            headers={**SCIM, "client-request-id": "c0ffee00-1111-2222-3333-444455556666"},
        )
        assert response.status_code == 202, response.text
        assert response.content == b""
        assert response.headers["Location"] == (
            f"https://graph.microsoft.com/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'{_job_id(entra_env)}'"
        )
        assert response.headers["client-request-id"] == "c0ffee00-1111-2222-3333-444455556666"
        assert response.headers["request-id"]
    state = entra_env.control.state()
    assert state["bulkRequests"][0]["body"] == _example()
    assert state["calls"][-1]["path"].endswith("/bulkUpload")
    beta = entra_graph.post(_url(entra_env, "beta"), json=_example(), headers=SCIM)
    assert beta.status_code == 202


def _broken_payloads() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    body = _example()
    body["schemas"] = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    cases.append(("wrong schema URN", body))
    cases.append(("no schemas", {k: v for k, v in _example().items() if k != "schemas"}))
    cases.append(("zero operations", {**_example(), "Operations": []}))
    cases.append(("no Operations", {"schemas": _example()["schemas"]}))
    cases.append(("51 operations", {**_example(), "Operations": [_one_operation(f"E{n}") for n in range(51)]}))
    for field, value in (("method", "PATCH"), ("path", "/Groups")):
        body = _example()
        body["Operations"][1][field] = value
        cases.append((f"{field}={value}", body))
    for field in ("bulkId", "data", "method", "path"):
        body = _example()
        del body["Operations"][0][field]
        cases.append((f"missing {field}", body))
    body = _example()
    body["Operations"][0]["data"]["schemas"] = ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    cases.append(("data without the core User schema", body))
    cases.append(("non-SCIM data (Postman sample)", {"name": "John Doe"}))
    return cases


@pytest.mark.parametrize(("case", "body"), _broken_payloads(), ids=[case for case, _ in _broken_payloads()])
def test_payloads_breaking_a_rule_are_400(
    entra_env: EntraEmulator, entra_graph: httpx.Client, case: str, body: Any
) -> None:
    response = entra_graph.post(_url(entra_env), content=json.dumps(body), headers=SCIM)
    assert response.status_code == 400, case
    assert response.json()["error"]["innerError"]["request-id"]
    assert entra_env.control.state()["bulkRequests"] == []


def test_content_type_and_json_are_checked(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    good = json.dumps(_example())
    assert (
        entra_graph.post(_url(entra_env), content=good, headers={"Content-Type": "application/json"}).status_code == 400
    )
    assert entra_graph.post(_url(entra_env), content=good).status_code == 400
    assert entra_graph.post(_url(entra_env), content=b"{not json", headers=SCIM).status_code == 400
    with_charset = {"Content-Type": "application/scim+json; charset=utf-8"}
    assert entra_graph.post(_url(entra_env), content=good, headers=with_charset).status_code == 202
    assert entra_graph.get(_url(entra_env)).status_code == 405


def test_401_and_403(entra_env: EntraEmulator) -> None:
    from emulators.entra.testing import app_credential

    body = json.dumps(_example())
    assert httpx.post(_url(entra_env), content=body, headers=SCIM).status_code == 401
    env = entra_env.env
    entra_env.control.configure(appRoles={env["EMULATOR_APP_CLIENT_ID"]: ["User.Read.All", "AuditLog.Read.All"]})
    token = app_credential(env).get_token("https://graph.microsoft.com/.default").token
    forbidden = httpx.post(_url(entra_env), content=body, headers={**SCIM, "Authorization": f"Bearer {token}"})
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "Authorization_RequestDenied"


def test_more_than_40_calls_in_5_seconds_is_429(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    limits = entra_env.control.config()["rateLimit"]
    assert (limits["callsPerWindow"], limits["windowSeconds"]) == (40, 5)
    payload = json.dumps({**_example(), "Operations": [_one_operation()]})
    statuses = [entra_graph.post(_url(entra_env), content=payload, headers=SCIM).status_code for _ in range(40)]
    throttled = entra_graph.post(_url(entra_env), content=payload, headers=SCIM)
    assert statuses == [202] * 40
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert "40 calls in any 5 seconds" in throttled.json()["error"]["message"]
    assert 1 <= int(throttled.headers["Retry-After"]) <= 5
    entra_env.control.configure(rateLimit={"omitRetryAfter": True})
    assert "Retry-After" not in entra_graph.post(_url(entra_env), content=payload, headers=SCIM).headers


def test_the_429_names_the_configured_limit(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    # windowSeconds 1 emulates the bulkUpload API reference's "40 requests per second" reading.
    entra_env.control.configure(rateLimit={"callsPerWindow": 3, "windowSeconds": 1})
    payload = json.dumps({**_example(), "Operations": [_one_operation()]})
    statuses = [entra_graph.post(_url(entra_env), content=payload, headers=SCIM).status_code for _ in range(3)]
    throttled = entra_graph.post(_url(entra_env), content=payload, headers=SCIM)
    assert statuses == [202] * 3
    assert throttled.status_code == 429
    assert (
        throttled.json()["error"]["message"]
        == "Too many requests: the provisioning API allows 3 calls in any 1 second."
    )
    assert throttled.headers["Retry-After"] == "1"


def test_daily_quota_is_429(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    entra_env.control.configure(rateLimit={"dailyCalls": 3})
    payload = json.dumps({**_example(), "Operations": [_one_operation()]})
    statuses = [entra_graph.post(_url(entra_env), content=payload, headers=SCIM).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    refused = entra_graph.post(_url(entra_env), content=payload, headers=SCIM)
    assert "quota of 3 bulkUpload calls in 24 hours" in refused.json()["error"]["message"]
    assert 86_000 < int(refused.headers["Retry-After"]) <= 86_400


def test_a_bulk_upload_outage_refuses_uploads_alone_until_switched_off(
    entra_env: EntraEmulator, entra_graph: httpx.Client
) -> None:
    payload = json.dumps({**_example(), "Operations": [_one_operation()]})
    entra_env.control.configure(faults={"bulkUpload503": True, "retryAfterSeconds": 3})
    refused = entra_graph.post(_url(entra_env), content=payload, headers=SCIM)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "ServiceUnavailable"
    assert refused.headers["Retry-After"] == "3"
    assert entra_graph.get("/users").status_code == 200
    assert entra_env.control.state()["bulkRequests"] == []
    entra_env.control.configure(faults={"bulkUpload503": False})
    assert entra_graph.post(_url(entra_env), content=payload, headers=SCIM).status_code == 202


def test_random_faults_are_seedable(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    def run() -> list[int]:
        entra_env.control.configure(faults={"rate429": 0.3, "rate503": 0.2, "seed": 42, "retryAfterSeconds": 7})
        return [entra_graph.get("/users").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 429, 503} == set(first)
    throttled = next(r for r in (entra_graph.get("/users") for _ in range(50)) if r.status_code == 429)
    assert throttled.headers["Retry-After"] == "7"
    entra_env.control.configure(faults={"rate429": 1.0, "rate503": 0.0})
    assert entra_graph.post(_url(entra_env), json=_example(), headers=SCIM).status_code == 429
    entra_env.control.configure(faults={"rate429": 0.0})


def test_pinned_service_principal_and_job(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    entra_env.control.configure(servicePrincipalId="11111111-2222-3333-4444-555555555555")
    response = entra_graph.post(_url(entra_env), content=json.dumps(_example()), headers=SCIM)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"


def test_payload_is_stored_as_sent(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    body = copy.deepcopy(_example())
    body["Operations"][0]["data"]["displayName"] = "Zoë O'Brien-Müller"
    assert (
        entra_graph.post(
            _url(entra_env), content=json.dumps(body, ensure_ascii=False).encode(), headers=SCIM
        ).status_code
        == 202
    )
    stored = entra_env.control.state()["bulkRequests"][0]
    assert stored["body"]["Operations"][0]["data"]["displayName"] == "Zoë O'Brien-Müller"
    assert stored["jobId"] == _job_id(entra_env)
    assert stored["servicePrincipalId"] == SP_ID
