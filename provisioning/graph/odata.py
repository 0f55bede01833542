"""OData literals, ``$filter`` expressions and query strings for Microsoft Graph.

Every string literal is built by exactly one function, :func:`odata_string`, so a name such as ``O'Brien`` can
never change the shape of a ``$filter`` (single quotes are doubled, control characters refused, the value is never
repeated in an error). Filters are :class:`ODataFilter` values built by the helpers here; plain strings are not
accepted by the client.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, NewType
from urllib.parse import quote

__all__ = [
    "MAX_IN_VALUES",
    "MAX_ODATA_LITERAL_LENGTH",
    "ODataFilter",
    "ODataValueError",
    "filter_after",
    "filter_all",
    "filter_any",
    "filter_eq",
    "filter_in",
    "odata_datetime",
    "odata_string",
    "query_string",
    "select_clause",
    "users_using_identifier",
]

MAX_ODATA_LITERAL_LENGTH: Final = 1024
"""Longest value accepted into a filter literal. Real values (UPNs, mail, employee ids) are < 300."""

MAX_IN_VALUES: Final = 15
"""Graph accepts at most 15 values in one ``in (...)`` filter on directory objects."""

# Control, surrogate and line/paragraph separator characters have no business in a directory value,
# and some of them change how a URL or a log line is read.
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
_PROPERTY_PATH: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*\Z")
_QUERY_SAFE: Final = ",/():"

ODataFilter = NewType("ODataFilter", str)
"""A ``$filter`` expression built by the helpers in this module; plain strings are not accepted."""


class ODataValueError(ValueError):
    """A value cannot be placed in an OData query. The message never repeats the value (it may be PII)."""


def check_text(value: object, *, what: str, max_length: int) -> str:
    """``value`` when it is a string a directory could hold; ODataValueError naming ``what`` otherwise."""
    if not isinstance(value, str):
        raise ODataValueError(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length:
        raise ODataValueError(f"{what} is longer than {max_length} characters")
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ODataValueError(f"{what} contains a control or separator character")
    return value


def odata_string(value: str) -> str:
    """Return ``value`` as an OData string literal: validated, single quotes doubled, wrapped in quotes.

    This is the only place a literal is built, so injection is impossible as long as filters are
    assembled from its output (the property test in ``tests/unit/test_graph.py`` proves the round trip).
    """
    text = check_text(value, what="filter value", max_length=MAX_ODATA_LITERAL_LENGTH)
    return "'" + text.replace("'", "''") + "'"


def odata_datetime(moment: datetime) -> str:
    """Return an OData DateTimeOffset literal in UTC (unquoted, whole seconds, rounded down)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ODataValueError("a filter timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def property_path(prop: str) -> str:
    if not isinstance(prop, str) or not _PROPERTY_PATH.match(prop):
        raise ODataValueError("property must be an OData property path such as 'mail' or 'sourceIdentity/id'")
    return prop


def filter_eq(prop: str, value: str) -> ODataFilter:
    """``prop eq 'value'`` with the value escaped."""
    return ODataFilter(f"{property_path(prop)} eq {odata_string(value)}")


def filter_in(prop: str, values: Sequence[str]) -> ODataFilter:
    """``prop in ('a','b')`` with every value escaped (Graph caps the list at 15 values for most properties)."""
    if not values:
        raise ODataValueError("'in' needs at least one value")
    return ODataFilter(f"{property_path(prop)} in ({','.join(odata_string(value) for value in values)})")


def filter_all(*clauses: ODataFilter) -> ODataFilter:
    """Join clauses with ``and``; each clause is parenthesised so ``or`` inside one cannot leak out."""
    return _join("and", clauses)


def filter_any(*clauses: ODataFilter) -> ODataFilter:
    """Join clauses with ``or``; each clause is parenthesised."""
    return _join("or", clauses)


def filter_after(prop: str, moment: datetime) -> ODataFilter:
    """``prop gt <instant>`` (a DateTimeOffset literal, whole seconds)."""
    return ODataFilter(f"{property_path(prop)} gt {odata_datetime(moment)}")


def _join(operator: str, clauses: Sequence[ODataFilter]) -> ODataFilter:
    if not clauses:
        raise ODataValueError(f"'{operator}' needs at least one clause")
    if len(clauses) == 1:
        return clauses[0]
    return ODataFilter(f" {operator} ".join(f"({clause})" for clause in clauses))


def users_using_identifier(identifier: str) -> ODataFilter:
    """Users whose UPN, mail or any proxy address is ``identifier`` (the name-uniqueness check).

    ``proxyAddresses/any(p:p eq ...)`` is a default (non-advanced) query on ``/users`` (Graph "Advanced query
    capabilities"), so no ``ConsistencyLevel`` header is needed and the answer is strongly consistent. Entra
    compares directory strings case-insensitively, so the lower-case ``smtp:`` form also matches a primary
    ``SMTP:`` address.
    """
    value = identifier.lower()
    return ODataFilter(
        f"userPrincipalName eq {odata_string(value)}"
        f" or mail eq {odata_string(value)}"
        f" or proxyAddresses/any(p:p eq {odata_string('smtp:' + value)})"
    )


def select_clause(select: Iterable[str]) -> str:
    props = [property_path(prop) for prop in select]
    if not props:
        raise ODataValueError("$select needs at least one property")
    return ",".join(props)


def query_string(params: Mapping[str, str]) -> str:
    # Built by hand: httpx would spell spaces as '+' and the '$' of system query options as %24.
    return "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params.items())
