"""The emulator's domain operations shared by the HTTP routes, the pipeline and the control API."""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

from emulators.entra.config import (
    DEFAULT_CLIENT_ID,
    MANAGED_IDENTITY,
    ConfigError,
    merge_config,
)
from emulators.entra.faults import FaultInjector
from emulators.entra.state import EmulatorState
from emulators.entra.timeutil import iso, now
from emulators.entra.tokens import TokenIssuer

#: Graph user properties the emulator knows (others in $select are a 400, like Graph).
USER_PROPERTIES = frozenset(
    {
        "id",
        "userPrincipalName",
        "mail",
        "mailNickname",
        "proxyAddresses",
        "employeeId",
        "employeeType",
        "employeeHireDate",
        "employeeLeaveDateTime",
        "accountEnabled",
        "onPremisesSyncEnabled",
        "onPremisesSamAccountName",
        "onPremisesImmutableId",
        "onPremisesDistinguishedName",
        "onPremisesUserPrincipalName",
        "onPremisesLastSyncDateTime",
        "onPremisesDomainName",
        "givenName",
        "surname",
        "displayName",
        "jobTitle",
        "department",
        "companyName",
        "officeLocation",
        "city",
        "state",
        "country",
        "postalCode",
        "streetAddress",
        "businessPhones",
        "mobilePhone",
        "preferredLanguage",
        "usageLocation",
        "createdDateTime",
        "userType",
        "lastPasswordChangeDateTime",
        "signInSessionsValidFromDateTime",
    }
)
DEFAULT_USER_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
#: Properties AD owns for a synced user; Graph refuses to change them (and the password).
ON_PREMISES_MASTERED = frozenset(
    {
        "userPrincipalName",
        "mail",
        "mailNickname",
        "proxyAddresses",
        "employeeId",
        "accountEnabled",
        "givenName",
        "surname",
        "displayName",
        "jobTitle",
        "department",
        "companyName",
        "officeLocation",
        "city",
        "state",
        "country",
        "postalCode",
        "streetAddress",
        "businessPhones",
        "mobilePhone",
        "passwordProfile",
        "employeeType",
        "onPremisesSamAccountName",
    }
)
#: Properties that travel from AD to Entra on sync (Graph names on both sides).
SYNCED_PROPERTIES = (
    "userPrincipalName",
    "mail",
    "mailNickname",
    "employeeId",
    "employeeType",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "accountEnabled",
    "givenName",
    "surname",
    "displayName",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "city",
    "state",
    "country",
    "postalCode",
    "streetAddress",
    "businessPhones",
    "mobilePhone",
    "preferredLanguage",
    "manager",
)


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """A stored user without the emulator's bookkeeping fields (those start with ``_``)."""
    return {key: value for key, value in user.items() if not key.startswith("_")}


def immutable_id(ad_object_id: str) -> str:
    """onPremisesImmutableId as Entra Connect derives it: base64 of the AD objectGUID bytes."""
    return base64.b64encode(uuid.UUID(ad_object_id).bytes_le).decode("ascii")


class EmulatorCore:
    """State plus the operations on it; every method expects the caller to hold ``state.lock``
    unless it says otherwise."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.faults = FaultInjector(state)

    # -- identity and tokens ------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        return str(self.state.config["tenantId"])

    @property
    def issuer(self) -> TokenIssuer:
        return TokenIssuer(self.state.signing_key, self.tenant_id)

    def client_secrets(self) -> dict[str, str]:
        """App id -> secret for every registered app (the default app plus configured ones)."""
        registered = {DEFAULT_CLIENT_ID: self.state.client_secret}
        registered.update(self.state.config.get("clientSecrets", {}))
        return registered

    def roles_for(self, app_key: str) -> list[str]:
        roles = self.state.config["appRoles"].get(app_key)
        return list(roles) if roles is not None else []

    # -- configuration ---------------------------------------------------------------------------
    def apply_config(self, partial: dict[str, Any]) -> dict[str, Any]:
        """Merge a partial config; raises ConfigError for unknown keys or bad values."""
        with self.state.lock:
            self.state.config = merge_config(self.state.config, partial)
            if isinstance(partial.get("faults"), dict):
                self.faults.on_config_change(partial["faults"])
            self.state.mark_dirty()
            return copy.deepcopy(self.state.config)

    def reset(self) -> None:
        with self.state.lock:
            self.state.reset()
            self.faults.reseed(self.state.config["faults"].get("seed"))

    # -- directory objects ------------------------------------------------------------------
    def new_ad_user(self, props: dict[str, Any]) -> dict[str, Any]:
        """Create an AD user from Graph-named properties (seeding and the provisioning agent)."""
        object_id = str(props.get("id") or uuid.uuid4())
        upn = props.get("userPrincipalName")
        sam = props.get("onPremisesSamAccountName") or (upn.split("@")[0][:20] if upn else None)
        display = props.get("displayName") or " ".join(
            part for part in (props.get("givenName"), props.get("surname")) if part
        )
        user: dict[str, Any] = {
            "id": object_id,
            "accountEnabled": True,
            "proxyAddresses": [],
            "createdDateTime": iso(now()),
            **{key: value for key, value in props.items() if key != "id"},
            "onPremisesSamAccountName": sam,
            "displayName": display or sam,
            "_seq": self.state.next_sequence(),
        }
        user["distinguishedName"] = self.distinguished_name(user)
        self.state.ad.put(user)
        self.state.mark_dirty()
        return user

    def distinguished_name(self, user: dict[str, Any]) -> str:
        domain_parts = ",".join(f"DC={part}" for part in str(self.state.config["domain"]).split("."))
        common_name = str(user.get("displayName") or user.get("onPremisesSamAccountName") or user["id"])
        escaped = "".join("\\" + char if char in ',+"\\<>;=' else char for char in common_name)
        return f"CN={escaped},OU=Users,{domain_parts}"

    def new_entra_user(self, props: dict[str, Any]) -> dict[str, Any]:
        """Create a cloud-only Entra user (seeding)."""
        user: dict[str, Any] = {
            "id": str(props.get("id") or uuid.uuid4()),
            "accountEnabled": True,
            "proxyAddresses": [],
            "createdDateTime": iso(now()),
            "userType": "Member",
            "onPremisesSyncEnabled": None,
            **{key: value for key, value in props.items() if key != "id"},
            "_seq": self.state.next_sequence(),
        }
        if not user.get("displayName"):
            user["displayName"] = " ".join(p for p in (user.get("givenName"), user.get("surname")) if p)
        if user.get("mail") and not user["proxyAddresses"]:
            user["proxyAddresses"] = [f"SMTP:{user['mail']}"]
        user["_onPremisesMastered"] = bool(user.get("onPremisesSyncEnabled"))
        self.state.entra.put(user)
        self.state.mark_dirty()
        return user

    def seed_user(self, where: str, props: dict[str, Any]) -> dict[str, Any]:
        """POST /_emulator/users: an AD-only, Entra-only or already-synced person."""
        unknown = set(props) - USER_PROPERTIES - {"manager", "distinguishedName"}
        if unknown:
            raise ConfigError(f"unknown user properties: {sorted(unknown)}")
        with self.state.lock:
            if where == "ad":
                return {"adUser": public_user(self.new_ad_user(props))}
            if where == "entra":
                return {"entraUser": public_user(self.new_entra_user(props))}
            if where == "synced":
                ad_user = self.new_ad_user(props)
                entra_user = self.sync_to_entra(ad_user)
                return {"adUser": public_user(ad_user), "entraUser": public_user(entra_user)}
        raise ConfigError("where must be 'ad', 'entra' or 'synced'")

    def sync_to_entra(self, ad_user: dict[str, Any]) -> dict[str, Any]:
        """Entra Connect export of one AD user: create or update its cloud object.

        The cloud object is matched by onPremisesImmutableId (the AD objectGUID); mail gets a
        primary ``SMTP:`` proxy address as Exchange would stamp it.
        """
        anchor = immutable_id(ad_user["id"])
        existing_id = ad_user.get("_entraId")
        existing = self.state.entra.get(existing_id) if existing_id else None
        values = {key: ad_user.get(key) for key in SYNCED_PROPERTIES}
        proxies = list(ad_user.get("proxyAddresses") or [])
        mail = ad_user.get("mail")
        if mail and not any(p.lower() == f"smtp:{mail.lower()}" for p in proxies):
            proxies = [p if not p.startswith("SMTP:") else "smtp:" + p[5:] for p in proxies]
            proxies.insert(0, f"SMTP:{mail}")
        flag = None if self.state.config["faults"].get("syncWithoutOnPremisesFlag") else True
        values.update(
            {
                "proxyAddresses": proxies,
                "onPremisesSyncEnabled": flag,
                "onPremisesImmutableId": anchor,
                "onPremisesSamAccountName": ad_user.get("onPremisesSamAccountName"),
                "onPremisesDistinguishedName": ad_user.get("distinguishedName"),
                "onPremisesUserPrincipalName": ad_user.get("userPrincipalName"),
                "onPremisesDomainName": self.state.config["domain"],
                "onPremisesLastSyncDateTime": iso(now()),
                "_onPremisesMastered": True,
            }
        )
        if existing is None:
            existing = self._soft_match(values)
            if existing is not None:
                ad_user["_entraId"] = existing["id"]
        if existing is None:
            self._quarantine_duplicate_upn(values)
            entra_user = {
                "id": str(uuid.uuid4()),
                "createdDateTime": iso(now()),
                "userType": "Member",
                "_seq": self.state.next_sequence(),
                **values,
            }
            self.state.entra.put(entra_user)
            ad_user["_entraId"] = entra_user["id"]
        else:
            entra_user = self.state.entra.update(existing["id"], values)
        self.state.mark_dirty()
        return entra_user

    def _soft_match(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Entra Connect soft match: a cloud-only user with the same UPN becomes the synced object."""
        candidate = self.state.entra.find_one("userPrincipalName", values.get("userPrincipalName"))
        if candidate is not None and not candidate.get("_onPremisesMastered"):
            return candidate
        return None

    def _quarantine_duplicate_upn(self, values: dict[str, Any]) -> None:
        """Duplicate attribute resiliency: a UPN already held by a synced object is replaced by
        ``<local><4 digits>@<initial domain>`` on the newcomer, as Entra does."""
        upn = values.get("userPrincipalName")
        if not upn or self.state.entra.find_one("userPrincipalName", upn) is None:
            return
        local = str(upn).split("@")[0]
        initial_domain = f"{str(self.state.config['domain']).split('.')[0]}.onmicrosoft.com"
        values["userPrincipalName"] = f"{local}{uuid.uuid4().int % 10_000:04d}@{initial_domain}"

    # -- views ----------------------------------------------------------------------------------
    def state_view(self) -> dict[str, Any]:
        """GET /_emulator/state: the test-only view (shows TAP values on purpose)."""
        at = now()
        with self.state.lock:
            return copy.deepcopy(
                {
                    "adUsers": [public_user(user) for user in self.state.ad],
                    "entraUsers": [public_user(user) for user in self.state.entra],
                    "outbox": self.state.outbox,
                    "bulkRequests": [public_user(request) for request in self.state.bulk_requests],
                    "provisioningLogs": [public_user(entry) for entry in self.state.logs if entry["_visibleAt"] <= at],
                    "temporaryAccessPasses": list(self.state.taps.values()),
                    "calls": list(self.state.calls),
                    "pipeline": {
                        "staged": sum(1 for r in self.state.bulk_requests if r["status"] == "staged"),
                        "pendingLogs": sum(1 for entry in self.state.logs if entry["_visibleAt"] > at),
                        "pendingSync": len(self.state.pending_sync),
                        "pendingReferences": len(self.state.pending_references),
                        "ticks": self.state.worker_ticks,
                    },
                    "jobs": list(self.state.jobs.values()),
                    "config": self.state.config,
                }
            )

    def managed_identity_app(self) -> str:
        return str(self.state.config["managedIdentityClientId"])

    def roles_key_for_app(self, app_id: str) -> str:
        return MANAGED_IDENTITY if app_id == self.managed_identity_app() else app_id
