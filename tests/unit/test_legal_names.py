"""Every legal name HR may send is accepted and kept exactly; every user name made from it is valid in Entra and AD.

The validators below are written from Microsoft's rules, not from `naming.is_valid_local_part`, so a bug in the
generator's own check cannot hide a bad name:
- userPrincipalName local part (Entra): letters A-Z/a-z, digits, and ' . - _ ! # ^ ~; no leading or trailing
  period, no two periods in a row; at most 64 characters ("Microsoft Entra password policies", UPN row).
- sAMAccountName (AD schema, SAM-Account-Name): at most 20 characters; none of " / \\ [ ] : ; | = , + * ? < > @;
  not only periods and spaces, and no trailing period (Windows logon names).
"""

from __future__ import annotations

import re
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.events import EventValidationError, parse_event
from provisioning.naming import NamePolicy, candidates
from tests.unit.legal_names import ALL_NAMES, EXPECTED_USER_NAMES

UPN_LOCAL = re.compile(r"^[A-Za-z0-9'_!#^~-](?:[A-Za-z0-9'._!#^~-]*[A-Za-z0-9'_!#^~-])?$")
SAM_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
POLICIES = [
    NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com"),
    NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com", transliteration="de"),
    NamePolicy(
        upn_domain="contoso.com",
        mail_domain="contoso.com",
        patterns=("{given_initial}{family}", "{family}_{given}"),
        suffix_pattern="{given_initial}{family}{n}",
    ),
]


def valid_upn_local_part(value: str) -> bool:
    return len(value) <= 64 and bool(UPN_LOCAL.match(value)) and ".." not in value


def valid_sam_account_name(value: str) -> bool:
    return (
        0 < len(value) <= 20
        and not (set(value) & SAM_FORBIDDEN)
        and value.strip(". ") != ""
        and not value.endswith(".")
        and all(32 < ord(char) < 127 for char in value)
    )


def hire(given_name: str, family_name: str, **employee: str) -> dict[str, object]:
    return {
        "eventId": "legal-1",
        "type": "hire",
        "effectiveDate": "2026-12-01",
        "employee": {"employeeId": "E1", "givenName": given_name, "familyName": family_name, **employee},
    }


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_corpus_name_is_accepted_in_every_name_field_and_kept_exactly(name: str) -> None:
    event = parse_event(hire(name, name, middleName=name, preferredGivenName=name))
    employee = event.employee
    assert (employee.given_name, employee.family_name, employee.middle_name, employee.preferred_given_name) == (
        name,
        name,
        name,
        name,
    )


@pytest.mark.parametrize(("given_name", "family_name", "local_part"), EXPECTED_USER_NAMES)
def test_what_cannot_be_in_a_user_name_is_dropped(given_name: str, family_name: str, local_part: str) -> None:
    first = next(candidates(given_name, family_name, POLICIES[0], fallback_seed="E1"))
    assert first.mail_nickname == local_part


def _assert_valid_candidates(given_name: str | None, family_name: str | None, middle: str | None = None) -> None:
    for policy in POLICIES:
        generated = candidates(given_name, family_name, policy, middle_name=middle, fallback_seed="E10042")
        for candidate in islice(generated, 4):
            local, _, domain = candidate.user_principal_name.partition("@")
            assert domain == "contoso.com"
            assert valid_upn_local_part(local), (given_name, family_name, local)
            assert valid_upn_local_part(candidate.mail.partition("@")[0])
            assert valid_upn_local_part(candidate.mail_nickname)
            assert valid_sam_account_name(candidate.sam_account_name), (given_name, family_name, candidate)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_corpus_name_makes_valid_user_names(name: str) -> None:
    _assert_valid_candidates(name, name, name)
    _assert_valid_candidates("Zoë", name)
    _assert_valid_candidates(name, "O'Brien")


corpus = st.sampled_from(ALL_NAMES)
# Anything printable: letters, marks, digits, punctuation, symbols and spaces of every script.
printable = st.text(st.characters(categories=("L", "M", "N", "P", "S", "Zs")), min_size=1, max_size=64).filter(
    lambda text: text.strip() != "" and len(text.strip()) <= 64
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(corpus, printable), st.one_of(corpus, printable))
def test_any_printable_name_is_accepted_and_makes_valid_user_names(given_name: str, family_name: str) -> None:
    try:
        event = parse_event(hire(given_name, family_name))
    except EventValidationError as error:  # pragma: no cover - the assertion message is the point
        pytest.fail(f"refused a printable name: {error.errors}")
    assert event.employee.given_name == given_name.strip()
    assert event.employee.family_name == family_name.strip()
    _assert_valid_candidates(event.employee.given_name, event.employee.family_name)


@settings(max_examples=200, deadline=None)
@given(st.lists(corpus, min_size=2, max_size=3).map(" ".join), corpus)
def test_compound_corpus_names_make_valid_user_names(given_name: str, family_name: str) -> None:
    if len(given_name) <= 64:
        parse_event(hire(given_name, family_name))
    _assert_valid_candidates(given_name, family_name)
