"""The first sign-in credential: who may receive it, and issuing and mailing it in one step.

Rules (docs/security.md, "What the product refuses to do"):
- no credential for an account that holds or can activate a directory role or is in a protected group; the
  check runs right before the pass is created (for an account this event's upload just created, its memberships
  only: protection.py says why that is enough);
- a new account's credential goes where CREDENTIAL_RECIPIENT says (the manager named by the event, the
  personal address from HR, or both); the personal address is read from the event's own input here, so it
  never travels through the orchestration history;
- an existing account's credential (a rehire) goes only to the manager recorded on the account in Entra before
  the event changed it, or to IT; never to an address or a manager named by the event;
- the pass or password never leaves this module: the result names recipients by role (`manager`, `personal`,
  `it`), not by address.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from provisioning import runtime
from provisioning.graph import GraphThrottled, SyncedUserPasswordError
from provisioning.notifications import PassContext, RenderedEmail
from provisioning.protection import account_protection
from provisioning.telemetry import log_event

__all__ = ["RecipientPolicy", "issue", "recipient_roles"]

logger = logging.getLogger("provisioning.first_credential")

RecipientPolicy = Literal["new", "existing", "it"]


def recipient_roles(addresses: Iterable[str], roles: dict[str, str | None]) -> list[str]:
    """The roles (`manager`, `personal`, `it`, `account`) of the addresses a mail went to, in that order."""
    sent = {address.casefold() for address in addresses}
    return [role for role, address in roles.items() if address and address.casefold() in sent]


def issue(rt: runtime.Runtime, request: dict[str, Any], personal_email: str | None) -> dict[str, Any]:
    """Refuse protected accounts, then create the credential and mail it; return facts and recipient roles."""
    settings = rt.settings
    fresh = request.get("fresh") is True and (request.get("recipients") or "new") == "new"
    found = account_protection(rt.graph, request["userId"], settings.protected_group_ids or (), fresh=fresh)
    if found["protected"]:
        log_event(logger, "first-credential", level=logging.WARNING, outcome="refused", error_code="ProtectedAccount")
        return {
            "error": {
                "code": "ProtectedAccount",
                "message": "No first credential was issued: the account "
                + "; ".join(found["reasons"])
                + ". An administrator must issue it by hand.",
            }
        }
    policy: RecipientPolicy = request.get("recipients") or "new"
    manager = {} if policy == "it" else dict(request.get("manager") or {})
    choice = settings.credential_recipient if policy == "new" else "manager"
    personal = personal_email if policy == "new" else None
    if settings.credential_method == "tap":
        return _temporary_access_pass(rt, request, manager, choice, personal)
    if settings.credential_method == "password":
        return _password(rt, request, manager, choice, personal)
    return {"method": "none", "recipients": []}


def _context(
    rt: runtime.Runtime,
    request: dict[str, Any],
    manager: dict[str, Any],
    choice: Any,
    personal: str | None,
    *,
    starts_at: datetime,
    lifetime_minutes: int,
    usable_once: bool,
) -> PassContext:
    employee = request["employee"]
    return PassContext(
        employee_id=employee["employeeId"],
        display_name=_display_name(employee),
        user_principal_name=request.get("userPrincipalName") or "",
        starts_at=starts_at,
        lifetime_minutes=lifetime_minutes,
        time_zone=employee.get("timeZone") or rt.settings.default_time_zone,
        is_usable_once=usable_once,
        recipient=choice,
        manager_name=manager.get("displayName"),
        manager_email=manager.get("mail"),
        personal_email=personal,
        preferred_language=employee.get("preferredLanguage"),
    )


def _roles(rt: runtime.Runtime, email: RenderedEmail, manager: dict[str, Any], personal: str | None) -> list[str]:
    return recipient_roles(
        email.to, {"manager": manager.get("mail"), "personal": personal, "it": rt.settings.it_notify_address}
    )


def _temporary_access_pass(
    rt: runtime.Runtime, request: dict[str, Any], manager: dict[str, Any], choice: Any, personal: str | None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    start = max(now, datetime.fromisoformat(request["startAt"])) if request.get("startAt") else now
    tap = rt.graph.create_temporary_access_pass(
        request["userId"], start=start, lifetime_minutes=rt.settings.tap_lifetime_minutes, usable_once=False
    )
    context = _context(
        rt,
        request,
        manager,
        choice,
        personal,
        starts_at=tap.start or start,
        lifetime_minutes=tap.lifetime_minutes,
        usable_once=tap.usable_once,
    )
    email = _mail_credential(rt, context, tap.reveal())
    if not isinstance(email, RenderedEmail):
        return _not_delivered("Temporary Access Pass", email)
    log_event(logger, "first-credential", outcome="tap-issued", employee_id=request["employee"]["employeeId"])
    return {"method": "tap", "recipients": _roles(rt, email, manager, personal), **tap.facts()}


def _password(
    rt: runtime.Runtime, request: dict[str, Any], manager: dict[str, Any], choice: Any, personal: str | None
) -> dict[str, Any]:
    password = _generate_password()
    try:
        rt.graph.reset_password(request["userId"], password=password, force_change=True)
    except SyncedUserPasswordError:
        return {
            "error": {
                "code": "PasswordNotSupportedForSyncedUser",
                "message": "Graph cannot set the password of an account mastered in on-prem AD with app-only "
                "permissions. Use CREDENTIAL_METHOD=tap (Temporary Access Pass) for hybrid accounts.",
            }
        }
    # The password is sent like a pass: same template, same recipients, never returned.
    context = _context(
        rt,
        request,
        manager,
        choice,
        personal,
        starts_at=datetime.now(UTC),
        lifetime_minutes=rt.settings.tap_lifetime_minutes,
        usable_once=True,
    )
    email = _mail_credential(rt, context, password)
    if not isinstance(email, RenderedEmail):
        return _not_delivered("initial password", email)
    return {"method": "password", "recipients": _roles(rt, email, manager, personal)}


def _mail_credential(rt: runtime.Runtime, context: PassContext, secret: str) -> RenderedEmail | Exception:
    """Render and send the mail carrying a credential just created; the sent mail, or why it may not have gone.

    A 429 is answered before the request is processed, so nobody has seen the credential: it is raised to the
    orchestrator's durable retry, which runs this activity again after its wait, and the new pass replaces this one
    (a user has one pass; creating another overrides it) or the new password this one. Exchange throttles sendMail
    per mailbox, so a burst of hires can meet it. Any other failure (a 503 or 504 may come after the mail went out)
    is returned instead of raised: a retry could send a second credential.
    """
    try:
        email = rt.notifier.render_temporary_access_pass(context, secret)
        send(rt, email)
    except Exception as error:
        if isinstance(error, GraphThrottled) and error.status == 429:
            log_event(logger, "first-credential", outcome="mail-throttled", error_code=error.code)
            raise
        return error
    return email


def _not_delivered(what: str, error: Exception) -> dict[str, Any]:
    """The credential was created but its email failed. Failing the event (instead of raising into the
    orchestrator's retries) keeps one credential per hire; IT issues a new one by hand."""
    log_event(logger, "first-credential", level=logging.ERROR, outcome="not-delivered", error_code=type(error).__name__)
    return {
        "error": {
            "code": "CredentialNotDelivered",
            "message": f"The {what} was created but the email carrying it could not be sent "
            f"({type(error).__name__}). Issue a new Temporary Access Pass in the Entra admin center.",
        }
    }


def _generate_password() -> str:
    """A random initial password meeting Entra's complexity rules (it must be changed at first sign-in)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{body}-{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{secrets.randbelow(10)}!"


def send(rt: runtime.Runtime, email: RenderedEmail) -> None:
    request = email.send_mail_request()
    rt.graph.send_mail(
        rt.settings.mail_sender, request["message"], save_to_sent_items=request.get("saveToSentItems", False)
    )


def _display_name(employee: dict[str, Any]) -> str:
    first = employee.get("preferredGivenName") or employee.get("givenName") or ""
    name = " ".join(part for part in (first, employee.get("familyName") or "") if part)
    return name or str(employee.get("employeeId", ""))
