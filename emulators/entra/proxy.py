"""A fail-closed HTTPS CONNECT proxy that sends Microsoft's hostnames to the emulator.

Clients keep production URLs; ``HTTPS_PROXY`` points here. Only CONNECT to port 443 of
login.microsoftonline.com, graph.microsoft.com and ``*.vault.azure.net`` is tunnelled (TLS runs
end to end, so hostname verification uses the real names). Other emulators (the HR systems) add
their hostnames with ``add_route``; everything else gets 403, so nothing can reach the real cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

ALLOWED_HOSTS = frozenset({"login.microsoftonline.com", "graph.microsoft.com"})
ALLOWED_SUFFIX = ".vault.azure.net"
MAX_HEAD_BYTES = 16_384


def is_allowed(host: str, port: int) -> bool:
    host = host.lower().rstrip(".")
    return port == 443 and (host in ALLOWED_HOSTS or (host.endswith(ALLOWED_SUFFIX) and host != ALLOWED_SUFFIX[1:]))


class ConnectProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.denied: list[str] = []
        self._server: asyncio.AbstractServer | None = None
        self._routes: dict[str, tuple[str, int]] = {}

    def add_route(self, host: str, upstream_host: str, upstream_port: int) -> None:
        """Tunnel CONNECT to ``host``:443 (or any subdomain, written ``*.example.com``) to another emulator."""
        self._routes[host.lower()] = (upstream_host, upstream_port)

    def upstream_for(self, host: str, port: int) -> tuple[str, int] | None:
        host = host.lower().rstrip(".")
        if is_allowed(host, port):
            return self.upstream_host, self.upstream_port
        if port != 443:
            return None
        if host in self._routes:
            return self._routes[host]
        parent = host.split(".", 1)[1] if "." in host else ""
        return self._routes.get(f"*.{parent}") if parent.count(".") >= 1 else None

    async def start(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        target = parts[1] if len(parts) == 3 else ""
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            await self._refuse(writer, target or request_line)
            return
        host, _, port_text = target.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            port = -1
        upstream = self.upstream_for(host.strip("[]"), port)
        if upstream is None:
            await self._refuse(writer, target)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except asyncio.CancelledError:
            # Shutdown cancels open tunnels; ending quietly keeps asyncio from logging each one.
            for stream in (writer, up_writer):
                stream.close()

    async def _refuse(self, writer: asyncio.StreamWriter, target: str) -> None:
        self.denied.append(target)
        body = b"Forbidden: the emulator proxy only reaches hosts it emulates.\n"
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65_536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
