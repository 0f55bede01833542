"""Pure decisions the orchestrators (and the preview) share: what to do, when, and with which record.

Nothing here touches the network or the clock; orchestrators call these with replay-safe inputs, and the
preview endpoint calls them with live lookups, so a preview shows exactly what the workflow would do.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from provisioning import schedule, scim
from provisioning.events import LEAVE_TYPES, HrEvent
from provisioning.naming import NameCandidate
from provisioning.settings import Settings
from provisioning.workflows.contracts import WorkflowFailed, WorkflowOptions

__all__ = [
    "alias_addresses",
    "decide_action",
    "effective_instant",
    "ids_only",
    "record_from_spec",
    "record_spec",
    "scim_record",
    "workflow_options",
]


def workflow_options(settings: Settings) -> WorkflowOptions:
    """Snapshot the settings an orchestration needs (see WorkflowOptions for why)."""
    return WorkflowOptions(
        provision_lead_days=settings.provision_lead_days,
        sync_timeout_minutes=settings.sync_timeout_minutes,
        sync_wait_mode=settings.sync_wait_mode,
        sync_watch_interval_seconds=settings.sync_watch_interval_seconds,
        credential_method=settings.credential_method,
        credential_recipient=settings.credential_recipient,
        tap_lifetime_minutes=settings.tap_lifetime_minutes,
        tap_start_local_time=settings.tap_start_local_time.strftime("%H:%M"),
        update_creates_missing=settings.update_creates_missing,
        termination_local_time=settings.termination_local_time.strftime("%H:%M"),
        revoke_sessions=settings.revoke_sessions,
        termination_breaker_limit=settings.termination_breaker_limit,
        breaker_daily_limit=settings.breaker_daily_limit,
        breaker_batch_limit=settings.breaker_batch_limit,
        breaker_create_limit=settings.breaker_create_limit,
        breaker_update_limit=settings.breaker_update_limit,
        rehire_hold_after_days=settings.rehire_hold_after_days,
        default_time_zone=settings.default_time_zone,
        name_conflict_retries=settings.name_conflict_retries,
        poll_initial_seconds=settings.provisioning_poll_initial_seconds,
        poll_max_seconds=settings.provisioning_poll_max_seconds,
        upload_coalesce_seconds=settings.upload_coalesce_seconds,
        batch_upload_wait_seconds=settings.batch_upload_wait_seconds,
        bulk_calls_per_5s=settings.bulk_calls_per_5s,
        bulk_daily_call_quota=settings.bulk_daily_call_quota,
        welcome_to_new_mailbox=settings.welcome_to_new_mailbox,
        rename_on_name_change=settings.rename_on_name_change,
        scim_extension_urn=settings.scim_extension_urn,
    )


def decide_action(
    event_type: str, person: dict[str, Any] | None, *, update_creates_missing: bool
) -> tuple[str, str | None]:
    """What the event must do given what Entra already holds for this employeeId.

    Returns `(action, warning)` where action is `hire`, `rehire` (re-enable an existing account),
    `rehire-new` (a rehire with no account left: provision like a hire), `update`, `termination`,
    `leave-of-absence` or `return-from-leave`.
    """
    exists = person is not None
    enabled = bool(person and person.get("accountEnabled", True))
    if event_type in ("hire", "rehire"):
        if not exists:
            return ("hire" if event_type == "hire" else "rehire-new"), None
        if enabled:
            return (
                "update",
                f"an enabled account already exists for this employeeId; the {event_type} ran as an update",
            )
        if event_type == "hire":
            return "rehire", "a disabled account exists for this employeeId; the hire ran as a rehire"
        return "rehire", None
    if event_type in ("leave-of-absence", "return-from-leave"):
        if exists:
            return event_type, None
        raise WorkflowFailed(
            "UnknownEmployee", "No Entra account has this employeeId, so there is no account to disable or enable."
        )
    if event_type == "update":
        if exists:
            return "update", None
        if update_creates_missing:
            return (
                "hire",
                "no account exists for this employeeId; the update ran as a hire (UPDATE_CREATES_MISSING)",
            )
        raise WorkflowFailed("UnknownEmployee", "No Entra account has this employeeId, so there is nothing to update.")
    if not exists:
        raise WorkflowFailed("UnknownEmployee", "No Entra account has this employeeId, so there is nothing to disable.")
    return "termination", None


def effective_instant(event: dict[str, Any], options: WorkflowOptions, zone: ZoneInfo) -> datetime | None:
    """When the event may write to Entra (UTC), or None for "now".

    Hires and rehires start PROVISION_LEAD_DAYS before the start date at 00:00 local, terminations at
    TERMINATION_LOCAL_TIME on the last working day; updates, a leave of absence (its first day) and a return from
    leave (the first day back) at 00:00 local on their effective date.
    """
    effective = event.get("effectiveDate")
    if not effective:
        return None
    day = date.fromisoformat(effective)
    kind = event["type"]
    if kind in ("hire", "rehire"):
        return schedule.provisioning_start(day, options.provision_lead_days, zone)
    if kind == "termination":
        return schedule.termination_instant(day, schedule.parse_local_time(options.termination_local_time), zone)
    return schedule.update_instant(day, zone)


def ids_only(event: dict[str, Any]) -> dict[str, Any]:
    """The event without the employee's fields: a leave of absence touches nothing but the enabled state."""
    kept: dict[str, Any] = {
        key: event[key] for key in ("eventId", "type", "effectiveDate", "occurredAt") if key in event
    }
    return {**kept, "employee": {"employeeId": event["employee"]["employeeId"]}}


def scim_record(
    event: dict[str, Any],
    options: WorkflowOptions,
    *,
    names: dict[str, Any] | None,
    existing: dict[str, Any] | None,
    active: bool,
    proxy_addresses: list[str] | None = None,
) -> dict[str, Any]:
    """The complete SCIM user for this event: the event's values over what Entra holds, `active` explicit.

    `proxy_addresses` is sent only when the names change (a rename keeps the old address as an alias).
    """
    model = HrEvent.model_validate(event)
    candidate = None
    if names and names.get("userPrincipalName") and names.get("samAccountName"):
        candidate = NameCandidate(
            user_principal_name=names["userPrincipalName"],
            mail=names.get("mail") or names["userPrincipalName"],
            mail_nickname=names.get("mailNickname") or names["userPrincipalName"].split("@", 1)[0],
            sam_account_name=names["samAccountName"],
        )
    # HireDate and LeaveDate are calendar facts ("starts on 29 November"), sent as that date at 00:00:00Z whatever
    # the employee's zone: converting local midnight to UTC would move a Madrid start to 28 November in AD.
    day = date.fromisoformat(event["effectiveDate"]) if event.get("effectiveDate") else None
    hire_date = day if event["type"] in ("hire", "rehire") else None
    leave_date = day if event["type"] == "termination" else None
    return scim.user_record(
        model,
        names=candidate,
        active=active,
        extension_urn=options.scim_extension_urn,
        existing=existing,
        hire_date=hire_date,
        leave_date=leave_date,
        # A leave date in an upload means "this person has left" (it drives accountExpires, see docs/deploy.md):
        # an enabled account, or one disabled for a leave of absence, must not carry an old one.
        keep_leave_date=not active and event["type"] not in LEAVE_TYPES,
        proxy_addresses=proxy_addresses,
    )


def alias_addresses(person: dict[str, Any], new_mail: str, previous_mail: str | None = None) -> list[str]:
    """proxyAddresses after a rename: the new address primary, every old one (the old primary too) an alias."""
    known = [str(address) for address in person.get("proxyAddresses") or []]
    old_mail = previous_mail or person.get("mail")
    if old_mail and not any(address.lower() == f"smtp:{old_mail.lower()}" for address in known):
        known.append(f"SMTP:{old_mail}")
    aliases = [
        "smtp:" + address[5:] if address.startswith("SMTP:") else address
        for address in known
        if address.lower() != f"smtp:{new_mail.lower()}"
    ]
    return [f"SMTP:{new_mail}", *aliases]


def record_spec(
    *,
    names: dict[str, Any] | None,
    person: dict[str, Any] | None,
    active: bool,
    event: dict[str, Any] | None = None,
    ids_only: bool = False,
    previous_mail: str | None = None,
) -> dict[str, Any]:
    """What the upload needs to build an event's record, without the record's personal data.

    The record itself is built by the upload activity from the event's own input (`event` is carried only when
    the orchestration works from a changed event, e.g. a pending hire amended before its start) and, for an
    existing account, its profile read at upload time. `ids_only` (a leave of absence or a return) uploads the
    account's profile with only the enabled state changed. `previous_mail` (a rename) is the address the account
    had before: it is kept as an alias in proxyAddresses.
    """
    spec: dict[str, Any] = {
        "names": names,
        "active": active,
        "existingId": (person or {}).get("id"),
        "managerEmployeeId": (person or {}).get("managerEmployeeId"),
    }
    if event is not None:
        spec["event"] = event
    if ids_only:
        spec["idsOnly"] = True
    if previous_mail:
        spec["previousMail"] = previous_mail
    return spec


def record_from_spec(
    event: dict[str, Any],
    options: WorkflowOptions,
    spec: dict[str, Any],
    existing: dict[str, Any] | None,
) -> dict[str, Any]:
    """The SCIM record a spec describes; `existing` is the account's full profile when the spec names one."""
    profile = None
    if spec.get("existingId"):
        if existing is None:
            raise LookupError("the account is no longer in Entra")
        profile = {**existing, "managerEmployeeId": spec.get("managerEmployeeId")}
        if not profile.get("manager") and spec.get("managerEmployeeId"):
            profile["manager"] = spec["managerEmployeeId"]
    source = spec.get("event") or event
    names = spec.get("names")
    proxy_addresses = None
    if spec.get("previousMail") and names and names.get("mail"):
        proxy_addresses = alias_addresses(profile or {}, names["mail"], spec["previousMail"])
    return scim_record(
        ids_only(source) if spec.get("idsOnly") else source,
        options,
        names=names,
        existing=profile,
        active=bool(spec["active"]),
        proxy_addresses=proxy_addresses,
    )
