"""The mapping language: every operation with an example, every mistake a mapping file can hold (all reported at
once, each at its place in the file), every way a document can fail to fit (each at its path in the document),
and the shipped SuccessFactors and Workday examples mapping to the events they should."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provisioning.events import EventValidationError
from provisioning.intake.mapping import (
    APP_ROOT,
    MAX_RECORDS,
    MappedEvent,
    Mapping,
    MappingError,
    MappingLoadError,
    SkippedRecord,
    TooManyRecords,
    load_configured,
)
from provisioning.intake.mapping import document as mapping_document

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "mappings"

BASE = """
event:
  eventId: $.id
  type: {const: update}
  employee:
    employeeId: $.emp
"""


def mapping(extra: str = "", *, base: str = BASE, records: str | None = None) -> Mapping:
    """BASE plus more lines under `event.employee` (indented by the caller as employee fields)."""
    text = base + textwrap.indent(textwrap.dedent(extra), "    ")
    if records:
        text = f"records: {records}\n" + text
    return Mapping.load(text, "yaml")


def employee(extra: str, record: dict[str, Any], **options: Any) -> dict[str, Any]:
    """Map `record` (with id and emp filled in) and return the employee part of the event."""
    result = mapping(extra).apply_record({"id": "ev-1", "emp": "E1", **record}, **options)
    assert isinstance(result, MappedEvent), result
    return dict(result.body["employee"])


def problems(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(MappingLoadError) as caught:
        Mapping.load(textwrap.dedent(text), fmt, source="test.yaml")  # type: ignore[arg-type]
    assert all(line.startswith("test.yaml: ") for line in caught.value.lines())
    return [str(problem) for problem in caught.value.problems]


def unfit(result_of: Any) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        result_of()
    return [(error.field, error.message) for error in caught.value.errors]


# -- loading: the file itself ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("event: [", "yaml", "is not valid YAML"),
        ("event: {type: a}\nevent: {type: b}\n", "yaml", "the key 'event' appears twice"),
        ('{"event": ', "json", "is not valid JSON: Expecting value (line 1, column 11)"),
        ('{"event": {}, "event": {}}', "json", 'is not plain JSON: duplicate key "event"'),
        ("", "yaml", "must be a mapping with an `event` section"),
        ("- event\n", "yaml", "must be an object"),
        ('{"version": ' + "9" * 5000 + "}", "json", "holds a number too long for JSON"),
        ("a: " + "[" * 1200 + "]" * 1200, "yaml", "is nested too deeply"),
    ],
)
def test_a_file_that_is_not_a_mapping(text: str, fmt: str, expected: str) -> None:
    assert any(expected in problem for problem in problems(text, fmt))


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(MappingLoadError, match="not UTF-8"):
        Mapping.load(b"\xff\xfe", "yaml")


def test_yaml_is_read_as_written() -> None:
    """Norway's NO, yes/on, leading zeros, times and dates stay text; only true/false are booleans."""
    loaded = Mapping.load(
        BASE
        + textwrap.indent(
            textwrap.dedent("""\
            country:
              path: $.c
              then: [{switch: {cases: {NO: "NO", yes: "SE", on: "FI"}, default: {keep: true}}}]
            postalCode: {const: 01067}
            officeLocation: {const: 12:30}
            city: {const: 2026-12-01}
            state: {const: 1e5}
            attributes: {Flag: {const: true}, Count: {const: 42}, Share: {const: 0.5}, Neg: {const: -7}}
            """),
            "    ",
        ),
        "yaml",
    )
    result = loaded.apply_record({"id": "e", "emp": "E1", "c": "NO"})
    assert isinstance(result, MappedEvent)
    person = result.body["employee"]
    assert person["country"] == "NO"
    assert (person["postalCode"], person["officeLocation"], person["city"], person["state"]) == (
        "01067",
        "12:30",
        "2026-12-01",
        "1e5",
    )
    assert person["attributes"] == {"Flag": True, "Count": 42, "Share": 0.5, "Neg": -7}


def test_yaml_anchors_and_a_json_mapping_work() -> None:
    shared = mapping("country: &c {path: $.c}\nusageLocation: *c")
    result = shared.apply_record({"id": "e", "emp": "E1", "c": "DE"})
    assert isinstance(result, MappedEvent)
    assert result.body["employee"]["usageLocation"] == "DE"
    as_json = Mapping.load(json.dumps(yaml.safe_load(BASE)), "json")
    assert as_json.targets == ("employee.employeeId", "eventId", "type")


# -- loading: every mistake, at its place ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the document's structure
        ("evnt: {}\n" + BASE, "evnt: unknown field; did you mean event?"),
        ("version: 2\n" + BASE, "version: must be 1"),
        ("description: [x]\n" + BASE, "description: must be text"),
        ("records: d.results\n" + BASE, "records: must be a JSONPath starting with $"),
        ("records: $.d.results[\n" + BASE, "records: is not a valid JSONPath (RFC 9535): unexpected end of query"),
        ("records: {path: '$.d[*]', allowEmpty: maybe}\n" + BASE, "records.allowEmpty: must be true or false"),
        ("records: {path: '$.d[*]', every: 1}\n" + BASE, "records.every: unknown field"),
        ("records: {allowEmpty: true}\n" + BASE, "records.path: must be a JSONPath"),
        ("version: 1\n", "event: required"),
        ("event: {eventId: $.id, type: {const: hire}}\n", "event.employee: required"),
        ("event: {type: {const: hire}, employee: {employeeId: $.e}}\n", "event.eventId: required"),
        ("event: {eventId: $.i, employee: {employeeId: $.e}}\n", "event.type: required"),
        (
            "event: {eventId: $.i, type: {const: hire}, employee: {givenName: $.g}}\n",
            "event.employee.employeeId: required",
        ),
        (BASE + "  effectiveDte: $.d\n", "event.effectiveDte: unknown field; did you mean effectiveDate?"),
        (BASE + "    firstName: $.f\n", "event.employee.firstName: unknown employee field; did you mean givenName?"),
        (BASE + "    givenNam: $.f\n", "event.employee.givenNam: unknown employee field; did you mean givenName?"),
        (BASE + "    zzz: $.f\n", "event.employee.zzz: unknown employee field"),
        # expressions
        (BASE + "    givenName: firstName\n", "event.employee.givenName: 'firstName' is not a JSONPath (they start"),
        (BASE + "    givenName: 5\n", "event.employee.givenName: must be a JSONPath or an object"),
        (BASE + "    givenName: $.a..\n", "event.employee.givenName: is not a valid JSONPath"),
        (
            BASE + "    givenName: {then: [trim]}\n",
            "needs exactly one source of path, documentPath, const, first, join",
        ),
        (BASE + "    givenName: {path: $.a, const: x}\n", "(found path, const)"),
        (
            BASE + "    givenName: {path: $.a, thn: [trim]}\n",
            "event.employee.givenName.thn: unknown field; did you mean then?",
        ),
        (BASE + "    givenName: {path: $.a, then: trim}\n", "event.employee.givenName.then: must be a list of steps"),
        (BASE + "    givenName: {path: $.a, ignoreIfEmpty: yes}\n", "givenName.ignoreIfEmpty: must be true or false"),
        (BASE + "    givenName: {path: $.a, default: [x]}\n", "givenName.default: must be text, a number or a boolean"),
        (BASE + "    givenName: {path: $.a, default: x, ignoreIfEmpty: true}\n", "has both default and ignoreIfEmpty"),
        (BASE + "    givenName: {const: [a]}\n", "givenName.const: must be text, a number or a boolean"),
        (BASE + "    givenName: {const: null}\n", "givenName.const: must be text, a number or a boolean"),
        (BASE + "    givenName: {documentPath: x}\n", "givenName.documentPath: must be a JSONPath"),
        (BASE + "    givenName: {first: [$.a]}\n", "givenName.first: must list at least two expressions"),
        (BASE + "    givenName: {first: [$.a, b]}\n", "givenName.first[1]: 'b' is not a JSONPath"),
        (BASE + "    givenName: {join: [$.a]}\n", "givenName.join: must be {separator: ' ', values: [...]}"),
        (BASE + "    givenName: {join: {separator: 1, values: [$.a]}}\n", "givenName.join.separator: must be text"),
        (BASE + "    givenName: {join: {values: []}}\n", "givenName.join.values: must list the expressions to join"),
        (BASE + "    givenName: {join: {values: [$.a, x]}}\n", "givenName.join.values[1]: 'x' is not a JSONPath"),
        (BASE + "    givenName: {join: {sep: x, values: [$.a]}}\n", "givenName.join.sep: unknown field"),
        # operations
        (
            BASE + "    givenName: {path: $.a, then: [trimm]}\n",
            "then[0]: unknown operation 'trimm'; did you mean trim?",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{Switch: {}}]}\n",
            "then[0].Switch: unknown operation 'Switch'; did you mean switch?",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{split: ',', item: 1}]}\n",
            "then[0]: must be an operation name or a one-key object",
        ),
        (BASE + "    givenName: {path: $.a, then: [{trim: true}]}\n", "then[0].trim: trim takes no argument"),
        (
            BASE + "    givenName: {path: $.a, then: [{split: ''}]}\n",
            "then[0].split: must be the separator text (not empty)",
        ),
        (BASE + "    givenName: {path: $.a, then: [{join: 1}]}\n", "then[0].join: must be the separator text"),
        (BASE + "    givenName: {path: $.a, then: [{item: 0}]}\n", "then[0].item: must be a position counted from 1"),
        (
            BASE + "    givenName: {path: $.a, then: [{item: true}]}\n",
            "then[0].item: must be a position counted from 1",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{replace: x}]}\n",
            "then[0].replace: must be {old: text, new: text}",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{replace: {old: '', new: x}}]}\n",
            "then[0].replace.old: must be the text",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{replace: {old: a, new: 1}}]}\n",
            "then[0].replace.new: must be text",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{replace: {old: a, with: b}}]}\n",
            "then[0].replace.with: unknown field",
        ),
        # switch (Entra's Switch, whose default here is never implicit)
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: b}}}]}\n",
            "then[0].switch.default: required: what an unlisted value becomes",
        ),
        (BASE + "    givenName: {path: $.a, then: [{switch: x}]}\n", "then[0].switch: must be {cases:"),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {}, default: x}}]}\n",
            "then[0].switch.cases: must map each HR value",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: b}, default: x, ignoreCase: 1}}]}\n",
            "switch.ignoreCase: must be true or false",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: b}, default: x, other: 1}}]}\n",
            "switch.other: unknown field",
        ),
        (
            BASE + '    givenName: {path: $.a, then: [{switch: {cases: {"1": a, 1: b}, default: x}}]}\n',
            "switch.cases.1: appears twice",
        ),
        (
            BASE
            + "    givenName: {path: $.a, then: [{switch: {cases: {A: a, a: b}, default: x, ignoreCase: true}}]}\n",
            "switch.cases.a: appears twice",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: {skip: ''}}, default: x}}]}\n",
            "switch.cases.A: must be a value, null, an expression",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: [1]}, default: x}}]}\n",
            "switch.cases.A: must be a value",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: b}, default: {keep: false}}}]}\n",
            "switch.default: must be a value",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {A: {path: x}}, default: b}}]}\n",
            "switch.cases.A.path: must be a JSONPath",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{switch: {cases: {~: a}, default: b}}]}\n",
            "key None must be text, a number or a boolean",
        ),
        # dates (Entra's FormatDateTime, plus zones)
        (BASE + "    givenName: {path: $.a, then: [{date: x}]}\n", "then[0].date: must be {format:"),
        (BASE + "    givenName: {path: $.a, then: [{date: {zone: UTC}}]}\n", "then[0].date.format: required"),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: YYYY-MM-DD}}]}\n",
            "date.format: letter 'Y' is not a format specifier in 'YYYY-MM-DD': use yyyy",
        ),
        (BASE + "    givenName: {path: $.a, then: [{date: {format: [iso8601, 5]}}]}\n", "date.format[1]: must be text"),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: [iso8601, HH:mm]}}]}\n",
            "date.format[1]: 'HH:mm' needs a year, a month and a day",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, zone: Mars/Olympus}}]}\n",
            "date.zone: 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, zone: employee}}]}\n",
            "date.zone: 'employee' is not an IANA time zone such as Europe/Berlin",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, toZone: CET+1}}]}\n",
            "date.toZone: 'CET+1' is not an IANA time zone such as Europe/Berlin or employee",
        ),
        (
            BASE + "    timeZone: {path: $.a, then: [{date: {format: iso8601, toZone: employee}}]}\n",
            "employee.timeZone cannot be dated in the employee's own zone",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, output: YYYY}}]}\n",
            "date.output: letter 'Y' is not a format specifier",
        ),
        (
            BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, output: 8}}]}\n",
            "date.output: must be a .NET date format",
        ),
        (BASE + "    givenName: {path: $.a, then: [{date: {format: iso8601, fmt: x}}]}\n", "date.fmt: unknown field"),
        # event rules known when the file is loaded
        (
            "event: {eventId: $.i, type: {const: promotion}, employee: {employeeId: $.e}}\n",
            "event.type.const: 'promotion' is not an event type",
        ),
        (
            "event: {eventId: $.i, employee: {employeeId: $.e}, "
            "type: {path: $.t, then: [{switch: {cases: {H: hired}, default: update}}]}}\n",
            "event.type.then[0].switch.cases.H: 'hired' is not an event type (hire, update, termination, rehire, "
            "leave-of-absence, return-from-leave)",
        ),
        (
            "event: {eventId: $.i, employee: {employeeId: $.e}, type: {path: $.t, default: leave}}\n",
            "event.type.default: 'leave' is not an event type",
        ),
        (
            "event: {eventId: {path: $.i, ignoreIfEmpty: true}, type: {const: hire}, employee: {employeeId: $.e}}\n",
            "event.eventId: is required, so it cannot be ignoreIfEmpty",
        ),
        (BASE + "    attributes: [x]\n", "event.employee.attributes: must be an object"),
        (
            BASE + "    attributes: {1bad: $.a}\n",
            "event.employee.attributes.1bad: attribute names must start with a letter",
        ),
        (
            BASE + "    attributes: {HireDate: $.a}\n",
            "event.employee.attributes.HireDate: this name is set by the app itself",
        ),
        (BASE + "    attributes: {Grade: grade}\n", "event.employee.attributes.Grade: 'grade' is not a JSONPath"),
    ],
)
def test_every_mistake_is_named_at_its_place(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in problem for problem in found), found


def test_every_mistake_is_reported_at_once() -> None:
    found = problems("""\
        version: 3
        records: d
        event:
          eventId: id
          type: {path: $.t, then: [{switch: {cases: {A: hire}}}]}
          effectiveDate: {path: $.d, then: [{date: {format: dd.mm.yyyy, zone: Berlin}}, frob]}
          employee:
            firstName: $.f
            attributes: {HireDate: $.h}
        """)
    assert {problem.split(":")[0] for problem in found} == {
        "version",
        "records",
        "event.eventId",
        "event.type.then[0].switch.default",
        "event.effectiveDate.then[0].date.format",
        "event.effectiveDate.then[0].date.zone",
        "event.effectiveDate.then[1]",
        "event.employee.firstName",
        "event.employee.attributes.HireDate",
        "event.employee.employeeId",
    }
    assert len(found) == 10, found
    with pytest.raises(MappingLoadError) as caught:
        Mapping.load("version: 3\n" + BASE, "yaml", source="m.yaml")
    assert str(caught.value).startswith("mapping m.yaml: version: must be 1")


def test_dd_mm_yyyy_is_minutes_not_months() -> None:
    """dd.mm.yyyy reads minutes where the month should be: refused because it gives no month."""
    assert any(
        "needs a year, a month and a day" in p
        for p in problems(BASE + "  effectiveDate: {path: $.d, then: [{date: {format: dd.mm.yyyy}}]}\n")
    )


# -- operations --------------------------------------------------------------------------------------------------


def test_path_reads_nested_values_filters_and_slices() -> None:
    person = employee(
        """\
        givenName: $.name.first
        familyName: "$.name['last name']"
        personalEmail: "$.emails[?@.type == 'personal'].address"
        jobTitle: $.jobs[-1:].title
        department: $.jobs[0].department
        """,
        {
            "name": {"first": "Zoë", "last name": "O'Brien"},
            "emails": [{"type": "work", "address": "z@contoso.com"}, {"type": "personal", "address": "z@example.org"}],
            "jobs": [{"title": "Analyst", "department": "Finance"}, {"title": "Senior Analyst"}],
        },
    )
    assert person == {
        "employeeId": "E1",
        "givenName": "Zoë",
        "familyName": "O'Brien",
        "personalEmail": "z@example.org",
        "jobTitle": "Senior Analyst",
        "department": "Finance",
    }


def test_several_matches_are_a_list_to_pick_from_or_join() -> None:
    many = {"tags": [{"v": "a"}, {"v": "b"}]}
    assert employee("jobTitle: {path: '$.tags[*].v', then: [{join: ' / '}]}", many)["jobTitle"] == "a / b"
    assert employee("jobTitle: {path: '$.tags[*].v', then: [{item: -1}]}", many)["jobTitle"] == "b"
    errors = unfit(lambda: mapping("jobTitle: '$.tags[*].v'").apply_record({"id": "e", "emp": "E", **many}))
    assert errors == [
        ("tags[0].v", "employee.jobTitle: gave 2 values; pick one (item, a JSONPath filter) or join them")
    ]


def test_const_first_and_document_path() -> None:
    loaded = mapping("""\
        companyName: {const: Contoso Ltd}
        givenName: {first: [$.preferred, $.legal, {const: Unknown}]}
        city: {documentPath: $.header.site}
        """)
    result = loaded.apply_record(
        {"id": "e", "emp": "E1", "preferred": " ", "legal": "Kai"}, document={"header": {"site": "Chicago"}}
    )
    assert isinstance(result, MappedEvent)
    assert result.body["employee"] == {
        "employeeId": "E1",
        "companyName": "Contoso Ltd",
        "givenName": "Kai",
        "city": "Chicago",
    }
    assert result.sources["employee.city"] == "header.site"


def test_join_source_skips_empty_values_and_flattens_lists() -> None:
    """As Entra's Join(", ", "", [surname], [givenName]) gives "Doe, John"."""
    person = employee(
        "officeLocation: {join: {separator: ', ', values: [{const: ''}, $.building, $.floors, $.missing]}}",
        {"building": "HQ", "floors": ["3", "", "4"]},
    )
    assert person["officeLocation"] == "HQ, 3, 4"


def test_text_steps() -> None:
    person = employee(
        """\
        givenName: {path: $.g, then: [trim]}
        familyName: {path: $.f, then: [lower]}
        department: {path: $.d, then: [upper]}
        costCenter: {path: $.n, then: [string]}
        division: {path: $.b, then: [string]}
        jobTitle: {path: $.t, then: [trim, {replace: {old: Sr., new: Senior}}]}
        """,
        {"g": "  Kai ", "f": "NAKAMURA", "d": "payroll", "n": 41100.5, "b": True, "t": " Sr. Analyst "},
    )
    assert (person["givenName"], person["familyName"], person["department"]) == ("Kai", "nakamura", "PAYROLL")
    assert (person["costCenter"], person["division"], person["jobTitle"]) == ("41100.5", "true", "Senior Analyst")
    steps = employee(
        "attributes: {Codes: {path: $.c, then: [upper, trim, string, {join: ','}]}}", {"c": [" a", None, "b "]}
    )
    assert steps["attributes"] == {"Codes": "A,B"}


def test_digest_is_a_stable_id_for_a_record_without_one() -> None:
    loaded = Mapping.load(
        "event: {eventId: {join: {separator: '-', values: [{const: hr}, {path: '$', then: [digest]}]}}, "
        "type: {const: update}, employee: {employeeId: $.emp}}",
        "yaml",
    )
    first = loaded.apply_record({"emp": "E1", "title": "A", "n": [1, {"x": None}]})
    reordered = loaded.apply_record({"n": [1, {"x": None}], "title": "A", "emp": "E1"})
    changed = loaded.apply_record({"emp": "E1", "title": "B", "n": [1, {"x": None}]})
    assert isinstance(first, MappedEvent) and isinstance(reordered, MappedEvent) and isinstance(changed, MappedEvent)
    assert first.event_id == reordered.event_id != changed.event_id
    assert first.event_id is not None and len(first.event_id) == 3 + 64
    first.validate()


def test_split_and_item() -> None:
    person = employee(
        """\
        costCenter: {path: $.cc, then: [{split: ' '}, {item: 1}]}
        department: {path: $.cc, then: [{split: ' '}, {item: -1}]}
        division: {path: $.cc, then: [{split: ' '}, {item: 5}], ignoreIfEmpty: true}
        jobTitle: {path: $.title, then: [{item: 1}]}
        attributes: {Parts: {path: $.list, then: [{split: ';'}, {join: '|'}]}}
        """,
        {"cc": "41100  Payroll", "title": "Analyst", "list": ["a;b", " ;c"]},
    )
    assert (person["costCenter"], person["department"], person["jobTitle"]) == ("41100", "Payroll", "Analyst")
    assert "division" not in person
    assert person["attributes"] == {"Parts": "a|b|c"}
    assert employee("jobTitle: {path: $.n, then: [{split: ','}]}", {"n": 5})["jobTitle"] == "5"


SWITCH = """\
employeeType:
  path: $.c
  then:
    - switch:
        cases:
          "1": Employee
          "2": Contractor
          "": Unknown
          C: {keep: true}
          X: null
          S: {skip: students are not provisioned}
          R: {reject: retired code}
          P: {path: $.other}
        default: Other
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", "Employee"),
        (1, "Employee"),  # keys compare as text: the number 1 and the key "1" match
        ("2", "Contractor"),
        ("c", "Other"),  # case-sensitive, like Entra's Switch
        ("C", "C"),  # keep: the value itself
        ("", "Unknown"),  # "" matches empty…
        (None, "Unknown"),  # …and null
        ("zzz", "Other"),
        ("P", "Partner"),  # a case can read another field
        ("X", None),  # null: no value
    ],
)
def test_switch(value: object, expected: str | None) -> None:
    person = employee(SWITCH, {"c": value, "other": "Partner"})
    assert person.get("employeeType") == expected


def test_switch_matches_missing_values_with_the_empty_key() -> None:
    assert employee(SWITCH, {})["employeeType"] == "Unknown"


def test_switch_skip_and_reject() -> None:
    skipped = mapping(SWITCH).apply_record({"id": "e", "emp": "E1", "c": "S"}, location=("rows", 4), index=4)
    assert skipped == SkippedRecord(4, "rows[4]", "employee.employeeType", "students are not provisioned")
    assert skipped.as_dict() == {
        "index": 4,
        "source": "rows[4]",
        "field": "employee.employeeType",
        "reason": "students are not provisioned",
    }
    errors = unfit(lambda: mapping(SWITCH).apply_record({"id": "e", "emp": "E1", "c": "R"}))
    assert errors == [("c", "employee.employeeType: retired code (value 'R')")]
    errors = unfit(lambda: mapping(SWITCH).apply_record({"id": "e", "emp": "E1", "c": ["1"]}))
    assert errors == [("c", "employee.employeeType: switch needs one value, got 1 values")]


def test_switch_ignore_case_and_booleans() -> None:
    loose = (
        "employeeType: {path: $.c, then: "
        "[{switch: {cases: {EMPLOYEE: Employee, true: Flagged}, default: Other, ignoreCase: true}}]}"
    )
    assert employee(loose, {"c": "employee"})["employeeType"] == "Employee"
    assert employee(loose, {"c": True})["employeeType"] == "Flagged"
    assert employee(loose, {"c": "TRUE"})["employeeType"] == "Flagged"


DATES = """\
attributes:
  Start: {path: $.start, then: [{date: {format: ['dd.MM.yyyy', iso8601]}}]}
  Local: {path: $.local, then: [{date: {format: 'yyyy-MM-dd HH:mm', zone: America/Chicago}}]}
  Dated: {path: $.local, then: [{date: {format: 'yyyy-MM-dd HH:mm', zone: America/Chicago, toZone: Europe/Berlin}}]}
  Mine: {path: $.utc, then: [{date: {format: iso8601, toZone: employee}}]}
  Stamp: {path: $.utc, then: [{date: {format: iso8601, toZone: UTC, output: yyyyMMdd}}]}
  Moment: {path: $.utc, then: [{date: {format: iso8601, output: "dd.MM.yyyy HH:mm K"}}]}
"""


def test_dates_and_zones() -> None:
    record = {"start": "01.12.2026", "local": "2026-11-30 18:30", "utc": "2026-11-30T23:30:00Z"}
    berlin = employee(DATES + "timeZone: {const: Europe/Berlin}", record)
    assert berlin["attributes"] == {
        "Start": "2026-12-01",
        "Local": "2026-11-30T18:30:00-06:00",  # a naive time is read in the HR system's zone
        "Dated": "2026-12-01",  # 18:30 in Chicago is already 1 December in Berlin
        "Mine": "2026-12-01",  # the employee's own zone
        "Stamp": "20261130",
        "Moment": "30.11.2026 23:30 Z",
    }
    chicago = employee(DATES + "timeZone: {const: America/Chicago}", record)
    assert chicago["attributes"]["Mine"] == "2026-11-30"
    # No zone on the event: DEFAULT_TIME_ZONE (the caller's default) is the employee's zone.
    assert employee(DATES, record, default_time_zone="Asia/Tokyo")["attributes"]["Mine"] == "2026-12-01"
    assert employee(DATES, {**record, "start": "2026-12-01"})["attributes"]["Start"] == "2026-12-01"


def test_a_date_and_time_becomes_the_employees_date_where_the_event_wants_a_date() -> None:
    loaded = Mapping.load(
        textwrap.dedent("""\
        event:
          eventId: $.id
          type: {const: hire}
          effectiveDate: {path: $.start, then: [{date: {format: iso8601}}]}
          occurredAt: {path: $.at, then: [{date: {format: 'M/d/yyyy h:mm tt', zone: America/New_York}}]}
          employee: {employeeId: $.emp, givenName: $.g, familyName: $.f, timeZone: $.tz}
        """),
        "yaml",
    )
    result = loaded.apply_record(
        {
            "id": "e",
            "emp": "E1",
            "g": "A",
            "f": "B",
            "tz": "Asia/Tokyo",
            "start": "2026-11-30T16:00:00Z",
            "at": "11/20/2026 9:14 AM",
        }
    )
    assert isinstance(result, MappedEvent)
    assert result.body["effectiveDate"] == "2026-12-01"  # 01:00 on 1 December in Tokyo
    assert result.body["occurredAt"] == "2026-11-20T09:14:00-05:00"
    assert result.validate().effective_date is not None


def test_date_errors_name_the_source() -> None:
    errors = unfit(lambda: employee(DATES, {"start": "2026/12/01", "local": "x", "utc": ["a"]}))
    assert errors == [
        ("start", "employee.attributes.Start: '2026/12/01' matches none of the date formats dd.MM.yyyy, iso8601"),
        ("local", "employee.attributes.Local: 'x' does not match the date format yyyy-MM-dd HH:mm"),
        ("local", "employee.attributes.Dated: 'x' does not match the date format yyyy-MM-dd HH:mm"),
        ("utc", "employee.attributes.Mine: a date must be one value, got 1 values"),
        ("utc", "employee.attributes.Stamp: a date must be one value, got 1 values"),
        ("utc", "employee.attributes.Moment: a date must be one value, got 1 values"),
    ]
    no_offset = "attributes: {X: {path: $.d, then: [{date: {format: 'yyyy-MM-dd', output: zzz}}]}}"
    assert unfit(lambda: employee(no_offset, {"d": "2026-12-01"})) == [
        ("d", "employee.attributes.X: the output format zzz writes a UTC offset, but the value has none")
    ]
    occurred = Mapping.load(BASE + "  occurredAt: {path: $.d, then: [{date: {format: yyyy-MM-dd}}]}\n", "yaml")
    assert unfit(lambda: occurred.apply_record({"id": "e", "emp": "E1", "d": "2026-12-01"})) == [
        ("d", "occurredAt: is the date 2026-12-01; occurredAt needs a date and time with offset")
    ]


def test_default_ignore_if_empty_and_missing_fields() -> None:
    text = """\
        givenName: {path: $.g, default: Unknown}
        middleName: {path: $.m, ignoreIfEmpty: true}
        jobTitle: $.t
        department: $.d
        """
    assert employee(text, {"g": "", "t": None, "d": "Finance"}) == {
        "employeeId": "E1",
        "givenName": "Unknown",
        "department": "Finance",
    }
    errors = unfit(lambda: employee(text, {"g": "A"}))
    hint = "is not in the document (add ignoreIfEmpty: true or a default if the sender leaves it out)"
    assert errors == [("body", f"employee.jobTitle: $.t {hint}"), ("body", f"employee.department: $.d {hint}")]
    # ignoreIfEmpty leaves the field out before any step can complain about the empty value
    guarded = (
        "employeeType: {path: $.c, ignoreIfEmpty: true, then: [{switch: {cases: {A: B}, default: {reject: bad}}}]}"
    )
    assert "employeeType" not in employee(guarded, {})
    # a first whose every candidate is missing is missing; one present but empty value is not
    assert unfit(lambda: employee("givenName: {first: [$.a, $.b]}", {})) == [
        ("body", f"employee.givenName: $.a {hint}")
    ]
    assert "givenName" not in employee("givenName: {first: [$.a, $.b]}", {"b": None})


def test_values_that_do_not_fit_their_field() -> None:
    errors = unfit(
        lambda: employee(
            """\
            givenName: $.obj
            familyName: $.number
            jobTitle: $.flag
            attributes: {List: $.list, Obj: $.obj}
            """,
            {"obj": {"a": 1}, "number": 1.5, "flag": False, "list": [1, 2]},
        )
    )
    assert errors == [
        ("obj", "employee.givenName: is a JSON object; point the path at one of its fields"),
        ("number", "employee.familyName: is a number; map it to text (switch, or the string step)"),
        ("flag", "employee.jobTitle: is a boolean; map it to text (switch, or the string step)"),
        ("list", "employee.attributes.List: gave 2 values; pick one (item, a JSONPath filter) or join them"),
        ("obj", "employee.attributes.Obj: is a JSON object; point the path at one of its fields"),
    ]
    # whole numbers are ids more often than not: they become text
    assert employee("managerEmployeeId: $.m", {"m": 100007})["managerEmployeeId"] == "100007"


# -- records and documents ---------------------------------------------------------------------------------------


def test_records_each_map_to_an_event_with_their_place() -> None:
    loaded = mapping("givenName: $.g", records="$.d.results[*]")
    document = {"d": {"results": [{"id": "a", "emp": "E1", "g": "A"}, {"id": "b", "emp": "E2", "g": "B"}]}}
    mapped = loaded.apply(document)
    assert [(item.index, item.location, item.event_id) for item in mapped.events] == [
        (0, "d.results[0]", "a"),
        (1, "d.results[1]", "b"),
    ]
    assert mapped.events[1].sources["employee.givenName"] == "d.results[1].g"


def test_a_document_that_is_the_record() -> None:
    mapped = mapping().apply({"id": "a", "emp": "E1"})
    assert [(item.index, item.location) for item in mapped.events] == [(0, "body")]


def test_documents_that_do_not_fit() -> None:
    loaded = mapping(records="$.d.results[*]")
    assert unfit(lambda: loaded.apply("text")) == [("body", "must be a JSON object or array")]
    assert unfit(lambda: loaded.apply({"d": {"results": []}})) == [
        ("body", "records: $.d.results[*] selects no record")
    ]
    assert unfit(lambda: loaded.apply({"d": {"results": [{"id": "a", "emp": "E1"}, 7]}})) == [
        ("d.results[1]", "a record must be a JSON object")
    ]
    errors = unfit(lambda: loaded.apply({"d": {"results": [{"id": "a"}, {"emp": "E2"}]}}))
    assert [field for field, _ in errors] == ["d.results[0]", "d.results[1]"]
    with pytest.raises(TooManyRecords):
        loaded.apply({"d": {"results": [{"id": str(i), "emp": "E1"} for i in range(MAX_RECORDS + 1)]}})


def test_an_empty_batch_may_be_allowed() -> None:
    loaded = Mapping.load("records: {path: '$.rows[*]', allowEmpty: true}\n" + BASE, "yaml")
    assert loaded.apply({"rows": []}).events == ()


def test_repeated_event_ids_in_one_document() -> None:
    loaded = mapping("givenName: $.g", records="$[*]")
    same = loaded.apply([{"id": "a", "emp": "E1", "g": "A"}, {"id": "a", "emp": "E1", "g": "A"}])
    assert len(same.events) == 1 and same.skipped == (SkippedRecord(1, "[1]", "eventId", "repeats [0]"),)
    assert unfit(lambda: loaded.apply([{"id": "a", "emp": "E1", "g": "A"}, {"id": "a", "emp": "E1", "g": "B"}])) == [
        ("[1].id", "eventId: 'a' is also the id of [0], with different content; map each change to its own eventId")
    ]


def test_a_roster_row_maps_like_any_record() -> None:
    """Reconciliation maps uploaded CSV rows with the same language: every cell is text, headers have spaces."""
    loaded = Mapping.load(
        textwrap.dedent("""\
        event:
          eventId:
            join:
              separator: '-'
              values:
                - const: roster
                - "$['Employee ID']"
                - {path: "$['Start Date']", then: [{date: {format: dd.MM.yyyy, output: yyyyMMdd}}]}
          type: {const: hire}
          effectiveDate: {path: "$['Start Date']", then: [{date: {format: dd.MM.yyyy}}]}
          employee:
            employeeId: "$['Employee ID']"
            givenName: "$['First Name']"
            familyName: "$['Last Name']"
            department: {path: $.Department, ignoreIfEmpty: true}
        """),
        "yaml",
    )
    row = {
        "Employee ID": "E20001",
        "First Name": "Kai",
        "Last Name": "Nakamura",
        "Start Date": "01.12.2026",
        "Department": "",
    }
    result = loaded.apply_record(row, location=("rows", 7))
    assert isinstance(result, MappedEvent)
    assert result.body == {
        "eventId": "roster-E20001-20261201",
        "type": "hire",
        "effectiveDate": "2026-12-01",
        "employee": {"employeeId": "E20001", "givenName": "Kai", "familyName": "Nakamura"},
    }
    assert result.validate().employee.given_name == "Kai"
    errors = unfit(lambda: loaded.apply_record({**row, "Start Date": "2026-12-01"}, location=("rows", 8)))
    assert errors[0] == ("rows[8].Start Date", "eventId: '2026-12-01' does not match the date format dd.MM.yyyy")


def test_validation_errors_point_into_the_document() -> None:
    loaded = Mapping.load(
        "event: {eventId: $.id, type: {const: hire}, effectiveDate: $.start, "
        "employee: {employeeId: $.emp, givenName: $.g, country: $.c}}",
        "yaml",
    )
    result = loaded.apply_record(
        {"id": "ev 1", "emp": "E1", "g": None, "start": "1.12.2026", "c": "Germany"}, location=("d", 0)
    )
    assert isinstance(result, MappedEvent)
    with pytest.raises(EventValidationError) as caught:
        result.validate()
    located = {(error.field, error.message) for error in caught.value.errors}
    assert ("d[0].id", "eventId: must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'") in located
    assert ("d[0].start", "effectiveDate: must be a date YYYY-MM-DD") in located
    assert any(field == "d[0].c" and message.startswith("employee.country:") for field, message in located)
    names = loaded.apply_record(
        {"id": "ev-1", "emp": "E1", "g": None, "start": "2026-12-01", "c": "DE"}, location=("d", 0)
    )
    assert isinstance(names, MappedEvent)
    with pytest.raises(EventValidationError) as caught:
        names.validate()
    assert {(error.field, error.message) for error in caught.value.errors} == {
        ("d[0].g", "employee.givenName: required for a hire event"),  # read from there, and empty
        ("d[0]", "employee.familyName: required for a hire event"),  # not mapped at all
    }


# -- files -------------------------------------------------------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    good = tmp_path / "m.yml"
    good.write_text(BASE, encoding="utf-8")
    assert Mapping.load_file(good).source == str(good)
    (tmp_path / "m.json").write_text(json.dumps(yaml.safe_load(BASE)), encoding="utf-8")
    assert Mapping.load_file(tmp_path / "m.json").targets
    for name, expected in [("m.txt", "must end in .yaml"), ("absent.yaml", "cannot be read (No such file")]:
        with pytest.raises(MappingLoadError, match=r"must end in \.yaml|cannot be read") as caught:
            Mapping.load_file(tmp_path / name)
        assert expected in caught.value.lines()[0]
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (mapping_document.MAX_MAPPING_BYTES + 1))
    with pytest.raises(MappingLoadError, match="larger than"):
        Mapping.load_file(huge)


def test_the_configured_file_is_read_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "hr.yaml"
    file.write_text(BASE, encoding="utf-8")
    loads: list[Path] = []
    original = Mapping.load_file.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Mapping], path: Any) -> Mapping:
        loads.append(Path(path))
        return original(cls, path)  # type: ignore[no-any-return]

    monkeypatch.setattr(Mapping, "load_file", classmethod(counting))
    first = load_configured(str(file))
    assert load_configured(str(file)) is first and len(loads) == 1
    file.write_text("version: 2\n" + BASE, encoding="utf-8")
    os.utime(file, ns=(1, 1))
    for _ in range(2):
        with pytest.raises(MappingLoadError) as caught:
            load_configured(str(file))
        assert caught.value.lines() == [f"{file}: version: must be 1 (the only version of this language)"]
    assert len(loads) == 2  # a broken file is remembered too
    with pytest.raises(MappingLoadError, match="cannot be read"):
        load_configured(str(tmp_path / "gone.yaml"))


def test_relative_paths_are_read_from_the_app_root() -> None:
    assert (APP_ROOT / "function_app.py").exists()
    assert load_configured("examples/mappings/workday.yaml").source.endswith("workday.yaml")


# -- the shipped examples ----------------------------------------------------------------------------------------


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_successfactors_hire() -> None:
    mapped = Mapping.load_file(EXAMPLES / "successfactors.yaml").apply(_example("successfactors-hire.json"))
    assert [event.validate().to_json() for event in mapped.events] == [
        {
            "eventId": "sf-103022-20261201-1",
            "type": "hire",
            "effectiveDate": "2026-12-01",
            "occurredAt": "2026-11-20T09:14:00Z",
            "employee": {
                "employeeId": "103022",
                "givenName": "Zoë",
                "familyName": "O'Brien-Müller",
                "preferredGivenName": "Zoe",
                "jobTitle": "Financial Analyst",
                "department": "Finance",
                "division": "Corporate",
                "costCenter": "CC-4410",
                "companyName": "Contoso Ltd",
                "employeeType": "Employee",
                "managerEmployeeId": "100007",
                "officeLocation": "Berlin HQ",
                "city": "Berlin",
                "country": "DE",
                "usageLocation": "DE",
                "mobilePhone": "+49 151 0000000",
                "personalEmail": "zoe.obrien@example.org",
                "timeZone": "Europe/Berlin",
                "preferredLanguage": "de-DE",
                "attributes": {"EventReason": "HIRNEW"},
            },
        }
    ]


def test_successfactors_termination_takes_the_last_day_worked() -> None:
    loaded = Mapping.load_file(EXAMPLES / "successfactors.yaml")
    mapped = loaded.apply(_example("successfactors-termination.json"))
    (event,) = [item.validate() for item in mapped.events]
    assert (event.event_id, event.type, str(event.effective_date)) == (
        "sf-100451-20270101-1",
        "termination",
        "2026-12-31",
    )
    assert event.employee.manager_employee_id is None  # NO_MANAGER
    assert (event.employee.middle_name, event.employee.preferred_language) == ("Lee", "en-US")
    assert event.employee.personal_email is None and event.employee.mobile_phone is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [("R", "rehire"), ("16", "update"), ("8", "update"), ("6", "update"), ("10", None), ("12", None)],
)
def test_successfactors_event_codes(code: str, expected: str | None) -> None:
    document = _example("successfactors-hire.json")
    document["employeeEvent"]["jobInfo"]["event"] = code
    mapped = Mapping.load_file(EXAMPLES / "successfactors.yaml").apply(document)
    assert [event.body["type"] for event in mapped.events] == ([expected] if expected else [])
    assert len(mapped.skipped) == (0 if expected else 1)


def test_successfactors_unknown_event_code_is_named() -> None:
    document = _example("successfactors-hire.json")
    document["employeeEvent"]["jobInfo"]["event"] = "ZZ"
    assert unfit(lambda: Mapping.load_file(EXAMPLES / "successfactors.yaml").apply(document)) == [
        (
            "employeeEvent.jobInfo.event",
            "type: unknown Employee Central event code; add it to the type switch (value 'ZZ')",
        )
    ]


def test_workday_events() -> None:
    mapped = Mapping.load_file(EXAMPLES / "workday.yaml").apply(_example("workday-events.json"))
    events = [item.validate().to_json() for item in mapped.events]
    assert [(e["eventId"], e["type"], e["effectiveDate"]) for e in events] == [
        ("wd-3f2a9c1d4e5f4a6b8c7d9e0f1a2b3c4d", "hire", "2026-12-01"),
        ("wd-9b8a7c6d5e4f40312a1b0c9d8e7f6a5b", "termination", "2026-11-26"),
    ]
    hire = events[0]["employee"]
    assert hire == {
        "employeeId": "21001",
        "givenName": "Kai",
        "familyName": "Nakamura",
        "jobTitle": "Payroll Specialist",
        "department": "Payroll",
        "costCenter": "41100",
        "companyName": "Contoso Inc",
        "employeeType": "Employee",
        "managerEmployeeId": "21000",
        "officeLocation": "Chicago",
        "country": "US",
        "usageLocation": "US",
        "businessPhone": "+1 312 555 0100",
        "personalEmail": "kai.nakamura@example.org",
        "timeZone": "America/Chicago",
        "attributes": {"EventReason": "Hire Employee > New Hire > New Position"},
    }
    assert events[0]["occurredAt"] == "2026-11-20T01:14:00-08:00"
    assert mapped.skipped == (SkippedRecord(2, "Report_Entry[2]", "type", "this business process changes no account"),)


def test_workday_rehire_flag() -> None:
    document = _example("workday-events.json")
    document["Report_Entry"][0]["Rehire"] = "1"
    mapped = Mapping.load_file(EXAMPLES / "workday.yaml").apply(document)
    assert mapped.events[0].body["type"] == "rehire"


# -- properties --------------------------------------------------------------------------------------------------

_ITEM = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_ITEM, min_size=1, max_size=6), separator=st.sampled_from([",", ", ", ";", " | ", "/"]))
def test_split_undoes_join(items: list[str], separator: str) -> None:
    assume(all(separator.strip() not in item for item in items))
    split, round_trip = separator.strip(), "\x01"
    loaded = Mapping.load(
        json.dumps(
            {
                "event": {
                    "eventId": "$.id",
                    "type": {"const": "update"},
                    "employee": {
                        "employeeId": "$.emp",
                        "attributes": {
                            "Joined": {"path": "$.items", "then": [{"join": separator}]},
                            "Again": {
                                "path": "$.items",
                                "then": [{"join": separator}, {"split": split}, {"join": round_trip}],
                            },
                        },
                    },
                }
            }
        ),
        "json",
    )
    result = loaded.apply_record({"id": "e", "emp": "E1", "items": items})
    assert isinstance(result, MappedEvent)
    attributes = result.body["employee"]["attributes"]
    assert attributes["Joined"] == separator.join(items)
    assert attributes["Again"].split(round_trip) == items


@settings(max_examples=200, deadline=None)
@given(
    local=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31)),
    zone=st.sampled_from(
        ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"]
    ),
)
def test_a_local_time_read_in_a_zone_keeps_its_date_in_that_zone(local: datetime, zone: str) -> None:
    """Naive HR times are read in the HR system's zone; dated in that same zone, the written date never moves,
    including the times a DST change skips or repeats."""
    loaded = mapping(
        "attributes: {D: {path: $.t, then: [{date: "
        f"{{format: 'yyyy-MM-dd HH:mm:ss', zone: {zone}, toZone: {zone}}}}}]}}}}"
    )
    result = loaded.apply_record({"id": "e", "emp": "E1", "t": local.strftime("%Y-%m-%d %H:%M:%S")})
    assert isinstance(result, MappedEvent)
    assert result.body["employee"]["attributes"]["D"] == local.date().isoformat()
    assert ZoneInfo(zone)  # the zone is real
