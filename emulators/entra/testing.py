"""Run the emulator in-process and drive its control API: for pytest, the demo and benchmarks.

with EntraEmulator(state_dir) as entra:
    os.environ.update(entra.env)          # real SDK clients now reach it via the proxy
    entra.control.configure(agentOnline=False)
    entra.control.wait_until(lambda s: s["entraUsers"], timeout=10)
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from azure.identity import ClientSecretCredential

from emulators.entra.ad import ActiveDirectory
from emulators.entra.config import DEFAULT_CLIENT_ID
from emulators.entra.server import EmulatorServer

#: Where ``env`` puts the emulated app registration's credentials. Not AZURE_CLIENT_ID/AZURE_CLIENT_SECRET:
#: exported as-is those would make an app in its default managed-identity mode ask for a user-assigned
#: identity with the app registration's id, and azure-identity's EnvironmentCredential would pick the secret.
APP_CLIENT_ID_VARIABLE = "EMULATOR_APP_CLIENT_ID"
APP_CLIENT_SECRET_VARIABLE = "EMULATOR_APP_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret

#: Pipeline delays small enough for tests, large enough that ordering is observable.
FAST_CONFIG: dict[str, Any] = {"agentDelaySeconds": 0.0, "logDelaySeconds": 0.1, "syncDelaySeconds": 0.2}


def app_credential(env: Mapping[str, str], **kwargs: Any) -> ClientSecretCredential:
    """azure-identity's ClientSecretCredential for the emulated app registration, from ``EntraEmulator.env``."""
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], env[APP_CLIENT_ID_VARIABLE], env[APP_CLIENT_SECRET_VARIABLE], **kwargs
    )


class EntraControl:
    """A small typed client for ``/_emulator/`` (direct to loopback, never through the proxy)."""

    def __init__(self, base_url: str, ca_path: Path) -> None:
        context = ssl.create_default_context(cafile=str(ca_path))
        self._http = httpx.Client(base_url=base_url, verify=context, trust_env=False, timeout=30.0)

    def close(self) -> None:
        self._http.close()

    def state(self) -> dict[str, Any]:
        response = self._http.get("/_emulator/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def config(self) -> dict[str, Any]:
        response = self._http.get("/_emulator/config")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def configure(self, **partial: Any) -> dict[str, Any]:
        """PUT /_emulator/config with a partial update; returns the whole new config."""
        response = self._http.put("/_emulator/config", json=partial)
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def seed_user(self, where: str, **props: Any) -> dict[str, Any]:
        """Seed an existing person: where is "ad" (AD only), "entra" (cloud only) or "synced"."""
        response = self._http.post("/_emulator/users", json={"where": where, **props})
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def seed_users(self, where: str, users: list[dict[str, Any]]) -> int:
        """Seed many people in one call; returns how many were created."""
        response = self._http.post("/_emulator/users", json={"where": where, "users": users})
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        return int(response.json()["seeded"])

    def seed_secret(self, vault_host: str, name: str, value: str) -> str:
        """Store a Key Vault secret (vault_host like "demo.vault.azure.net"); returns its version."""
        response = self._http.post("/_emulator/secrets", json={"vault": vault_host, "name": name, "value": value})
        response.raise_for_status()
        return str(response.json()["version"])

    def seed_group(self, members: list[str], **props: Any) -> dict[str, Any]:
        """A security group with these member object ids (users or groups); returns it with its id."""
        response = self._http.post("/_emulator/groups", json={"members": members, **props})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def assign_role(self, principal_id: str, role: str, *, eligible: bool = False, scope: str = "/") -> None:
        """An Entra role (built-in name) assigned to a user or role-assignable group, active or PIM-eligible."""
        payload = {"principalId": principal_id, "role": role, "eligible": eligible, "directoryScopeId": scope}
        self._http.post("/_emulator/roleAssignments", json=payload).raise_for_status()

    def set_pim_licensed(self, licensed: bool) -> None:
        """False emulates a tenant without Entra ID P2 or Governance (no Privileged Identity Management)."""
        self._http.put("/_emulator/roleManagement", json={"pimLicensed": licensed}).raise_for_status()

    def reset(self) -> None:
        self._http.post("/_emulator/reset").raise_for_status()

    def wait_until(
        self, predicate: Callable[[dict[str, Any]], Any], timeout: float = 10.0, interval: float = 0.05
    ) -> dict[str, Any]:
        """Poll the state until ``predicate(state)`` is truthy; return that state or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if predicate(state):
                return state
            if time.monotonic() >= deadline:
                summary = {key: len(value) for key, value in state.items() if isinstance(value, list)}
                raise TimeoutError(f"emulator state did not reach the condition within {timeout}s: {summary}")
            time.sleep(interval)


class EntraEmulator:
    """The emulator on free (or given) loopback ports, as a context manager."""

    def __init__(
        self,
        state_dir: Path | str,
        port: int = 0,
        proxy_port: int = 0,
        config: dict[str, Any] | None = None,
        ad: ActiveDirectory | None = None,
    ) -> None:
        """``ad``: a real directory for the provisioning agent (the samba backend); None keeps AD in memory."""
        self._server = EmulatorServer(Path(state_dir), port=port, proxy_port=proxy_port, config=config, ad=ad)
        self._control: EntraControl | None = None

    def start(self) -> EntraEmulator:
        self._server.start()
        self._control = EntraControl(self.base_url, self.ca_path)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
        self._server.stop()

    def __enter__(self) -> EntraEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def proxy_port(self) -> int:
        return self._server.proxy_port

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        assert self._server.certificates is not None, "start() the emulator first"
        return self._server.certificates.ca_path

    @property
    def control(self) -> EntraControl:
        assert self._control is not None, "start() the emulator first"
        return self._control

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to use the emulator with production hostnames.

        Exported unchanged it leaves an app in its default settings (managed identity) working: the
        identity endpoint and header are the emulated managed identity's, and the app registration's
        credentials (for the client-secret option and for test clients) travel under names of their own.
        """
        assert self._server.core is not None, "start() the emulator first"
        state = self._server.core.state
        ca = str(self.ca_path)
        return {
            "HTTPS_PROXY": f"http://127.0.0.1:{self.proxy_port}",
            "NO_PROXY": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "IDENTITY_ENDPOINT": f"{self.base_url}/msi/token",
            "IDENTITY_HEADER": state.identity_header,
            "AZURE_TENANT_ID": str(state.config["tenantId"]),
            APP_CLIENT_ID_VARIABLE: DEFAULT_CLIENT_ID,
            APP_CLIENT_SECRET_VARIABLE: state.client_secret,
        }

    def flush(self) -> None:
        """Persist the state now (the worker otherwise does it about once a second when dirty)."""
        assert self._server.core is not None, "start() the emulator first"
        self._server.core.state.flush()

    def route_hosts(self, hosts: tuple[str, ...], port: int) -> None:
        """Let the proxy tunnel these hostnames (``*.example.com`` for subdomains) to another loopback emulator."""
        proxy = self._server.proxy
        assert proxy is not None, "start() the emulator first"
        for host in hosts:
            proxy.add_route(host, "127.0.0.1", port)

    @property
    def state_dir(self) -> Path:
        return self._server.state_dir

    @property
    def proxy_denied(self) -> list[str]:
        """CONNECT targets the proxy refused (fail-closed evidence)."""
        proxy = self._server.proxy
        return list(proxy.denied) if proxy is not None else []
