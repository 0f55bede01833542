"""The names and shapes that orchestrators, activities, entities and the HTTP API agree on.

Durable Functions binds these by string at run time, so a typo is a failed instance in production rather than an
import error. Keeping every name in one module makes the contract greppable and lets tests check that each name
is registered exactly once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

# Orchestrators
HR_EVENT: Final = "hr_event"
HR_BATCH: Final = "hr_batch"
BULK_UPLOADER: Final = "bulk_uploader"
SYNC_WATCHER: Final = "sync_watcher"
SIGNATURE_GUARD: Final = "signature_guard"
HRIS_NOTIFICATION: Final = "hris_notification"

# Activities
PREFLIGHT: Final = "preflight"
RESOLVE_PERSON: Final = "resolve_person"
RESOLVE_MANAGER: Final = "resolve_manager"
RESOLVE_ACCOUNT: Final = "resolve_account"
NAME_CANDIDATES: Final = "name_candidates"
CHECK_NAME_IN_USE: Final = "check_name_in_use"
CHECK_ACCOUNT_PROTECTION: Final = "check_account_protection"
UPLOAD_BULK_REQUEST: Final = "upload_bulk_request"
DELIVER_UPLOAD_RESULT: Final = "deliver_upload_result"
START_BULK_UPLOADER: Final = "start_bulk_uploader"
START_HR_EVENTS: Final = "start_hr_events"
CHECK_PROVISIONING: Final = "check_provisioning"
ISSUE_FIRST_CREDENTIAL: Final = "issue_first_credential"
GET_USER_DETAILS: Final = "get_user_details"
REVOKE_SESSIONS: Final = "revoke_sign_in_sessions"
SEND_NOTIFICATION: Final = "send_notification"
WAKE_PENDING_HIRE: Final = "wake_pending_hire"
FETCH_HR_EVENT: Final = "fetch_hr_event"
WRITE_BACK_TO_HR: Final = "write_back_to_hr"
GET_INSTANCE_STATE: Final = "get_instance_state"
LOOKUP_HIRE: Final = "lookup_hire"
START_SYNC_WATCHER: Final = "start_sync_watcher"
WATCH_TENANT: Final = "watch_tenant"
CHECK_BATCH_ARRIVING: Final = "check_batch_arriving"

# Entities
NAME_RESERVATION: Final = "name_reservation"
EMPLOYEE_WATERMARK: Final = "employee_watermark"
CHANGE_BREAKER: Final = "change_breaker"
ACCOUNT_LIFECYCLE: Final = "account_lifecycle"
BULK_UPLOAD_QUEUE: Final = "bulk_upload_queue"
EMPLOYEE_RECORD: Final = "employee_record"
SYNC_WATCH: Final = "sync_watch"
SYNC_WATCH_REGISTRY: Final = "sync_watch_registry"
SINGLETON_KEY: Final = "default"

# External events raised into an hr_event instance
EVENT_RESCIND_PREFIX: Final = "rescind-"
EVENT_APPROVE: Final = "approve"
EVENT_UPLOADED: Final = "bulk-upload-result"
EVENT_PENDING_HIRE_CHANGED: Final = "pending-hire-changed"
"""Raised into a waiting hire when an amendment or a withdrawal was queued for it in its employee record."""
EVENT_SYNC_NOTICE_PREFIX: Final = "sync-notice-"
"""Prefix of what the sync watcher raises into a waiting event (one name per upload attempt)."""


def rescind_event(stage: str, hold: int | None = None) -> str:
    """The rescind event for a waiting stage; each stage has its own name (see steps.wait_for_events), and each
    hold after a run's first has its own too, since a waiter left open by an earlier hold would take the event."""
    suffix = f"-{hold}" if hold and hold > 1 else ""
    return f"{EVENT_RESCIND_PREFIX}{stage}{suffix}"


def approve_event(hold: int | None = None) -> str:
    """The approve event for a run's `hold`-th hold (the first keeps the plain name)."""
    return f"{EVENT_APPROVE}-{hold}" if hold and hold > 1 else EVENT_APPROVE


# Instance ids
EVENT_INSTANCE_PREFIX: Final = "hr-"
BATCH_INSTANCE_PREFIX: Final = "batch-"
UPLOADER_INSTANCE_PREFIX: Final = "bulk-uploader-"
WATCHER_INSTANCE_PREFIX: Final = "sync-watcher-"
SIGNATURE_INSTANCE_PREFIX: Final = "sig-"

# Stages shown in custom status (docs/design.md, "Stages and status"), in the order a hire passes through them.
STAGES: Final = (
    "accepted",
    "fetching",
    "scheduled",
    "held",
    "resolving",
    "names",
    "preflight",
    "uploading",
    "awaiting-provisioning",
    "awaiting-sync",
    "credential",
    "notifying",
    "writing-back",
    "completed",
    "failed",
    "cancelled",
    "superseded",
)
WAITING_STAGES: Final = frozenset({"accepted", "scheduled", "held"})
"""Stages in which nothing has been written to Entra yet, so HR may still rescind the event."""
FINAL_STAGES: Final = frozenset({"completed", "failed", "cancelled", "superseded"})
"""Stages an event ends in; a run publishes one only in the step that also records its output or error."""


@dataclass(frozen=True)
class WorkflowOptions:
    """The settings an orchestration needs, captured once when the event is accepted.

    Orchestrators must not read the environment (a setting changed between two replays would make the
    orchestration non-deterministic), so the HTTP layer snapshots these into the orchestration input.
    """

    provision_lead_days: int = 7
    sync_timeout_minutes: int = 60
    sync_wait_mode: str = "watch"
    credential_method: str = "tap"
    credential_recipient: str = "manager"
    tap_lifetime_minutes: int = 480
    tap_start_local_time: str = "08:00"
    update_creates_missing: bool = False
    termination_local_time: str = "18:00"
    revoke_sessions: bool = True
    termination_breaker_limit: int = 25
    breaker_daily_limit: int = 50
    breaker_batch_limit: int = 25
    breaker_create_limit: int = 500
    breaker_update_limit: int = 2000
    rehire_hold_after_days: int = 30
    default_time_zone: str = "UTC"
    name_conflict_retries: int = 3
    poll_initial_seconds: int = 30
    poll_max_seconds: int = 300
    sync_watch_interval_seconds: int = 30
    upload_coalesce_seconds: int = 10
    batch_upload_wait_seconds: int = 180
    bulk_calls_per_5s: int = 40
    bulk_daily_call_quota: int = 2000
    welcome_to_new_mailbox: bool = False
    rename_on_name_change: bool = False
    scim_extension_urn: str = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WorkflowOptions:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in (data or {}).items() if key in known})


class WorkflowFailed(Exception):
    """An event that cannot complete, with a stable error code IT can look up in docs/operations.md.

    The message is JSON so the status API can hand `{"code","message"}` back to HR; it never carries a secret
    (codes and Graph reasons only).
    """

    MARKER: Final = "WorkflowFailed:"

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{self.MARKER} {code}: {message}")


def parse_failure(text: str | None) -> dict[str, str] | None:
    """Recover `{"code","message"}` from the host's failure text (`Orchestrator function ... failed: ...`)."""
    if not text:
        return None
    index = text.find(WorkflowFailed.MARKER)
    if index < 0:
        return {
            "code": "InternalError",
            "message": "The workflow failed unexpectedly; see the instance history.",
        }
    code, _, message = text[index + len(WorkflowFailed.MARKER) :].strip().partition(": ")
    return {"code": code.strip(), "message": message.strip().splitlines()[0] if message.strip() else ""}


# -- reconciliation (provisioning.reconciliation) ----------------------------------------------------------------
RECONCILIATION: Final = "reconciliation"
RECONCILIATION_APPLY: Final = "reconciliation_apply"
RECON_READ_CONNECTOR: Final = "reconcile_read_connector"
RECON_CHUNKS_STORED: Final = "reconcile_chunks_stored"
RECON_COMPARE: Final = "reconcile_compare"
RECON_START_EVENTS: Final = "reconcile_start_events"
RECONCILIATION_CHUNK: Final = "reconciliation_chunk"
CORRELATION_CASES: Final = "correlation_cases"
RECONCILIATION_INSTANCE_PREFIX: Final = "recon-"
RECONCILIATION_APPLY_PREFIX: Final = "recon-apply-"
