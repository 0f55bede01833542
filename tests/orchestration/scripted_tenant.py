"""A scripted Entra tenant for workflow tests: activity overrides over in-memory state.

The orchestrators, entities and HTTP functions run for real in the functions host (virtual clock); only the
activities that talk to Microsoft are replaced, at the edge, by these deterministic stand-ins. The e2e tier runs
the real activities against the Entra emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from emulators.functions_host import FunctionsHost
from provisioning import directory, naming, runtime, sync_watch, tenant_watch
from provisioning.graph import BatchResponse, UserChanges
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import record_from_spec, workflow_options
from provisioning.workflows.uploader import result_for

UPN_DOMAIN = "contoso.com"
POLICY = naming.NamePolicy(upn_domain=UPN_DOMAIN, mail_domain=UPN_DOMAIN)

HOST_ENV = {
    "PROVISIONING_API_ENDPOINT": "https://graph.microsoft.com/v1.0/servicePrincipals/"
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/synchronization/jobs/API2AD.0f1e2d3c4b5a69788796a5b4c3d2e1f0.job/bulkUpload",
    "UPN_DOMAIN": UPN_DOMAIN,
    "MAIL_SENDER": "hr-bot@contoso.com",
    "IT_NOTIFY_ADDRESS": "it-ops@contoso.com",
    "TASKHUB_NAME": "scripted",
}


@dataclass
class ScriptedTenant:
    """What Entra and on-prem AD hold, and how the provisioning service will answer each upload."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    taken_in_entra: set[str] = field(default_factory=set)
    taken_in_ad: set[str] = field(default_factory=set)
    ad_errors: dict[str, str] = field(default_factory=dict)
    agent_online: bool = True
    connect_sync: bool = True
    ad_only: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_roles: list[str] = field(default_factory=list)
    protected: set[str] = field(default_factory=set)
    """Object ids of accounts that hold a directory role or are in a protected group."""
    name_checks: list[str] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    mails: list[dict[str, Any]] = field(default_factory=list)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lookups: int = 0
    checks: int = 0
    """Own checks (CHECK_PROVISIONING): polls in SYNC_WAIT_MODE=poll, the deadline's look in every mode."""
    watch_rounds: int = 0
    watcher_down: bool = False
    """While True every watcher round fails, as when Graph or the token is unavailable for the watcher."""
    host: FunctionsHost | None = None

    # -- seeding ----------------------------------------------------------------------------------------------

    def seed_user(
        self, employee_id: str, upn: str, *, enabled: bool = True, manager: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        user = {
            "id": f"obj-{employee_id}",
            "employeeId": employee_id,
            "userPrincipalName": upn,
            "mail": upn,
            "displayName": extra.pop("displayName", upn.split("@", maxsplit=1)[0]),
            "accountEnabled": enabled,
            "onPremisesSyncEnabled": True,
            "onPremisesSamAccountName": upn.split("@", maxsplit=1)[0][:20],
            "managerEmployeeId": manager,
            **extra,
        }
        self.users[employee_id] = user
        self.taken_in_entra.add(upn.lower())
        return user

    # -- activities -------------------------------------------------------------------------------------------

    def overrides(self) -> dict[str, Callable[[Any], Any]]:
        return {
            c.PREFLIGHT: lambda _: {"roles": [], "missingRoles": self.missing_roles},
            c.RESOLVE_PERSON: self._resolve_person,
            c.RESOLVE_MANAGER: self._resolve_manager,
            c.LOOKUP_HIRE: self._lookup_hire,
            c.START_SYNC_WATCHER: self._start_watcher,
            c.WATCH_TENANT: self._watch_tenant,
            c.NAME_CANDIDATES: lambda req: directory.name_candidates(POLICY, req["employee"], limit=req["limit"]),
            c.CHECK_NAME_IN_USE: self._check_name,
            c.CHECK_ACCOUNT_PROTECTION: self._protection,
            c.UPLOAD_BULK_REQUEST: self._upload,
            c.DELIVER_UPLOAD_RESULT: self._deliver,
            c.START_BULK_UPLOADER: self._start_uploader,
            c.START_HR_EVENTS: self._start_events,
            c.CHECK_PROVISIONING: self._check,
            c.ISSUE_FIRST_CREDENTIAL: self._credential,
            c.GET_USER_DETAILS: lambda req: next(u for u in self.users.values() if u["id"] == req["userId"]),
            c.REVOKE_SESSIONS: lambda req: self.revoked.append(req["userId"]) or {"revoked": True},
            c.SEND_NOTIFICATION: self._notify,
            c.WAKE_PENDING_HIRE: self._wake,
            c.GET_INSTANCE_STATE: self._instance_state,
        }

    def _wake(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        status = self.host.status(req["instanceId"])
        if not status or status["runtimeStatus"] not in ("Running", "Pending"):
            return {"delivered": False}
        if req.get("event"):
            self.host.raise_event(req["instanceId"], req["event"], {})
        return {"delivered": True}

    def _instance_state(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        status = self.host.status(req["instanceId"])
        if not status:
            return {"exists": False}
        output = status.get("output") if isinstance(status.get("output"), dict) else {}
        return {"exists": True, "runtimeStatus": status["runtimeStatus"], "outcome": output.get("outcome")}

    def _resolve_person(self, req: dict[str, Any]) -> dict[str, Any] | None:
        user = self.users.get(req["employeeId"])
        if user is None:
            return None
        return {**directory.summary(user), "managerEmployeeId": user.get("managerEmployeeId")}

    def _lookup_hire(self, req: dict[str, Any]) -> dict[str, Any]:
        """The hire's batched lookup: the person, the manager and the reserved best name."""
        self.lookups += 1
        manager = (
            self._resolve_manager({"managerEmployeeId": req["managerEmployeeId"]})
            if req.get("managerEmployeeId")
            else None
        )
        in_use = self._check_name({"names": req["names"]})["inUse"] if req.get("names") else None
        return {"person": self._resolve_person(req), "manager": manager, "inUse": in_use}

    def _start_watcher(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        if self.host.status(req["instanceId"]):
            return {"started": False}
        state = {
            "options": workflow_options(runtime.current().settings).to_dict(),
            "deltaLink": "scripted",
            "logSince": "2000-01-01T00:00:00+00:00",
        }
        self.host.start_orchestration(c.SYNC_WATCHER, state, req["instanceId"])
        self.host.management.signal_entity(
            c.SYNC_WATCH, c.SINGLETON_KEY, "primed", json.dumps({"watcher": req["instanceId"]})
        )
        return {"started": True}

    def _watch_tenant(self, req: dict[str, Any]) -> dict[str, Any]:
        """One watcher round over this script's logs and users, through the product's own round logic."""
        assert self.host is not None
        if self.watcher_down:
            raise RuntimeError("the watcher's round failed (scripted outage)")
        waiting: dict[str, dict[str, Any]] = {}
        for shard in range(sync_watch.SHARDS):
            state = self.host.entity_state(c.SYNC_WATCH_REGISTRY, str(shard)) or {}
            waiting.update(state.get("waiting") or {})
        result = tenant_watch.watch_round(
            _ScriptedGraph(self),  # type: ignore[arg-type]
            job_id="scripted",
            waiting=waiting,
            delta_link=req.get("deltaLink"),
            log_since=datetime.fromisoformat(req["logSince"]),
            look_directly=bool(req.get("lookDirectly")),
        )
        self.watch_rounds += 1
        for instance_id, (name, notice) in result.notices.items():
            self.host.raise_event(instance_id, name, notice)
        for instance_id, update in result.delivered.items():
            self.host.management.signal_entity(
                c.SYNC_WATCH_REGISTRY, sync_watch.shard_key(instance_id), "delivered", json.dumps({instance_id: update})
            )
        return {
            "deltaLink": result.delta_link,
            "logSince": req["logSince"],
            "waiting": len(waiting),
            "notified": len(result.notices),
            "graphRequests": result.graph_requests,
            "expired": 0,
        }

    def _resolve_manager(self, req: dict[str, Any]) -> dict[str, Any] | None:
        manager = self.users.get(req["managerEmployeeId"])
        keys = ("id", "userPrincipalName", "mail", "displayName", "accountEnabled")
        return {k: manager[k] for k in keys} if manager else None

    def _check_name(self, req: dict[str, Any]) -> dict[str, Any]:
        upn = req["names"]["userPrincipalName"].lower()
        self.name_checks.append(upn)
        owner = next((u for u in self.users.values() if u["id"] == req.get("ownerId")), None)
        own = set()
        if owner is not None:  # a rename: the account's own addresses are free for it
            own = {str(owner["userPrincipalName"]).lower()}
            own |= {str(address)[5:].lower() for address in owner.get("proxyAddresses") or []}
        return {"inUse": upn in self.taken_in_entra and upn not in own}

    def _protection(self, req: dict[str, Any]) -> dict[str, Any]:
        protected = req["userId"] in self.protected
        return {"protected": protected, "reasons": ["holds an active directory role"] if protected else []}

    def _now(self) -> str:
        assert self.host is not None
        return self.host.clock.now().isoformat()

    def _upload(self, req: dict[str, Any]) -> dict[str, Any]:
        """Build each record from its event's input, as the real activity does, then provision it."""
        assert self.host is not None
        submitted_at = self._now()
        records = []
        for item in req["items"]:
            payload = self.host.status(item["instanceId"])["input"]
            spec = item["spec"]
            existing = next((u for u in self.users.values() if u["id"] == spec.get("existingId")), None)
            options = c.WorkflowOptions.from_dict(payload.get("options"))
            records.append(record_from_spec(payload["event"], options, spec, existing))
        self.uploads.append({"records": records, "at": submitted_at, "specs": [item["spec"] for item in req["items"]]})
        for record in records:
            self._provision(record, submitted_at)
        return {"status": "accepted", "submittedAt": submitted_at}

    def _provision(self, record: dict[str, Any], at: str) -> None:
        """What the agent and Connect sync would do with one record (instantly, in this script)."""
        employee_id, upn = record["externalId"], record["userName"].lower()
        if not self.agent_online:
            return
        entries = self.logs.setdefault(employee_id, [])
        entry_id = f"log-{employee_id}-{len(entries)}"
        existing = self.users.get(employee_id)
        if employee_id in self.ad_errors:
            entries.append(_log(entry_id, at, "failure", self.ad_errors[employee_id]))
            return
        if existing is None and upn in self.taken_in_ad:
            entries.append(_log(entry_id, at, "failure", "ActiveDirectoryUserPrincipalNameConflict"))
            return
        entries.append(_log(entry_id, at, "success", action="update" if existing else "create"))
        extension = next((v for k, v in record.items() if k.startswith("urn:ietf:params:scim:schemas:extension:c")), {})
        user = existing or {
            "id": f"obj-{employee_id}",
            "employeeId": employee_id,
            "userPrincipalName": record["userName"],
            "mail": record["userName"],
            "onPremisesSyncEnabled": True,
            "onPremisesSamAccountName": extension.get("samAccountName"),
        }
        enterprise = record.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {})
        work_mail = next((e["value"] for e in record.get("emails", []) if e.get("type") == "work"), None)
        user.update(
            {
                "displayName": record.get("displayName", user.get("displayName")),
                "accountEnabled": record["active"],
                "jobTitle": record.get("title"),
                "managerEmployeeId": (enterprise.get("manager") or {}).get("value"),
                "userPrincipalName": record["userName"],
                "mail": work_mail or user.get("mail"),
                "givenName": (record.get("name") or {}).get("givenName", user.get("givenName")),
                "surname": (record.get("name") or {}).get("familyName", user.get("surname")),
                "employeeType": extension.get("employeeType", user.get("employeeType")),
                "proxyAddresses": extension.get("proxyAddresses", user.get("proxyAddresses", [])),
            }
        )
        if existing is None and not self.connect_sync:
            self.ad_only[employee_id] = user
            return
        self.users[employee_id] = user
        self.taken_in_entra.add(upn)

    def _deliver(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        for instance_id in req["instanceIds"]:
            self.host.raise_event(instance_id, c.EVENT_UPLOADED, result_for(instance_id, req["result"]))
        return {"delivered": len(req["instanceIds"])}

    def _start_uploader(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        if self.host.status(req["instanceId"]):
            return {"started": False}
        options = c.WorkflowOptions(upload_coalesce_seconds=10).to_dict()
        self.host.start_orchestration(c.BULK_UPLOADER, {"options": options}, req["instanceId"])
        return {"started": True}

    def _start_events(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        for job in req["jobs"]:
            self.host.start_orchestration(
                c.HR_EVENT,
                {
                    "event": job["event"],
                    "options": req["options"],
                    "group": job.get("group"),
                    "batch": job.get("batch"),
                },
                job["instanceId"],
            )
        return {"started": len(req["jobs"])}

    def _check(self, req: dict[str, Any]) -> dict[str, Any]:
        self.checks += 1
        employee_id = req["employeeId"]
        entries = [e for e in self.logs.get(employee_id, []) if e["activityDateTime"] >= req["submittedAt"]]
        latest = entries[-1] if entries else None
        log = None
        if latest:
            info = latest["provisioningStatusInfo"]
            log = {"id": latest["id"], "status": info["status"]}
            log["action"] = latest.get("provisioningAction")
            if info["status"] == "failure":
                code = info["errorInformation"]["errorCode"]
                log.update(errorCode=code, reason=f"{code} reported by the agent", conflict="Conflict" in code)
        user = None
        if req.get("expectUser") and log and log["status"] == "success":
            candidate = self.users.get(employee_id)
            if candidate and (not req.get("requireEnabled") or candidate.get("accountEnabled")):
                user = candidate
        return {"log": log, "user": user, "expectUser": req.get("expectUser")}

    def _credential(self, req: dict[str, Any]) -> dict[str, Any]:
        if req["userId"] in self.protected:
            return {"error": {"code": "ProtectedAccount", "message": "the account holds an active directory role"}}
        policy = req.get("recipients") or "new"
        manager = {} if policy == "it" else (req.get("manager") or {})
        to = manager.get("mail") or HOST_ENV["IT_NOTIFY_ADDRESS"]
        self.credentials.append({"userId": req["userId"], "startAt": req.get("startAt"), "to": to, "policy": policy})
        return {"method": "tap", "recipients": ["manager" if manager.get("mail") else "it"]}

    def _notify(self, req: dict[str, Any]) -> dict[str, Any]:
        manager = req.get("manager") or {}
        recipient = manager.get("mail") or HOST_ENV["IT_NOTIFY_ADDRESS"]
        if req["kind"] in ("it_alert", "held_for_approval", "rehire_notice"):
            recipient = HOST_ENV["IT_NOTIFY_ADDRESS"]
        self.mails.append({"kind": req["kind"], "to": recipient, "request": req})
        return {"kind": req["kind"], "recipients": ["it" if recipient == HOST_ENV["IT_NOTIFY_ADDRESS"] else "manager"]}

    def mail_kinds(self) -> list[str]:
        return [mail["kind"] for mail in self.mails]


class _ScriptedGraph:
    """What a watcher round asks Graph, answered from the script: every log entry, every user as changed."""

    def __init__(self, tenant: ScriptedTenant) -> None:
        self.tenant = tenant

    def provisioning_logs(self, **_: Any) -> list[dict[str, Any]]:
        return [
            {**entry, "sourceIdentity": {"id": employee_id}}
            for employee_id, entries in self.tenant.logs.items()
            for entry in entries
        ]

    def user_changes(self, link: str) -> UserChanges:
        return UserChanges(users=[dict(user) for user in self.tenant.users.values()], delta_link=link, pages=1)

    def latest_user_changes_link(self, select: Any) -> str:
        return "scripted"

    def batch(self, requests: Any) -> dict[str, BatchResponse]:
        """The direct look (``employeeId in (...)``) for events registered before the watcher was primed."""
        answers = {}
        for request in requests:
            expression = unquote(request.url).split("$filter=", 1)[1].split("&", 1)[0]
            wanted = {literal.strip(" '") for literal in expression.split("in (", 1)[1].rstrip(")").split(",")}
            found = [dict(user) for user in self.tenant.users.values() if user["employeeId"] in wanted]
            answers[request.id] = BatchResponse(request.id, 200, {}, {"value": found})
        return answers


def _log(
    entry_id: str, at: str, status: str, error_code: str | None = None, *, action: str | None = None
) -> dict[str, Any]:
    info: dict[str, Any] = {"status": status}
    if error_code:
        info["errorInformation"] = {"errorCode": error_code}
    return {"id": entry_id, "activityDateTime": at, "provisioningStatusInfo": info, "provisioningAction": action}
