"""Access tokens: HS256 JWTs shaped like Entra's v1 app-only tokens (aud, iss, tid, appid, roles).

Real clients treat tokens as opaque; only the emulator verifies them, so a symmetric key kept in
the state dir is enough and keeps tokens valid across an emulator restart.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

TOKEN_LIFETIME_SECONDS = 3599


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, or meant for another resource."""


class TokenIssuer:
    def __init__(self, signing_key: str, tenant_id: str) -> None:
        self._key = signing_key
        self.tenant_id = tenant_id

    def issue(self, app_id: str, resource: str, roles: list[str], object_id: str) -> tuple[str, int]:
        """Return (token, expires_on epoch seconds)."""
        issued = int(time.time())
        expires = issued + TOKEN_LIFETIME_SECONDS
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "appid": app_id,
            "appidacr": "1",
            "idtyp": "app",
            "oid": object_id,
            "sub": object_id,
            "tid": self.tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
        }
        if roles:
            claims["roles"] = sorted(set(roles))
        return jwt.encode(claims, self._key, algorithm="HS256"), expires

    def verify(self, token: str, resource: str) -> dict[str, Any]:
        """Check signature, lifetime, audience and tenant; return the claims."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], audience=[resource, resource + "/"]
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("Lifetime validation failed, the token is expired.") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidToken("Invalid audience.") from error
        except jwt.PyJWTError as error:
            raise InvalidToken("Invalid signature or malformed token.") from error
        if claims.get("tid") != self.tenant_id:
            raise InvalidToken("The token was issued for a different tenant.")
        return claims
