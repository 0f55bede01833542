"""login.microsoftonline.com and the App Service managed identity endpoint.

OIDC discovery per tenant, the v2.0 token endpoint (client credentials with a secret), a
minimal instance-discovery answer, and ``IDENTITY_ENDPOINT`` (api-version 2019-08-01,
``X-IDENTITY-HEADER``) as azure-identity's AppServiceCredential calls it.
"""

from __future__ import annotations

import base64
import hmac
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.entra.config import GRAPH_RESOURCE, MANAGED_IDENTITY, VAULT_RESOURCE
from emulators.entra.core import EmulatorCore
from emulators.entra.responses import aad_error
from emulators.entra.routing import core_of, origin
from emulators.entra.tokens import TOKEN_LIFETIME_SECONDS

KNOWN_RESOURCES = (GRAPH_RESOURCE, VAULT_RESOURCE)
MI_API_VERSION = "2019-08-01"


def _tenant_ok(core: EmulatorCore, tenant: str) -> bool:
    return tenant.lower() in (core.tenant_id.lower(), "organizations", "common")


async def openid_configuration(request: Request) -> Response:
    core = core_of(request)
    tenant = request.path_params["tenant"]
    if not _tenant_ok(core, tenant):
        return aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
    base = f"{origin(request)}/{core.tenant_id}"
    return JSONResponse(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"https://login.microsoftonline.com/{core.tenant_id}/v2.0",
            "jwks_uri": f"{origin(request)}/{core.tenant_id}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }
    )


async def instance_discovery(request: Request) -> Response:
    """MSAL only calls this for unknown authority hosts; answer like the real service."""
    host = request.headers.get("host", "login.microsoftonline.com").split(":")[0]
    return JSONResponse(
        {
            "tenant_discovery_endpoint": f"https://{host}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [
                {
                    "preferred_network": "login.microsoftonline.com",
                    "preferred_cache": "login.windows.net",
                    "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"],
                }
            ],
        }
    )


def _resource_from_scope(scope: str) -> str | None:
    parts = scope.split()
    if len(parts) != 1 or not parts[0].endswith("/.default"):
        return None
    resource = parts[0][: -len("/.default")].rstrip("/")
    return resource if resource in KNOWN_RESOURCES else None


async def token(request: Request) -> Response:
    core = core_of(request)
    tenant = request.path_params["tenant"]
    form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        decoded = base64.b64decode(basic[6:]).decode("utf-8")
        client_id, _, client_secret = decoded.partition(":")
        form.setdefault("client_id", unquote(client_id))
        form.setdefault("client_secret", unquote(client_secret))
    with core.state.lock:
        failure = core.faults.token_fault()
        core.state.mark_dirty()
    if failure is not None:
        return aad_error(
            failure,
            "temporarily_unavailable",
            500011 if failure == 500 else 50196,
            "The service is temporarily unavailable. Retry the request later.",
        )
    if not _tenant_ok(core, tenant) or tenant.lower() in ("common", "organizations"):
        return aad_error(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
        )
    if form.get("grant_type") != "client_credentials":
        return aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    client_id = form.get("client_id", "")
    registered = core.client_secrets()
    if client_id not in registered:
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory.",
        )
    if "client_assertion" in form:
        return aad_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
    if not hmac.compare_digest(form.get("client_secret", ""), registered[client_id]):
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    resource = _resource_from_scope(form.get("scope", ""))
    if resource is None:
        return aad_error(
            400,
            "invalid_scope",
            70011,
            f"The provided value for scope {form.get('scope', '')} is not valid. Client credential flows "
            "must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    roles = core.roles_for(client_id) if resource == GRAPH_RESOURCE else []
    access_token, _ = core.issuer.issue(client_id, resource, roles, object_id=client_id)
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


async def managed_identity_token(request: Request) -> Response:
    """App Service / Functions managed identity (the IDENTITY_ENDPOINT protocol)."""
    core = core_of(request)
    header = request.headers.get("x-identity-header", "")
    if not hmac.compare_digest(header, core.state.identity_header):
        return JSONResponse(
            {"statusCode": 401, "message": "Unauthorized: missing or wrong X-IDENTITY-HEADER."},
            status_code=401,
        )
    if request.query_params.get("api-version") != MI_API_VERSION:
        return JSONResponse(
            {"statusCode": 400, "message": f"Unsupported api-version; use {MI_API_VERSION}."}, status_code=400
        )
    with core.state.lock:
        failure = core.faults.token_fault()
        core.state.mark_dirty()
    if failure is not None:
        return JSONResponse(
            {"statusCode": failure, "message": "The managed identity endpoint is temporarily unavailable."},
            status_code=failure,
        )
    resource = request.query_params.get("resource", "").rstrip("/")
    if resource.endswith("/.default"):
        resource = resource[: -len("/.default")]
    if resource not in KNOWN_RESOURCES:
        return JSONResponse(
            {
                "statusCode": 400,
                "message": f"AADSTS500011: The resource principal named {resource} was not found.",
            },
            status_code=400,
        )
    app_id = core.managed_identity_app()
    requested = request.query_params.get("client_id")
    if requested and requested != app_id:
        return JSONResponse(
            {"statusCode": 400, "message": "No user-assigned identity with that client_id is assigned."},
            status_code=400,
        )
    with core.state.lock:
        configured = core.state.config["appRoles"]
        roles = list(configured.get(app_id, configured.get(MANAGED_IDENTITY, [])))
    if resource != GRAPH_RESOURCE:
        roles = []
    access_token, expires_on = core.issuer.issue(app_id, resource, roles, object_id=app_id)
    return JSONResponse(
        {
            "access_token": access_token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": app_id,
        }
    )


routes = [
    Route("/common/discovery/instance", instance_discovery, methods=["GET"]),
    Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    Route("/msi/token", managed_identity_token, methods=["GET"]),
]
