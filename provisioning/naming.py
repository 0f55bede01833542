"""User name generation: transliteration, patterns, directory limits and the candidate sequence.

Pure and deterministic: the same person and policy always give the same candidates in the same
order, so an orchestrator can replay it and a retry after a name conflict simply takes the next one.

Normalisation of one name part (given, family or middle name):
0. what HR adds to a legal name but nobody is addressed by goes: a parenthesised nickname
   ("García (Pepe)" → "García"), anything after a comma ("Müller, II" → "Müller") and trailing
   generational suffixes ("Smith Jr." → "Smith"), unless nothing else would be left;
1. NFC; only letters (with their marks) and dashes are kept, so apostrophes, spaces, dots,
   digits and symbols such as emoji are dropped: "de la Cruz" → "delacruz", "O'Brien" → "obrien",
   "St. John" → "stjohn", "J.R." → "jr";
2. with ``de`` the German table (ä→ae, ö→oe, ü→ue, ß→ss), then anyascii for everything else
   (ß→ss, ø→o, ł→l, æ→ae, ë→e, 李→Li ...), lower-case, and anything left that is not a-z or a
   hyphen is dropped;
3. hyphens inside the part are kept (runs collapse to one), leading/trailing hyphens are dropped.

A pattern joins the parts with its own literal separators (``.`` by default). Empty name parts
(a script with no Latin transliteration) are left out and the dangling separators removed; when
both parts are empty the stem becomes ``user`` plus a short letter hash of `fallback_seed`
(the employeeId), and the candidate carries a warning for the workflow to record.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from anyascii import anyascii

Transliteration = Literal["basic", "de"]

LOCAL_PART_MAX = 64
SAM_ACCOUNT_NAME_MAX = 20
# Entra's userPrincipalName limit (local part, "@" and domain together).
USER_PRINCIPAL_NAME_MAX = 113
NAME_FIELDS = frozenset({"given", "family", "given_initial", "family_initial", "middle_initial"})
SUFFIX_FIELD = "n"
# Literal text a pattern may contain between placeholders; everything else is illegal somewhere
# in UPN, mail, mailNickname or sAMAccountName.
PATTERN_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
# Literal text is bounded so that even one-letter names plus a long suffix fit in sAMAccountName.
PATTERN_LITERAL_MAX = 6
FORBIDDEN_CHARS = frozenset('"/\\[]:;|=,+*?<>@ ')

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"})
_NOT_NAME = re.compile(r"[^a-z-]+")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|（[^）]*）")
_COMMAS = re.compile(r"[,，、،]")
GENERATIONAL_SUFFIXES = frozenset({"jr", "jnr", "sr", "snr", "ii", "iii", "iv", "2nd", "3rd", "4th"})
"""Suffixes that follow a family name ("Smith Jr.", "Ford III") and are not part of a user name."""
_HYPHENS = re.compile(r"-{2,}")
_SEPARATOR_RUN = re.compile(r"([._-])[._-]+")
_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")

WARNING_GIVEN_NAME_DROPPED = "given name has no Latin transliteration; the user name uses the family name only"
WARNING_FAMILY_NAME_DROPPED = "family name has no Latin transliteration; the user name uses the given name only"
WARNING_FALLBACK_NAME = "name has no Latin transliteration; generated a neutral user name from the employee id"


def transliterate(text: str, mode: Transliteration = "basic") -> str:
    """ASCII form of `text`; `de` applies the German umlaut table before the generic table."""
    normalized = unicodedata.normalize("NFC", text)
    if mode == "de":
        normalized = normalized.translate(_GERMAN)
    return anyascii(normalized)


def _letters_and_hyphens(text: str) -> str:
    """Keep letters, their combining marks and dashes; symbols such as emoji must not become words
    (anyascii spells 😀 as ":grinning:")."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category[0] in "LM":
            kept.append(char)
        elif category == "Pd":
            kept.append("-")
    return "".join(kept)


def _addressed_name(text: str) -> str:
    """The part of a legal name a person is addressed by: no nickname in brackets, nothing after a comma, no
    trailing generational suffix. Falls back to the text as given when that would leave nothing."""
    kept = _BRACKETED.sub(" ", text)
    head = _COMMAS.split(kept, maxsplit=1)[0]
    words = head.split()
    while len(words) > 1 and words[-1].strip(".").lower() in GENERATIONAL_SUFFIXES:
        words.pop()
    return " ".join(words) or text


def name_token(text: str | None, mode: Transliteration = "basic") -> str:
    """One name part as it appears in a user name: ASCII lower-case letters and inner hyphens only."""
    if not text:
        return ""
    for source in (_addressed_name(text), text):
        token = _HYPHENS.sub("-", _NOT_NAME.sub("", transliterate(_letters_and_hyphens(source), mode).lower()))
        if token.strip("-"):
            return token.strip("-")
    return ""


def pattern_problems(pattern: str, *, suffix: bool) -> list[str]:
    """What is wrong with a name pattern (empty list = usable). `suffix` patterns must hold {n} once."""
    problems: list[str] = []
    names: list[str] = []
    literal = ""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as error:
        return [f"pattern {pattern!r} is malformed ({error})"]
    for text, field_name, format_spec, conversion in parsed:
        literal += text
        if field_name is None:
            continue
        if format_spec or conversion:
            problems.append(f"pattern {pattern!r}: {{{field_name}}} must not carry a format or conversion")
        names.append(field_name)
    for name in names:
        if name not in NAME_FIELDS and name != SUFFIX_FIELD:
            allowed = ", ".join(f"{{{n}}}" for n in sorted(NAME_FIELDS))
            problems.append(f"pattern {pattern!r}: unknown placeholder {{{name}}} (allowed: {allowed})")
    if not any(name in NAME_FIELDS for name in names):
        problems.append(f"pattern {pattern!r} must use at least one name placeholder such as {{family}}")
    count_n = names.count(SUFFIX_FIELD)
    if suffix and count_n != 1:
        problems.append(f"suffix pattern {pattern!r} must contain {{n}} exactly once")
    if not suffix and count_n:
        problems.append(f"pattern {pattern!r} must not contain {{n}} (that belongs in the suffix pattern)")
    bad = sorted(set(literal) - PATTERN_LITERAL_CHARS)
    if bad:
        problems.append(f"pattern {pattern!r}: characters {''.join(bad)!r} are not allowed in user names")
    if len(literal) > PATTERN_LITERAL_MAX:
        problems.append(f"pattern {pattern!r}: at most {PATTERN_LITERAL_MAX} literal characters")
    return problems


def is_valid_local_part(value: str, max_length: int = LOCAL_PART_MAX) -> bool:
    """Whether `value` is usable as UPN/mail local part, mailNickname or sAMAccountName."""
    return (
        0 < len(value) <= max_length
        and bool(_LOCAL_PART.match(value))
        and ".." not in value
        and not (set(value) & FORBIDDEN_CHARS)
    )


@dataclass(frozen=True, slots=True)
class NamePolicy:
    """How user names are built; usually from `Settings.name_policy()`."""

    upn_domain: str
    mail_domain: str
    patterns: tuple[str, ...] = ("{given}.{family}", "{given_initial}.{family}")
    suffix_pattern: str = "{given}.{family}{n}"
    transliteration: Transliteration = "basic"

    def __post_init__(self) -> None:
        problems = [p for pattern in self.patterns for p in pattern_problems(pattern, suffix=False)]
        problems += pattern_problems(self.suffix_pattern, suffix=True)
        if not self.patterns:
            problems.append("at least one name pattern is required")
        if self.local_part_max < SAM_ACCOUNT_NAME_MAX:
            problems.append(f"UPN domain {self.upn_domain!r} is too long for a {USER_PRINCIPAL_NAME_MAX}-character UPN")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def local_part_max(self) -> int:
        """Local-part budget: 64, or less when a long UPN domain would push the UPN over 113."""
        return min(LOCAL_PART_MAX, USER_PRINCIPAL_NAME_MAX - 1 - len(self.upn_domain))


@dataclass(frozen=True, slots=True)
class NameCandidate:
    """One complete set of generated identifiers for a person.

    `warnings` explains a fallback (no Latin transliteration); it never contains the person's name.
    """

    user_principal_name: str
    mail: str
    mail_nickname: str
    sam_account_name: str
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def identifiers(self) -> frozenset[str]:
        """Values that must be unused by any other directory object (compared case-insensitively)."""
        values = {self.user_principal_name, self.mail}
        return frozenset(values | {value.lower() for value in values})


@dataclass(frozen=True, slots=True)
class _Parts:
    given: str
    family: str
    middle: str
    warnings: tuple[str, ...]

    def fields(self, n: str) -> dict[str, str]:
        return {
            "given": self.given,
            "family": self.family,
            "given_initial": self.given[:1],
            "family_initial": self.family[:1],
            "middle_initial": self.middle[:1],
            SUFFIX_FIELD: n,
        }


def _fallback_stem(seed: str) -> str:
    """Six letters derived from `seed`: stable per employee; no digits, so suffixes stay unambiguous."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return "".join(chr(ord("a") + byte % 26) for byte in digest[:6])


def _parts(
    given_names: tuple[str | None, str | None],
    family_name: str | None,
    middle_name: str | None,
    mode: Transliteration,
    fallback_seed: str | None,
) -> _Parts:
    """Name tokens; the first given name (the preferred one) that transliterates to anything wins."""
    given = next((token for token in (name_token(name, mode) for name in given_names) if token), "")
    family = name_token(family_name, mode)
    middle = name_token(middle_name, mode)
    if given and family:
        return _Parts(given, family, middle, ())
    if family:
        return _Parts("", family, middle, (WARNING_GIVEN_NAME_DROPPED,))
    if given:
        return _Parts(given, "", middle, (WARNING_FAMILY_NAME_DROPPED,))
    seed = fallback_seed or "\x00".join(name or "" for name in (*given_names, family_name))
    return _Parts("user", _fallback_stem(seed), middle, (WARNING_FALLBACK_NAME,))


def _clean(rendered: str) -> str:
    """Drop separators left dangling by an empty name part, and repeated separators."""
    return _SEPARATOR_RUN.sub(r"\1", rendered).strip("._-")


def _render(pattern: str, values: Mapping[str, str], limit: int) -> str | None:
    """Render `pattern`, shortening the longest full name part until the result fits `limit`.

    Initials and the numeric suffix are never cut, so n=12 stays "12" inside a 20-character
    sAMAccountName. Returns None when nothing sensible fits.
    """
    fields = dict(values)
    used = {name for _, name, _, _ in string.Formatter().parse(pattern) if name}
    shrinkable = [name for name in ("given", "family") if name in used]
    while True:
        rendered = _clean(pattern.format(**fields))
        if len(rendered) <= limit:
            return rendered if is_valid_local_part(rendered, limit) else None
        candidates = [name for name in shrinkable if len(fields[name]) > 1]
        if not candidates:
            return None
        longest = max(candidates, key=lambda name: len(fields[name]))
        fields[longest] = fields[longest][:-1].rstrip("-")


def candidates(
    given_name: str | None,
    family_name: str | None,
    policy: NamePolicy,
    *,
    preferred_given_name: str | None = None,
    middle_name: str | None = None,
    fallback_seed: str | None = None,
) -> Iterator[NameCandidate]:
    """Every candidate for a person, best first: the patterns in order, then the suffix pattern
    for n = 2, 3, ... (endless; take what you need).

    The preferred given name wins over the legal one. A candidate repeating an earlier local part
    or sAMAccountName is skipped, so each one yielded is a genuinely new choice.
    """
    parts = _parts((preferred_given_name, given_name), family_name, middle_name, policy.transliteration, fallback_seed)
    seen_local: set[str] = set()
    seen_sam: set[str] = set()

    def build(pattern: str, n: str) -> NameCandidate | None:
        values = parts.fields(n)
        local = _render(pattern, values, policy.local_part_max)
        sam = _render(pattern, values, SAM_ACCOUNT_NAME_MAX)
        if local is None or sam is None or local in seen_local or sam in seen_sam:
            return None
        seen_local.add(local)
        seen_sam.add(sam)
        return NameCandidate(
            user_principal_name=f"{local}@{policy.upn_domain}",
            mail=f"{local}@{policy.mail_domain}",
            mail_nickname=local,
            sam_account_name=sam,
            warnings=parts.warnings,
        )

    for pattern in policy.patterns:
        candidate = build(pattern, "")
        if candidate is not None:
            yield candidate
    n = 2
    while True:
        candidate = build(policy.suffix_pattern, str(n))
        if candidate is not None:
            yield candidate
        n += 1
