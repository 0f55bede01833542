"""Graph credentials, Key Vault secrets and the permission preflight.

The app authenticates to Graph with its managed identity by default, or with a service principal whose
client secret lives in Key Vault. Secrets are cached for a TTL (15 minutes by default) so that a
rotation in the vault is picked up without a restart, and a credential built from an old secret is
replaced as soon as the vault hands out a new one. No secret, token or pass is ever logged or put in an
exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from provisioning.graph import GRAPH_SCOPE

__all__ = [
    "DEFAULT_SECRET_TTL_SECONDS",
    "REQUIRED_GRAPH_ROLES",
    "ROLE_ALTERNATIVES",
    "RotatingClientSecretCredential",
    "SecretCache",
    "SecretReader",
    "SecretUnavailable",
    "graph_credential",
    "missing_roles",
    "required_roles",
    "token_facts",
]

logger = logging.getLogger(__name__)

DEFAULT_SECRET_TTL_SECONDS: Final = 900.0
_SECRET_NAME: Final = re.compile(r"[0-9A-Za-z-]{1,127}\Z")


# --------------------------------------------------------------------------------------------------
# Key Vault secrets
# --------------------------------------------------------------------------------------------------


class SecretUnavailable(Exception):
    """A Key Vault secret could not be read. Names the secret and the reason, never a value."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"Key Vault secret {name!r} is unavailable: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.reason))


class _SecretBundle(Protocol):
    @property
    def value(self) -> str | None: ...


class SecretReader(Protocol):
    """The part of ``azure.keyvault.secrets.SecretClient`` the cache uses (a fake in unit tests)."""

    def get_secret(self, name: str) -> _SecretBundle: ...


def _failure_reason(error: Exception) -> str:
    # Built from the exception's type and status only: SDK messages are long and may echo URLs.
    if isinstance(error, ResourceNotFoundError):
        return "not found in the vault"
    if isinstance(error, ClientAuthenticationError):
        return "authentication to Key Vault failed"
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return f"network error ({type(error).__name__})"
    if isinstance(error, HttpResponseError):
        code = getattr(error.error, "code", None) if error.error is not None else None
        return f"Key Vault answered HTTP {error.status_code}" + (f" ({code})" if code else "")
    return f"unexpected {type(error).__name__}"


class SecretCache:
    """Reads Key Vault secrets through a TTL cache; safe to share between activity threads.

    Each secret name has its own lock, so a slow vault read for one name never blocks another, and a
    burst of threads asking for an expired secret causes one vault read, not one per thread.
    """

    def __init__(
        self,
        client: SecretReader,
        *,
        ttl_seconds: float = DEFAULT_SECRET_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be >= 0")
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def from_vault_url(
        cls,
        vault_url: str,
        *,
        credential: TokenCredential | None = None,
        managed_identity_client_id: str | None = None,
        ttl_seconds: float = DEFAULT_SECRET_TTL_SECONDS,
    ) -> SecretCache:
        """A cache over a real ``SecretClient``, authenticated with the app's managed identity by default."""
        parts = urlsplit(vault_url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError("KEY_VAULT_URL must be an https URL such as https://<name>.vault.azure.net")
        if credential is None:
            credential = (
                ManagedIdentityCredential(client_id=managed_identity_client_id)
                if managed_identity_client_id
                else ManagedIdentityCredential()
            )
        return cls(SecretClient(vault_url, credential), ttl_seconds=ttl_seconds)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def get(self, name: str) -> str:
        """The current value of secret ``name``, read from the vault at most once per TTL."""
        if not isinstance(name, str) or not _SECRET_NAME.match(name):
            raise ValueError("a Key Vault secret name is 1-127 letters, digits and hyphens")
        with self._lock_for(name):
            cached = self._entries.get(name)
            now = self._clock()
            if cached is not None and now - cached[1] < self._ttl:
                return cached[0]
            try:
                value = self._client.get_secret(name).value
            except Exception as error:  # every SDK failure becomes one typed, value-free error
                reason = _failure_reason(error)
                logger.warning("Key Vault secret %s could not be read: %s", name, reason)
                raise SecretUnavailable(name, reason) from None
            if not value:
                raise SecretUnavailable(name, "the secret has no value")
            self._entries[name] = (value, now)
            logger.debug("Key Vault secret %s read from the vault", name)
            return value

    def invalidate(self, name: str) -> None:
        """Forget a cached value so the next :meth:`get` reads the vault (e.g. after an auth failure)."""
        with self._lock_for(name):
            self._entries.pop(name, None)


# --------------------------------------------------------------------------------------------------
# Graph credentials
# --------------------------------------------------------------------------------------------------


def _client_secret_credential(tenant_id: str, client_id: str, secret: str) -> TokenCredential:
    return ClientSecretCredential(tenant_id, client_id, secret)


class RotatingClientSecretCredential:
    """A ``TokenCredential`` whose client secret comes from Key Vault and follows its rotation.

    Every token request asks the :class:`SecretCache` for the secret (free within the TTL). When the
    value differs from the one the inner ``ClientSecretCredential`` was built with, a new inner
    credential replaces it. If Entra rejects the secret (rotated and revoked before the TTL ran out),
    the cached secret is dropped and the request is tried once more with whatever the vault holds now.
    """

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        secrets: SecretCache,
        secret_name: str,
        *,
        factory: Callable[[str, str, str], TokenCredential] = _client_secret_credential,
    ) -> None:
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secrets = secrets
        self._secret_name = secret_name
        self._factory = factory
        self._lock = threading.Lock()
        self._inner: TokenCredential | None = None
        self._fingerprint: bytes | None = None

    def _current(self) -> TokenCredential:
        secret = self._secrets.get(self._secret_name)
        # Compare digests so the wrapper itself never keeps a second copy of the secret.
        fingerprint = hashlib.sha256(secret.encode("utf-8")).digest()
        with self._lock:
            if self._inner is None or fingerprint != self._fingerprint:
                previous = self._inner
                self._inner = self._factory(self._tenant_id, self._client_id, secret)
                self._fingerprint = fingerprint
                if previous is not None:
                    logger.info("Graph client secret changed in Key Vault; credential rebuilt")
                    _close_quietly(previous)
            return self._inner

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Acquire a token with the current secret; see the class docstring for rotation."""
        inner = self._current()
        try:
            return inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)
        except ClientAuthenticationError:
            self._secrets.invalidate(self._secret_name)
            retry = self._current()
            if retry is inner:
                raise
            return retry.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)

    def close(self) -> None:
        """Close the inner credential's transport."""
        with self._lock:
            if self._inner is not None:
                _close_quietly(self._inner)
                self._inner = None
                self._fingerprint = None


def _close_quietly(credential: object) -> None:
    close = getattr(credential, "close", None)
    if callable(close):
        close()


def graph_credential(
    *,
    auth: Literal["managed_identity", "client_secret"],
    client_id: str | None,
    tenant_id: str | None,
    secrets: SecretCache | None,
    client_secret_name: str | None,
) -> TokenCredential:
    """The credential the app uses for Graph (``GRAPH_AUTH``, see the README's settings table).

    ``managed_identity``: the app's identity; ``client_id`` selects a user-assigned identity.
    ``client_secret``: a service principal (``tenant_id`` + ``client_id``) whose secret is read from Key
    Vault through ``secrets`` under ``client_secret_name`` and follows rotation.
    """
    if auth == "managed_identity":
        if client_id:
            return ManagedIdentityCredential(client_id=client_id)
        return ManagedIdentityCredential()
    if auth == "client_secret":
        missing = [
            setting
            for setting, value in (
                ("AZURE_TENANT_ID", tenant_id),
                ("AZURE_CLIENT_ID", client_id),
                ("KEY_VAULT_URL", secrets),
                ("GRAPH_CLIENT_SECRET_NAME", client_secret_name),
            )
            if not value
        ]
        if missing:
            raise ValueError("GRAPH_AUTH=client_secret needs " + ", ".join(missing))
        assert tenant_id and client_id and secrets is not None and client_secret_name
        return RotatingClientSecretCredential(tenant_id, client_id, secrets, client_secret_name)
    raise ValueError("GRAPH_AUTH must be 'managed_identity' or 'client_secret'")


# --------------------------------------------------------------------------------------------------
# Permission preflight
# --------------------------------------------------------------------------------------------------


def token_facts(credential: TokenCredential) -> dict[str, Any]:
    """Non-secret facts from a Graph access token: ``{tenantId, appId, roles, expiresOn}``.

    The payload is decoded without verifying the signature: this is our own token, freshly issued to
    us, and only used to report which application roles it carries. The token itself is never returned.
    """
    access = credential.get_token(GRAPH_SCOPE)
    claims = _jwt_claims(access.token)
    roles = claims.get("roles")
    return {
        "tenantId": _optional_str(claims.get("tid")),
        "appId": _optional_str(claims.get("appid")) or _optional_str(claims.get("azp")),
        "roles": sorted({role for role in roles if isinstance(role, str)}) if isinstance(roles, list) else [],
        "expiresOn": datetime.fromtimestamp(access.expires_on, tz=UTC).isoformat(),
    }


def _jwt_claims(token: str) -> dict[str, Any]:
    segments = token.split(".")
    if len(segments) != 3:
        raise ValueError("the Graph access token is not a JWT")
    payload = segments[1]
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (binascii.Error, ValueError):
        raise ValueError("the Graph access token payload is not readable JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the Graph access token payload is not a JSON object")
    return claims


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


REQUIRED_GRAPH_ROLES: Final[Mapping[str, str]] = {
    "bulk_upload": "SynchronizationData-User.Upload",
    "provisioning_logs": "AuditLog.Read.All",
    "user_lookup": "User.Read.All",
    "role_check": "RoleManagement.Read.Directory",
    "notify": "Mail.Send",
    "credential_tap": "UserAuthMethod-TAP.ReadWrite.All",
    "credential_password": "User-PasswordProfile.ReadWrite.All",
    "revoke_sessions": "User.RevokeSessions.All",
}
"""Least-privileged Graph application permission per capability (docs/security.md explains each).

``role_check`` reads role assignments and PIM eligibilities so that no administrator is re-enabled or given a
pass. ``credential_tap`` is the granular Temporary Access Pass permission; ``UserAuthenticationMethod.
ReadWrite.All`` would also manage every other authentication method. ``credential_password`` also needs the
User Administrator directory role assigned to the app; that is a directory role, not an app role, so it is not
visible in the token's ``roles`` claim. ``notify`` is required in the token only with MAIL_PERMISSION=graph:
with Exchange RBAC for Applications the grant lives in Exchange and the token carries no Mail.Send role.
"""

ROLE_ALTERNATIVES: Final[Mapping[str, frozenset[str]]] = {
    # OwnedBy works when the app owns the provisioning app (the ISV variant on the bulkUpload permissions page).
    "SynchronizationData-User.Upload": frozenset({"SynchronizationData-User.Upload.OwnedBy"}),
    # The newest concepts page names ProvisioningLog.Read.All (inbound provisioning API concepts).
    "AuditLog.Read.All": frozenset({"ProvisioningLog.Read.All"}),
    "User.Read.All": frozenset({"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    "RoleManagement.Read.Directory": frozenset(
        {
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        }
    ),
    # The broad authentication-methods permission also covers the pass (the TAP pages list both).
    "UserAuthMethod-TAP.ReadWrite.All": frozenset({"UserAuthenticationMethod.ReadWrite.All"}),
    "User-PasswordProfile.ReadWrite.All": frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"}),
    # Microsoft Q&A reports User.ReadWrite.All also works for revokeSignInSessions.
    "User.RevokeSessions.All": frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"}),
    "Mail.Send": frozenset(),
}
"""Broader permissions that also satisfy a required one, so preflight does not fail an admin who
granted more than the minimum."""


def required_roles(
    credential_method: Literal["tap", "password", "none"],
    revoke_sessions: bool,
    *,
    mail_permission: Literal["exchange_rbac", "graph"] = "graph",
) -> set[str]:
    """The Graph application permissions the configured workflows need in the token (README lists the same)."""
    needed = {
        REQUIRED_GRAPH_ROLES["bulk_upload"],
        REQUIRED_GRAPH_ROLES["provisioning_logs"],
        REQUIRED_GRAPH_ROLES["user_lookup"],
        REQUIRED_GRAPH_ROLES["role_check"],
    }
    if mail_permission == "graph":
        needed.add(REQUIRED_GRAPH_ROLES["notify"])
    if credential_method == "tap":
        needed.add(REQUIRED_GRAPH_ROLES["credential_tap"])
    elif credential_method == "password":
        needed.add(REQUIRED_GRAPH_ROLES["credential_password"])
    elif credential_method != "none":
        raise ValueError("credential_method must be 'tap', 'password' or 'none'")
    if revoke_sessions:
        needed.add(REQUIRED_GRAPH_ROLES["revoke_sessions"])
    return needed


def missing_roles(granted: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The needed permissions that neither ``granted`` nor a broader alternative covers, sorted."""
    have = set(granted)
    return sorted(
        role for role in set(needed) if role not in have and not (ROLE_ALTERNATIVES.get(role, frozenset()) & have)
    )
