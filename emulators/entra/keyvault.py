"""Key Vault secrets (``*.vault.azure.net``): GET latest / by version, PUT, and the challenge flow.

Order of checks follows the service: api-version first, then the bearer challenge (answered
before the body is read), then the operation. Each vault host has its own secrets.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.entra.config import VAULT_RESOURCE
from emulators.entra.core import EmulatorCore
from emulators.entra.responses import vault_error
from emulators.entra.routing import core_of
from emulators.entra.timeutil import now
from emulators.entra.tokens import InvalidToken

SUPPORTED_API_VERSIONS = frozenset(
    {"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"}
)


def _vault_name(request: Request) -> str:
    return request.headers.get("host", "localhost").split(":")[0].lower()


def _challenge(core: EmulatorCore, message: str) -> Response:
    header = f'Bearer authorization="https://login.microsoftonline.com/{core.tenant_id}", resource="{VAULT_RESOURCE}"'
    return vault_error(401, "Unauthorized", message, headers={"WWW-Authenticate": header})


def _bundle(request: Request, name: str, version: dict[str, Any]) -> dict[str, Any]:
    host = request.headers.get("host", request.url.netloc)
    bundle: dict[str, Any] = {
        "value": version["value"],
        "id": f"https://{host}/secrets/{name}/{version['version']}",
        "attributes": {
            "enabled": True,
            "created": version["created"],
            "updated": version["created"],
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": version.get("tags") or {},
    }
    if version.get("contentType") is not None:
        bundle["contentType"] = version["contentType"]
    return bundle


async def _guard(request: Request) -> Response | None:
    """api-version, injected outage, then the bearer token; None when the request may proceed."""
    core = core_of(request)
    api_version = request.query_params.get("api-version")
    if api_version is None:
        return vault_error(400, "BadParameter", "The 'api-version' query parameter is missing.")
    if api_version not in SUPPORTED_API_VERSIONS:
        return vault_error(
            400,
            "BadParameter",
            f"The specified version ({api_version}) is not recognized. Consider using the latest supported "
            "version (2026-04-01).",
        )
    with core.state.lock:
        failing = core.faults.key_vault_fault()
    if failing:
        return vault_error(
            503, "ServiceUnavailable", "The service is temporarily unavailable.", headers={"Retry-After": "1"}
        )
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer "):
        return _challenge(core, "AKV10000: Request is missing a Bearer or PoP token.")
    try:
        core.issuer.verify(authorization[7:].strip(), VAULT_RESOURCE)
    except InvalidToken:
        return _challenge(core, "AKV10022: Invalid audience or token.")
    return None


async def get_secret(request: Request) -> Response:
    refusal = await _guard(request)
    if refusal is not None:
        return refusal
    core = core_of(request)
    name = request.path_params["name"]
    wanted = request.path_params.get("version") or ""
    with core.state.lock:
        versions = core.state.secrets.get(_vault_name(request), {}).get(name.lower(), [])
        match = (
            versions[-1]
            if versions and not wanted
            else next((version for version in versions if version["version"] == wanted), None)
        )
        if match is None:
            suffix = f"/{wanted}" if wanted else ""
            return vault_error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name}{suffix} was not found in this key vault. If you recently "
                "deleted this secret you may be able to recover it using the correct recovery command.",
            )
        return JSONResponse(_bundle(request, versions[0]["name"], match))


async def set_secret(request: Request) -> Response:
    refusal = await _guard(request)
    if refusal is not None:
        return refusal
    core = core_of(request)
    name = request.path_params["name"]
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        return vault_error(400, "BadParameter", "Property 'value' is required and must be a string.")
    version = store_secret(
        core, _vault_name(request), name, body["value"], tags=body.get("tags"), content_type=body.get("contentType")
    )
    return JSONResponse(_bundle(request, name, version))


def store_secret(
    core: EmulatorCore, vault: str, name: str, value: str, *, tags: Any = None, content_type: Any = None
) -> dict[str, Any]:
    """Add a new version of a secret (PUT and the control API's seeding share this)."""
    version = {
        "name": name,
        "version": uuid.uuid4().hex,
        "value": value,
        "created": int(now()),
        "tags": tags,
        "contentType": content_type,
    }
    with core.state.lock:
        core.state.secrets.setdefault(vault, {}).setdefault(name.lower(), []).append(version)
        core.state.mark_dirty()
    return version


routes = [
    Route("/secrets/{name}", get_secret, methods=["GET"]),
    Route("/secrets/{name}/", get_secret, methods=["GET"]),
    Route("/secrets/{name}/{version}", get_secret, methods=["GET"]),
    Route("/secrets/{name}", set_secret, methods=["PUT"]),
]
