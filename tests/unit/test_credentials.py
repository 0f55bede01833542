"""Key Vault secret cache (TTL, rotation, failures), the rotating client-secret credential, the token
facts used by the preflight activity and the Graph permission table."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import ManagedIdentityCredential

from provisioning.credentials import (
    REQUIRED_GRAPH_ROLES,
    RotatingClientSecretCredential,
    SecretCache,
    SecretUnavailable,
    graph_credential,
    missing_roles,
    required_roles,
    token_facts,
)
from provisioning.graph import GRAPH_SCOPE

SECRET_V1 = "s3cr3t-value-one"
SECRET_V2 = "s3cr3t-value-two"


@dataclass
class Bundle:
    value: str | None


class FakeSecretClient:
    """Stands in for azure.keyvault.secrets.SecretClient at the edge."""

    def __init__(self, values: dict[str, str | None]) -> None:
        self.values = values
        self.reads: list[str] = []
        self.error: Exception | None = None
        self.gate: threading.Event | None = None

    def get_secret(self, name: str) -> Bundle:
        self.reads.append(name)
        if self.gate is not None:
            assert self.gate.wait(timeout=10), "test gate never opened"
        if self.error is not None:
            raise self.error
        if name not in self.values:
            raise ResourceNotFoundError("SecretNotFound")
        return Bundle(self.values[name])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------------------
# SecretCache
# --------------------------------------------------------------------------------------------------


def test_secret_is_read_once_per_ttl() -> None:
    client = FakeSecretClient({"graph-client-secret": SECRET_V1})
    clock = FakeClock()
    cache = SecretCache(client, ttl_seconds=900, clock=clock)

    assert cache.get("graph-client-secret") == SECRET_V1
    clock.now += 899
    assert cache.get("graph-client-secret") == SECRET_V1
    assert client.reads == ["graph-client-secret"]

    client.values["graph-client-secret"] = SECRET_V2
    clock.now += 1
    assert cache.get("graph-client-secret") == SECRET_V2
    assert client.reads == ["graph-client-secret", "graph-client-secret"]


def test_default_ttl_is_fifteen_minutes() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    clock = FakeClock()
    cache = SecretCache(client, clock=clock)

    cache.get("s")
    clock.now += 899.9
    cache.get("s")
    clock.now += 0.1
    cache.get("s")

    assert len(client.reads) == 2


def test_invalidate_forces_a_vault_read() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    cache = SecretCache(client, clock=FakeClock())

    cache.get("s")
    cache.invalidate("s")
    cache.get("s")

    assert len(client.reads) == 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ResourceNotFoundError("SecretNotFound"), "not found"),
        (ClientAuthenticationError("no identity"), "authentication"),
        (ServiceRequestError("connection refused"), "network error"),
        (HttpResponseError("Forbidden"), "Key Vault answered HTTP"),
        (RuntimeError("surprise"), "unexpected RuntimeError"),
    ],
)
def test_read_failures_become_secret_unavailable(
    error: Exception, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = FakeSecretClient({"s": SECRET_V1})
    client.error = error
    cache = SecretCache(client, clock=FakeClock())

    with pytest.raises(SecretUnavailable) as caught:
        cache.get("s")

    assert caught.value.name == "s"
    assert reason in caught.value.reason
    assert caught.value.__cause__ is None
    assert SECRET_V1 not in str(caught.value)
    assert SECRET_V1 not in caplog.text


def test_failure_after_expiry_does_not_serve_a_stale_value() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    clock = FakeClock()
    cache = SecretCache(client, ttl_seconds=10, clock=clock)
    cache.get("s")

    client.error = ServiceRequestError("down")
    clock.now += 11
    with pytest.raises(SecretUnavailable):
        cache.get("s")


def test_empty_secret_is_unavailable() -> None:
    cache = SecretCache(FakeSecretClient({"s": None}), clock=FakeClock())

    with pytest.raises(SecretUnavailable, match="no value"):
        cache.get("s")


@pytest.mark.parametrize("name", ["", "has space", "under_score", "x" * 128, "../etc"])
def test_secret_names_are_validated(name: str) -> None:
    client = FakeSecretClient({})
    with pytest.raises(ValueError, match="secret name"):
        SecretCache(client).get(name)
    assert client.reads == []


def test_values_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cache = SecretCache(FakeSecretClient({"s": SECRET_V1}), clock=FakeClock())

    cache.get("s")

    assert SECRET_V1 not in caplog.text


def test_concurrent_readers_cause_one_vault_read() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    client.gate = threading.Event()
    cache = SecretCache(client, clock=FakeClock())
    results: list[str] = []
    results_lock = threading.Lock()

    def reader() -> None:
        value = cache.get("s")
        with results_lock:
            results.append(value)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while not client.reads and time.monotonic() < deadline:
        time.sleep(0.005)
    client.gate.set()
    for thread in threads:
        thread.join(timeout=5)

    assert results == [SECRET_V1] * 8
    assert client.reads == ["s"]


def test_from_vault_url_requires_https() -> None:
    with pytest.raises(ValueError, match="https"):
        SecretCache.from_vault_url("http://demo.vault.azure.net", credential=StaticCredential("t"))


def test_from_vault_url_builds_a_secret_client() -> None:
    cache = SecretCache.from_vault_url("https://demo.vault.azure.net", credential=StaticCredential("t"))
    assert isinstance(cache, SecretCache)


# --------------------------------------------------------------------------------------------------
# Rotating client-secret credential
# --------------------------------------------------------------------------------------------------


class StaticCredential:
    def __init__(self, token: str, *, fail: bool = False) -> None:
        self.token = token
        self.fail = fail
        self.closed = False
        self.calls = 0

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.calls += 1
        if self.fail:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")
        return AccessToken(self.token, 2_000_000_000)

    def close(self) -> None:
        self.closed = True


class RecordingFactory:
    def __init__(self, failing_secrets: frozenset[str] = frozenset()) -> None:
        self.built: list[tuple[str, str, str]] = []
        self.credentials: list[StaticCredential] = []
        self.failing_secrets = failing_secrets

    def __call__(self, tenant_id: str, client_id: str, secret: str) -> TokenCredential:
        self.built.append((tenant_id, client_id, secret))
        credential = StaticCredential(f"token-for-{secret}", fail=secret in self.failing_secrets)
        self.credentials.append(credential)
        return credential


def test_rotation_in_the_vault_rebuilds_the_credential_after_the_ttl() -> None:
    client = FakeSecretClient({"graph-client-secret": SECRET_V1})
    clock = FakeClock()
    factory = RecordingFactory()
    credential = RotatingClientSecretCredential(
        "tenant-1", "app-1", SecretCache(client, clock=clock), "graph-client-secret", factory=factory
    )

    assert credential.get_token(GRAPH_SCOPE).token == f"token-for-{SECRET_V1}"
    assert credential.get_token(GRAPH_SCOPE).token == f"token-for-{SECRET_V1}"
    assert factory.built == [("tenant-1", "app-1", SECRET_V1)]

    client.values["graph-client-secret"] = SECRET_V2
    assert credential.get_token(GRAPH_SCOPE).token == f"token-for-{SECRET_V1}"  # still inside the TTL
    clock.now += 900
    assert credential.get_token(GRAPH_SCOPE).token == f"token-for-{SECRET_V2}"
    assert [secret for _, _, secret in factory.built] == [SECRET_V1, SECRET_V2]
    assert factory.credentials[0].closed


def test_authentication_failure_with_a_rotated_secret_retries_with_the_new_one() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    factory = RecordingFactory(failing_secrets=frozenset({SECRET_V1}))
    cache = SecretCache(client, clock=FakeClock())
    cache.get("s")  # V1 is cached...
    client.values["s"] = SECRET_V2  # ...then rotated and V1 revoked before the TTL ran out
    credential = RotatingClientSecretCredential("t", "a", cache, "s", factory=factory)

    token = credential.get_token(GRAPH_SCOPE)

    assert token.token == f"token-for-{SECRET_V2}"
    assert [secret for _, _, secret in factory.built] == [SECRET_V1, SECRET_V2]


def test_authentication_failure_with_an_unchanged_secret_is_raised() -> None:
    client = FakeSecretClient({"s": SECRET_V1})
    factory = RecordingFactory(failing_secrets=frozenset({SECRET_V1}))
    credential = RotatingClientSecretCredential("t", "a", SecretCache(client, clock=FakeClock()), "s", factory=factory)

    with pytest.raises(ClientAuthenticationError):
        credential.get_token(GRAPH_SCOPE)

    assert len(factory.built) == 1
    assert factory.credentials[0].calls == 1
    assert client.reads == ["s", "s"]


# --------------------------------------------------------------------------------------------------
# graph_credential
# --------------------------------------------------------------------------------------------------


def test_managed_identity_is_the_default_kind() -> None:
    assert isinstance(
        graph_credential(
            auth="managed_identity", client_id=None, tenant_id=None, secrets=None, client_secret_name=None
        ),
        ManagedIdentityCredential,
    )
    assert isinstance(
        graph_credential(
            auth="managed_identity",
            client_id="11111111-2222-3333-4444-555555555555",
            tenant_id=None,
            secrets=None,
            client_secret_name=None,
        ),
        ManagedIdentityCredential,
    )


def test_client_secret_credential_reads_the_vault() -> None:
    cache = SecretCache(FakeSecretClient({"graph-client-secret": SECRET_V1}), clock=FakeClock())

    credential = graph_credential(
        auth="client_secret",
        client_id="app-1",
        tenant_id="tenant-1",
        secrets=cache,
        client_secret_name="graph-client-secret",
    )

    assert isinstance(credential, RotatingClientSecretCredential)


def test_client_secret_needs_every_setting() -> None:
    with pytest.raises(ValueError) as caught:
        graph_credential(auth="client_secret", client_id=None, tenant_id="t", secrets=None, client_secret_name=None)

    message = str(caught.value)
    for setting in ("AZURE_CLIENT_ID", "KEY_VAULT_URL", "GRAPH_CLIENT_SECRET_NAME"):
        assert setting in message
    assert "AZURE_TENANT_ID" not in message


def test_unknown_auth_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="GRAPH_AUTH"):
        graph_credential(
            auth="certificate",  # type: ignore[arg-type]
            client_id=None,
            tenant_id=None,
            secrets=None,
            client_secret_name=None,
        )


# --------------------------------------------------------------------------------------------------
# token_facts
# --------------------------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def hand_made_jwt(claims: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"


def test_token_facts_returns_only_non_secret_facts() -> None:
    token = hand_made_jwt(
        {
            "aud": "https://graph.microsoft.com",
            "tid": "0f1e2d3c-aaaa-bbbb-cccc-111122223333",
            "appid": "9d8c7b6a-0000-1111-2222-333344445555",
            "roles": ["User.Read.All", "SynchronizationData-User.Upload", "User.Read.All"],
            "oid": "some-object-id",
        }
    )
    expires = 1_800_000_000

    facts = token_facts(FixedTokenCredential(token, expires))

    assert facts == {
        "tenantId": "0f1e2d3c-aaaa-bbbb-cccc-111122223333",
        "appId": "9d8c7b6a-0000-1111-2222-333344445555",
        "roles": ["SynchronizationData-User.Upload", "User.Read.All"],
        "expiresOn": datetime.fromtimestamp(expires, tz=UTC).isoformat(),
    }
    assert token not in json.dumps(facts)


def test_token_facts_falls_back_to_azp_and_tolerates_missing_roles() -> None:
    facts = token_facts(FixedTokenCredential(hand_made_jwt({"tid": "t", "azp": "app"}), 1_800_000_000))

    assert facts["appId"] == "app"
    assert facts["roles"] == []


@pytest.mark.parametrize("token", ["opaque-token-value", "a.!!!.c", f"a.{_b64({'x': 1})[:-2]}@@.c", "a.W10.c"])
def test_token_facts_rejects_unreadable_tokens_without_echoing_them(token: str) -> None:
    with pytest.raises(ValueError) as caught:
        token_facts(FixedTokenCredential(token, 1_800_000_000))
    assert token not in str(caught.value)


class FixedTokenCredential:
    def __init__(self, token: str, expires_on: int) -> None:
        self.token = token
        self.expires_on = expires_on
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, self.expires_on)


def test_token_facts_asks_for_the_graph_scope() -> None:
    credential = FixedTokenCredential(hand_made_jwt({"tid": "t"}), 1_800_000_000)
    token_facts(credential)
    assert credential.scopes == [(GRAPH_SCOPE,)]


# --------------------------------------------------------------------------------------------------
# Required roles
# --------------------------------------------------------------------------------------------------

BASE_ROLES = {
    "SynchronizationData-User.Upload",
    "AuditLog.Read.All",
    "User.Read.All",
    "RoleManagement.Read.Directory",
    "Mail.Send",
}


def test_required_roles_for_tap_with_session_revocation() -> None:
    assert required_roles("tap", True) == BASE_ROLES | {"UserAuthMethod-TAP.ReadWrite.All", "User.RevokeSessions.All"}


def test_the_pass_needs_only_the_granular_tap_permission() -> None:
    """UserAuthenticationMethod.ReadWrite.All would manage every authentication method of every user."""
    needed = required_roles("tap", False)
    assert "UserAuthenticationMethod.ReadWrite.All" not in needed
    assert missing_roles(BASE_ROLES | {"UserAuthenticationMethod.ReadWrite.All"}, needed) == []


def test_required_roles_for_password() -> None:
    assert required_roles("password", False) == BASE_ROLES | {"User-PasswordProfile.ReadWrite.All"}


def test_mail_send_is_not_expected_in_the_token_with_exchange_rbac() -> None:
    assert required_roles("none", False, mail_permission="exchange_rbac") == BASE_ROLES - {"Mail.Send"}
    assert "Mail.Send" in required_roles("tap", False, mail_permission="graph")


def test_role_check_is_always_required_and_broader_directory_reads_satisfy_it() -> None:
    for method in ("tap", "password", "none"):
        assert "RoleManagement.Read.Directory" in required_roles(method, False)  # type: ignore[arg-type]
    needed = {"RoleManagement.Read.Directory"}
    assert missing_roles(["Directory.Read.All"], needed) == []
    assert missing_roles(["RoleEligibilitySchedule.Read.Directory"], needed) == ["RoleManagement.Read.Directory"]


def test_every_required_role_is_in_the_table() -> None:
    assert set(REQUIRED_GRAPH_ROLES.values()) >= required_roles("tap", True) | required_roles("password", True)


def test_missing_roles_names_the_gaps_sorted() -> None:
    needed = required_roles("tap", True)
    granted = ["User.Read.All", "SynchronizationData-User.Upload"]

    assert missing_roles(granted, needed) == [
        "AuditLog.Read.All",
        "Mail.Send",
        "RoleManagement.Read.Directory",
        "User.RevokeSessions.All",
        "UserAuthMethod-TAP.ReadWrite.All",
    ]


def test_broader_permissions_satisfy_narrower_ones() -> None:
    needed = required_roles("password", True)
    granted = [
        "SynchronizationData-User.Upload.OwnedBy",
        "ProvisioningLog.Read.All",
        "User.ReadWrite.All",
        "Mail.Send",
        "Directory.Read.All",
    ]

    assert missing_roles(granted, needed) == []


def test_nothing_missing_when_all_granted() -> None:
    needed = required_roles("tap", True)
    assert missing_roles(needed, needed) == []
