"""Email rendering: HR lifecycle notifications as Microsoft Graph ``sendMail`` messages.

This module only renders. It turns small typed contexts into :class:`RenderedEmail` values whose
:meth:`RenderedEmail.message` is the Graph ``message`` object (Graph "user: sendMail");
sending happens in the activity that owns the Graph client. Keeping rendering pure means every template
can be exercised in unit tests, including with ``StrictUndefined`` so a typo in an override template
fails loudly instead of mailing a blank.

Graph's JSON ``sendMail`` takes exactly one body (``contentType`` ``Text`` or ``HTML``), so the HTML
rendering is what is sent. The plain-text rendering is kept on :attr:`RenderedEmail.text` for previews
and tests; it never goes to Graph (an unknown ``message`` property would be rejected).

Templates live in ``provisioning/templates`` (shipped with the package). An operator can override any of
them by pointing the ``TEMPLATES_DIR`` setting at a folder with files of the same names; that folder is
searched first. Each message ``<kind>`` has ``<kind>.html`` and ``<kind>.txt``; the text template holds
the subject in ``{% block subject %}``. A language variant ``<kind>.<lang>.html`` / ``.txt`` is chosen
by the employee's ``preferredLanguage`` (full tag first, then the primary subtag), falling back to the
unsuffixed English file.

Only :meth:`Notifier.render_temporary_access_pass` ever handles a secret. Its result must never be
logged, stored, returned from an activity or put into an exception; ``RenderedEmail``'s ``repr``
deliberately hides everything but the kind and language so an accidental ``log.info(email)`` leaks
neither the pass nor personal data.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

BUILTIN_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

MESSAGE_KINDS: tuple[str, ...] = (
    "welcome",
    "temporary_access_pass",
    "manager_changed",
    "termination",
    "it_alert",
    "held_for_approval",
    "rehire_notice",
    "reconciliation_summary",
)

CredentialMethod = Literal["tap", "password", "none"]
CredentialRecipient = Literal["manager", "personal", "both"]

_DEFAULT_LANGUAGE = "en"
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f<>\"(),;:\\\[\]]+"
_EMAIL_ADDRESS = re.compile(rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.[^@\s.<>]+$")
# Anything address-shaped or an international phone number inside free text from a provisioning log.
_EMBEDDED_EMAIL = re.compile(r"(?<![^\s@<>\"'(),;:])[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
_EMBEDDED_PHONE = re.compile(r"(?<![\d+])\+\d[\d\s().-]{6,}\d")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")

_TAP_MIN_LIFETIME_MINUTES = 10
_TAP_MAX_LIFETIME_MINUTES = 43200

_MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}  # fmt: skip
_WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}


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


# ---------------------------------------------------------------------------------------------------------
# Typed inputs. Every datetime must carry an offset: local times in the mails are derived from them.


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
        _require_aware(self.starts_at, "starts_at")
        _zone(self.time_zone)
        if not _TAP_MIN_LIFETIME_MINUTES <= self.lifetime_minutes <= _TAP_MAX_LIFETIME_MINUTES:
            limits = f"{_TAP_MIN_LIFETIME_MINUTES} and {_TAP_MAX_LIFETIME_MINUTES}"
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
        _require_aware(self.disabled_at, "disabled_at")
        _zone(self.time_zone)


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
        _require_aware(self.failed_at, "failed_at")


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
        _require_aware(self.held_at, "held_at")


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
        _require_aware(self.planned_at, "planned_at")


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
        _require_aware(self.completed_at, "completed_at")


# ---------------------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True)
class RenderedEmail:
    """One rendered notification. :meth:`message` is what goes to Graph; ``text`` is a preview only.

    Everything that may hold personal data or a secret is left out of ``repr`` on purpose.
    """

    kind: str
    language: str
    subject: str = field(repr=False)
    html: str = field(repr=False)
    text: str = field(repr=False)
    to: tuple[str, ...] = field(repr=False)
    cc: tuple[str, ...] = field(default=(), repr=False)
    importance: Literal["low", "normal", "high"] = "normal"
    carries_secret: bool = False

    def message(self) -> dict[str, Any]:
        """The Graph ``message`` resource for ``POST /users/{sender}/sendMail``."""
        message: dict[str, Any] = {
            "subject": self.subject,
            "body": {"contentType": "HTML", "content": self.html},
            "toRecipients": [{"emailAddress": {"address": address}} for address in self.to],
        }
        if self.cc:
            message["ccRecipients"] = [{"emailAddress": {"address": address}} for address in self.cc]
        if self.importance != "normal":
            message["importance"] = self.importance
        return message

    def send_mail_request(self) -> dict[str, Any]:
        """The full ``sendMail`` request body.

        A message carrying a Temporary Access Pass is not saved to the sender's Sent Items, so the pass
        does not outlive its delivery in a shared mailbox.
        """
        request: dict[str, Any] = {"message": self.message()}
        if self.carries_secret:
            request["saveToSentItems"] = False
        return request


# ---------------------------------------------------------------------------------------------------------
# Rendering


class Notifier:
    """Renders every notification the workflows send, from the built-in or overriding templates.

    ``it_notify_address`` is the ``IT_NOTIFY_ADDRESS`` setting: IT's copy of terminations, alerts and
    breaker holds, and the fallback recipient whenever a manager could not be resolved.
    ``templates_dir`` is the ``TEMPLATES_DIR`` setting (optional); its files win over the built-ins.
    """

    def __init__(self, it_notify_address: str, templates_dir: str | os.PathLike[str] | None = None) -> None:
        self._it_address = _checked_address(it_notify_address, "it_notify_address")
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None and str(templates_dir):
            override = Path(templates_dir)
            if not override.is_dir():
                raise ValueError("TEMPLATES_DIR is not a folder")
            loaders.append(jinja2.FileSystemLoader(override))
        loaders.append(jinja2.FileSystemLoader(BUILTIN_TEMPLATES_DIR))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm"), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["date_long"] = format_date_long
        self._env.filters["time_hm"] = format_time_hm
        self._env.filters["duration"] = format_duration

    def template_problems(self) -> list[str]:
        """Load (compile) every English template and every language variant present; list what fails.

        Meant for start-up and the health check: a broken override folder shows up before a hire does.
        Rendering problems such as an unknown variable only show when rendering (``StrictUndefined``).
        """
        problems: list[str] = []
        names = set(self._env.list_templates(filter_func=_is_message_template))
        names.update(f"{kind}.{extension}" for kind in MESSAGE_KINDS for extension in ("html", "txt"))
        for name in sorted(names):
            try:
                self._env.get_template(name)
            except jinja2.TemplateNotFound:
                problems.append(f"template {name} is missing")
            except jinja2.TemplateSyntaxError as error:
                problems.append(f"template {name} line {error.lineno}: {error.message}")
        return problems

    def render_welcome(self, context: WelcomeContext) -> RenderedEmail:
        """Welcome for a new hire or rehire. Carries no credential; says where the first sign-in pass goes."""
        to = _recipients([context.manager_email], fallback=self._it_address)
        if context.send_to_new_mailbox:
            to = _recipients([*to, context.mail], fallback=self._it_address)
        return self._render(
            "welcome",
            context.preferred_language,
            _fields(context),
            to=to,
        )

    def render_temporary_access_pass(self, context: PassContext, temporary_access_pass: str) -> RenderedEmail:
        """The first sign-in pass. The ONLY message that carries a secret.

        The returned value (and its :meth:`RenderedEmail.message`) contains the pass: send it and drop it.
        Never log it, never return it from an activity, never put it into an exception or custom status.

        Recipients follow ``CREDENTIAL_RECIPIENT``: ``manager``, ``personal`` (the HR personal email) or
        ``both``. A missing manager address falls back to IT (never to the private address); a missing
        personal address falls back to the manager, then IT. A pass is never rendered without a recipient.
        """
        if not temporary_access_pass or temporary_access_pass != temporary_access_pass.strip():
            raise ValueError("temporary_access_pass is empty or has surrounding whitespace")
        zone = _zone(context.time_zone)
        starts_local = context.starts_at.astimezone(zone)
        # Add the lifetime on the absolute timeline, then convert: wall-clock arithmetic would be off by
        # an hour when the pass spans a daylight-saving change.
        expires_local = (context.starts_at + timedelta(minutes=context.lifetime_minutes)).astimezone(zone)
        wanted: list[str | None]
        if context.recipient == "manager":
            # An organisation that chose the manager did not agree to mail a pass to a private address.
            wanted = [context.manager_email]
        elif context.recipient == "personal":
            wanted = [context.personal_email] if context.personal_email else [context.manager_email]
        else:
            wanted = [context.manager_email, context.personal_email]
        variables = _fields(context) | {
            "temporary_access_pass": temporary_access_pass,
            "starts_local": starts_local,
            "expires_local": expires_local,
            "time_zone_abbreviation": starts_local.tzname() or context.time_zone,
            "spans_days": starts_local.date() != expires_local.date(),
        }
        return self._render(
            "temporary_access_pass",
            context.preferred_language,
            variables,
            to=_recipients(wanted, fallback=self._it_address),
            carries_secret=True,
        )

    def render_manager_changed(self, context: ManagerChangedContext) -> RenderedEmail:
        """Tells a mover's new manager about their new report."""
        return self._render(
            "manager_changed",
            context.preferred_language,
            _fields(context),
            to=_recipients([context.new_manager_email], fallback=self._it_address),
        )

    def render_termination(self, context: TerminationContext) -> RenderedEmail:
        """Leaver notice to the manager with IT in copy (IT alone when there is no manager)."""
        to = _recipients([context.manager_email], fallback=self._it_address)
        cc = tuple(address for address in (self._it_address,) if not _same_address(address, to))
        variables = _fields(context) | {
            "disabled_local": context.disabled_at.astimezone(_zone(context.time_zone)),
        }
        return self._render("termination", context.preferred_language, variables, to=to, cc=cc)

    def render_it_alert(self, context: ItAlertContext) -> RenderedEmail:
        """Failure alert for IT with the runbook for the error's family. No names, emails or phones."""
        family = context.family or FailureFamily.for_error_code(context.error_code)
        variables = _fields(context) | {
            "family": family.value,
            "reason": redact_personal_data(context.reason),
            "failed_at_utc": context.failed_at.astimezone(UTC),
        }
        return self._render("it_alert", None, variables, to=(self._it_address,), importance="high")

    def render_rehire_notice(self, context: RehireNoticeContext) -> RenderedEmail:
        """Every rehire, for IT: the account, the hold (if any) and who received its first credential."""
        variables = _fields(context) | {"completed_at_utc": context.completed_at.astimezone(UTC)}
        return self._render("rehire_notice", None, variables, to=(self._it_address,))

    def render_reconciliation_summary(self, context: ReconciliationSummaryContext) -> RenderedEmail:
        """A scheduled reconciliation's summary, for IT, with the routes to read and apply its plan."""
        run_route = f"{context.api_base_url.rstrip('/')}/reconciliations/{quote(context.run_id, safe='')}"
        variables = _fields(context) | {
            "status_url": run_route,
            "csv_url": f"{run_route}?format=csv",
            "apply_url": f"{run_route}/apply",
            "planned_at_utc": context.planned_at.astimezone(UTC),
            "drift": sum(count for name, count in context.classes.items()),
        }
        importance: Literal["low", "normal", "high"] = "high" if context.hold_reasons else "normal"
        return self._render("reconciliation_summary", None, variables, to=(self._it_address,), importance=importance)

    def render_held_for_approval(self, context: HeldForApprovalContext) -> RenderedEmail:
        """A held event (breaker or rehire), for IT, with the routes that approve or rescind it."""
        event_route = f"{context.api_base_url.rstrip('/')}/hr-events/{quote(context.status_id, safe='')}"
        variables = _fields(context) | {
            "status_url": event_route,
            "approve_url": f"{event_route}/approve",
            "held_at_utc": context.held_at.astimezone(UTC),
        }
        return self._render("held_for_approval", None, variables, to=(self._it_address,), importance="high")

    def _render(
        self,
        kind: str,
        preferred_language: str | None,
        variables: Mapping[str, Any],
        *,
        to: tuple[str, ...],
        cc: tuple[str, ...] = (),
        importance: Literal["low", "normal", "high"] = "normal",
        carries_secret: bool = False,
    ) -> RenderedEmail:
        languages = _language_candidates(preferred_language)
        text_template = self._env.select_template(_variant_names(kind, "txt", languages))
        html_template = self._env.select_template(_variant_names(kind, "html", languages))
        language = _language_of(html_template.name or "", kind)
        base = dict(variables) | {"language": language}
        subject_block = text_template.blocks.get("subject")
        if subject_block is None:
            raise jinja2.TemplateError(f"template {text_template.name} has no subject block")
        subject = _WHITESPACE.sub(" ", "".join(subject_block(text_template.new_context(base)))).strip()
        if not subject:
            raise jinja2.TemplateError(f"template {text_template.name} renders an empty subject")
        with_subject = base | {"subject": subject}
        text = _BLANK_LINES.sub("\n\n", text_template.render(with_subject)).strip() + "\n"
        html = html_template.render(with_subject)
        return RenderedEmail(
            kind=kind,
            language=language,
            subject=subject,
            html=html,
            text=text,
            to=to,
            cc=cc,
            importance=importance,
            carries_secret=carries_secret,
        )


# ---------------------------------------------------------------------------------------------------------
# Template filters (also usable directly)


def format_date_long(value: date, language: str = _DEFAULT_LANGUAGE) -> str:
    """``Tuesday 1 December 2026`` / ``Dienstag, 1. Dezember 2026``; ISO date for other languages."""
    months = _MONTHS.get(language)
    weekdays = _WEEKDAYS.get(language)
    if months is None or weekdays is None:
        return value.isoformat()
    weekday, month = weekdays[value.weekday()], months[value.month - 1]
    if language == "de":
        return f"{weekday}, {value.day}. {month} {value.year}"
    return f"{weekday} {value.day} {month} {value.year}"


def format_time_hm(value: datetime) -> str:
    """24-hour ``HH:MM``: unambiguous for readers in any country."""
    return value.strftime("%H:%M")


def format_duration(minutes: int, language: str = _DEFAULT_LANGUAGE) -> str:
    """``8 hours``, ``1 hour 30 minutes``, ``45 minutes`` (or German)."""
    hours, rest = divmod(minutes, 60)
    if language == "de":
        units = (("Stunde", "Stunden"), ("Minute", "Minuten"))
    else:
        units = (("hour", "hours"), ("minute", "minutes"))
    parts = [
        f"{count} {singular if count == 1 else plural}"
        for count, (singular, plural) in zip((hours, rest), units, strict=True)
        if count
    ]
    return " ".join(parts) or f"0 {units[1][1]}"


REDACTION_LIMIT = 2000
"""Characters of free text an alert carries; a provisioning-log reason longer than this is cut (and marked)."""


def redact_personal_data(text: str) -> str:
    """Blank out email addresses and international phone numbers in free text (provisioning log reasons).

    The text is cut to REDACTION_LIMIT characters first and the patterns only start at a token boundary, so the
    work is linear in the (bounded) length whatever the input: a long run without separators can no longer make
    the address pattern rescan it from every position.
    """
    if len(text) > REDACTION_LIMIT:
        text = text[:REDACTION_LIMIT] + "…"
    return _EMBEDDED_PHONE.sub("[phone]", _EMBEDDED_EMAIL.sub("[email]", text))


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _fields(context: object) -> dict[str, Any]:
    """The dataclass's own fields, shallow (dates stay dates for the filters)."""
    names: Iterable[str] = getattr(context, "__dataclass_fields__", {})
    return {name: getattr(context, name) for name in names}


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a UTC offset")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _checked_address(address: str, what: str) -> str:
    cleaned = address.strip()
    if not _EMAIL_ADDRESS.fullmatch(cleaned):
        # The address itself stays out of the message: exceptions end up in logs.
        raise ValueError(f"{what} is not an email address")
    return cleaned


def _same_address(address: str, addresses: Iterable[str]) -> bool:
    folded = address.casefold()
    return any(folded == other.casefold() for other in addresses)


def _recipients(addresses: Iterable[str | None], *, fallback: str) -> tuple[str, ...]:
    """Drop blanks, validate, de-duplicate case-insensitively (first spelling wins); IT when none is left."""
    chosen: list[str] = []
    for address in addresses:
        if address is None or not address.strip():
            continue
        cleaned = _checked_address(address, "recipient")
        if not _same_address(cleaned, chosen):
            chosen.append(cleaned)
    return tuple(chosen) or (fallback,)


def _language_candidates(preferred_language: str | None) -> tuple[str, ...]:
    """``de-DE`` → (``de-DE``, ``de``); anything that is not a BCP 47-shaped tag is ignored."""
    if not preferred_language or not _LANGUAGE_TAG.fullmatch(preferred_language):
        return ()
    primary = preferred_language.split("-", 1)[0].lower()
    full = preferred_language if "-" in preferred_language else None
    return tuple(tag for tag in (full, primary) if tag and tag != _DEFAULT_LANGUAGE)


def _variant_names(kind: str, extension: str, languages: tuple[str, ...]) -> list[str]:
    return [*(f"{kind}.{language}.{extension}" for language in languages), f"{kind}.{extension}"]


def _language_of(template_name: str, kind: str) -> str:
    """``welcome.de.html`` → ``de``; ``welcome.html`` → the default language."""
    parts = template_name.removeprefix(f"{kind}.").split(".")
    return parts[0] if len(parts) == 2 else _DEFAULT_LANGUAGE


def _is_message_template(name: str) -> bool:
    """Message templates, their language variants and the shared layouts (``_layout.*``)."""
    kind = name.split(".", 1)[0]
    return (kind in MESSAGE_KINDS or kind.startswith("_")) and name.endswith((".html", ".txt"))
