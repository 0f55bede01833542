"""The asynchronous provisioning pipeline for API-driven provisioning to on-premises AD.

staged bulk request --(agent delay, agent online, job Active)--> provisioning agent writes AD (the ``memory`` or
``samba`` backend, :mod:`emulators.entra.ad`) --(log delay)--> provisioning log entries become visible; Entra
Connect sync polls AD for changes by uSNChanged every ``syncIntervalSeconds`` in its scope OU and exports each
change ``syncDelaySeconds`` after it saw it. A worker thread calls :meth:`ProvisioningPipeline.tick`.

The agent behaves like Microsoft's: matching by employeeID, users created in the configured OU with a cn from the
displayName, sAMAccountName and mailNickname written on create only, ``active`` to userAccountControl, the manager
as the manager's DN once it exists, and a sAMAccountName over 20 characters refused before anything is sent.
Whatever AD refuses becomes a failure entry (codes in :mod:`emulators.entra.ad.errors`).
"""

from __future__ import annotations

import logging
import random
import uuid
from typing import Any

from emulators.entra.ad import errors
from emulators.entra.ad.base import is_within
from emulators.entra.ad.errors import DirectoryError
from emulators.entra.config import DEFAULT_TENANT_ID
from emulators.entra.core import EmulatorCore
from emulators.entra.scim_mapping import MappedUser, flatten, map_scim_user
from emulators.entra.timeutil import iso, now

SOURCE_IDENTITY_TYPE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
APP_DISPLAY_NAME = "API-driven provisioning to on-premises Active Directory"
#: cn is limited to 64 characters (ub-common-name).
CN_MAX = 64
#: Graph properties the default mapping writes on create only.
CREATE_ONLY = ("onPremisesSamAccountName", "mailNickname")
log = logging.getLogger(__name__)


def _step(name: str, kind: str, status: str, description: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "provisioningStepType": kind,
        "status": status,
        "description": description,
        "details": details or {},
    }


class ProvisioningPipeline:
    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        self.state = core.state
        self.ad = core.ad
        self._next_sync_poll = 0.0

    def tick(self) -> None:
        """Advance every stage whose delay has passed; a failing stage is logged and retried next tick."""
        with self.state.lock:
            self.state.worker_ticks += 1
            at = now()
            try:
                self._run_agent(at)
                self._run_connect_sync(at)
            except Exception:  # the worker must outlive any one bad cycle (e.g. the DC going away)
                log.exception("provisioning pipeline tick failed")

    def _run_agent(self, at: float) -> None:
        config = self.state.config
        if not config["agentOnline"]:
            return
        due = at - float(config["agentDelaySeconds"])
        staged = [
            request
            for request in self.state.bulk_requests
            if request["status"] == "staged" and request["_receivedAt"] <= due and self._job_active(request["jobId"])
        ]
        if staged or self.state.pending_references:
            cycle_id = str(uuid.uuid4())
            for request in staged:
                self._process_request(request, cycle_id, at)
            self._resolve_references(at)

    def _run_connect_sync(self, at: float) -> None:
        """Entra Connect: a delta import of AD (uSNChanged above the last cycle's) in scope, then exports."""
        scope = self.core.sync_scope()
        if at >= self._next_sync_poll:
            self._next_sync_poll = at + float(self.state.config["syncIntervalSeconds"])
            try:
                changed, usn = self.ad.changed_since(self.state.sync_usn, scope)
            except DirectoryError:
                changed, usn = [], self.state.sync_usn  # DC unreachable: the next cycle tries again
            delay = float(self.state.config["syncDelaySeconds"])
            for user in changed:
                self.state.pending_sync.setdefault(user["id"], at + delay)
            if usn != self.state.sync_usn:
                self.state.sync_usn = usn
                self.state.mark_dirty()
        for ad_id, sync_at in list(self.state.pending_sync.items()):
            if sync_at > at:
                continue
            try:
                ad_user = self.ad.get(ad_id)
            except DirectoryError:
                continue
            del self.state.pending_sync[ad_id]
            if ad_user is not None and is_within(str(ad_user.get("distinguishedName", "")), scope):
                self.core.sync_to_entra(ad_user)

    def _job_active(self, job_id: str) -> bool:
        job = self.state.jobs.get(job_id)
        return job is None or job["status"]["code"] == "Active"

    # -- the agent --------------------------------------------------------------------------------
    def _process_request(self, request: dict[str, Any], cycle_id: str, at: float) -> None:
        for operation in request["body"]["Operations"]:
            self._process_operation(request, operation["data"], cycle_id, at)
        request["status"] = "processed"
        request["processedDateTime"] = iso(at)
        self.state.mark_dirty()

    def _process_operation(self, request: dict[str, Any], data: dict[str, Any], cycle_id: str, at: float) -> None:
        mapped = map_scim_user(data)
        external_id = mapped.external_id or ""
        steps = [
            _step(
                "EntryImportAdd",
                "import",
                "success",
                f"Received User '{external_id}' change of type (Add) from API",
                {"externalId": external_id, **flatten(data)},
            ),
            _step(
                "EntrySynchronizationScoping",
                "scoping",
                "success",
                "Determine if User in scope by evaluating against each scoping filter",
                {"Active in the source system": str(mapped.properties["accountEnabled"])},
            ),
        ]
        entry_base = {
            "request": request,
            "external_id": external_id,
            "cycle_id": cycle_id,
            "change_id": str(uuid.uuid4()),
        }
        existing: dict[str, Any] | None = None
        action = "create"
        try:
            existing, matched_on = self._match(external_id, mapped)
            action = "create" if existing is None else "update"
            steps.append(self._matching_step(external_id, existing, matched_on))
            ad_user, modified, action = self._export(existing, mapped, action)
            self._apply_manager(ad_user, mapped, entry_base, steps, modified)
        except DirectoryError as failure:
            steps.append(
                _step(
                    "EntryExportAdd" if action == "create" else "EntryExportUpdate",
                    "export",
                    "failure",
                    f"Failed to {action} User '{external_id}' in Active Directory",
                    {"ReportableIdentifier": external_id, **failure.details},
                )
            )
            self._log(
                entry_base,
                at,
                action=action,
                status="failure",
                steps=steps,
                modified=[],
                target=existing,
                error=failure,
            )
            return
        steps.append(
            _step(
                "EntryExportAdd" if action == "create" else "EntryExportUpdate",
                "export",
                "success",
                f"User '{external_id}' was {'created' if action == 'create' else 'updated'} in Active Directory",
                {
                    "ReportableIdentifier": external_id,
                    "DistinguishedName": ad_user.get("distinguishedName", ""),
                },
            )
        )
        self._log(entry_base, at, action=action, status="success", steps=steps, modified=modified, target=ad_user)

    def _match(self, external_id: str, mapped: MappedUser) -> tuple[dict[str, Any] | None, str]:
        """The AD user the record matches, trying the matching attributes in precedence order (the first match
        wins, as Entra's matching precedence documents), and the attribute that matched."""
        for attribute in self.state.config["matchingAttributes"]:
            if attribute == "employeeId" and external_id:
                found = self.ad.find_by_employee_id(external_id)
            elif attribute == "userPrincipalName" and mapped.properties.get("userPrincipalName"):
                found = self.ad.find_by_user_principal_name(str(mapped.properties["userPrincipalName"]))
            else:
                continue
            if found is not None:
                return found, attribute
        return None, "employeeId"

    @staticmethod
    def _matching_step(
        external_id: str, existing: dict[str, Any] | None, matched_on: str = "employeeId"
    ) -> dict[str, Any]:
        if existing is None:
            return _step(
                "EntrySynchronizationAdd",
                "matching",
                "success",
                f"User '{external_id}' will be created in Active Directory (no matching User was found)",
            )
        return _step(
            "EntryImport",
            "matching",
            "success",
            f"Retrieved User '{external_id}' from Active Directory",
            {"DistinguishedName": existing.get("distinguishedName", ""), "MatchingAttribute": matched_on},
        )

    def _apply_manager(
        self,
        ad_user: dict[str, Any],
        mapped: MappedUser,
        entry_base: dict[str, Any],
        steps: list[dict[str, Any]],
        modified: list[dict[str, Any]],
    ) -> None:
        """Set ``manager`` to the manager's DN, or defer it (a skipped step) until the manager exists in AD."""
        wanted = mapped.manager_employee_id
        if not wanted or ad_user.get("manager") == wanted:
            return
        manager = self.ad.find_by_employee_id(wanted)
        if manager is None:
            steps.append(
                _step(
                    "EntrySynchronizationSkip",
                    "processing",
                    "skipped",
                    f"The manager reference '{wanted}' could not be resolved; it will be set once the referenced "
                    "User exists",
                    {"SkipReason": "UnableToResolveReferenceAttributeValue", "ReferenceAttribute": "manager"},
                )
            )
            request = entry_base["request"]
            self.state.pending_references.append(
                {
                    "adId": ad_user["id"],
                    "managerEmployeeId": wanted,
                    "changeId": entry_base["change_id"],
                    "cycleId": entry_base["cycle_id"],
                    "jobId": request["jobId"],
                    "servicePrincipalId": request["servicePrincipalId"],
                    "externalId": entry_base["external_id"],
                }
            )
            return
        modified.append({"displayName": "manager", "oldValue": ad_user.get("manager"), "newValue": wanted})
        self.ad.set_manager(ad_user, manager, as_agent=True)

    def _export(
        self, existing: dict[str, Any] | None, mapped: MappedUser, action: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """Write to AD; returns (user, modifiedProperties, provisioningAction) or raises DirectoryError."""
        if mapped.external_id is None:
            raise DirectoryError(errors.MISSING_ANCHOR, "The record has no externalId, the matching attribute.")
        configured = self.state.config["adErrors"].get(mapped.external_id)
        if configured:
            raise DirectoryError(str(configured), f"Active Directory returned {configured} for this object.")
        props = dict(mapped.properties)
        if existing is None:
            sam = str(props.get("onPremisesSamAccountName") or self._derive_sam(props, mapped.external_id))
            if len(sam) > errors.SAM_ACCOUNT_NAME_MAX:
                raise errors.sam_too_long(sam)  # Windows AD would refuse it; Samba would not, so the agent does
            props["onPremisesSamAccountName"] = sam
            props.setdefault("mailNickname", sam)
            container = self.core.target_ou()
            common_name = self._common_name(container, props, mapped.external_id)
            user = self.ad.create(container, common_name, props, password=None, as_agent=True)
            modified = [
                {"displayName": key, "oldValue": None, "newValue": value}
                for key, value in props.items()
                if not isinstance(value, list)
            ]
            return user, modified, "create"
        for key in CREATE_ONLY:
            props.pop(key, None)
        changes = {key: value for key, value in props.items() if existing.get(key) != value}
        modified = [
            {"displayName": key, "oldValue": existing.get(key), "newValue": value} for key, value in changes.items()
        ]
        was_enabled = bool(existing.get("accountEnabled"))
        user = self.ad.update(existing, changes) if changes else existing
        self.state.mark_dirty()
        if was_enabled and not props["accountEnabled"]:
            return user, modified, "disable"
        return user, modified, "update"

    def _common_name(self, container: str, props: dict[str, Any], external_id: str) -> str:
        """cn = displayName; with cnMapping selectUniqueValue, "displayName (employeeId)" when that is taken."""
        display = str(props.get("displayName") or props["onPremisesSamAccountName"])[:CN_MAX]
        if self.state.config["cnMapping"] != "selectUniqueValue" or not self.ad.name_in_use(container, display):
            return display
        suffix = f" ({external_id})"
        return display[: CN_MAX - len(suffix)] + suffix

    @staticmethod
    def _derive_sam(props: dict[str, Any], external_id: str) -> str:
        upn = props.get("userPrincipalName")
        base = upn.split("@")[0] if isinstance(upn, str) and upn else external_id
        return base[: errors.SAM_ACCOUNT_NAME_MAX]

    def _resolve_references(self, at: float) -> None:
        """Set managers that now exist in AD; log an update sharing the original changeId."""
        still_pending = []
        for pending in self.state.pending_references:
            try:
                ad_user = self.ad.get(pending["adId"])
                manager = self.ad.find_by_employee_id(pending["managerEmployeeId"])
                if ad_user is None:
                    continue
                if manager is None:
                    still_pending.append(pending)
                    continue
                old = ad_user.get("manager")
                self.ad.set_manager(ad_user, manager, as_agent=True)
            except DirectoryError:
                still_pending.append(pending)  # the next cycle tries again
                continue
            steps = [
                _step(
                    "EntryExportUpdate",
                    "export",
                    "success",
                    f"User '{pending['externalId']}' was updated in Active Directory (manager reference resolved)",
                    {
                        "ReportableIdentifier": pending["externalId"],
                        "manager": manager.get("distinguishedName", ""),
                    },
                )
            ]
            entry_base = {
                "request": {"jobId": pending["jobId"], "servicePrincipalId": pending["servicePrincipalId"]},
                "external_id": pending["externalId"],
                "cycle_id": pending["cycleId"],
                "change_id": pending["changeId"],
            }
            modified = [{"displayName": "manager", "oldValue": old, "newValue": pending["managerEmployeeId"]}]
            self._log(entry_base, at, action="update", status="success", steps=steps, modified=modified, target=ad_user)
        if len(still_pending) != len(self.state.pending_references):
            self.state.pending_references = still_pending
            self.state.mark_dirty()

    # -- the provisioning log ---------------------------------------------------------------------
    def _log(
        self,
        base: dict[str, Any],
        at: float,
        *,
        action: str,
        status: str,
        steps: list[dict[str, Any]],
        modified: list[dict[str, Any]],
        target: dict[str, Any] | None,
        error: DirectoryError | None = None,
    ) -> None:
        request = base["request"]
        tenant = str(self.state.config.get("tenantId", DEFAULT_TENANT_ID))
        error_info = None
        if error is not None:
            error_info = {
                "errorCode": error.code,
                "reason": error.reason,
                "additionalDetails": None,
                "errorCategory": "nonServiceFailure",
                "recommendedAction": None,
            }
        entry = {
            "id": str(uuid.uuid4()),
            "activityDateTime": iso(at),
            "tenantId": tenant,
            "jobId": request["jobId"],
            "cycleId": base["cycle_id"],
            "changeId": base["change_id"],
            "provisioningAction": action,
            "durationInMilliseconds": random.randint(800, 4000),
            "provisioningStatusInfo": {"status": status, "errorInformation": error_info},
            "provisioningSteps": steps,
            "modifiedProperties": [
                {
                    "displayName": m["displayName"],
                    "oldValue": _text(m["oldValue"]),
                    "newValue": _text(m["newValue"]),
                }
                for m in modified
            ],
            "sourceIdentity": {
                "id": base["external_id"],
                "displayName": "",
                "identityType": SOURCE_IDENTITY_TYPE,
                "details": {},
            },
            "targetIdentity": {
                "id": target["id"] if target else "",
                "displayName": (target or {}).get("displayName") or "",
                "identityType": "user",
                "details": {"UserPrincipalName": (target or {}).get("userPrincipalName") or ""},
            },
            "sourceSystem": {
                "id": request["jobId"].split(".")[0] if request["jobId"] else "",
                "displayName": "API",
                "details": {},
            },
            "targetSystem": {
                "id": "",
                "displayName": "Active Directory",
                "details": {
                    "ApplicationId": "",
                    "ServicePrincipalId": request["servicePrincipalId"],
                    "ServicePrincipalDisplayName": APP_DISPLAY_NAME,
                },
            },
            "servicePrincipal": {"id": request["servicePrincipalId"], "displayName": APP_DISPLAY_NAME},
            "initiatedBy": {
                "id": "",
                "displayName": "Azure AD Provisioning Service",
                "initiatorType": "system",
            },
            "_visibleAt": at + float(self.state.config["logDelaySeconds"]),
        }
        self.state.logs.append(entry)
        self.state.mark_dirty()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
