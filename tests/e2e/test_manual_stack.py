"""The README's "Running the stack by hand" commands, run as written, carry a hire to completion.

The two shell blocks are taken from the README itself and run with bash; only the ports, the state folder and
the Python interpreter are substituted (free ports and a temporary folder, so parallel runs cannot collide).
The environment the Entra emulator prints is exported unchanged and the app runs with its default settings
(managed identity), which is what broke when the printed lines carried AZURE_CLIENT_ID.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
SECTION = "### Running the stack by hand"
PLATFORM_VARIABLES = ("HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "IDENTITY_ENDPOINT")
# Variables a developer shell or an earlier test may carry; the README's user starts from a plain shell.
INHERITED_NOISE = re.compile(r"^(AZURE_|IDENTITY_|MSI_|EMULATOR_APP_|HTTPS?_PROXY$|NO_PROXY$|https?_proxy$|no_proxy$)")


def readme_blocks() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def localized(block: str, ports: dict[str, int], state: Path) -> str:
    for documented, port in ports.items():
        block = block.replace(documented, str(port))
    block = block.replace(".state", str(state))
    return re.sub(r"\bpython -m\b", f"{sys.executable} -m", block)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


@pytest.fixture
def shells() -> Iterator[list[subprocess.Popen[str]]]:
    """Every bash the test starts runs in its own session, so stopping it stops its pipeline too."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def read_until(stream: IO[str], prefix: str, process: subprocess.Popen[str], errors: Path) -> str:
    for line in stream:
        if line.startswith(prefix):
            return line.strip().split("=", 1)[1]
    raise AssertionError(f"exited {process.wait()} before printing {prefix}: {errors.read_text()[-3000:]}")


def test_the_readme_commands_run_a_hire_with_the_printed_environment(
    tmp_path: Path, shells: list[subprocess.Popen[str]]
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the README seeds the sender mailbox with curl")
    emulator_block, app_block = readme_blocks()
    ports = {"8443": free_port(), "8888": free_port(), "7071": free_port()}
    state = tmp_path / ".state"
    shell_env = {key: value for key, value in os.environ.items() if not INHERITED_NOISE.match(key)}

    def run(block: str, errors: Path, stdout: int) -> subprocess.Popen[str]:
        with errors.open("w") as sink:
            process = subprocess.Popen(
                ["bash", "-c", localized(block, ports, state)],
                cwd=REPO_ROOT,
                env=shell_env,
                stdout=stdout,
                stderr=sink,
                text=True,
                start_new_session=True,
            )
        shells.append(process)
        return process

    emulator_errors = tmp_path / "entra.err"
    run(emulator_block, emulator_errors, subprocess.DEVNULL)
    env_file = state / "entra.env"
    printed = wait_for(
        lambda: env_file.exists() and "EMULATOR_APP_CLIENT_SECRET=" in env_file.read_text() and env_file.read_text(),
        60,
        f"the emulator printed no environment: {emulator_errors.read_text()[-3000:]}",
    )
    names = [line.split("=", 1)[0] for line in printed.splitlines() if line]
    assert set(PLATFORM_VARIABLES) <= set(names)
    assert "AZURE_CLIENT_ID" not in names and "AZURE_CLIENT_SECRET" not in names

    host_errors = tmp_path / "host.err"
    host = run(app_block, host_errors, subprocess.PIPE)
    assert host.stdout is not None
    base_url = read_until(host.stdout, "FUNCTIONS_HOST_URL=", host, host_errors)
    function_key = read_until(host.stdout, "FUNCTION_KEY=", host, host_errors)

    start = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    hire = {
        "eventId": "readme-hire-1",
        "type": "hire",
        "effectiveDate": start,
        "occurredAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "employee": {"employeeId": "E31337", "givenName": "Ada", "familyName": "Hand", "country": "DE"},
    }
    with httpx.Client(
        base_url=f"{base_url}/api", headers={"x-functions-key": function_key}, timeout=30, trust_env=False
    ) as api:
        accepted = api.post("/hr-events", json=hire)
        assert accepted.status_code == 202, accepted.text
        status_path = f"/hr-events/{accepted.json()['id']}"

        def finished() -> dict[str, Any] | None:
            status: dict[str, Any] = api.get(status_path).json()
            return status if status.get("stage") in ("completed", "failed") else None

        status = wait_for(finished, 120, f"the hire did not finish: {host_errors.read_text()[-3000:]}")
    assert status["stage"] == "completed", status
    assert status["output"]["outcome"] == "provisioned"
    assert status["output"]["userPrincipalName"] == "ada.hand@contoso.com"
