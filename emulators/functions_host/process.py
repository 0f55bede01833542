"""The functions host as a real subprocess (`python -m emulators.functions_host`), for crash and load tests.

An in-process host cannot crash the way a worker does in Azure; a subprocess can be killed with SIGKILL, leaving
its SQLite task hub exactly as a power cut would. Generic: any app module, any environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["HostProcess", "free_port", "start_host_process"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_POLL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HostProcess:
    """A running `python -m emulators.functions_host` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    function_key: str
    state_dir: Path
    log_file: Path

    @property
    def api(self) -> str:
        return f"{self.base_url}/api"

    def client(self, timeout: float = 30.0) -> httpx.Client:
        """An HTTP client with the function key; no proxy (loopback only)."""
        return httpx.Client(
            base_url=self.api, headers={"x-functions-key": self.function_key}, timeout=timeout, trust_env=False
        )

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flush, as a crashed worker would have."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM (graceful), falling back to kill -9 when the host does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)


def start_host_process(
    state_dir: Path,
    *,
    app_dir: Path,
    app_module: str = "function_app",
    time_scale: float = 1.0,
    function_key: str = "local-function-key",
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    port: int = 0,
    ready_timeout: float = 30.0,
) -> HostProcess:
    """Start the CLI with cwd = the app root; return once /admin/host/status answers.

    `env` is the child's whole environment (default: this process's). Raises, with the end of the host's output,
    when it exits early or misses `ready_timeout`. Restarting on the same `state_dir` resumes every instance.
    """
    port = port or free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / f"host-{port}-{time.time_ns()}.out"
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), child_env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "emulators.functions_host",
        "--app",
        app_module,
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--time-scale",
        str(time_scale),
        "--function-key",
        function_key,
    ]
    if strict:
        command.append("--strict")
    with log_file.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own module
            command, cwd=app_dir, env=child_env, stdout=output, stderr=subprocess.STDOUT
        )
    host = HostProcess(process, f"http://127.0.0.1:{port}", function_key, state_dir, log_file)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the functions host exited early:\n{_tail(log_file)}")
        try:
            if httpx.get(f"{host.base_url}/admin/host/status", timeout=1, trust_env=False).status_code == 200:
                return host
        except httpx.TransportError:
            pass
        time.sleep(_POLL_SECONDS)  # readiness polling interval, bounded by the deadline
    host.kill()
    raise TimeoutError(f"the functions host was not ready after {ready_timeout} s:\n{_tail(log_file)}")


def _tail(log_file: Path) -> str:
    return log_file.read_text(errors="replace")[-4000:]
