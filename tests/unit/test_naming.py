"""User name generation: the issue's examples, every directory rule for arbitrary Unicode, determinism."""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.naming import (
    FORBIDDEN_CHARS,
    LOCAL_PART_MAX,
    SAM_ACCOUNT_NAME_MAX,
    WARNING_FALLBACK_NAME,
    WARNING_FAMILY_NAME_DROPPED,
    WARNING_GIVEN_NAME_DROPPED,
    NameCandidate,
    NamePolicy,
    Transliteration,
    candidates,
    is_valid_local_part,
    name_token,
    pattern_problems,
    transliterate,
)

BASIC = NamePolicy(upn_domain="contoso.com", mail_domain="mail.contoso.com")
GERMAN = NamePolicy(upn_domain="contoso.com", mail_domain="mail.contoso.com", transliteration="de")


def first(given_name: str, family_name: str, policy: NamePolicy = BASIC, count: int = 1, **kwargs: str) -> list[str]:
    return [c.mail_nickname for c in islice(candidates(given_name, family_name, policy, **kwargs), count)]


@pytest.mark.parametrize(
    ("given_name", "family_name", "basic", "german"),
    [
        ("Zoë", "O'Brien-Müller", "zoe.obrien-muller", "zoe.obrien-mueller"),
        ("José María", "de la Cruz Hernández", "josemaria.delacruzhernandez", "josemaria.delacruzhernandez"),
        ("Thị Minh Khai", "Nguyễn", "thiminhkhai.nguyen", "thiminhkhai.nguyen"),
        ("Łukasz", "Żółć", "lukasz.zolc", "lukasz.zolc"),
        ("Søren", "Kierkegaard", "soren.kierkegaard", "soren.kierkegaard"),
        ("小龙", "李", "xiaolong.li", "xiaolong.li"),
        ("Jürgen", "Groß", "jurgen.gross", "juergen.gross"),
        ("Ægir", "Ødegård", "aegir.odegard", "aegir.odegard"),
        ("A", "B", "a.b", "a.b"),
        ("Mary Kate", "O’Neill", "marykate.oneill", "marykate.oneill"),
    ],
)
def test_issue_examples(given_name: str, family_name: str, basic: str, german: str) -> None:
    assert first(given_name, family_name, BASIC) == [basic]
    assert first(given_name, family_name, GERMAN) == [german]


def test_the_sequence_is_patterns_then_numeric_suffix() -> None:
    assert first("Zoë", "O'Brien-Müller", count=4) == [
        "zoe.obrien-muller",
        "z.obrien-muller",
        "zoe.obrien-muller2",
        "zoe.obrien-muller3",
    ]


def test_candidate_fields() -> None:
    candidate = next(candidates("Zoë", "O'Brien-Müller", BASIC))
    assert candidate == NameCandidate(
        user_principal_name="zoe.obrien-muller@contoso.com",
        mail="zoe.obrien-muller@mail.contoso.com",
        mail_nickname="zoe.obrien-muller",
        sam_account_name="zoe.obrien-muller",
    )
    assert candidate.warnings == ()
    assert candidate.identifiers() == {"zoe.obrien-muller@contoso.com", "zoe.obrien-muller@mail.contoso.com"}


def test_identifiers_include_lower_case_forms() -> None:
    candidate = NameCandidate("Zoe@Contoso.com", "Zoe@Contoso.com", "Zoe", "Zoe")
    assert candidate.identifiers() == {"Zoe@Contoso.com", "zoe@contoso.com"}


def test_single_letter_names_skip_duplicate_patterns() -> None:
    assert first("A", "B", count=3) == ["a.b", "a.b2", "a.b3"]


def test_preferred_given_name_wins() -> None:
    assert first("Zoë", "Smith", preferred_given_name="Zee") == ["zee.smith"]
    assert first("Zoë", "Smith", preferred_given_name="😀") == ["zoe.smith"]


def test_middle_initial_pattern() -> None:
    policy = NamePolicy("contoso.com", "contoso.com", patterns=("{given}.{middle_initial}.{family}",))
    assert first("Jane", "Doe", policy, middle_name="Quinn") == ["jane.q.doe"]
    assert first("Jane", "Doe", policy) == ["jane.doe"]


def test_patterns_that_render_nothing_or_repeat_are_skipped() -> None:
    policy = NamePolicy(
        "contoso.com",
        "contoso.com",
        patterns=("{middle_initial}", "{given}.{family}2"),
        suffix_pattern="{given}.{family}{n}",
    )
    assert first("Jane", "Doe", policy, count=3) == ["jane.doe2", "jane.doe3", "jane.doe4"]
    too_long = NamePolicy("contoso.com", "contoso.com", patterns=("{given_initial}" * 21 + "{family}",))
    assert first("Jane", "Doe", too_long) == ["jane.doe2"]


def test_custom_pattern_and_suffix() -> None:
    policy = NamePolicy(
        "contoso.com", "contoso.com", patterns=("{given_initial}{family}",), suffix_pattern="{given_initial}{family}{n}"
    )
    assert first("Jane", "Doe", policy, count=3) == ["jdoe", "jdoe2", "jdoe3"]
    underscore = NamePolicy("contoso.com", "contoso.com", patterns=("{family}_{given}",))
    assert first("Jane", "Doe", underscore) == ["doe_jane"]


def test_very_long_double_barrelled_names_fit_every_limit() -> None:
    given_name = "Alexandra-Katharina Maximiliane"
    family_name = "Montgomery-Smithson-Featherstonehaugh von und zu Hohenlohe-Schillingsfürst"
    found = list(islice(candidates(given_name, family_name, BASIC), 12))
    for candidate in found:
        assert len(candidate.mail_nickname) <= LOCAL_PART_MAX
        assert len(candidate.sam_account_name) <= SAM_ACCOUNT_NAME_MAX
    first_one = found[0]
    assert first_one.mail_nickname.startswith("alexandra-katharinamaximiliane.montgomery")
    assert len(first_one.mail_nickname) == LOCAL_PART_MAX
    # The numeric suffix is budgeted inside the 20 characters: the stem is cut, the suffix kept.
    suffixed = found[2:]
    for n, candidate in enumerate(suffixed, start=2):
        assert candidate.sam_account_name.endswith(str(n))
        assert candidate.mail_nickname.endswith(str(n))
        assert len(candidate.sam_account_name) == SAM_ACCOUNT_NAME_MAX
    assert len({c.sam_account_name for c in found}) == len(found)


def test_long_upn_domain_shrinks_the_local_part() -> None:
    domain = "a" * 40 + "." + "b" * 40 + ".com"
    policy = NamePolicy(domain, domain)
    assert policy.local_part_max == 113 - 1 - len(domain)
    candidate = next(candidates("Alexandra" * 4, "Montgomery" * 4, policy))
    assert len(candidate.user_principal_name) <= 113


def test_all_punctuation_name_falls_back_to_a_neutral_name_with_a_warning() -> None:
    found = list(islice(candidates("'''", "---", BASIC, fallback_seed="E10042"), 3))
    assert all(c.warnings == (WARNING_FALLBACK_NAME,) for c in found)
    stem = found[0].mail_nickname
    assert re.fullmatch(r"user\.[a-z]{6}", stem)
    assert found[1].mail_nickname == "u" + stem[4:]
    assert found[2].mail_nickname == stem + "2"
    again = next(candidates("!!!", "...", BASIC, fallback_seed="E10042"))
    assert again.mail_nickname == stem
    other = next(candidates("'''", "---", BASIC, fallback_seed="E10043"))
    assert other.mail_nickname != stem
    unseeded = next(candidates("'''", "---", BASIC))
    assert unseeded == next(candidates("'''", "---", BASIC))


def test_one_untransliterable_part_uses_the_other_part() -> None:
    only_family = list(islice(candidates("🙂", "Smith", BASIC), 2))
    assert [c.mail_nickname for c in only_family] == ["smith", "smith2"]
    assert only_family[0].warnings == (WARNING_GIVEN_NAME_DROPPED,)
    only_given = next(candidates("Anna", "☃", BASIC))
    assert only_given.mail_nickname == "anna"
    assert only_given.warnings == (WARNING_FAMILY_NAME_DROPPED,)


def test_warnings_never_contain_the_name() -> None:
    for warning in (WARNING_FALLBACK_NAME, WARNING_GIVEN_NAME_DROPPED, WARNING_FAMILY_NAME_DROPPED):
        assert "smith" not in warning.lower()


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("Straße", "basic", "Strasse"),
        ("Søren", "basic", "Soren"),
        ("Łódź", "basic", "Lodz"),
        ("Æsir", "basic", "Aesir"),
        ("Müller", "basic", "Muller"),
        ("Müller", "de", "Mueller"),
        ("ÄÖÜäöüß", "de", "AeOeUeaeoeuess"),
        ("Zoë", "de", "Zoe"),
    ],
)
def test_transliterate(text: str, mode: Transliteration, expected: str) -> None:
    assert transliterate(text, mode) == expected


def test_decomposed_input_equals_composed() -> None:
    composed = "Müller"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert name_token(decomposed, "de") == name_token(composed, "de") == "mueller"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("de la Cruz", "delacruz"),
        ("O'Brien", "obrien"),
        ("Jean – Luc", "jean-luc"),
        ("--Anne--Marie--", "anne-marie"),
        ("R2-D2", "r-d"),
        ("St. John", "stjohn"),
        ("😀", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_name_token(text: str | None, expected: str) -> None:
    assert name_token(text) == expected


@pytest.mark.parametrize(
    ("pattern", "suffix", "fragment"),
    [
        ("{given}.{family}", False, None),
        ("{given}.{family}{n}", True, None),
        ("{first}", False, "unknown placeholder"),
        ("{}", False, "unknown placeholder"),
        ("{given:>3}", False, "format or conversion"),
        ("{given", False, "malformed"),
        ("{given}.{family}", True, "exactly once"),
        ("{given}{n}", False, "must not contain {n}"),
        ("{n}", True, "at least one name placeholder"),
        ("{given} {family}", False, "not allowed"),
        ("{given}.Staff", False, "not allowed"),
        ("{given}.abcdefg.{family}", False, "literal characters"),
    ],
)
def test_pattern_problems(pattern: str, suffix: bool, fragment: str | None) -> None:
    problems = pattern_problems(pattern, suffix=suffix)
    if fragment is None:
        assert problems == []
    else:
        assert any(fragment in problem for problem in problems), problems


def test_policy_rejects_bad_patterns_and_domains() -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        NamePolicy("contoso.com", "contoso.com", patterns=("{first}",))
    with pytest.raises(ValueError, match="at least one name pattern"):
        NamePolicy("contoso.com", "contoso.com", patterns=())
    with pytest.raises(ValueError, match="too long"):
        NamePolicy("x" * 100 + ".com", "contoso.com")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("zoe.obrien", True),
        ("a", True),
        (".zoe", False),
        ("zoe.", False),
        ("-zoe", False),
        ("zoe-", False),
        ("zo..e", False),
        ("zo e", False),
        ("zoe@x", False),
        ("Zoe", False),
        ("", False),
        ("a" * 65, False),
    ],
)
def test_is_valid_local_part(value: str, valid: bool) -> None:
    assert is_valid_local_part(value) is valid


def assert_obeys_every_rule(candidate: NameCandidate, policy: NamePolicy) -> None:
    local, at, domain = candidate.user_principal_name.partition("@")
    assert at and domain == policy.upn_domain
    assert candidate.mail == f"{local}@{policy.mail_domain}"
    assert candidate.mail_nickname == local
    for value, limit in ((local, policy.local_part_max), (candidate.sam_account_name, SAM_ACCOUNT_NAME_MAX)):
        assert 0 < len(value) <= limit
        assert value.isascii() and value == value.lower()
        assert not set(value) & FORBIDDEN_CHARS
        assert re.fullmatch(r"[a-z0-9._-]+", value)
        assert ".." not in value
        assert value[0] not in ".-_" and value[-1] not in ".-_"
        assert is_valid_local_part(value, limit)
    assert len(candidate.user_principal_name) <= 113


policies = st.builds(
    NamePolicy,
    upn_domain=st.sampled_from(["contoso.com", "a-very-long-subsidiary-name.europe.contoso-group.com"]),
    mail_domain=st.just("contoso.com"),
    patterns=st.sampled_from(
        [
            ("{given}.{family}", "{given_initial}.{family}"),
            ("{family}{given_initial}", "{given}-{family}"),
            ("{given}.{middle_initial}.{family}",),
        ]
    ),
    suffix_pattern=st.sampled_from(["{given}.{family}{n}", "{family}{n}", "{given_initial}{n}.{family}"]),
    transliteration=st.sampled_from(["basic", "de"]),
)
names = st.one_of(st.none(), st.text(max_size=80))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_name=names, family_name=names, preferred=names, middle=names, policy=policies, seed=names)
def test_every_candidate_obeys_every_rule_for_any_unicode(
    *,
    given_name: str | None,
    family_name: str | None,
    preferred: str | None,
    middle: str | None,
    policy: NamePolicy,
    seed: str | None,
) -> None:
    def run() -> list[NameCandidate]:
        generator = candidates(
            given_name, family_name, policy, preferred_given_name=preferred, middle_name=middle, fallback_seed=seed
        )
        return list(islice(generator, 12))

    found = run()
    assert len(found) == 12
    for candidate in found:
        assert_obeys_every_rule(candidate, policy)
    assert len({c.mail_nickname for c in found}) == len(found)
    assert len({c.sam_account_name for c in found}) == len(found)
    assert run() == found
    assert [c.warnings for c in run()] == [c.warnings for c in found]


@given(st.text(max_size=80))
def test_name_token_is_lowercase_letters_and_inner_hyphens(text: str) -> None:
    token = name_token(text)
    assert re.fullmatch(r"([a-z]+(-[a-z]+)*)?", token)
