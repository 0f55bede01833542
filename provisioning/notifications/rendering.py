"""The renderer: typed contexts in, Microsoft Graph ``sendMail`` messages out, from Jinja templates.

Templates live in ``provisioning/templates`` (shipped with the package); the ``TEMPLATES_DIR`` setting points at a
folder whose files of the same names win. Each message ``<kind>`` has ``<kind>.html`` and ``<kind>.txt``; the text
template holds the subject in ``{% block subject %}``. A language variant ``<kind>.<lang>.html`` / ``.txt`` is
chosen by the employee's ``preferredLanguage`` (full tag first, then the primary subtag), falling back to the
unsuffixed English file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jinja2

from provisioning.notifications.contexts import (
    FailureFamily,
    HeldForApprovalContext,
    ItAlertContext,
    ManagerChangedContext,
    PassContext,
    ReconciliationSummaryContext,
    RehireNoticeContext,
    TerminationContext,
    WelcomeContext,
    zone,
)
from provisioning.notifications.formatting import DEFAULT_LANGUAGE, format_date_long, format_duration, format_time_hm
from provisioning.notifications.redaction import redact_personal_data

BUILTIN_TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

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

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f<>\"(),;:\\\[\]]+"
_EMAIL_ADDRESS = re.compile(rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.[^@\s.<>]+$")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")


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
        local_zone = zone(context.time_zone)
        starts_local = context.starts_at.astimezone(local_zone)
        # Add the lifetime on the absolute timeline, then convert: wall-clock arithmetic would be off by
        # an hour when the pass spans a daylight-saving change.
        expires_local = (context.starts_at + timedelta(minutes=context.lifetime_minutes)).astimezone(local_zone)
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
            "disabled_local": context.disabled_at.astimezone(zone(context.time_zone)),
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


def _fields(context: object) -> dict[str, Any]:
    """The dataclass's own fields, shallow (dates stay dates for the filters)."""
    names: Iterable[str] = getattr(context, "__dataclass_fields__", {})
    return {name: getattr(context, name) for name in names}


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
    return tuple(tag for tag in (full, primary) if tag and tag != DEFAULT_LANGUAGE)


def _variant_names(kind: str, extension: str, languages: tuple[str, ...]) -> list[str]:
    return [*(f"{kind}.{language}.{extension}" for language in languages), f"{kind}.{extension}"]


def _language_of(template_name: str, kind: str) -> str:
    """``welcome.de.html`` → ``de``; ``welcome.html`` → the default language."""
    parts = template_name.removeprefix(f"{kind}.").split(".")
    return parts[0] if len(parts) == 2 else DEFAULT_LANGUAGE


def _is_message_template(name: str) -> bool:
    """Message templates, their language variants and the shared layouts (``_layout.*``)."""
    kind = name.split(".", 1)[0]
    return (kind in MESSAGE_KINDS or kind.startswith("_")) and name.endswith((".html", ".txt"))
