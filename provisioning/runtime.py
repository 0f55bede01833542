"""The process-wide objects activities and HTTP functions share: settings, Key Vault cache, Graph client.

They are built lazily on first use, not at import: `function_app` must import cleanly with no settings present
(the host indexes functions before app settings are checked), and a cold start should not pay for a credential
it may not need. Tests call `reset()` after changing the environment.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential

from provisioning.credentials import SecretCache, graph_credential
from provisioning.graph import GraphClient
from provisioning.notifications import Notifier
from provisioning.settings import Settings

__all__ = ["Runtime", "current", "reset"]


@dataclass
class Runtime:
    settings: Settings
    secrets: SecretCache | None
    credential: TokenCredential
    graph: GraphClient
    notifier: Notifier

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        secrets = None
        if settings.key_vault_url:
            secrets = SecretCache.from_vault_url(
                settings.key_vault_url,
                ttl_seconds=settings.secret_cache_ttl_seconds,
                managed_identity_client_id=_vault_identity_client_id(settings),
            )
        credential = graph_credential(
            auth=settings.graph_auth,
            client_id=settings.azure_client_id,
            tenant_id=settings.azure_tenant_id,
            secrets=secrets,
            client_secret_name=settings.graph_client_secret_name,
        )
        return cls(
            settings=settings,
            secrets=secrets,
            credential=credential,
            graph=GraphClient(credential),
            notifier=Notifier(settings.it_notify_address, settings.templates_dir),
        )

    def close(self) -> None:
        self.graph.close()
        close: Any = getattr(self.credential, "close", None)
        if callable(close):
            close()


def _vault_identity_client_id(settings: Settings) -> str | None:
    """The managed identity that reads Key Vault.

    With GRAPH_AUTH=managed_identity, AZURE_CLIENT_ID names it. With client_secret, AZURE_CLIENT_ID is the app
    registration, so the vault is read with the identity the host already uses for storage
    (`AzureWebJobsStorage__clientId`, set by the Bicep), or the system-assigned identity when there is none.
    """
    if settings.graph_auth == "managed_identity":
        return settings.azure_client_id
    return os.environ.get("AzureWebJobsStorage__clientId") or None  # noqa: SIM112 - the host names it so


_lock = threading.Lock()
_runtime: Runtime | None = None


def current() -> Runtime:
    """The shared runtime, built from the environment on first use (raises SettingsError when misconfigured)."""
    global _runtime  # noqa: PLW0603 - one runtime per worker process is the point
    with _lock:
        if _runtime is None:
            _runtime = Runtime.build(Settings.from_env())
        return _runtime


def reset() -> None:
    """Forget the runtime so the next call rebuilds it from the (changed) environment."""
    global _runtime  # noqa: PLW0603
    with _lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
