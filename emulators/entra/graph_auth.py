"""Bearer-token and app-role checks for every Graph route (401 / 403 in Graph's envelope)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulators.entra.config import GRAPH_RESOURCE
from emulators.entra.core import EmulatorCore
from emulators.entra.responses import graph_error
from emulators.entra.tokens import InvalidToken

# Which application permissions let a caller use each kind of route (any one suffices).
READ_USERS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
WRITE_USERS = ("User.ReadWrite.All", "Directory.ReadWrite.All")
WRITE_PASSWORD_PROFILE = (
    "User-PasswordProfile.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
)
CREATE_TAP = ("UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-TAP.ReadWrite.All")
READ_TAP = (
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "UserAuthMethod-TAP.Read.All",
    "UserAuthMethod-TAP.ReadWrite.All",
)
SEND_MAIL = ("Mail.Send",)
REVOKE_SESSIONS = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
READ_PROVISIONING_LOGS = ("AuditLog.Read.All", "ProvisioningLog.Read.All")
BULK_UPLOAD = ("SynchronizationData-User.Upload", "SynchronizationData-User.Upload.OwnedBy")
READ_SYNC_JOBS = ("Synchronization.Read.All", "Synchronization.ReadWrite.All")
WRITE_SYNC_JOBS = ("Synchronization.ReadWrite.All",)


def authorize(request: Request, any_of: tuple[str, ...]) -> tuple[dict[str, Any], Response | None]:
    """Return (claims, None) when the caller's token holds one of ``any_of``, else an error response."""
    core: EmulatorCore = request.app.state.core
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        return {}, graph_error(request, 401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = core.issuer.verify(authorization[7:].strip(), GRAPH_RESOURCE)
    except InvalidToken as error:
        message = "Access token has expired or is not yet valid." if "expired" in str(error) else str(error)
        return {}, graph_error(request, 401, "InvalidAuthenticationToken", message)
    roles = set(claims.get("roles") or [])
    if not roles.intersection(any_of):
        return claims, graph_error(
            request, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    return claims, None
