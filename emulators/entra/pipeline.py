"""The asynchronous provisioning pipeline for API-driven provisioning to on-premises AD.

staged bulk request --(agent delay, agent online, job Active)--> provisioning agent writes AD
--(log delay)--> provisioning log entries become visible --(sync delay)--> Entra Connect sync
makes the user visible in Graph. A worker thread calls :meth:`ProvisioningPipeline.tick`.

Conflict error codes written to the logs (the real codes for AD targets are undocumented):
``ActiveDirectoryUserPrincipalNameConflict`` and ``ActiveDirectorySamAccountNameConflict``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from emulators.entra.config import DEFAULT_TENANT_ID
from emulators.entra.core import EmulatorCore
from emulators.entra.scim_mapping import MappedUser, flatten, map_scim_user
from emulators.entra.timeutil import iso, now

UPN_CONFLICT = "ActiveDirectoryUserPrincipalNameConflict"
SAM_CONFLICT = "ActiveDirectorySamAccountNameConflict"
INVALID_SYNTAX = "HybridSynchronizationActiveDirectoryInvalidParameter"
MISSING_ANCHOR = "SourceAnchorMissing"
SOURCE_IDENTITY_TYPE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
APP_DISPLAY_NAME = "API-driven provisioning to on-premises Active Directory"

_REASONS = {
    UPN_CONFLICT: "The value of userPrincipalName '{value}' is already used by another object in Active Directory.",
    SAM_CONFLICT: "The value of sAMAccountName '{value}' is already used by another object in Active Directory.",
}


class _Failure(Exception):
    def __init__(self, code: str, reason: str, details: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.reason = reason
        self.details = details or {}


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

    def tick(self) -> None:
        """Advance every stage whose delay has passed."""
        with self.state.lock:
            self.state.worker_ticks += 1
            at = now()
            config = self.state.config
            if config["agentOnline"]:
                due = at - float(config["agentDelaySeconds"])
                staged = [
                    request
                    for request in self.state.bulk_requests
                    if request["status"] == "staged"
                    and request["_receivedAt"] <= due
                    and self._job_active(request["jobId"])
                ]
                if staged or self.state.pending_references:
                    cycle_id = str(uuid.uuid4())
                    for request in staged:
                        self._process_request(request, cycle_id, at)
                    self._resolve_references(at)
            for ad_id, sync_at in list(self.state.pending_sync.items()):
                if sync_at <= at:
                    del self.state.pending_sync[ad_id]
                    ad_user = self.state.ad.get(ad_id)
                    if ad_user is not None:
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
        change_id = str(uuid.uuid4())
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
        existing = self.state.ad.find_one("employeeId", external_id) if external_id else None
        action = "create" if existing is None else "update"
        if existing is None:
            steps.append(
                _step(
                    "EntrySynchronizationAdd",
                    "matching",
                    "success",
                    f"User '{external_id}' will be created in Active Directory (no matching User was found)",
                )
            )
        else:
            steps.append(
                _step(
                    "EntryImport",
                    "matching",
                    "success",
                    f"Retrieved User '{external_id}' from Active Directory",
                    {"DistinguishedName": existing.get("distinguishedName", "")},
                )
            )
        entry_base = {
            "request": request,
            "external_id": external_id,
            "cycle_id": cycle_id,
            "change_id": change_id,
        }
        try:
            ad_user, modified, action = self._export(existing, mapped, action)
        except _Failure as failure:
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
        if mapped.manager_employee_id and ad_user.get("manager") != mapped.manager_employee_id:
            if self.state.ad.find_one("employeeId", mapped.manager_employee_id) is None:
                steps.append(
                    _step(
                        "EntrySynchronizationSkip",
                        "processing",
                        "skipped",
                        f"The manager reference '{mapped.manager_employee_id}' could not be resolved; it will be "
                        "set once the referenced User exists",
                        {
                            "SkipReason": "UnableToResolveReferenceAttributeValue",
                            "ReferenceAttribute": "manager",
                        },
                    )
                )
                self.state.pending_references.append(
                    {
                        "adId": ad_user["id"],
                        "managerEmployeeId": mapped.manager_employee_id,
                        "changeId": change_id,
                        "cycleId": cycle_id,
                        "jobId": request["jobId"],
                        "servicePrincipalId": request["servicePrincipalId"],
                        "externalId": external_id,
                    }
                )
            else:
                modified.append(
                    {
                        "displayName": "manager",
                        "oldValue": ad_user.get("manager"),
                        "newValue": mapped.manager_employee_id,
                    }
                )
                self.state.ad.update(ad_user["id"], {"manager": mapped.manager_employee_id})
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
        self._schedule_sync(ad_user["id"], at)
        self._log(entry_base, at, action=action, status="success", steps=steps, modified=modified, target=ad_user)

    def _export(
        self, existing: dict[str, Any] | None, mapped: MappedUser, action: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """Write to AD; returns (user, modifiedProperties, provisioningAction) or raises _Failure."""
        if mapped.external_id is None:
            raise _Failure(MISSING_ANCHOR, "The record has no externalId, the attribute used for matching.")
        configured = self.state.config["adErrors"].get(mapped.external_id)
        if configured:
            raise _Failure(str(configured), f"Active Directory returned {configured} for this object.")
        if mapped.empty_attributes:
            raise _Failure(
                INVALID_SYNTAX,
                "InvalidAttributeSyntax-LdapErr: DSID-0C090CA3, comment: Error in attribute conversion operation, "
                f"data 0, v3839 (empty value for {', '.join(mapped.empty_attributes)})",
            )
        props = dict(mapped.properties)
        own_id = existing["id"] if existing is not None else None
        self._check_unique("userPrincipalName", props.get("userPrincipalName"), own_id, UPN_CONFLICT)
        if existing is None:
            props.setdefault("onPremisesSamAccountName", self._derive_sam(props, mapped.external_id))
            self._check_unique("onPremisesSamAccountName", props["onPremisesSamAccountName"], None, SAM_CONFLICT)
            user = self.core.new_ad_user(props)
            modified = [
                {"displayName": key, "oldValue": None, "newValue": value}
                for key, value in props.items()
                if not isinstance(value, list)
            ]
            return user, modified, "create"
        # sAMAccountName and mailNickname are set on creation only, like the default mapping's flow.
        props.pop("onPremisesSamAccountName", None)
        props.pop("mailNickname", None)
        changes = {key: value for key, value in props.items() if existing.get(key) != value}
        modified = [
            {"displayName": key, "oldValue": existing.get(key), "newValue": value} for key, value in changes.items()
        ]
        if "displayName" in changes:
            changes["distinguishedName"] = self.core.distinguished_name({**existing, **changes})
        was_enabled = bool(existing.get("accountEnabled"))
        user = self.state.ad.update(existing["id"], changes)
        self.state.mark_dirty()
        if was_enabled and not props["accountEnabled"]:
            return user, modified, "disable"
        return user, modified, "update"

    def _derive_sam(self, props: dict[str, Any], external_id: str) -> str:
        upn = props.get("userPrincipalName")
        base = upn.split("@")[0] if isinstance(upn, str) and upn else external_id
        return base[:20]

    def _check_unique(self, prop: str, value: Any, own_id: str | None, code: str) -> None:
        if not isinstance(value, str) or not value:
            return
        for other in self.state.ad.find(prop, value):
            if other["id"] != own_id:
                raise _Failure(code, _REASONS[code].format(value=value), {"ConflictingAttribute": prop})

    def _resolve_references(self, at: float) -> None:
        """Set managers that now exist in AD; log an update sharing the original changeId."""
        still_pending = []
        for pending in self.state.pending_references:
            ad_user = self.state.ad.get(pending["adId"])
            manager = self.state.ad.find_one("employeeId", pending["managerEmployeeId"])
            if ad_user is None:
                continue
            if manager is None:
                still_pending.append(pending)
                continue
            old = ad_user.get("manager")
            self.state.ad.update(ad_user["id"], {"manager": pending["managerEmployeeId"]})
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
            self._schedule_sync(ad_user["id"], at)
            self._log(entry_base, at, action="update", status="success", steps=steps, modified=modified, target=ad_user)
        if len(still_pending) != len(self.state.pending_references):
            self.state.pending_references = still_pending
            self.state.mark_dirty()

    def _schedule_sync(self, ad_id: str, at: float) -> None:
        due = at + float(self.state.config["syncDelaySeconds"])
        self.state.pending_sync[ad_id] = min(self.state.pending_sync.get(ad_id, due), due)

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
        error: _Failure | None = None,
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
