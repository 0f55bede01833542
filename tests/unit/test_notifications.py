"""Notification rendering: every template, escaping, secrets, overrides, languages and recipients."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jinja2
import pytest

from provisioning.notifications import (
    BUILTIN_TEMPLATES_DIR,
    MESSAGE_KINDS,
    REDACTION_LIMIT,
    FailureFamily,
    HeldForApprovalContext,
    ItAlertContext,
    ManagerChangedContext,
    Notifier,
    PassContext,
    ReconciliationSummaryContext,
    RehireNoticeContext,
    RenderedEmail,
    TerminationContext,
    WelcomeContext,
    format_date_long,
    format_duration,
    redact_personal_data,
)

IT = "it-ops@contoso.com"
PASS = "+drk&<Zq8"
HOSTILE_NAME = '<script>alert("x")</script> Zoë O\'Brien-Müller'


def welcome(**changes: Any) -> WelcomeContext:
    context = WelcomeContext(
        employee_id="E10042",
        display_name="Zoë O'Brien-Müller",
        user_principal_name="zoe.obrien-mueller@contoso.com",
        mail="zoe.obrien-mueller@contoso.com",
        start_date=date(2026, 12, 1),
        manager_name="Max Mustermann",
        manager_email="max.mustermann@contoso.com",
        job_title="Financial Analyst",
        department="Finance",
    )
    return dataclasses.replace(context, **changes)


def pass_context(**changes: Any) -> PassContext:
    context = PassContext(
        employee_id="E10042",
        display_name="Zoë O'Brien-Müller",
        user_principal_name="zoe.obrien-mueller@contoso.com",
        starts_at=datetime(2026, 12, 1, 7, 0, tzinfo=UTC),
        lifetime_minutes=480,
        time_zone="Europe/Berlin",
        is_usable_once=True,
        recipient="manager",
        manager_name="Max Mustermann",
        manager_email="max.mustermann@contoso.com",
        personal_email="zoe.obrien@example.org",
    )
    return dataclasses.replace(context, **changes)


def manager_changed(**changes: Any) -> ManagerChangedContext:
    context = ManagerChangedContext(
        employee_id="E10042",
        display_name="Zoë O'Brien-Müller",
        user_principal_name="zoe.obrien-mueller@contoso.com",
        mail="zoe.obrien-mueller@contoso.com",
        new_manager_name="Erika Musterfrau",
        new_manager_email="erika.musterfrau@contoso.com",
        previous_manager_name="Max Mustermann",
        effective_date=date(2027, 1, 4),
    )
    return dataclasses.replace(context, **changes)


def termination(**changes: Any) -> TerminationContext:
    context = TerminationContext(
        employee_id="E10042",
        display_name="Zoë O'Brien-Müller",
        user_principal_name="zoe.obrien-mueller@contoso.com",
        last_working_day=date(2027, 3, 31),
        disabled_at=datetime(2027, 3, 31, 16, 0, tzinfo=UTC),
        time_zone="Europe/Berlin",
        sessions_revoked=True,
        manager_name="Max Mustermann",
        manager_email="max.mustermann@contoso.com",
    )
    return dataclasses.replace(context, **changes)


def it_alert(**changes: Any) -> ItAlertContext:
    context = ItAlertContext(
        event_id="wd-2026-000123",
        employee_id="E10042",
        event_type="hire",
        stage="awaiting-sync",
        error_code="HybridSynchronizationActiveDirectoryCannotFindAttribute",
        reason="The attribute name was not found in the Active Directory schema.",
        instance_id="hr-wd-2026-000123",
        failed_at=datetime(2026, 11, 24, 10, 7, tzinfo=UTC),
    )
    return dataclasses.replace(context, **changes)


def held(**changes: Any) -> HeldForApprovalContext:
    context = HeldForApprovalContext(
        event_id="wd-2026-000999",
        employee_id="E20001",
        status_id="hr-wd-2026-000999",
        effective_date=date(2026, 12, 18),
        held_at=datetime(2026, 12, 18, 17, 0, tzinfo=UTC),
        reasons=("more than 25 terminations or re-enables were submitted within an hour",),
        breaker_limit=25,
        api_base_url="https://func-hr.azurewebsites.net/api/",
    )
    return dataclasses.replace(context, **changes)


def rehire_notice(**changes: Any) -> RehireNoticeContext:
    context = RehireNoticeContext(
        event_id="wd-2026-000777",
        employee_id="E10042",
        instance_id="hr-wd-2026-000777",
        user_principal_name="zoe.obrien-muller@contoso.com",
        existing_account=True,
        disabled_days=420,
        held_reasons=("the account has been disabled for 420 days (REHIRE_HOLD_AFTER_DAYS is 30)",),
        credential_method="tap",
        credential_recipients=("manager",),
        manager_name="Maria Schmidt",
        completed_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    return dataclasses.replace(context, **changes)


@pytest.fixture
def notifier() -> Notifier:
    return Notifier(IT)


def render_all(notifier: Notifier, language: str | None = None) -> dict[str, RenderedEmail]:
    """One rendering of every message kind, with the hire's language where a context carries one."""
    return {
        "welcome": notifier.render_welcome(welcome(preferred_language=language)),
        "temporary_access_pass": notifier.render_temporary_access_pass(pass_context(preferred_language=language), PASS),
        "manager_changed": notifier.render_manager_changed(manager_changed(preferred_language=language)),
        "termination": notifier.render_termination(termination(preferred_language=language)),
        "it_alert": notifier.render_it_alert(it_alert()),
        "held_for_approval": notifier.render_held_for_approval(held()),
        "rehire_notice": notifier.render_rehire_notice(rehire_notice()),
        "reconciliation_summary": notifier.render_reconciliation_summary(
            ReconciliationSummaryContext(
                run_id="20261127T090000Z-0a1b2c3d4e",
                source="bamboohr",
                stage="planned",
                classes={"stale": 3},
                changes={"update": 3},
                hold_reasons=(),
                auto_apply=("stale",),
                applied={"events": 3, "started": 3},
                planned_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
            )
        ),
    }


def test_a_hire_held_for_a_correlation_case_says_what_to_decide(notifier: Notifier) -> None:
    mail = notifier.render_held_for_approval(held(hold="correlation", event_type="hire"))
    assert mail.subject.startswith("[HR provisioning] Hire held for approval")
    assert "correlation case" in mail.text and "would give the person two" in mail.text


# --- every template renders ------------------------------------------------------------------------------


def test_builtin_templates_compile_and_every_kind_has_html_and_text(notifier: Notifier) -> None:
    assert notifier.template_problems() == []
    for kind in MESSAGE_KINDS:
        assert (BUILTIN_TEMPLATES_DIR / f"{kind}.html").is_file()
        assert (BUILTIN_TEMPLATES_DIR / f"{kind}.txt").is_file()


@pytest.mark.parametrize("language", [None, "de-DE"])
def test_every_message_renders_strictly_with_subject_html_and_text(notifier: Notifier, language: str | None) -> None:
    rendered = render_all(notifier, language)
    assert set(rendered) == set(MESSAGE_KINDS)
    for kind, email in rendered.items():
        assert email.kind == kind
        assert email.subject and "\n" not in email.subject
        assert email.html.startswith("<!DOCTYPE html>")
        assert f"<title>{email.html.split('<title>')[1].split('</title>')[0]}</title>" in email.html
        assert email.text.strip()
        assert "{{" not in email.html + email.text and "{%" not in email.html + email.text
        assert "\n\n\n" not in email.text


def test_variants_render_with_every_credential_option(notifier: Notifier) -> None:
    for language in (None, "de"):
        for method in ("tap", "password", "none"):
            for recipient in ("manager", "personal", "both"):
                context = welcome(credential_method=method, credential_recipient=recipient)
                email = notifier.render_welcome(dataclasses.replace(context, preferred_language=language))
                assert email.text
        for usable_once in (True, False):
            notifier.render_temporary_access_pass(
                pass_context(is_usable_once=usable_once, preferred_language=language), PASS
            )
    notifier.render_manager_changed(manager_changed(new_manager_name=None, new_manager_email=None))
    notifier.render_termination(termination(sessions_revoked=False, manager_name=None, manager_email=None))
    notifier.render_held_for_approval(held(effective_date=None))
    notifier.render_held_for_approval(held(hold="rehire", event_type="hire"))
    notifier.render_rehire_notice(rehire_notice(existing_account=False, disabled_days=None, held_reasons=()))
    for family in FailureFamily:
        notifier.render_it_alert(it_alert(family=family))


def test_undefined_variable_in_an_override_fails_at_render_time(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").write_text(
        '{% extends "_layout.txt" %}{% block subject %}Hi {{ dispaly_name }}{% endblock %}', encoding="utf-8"
    )
    with pytest.raises(jinja2.UndefinedError, match="dispaly_name"):
        Notifier(IT, tmp_path).render_welcome(welcome())


def test_text_template_without_subject_block_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "manager_changed.txt").write_text("No subject here {{ display_name }}", encoding="utf-8")
    with pytest.raises(jinja2.TemplateError, match="subject"):
        Notifier(IT, tmp_path).render_manager_changed(manager_changed())


# --- Graph message shape ---------------------------------------------------------------------------------


def test_message_is_the_graph_sendmail_shape(notifier: Notifier) -> None:
    email = notifier.render_termination(termination())
    message = email.message()
    assert set(message) == {"subject", "body", "toRecipients", "ccRecipients"}
    assert message["subject"] == email.subject
    assert message["body"] == {"contentType": "HTML", "content": email.html}
    assert message["toRecipients"] == [{"emailAddress": {"address": "max.mustermann@contoso.com"}}]
    assert message["ccRecipients"] == [{"emailAddress": {"address": IT}}]
    assert email.send_mail_request() == {"message": message}


def test_alerts_are_high_importance_and_have_no_cc(notifier: Notifier) -> None:
    for email in (notifier.render_it_alert(it_alert()), notifier.render_held_for_approval(held())):
        message = email.message()
        assert message["importance"] == "high"
        assert "ccRecipients" not in message
        assert message["toRecipients"] == [{"emailAddress": {"address": IT}}]


# --- escaping --------------------------------------------------------------------------------------------


def test_names_are_escaped_in_html_and_left_raw_in_text_and_subject(notifier: Notifier) -> None:
    renderings = [
        notifier.render_welcome(welcome(display_name=HOSTILE_NAME, manager_name=HOSTILE_NAME)),
        notifier.render_welcome(welcome(display_name=HOSTILE_NAME, preferred_language="de-DE")),
        notifier.render_temporary_access_pass(pass_context(display_name=HOSTILE_NAME), PASS),
        notifier.render_manager_changed(manager_changed(display_name=HOSTILE_NAME, new_manager_name=HOSTILE_NAME)),
        notifier.render_termination(termination(display_name=HOSTILE_NAME)),
    ]
    for email in renderings:
        assert "<script>" not in email.html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Zoë O&#39;Brien-Müller" in email.html
        assert HOSTILE_NAME in email.text
        assert HOSTILE_NAME in email.subject


def test_the_pass_is_escaped_in_html(notifier: Notifier) -> None:
    email = notifier.render_temporary_access_pass(pass_context(), PASS)
    assert "+drk&amp;&lt;Zq8" in email.html
    assert PASS not in email.html
    assert PASS in email.text


# --- the secret ------------------------------------------------------------------------------------------


def test_the_pass_appears_only_in_the_temporary_access_pass_message(notifier: Notifier) -> None:
    for language in (None, "de-DE"):
        for kind, email in render_all(notifier, language).items():
            visible = email.text + str(email.message())
            if kind == "temporary_access_pass":
                assert PASS in email.text
                assert email.carries_secret
                assert PASS not in email.subject
            else:
                assert PASS not in visible
                assert not email.carries_secret


def test_rendered_email_repr_hides_the_pass_and_personal_data(notifier: Notifier) -> None:
    email = notifier.render_temporary_access_pass(pass_context(), PASS)
    text = repr(email) + str(email)
    assert PASS not in text
    assert "Zoë" not in text and "@" not in text
    assert "temporary_access_pass" in text


def test_the_pass_is_not_saved_to_sent_items(notifier: Notifier) -> None:
    email = notifier.render_temporary_access_pass(pass_context(), PASS)
    assert email.send_mail_request()["saveToSentItems"] is False
    assert "saveToSentItems" not in notifier.render_welcome(welcome()).send_mail_request()


@pytest.mark.parametrize("bad_pass", ["", "  ", " ABCDEFGH", "ABCDEFGH\n"])
def test_blank_or_padded_pass_is_refused_without_echoing_it(notifier: Notifier, bad_pass: str) -> None:
    with pytest.raises(ValueError) as raised:
        notifier.render_temporary_access_pass(pass_context(), bad_pass)
    if bad_pass.strip():
        assert bad_pass.strip() not in str(raised.value)


def test_welcome_says_a_separate_message_carries_the_pass_only_for_tap(notifier: Notifier) -> None:
    tap = notifier.render_welcome(welcome(credential_method="tap", credential_recipient="personal"))
    assert "separate message carries the Temporary Access Pass" in tap.text
    assert "personal email address" in tap.text
    password = notifier.render_welcome(welcome(credential_method="password"))
    assert "Temporary Access Pass" not in password.text
    assert "initial password" in password.text


# --- the pass's local time and lifetime ------------------------------------------------------------------


def test_pass_start_is_shown_in_the_employees_zone_with_lifetime(notifier: Notifier) -> None:
    email = notifier.render_temporary_access_pass(pass_context(), PASS)
    assert "Tuesday 1 December 2026, 08:00 (Europe/Berlin)" in email.text
    assert "16:00 (Europe/Berlin)" in email.text
    assert "8 hours" in email.text
    assert "single-use" in email.text
    assert "https://aka.ms/mysecurityinfo" in email.text
    assert 'href="https://aka.ms/mysecurityinfo"' in email.html
    multi = notifier.render_temporary_access_pass(pass_context(is_usable_once=False), PASS)
    assert "single-use" not in multi.text and "several sign-ins" in multi.text


def test_pass_expiry_across_a_daylight_saving_change_uses_real_elapsed_time(notifier: Notifier) -> None:
    # Berlin moves to summer time at 01:00 UTC on 29 March 2026: 21:00 CET + 8 h = 06:00 CEST.
    starts = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    email = notifier.render_temporary_access_pass(pass_context(starts_at=starts), PASS)
    assert "Saturday 28 March 2026, 21:00 (Europe/Berlin)" in email.text
    assert "Sunday 29 March 2026, 06:00 (Europe/Berlin)" in email.text


def test_pass_start_given_with_any_offset_is_converted(notifier: Notifier) -> None:
    starts = datetime(2026, 12, 1, 2, 0, tzinfo=timezone(timedelta(hours=-5)))
    email = notifier.render_temporary_access_pass(pass_context(starts_at=starts, time_zone="Asia/Tokyo"), PASS)
    assert "Tuesday 1 December 2026, 16:00 (Asia/Tokyo)" in email.text


# --- templates override ----------------------------------------------------------------------------------


def test_override_folder_wins_and_builtins_fill_the_gaps(tmp_path: Path) -> None:
    (tmp_path / "welcome.html").write_text(
        '{% extends "_layout.html" %}{% block content %}<p>Contoso says hi to {{ display_name }}</p>{% endblock %}',
        encoding="utf-8",
    )
    notifier = Notifier(IT, tmp_path)
    email = notifier.render_welcome(welcome(display_name="A & B"))
    assert "<p>Contoso says hi to A &amp; B</p>" in email.html
    assert "The account for A & B is ready" in email.text  # the built-in text template still serves
    assert "Contoso says hi" not in notifier.render_termination(termination()).html
    assert notifier.template_problems() == []


def test_override_layout_applies_to_every_message(tmp_path: Path) -> None:
    (tmp_path / "_layout.html").write_text(
        '<!DOCTYPE html><html><body><img alt="Contoso">{% block content %}{% endblock %}</body></html>',
        encoding="utf-8",
    )
    for email in render_all(Notifier(IT, tmp_path)).values():
        assert '<img alt="Contoso">' in email.html


def test_override_folder_beats_a_builtin_language_variant(tmp_path: Path) -> None:
    (tmp_path / "welcome.de.txt").write_text(
        '{% extends "_layout.txt" %}{% block subject %}Hallo Contoso{% endblock %}', encoding="utf-8"
    )
    email = Notifier(IT, tmp_path).render_welcome(welcome(preferred_language="de-DE"))
    assert email.subject == "Hallo Contoso"
    assert email.language == "de"


def test_template_problems_reports_broken_and_missing_overrides(tmp_path: Path) -> None:
    (tmp_path / "termination.html").write_text("{% if %}", encoding="utf-8")
    (tmp_path / "welcome.fr.txt").write_text("{% block subject %}{{ }}{% endblock %}", encoding="utf-8")
    problems = Notifier(IT, tmp_path).template_problems()
    assert len(problems) == 2
    assert any(problem.startswith("template termination.html line 1") for problem in problems)
    assert any(problem.startswith("template welcome.fr.txt") for problem in problems)


def test_missing_override_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TEMPLATES_DIR"):
        Notifier(IT, tmp_path / "nowhere")


# --- languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["de-DE", "de", "DE-at", "de-CH"])
def test_german_variant_for_german_speakers(notifier: Notifier, tag: str) -> None:
    email = notifier.render_welcome(welcome(preferred_language=tag))
    assert email.language == "de"
    assert email.subject.startswith("Willkommen")
    assert "Dienstag, 1. Dezember 2026" in email.text
    assert '<html lang="de">' in email.html
    assert "Diese Nachricht wurde automatisch" in email.text
    tap = notifier.render_temporary_access_pass(pass_context(preferred_language=tag), PASS)
    assert tap.language == "de"
    assert "Dienstag, 1. Dezember 2026, 08:00 Uhr (Europe/Berlin)" in tap.text
    assert "8 Stunden" in tap.text and "nur einmal verwendbar" in tap.text
    assert PASS in tap.text


@pytest.mark.parametrize("tag", [None, "", "en-GB", "fr-FR", "../../etc/passwd", "de_DE"])
def test_english_fallback(notifier: Notifier, tag: str | None) -> None:
    email = notifier.render_welcome(welcome(preferred_language=tag))
    assert email.language == "en"
    assert email.subject.startswith("Welcome")


def test_messages_without_a_german_variant_fall_back_to_english(notifier: Notifier) -> None:
    email = notifier.render_termination(termination(preferred_language="de-DE"))
    assert email.language == "en"
    assert email.subject.startswith("Account disabled")


def test_a_region_specific_override_beats_the_language(tmp_path: Path) -> None:
    (tmp_path / "welcome.de-CH.txt").write_text(
        '{% extends "_layout.txt" %}{% block subject %}Grüezi {{ display_name }}{% endblock %}',
        encoding="utf-8",
    )
    notifier = Notifier(IT, tmp_path)
    assert notifier.render_welcome(welcome(preferred_language="de-CH")).subject.startswith("Grüezi")
    assert notifier.render_welcome(welcome(preferred_language="de-DE")).subject.startswith("Willkommen")


# --- IT alert --------------------------------------------------------------------------------------------


def test_it_alert_carries_no_names_emails_or_phones(notifier: Notifier) -> None:
    context = it_alert(
        error_code="AzureActiveDirectoryInvalidUserPrincipalName",
        reason="UPN zoe.obrien-mueller@contoso.com invalid; HR phone +49 151 0000000; see E10042",
    )
    email = notifier.render_it_alert(context)
    body = email.subject + email.html + email.text
    assert "@" not in body
    assert "zoe" not in body.lower()
    assert "+49" not in body and "0000000" not in body
    assert "E10042" in email.subject and "E10042" in email.text
    for field_name in ("event_id", "instance_id", "error_code", "stage"):
        assert getattr(context, field_name) in email.text
    assert "Tuesday 24 November 2026, 10:07 UTC" in email.text
    assert {field.name for field in dataclasses.fields(ItAlertContext)}.isdisjoint(
        {"display_name", "mail", "user_principal_name", "manager_email", "personal_email"}
    )


@pytest.mark.parametrize(
    ("error_code", "family", "phrase"),
    [
        ("SyncDeadlineNoProvisioningLog", FailureFamily.PROVISIONING_LOG_MISSING, "provisioning agent"),
        ("SyncDeadlineEntraUserMissing", FailureFamily.CONNECT_SYNC_LATE, "Start-ADSyncSyncCycle"),
        (
            "HybridSynchronizationActiveDirectoryCannotFindAttribute",
            FailureFamily.DIRECTORY_ERROR,
            "Fix the cause",
        ),
        ("InsufficientAccessRights", FailureFamily.DIRECTORY_ERROR, "Fix the cause"),
        ("ProvisioningFailed", FailureFamily.DIRECTORY_ERROR, "Fix the cause"),
        ("NameConflictsExhausted", FailureFamily.NAME_CONFLICTS_EXHAUSTED, "naming pattern"),
        ("MissingGraphPermissions", FailureFamily.PERMISSIONS_MISSING, "application permissions"),
        ("UnknownEmployee", FailureFamily.UNKNOWN_EMPLOYEE, "submit a hire"),
        ("SomethingNew", FailureFamily.OTHER, "Application Insights"),
    ],
)
def test_it_alert_runbook_follows_the_error_family(
    notifier: Notifier, error_code: str, family: FailureFamily, phrase: str
) -> None:
    assert FailureFamily.for_error_code(error_code) is family
    email = notifier.render_it_alert(it_alert(error_code=error_code))
    assert phrase in email.text
    assert phrase.replace('"', "&#34;") in email.html


def test_explicit_family_overrides_the_error_code(notifier: Notifier) -> None:
    email = notifier.render_it_alert(it_alert(error_code="SomethingNew", family=FailureFamily.CONNECT_SYNC_LATE))
    assert "Start-ADSyncSyncCycle" in email.text


def test_runbooks_differ_per_family(notifier: Notifier) -> None:
    sections = {
        notifier.render_it_alert(it_alert(family=family)).text.split("What to do next", 1)[1]
        for family in FailureFamily
    }
    assert len(sections) == len(FailureFamily)


def test_redaction_is_bounded_on_long_input() -> None:
    """A long reason is cut before the patterns run, so redaction cannot be made quadratic."""
    hostile = "a" * 200_000 + " +1" + "1" * 50_000
    redacted = redact_personal_data(hostile)
    assert len(redacted) <= REDACTION_LIMIT + 1 and redacted.endswith("…")
    assert redact_personal_data("x" * 10 + " a.b@contoso.com") == "x" * 10 + " [email]"


def test_redaction_keeps_codes_and_dates() -> None:
    text = "LdapErr: DSID-0C0907E9 at 2026-11-20 09:14:00 for a.b@contoso.com tel +1 (425) 555-0100."
    assert redact_personal_data(text) == "LdapErr: DSID-0C0907E9 at 2026-11-20 09:14:00 for [email] tel [phone]."


# --- breaker hold ----------------------------------------------------------------------------------------


def test_held_for_approval_gives_the_routes_and_no_key(notifier: Notifier) -> None:
    email = notifier.render_held_for_approval(held())
    assert "POST https://func-hr.azurewebsites.net/api/hr-events/hr-wd-2026-000999/approve" in email.text
    assert "DELETE https://func-hr.azurewebsites.net/api/hr-events/hr-wd-2026-000999" in email.text
    assert "more than 25 terminations or re-enables were submitted within an hour" in email.text
    assert "function key" in email.text and "signature" in email.text
    assert "code=" not in email.text + email.html
    assert "E20001" in email.subject


def test_a_held_rehire_says_why_and_what_is_never_re_enabled(notifier: Notifier) -> None:
    reason = "a hire matched an existing disabled account"
    email = notifier.render_held_for_approval(held(hold="rehire", event_type="hire", reasons=(reason,)))
    assert email.subject.startswith("[HR provisioning] Rehire held for approval")
    assert reason in email.text and reason in email.html
    assert "never re-enabled" in email.text


def test_the_rehire_notice_tells_it_who_got_the_pass_by_role_only(notifier: Notifier) -> None:
    email = notifier.render_rehire_notice(rehire_notice())
    assert email.to == (IT,)
    assert re.search(r"Sent to:\s+manager", email.text) and "Maria Schmidt" in email.text
    assert "420 days" in email.text and "REHIRE_HOLD_AFTER_DAYS" in email.text
    assert "@example" not in email.text and "+49" not in email.text


def test_held_for_approval_quotes_the_id_in_routes(notifier: Notifier) -> None:
    email = notifier.render_held_for_approval(held(status_id="hr-a/b?c", api_base_url="/api"))
    assert "POST /api/hr-events/hr-a%2Fb%3Fc/approve" in email.text


# --- termination -----------------------------------------------------------------------------------------


def test_termination_states_local_time_nothing_deleted_and_sessions(notifier: Notifier) -> None:
    email = notifier.render_termination(termination())
    assert "Wednesday 31 March 2027 at 18:00 (Europe/Berlin)" in email.text
    assert "Nothing was deleted" in email.text
    assert re.search(r"Sessions revoked:\s+yes", email.text)
    kept = notifier.render_termination(termination(sessions_revoked=False))
    assert re.search(r"Sessions revoked:\s+no", kept.text)


# --- recipients ------------------------------------------------------------------------------------------


def test_pass_to_both_deduplicates_case_insensitively(notifier: Notifier) -> None:
    email = notifier.render_temporary_access_pass(
        pass_context(recipient="both", manager_email="Max@Contoso.com", personal_email=" max@contoso.com "),
        PASS,
    )
    assert email.to == ("Max@Contoso.com",)


@pytest.mark.parametrize(
    ("recipient", "manager_email", "personal_email", "expected"),
    [
        ("manager", "max.mustermann@contoso.com", "zoe@example.org", ("max.mustermann@contoso.com",)),
        ("manager", None, "zoe@example.org", (IT,)),
        ("personal", "max.mustermann@contoso.com", "zoe@example.org", ("zoe@example.org",)),
        ("personal", "max.mustermann@contoso.com", None, ("max.mustermann@contoso.com",)),
        ("personal", None, None, (IT,)),
        (
            "both",
            "max.mustermann@contoso.com",
            "zoe@example.org",
            ("max.mustermann@contoso.com", "zoe@example.org"),
        ),
        ("both", None, "zoe@example.org", ("zoe@example.org",)),
        ("both", "", "   ", (IT,)),
    ],
)
def test_pass_recipients(
    notifier: Notifier,
    recipient: str,
    manager_email: str | None,
    personal_email: str | None,
    expected: tuple[str, ...],
) -> None:
    context = pass_context(recipient=recipient, manager_email=manager_email, personal_email=personal_email)
    assert notifier.render_temporary_access_pass(context, PASS).to == expected


def test_welcome_recipients(notifier: Notifier) -> None:
    assert notifier.render_welcome(welcome()).to == ("max.mustermann@contoso.com",)
    both = notifier.render_welcome(welcome(send_to_new_mailbox=True))
    assert both.to == ("max.mustermann@contoso.com", "zoe.obrien-mueller@contoso.com")
    no_manager = notifier.render_welcome(welcome(manager_email=None, send_to_new_mailbox=True))
    assert no_manager.to == (IT, "zoe.obrien-mueller@contoso.com")
    no_mailbox_yet = notifier.render_welcome(welcome(mail=None, send_to_new_mailbox=True))
    assert no_mailbox_yet.to == ("max.mustermann@contoso.com",)


def test_termination_copies_it_once(notifier: Notifier) -> None:
    email = notifier.render_termination(termination(manager_email=IT.upper()))
    assert email.to == (IT.upper(),)
    assert email.cc == ()
    no_manager = notifier.render_termination(termination(manager_email=None))
    assert (no_manager.to, no_manager.cc) == ((IT,), ())


def test_manager_changed_goes_to_the_new_manager_or_it(notifier: Notifier) -> None:
    assert notifier.render_manager_changed(manager_changed()).to == ("erika.musterfrau@contoso.com",)
    unknown = notifier.render_manager_changed(manager_changed(new_manager_name=None, new_manager_email=None))
    assert unknown.to == (IT,)
    assert "not on record" in unknown.text


@pytest.mark.parametrize("bad", ["not-an-address", "a@b", "x@contoso.com\nBcc: y@contoso.com", "<a@contoso.com>"])
def test_malformed_addresses_are_refused_without_echoing_them(notifier: Notifier, bad: str) -> None:
    with pytest.raises(ValueError) as raised:
        notifier.render_welcome(welcome(manager_email=bad))
    assert bad not in str(raised.value)
    with pytest.raises(ValueError):
        Notifier(bad)


# --- input validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: pass_context(starts_at=datetime(2026, 12, 1, 8, 0)),
        lambda: pass_context(lifetime_minutes=9),
        lambda: pass_context(lifetime_minutes=43201),
        lambda: pass_context(time_zone="Mars/Olympus_Mons"),
        lambda: termination(disabled_at=datetime(2027, 3, 31, 18, 0)),
        lambda: termination(time_zone="../../etc/passwd"),
        lambda: it_alert(failed_at=datetime(2026, 11, 24, 10, 7)),
        lambda: held(held_at=datetime(2026, 12, 18, 17, 0)),
    ],
)
def test_contexts_refuse_naive_times_bad_zones_and_lifetimes(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


# --- filters ---------------------------------------------------------------------------------------------


def test_format_helpers() -> None:
    assert format_date_long(date(2026, 12, 1)) == "Tuesday 1 December 2026"
    assert format_date_long(date(2026, 3, 2), "de") == "Montag, 2. März 2026"
    assert format_date_long(date(2026, 3, 2), "fr") == "2026-03-02"
    assert format_duration(480) == "8 hours"
    assert format_duration(60) == "1 hour"
    assert format_duration(90) == "1 hour 30 minutes"
    assert format_duration(45, "de") == "45 Minuten"
    assert format_duration(61, "de") == "1 Stunde 1 Minute"
    assert format_duration(0) == "0 minutes"
