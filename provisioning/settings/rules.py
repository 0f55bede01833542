"""Rules that involve more than one setting (which settings a choice makes necessary, which must agree).

They read the settings by environment name from a mapping in which a setting that is unset, or failed its own
check, is None; `failed` names the latter, so a bad value is never reported a second time as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioning.naming import SAM_ACCOUNT_NAME_MAX, USER_PRINCIPAL_NAME_MAX


def problems_across_settings(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    """Rules that involve more than one setting; a value that failed to parse was reported already."""
    problems: list[str] = []
    if values["GRAPH_AUTH"] == "client_secret":
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "KEY_VAULT_URL", "GRAPH_CLIENT_SECRET_NAME"):
            if values[name] is None and name not in failed:
                problems.append(f"{name} is required when GRAPH_AUTH=client_secret")
    signing = values["HR_SIGNING_SECRET_NAME"] is not None
    if signing and values["KEY_VAULT_URL"] is None and "KEY_VAULT_URL" not in failed:
        problems.append("KEY_VAULT_URL is required when HR_SIGNING_SECRET_NAME is set (request signing)")
    problems.extend(_mapped_webhook_problems(values, failed))
    upn_domain = values["UPN_DOMAIN"]
    if upn_domain is not None and len(upn_domain) > USER_PRINCIPAL_NAME_MAX - 1 - SAM_ACCOUNT_NAME_MAX:
        problems.append(
            f"UPN_DOMAIN is too long: user names need at least {SAM_ACCOUNT_NAME_MAX} characters "
            f"before the domain within Entra's {USER_PRINCIPAL_NAME_MAX}-character UPN limit"
        )
    initial = values["PROVISIONING_POLL_INITIAL_SECONDS"]
    longest = values["PROVISIONING_POLL_MAX_SECONDS"]
    if initial is not None and longest is not None and longest < initial:
        problems.append(
            f"PROVISIONING_POLL_MAX_SECONDS ({longest}) must not be below PROVISIONING_POLL_INITIAL_SECONDS ({initial})"
        )
    problems.extend(_reconcile_problems(values, failed))
    problems.extend(_connector_problems(values, failed))
    timeout = values["SYNC_TIMEOUT_MINUTES"]
    if initial is not None and timeout is not None and initial >= timeout * 60:
        problems.append(
            f"PROVISIONING_POLL_INITIAL_SECONDS ({initial}) must be shorter than SYNC_TIMEOUT_MINUTES ({timeout} min)"
        )
    interval = values["SYNC_WATCH_INTERVAL_SECONDS"]
    if interval is not None and timeout is not None and interval >= timeout * 60:
        problems.append(
            f"SYNC_WATCH_INTERVAL_SECONDS ({interval}) must be shorter than SYNC_TIMEOUT_MINUTES ({timeout} min)"
        )
    return problems


def _mapped_webhook_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    auth = values["MAPPED_WEBHOOK_AUTH"]
    if auth in (None, "none"):
        return []
    problems = []
    if values["MAPPED_WEBHOOK_SECRET_NAME"] is None and "MAPPED_WEBHOOK_SECRET_NAME" not in failed:
        problems.append(f"MAPPED_WEBHOOK_SECRET_NAME is required when MAPPED_WEBHOOK_AUTH={auth}")
    if values["KEY_VAULT_URL"] is None and "KEY_VAULT_URL" not in failed:
        problems.append(f"KEY_VAULT_URL is required when MAPPED_WEBHOOK_AUTH={auth} (the secret lives in Key Vault)")
    signature, timestamp = values["MAPPED_WEBHOOK_SIGNATURE_HEADER"], values["MAPPED_WEBHOOK_TIMESTAMP_HEADER"]
    if auth == "hmac" and signature and timestamp and signature.lower() == timestamp.lower():
        problems.append("MAPPED_WEBHOOK_SIGNATURE_HEADER and MAPPED_WEBHOOK_TIMESTAMP_HEADER must differ")
    return problems


# What each enabled HR connector needs before a webhook can be verified or a record fetched.
CONNECTOR_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "BAMBOOHR_ENABLED": ("BAMBOOHR_COMPANY_DOMAIN", "BAMBOOHR_API_KEY_SECRET_NAME", "BAMBOOHR_WEBHOOK_SECRET_NAME"),
    "HIBOB_ENABLED": ("HIBOB_SERVICE_USER_ID", "HIBOB_SERVICE_USER_TOKEN_SECRET_NAME", "HIBOB_WEBHOOK_SECRET_NAME"),
    "PERSONIO_ENABLED": ("PERSONIO_CLIENT_ID", "PERSONIO_CLIENT_SECRET_NAME", "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME"),
}


def _connector_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    problems: list[str] = []
    for switch, needed in CONNECTOR_REQUIREMENTS.items():
        if not values[switch]:
            continue
        for name in (*needed, "KEY_VAULT_URL"):
            if values[name] is None and name not in failed:
                problems.append(f"{name} is required when {switch}=true")
    return problems


def _reconcile_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    """A schedule needs a connector to read from, and that connector must be switched on."""
    if values["RECONCILE_SCHEDULE"] is None:
        return []
    source = values["RECONCILE_SOURCE"]
    if source is None:
        return [] if "RECONCILE_SOURCE" in failed else ["RECONCILE_SOURCE is required when RECONCILE_SCHEDULE is set"]
    switch = f"{source.upper()}_ENABLED"
    if not values.get(switch):
        return [f"{switch} must be true for RECONCILE_SOURCE={source}"]
    return []
