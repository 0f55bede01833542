"""Sign-in surfaces of the Entra emulator, driven by the real azure-identity credentials."""

from __future__ import annotations

import socket
import ssl

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential

from emulators.entra.testing import EntraEmulator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
pytestmark = pytest.mark.e2e


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def _secret_credential(env: dict[str, str], secret: str | None = None, **kwargs: object) -> ClientSecretCredential:
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["EMULATOR_APP_CLIENT_ID"], secret or env["EMULATOR_APP_CLIENT_SECRET"], **kwargs
    )


def test_certificate_carries_the_microsoft_hostnames(entra: EntraEmulator) -> None:
    context = ssl.create_default_context(cafile=str(entra.ca_path))
    for name in ("login.microsoftonline.com", "graph.microsoft.com", "demo.vault.azure.net", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", entra.port)) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() is not None
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(("127.0.0.1", entra.port)) as raw,
        context.wrap_socket(raw, server_hostname="example.com"),
    ):
        pass


def test_proxy_fails_closed_for_other_hosts(entra_env: EntraEmulator) -> None:
    with httpx.Client() as client:
        with pytest.raises(httpx.ProxyError):
            client.get("https://management.azure.com/subscriptions")
        with pytest.raises(httpx.ProxyError):
            client.get("https://graph.microsoft.com:8443/v1.0/users")
    assert "management.azure.com:443" in entra_env.proxy_denied


def test_oidc_discovery_per_tenant(entra_env: EntraEmulator) -> None:
    tenant = entra_env.env["AZURE_TENANT_ID"]
    with httpx.Client() as client:
        found = client.get(f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration")
        unknown = client.get("https://login.microsoftonline.com/not-a-tenant/v2.0/.well-known/openid-configuration")
    assert found.status_code == 200
    assert found.json()["token_endpoint"] == f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    assert "authorization_endpoint" in found.json()
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == [90002]


def test_client_secret_credential_gets_a_graph_token_with_roles(entra_env: EntraEmulator) -> None:
    token = _secret_credential(entra_env.env).get_token(GRAPH_SCOPE)
    claims = _claims(token.token)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == entra_env.env["AZURE_TENANT_ID"]
    assert claims["appid"] == entra_env.env["EMULATOR_APP_CLIENT_ID"]
    assert "SynchronizationData-User.Upload" in claims["roles"]  # type: ignore[operator]
    assert token.expires_on > claims["iat"]  # type: ignore[operator]


def test_wrong_secret_is_an_aadsts_401(entra_env: EntraEmulator) -> None:
    with pytest.raises(ClientAuthenticationError) as raised:
        _secret_credential(entra_env.env, secret="not-the-secret").get_token(GRAPH_SCOPE)
    assert "AADSTS7000215" in str(raised.value)
    assert "not-the-secret" not in str(raised.value)
    calls = entra_env.control.state()["calls"]
    assert any(call["path"].endswith("/oauth2/v2.0/token") and call["status"] == 401 for call in calls)


def test_token_endpoint_error_shapes(entra_env: EntraEmulator) -> None:
    env = entra_env.env
    url = f"https://login.microsoftonline.com/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": env["EMULATOR_APP_CLIENT_ID"],
        "client_secret": env["EMULATOR_APP_CLIENT_SECRET"],
    }
    with httpx.Client() as client:
        bad_scope = client.post(url, data={**form, "scope": "https://graph.microsoft.com/User.Read"})
        wrong_secret = client.post(url, data={**form, "client_secret": "x", "scope": GRAPH_SCOPE})
        good = client.post(url, data={**form, "scope": GRAPH_SCOPE})
    assert bad_scope.status_code == 400
    assert bad_scope.json()["error"] == "invalid_scope"
    assert bad_scope.json()["error_codes"] == [70011]
    assert wrong_secret.status_code == 401
    assert set(wrong_secret.json()) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }
    assert good.json()["token_type"] == "Bearer"
    assert good.json()["expires_in"] == 3599
    assert "refresh_token" not in good.json()


def test_roles_per_app_are_configurable(entra_env: EntraEmulator) -> None:
    app_id = entra_env.env["EMULATOR_APP_CLIENT_ID"]
    entra_env.control.configure(appRoles={app_id: ["User.Read.All"]})
    claims = _claims(_secret_credential(entra_env.env).get_token(GRAPH_SCOPE).token)
    assert claims["roles"] == ["User.Read.All"]


def test_managed_identity_credential_uses_the_app_service_endpoint(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(appRoles={"managedIdentity": ["Mail.Send", "User.Read.All"]})
    token = ManagedIdentityCredential().get_token(GRAPH_SCOPE)
    claims = _claims(token.token)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["roles"] == ["Mail.Send", "User.Read.All"]
    msi_calls = [call for call in entra_env.control.state()["calls"] if call["path"] == "/msi/token"]
    assert msi_calls and msi_calls[-1]["status"] == 200


def test_managed_identity_endpoint_checks_the_identity_header(entra_env: EntraEmulator) -> None:
    endpoint = entra_env.env["IDENTITY_ENDPOINT"]
    params = {"api-version": "2019-08-01", "resource": "https://graph.microsoft.com"}
    with httpx.Client() as client:
        missing = client.get(endpoint, params=params)
        wrong = client.get(endpoint, params=params, headers={"X-IDENTITY-HEADER": "nope"})
        right = client.get(endpoint, params=params, headers={"X-IDENTITY-HEADER": entra_env.env["IDENTITY_HEADER"]})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.json()["expires_on"].isdigit()


def test_token_failures_make_both_token_endpoints_fail(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(faults={"tokenFailures": True})
    # retry_total=0: the credentials' own retries (seconds of backoff) are not what is under test here.
    with pytest.raises(ClientAuthenticationError):
        _secret_credential(entra_env.env, retry_total=0).get_token(GRAPH_SCOPE)
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential(retry_total=0).get_token(GRAPH_SCOPE)
    statuses = {
        call["status"]
        for call in entra_env.control.state()["calls"]
        if call["path"] == "/msi/token" or call["path"].endswith("/token")
    }
    assert statuses == {503}
    entra_env.control.configure(faults={"tokenFailures": False})
    assert _secret_credential(entra_env.env).get_token(GRAPH_SCOPE).token


def test_counted_token_failure_is_retried_by_the_credential(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(faults={"tokenFailures": 1, "tokenFailureStatus": 500})
    assert _secret_credential(entra_env.env).get_token(GRAPH_SCOPE).token
    token_calls = [c["status"] for c in entra_env.control.state()["calls"] if c["path"].endswith("/oauth2/v2.0/token")]
    assert token_calls == [500, 200]


def test_token_fail_until_a_time(entra_env: EntraEmulator) -> None:
    import time

    entra_env.control.configure(faults={"tokenFailUntil": time.time() + 3600})
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential(retry_total=0).get_token(GRAPH_SCOPE)
    entra_env.control.configure(faults={"tokenFailUntil": time.time() - 1})
    assert ManagedIdentityCredential().get_token(GRAPH_SCOPE).token
