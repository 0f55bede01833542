"""Runs the emulator: uvicorn (HTTPS) and the CONNECT proxy on one event loop in a background
thread, and the provisioning pipeline in a worker thread. Usable from the CLI, pytest and scripts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from emulators.entra.ad import ActiveDirectory
from emulators.entra.app import build_app
from emulators.entra.certs import CertificateFiles, ensure_certificates
from emulators.entra.core import EmulatorCore
from emulators.entra.pipeline import ProvisioningPipeline
from emulators.entra.proxy import ConnectProxy
from emulators.entra.state import EmulatorState

LOOPBACK = "127.0.0.1"
TICK_SECONDS = 0.02
FLUSH_SECONDS = 1.0
START_TIMEOUT_SECONDS = 20.0


def _bind(port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class EmulatorServer:
    """The running emulator. ``start()`` returns once both ports accept connections."""

    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        proxy_port: int = 0,
        config: dict[str, Any] | None = None,
        ad: ActiveDirectory | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._ad = ad
        self._requested = (port, proxy_port)
        self._base_config = config
        self.port = 0
        self.proxy_port = 0
        self.core: EmulatorCore | None = None
        self.certificates: CertificateFiles | None = None
        self.proxy: ConnectProxy | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._loop_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._loop_error: BaseException | None = None

    def start(self) -> EmulatorServer:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.certificates = ensure_certificates(self.state_dir)
        state = EmulatorState(self.state_dir, base_config=self._base_config)
        self.core = EmulatorCore(state, self._ad)
        app_socket = _bind(self._requested[0])
        proxy_socket = _bind(self._requested[1])
        self.port = app_socket.getsockname()[1]
        self.proxy_port = proxy_socket.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.core),
            ssl_certfile=str(self.certificates.cert_chain_path),
            ssl_keyfile=str(self.certificates.key_path),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._uvicorn = uvicorn.Server(config)
        self.proxy = ConnectProxy(LOOPBACK, self.port)
        self._loop_thread = threading.Thread(
            target=self._run_loop, args=(app_socket, proxy_socket), name="entra-emulator-http", daemon=True
        )
        self._loop_thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._uvicorn.started:
            if self._loop_error is not None or not self._loop_thread.is_alive():
                raise RuntimeError(f"entra emulator failed to start: {self._loop_error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("entra emulator did not start in time")
            time.sleep(0.01)
        self._worker_thread = threading.Thread(target=self._run_worker, name="entra-emulator-pipeline", daemon=True)
        self._worker_thread.start()
        return self

    def _run_loop(self, app_socket: socket.socket, proxy_socket: socket.socket) -> None:
        async def main() -> None:
            assert self._uvicorn is not None and self.proxy is not None
            await self.proxy.start(proxy_socket)
            try:
                await self._uvicorn.serve(sockets=[app_socket])
            finally:
                await self.proxy.close()

        try:
            asyncio.run(main())
        except BaseException as error:  # reported to start() and stop()
            self._loop_error = error

    def _run_worker(self) -> None:
        """Drive the pipeline and persist state until stopped."""
        assert self.core is not None
        pipeline = ProvisioningPipeline(self.core)
        last_flush = time.monotonic()
        while not self._stopping.wait(TICK_SECONDS):
            pipeline.tick()
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                self.core.state.flush()
                last_flush = time.monotonic()

    def stop(self) -> None:
        self._stopping.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
            self._uvicorn.force_exit = True
        for thread in (self._worker_thread, self._loop_thread):
            if thread is not None:
                thread.join(timeout=10)
        if self.core is not None:
            with contextlib.suppress(OSError):
                self.core.state.flush(force=True)
            self.core.state.store.close()
