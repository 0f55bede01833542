"""The test/demo control API under ``/_emulator/`` (same port; never part of Microsoft's surface)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.entra.config import ConfigError
from emulators.entra.keyvault import store_secret
from emulators.entra.routing import core_of


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as error:
        raise ConfigError("body must be JSON") from error


async def get_state(request: Request) -> Response:
    return JSONResponse(core_of(request).state_view())


async def get_config(request: Request) -> Response:
    core = core_of(request)
    with core.state.lock:
        return JSONResponse(core.state.config)


async def put_config(request: Request) -> Response:
    try:
        return JSONResponse(core_of(request).apply_config(await _body(request)))
    except ConfigError as error:
        return JSONResponse({"error": str(error)}, status_code=400)


async def post_user(request: Request) -> Response:
    try:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ConfigError("body must be a JSON object")
        where = str(body.pop("where", None))
        if isinstance(body.get("users"), list):
            # Batch form for large seeds (benchmarks): {"where": ..., "users": [{...}, ...]}.
            seeded = [core_of(request).seed_user(where, dict(props)) for props in body["users"]]
            return JSONResponse({"seeded": len(seeded)}, status_code=201)
        return JSONResponse(core_of(request).seed_user(where, body), status_code=201)
    except ConfigError as error:
        return JSONResponse({"error": str(error)}, status_code=400)


async def post_secret(request: Request) -> Response:
    """Seed a Key Vault secret: {"vault": "<name>.vault.azure.net", "name", "value"}."""
    core = core_of(request)
    body = await _body(request)
    vault = str(body.get("vault", "")).lower()
    if not vault.endswith(".vault.azure.net") or not body.get("name") or not isinstance(body.get("value"), str):
        return JSONResponse({"error": "vault (<name>.vault.azure.net), name and value are required"}, status_code=400)
    version = store_secret(
        core, vault, str(body["name"]), body["value"], tags=body.get("tags"), content_type=body.get("contentType")
    )
    return JSONResponse({"name": body["name"], "version": version["version"]}, status_code=201)


async def post_reset(request: Request) -> Response:
    core_of(request).reset()
    return Response(status_code=204)


routes = [
    Route("/_emulator/state", get_state, methods=["GET"]),
    Route("/_emulator/config", get_config, methods=["GET"]),
    Route("/_emulator/config", put_config, methods=["PUT", "PATCH"]),
    Route("/_emulator/users", post_user, methods=["POST"]),
    Route("/_emulator/secrets", post_secret, methods=["POST"]),
    Route("/_emulator/reset", post_reset, methods=["POST"]),
]
