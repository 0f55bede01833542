"""Control API, persistence across restarts, and the CLI of the Entra emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulators.entra.config import default_config, merge_config, upgrade_persisted
from emulators.entra.testing import FAST_CONFIG, EntraEmulator, app_credential

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_KEYS = [
    "HTTPS_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "AZURE_TENANT_ID",
    "EMULATOR_APP_CLIENT_ID",
    "EMULATOR_APP_CLIENT_SECRET",
]


def test_env_has_every_documented_key(entra: EntraEmulator) -> None:
    assert list(entra.env) == ENV_KEYS
    assert entra.env["NO_PROXY"] == "127.0.0.1,localhost"
    assert entra.env["REQUESTS_CA_BUNDLE"] == entra.env["SSL_CERT_FILE"] == str(entra.ca_path)


def test_config_partial_updates_merge_and_validate(entra_env: EntraEmulator) -> None:
    control = entra_env.control
    merged = control.configure(rateLimit={"dailyCalls": 2000}, faults={"rate429": 0.5})
    assert merged["rateLimit"] == {
        "callsPerWindow": 40,
        "windowSeconds": 5,
        "dailyCalls": 2000,
        "omitRetryAfter": False,
    }
    assert merged["faults"]["rate429"] == 0.5 and merged["faults"]["retryAfterSeconds"] == 5
    assert merged["agentDelaySeconds"] == FAST_CONFIG["agentDelaySeconds"]
    for bad in (
        {"noSuchKey": 1},
        {"faults": {"rate503": 2}},
        {"agentDelaySeconds": -1},
        {"agentOnline": "yes"},
        {"rateLimit": {"windowSeconds": 0}},
        {"rateLimit": {"callsPer5s": 40}},
    ):
        with pytest.raises(ValueError):
            control.configure(**bad)
    control.reset()
    assert control.config()["faults"]["rate429"] == 0.0


def test_a_config_persisted_before_windowed_rate_limits_still_loads() -> None:
    persisted = {"rateLimit": {"callsPer5s": 12, "dailyCalls": 2000, "omitRetryAfter": False}}
    limits = merge_config(default_config(), upgrade_persisted(persisted))["rateLimit"]
    assert limits == {"callsPerWindow": 12, "windowSeconds": 5, "dailyCalls": 2000, "omitRetryAfter": False}


def test_seeded_objects_and_reset(entra_env: EntraEmulator) -> None:
    control = entra_env.control
    ad_only = control.seed_user("ad", userPrincipalName="a@contoso.com", employeeId="S1")
    synced = control.seed_user("synced", userPrincipalName="b@contoso.com", employeeId="S2", mail="b@contoso.com")
    cloud = control.seed_user("entra", userPrincipalName="c@contoso.com")
    assert set(ad_only) == {"adUser"} and set(cloud) == {"entraUser"}
    assert synced["entraUser"]["onPremisesSyncEnabled"] is True
    assert synced["entraUser"]["onPremisesImmutableId"]
    assert cloud["entraUser"]["onPremisesSyncEnabled"] is None
    with pytest.raises(ValueError):
        control.seed_user("moon", userPrincipalName="d@contoso.com")
    with pytest.raises(ValueError):
        control.seed_user("ad", notAProperty="x")
    state = control.state()
    assert len(state["adUsers"]) == 2 and len(state["entraUsers"]) == 2
    assert set(state) >= {
        "adUsers",
        "entraUsers",
        "outbox",
        "bulkRequests",
        "provisioningLogs",
        "temporaryAccessPasses",
        "calls",
    }
    control.reset()
    state = control.state()
    assert state["adUsers"] == [] and state["entraUsers"] == [] and state["calls"] == []


def test_state_survives_a_restart(tmp_path: Path) -> None:
    with EntraEmulator(tmp_path, config=FAST_CONFIG) as first:
        first.control.seed_user("synced", userPrincipalName="keep@contoso.com", employeeId="K1")
        first.control.configure(adErrors={"K2": "SomeError"})
        env, ca_pem = first.env, first.ca_path.read_bytes()
    with EntraEmulator(tmp_path, config=FAST_CONFIG) as second:
        assert second.ca_path.read_bytes() == ca_pem
        assert second.env["EMULATOR_APP_CLIENT_SECRET"] == env["EMULATOR_APP_CLIENT_SECRET"]
        state = second.control.state()
        assert [user["employeeId"] for user in state["entraUsers"]] == ["K1"]
        assert state["config"]["adErrors"] == {"K2": "SomeError"}


def test_cli_prints_env_and_stops_on_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.entra", "--port", "0", "--proxy-port", "0", "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in ENV_KEYS]
        env = dict(line.split("=", 1) for line in lines)
        assert list(env) == ENV_KEYS
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        credential = app_credential(env)
        token = credential.get_token("https://graph.microsoft.com/.default").token
        response = httpx.get("https://graph.microsoft.com/v1.0/users", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
    assert returncode == 0, process.stderr.read() if process.stderr else ""
    assert (tmp_path / "state.sqlite3").exists()
