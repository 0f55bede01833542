"""HR event validation: every rule of docs/design.md "The HR event" names the field path it broke."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.events import (
    INSTANCE_ID_PREFIX,
    ISO_3166_ALPHA2,
    MAX_BATCH_EVENTS,
    BatchTooLargeError,
    Employee,
    EventValidationError,
    FieldError,
    HrEvent,
    HrEventBatch,
    is_email_address,
    is_time_zone,
    parse_batch,
    parse_event,
    problem_details,
    sanitize_instance_id,
)

SAMPLE: dict[str, Any] = {
    "eventId": "wd-2026-000123",
    "type": "hire",
    "effectiveDate": "2026-12-01",
    "occurredAt": "2026-11-20T09:14:00Z",
    "employee": {
        "employeeId": "E10042",
        "givenName": "Zoë",
        "familyName": "O'Brien-Müller",
        "preferredGivenName": "Zoe",
        "middleName": None,
        "jobTitle": "Financial Analyst",
        "department": "Finance",
        "division": "Corporate",
        "costCenter": "CC-4410",
        "companyName": "Contoso Ltd",
        "employeeType": "Employee",
        "managerEmployeeId": "E00007",
        "officeLocation": "Berlin HQ",
        "city": "Berlin",
        "state": None,
        "postalCode": "10115",
        "country": "DE",
        "usageLocation": "DE",
        "businessPhone": None,
        "mobilePhone": "+49 151 0000000",
        "personalEmail": "zoe.obrien@example.org",
        "timeZone": "Europe/Berlin",
        "preferredLanguage": "de-DE",
        "attributes": {"HireReason": "NewPosition"},
    },
}


def sample(**changes: Any) -> dict[str, Any]:
    """The documented example event with dotted-path changes; a value of DELETE removes the key."""
    data = copy.deepcopy(SAMPLE)
    for dotted, value in changes.items():
        target = data
        *parents, leaf = dotted.split("__")
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return data


DELETE = object()


def errors_of(data: object) -> list[FieldError]:
    with pytest.raises(EventValidationError) as caught:
        parse_event(data)
    return caught.value.errors


def test_the_product_example_parses() -> None:
    event = parse_event(SAMPLE)
    assert event.event_id == "wd-2026-000123"
    assert event.type == "hire"
    assert event.effective_date == date(2026, 12, 1)
    assert event.occurred_at == datetime(2026, 11, 20, 9, 14, tzinfo=UTC)
    employee = event.employee
    assert employee.employee_id == "E10042"
    assert employee.given_name == "Zoë"
    assert employee.first_name == "Zoe"
    assert employee.middle_name is None
    assert employee.country == "DE"
    assert employee.attributes == {"HireReason": "NewPosition"}


def test_round_trip_through_the_wire_form() -> None:
    event = parse_event(SAMPLE)
    wire = event.to_json()
    assert "middleName" not in wire["employee"]
    assert wire["occurredAt"] == "2026-11-20T09:14:00Z"
    assert parse_event(wire) == event
    assert parse_event(json.dumps(wire)) == event
    assert parse_event(json.dumps(wire).encode("utf-8")) == event


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"eventId": DELETE}, "eventId"),
        ({"eventId": ""}, "eventId"),
        ({"eventId": "a" * 129}, "eventId"),
        ({"eventId": "wd 1"}, "eventId"),
        ({"eventId": "wd/1"}, "eventId"),
        ({"eventId": 42}, "eventId"),
        ({"type": "fire"}, "type"),
        ({"type": DELETE}, "type"),
        ({"effectiveDate": "2026-02-30"}, "effectiveDate"),
        ({"effectiveDate": "01.12.2026"}, "effectiveDate"),
        ({"effectiveDate": "2026-12-01T00:00:00Z"}, "effectiveDate"),
        ({"effectiveDate": 20261201}, "effectiveDate"),
        ({"effectiveDate": "0001-01-01"}, "effectiveDate"),
        ({"effectiveDate": "1899-12-30"}, "effectiveDate"),
        ({"occurredAt": "2026-11-20T09:14:00"}, "occurredAt"),
        ({"occurredAt": "2026-11-20"}, "occurredAt"),
        ({"occurredAt": "2026-13-20T09:14:00Z"}, "occurredAt"),
        ({"occurredAt": 1700000000}, "occurredAt"),
        ({"employee": DELETE}, "employee"),
        ({"employee": "E10042"}, "employee"),
        ({"employee__employeeId": DELETE}, "employee.employeeId"),
        ({"employee__employeeId": "E" * 17}, "employee.employeeId"),
        ({"employee__employeeId": "E.1"}, "employee.employeeId"),
        ({"employee__employeeId": 10042}, "employee.employeeId"),
        ({"employee__managerEmployeeId": "E 7"}, "employee.managerEmployeeId"),
        ({"employee__managerEmployeeId": "E10042"}, "employee.managerEmployeeId"),
        ({"employee__givenName": "Zoë\u0000"}, "employee.givenName"),
        ({"employee__givenName": "Z" * 65}, "employee.givenName"),
        ({"employee__givenName": "Zo\u202ee"}, "employee.givenName"),
        ({"employee__givenName": "Zo\u2066e"}, "employee.givenName"),
        ({"employee__givenName": 7}, "employee.givenName"),
        ({"employee__familyName": "Smi\u200bth"}, "employee.familyName"),
        ({"employee__familyName": "\ufeffSmith"}, "employee.familyName"),
        ({"employee__familyName": "Smith\u00ad"}, "employee.familyName"),
        ({"employee__familyName": "Smith \u200c"}, "employee.familyName"),
        ({"employee__familyName": "Sm\ud800ith"}, "employee.familyName"),
        ({"employee__preferredGivenName": "Zo\ne"}, "employee.preferredGivenName"),
        ({"employee__middleName": "Q\u2028R"}, "employee.middleName"),
        ({"employee__jobTitle": "x" * 129}, "employee.jobTitle"),
        ({"employee__jobTitle": "Line\nbreak"}, "employee.jobTitle"),
        ({"employee__department": "d" * 65}, "employee.department"),
        ({"employee__postalCode": "1" * 41}, "employee.postalCode"),
        ({"employee__country": "Germany"}, "employee.country"),
        ({"employee__country": "XX"}, "employee.country"),
        ({"employee__usageLocation": "UK"}, "employee.usageLocation"),
        ({"employee__timeZone": "CET+1"}, "employee.timeZone"),
        ({"employee__timeZone": "Europe/Atlantis"}, "employee.timeZone"),
        ({"employee__timeZone": "../../etc/passwd"}, "employee.timeZone"),
        ({"employee__personalEmail": "zoe"}, "employee.personalEmail"),
        ({"employee__personalEmail": "zoe@example"}, "employee.personalEmail"),
        ({"employee__personalEmail": "zoe@home.local"}, "employee.personalEmail"),
        ({"employee__personalEmail": "zo e@example.org"}, "employee.personalEmail"),
        ({"employee__preferredLanguage": "en US"}, "employee.preferredLanguage"),
        ({"employee__preferredLanguage": "deutschland"}, "employee.preferredLanguage"),
        ({"employee__preferredLanguage": "de_DE"}, "employee.preferredLanguage"),
        ({"employee__mobilePhone": "call me"}, "employee.mobilePhone"),
        ({"employee__businessPhone": "+1"}, "employee.businessPhone"),
        ({"employee__attributes": ["HireReason"]}, "employee.attributes"),
        ({"employee__attributes": {f"a{i}": i for i in range(51)}}, "employee.attributes"),
        ({"employee__attributes": {"Job Code": "x"}}, "employee.attributes.Job Code"),
        ({"employee__attributes": {"1st": "x"}}, "employee.attributes.1st"),
        ({"employee__attributes": {"hiredate": "2026-01-01"}}, "employee.attributes.hiredate"),
        ({"employee__attributes": {"nested": {"a": 1}}}, "employee.attributes.nested"),
        ({"employee__attributes": {"list": [1]}}, "employee.attributes.list"),
        ({"employee__attributes": {"big": 2**60}}, "employee.attributes.big"),
        ({"employee__attributes": {"long": "x" * 1025}}, "employee.attributes.long"),
        ({"employee__attributes": {"ctl": "a\u0007"}}, "employee.attributes.ctl"),
        ({"unexpected": 1}, "unexpected"),
        ({"employee__firstName": "Zoe"}, "employee.firstName"),
        ({"employee__employee_id": "E1"}, "employee.employee_id"),
    ],
)
def test_each_rule_names_the_field(changes: dict[str, Any], field: str) -> None:
    errors = errors_of(sample(**changes))
    assert field in [error.field for error in errors], errors
    assert all(error.message for error in errors)


@pytest.mark.parametrize("event_type", ["hire", "rehire"])
def test_hire_and_rehire_need_effective_date_and_both_names(event_type: str) -> None:
    errors = errors_of({"eventId": "e1", "type": event_type, "employee": {"employeeId": "E1"}})
    assert errors == [
        FieldError("effectiveDate", f"required for a {event_type} event"),
        FieldError("employee.givenName", f"required for a {event_type} event"),
        FieldError("employee.familyName", f"required for a {event_type} event"),
    ]


def test_blank_names_count_as_missing() -> None:
    errors = errors_of(sample(employee__givenName="   "))
    assert errors == [FieldError("employee.givenName", "required for a hire event")]


def test_termination_needs_only_id_type_date_and_employee_id() -> None:
    event = parse_event(
        {"eventId": "t1", "type": "termination", "effectiveDate": "2026-12-31", "employee": {"employeeId": "E1"}}
    )
    assert event.employee.given_name is None
    errors = errors_of({"eventId": "t1", "type": "termination", "employee": {"employeeId": "E1"}})
    assert errors == [FieldError("effectiveDate", "required for a termination event")]


def test_update_needs_no_effective_date() -> None:
    event = parse_event({"eventId": "u1", "type": "update", "employee": {"employeeId": "E1", "department": "Sales"}})
    assert event.effective_date is None
    assert event.employee.department == "Sales"


def test_unknown_fields_are_reported_with_their_path() -> None:
    errors = errors_of(sample(extra=1, employee__nickname="Z"))
    assert FieldError("extra", "unknown field") in errors
    assert FieldError("employee.nickname", "unknown field") in errors


def test_type_error_message_lists_the_types() -> None:
    assert errors_of(sample(type="fire")) == [
        FieldError("type", "must be one of hire, update, termination, rehire, leave-of-absence, return-from-leave")
    ]


def test_several_problems_are_reported_together() -> None:
    errors = errors_of(sample(eventId="bad id", employee__country="XX", employee__timeZone="Nowhere"))
    assert {error.field for error in errors} == {"eventId", "employee.country", "employee.timeZone"}


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("familyName", "St. John"),
        ("familyName", "Smith Jr."),
        ("familyName", "Müller, II"),
        ("familyName", "García (Pepe)"),
        ("givenName", "J.R."),
        ("givenName", "Zoë2"),
        ("familyName", "Smith & Sons"),
        ("middleName", "J."),
        ("familyName", "."),
        ("familyName", "شاه\u200cمحمدی"),
        ("givenName", "小龙"),
        ("familyName", "Nguyễn"),
    ],
)
def test_legal_names_are_accepted_and_kept_exactly(field: str, name: str) -> None:
    event = parse_event(sample(**{f"employee__{field}": f"  {name} "}))
    alias = {"familyName": "family_name", "givenName": "given_name", "middleName": "middle_name"}[field]
    assert getattr(event.employee, alias) == name


def test_a_numeric_id_is_told_to_be_a_string() -> None:
    errors = errors_of(sample(eventId=123, employee__employeeId=12345))
    assert FieldError("employee.employeeId", 'must be a string (send "12345" in quotes), not a JSON number') in errors
    assert FieldError("eventId", 'must be a string (send "123" in quotes), not a JSON number') in errors


def test_a_country_name_is_told_to_be_an_iso_code() -> None:
    (error,) = errors_of(sample(employee__country="Germany"))
    assert error.field == "employee.country" and "ISO 3166-1 alpha-2" in error.message


def test_cross_field_rules_are_reported_with_the_field_errors() -> None:
    errors = errors_of(
        sample(employee__country="Germany", employee__managerEmployeeId="E10042", employee__givenName=None)
    )
    assert {error.field for error in errors} == {
        "employee.country",
        "employee.managerEmployeeId",
        "employee.givenName",
    }
    batch = parse_batch({"events": [sample(employee__country="Germany", employee__managerEmployeeId="E10042")]})
    assert {e.field for e in batch.rejected[0].errors} == {
        "events[0].employee.country",
        "events[0].employee.managerEmployeeId",
    }


def test_explicit_nulls_are_absent_values() -> None:
    event = parse_event(sample(occurredAt=None, employee__managerEmployeeId=None, employee__attributes=None))
    assert event.occurred_at is None
    assert event.employee.manager_employee_id is None
    assert event.employee.attributes is None


def test_optional_text_is_trimmed_and_blank_means_absent() -> None:
    event = parse_event(sample(employee__jobTitle="  Analyst  ", employee__state="", employee__city=None))
    assert event.employee.job_title == "Analyst"
    assert event.employee.state is None
    assert event.employee.city is None


def test_country_codes_are_upper_cased() -> None:
    event = parse_event(sample(employee__country="de", employee__usageLocation="at"))
    assert (event.employee.country, event.employee.usage_location) == ("DE", "AT")
    assert len(ISO_3166_ALPHA2) == 249


@pytest.mark.parametrize(
    "stamp", ["2026-11-20T09:14:00+02:00", "2026-11-20t09:14:00.123456z", "2026-11-20T09:14:00-05:30"]
)
def test_occurred_at_accepts_rfc3339_offsets(stamp: str) -> None:
    event = parse_event(sample(occurredAt=stamp))
    assert event.occurred_at is not None and event.occurred_at.utcoffset() is not None


def test_python_values_are_accepted_when_built_in_code() -> None:
    event = HrEvent.model_validate(
        sample(
            effectiveDate=date(2026, 12, 1), occurredAt=datetime(2026, 11, 20, 10, tzinfo=timezone(timedelta(hours=1)))
        )
    )
    assert event.effective_date == date(2026, 12, 1)
    with pytest.raises(EventValidationError) as caught:
        parse_event(sample(occurredAt=datetime(2026, 11, 20, 10)))
    assert caught.value.errors == [FieldError("occurredAt", "must carry a UTC offset")]


@pytest.mark.parametrize(
    "tag", ["de", "de-DE", "en-US", "zh-Hant-TW", "sr-Latn-RS", "es-419", "de-CH-1996", "x-private", "en-a-bbb-x-y"]
)
def test_bcp47_tags(tag: str) -> None:
    assert parse_event(sample(employee__preferredLanguage=tag)).employee.preferred_language == tag


@pytest.mark.parametrize("phone", ["+49 151 0000000", "(030) 123-4567", "+1 425 555 0100 x123", "030/1234567"])
def test_phone_numbers(phone: str) -> None:
    assert parse_event(sample(employee__businessPhone=phone)).employee.business_phone == phone


def test_attribute_values_keep_their_json_types() -> None:
    attributes = {"HireReason": "NewPosition", "Grade": 7, "Fte": 0.8, "Remote": True, "Badge": None}
    event = parse_event(sample(employee__attributes=attributes))
    assert event.employee.attributes == attributes
    assert type(event.employee.attributes["Grade"]) is int
    assert event.employee.attributes["Remote"] is True


def test_non_finite_numbers_are_rejected() -> None:
    errors = errors_of(sample(employee__attributes={"x": math.inf}))
    assert errors == [FieldError("employee.attributes.x", "numbers must be finite")]


def test_email_and_zone_helpers() -> None:
    assert is_email_address("zoe.obrien@example.org")
    assert not is_email_address("zoe.@example.org")
    assert not is_email_address("zoe@example.123")
    assert is_time_zone("Europe/Berlin")
    assert not is_time_zone("europe/berlin")


def test_bad_json_and_non_objects() -> None:
    assert errors_of(b"{not json") == [FieldError("body", "must be valid UTF-8 JSON")]
    assert errors_of(b"\xff\xfe") == [FieldError("body", "must be valid UTF-8 JSON")]
    assert errors_of("[1, 2]") == [FieldError("body", "must be a JSON object")]
    assert errors_of(None) == [FieldError("body", "must be a JSON object")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"eventId": json_values, "type": st.sampled_from(["hire", "update", "x"]), "employee": json_values}
        ),
    )
)
def test_arbitrary_input_never_raises_anything_but_a_validation_error(data: object) -> None:
    try:
        event = parse_event(data)
    except EventValidationError as error:
        assert error.errors
        assert all(isinstance(e.field, str) and e.field and e.message for e in error.errors)
    else:
        assert isinstance(event, HrEvent)


letters = st.characters(categories=("Lu", "Ll", "Lo"))
person_names = st.text(letters, min_size=1, max_size=30)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(["hire", "update", "termination", "rehire"]))
    employee: dict[str, Any] = {"employeeId": draw(st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True))}
    if event_type in ("hire", "rehire") or draw(st.booleans()):
        employee["givenName"] = draw(person_names)
        employee["familyName"] = draw(person_names)
    if draw(st.booleans()):
        employee["country"] = draw(st.sampled_from(sorted(ISO_3166_ALPHA2)))
    if draw(st.booleans()):
        employee["timeZone"] = draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]))
    data: dict[str, Any] = {
        "eventId": draw(st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)),
        "type": event_type,
        "employee": employee,
    }
    if event_type != "update" or draw(st.booleans()):
        data["effectiveDate"] = draw(st.dates(date(2000, 1, 1), date(2100, 12, 31))).isoformat()
    if draw(st.booleans()):
        stamp = draw(st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)))
        data["occurredAt"] = stamp.isoformat()
    return data


@settings(max_examples=150, deadline=None)
@given(valid_events())
def test_generated_valid_events_parse_and_round_trip(data: dict[str, Any]) -> None:
    event = parse_event(data)
    assert parse_event(event.to_json()) == event
    assert event.employee.employee_id == data["employee"]["employeeId"]


def test_batch_accepts_valid_rejects_invalid_and_repeated_ids() -> None:
    second = sample(eventId="wd-2")
    invalid = sample(eventId="wd-3", employee__givenName="R2\u202eD2")
    batch = parse_batch({"events": [SAMPLE, second, invalid, SAMPLE, "junk"]})
    assert [index for index, _ in batch.accepted] == [0, 1]
    assert [event.event_id for _, event in batch.accepted] == ["wd-2026-000123", "wd-2"]
    rejected = {item.index: item for item in batch.rejected}
    assert set(rejected) == {2, 3, 4}
    assert rejected[2].event_id == "wd-3"
    assert [e.field for e in rejected[2].errors] == ["events[2].employee.givenName"]
    assert rejected[3].errors == (FieldError("events[3].eventId", "duplicate eventId within the batch"),)
    assert rejected[4].event_id is None
    assert rejected[4].as_dict() == {
        "index": 4,
        "eventId": None,
        "errors": [{"field": "events[4]", "message": "must be a JSON object"}],
    }


def test_batch_type_requirement_paths_carry_the_index() -> None:
    batch = parse_batch({"events": [{"eventId": "x", "type": "hire", "employee": {"employeeId": "E1"}}]})
    assert [e.field for e in batch.rejected[0].errors] == [
        "events[0].effectiveDate",
        "events[0].employee.givenName",
        "events[0].employee.familyName",
    ]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([], ["body"]),
        ({}, ["events"]),
        ({"events": {}}, ["events"]),
        ({"events": []}, ["events"]),
        ({"events": [SAMPLE], "dryRun": True}, ["dryRun"]),
    ],
)
def test_batch_envelope_errors(body: object, fields: list[str]) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_batch(body)
    assert not isinstance(caught.value, BatchTooLargeError)
    assert [e.field for e in caught.value.errors] == fields


def test_batch_over_the_limit_is_too_large() -> None:
    events = [sample(eventId=f"e{i}") for i in range(MAX_BATCH_EVENTS + 1)]
    with pytest.raises(BatchTooLargeError) as caught:
        parse_batch(json.dumps({"events": events}))
    assert caught.value.errors == [FieldError("events", "at most 1000 events per batch")]
    accepted = parse_batch({"events": events[:MAX_BATCH_EVENTS]}).accepted
    assert len(accepted) == MAX_BATCH_EVENTS


def test_batch_model_enforces_size() -> None:
    assert len(HrEventBatch.model_validate({"events": [SAMPLE]}).events) == 1
    with pytest.raises(ValueError, match="at least 1"):
        HrEventBatch.model_validate({"events": []})


def test_employee_model_alone() -> None:
    employee = Employee.model_validate({"employeeId": "E1", "givenName": "Ana"})
    assert employee.first_name == "Ana"


def test_problem_details_shape() -> None:
    body = problem_details(400, "Invalid HR event", "1 problem", [FieldError("eventId", "required")])
    assert body == {
        "type": "about:blank",
        "title": "Invalid HR event",
        "status": 400,
        "detail": "1 problem",
        "errors": [{"field": "eventId", "message": "required"}],
    }
    assert problem_details(404, "Not found", "no such event", type_="https://example.org/x")["errors"] == []


def test_validation_error_message_is_a_summary() -> None:
    with pytest.raises(EventValidationError, match=r"invalid HR event: eventId: "):
        parse_event(sample(eventId="bad id"))


@pytest.mark.parametrize(
    ("event_id", "instance_id"),
    [
        ("wd-2026-000123", "hr-wd-2026-000123"),
        ("wd:1_2", "hr-wd_3a1_5f2"),
        ("A.b", "hr-A.b"),
    ],
)
def test_sanitize_instance_id_examples(event_id: str, instance_id: str) -> None:
    assert sanitize_instance_id(event_id) == instance_id


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_sanitize_instance_id_is_injective_and_safe(first: str, second: str) -> None:
    a, b = sanitize_instance_id(first), sanitize_instance_id(second)
    assert (a == b) == (first == second)
    for value in (a, b):
        assert value.startswith(INSTANCE_ID_PREFIX)
        assert len(value) <= 256
        assert all(char.isascii() and (char.isalnum() or char in "._-") for char in value)


def test_sanitize_instance_id_hashes_overlong_ids() -> None:
    long_id = ":" * 128
    value = sanitize_instance_id(long_id)
    assert value.startswith("hr-_h") and len(value) == len("hr-_h") + 64
    assert sanitize_instance_id("").startswith("hr-_h")
