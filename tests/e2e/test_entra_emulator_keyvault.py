"""Key Vault secrets in the Entra emulator, driven by the real SecretClient (sync and aio)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from emulators.entra.testing import EntraEmulator, app_credential

VAULT_URL = "https://hr-sync-kv.vault.azure.net"
REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _client(env: dict[str, str], **kwargs: object) -> SecretClient:
    credential = app_credential(env)
    return SecretClient(VAULT_URL, credential, **kwargs)


def _vault_paths(entra: EntraEmulator) -> list[tuple[str, int]]:
    return [(c["path"], c["status"]) for c in entra.control.state()["calls"] if c["host"].endswith(".vault.azure.net")]


def test_set_then_get_latest_and_by_version(entra_env: EntraEmulator) -> None:
    client = _client(entra_env.env)
    first = client.set_secret("graph-client-secret", "first-value", tags={"owner": "hr"})
    second = client.set_secret("graph-client-secret", "second-value")
    assert first.properties.version != second.properties.version
    assert client.get_secret("graph-client-secret").value == "second-value"
    older = client.get_secret("graph-client-secret", version=first.properties.version)
    assert older.value == "first-value"
    assert older.properties.tags == {"owner": "hr"}
    assert older.properties.vault_url == VAULT_URL
    paths = [path for path, _ in _vault_paths(entra_env)]
    assert "/secrets/graph-client-secret/" in paths  # latest: the SDK asks with a trailing slash
    assert f"/secrets/graph-client-secret/{first.properties.version}" in paths


def test_challenge_flow_then_bearer(entra_env: EntraEmulator) -> None:
    entra_env.control.seed_secret("hr-sync-kv.vault.azure.net", "seeded", "seeded-value")
    with httpx.Client() as http:
        probe = http.get(f"{VAULT_URL}/secrets/seeded", params={"api-version": "7.4"})
    assert probe.status_code == 401
    challenge = probe.headers["WWW-Authenticate"]
    tenant = entra_env.env["AZURE_TENANT_ID"]
    assert (
        challenge
        == f'Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"'
    )
    assert probe.json()["error"]["code"] == "Unauthorized"
    assert _client(entra_env.env).get_secret("seeded").value == "seeded-value"


def test_managed_identity_reads_secrets_too(entra_env: EntraEmulator) -> None:
    entra_env.control.seed_secret("hr-sync-kv.vault.azure.net", "seeded", "via-mi")
    assert SecretClient(VAULT_URL, ManagedIdentityCredential()).get_secret("seeded").value == "via-mi"


def test_missing_secret_is_secret_not_found(entra_env: EntraEmulator) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        _client(entra_env.env).get_secret("does-not-exist")
    assert raised.value.error is not None
    assert raised.value.error.code == "SecretNotFound"


def test_api_version_is_checked_before_auth(entra_env: EntraEmulator) -> None:
    with httpx.Client() as http:
        missing = http.get(f"{VAULT_URL}/secrets/x")
        unknown = http.get(f"{VAULT_URL}/secrets/x", params={"api-version": "1999-01-01"})
    for response in (missing, unknown):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BadParameter"
    client = _client(entra_env.env, api_version="7.4")
    client.set_secret("pinned", "v")
    assert client.get_secret("pinned").value == "v"


def test_vaults_are_separate_and_other_surfaces_are_not_served(entra_env: EntraEmulator) -> None:
    _client(entra_env.env).set_secret("only-here", "v")
    other = SecretClient("https://other-kv.vault.azure.net", ManagedIdentityCredential())
    with pytest.raises(ResourceNotFoundError):
        other.get_secret("only-here")
    with httpx.Client() as http:
        assert http.get(f"{VAULT_URL}/v1.0/users").status_code == 404


def test_key_vault_503_fault(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(faults={"keyVault503": True})
    with pytest.raises(HttpResponseError) as raised:
        _client(entra_env.env, retry_total=0).get_secret("anything")
    assert raised.value.status_code == 503
    entra_env.control.configure(faults={"keyVault503": False})


def test_counted_key_vault_failures_are_retried_by_the_client(entra_env: EntraEmulator) -> None:
    entra_env.control.seed_secret("hr-sync-kv.vault.azure.net", "flaky", "eventually")
    entra_env.control.configure(faults={"keyVaultFailures": 1})
    assert _client(entra_env.env, retry_backoff_factor=0.01).get_secret("flaky").value == "eventually"
    statuses = [status for path, status in _vault_paths(entra_env) if path.startswith("/secrets/flaky")]
    # The challenge cache is process-wide: the 401 probe appears only if no earlier test met this vault.
    assert statuses in ([503, 401, 200], [503, 200])


def test_key_vault_fail_until(entra_env: EntraEmulator) -> None:
    entra_env.control.configure(faults={"keyVaultFailUntil": time.time() + 3600})
    with pytest.raises(HttpResponseError):
        _client(entra_env.env, retry_total=0).get_secret("x")
    entra_env.control.configure(faults={"keyVaultFailUntil": None})
    with pytest.raises(ResourceNotFoundError):
        _client(entra_env.env, retry_total=0).get_secret("x")


ASYNC_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os
    from azure.identity.aio import ClientSecretCredential, ManagedIdentityCredential
    from azure.keyvault.secrets.aio import SecretClient

    async def main():
        env = os.environ
        async with ClientSecretCredential(env["AZURE_TENANT_ID"], env["EMULATOR_APP_CLIENT_ID"],
                                          env["EMULATOR_APP_CLIENT_SECRET"]) as credential:
            async with SecretClient("https://hr-sync-kv.vault.azure.net", credential) as client:
                created = await client.set_secret("async-secret", "from-aio")
                latest = await client.get_secret("async-secret")
                pinned = await client.get_secret("async-secret", created.properties.version)
        async with ManagedIdentityCredential() as mi:
            async with SecretClient("https://hr-sync-kv.vault.azure.net", mi) as client:
                via_mi = await client.get_secret("async-secret")
        print(json.dumps({"latest": latest.value, "pinned": pinned.value, "mi": via_mi.value}))

    asyncio.run(main())
    """
)


def test_async_secret_client_in_a_process_configured_only_by_env(entra_env: EntraEmulator) -> None:
    # aiohttp reads SSL_CERT_FILE at import time, so the aio stack gets a fresh process with the env set,
    # exactly as a Functions worker would.
    env = {**os.environ, **entra_env.env, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", ASYNC_SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "latest": "from-aio",
        "pinned": "from-aio",
        "mi": "from-aio",
    }


def test_latest_with_and_without_trailing_slash(entra_env: EntraEmulator) -> None:
    entra_env.control.seed_secret("hr-sync-kv.vault.azure.net", "plain", "same")
    env = entra_env.env
    credential = app_credential(env)
    token = credential.get_token("https://vault.azure.net/.default").token
    entra_graph_token = credential.get_token("https://graph.microsoft.com/.default").token
    with httpx.Client(params={"api-version": "2026-04-01"}) as http:
        for path in ("/secrets/plain", "/secrets/plain/"):
            response = http.get(f"{VAULT_URL}{path}", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, path
            assert response.json()["value"] == "same"
            assert response.json()["id"].startswith(f"{VAULT_URL}/secrets/plain/")
        wrong_audience = http.get(
            f"{VAULT_URL}/secrets/plain", headers={"Authorization": f"Bearer {entra_graph_token}"}
        )
    assert wrong_audience.status_code == 401
    assert "WWW-Authenticate" in wrong_audience.headers
