"""Run the HR systems emulator next to the Entra emulator (same CA, same CONNECT proxy) and drive it.

with EntraEmulator(state_dir) as entra, HrisEmulator(entra) as hris:
    hris.control.configure("bamboohr", credentials={"apiKey": "..."}, webhookTarget=url, webhookSecret="...")
    hris.control.put_employee("bamboohr", "101", notify="created", firstName="Zoë", ...)
    hris.control.wait_until("bamboohr", lambda s: s["writebacks"], timeout=60)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from emulators.entra.certs import ensure_certificates
from emulators.entra.testing import EntraEmulator
from emulators.hris.app import HOSTS, build_app
from emulators.hris.state import HrisState
from emulators.hris.webhooks import Dispatcher

START_TIMEOUT_SECONDS = 20.0


class HrisControl:
    """A small typed client for `/_emulator/hris/` (direct to loopback, never through the proxy)."""

    def __init__(self, base_url: str, ca_path: str) -> None:
        context = ssl.create_default_context(cafile=ca_path)
        self._http = httpx.Client(base_url=f"{base_url}/_emulator/hris", verify=context, trust_env=False, timeout=30)

    def close(self) -> None:
        self._http.close()

    def _ok(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        return response

    def reset(self) -> None:
        self._ok(self._http.post("/reset"))

    def configure(self, vendor: str, **config: Any) -> None:
        self._ok(self._http.put(f"/{vendor}/config", json=config))

    def put_employee(
        self, vendor: str, employee_id: str, *, notify: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        params = {"notify": notify} if notify else None
        result: dict[str, Any] = self._ok(
            self._http.put(f"/{vendor}/employees/{employee_id}", json=fields, params=params)
        ).json()
        return result

    def terminate(self, vendor: str, employee_id: str, termination_date: str) -> dict[str, Any]:
        response = self._http.post(
            f"/{vendor}/employees/{employee_id}/terminate", json={"terminationDate": termination_date}
        )
        result: dict[str, Any] = self._ok(response).json()
        return result

    def notify(self, vendor: str, employee_id: str, kind: str = "updated") -> None:
        self._ok(self._http.post(f"/{vendor}/employees/{employee_id}/notify", params={"kind": kind}))

    def faults(self, vendor: str, **faults: Any) -> None:
        self._ok(self._http.post(f"/{vendor}/faults", json=faults))

    def clear_faults(self, vendor: str) -> None:
        self._ok(self._http.delete(f"/{vendor}/faults"))

    def state(self, vendor: str) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self._http.get(f"/{vendor}/state")).json()
        return result

    def wait_until(
        self, vendor: str, predicate: Callable[[dict[str, Any]], Any], timeout: float = 30.0, interval: float = 0.05
    ) -> dict[str, Any]:
        """Poll the vendor's state until `predicate(state)` is truthy; TimeoutError at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(vendor)
            if predicate(state):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{vendor} emulator state did not reach the condition within {timeout} s")
            time.sleep(interval)


class HrisEmulator:
    """BambooHR, HiBob and Personio on one loopback HTTPS port, reachable through the Entra emulator's proxy."""

    def __init__(self, entra: EntraEmulator, port: int = 0) -> None:
        self._entra = entra
        self._requested_port = port
        self.state = HrisState(("bamboohr", "hibob", "personio"))
        self._dispatcher = Dispatcher(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._control: HrisControl | None = None
        self.port = 0

    def start(self) -> HrisEmulator:
        certificates = ensure_certificates(
            self._entra.state_dir, names=(*HOSTS, "localhost", "127.0.0.1"), prefix="hris", common_name=HOSTS[0]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.state, self._dispatcher),
            ssl_certfile=str(certificates.cert_chain_path),
            ssl_keyfile=str(certificates.key_path),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(sock)), name="hris-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the HR systems emulator did not start")
            time.sleep(0.01)
        self._dispatcher.start()
        self._entra.route_hosts(HOSTS, self.port)
        self._control = HrisControl(self.base_url, str(certificates.ca_path))
        return self

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
        self._dispatcher.stop()
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> HrisEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def control(self) -> HrisControl:
        assert self._control is not None, "start() the emulator first"
        return self._control
