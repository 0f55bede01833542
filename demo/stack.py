"""The whole product on one machine: the Entra emulator, the functions host and the real app.

Used by `make demo`, `make serve`, the e2e tests and the benchmarks, so all of them run the product the same way:
production settings and hostnames, with only the proxy and CA variables pointing at the emulator.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from emulators.entra.ad.runner import backend_name, open_directory
from emulators.entra.ad.samba import SambaDomainController
from emulators.entra.testing import APP_CLIENT_ID_VARIABLE, APP_CLIENT_SECRET_VARIABLE, EntraEmulator
from emulators.functions_host import FunctionsHost, ScaledClock
from emulators.functions_host.process import HostProcess, start_host_process
from provisioning.intake.signing import signed_headers

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_PRINCIPAL_ID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
JOB_ID = "API2AD.0c0ffee0e17a4e5c9d1e0d2c1a5e0001.4f3e2d1c-0b0a-4998-8877-665544332211"

PRODUCT_SETTINGS: dict[str, str] = {
    "PROVISIONING_API_ENDPOINT": f"https://graph.microsoft.com/v1.0/servicePrincipals/{SERVICE_PRINCIPAL_ID}"
    f"/synchronization/jobs/{JOB_ID}/bulkUpload",
    "UPN_DOMAIN": "contoso.com",
    "MAIL_SENDER": "hr-onboarding@contoso.com",
    "IT_NOTIFY_ADDRESS": "it-operations@contoso.com",
    "GRAPH_AUTH": "managed_identity",
    "TASKHUB_NAME": "hrprovisioning",
}
"""What a platform team would set in Azure (minus secrets: the managed identity needs none)."""

FUNCTION_KEY = "local-function-key"
APP_REGISTRATION_VARIABLES = frozenset({APP_CLIENT_ID_VARIABLE, APP_CLIENT_SECRET_VARIABLE})
SHELL_APP_CREDENTIALS = ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


class HrSigning(httpx.Auth):
    """Signs every request as an HR system does (scheme v1: method, path, query, timestamp, body hash)."""

    requires_request_body = True

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(signed_headers(self._secret, request.method, str(request.url), request.content))
        yield request


@dataclass
class Stack:
    """A running product: `entra` is the Microsoft cloud, `host` runs function_app.py.

    `signing_secret` is the HR signing secret when the stack runs with request signing on (the secret the test
    stored in the emulated Key Vault); `client()` then signs every request.
    """

    entra: EntraEmulator
    host: FunctionsHost
    settings: dict[str, str] = field(default_factory=dict)
    signing_secret: str | None = None
    #: The Samba domain controller behind the agent when the stack runs with ``ad="samba"``.
    directory: SambaDomainController | None = None

    @property
    def api(self) -> str:
        return f"{self.host.base_url}/api"

    def client(self, *, signed: bool = True) -> httpx.Client:
        """An HTTP client as the HR system would use it (function key, JSON, and the signature when on)."""
        auth = HrSigning(self.signing_secret) if signed and self.signing_secret else None
        return httpx.Client(
            base_url=self.api, headers={"x-functions-key": self.host.function_key}, timeout=30.0, auth=auth
        )

    def post_event(self, event: Mapping[str, Any]) -> httpx.Response:
        with self.client() as client:
            return client.post("/hr-events", json=dict(event))

    def status(self, instance_id: str) -> dict[str, Any]:
        with self.client() as client:
            response = client.get(f"/hr-events/{instance_id}")
            response.raise_for_status()
            return dict(response.json())

    def wait_for(self, instance_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait (deadline, not sleep) until the instance ends; returns the host's status."""
        return self.host.wait_for(instance_id, timeout=timeout)


def product_env(entra: EntraEmulator, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The app's environment: production settings plus the emulator's proxy/CA/managed-identity variables."""
    # The emulator's environment works unchanged; only the app registration's credentials stay out: the
    # product reads a client secret from Key Vault, never from the environment.
    platform = {key: value for key, value in entra.env.items() if key not in APP_REGISTRATION_VARIABLES}
    return {**platform, **PRODUCT_SETTINGS, **(overrides or {})}


@contextmanager
def running_stack(
    state_dir: Path,
    *,
    time_scale: float = 600.0,
    clock_start: datetime | None = None,
    settings: Mapping[str, str] | None = None,
    entra: EntraEmulator | None = None,
    entra_config: Mapping[str, Any] | None = None,
    port: int = 0,
    ad: str | None = None,
) -> Iterator[Stack]:
    """Start (or reuse) the Entra emulator and run function_app.py in the functions host until the block ends.

    ``ad``: the AD backend of a new emulator, ``memory`` or ``samba`` (default: ``$AD``, else memory).
    """
    from provisioning import runtime  # the product caches clients per process; rebuild them for this env

    with ExitStack() as cleanup:
        directory = None
        if entra is None:
            running = cleanup.enter_context(open_directory(backend_name(ad), state_dir))
            directory = running.controller
            entra = EntraEmulator(state_dir / "entra", config=dict(entra_config or {}), ad=running.backend).start()
            cleanup.callback(entra.stop)
        elif entra_config:
            entra.control.configure(**entra_config)
        env = product_env(entra, settings)
        seed_sender_mailbox(entra, env["MAIL_SENDER"])
        runtime.reset()
        host = FunctionsHost(
            "function_app",
            state_dir / "host",
            port=port,
            clock=ScaledClock(time_scale, start=clock_start),
            function_key=FUNCTION_KEY,
            env=env,
            autorun=True,
            app_path=REPO_ROOT,
        )
        try:
            host.start()
            yield Stack(entra=entra, host=host, settings=env, directory=directory)
        finally:
            host.close()
            runtime.reset()


def seed_sender_mailbox(entra: EntraEmulator, sender: str) -> None:
    """The shared mailbox notifications are sent from (a cloud-only object, as in a real tenant)."""
    users = entra.control.state()["entraUsers"]
    if any(str(user.get("userPrincipalName", "")).lower() == sender.lower() for user in users):
        return
    entra.control.seed_user("entra", userPrincipalName=sender, mail=sender, displayName="HR Onboarding")


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy, or raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


HostSubprocess = HostProcess
"""The functions host as a real process, so tests can kill -9 it (see emulators.functions_host.process)."""


def start_host_subprocess(
    entra: EntraEmulator,
    state_dir: Path,
    *,
    settings: Mapping[str, str] | None = None,
    time_scale: float = 600.0,
    port: int = 0,
    function_key: str = FUNCTION_KEY,
    ready_timeout: float = 60.0,
) -> HostProcess:
    """Run function_app.py in `python -m emulators.functions_host` from the repo root with the product env.

    Restarting on the same `state_dir` resumes every instance the last process left.
    """
    env = product_env(entra, settings)
    seed_sender_mailbox(entra, env["MAIL_SENDER"])
    # A developer shell's app credentials must not change which identity the app signs in with.
    inherited = {key: value for key, value in os.environ.items() if key not in SHELL_APP_CREDENTIALS}
    child_env = {**inherited, **env}
    return start_host_process(
        state_dir,
        app_dir=REPO_ROOT,
        time_scale=time_scale,
        function_key=function_key,
        env=child_env,
        port=port,
        ready_timeout=ready_timeout,
    )


# -- HR systems (BambooHR, HiBob, Personio) -----------------------------------------------------------------------

HRIS_VAULT_HOST = "kv-hr-connectors.vault.azure.net"
HRIS_SECRETS: dict[str, str] = {
    "bamboohr-api-key": "bamboo-api-key-" + "7" * 24,
    "bamboohr-webhook-key": "bamboo-webhook-private-key-" + "3" * 16,
    "hibob-service-user-token": "bob-service-token-" + "5" * 20,
    "hibob-webhook-secret": "bob-webhook-secret-" + "8" * 20,
    "personio-client-secret": "papi-secret-" + "2" * 24,
    "personio-webhook-token": "personio-webhook-token-" + "6" * 16,
}
"""Demo values only: a real deployment keeps these in its own Key Vault (docs/connectors.md)."""
HRIS_SETTINGS: dict[str, str] = {
    "KEY_VAULT_URL": f"https://{HRIS_VAULT_HOST}/",
    "BAMBOOHR_ENABLED": "true",
    "BAMBOOHR_COMPANY_DOMAIN": "contoso",
    "BAMBOOHR_API_KEY_SECRET_NAME": "bamboohr-api-key",
    "BAMBOOHR_WEBHOOK_SECRET_NAME": "bamboohr-webhook-key",
    "BAMBOOHR_UPN_FIELD": "customUpn",
    "HIBOB_ENABLED": "true",
    "HIBOB_SERVICE_USER_ID": "SERVICE-4242",
    "HIBOB_SERVICE_USER_TOKEN_SECRET_NAME": "hibob-service-user-token",
    "HIBOB_WEBHOOK_SECRET_NAME": "hibob-webhook-secret",
    "HIBOB_COMPANY_ID": "100200",
    "HIBOB_UPN_FIELD": "/work/custom/upn",
    "PERSONIO_ENABLED": "true",
    "PERSONIO_CLIENT_ID": "papi-demo-client",
    "PERSONIO_CLIENT_SECRET_NAME": "personio-client-secret",
    "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME": "personio-webhook-token",
    "PERSONIO_COMPANY_ID": "100200",
    "PERSONIO_UPN_ATTRIBUTE": "upn",
}
"""App settings that switch the three connectors on (add them to `running_stack(settings=...)`)."""


def connect_hris(stack: Stack, hris: Any) -> dict[str, str]:
    """Point the emulated HR systems at the running app, as an HR admin would configure each vendor's webhook.

    Seeds the connector secrets in the emulated Key Vault, gives each HR system the API credentials the app uses
    and the webhook URL (with the function key) and secret. Returns the webhook URL per vendor.
    """
    for name, value in HRIS_SECRETS.items():
        stack.entra.control.seed_secret(HRIS_VAULT_HOST, name, value)
    credentials = {
        "bamboohr": {"apiKey": HRIS_SECRETS["bamboohr-api-key"]},
        "hibob": {
            "serviceUserId": HRIS_SETTINGS["HIBOB_SERVICE_USER_ID"],
            "token": HRIS_SECRETS["hibob-service-user-token"],
        },
        "personio": {
            "clientId": HRIS_SETTINGS["PERSONIO_CLIENT_ID"],
            "clientSecret": HRIS_SECRETS["personio-client-secret"],
        },
    }
    webhook_secrets = {
        "bamboohr": HRIS_SECRETS["bamboohr-webhook-key"],
        "hibob": HRIS_SECRETS["hibob-webhook-secret"],
        "personio": HRIS_SECRETS["personio-webhook-token"],
    }
    urls = {}
    for vendor in ("bamboohr", "hibob", "personio"):
        urls[vendor] = f"{stack.api}/hris/{vendor}?code={stack.host.function_key}"
        hris.control.configure(
            vendor,
            credentials=credentials[vendor],
            companyId="100200",
            webhookTarget=urls[vendor],
            webhookSecret=webhook_secrets[vendor],
        )
    return urls
