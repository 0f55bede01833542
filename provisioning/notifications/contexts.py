"""What each notification is about: small typed contexts the workflows fill in, one per kind of message.

Every datetime must carry an offset (local times in the mails are derived from it); a context that cannot be
rendered correctly refuses to be built, so a mistake shows in the activity that made it, not in a mailbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CredentialMethod = Literal["tap", "password", "none"]
CredentialRecipient = Literal["manager", "personal", "both"]

TAP_MIN_LIFETIME_MINUTES = 10
TAP_MAX_LIFETIME_MINUTES = 43200


class FailureFamily(StrEnum):
    """What kind of failure an IT alert is about; each family has its own short runbook in ``it_alert``."""

    PROVISIONING_LOG_MISSING = "provisioning-log-missing"
    CONNECT_SYNC_LATE = "connect-sync-late"
    DIRECTORY_ERROR = "directory-error"
    NAME_CONFLICTS_EXHAUSTED = "name-conflicts-exhausted"
    PERMISSIONS_MISSING = "permissions-missing"
    UNKNOWN_EMPLOYEE = "unknown-employee"
    PROTECTED_ACCOUNT = "protected-account"
    OTHER = "other"

    @classmethod
    def for_error_code(cls, error_code: str) -> FailureFamily:
        """Classify an error code: the app's own codes by name, provisioning-log codes by their prefixes.

        The provisioning service reports AD and Entra failures with codes such as
        ``HybridSynchronizationActiveDirectoryCannotFindAttribute``, ``InsufficientAccessRights`` or
        ``AzureActiveDirectoryInvalidUserPrincipalName``; all of those are fixed in the directory and the
        event resubmitted, so they share one runbook.
        """
        family = _APP_ERROR_CODES.get(error_code)
        if family is not None:
            return family
        if error_code.startswith(_DIRECTORY_ERROR_PREFIXES):
            return cls.DIRECTORY_ERROR
        return cls.OTHER


_APP_ERROR_CODES: Mapping[str, FailureFamily] = {
    "SyncDeadlineNoProvisioningLog": FailureFamily.PROVISIONING_LOG_MISSING,
    "SyncDeadlineEntraUserMissing": FailureFamily.CONNECT_SYNC_LATE,
    "NameConflictsExhausted": FailureFamily.NAME_CONFLICTS_EXHAUSTED,
    "MissingGraphPermissions": FailureFamily.PERMISSIONS_MISSING,
    "UnknownEmployee": FailureFamily.UNKNOWN_EMPLOYEE,
    "ProtectedAccount": FailureFamily.PROTECTED_ACCOUNT,
}
_DIRECTORY_ERROR_PREFIXES: tuple[str, ...] = (
    "HybridSynchronizationActiveDirectory",
    "ActiveDirectory",
    "AzureActiveDirectory",
    "InsufficientAccessRights",
    "InvalidAttributeSyntax",
    "DuplicateTargetEntries",
    "Ldap",
    "EntrySynchronization",
    "ProvisioningFailed",
)


@dataclass(frozen=True)
class WelcomeContext:
    """A hire or rehire is ready: to the manager (or IT when there is none) and optionally the new mailbox."""

    employee_id: str
    display_name: str
    user_principal_name: str
    mail: str | None
    start_date: date
    manager_name: str | None
    manager_email: str | None
    credential_method: CredentialMethod = "tap"
    credential_recipient: CredentialRecipient = "manager"
    send_to_new_mailbox: bool = False
    job_title: str | None = None
    department: str | None = None
    preferred_language: str | None = None


@dataclass(frozen=True)
class PassContext:
    """Everything about a Temporary Access Pass except the pass itself (that is a separate argument).

    ``starts_at`` is the pass's ``startDateTime`` as created; ``time_zone`` is the employee's IANA zone,
    used to show the start in the new hire's local time.
    """

    employee_id: str
    display_name: str
    user_principal_name: str
    starts_at: datetime
    lifetime_minutes: int
    time_zone: str
    is_usable_once: bool
    recipient: CredentialRecipient
    manager_name: str | None
    manager_email: str | None
    personal_email: str | None
    preferred_language: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.starts_at, "starts_at")
        zone(self.time_zone)
        if not TAP_MIN_LIFETIME_MINUTES <= self.lifetime_minutes <= TAP_MAX_LIFETIME_MINUTES:
            limits = f"{TAP_MIN_LIFETIME_MINUTES} and {TAP_MAX_LIFETIME_MINUTES}"
            raise ValueError(f"lifetime_minutes must be between {limits}")


@dataclass(frozen=True)
class ManagerChangedContext:
    """A mover got a new manager: sent to the new manager (or IT when the manager is unknown)."""

    employee_id: str
    display_name: str
    user_principal_name: str
    mail: str | None
    new_manager_name: str | None
    new_manager_email: str | None
    previous_manager_name: str | None
    effective_date: date
    job_title: str | None = None
    department: str | None = None
    preferred_language: str | None = None


@dataclass(frozen=True)
class TerminationContext:
    """A leaver's account was disabled: sent to the manager and IT."""

    employee_id: str
    display_name: str
    user_principal_name: str
    last_working_day: date
    disabled_at: datetime
    time_zone: str
    sessions_revoked: bool
    manager_name: str | None
    manager_email: str | None
    preferred_language: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.disabled_at, "disabled_at")
        zone(self.time_zone)


@dataclass(frozen=True)
class ItAlertContext:
    """A failed event, for IT. Carries no personal data beyond the employeeId: IT looks the rest up.

    ``reason`` is usually the provisioning log's text; email addresses and international phone numbers
    inside it are redacted before rendering. ``family`` picks the runbook; when omitted it is derived
    from ``error_code`` by :meth:`FailureFamily.for_error_code`.
    """

    event_id: str
    employee_id: str
    event_type: str
    stage: str
    error_code: str
    reason: str
    instance_id: str
    failed_at: datetime
    family: FailureFamily | None = None

    def __post_init__(self) -> None:
        require_aware(self.failed_at, "failed_at")


@dataclass(frozen=True)
class HeldForApprovalContext:
    """An event waits for IT: the mass-change breaker tripped (``hold`` = ``breaker``), a rehire needs a human
    to confirm it (``rehire``), or a hire waits for a go-live correlation case to be decided (``correlation``).
    IT approves or rescinds it through the HTTP API.

    ``status_id`` is the ``{id}`` of the status route (the orchestration instance id); ``reasons`` say why, in
    words without personal data; ``api_base_url`` is the public base of the routes, e.g.
    ``https://func-hr.azurewebsites.net/api``.
    """

    event_id: str
    employee_id: str
    status_id: str
    effective_date: date | None
    held_at: datetime
    reasons: tuple[str, ...]
    hold: Literal["breaker", "rehire", "correlation"] = "breaker"
    event_type: str = "termination"
    breaker_limit: int | None = None
    api_base_url: str = "/api"

    def __post_init__(self) -> None:
        require_aware(self.held_at, "held_at")


@dataclass(frozen=True)
class ReconciliationSummaryContext:
    """A scheduled reconciliation's result, for IT: counts per drift class, whether it is held and why, what was
    applied by itself (RECONCILE_AUTO_APPLY). Counts and ids only: the plan itself is behind the status route."""

    run_id: str
    source: str
    stage: str
    classes: Mapping[str, int]
    changes: Mapping[str, int]
    hold_reasons: tuple[str, ...]
    auto_apply: tuple[str, ...]
    applied: Mapping[str, Any] | None
    planned_at: datetime
    api_base_url: str = "/api"

    def __post_init__(self) -> None:
        require_aware(self.planned_at, "planned_at")


@dataclass(frozen=True)
class RehireNoticeContext:
    """IT's copy of every rehire: which account came back, why it was held, who received the first credential.

    ``credential_recipients`` are roles (``manager``, ``personal``, ``it``), ``manager_name`` the manager who
    received it (the one on record for an existing account). No personal address or phone number.
    """

    event_id: str
    employee_id: str
    instance_id: str
    user_principal_name: str
    existing_account: bool
    disabled_days: int | None
    held_reasons: tuple[str, ...]
    credential_method: str | None
    credential_recipients: tuple[str, ...]
    manager_name: str | None
    completed_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.completed_at, "completed_at")


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a UTC offset")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error
