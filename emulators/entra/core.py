"""The emulator's domain operations shared by the HTTP routes, the pipeline and the control API."""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

from emulators.entra.ad import TARGET_OU, UNSYNCED_CONTAINER, ActiveDirectory, DirectoryError, domain_dn
from emulators.entra.ad.memory import MemoryDirectory
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

    def __init__(self, state: EmulatorState, ad: ActiveDirectory | None = None) -> None:
        self.state = state
        self.faults = FaultInjector(state)
        #: On-prem AD: the memory model unless a real directory (the samba backend) is given.
        self.ad: ActiveDirectory = ad or MemoryDirectory(state, domain_dn(str(state.config["domain"])))

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
            self.ad.reset()
            self.faults.reseed(self.state.config["faults"].get("seed"))

    def ad_users(self) -> list[dict[str, Any]]:
        """Every person in AD, read from the directory (empty while it cannot be reached)."""
        try:
            return self.ad.users()
        except DirectoryError:
            return []

    # -- directory objects ------------------------------------------------------------------
    @property
    def domain_dn(self) -> str:
        return domain_dn(str(self.state.config["domain"]))

    def target_ou(self) -> str:
        """The provisioning app's default OU for new users."""
        return str(self.state.config.get("adTargetOu") or f"{TARGET_OU},{self.domain_dn}")

    def sync_scope(self) -> str:
        """The OU Entra Connect synchronises (objects elsewhere stay AD-only)."""
        return str(self.state.config.get("syncScopeOu") or f"{TARGET_OU},{self.domain_dn}")

    def new_ad_user(self, props: dict[str, Any], container: str | None = None) -> dict[str, Any]:
        """Create an AD user from Graph-named properties, as a domain admin would (seeding)."""
        values = {key: value for key, value in props.items() if key not in ("manager", "distinguishedName")}
        upn = values.get("userPrincipalName")
        sam = values.get("onPremisesSamAccountName") or (upn.split("@")[0][:20] if upn else None)
        if sam:
            values["onPremisesSamAccountName"] = sam
        display = values.get("displayName") or " ".join(
            part for part in (values.get("givenName"), values.get("surname")) if part
        )
        values["displayName"] = display or sam
        dn = props.get("distinguishedName")
        if isinstance(dn, str) and "," in dn:
            container = dn.split(",", 1)[1]
        container = container or self.target_ou()
        common_name = str(values["displayName"] or values.get("id") or "user")
        try:
            if self.ad.name_in_use(container, common_name):
                # An admin naming a second "Maria Schmidt" in the same OU gives it a distinct cn.
                common_name = f"{common_name} ({values.get('employeeId') or sam})"
            user = self.ad.create(container, common_name, values, password=None, as_agent=False)
            manager_id = props.get("manager")
            if manager_id:
                manager = self.ad.find_by_employee_id(str(manager_id))
                if manager is None:
                    raise ConfigError(f"manager {manager_id} is not in AD; seed the manager first")
                user = self.ad.set_manager(user, manager, as_agent=False)
        except DirectoryError as error:
            raise ConfigError(f"AD refused the user: {error.code}: {error.reason}") from error
        self.state.mark_dirty()
        return user

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
                unsynced = f"{UNSYNCED_CONTAINER},{self.domain_dn}"
                return {"adUser": public_user(self.new_ad_user(props, container=unsynced))}
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
        existing_id = self.state.sync_joins.get(ad_user["id"])
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
                self.state.sync_joins[ad_user["id"]] = existing["id"]
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
            self.state.sync_joins[str(ad_user["id"])] = str(entra_user["id"])
        else:
            changed = {
                key: value
                for key, value in values.items()
                if key != "onPremisesLastSyncDateTime" and existing.get(key) != value
            }
            if not changed:
                return existing  # nothing to export: Connect sync leaves an unchanged object alone
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
                    "adUsers": [public_user(user) for user in self.ad_users()],
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
