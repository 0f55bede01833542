"""What every route of the emulator reads from its request: the emulator core and the origin the client called."""

from __future__ import annotations

from starlette.requests import Request

from emulators.entra.core import EmulatorCore


def core_of(request: Request) -> EmulatorCore:
    core: EmulatorCore = request.app.state.core
    return core


def origin(request: Request) -> str:
    """``https://<host the client used>``: Microsoft builds its links from the request's host."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
