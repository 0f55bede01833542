"""Email rendering: HR lifecycle notifications as Microsoft Graph ``sendMail`` messages.

This package only renders. It turns small typed contexts into :class:`RenderedEmail` values whose
:meth:`RenderedEmail.message` is the Graph ``message`` object (Graph "user: sendMail");
sending happens in the activity that owns the Graph client. Keeping rendering pure means every template
can be exercised in unit tests, including with ``StrictUndefined`` so a typo in an override template
fails loudly instead of mailing a blank.

Graph's JSON ``sendMail`` takes exactly one body (``contentType`` ``Text`` or ``HTML``), so the HTML
rendering is what is sent. The plain-text rendering is kept on :attr:`RenderedEmail.text` for previews
and tests; it never goes to Graph (an unknown ``message`` property would be rejected).

- ``contexts``: what each message is about (typed, checked when built);
- ``rendering``: the templates (built-in or ``TEMPLATES_DIR`` overrides, language variants) and the message;
- ``formatting``: dates, times and durations as the mails show them;
- ``redaction``: addresses and phone numbers out of the free text IT alerts quote.

Only :meth:`Notifier.render_temporary_access_pass` ever handles a secret. Its result must never be
logged, stored, returned from an activity or put into an exception; ``RenderedEmail``'s ``repr``
deliberately hides everything but the kind and language so an accidental ``log.info(email)`` leaks
neither the pass nor personal data.
"""

from provisioning.notifications.contexts import (
    CredentialMethod,
    CredentialRecipient,
    FailureFamily,
    HeldForApprovalContext,
    ItAlertContext,
    ManagerChangedContext,
    PassContext,
    ReconciliationSummaryContext,
    RehireNoticeContext,
    TerminationContext,
    WelcomeContext,
)
from provisioning.notifications.formatting import format_date_long, format_duration, format_time_hm
from provisioning.notifications.redaction import REDACTION_LIMIT, redact_personal_data
from provisioning.notifications.rendering import BUILTIN_TEMPLATES_DIR, MESSAGE_KINDS, Notifier, RenderedEmail

__all__ = [
    "BUILTIN_TEMPLATES_DIR",
    "MESSAGE_KINDS",
    "REDACTION_LIMIT",
    "CredentialMethod",
    "CredentialRecipient",
    "FailureFamily",
    "HeldForApprovalContext",
    "ItAlertContext",
    "ManagerChangedContext",
    "Notifier",
    "PassContext",
    "ReconciliationSummaryContext",
    "RehireNoticeContext",
    "RenderedEmail",
    "TerminationContext",
    "WelcomeContext",
    "format_date_long",
    "format_duration",
    "format_time_hm",
    "redact_personal_data",
]
