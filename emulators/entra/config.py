"""Emulator configuration: the knobs a test or demo turns through PUT /_emulator/config.

Configuration is plain JSON so it can be persisted and merged; partial updates merge one level
deep into the object-valued keys (rateLimit, faults, adErrors, appRoles, clientSecrets).
"""

from __future__ import annotations

import copy
from typing import Any

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
VAULT_RESOURCE = "https://vault.azure.net"
MANAGED_IDENTITY = "managedIdentity"

#: Application permissions (Graph app-role values) the product needs, granted by default.
DEFAULT_GRAPH_ROLES: tuple[str, ...] = (
    "SynchronizationData-User.Upload",
    "AuditLog.Read.All",
    "User.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "UserAuthMethod-TAP.ReadWrite.All",
    "RoleManagement.Read.Directory",
    "User.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "Mail.Send",
    "User.RevokeSessions.All",
)

DEFAULT_TENANT_ID = "0c0ffee0-e17a-4e5c-9d1e-0d2c1a5e0001"
DEFAULT_CLIENT_ID = "5a1c7e33-7c4f-4b5e-9d3a-2f7e8c0b1d01"
DEFAULT_MANAGED_IDENTITY_CLIENT_ID = "9e0d3c55-1b2a-4c8d-8f6e-3a4b5c6d7e02"

#: The object-valued keys whose partial updates merge instead of replacing.
_MERGED_KEYS = ("rateLimit", "faults", "adErrors", "appRoles", "clientSecrets")


def default_config() -> dict[str, Any]:
    """Delays are realistic-but-short defaults for a demo; tests override them to near zero."""
    return {
        "tenantId": DEFAULT_TENANT_ID,
        "domain": "contoso.com",
        "agentOnline": True,
        "agentDelaySeconds": 1.0,
        "logDelaySeconds": 2.0,
        "syncDelaySeconds": 3.0,
        # Connect sync polls AD for changes (uSNChanged) this often, then exports each change syncDelaySeconds later.
        "syncIntervalSeconds": 0.25,
        # The provisioning app's "default OU for new users" and Connect sync's scope; null = OU=Employees,<domain>.
        "adTargetOu": None,
        "syncScopeOu": None,
        # cn of new users: "selectUniqueValue" (docs/deploy.md: displayName, else "displayName (employeeId)")
        # or "displayName" (the gallery template's default: a second person with the same name fails).
        "cnMapping": "selectUniqueValue",
        # The provisioning app's matching attributes in precedence order (Entra: "Match objects using this
        # attribute" + "Matching precedence"): externalId -> employeeID first; adding userPrincipalName (SCIM userName)
        # matches accounts that predate the employeeID, as a go-live link needs (docs/reconciliation.md).
        "matchingAttributes": ["employeeId"],
        # bulkUpload limits, see emulators/entra/throttling.py for the documented figures.
        "rateLimit": {"callsPerWindow": 40, "windowSeconds": 5, "dailyCalls": 6000, "omitRetryAfter": False},
        "faults": {
            "rate429": 0.0,
            "rate503": 0.0,
            "retryAfterSeconds": 5,
            "seed": None,
            "tokenFailures": False,
            "tokenFailUntil": None,
            "tokenFailureStatus": 503,
            "keyVault503": False,
            "keyVaultFailures": 0,
            "keyVaultFailUntil": None,
            # bulkUpload answers 503 ServiceUnavailable (with Retry-After) until switched off: an outage of the
            # provisioning API alone, while Graph reads still work.
            "bulkUpload503": False,
            "syncWithoutOnPremisesFlag": False,
        },
        "adErrors": {},
        "appRoles": {
            DEFAULT_CLIENT_ID: list(DEFAULT_GRAPH_ROLES),
            MANAGED_IDENTITY: list(DEFAULT_GRAPH_ROLES),
        },
        "clientSecrets": {},
        "managedIdentityClientId": DEFAULT_MANAGED_IDENTITY_CLIENT_ID,
        "servicePrincipalId": None,
        "jobId": None,
        # Users per page of GET /users/delta (Graph documents no figure: "the number of objects in each page can vary").
        "deltaPageSize": 100,
    }


class ConfigError(ValueError):
    """A PUT /_emulator/config body the emulator cannot apply."""


def merge_config(current: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """Return a new config with ``partial`` applied.

    In merged maps a ``null`` value removes the key, so ``{"adErrors": {"E1": null}}`` clears
    one injected AD error without touching the others.
    """
    if not isinstance(partial, dict):
        raise ConfigError("config body must be a JSON object")
    merged = copy.deepcopy(current)
    for key, value in partial.items():
        if key not in merged:
            raise ConfigError(f"unknown config key: {key}")
        if key in _MERGED_KEYS:
            if not isinstance(value, dict):
                raise ConfigError(f"{key} must be an object")
            target = merged[key]
            for sub_key, sub_value in value.items():
                if sub_value is None and key in ("adErrors", "appRoles", "clientSecrets"):
                    target.pop(sub_key, None)
                else:
                    target[sub_key] = sub_value
        else:
            merged[key] = value
    _validate(merged)
    return merged


def upgrade_persisted(config: dict[str, Any]) -> dict[str, Any]:
    """A config persisted by an earlier emulator, in today's keys (``rateLimit.callsPer5s`` became
    ``callsPerWindow`` with ``windowSeconds: 5``), so an old state directory still starts."""
    upgraded = copy.deepcopy(config)
    limits = upgraded.get("rateLimit")
    if isinstance(limits, dict) and "callsPer5s" in limits:
        limits["callsPerWindow"] = limits.pop("callsPer5s")
        limits.setdefault("windowSeconds", 5)
    return upgraded


def _validate(config: dict[str, Any]) -> None:
    for key in ("agentDelaySeconds", "logDelaySeconds", "syncDelaySeconds", "syncIntervalSeconds"):
        if not isinstance(config[key], int | float) or config[key] < 0:
            raise ConfigError(f"{key} must be a number >= 0")
    for key in ("adTargetOu", "syncScopeOu"):
        if config[key] is not None and (not isinstance(config[key], str) or "=" not in config[key]):
            raise ConfigError(f"{key} must be a distinguished name (e.g. OU=Employees,DC=contoso,DC=com) or null")
    matching = config["matchingAttributes"]
    if (
        not isinstance(matching, list)
        or not matching
        or matching[0] != "employeeId"
        or not set(matching) <= {"employeeId", "userPrincipalName"}
        or len(set(matching)) != len(matching)
    ):
        raise ConfigError("matchingAttributes must be ['employeeId'] or ['employeeId', 'userPrincipalName']")
    if config["cnMapping"] not in ("selectUniqueValue", "displayName"):
        raise ConfigError("cnMapping must be 'selectUniqueValue' or 'displayName'")
    page = config["deltaPageSize"]
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 999:
        raise ConfigError("deltaPageSize must be an integer from 1 to 999")
    if not isinstance(config["agentOnline"], bool):
        raise ConfigError("agentOnline must be a boolean")
    faults = config["faults"]
    for key in ("rate429", "rate503"):
        rate = faults.get(key, 0.0)
        if not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
            raise ConfigError(f"faults.{key} must be between 0 and 1")
    limits = config["rateLimit"]
    unknown = set(limits) - {"callsPerWindow", "windowSeconds", "dailyCalls", "omitRetryAfter"}
    if unknown:
        raise ConfigError(f"unknown rateLimit keys: {sorted(unknown)}")
    for key in ("callsPerWindow", "dailyCalls"):
        if not isinstance(limits.get(key), int) or isinstance(limits[key], bool) or limits[key] < 1:
            raise ConfigError(f"rateLimit.{key} must be a positive integer")
    window = limits.get("windowSeconds")
    if not isinstance(window, int | float) or isinstance(window, bool) or window <= 0:
        raise ConfigError("rateLimit.windowSeconds must be a number > 0")
    for app, roles in config["appRoles"].items():
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise ConfigError(f"appRoles.{app} must be a list of role names")
