"""Fuzzing the HR event model and what its values become in a Graph ``$filter``.

tests/unit/test_events.py covers each rule and a first property (arbitrary parsed JSON → only
EventValidationError). This file adds what an attacker or a broken HR mapping would send: raw bytes, strict-JSON
corner cases, one field of a valid event replaced by anything (the error must name that field), complete events
with every optional field (they round-trip), and the step after validation: every value that reaches a Graph
filter is exactly one literal, checked with the Entra emulator's independent OData parser.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from azure.core.credentials import AccessToken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.entra.odata import Any_, Compare, Evaluator, Literal, Logical, Prop, parse_filter, walk
from provisioning import directory
from provisioning.events import (
    ISO_3166_ALPHA2,
    RESERVED_ATTRIBUTE_NAMES,
    EventValidationError,
    FieldError,
    HrEvent,
    loads_strict,
    parse_batch,
    parse_event,
)
from provisioning.graph import GraphClient
from provisioning.naming import NamePolicy

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies --------------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**53 - 2, max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "\n", "\u0000", "\ud800", "x' or 1 eq 1 or 'y", "E1\n", "\u202eevil", "null"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
letters = st.characters(categories=("Lu", "Ll", "Lo"))
name_chars = st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc"))
person_names = st.builds(
    lambda head, joiner, tail: head + joiner + tail,
    st.text(letters, min_size=1, max_size=20),
    st.sampled_from(["", " ", "'", "’", "ʼ", "-", " O'", "-d'"]),
    st.text(name_chars, min_size=1, max_size=20),
)
employee_ids = st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True)
plain_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), max_codepoint=0x2FFFF), min_size=1, max_size=60
).filter(str.strip)
attribute_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | plain_text
)


@st.composite
def complete_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with every optional employee field present (test_events.py generates only a few)."""
    event_type = draw(st.sampled_from(["hire", "update", "termination", "rehire"]))
    employee_id = draw(employee_ids)
    manager_id = draw(employee_ids.filter(lambda value: value != employee_id))
    employee: dict[str, Any] = {
        "employeeId": employee_id,
        "givenName": draw(person_names),
        "familyName": draw(person_names),
        "preferredGivenName": draw(person_names),
        "middleName": draw(person_names),
        "jobTitle": draw(plain_text),
        "department": draw(plain_text.map(lambda text: text[:64])),
        "division": draw(plain_text.map(lambda text: text[:64])),
        "costCenter": draw(plain_text.map(lambda text: text[:40])),
        "companyName": draw(plain_text.map(lambda text: text[:64])),
        "employeeType": draw(st.sampled_from(["Employee", "Contractor", "Intern"])),
        "managerEmployeeId": manager_id,
        "officeLocation": draw(plain_text),
        "city": draw(plain_text),
        "state": draw(plain_text),
        "postalCode": draw(plain_text.map(lambda text: text[:40])),
        "country": draw(st.sampled_from(sorted(ISO_3166_ALPHA2))),
        "usageLocation": draw(st.sampled_from(sorted(ISO_3166_ALPHA2))),
        "businessPhone": draw(st.from_regex(r"\+[1-9][0-9]{1,3} [0-9]{2,4} [0-9]{4,8}", fullmatch=True)),
        "mobilePhone": draw(st.from_regex(r"\(0[0-9]{2,4}\) [0-9]{3,8}( ext\. [0-9]{1,4})?", fullmatch=True)),
        "personalEmail": draw(
            st.from_regex(r"[a-z0-9]{1,8}([.'+_-][a-z0-9]{1,8})?@[a-z]{2,10}\.(org|de|com)", fullmatch=True)
        ),
        "timeZone": draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])),
        "preferredLanguage": draw(st.sampled_from(["de-DE", "en", "zh-Hant-TW", "sr-Latn-RS", "x-private"])),
        "attributes": draw(
            st.dictionaries(
                st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True).filter(
                    lambda name: name.lower() not in RESERVED_ATTRIBUTE_NAMES
                ),
                attribute_values,
                max_size=6,
            )
        ),
    }
    data: dict[str, Any] = {
        "eventId": draw(st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)),
        "type": event_type,
        "effectiveDate": draw(st.dates(date(1990, 1, 1), date(2100, 12, 31))).isoformat(),
        "occurredAt": draw(st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)))
        .isoformat()
        .replace("+00:00", "Z"),
        "employee": employee,
    }
    return data


def paths_of(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path in a JSON object, parents before children."""
    found: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(paths_of(item, (*prefix, key)))
    return found


def replace_at(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(data)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


def assert_field_paths(error: EventValidationError, data: object) -> None:
    """Errors are non-empty, and each names a field: 'body', or a path whose head is a key of the input or a
    required top-level field."""
    assert error.errors
    heads = set(data) if isinstance(data, dict) else set()
    heads |= {"eventId", "type", "effectiveDate", "employee", "events"}
    for item in error.errors:
        assert isinstance(item, FieldError)
        assert isinstance(item.field, str) and item.field and isinstance(item.message, str) and item.message
        quoted = re.match(r'\[("(?:[^"\\]|\\.)*")\]', item.field)
        head = json.loads(quoted.group(1)) if quoted else re.split(r"[.\[]", item.field, maxsplit=1)[0]
        assert item.field == "body" or head in heads, item


# -- raw bodies and strict JSON ----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_raw_bytes_only_ever_raise_a_validation_error_about_the_body(raw: bytes) -> None:
    for parse in (parse_event, parse_batch):
        try:
            parse(raw)
        except EventValidationError as error:
            assert error.errors and all(item.field for item in error.errors)
            try:
                loaded = loads_strict(raw)
            except ValueError:
                assert [item.field for item in error.errors] == ["body"]
            else:
                assert_field_paths(error, loaded)


@FUZZ
@given(json_values.map(json.dumps))
def test_any_json_text_parses_like_the_parsed_value(text: str) -> None:
    """Raw text and the parsed value give the same verdict, errors included."""
    outcomes = []
    loaded = json.loads(text)
    # a parsed str would be read as JSON text again, so only containers and scalars of other types are compared
    candidates = (text, text.encode("utf-8")) if isinstance(loaded, str) else (text, text.encode("utf-8"), loaded)
    for data in candidates:
        try:
            outcomes.append(parse_event(data))
        except EventValidationError as error:
            assert_field_paths(error, json.loads(text))
            outcomes.append(error.errors)
    assert all(outcome == outcomes[0] for outcome in outcomes)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"eventId": "a", "eventId": "b"}', 'duplicate key "eventId"'),
        (b'{"events": [{"type": "hire", "employee": {"employeeId": "E1", "employeeId": "E2"}}]}', "duplicate key"),
        (b'{"eventId": NaN}', "NaN is not a JSON value"),
        (b'{"employee": {"attributes": {"x": Infinity}}}', "Infinity is not a JSON value"),
        (b'{"employee": {"attributes": {"x": -Infinity}}}', "-Infinity is not a JSON value"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
    ],
)
def test_strict_json_corner_cases_are_named(raw: bytes, message: str) -> None:
    for parse in (parse_event, parse_batch):
        with pytest.raises(EventValidationError) as caught:
            parse(raw)
        assert [item.field for item in caught.value.errors] == ["body"]
        assert message in caught.value.errors[0].message


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"eventId": "wd-1"}).encode("utf-16"),
        json.dumps({"eventId": "wd-1"}).encode("utf-32"),
        b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark is not JSON text
        b'{"eventId": 1' + b"0" * 5000 + b"}",  # longer than Python converts
        b"",
        b"\xc3\x28",
    ],
)
def test_other_encodings_and_unconvertible_numbers_are_body_errors(raw: bytes) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_event(raw)
    assert [item.field for item in caught.value.errors] == ["body"]


@pytest.mark.parametrize(
    ("literal", "accepted"),
    [
        ("9007199254740992", True),
        ("-9007199254740992", True),
        ("9007199254740993", False),
        ("1" + "0" * 400, False),
        ("1e400", False),
        ("-1e400", False),
        ("1.7976931348623157e308", True),
        ("1e-400", True),
    ],
)
def test_huge_numbers_in_attributes(literal: str, accepted: bool) -> None:
    """Integers beyond ±2^53 lose precision in JSON consumers; 1e400 parses to infinity. Both name the attribute."""
    raw = (
        '{"eventId": "wd-1", "type": "termination", "effectiveDate": "2026-12-31",'
        f' "employee": {{"employeeId": "E1", "attributes": {{"Big": {literal}}}}}}}'
    )
    if accepted:
        assert parse_event(raw).employee.attributes == {"Big": json.loads(literal)}
        return
    with pytest.raises(EventValidationError) as caught:
        parse_event(raw)
    assert [item.field for item in caught.value.errors] == ["employee.attributes.Big"]


# -- one field of a valid event replaced by anything --------------------------------------------------------------


@FUZZ
@given(complete_events(), st.data())
def test_a_replaced_field_is_the_field_the_error_names(event: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(paths_of(event)), label="path")
    value = data.draw(json_values, label="value")
    mutated = replace_at(event, path, value)
    dotted = ".".join(path)
    try:
        parsed = parse_event(mutated)
    except EventValidationError as error:
        assert_field_paths(error, mutated)
        related = [
            item.field
            for item in error.errors
            if item.field == dotted
            or item.field.startswith((dotted + ".", dotted + "["))
            # the employee's own id may now equal the manager's
            or (dotted == "employee.employeeId" and item.field == "employee.managerEmployeeId")
        ]
        assert related, (dotted, error.errors)
    else:
        assert parse_event(parsed.to_json()) == parsed


@FUZZ
@given(complete_events(), st.text(st.characters(categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=3))
def test_control_characters_and_lone_surrogates_are_rejected_in_every_text_field(
    event: dict[str, Any], bad: str
) -> None:
    employee = event["employee"]
    text_fields = [key for key, value in employee.items() if isinstance(value, str)]
    for key in [*text_fields, "eventId"]:
        mutated = copy.deepcopy(event)
        target = mutated if key == "eventId" else mutated["employee"]
        # inside the value, after its first visible character: surrounding whitespace (some Cc, Zl, Zp) is trimmed,
        # not refused (and apart from each other, so that two surrogates cannot pair up into one valid character)
        value = target[key]
        inside = len(value) - len(value.lstrip()) + 1
        target[key] = value[:inside] + "x".join(bad) + "x" + value[inside:]
        with pytest.raises(EventValidationError) as caught:
            parse_event(json.dumps(mutated))
        field = key if key == "eventId" else f"employee.{key}"
        assert field in [item.field for item in caught.value.errors]


@pytest.mark.parametrize("field", ["eventId", "employee.employeeId", "employee.managerEmployeeId"])
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "' or employeeId ne 'y", "\u0000"])
def test_identifiers_are_matched_whole(field: str, suffix: str) -> None:
    """`$` in a Python regex also matches before a trailing newline; ids are checked to their very end."""
    event = {
        "eventId": "wd-1",
        "type": "update",
        "employee": {"employeeId": "E1", "managerEmployeeId": "E2"},
    }
    target: Any = event if field == "eventId" else event["employee"]
    key = field.rsplit(".", 1)[-1]
    target[key] = target[key] + suffix
    with pytest.raises(EventValidationError) as caught:
        parse_event(event)
    assert [item.field for item in caught.value.errors] == [field]


# -- complete events round-trip, alone and in a batch -------------------------------------------------------------


@FUZZ
@given(complete_events())
def test_complete_events_round_trip_through_the_wire_form(event: dict[str, Any]) -> None:
    parsed = parse_event(json.dumps(event).encode("utf-8"))
    wire = parsed.to_json()
    assert parse_event(wire) == parsed
    assert parse_event(json.dumps(wire)).to_json() == wire
    assert wire["employee"]["attributes"] == event["employee"]["attributes"]
    assert wire["employee"]["givenName"] == event["employee"]["givenName"].strip()


@settings(max_examples=40, deadline=None)
@given(st.lists(complete_events() | json_values, min_size=1, max_size=8))
def test_batches_reject_exactly_the_invalid_events_with_indexed_paths(items: list[Any]) -> None:
    parsed = parse_batch(json.dumps({"events": items}))
    assert sorted([index for index, _ in parsed.accepted] + [item.index for item in parsed.rejected]) == list(
        range(len(items))
    )
    for item in parsed.rejected:
        assert item.errors
        assert all(error.field.startswith(f"events[{item.index}]") for error in item.errors), item
    for index, event in parsed.accepted:
        assert isinstance(event, HrEvent)
        assert event == parse_event(items[index])


# -- what reaches a Graph $filter ---------------------------------------------------------------------------------


class _Credential:
    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken("token", 4_000_000_000)


def recording_graph(taken: Callable[[str], bool]) -> tuple[GraphClient, list[str]]:
    """A GraphClient whose transport records each $filter and answers like Graph: a user for taken values."""
    filters: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        query = dict(pair.split("=", 1) for pair in request.url.query.decode("ascii").split("&") if pair)
        expression = unquote(query.get("$filter", ""))
        if expression:
            filters.append(expression)
        hit = bool(expression) and any(taken(str(value)) for value in literals_in(expression))
        return httpx.Response(200, json={"value": [{"id": "someone", "employeeId": "X"}] if hit else []})

    client = GraphClient(_Credential(), http=httpx.Client(transport=httpx.MockTransport(answer)), max_attempts=1)
    return client, filters


def literals_in(expression: str) -> list[str]:
    return [node.value for node in walk(parse_filter(expression)) if isinstance(node, Literal)]


# Users a forged filter ("… or employeeId ne 'y'") would match: no valid event value can equal theirs.
BYSTANDERS = [
    {"employeeId": "by.1", "userPrincipalName": "by+1@contoso.com", "mail": "by+1@contoso.com", "proxyAddresses": []},
    {"employeeId": "by.2", "userPrincipalName": "by+2@contoso.com", "proxyAddresses": ["SMTP:by+3@contoso.com"]},
]


@settings(max_examples=60, deadline=None)
@given(complete_events(), st.integers(min_value=0, max_value=3))
def test_every_event_value_reaches_graph_as_exactly_one_literal(event: dict[str, Any], taken_count: int) -> None:
    wire = parse_event(event).to_json()
    employee = wire["employee"]
    policy = NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com")
    checked: list[str] = []

    def taken(value: str) -> bool:
        # the first few distinct UPN candidates are in use, so find_free_names walks several patterns
        if "@" in value and value not in checked:
            checked.append(value)
        return "@" in value and value in checked[:taken_count]

    graph, filters = recording_graph(taken)
    directory.find_person(graph, employee["employeeId"])
    directory.find_manager(graph, employee["managerEmployeeId"])
    free = directory.find_free_names(graph, policy, employee, wanted=1)
    assert free["candidates"], free

    evaluator = Evaluator()
    employee_filters = filters[:2]
    assert [literals_in(expression) for expression in employee_filters] == [
        [employee["employeeId"]],
        [employee["managerEmployeeId"]],
    ]
    for expression in employee_filters:
        tree = parse_filter(expression)
        assert isinstance(tree, Compare) and tree.op == "eq" and tree.left == Prop("employeeId")
        assert not any(evaluator.matches(tree, user) for user in BYSTANDERS)
    for expression in filters[2:]:
        # One filter per candidate: (its UPN/mail as UPN, mail or proxy address) or (its sAMAccountName).
        tree = parse_filter(expression)
        assert isinstance(tree, Logical) and tree.op == "or"
        sam = [
            node for node in walk(tree) if isinstance(node, Compare) and node.left == Prop("onPremisesSamAccountName")
        ]
        assert len(sam) == 1
        identifiers = [node for node in tree.parts if isinstance(node, Logical)]
        assert identifiers, expression
        for clause in identifiers:
            values = literals_in_tree(clause)
            identifier = values[0]
            assert values == [identifier, identifier, "smtp:" + identifier]
            assert isinstance(clause.parts[2], Any_) and clause.parts[2].path == "proxyAddresses"
            assert "'" not in identifier and identifier.endswith("@contoso.com")
        assert not any(evaluator.matches(tree, user) for user in BYSTANDERS)


def literals_in_tree(tree: Any) -> list[str]:
    return [node.value for node in walk(tree) if isinstance(node, Literal)]


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [("Seán", "O'Brien"), ("x' or employeeId ne 'y", "Smith"), ("Zoë", "d’Arc ʼ O'Neil")],
)
def test_apostrophes_in_names_never_reach_a_filter_unescaped(given_name: str, family_name: str) -> None:
    employee = parse_event(
        {
            "eventId": "wd-1",
            "type": "hire",
            "effectiveDate": "2026-12-01",
            "employee": {"employeeId": "E1", "givenName": given_name, "familyName": family_name},
        }
    ).to_json()["employee"]
    graph, filters = recording_graph(lambda value: False)
    free = directory.find_free_names(graph, NamePolicy("contoso.com", "contoso.com"), employee, wanted=1)
    upn = free["candidates"][0]["userPrincipalName"]
    assert "'" not in upn and " " not in upn
    assert upn.lower() in literals_in(filters[0])
    for expression in filters:
        assert all("'" not in value and " or " not in value for value in literals_in(expression))
