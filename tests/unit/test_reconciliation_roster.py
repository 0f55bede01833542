"""Uploaded rosters: read with the mapping language, refused with every problem named by row and column; the plan
as CSV and the selection an apply takes."""

from __future__ import annotations

import csv
import io

import pytest

from provisioning.intake.mapping import Mapping
from provisioning.reconciliation.report import event_for, event_id, plan_csv, select
from provisioning.reconciliation.roster import MAX_ERRORS, RosterError, read_roster

MAPPING = Mapping.load(
    """
event:
  eventId: {const: roster}
  type:
    path: $.Status
    then: [{switch: {cases: {Active: hire, Terminated: termination}, default: {reject: unknown status}}}]
  effectiveDate:
    path: $.Status
    then: [{switch: {cases: {Terminated: {path: "$['Last Day']"}}, default: {path: "$['Start Date']"}}}]
  employee:
    employeeId: $['Employee ID']
    givenName: $['First Name']
    familyName: $['Last Name']
    jobTitle: {path: $.Title, ignoreIfEmpty: true}
""",
    "yaml",
)
HEADER = "Employee ID,First Name,Last Name,Title,Status,Start Date,Last Day\r\n"


def roster(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\r\n" for row in rows)).encode("utf-8")


def test_a_roster_becomes_hr_people_with_their_row() -> None:
    read = read_roster(
        roster("E1,Ada,Lovelace,Engineer,Active,2020-01-06,", "E2,Alan,Turing,,Terminated,2019-01-01,2026-10-31"),
        "csv",
        MAPPING,
    )
    assert [(p.employee_id, p.event_type, p.effective_date, p.source) for p in read.people] == [
        ("E1", "hire", "2020-01-06", "rows[2]"),
        ("E2", "termination", "2026-10-31", "rows[3]"),
    ]
    assert read.people[0].employee["jobTitle"] == "Engineer" and "jobTitle" not in read.people[1].employee


def test_excel_exports_are_read_semicolons_byte_order_marks_and_utf16() -> None:
    text = HEADER.replace(",", ";") + "E1;Zoë;Müller;;Active;2020-01-06;\r\n"
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("utf-16")):
        assert read_roster(data, "csv", MAPPING).people[0].employee["givenName"] == "Zoë"


def test_every_problem_is_named_by_row_and_column() -> None:
    with pytest.raises(RosterError) as refused:
        read_roster(
            roster(
                "E1,Ada,Lovelace,,Active,2020-01-06,",
                "E1,Ada,Again,,Active,2020-01-06,",
                "E3,Bob,,,Active,2020-01-06,",
                "E4,Eve,Evil,,Retired,2020-01-06,",
                "E5,too,many,values,Active,2020-01-06,,extra",
                "E6,Ann,Bad,,Active,06.01.2020,",
            ),
            "csv",
            MAPPING,
        )
    messages = {error.field: error.message for error in refused.value.errors}
    assert "is also the employee of rows[2]" in messages["rows[3].Employee ID"]
    assert messages["rows[4].Last Name"].startswith("employee.familyName")
    assert "unknown status" in messages["rows[5].Status"]
    assert messages["rows[6]"] == "the row has 8 values; the header has 7 columns"
    assert messages["rows[7].Start Date"].startswith("effectiveDate")


def test_a_wrong_header_is_one_line_per_column_not_one_per_row() -> None:
    data = "Emp,First Name,Last Name,Title,Status,Start Date,Last Day\r\n" + "E1,A,B,,Active,2020-01-06,\r\n" * 500
    with pytest.raises(RosterError) as refused:
        read_roster(data.encode(), "csv", MAPPING)
    assert len(refused.value.errors) == 1
    assert (
        "Employee ID" in refused.value.errors[0].message and "(and in 499 more rows)" in refused.value.errors[0].message
    )


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (b"Employee ID,,Last Name\r\n", "rows[1] column 2", "empty column name"),
        (b"Employee ID,employee id\r\n", "rows[1].employee id", "repeats column 1"),
        ("Employee ID\r\nM\xfcller\r\n".encode("latin-1"), "rows[2]", "encoding is unknown"),
        (HEADER.encode(), "body", "no rows"),
    ],
)
def test_headers_encodings_and_empty_rosters_are_refused(data: bytes, field: str, words: str) -> None:
    with pytest.raises(RosterError) as refused:
        read_roster(data, "csv", MAPPING)
    assert refused.value.errors[0].field == field and words in refused.value.errors[0].message


def test_the_number_of_problems_listed_is_bounded() -> None:
    rows = [f"E{n},Ada,Lovelace,,Status{n},2020-01-06," for n in range(MAX_ERRORS + 20)]
    with pytest.raises(RosterError) as refused:
        read_roster(roster(*rows), "csv", MAPPING)
    assert len(refused.value.errors) == MAX_ERRORS + 1
    assert refused.value.errors[-1].message == "… and 20 more problems"


def test_json_rosters_are_arrays_of_rows() -> None:
    rows = (
        b'[{"Employee ID": 42, "First Name": "Ada", "Last Name": "L", "Status": "Active", "Start Date": "2020-01-06"}]'
    )
    assert read_roster(rows, "json", MAPPING).people[0].employee_id == "42"
    with pytest.raises(RosterError):
        read_roster(b'{"people": []}', "json", MAPPING)


ENTRIES = [
    {
        "employeeId": "E1",
        "class": "stale",
        "action": "update",
        "reason": "differs",
        "event": {"type": "update", "employee": {"employeeId": "E1"}},
        "changes": [
            {"attribute": "jobTitle", "old": "Intern", "new": '=HYPERLINK("http://evil")'},
            {"attribute": "department", "old": None, "new": "R&D"},
        ],
        "account": {"id": "a1", "userPrincipalName": "ada@contoso.com", "accountEnabled": True},
    },
    {
        "employeeId": "E2",
        "class": "leaver-enabled",
        "action": "termination",
        "reason": "left",
        "event": {"type": "termination", "effectiveDate": "2026-11-20", "employee": {"employeeId": "E2"}},
    },
    {"employeeId": None, "class": "orphan", "action": None, "reason": "nobody", "account": {"id": "a9"}},
]


def test_the_csv_has_one_row_per_change_and_no_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(plan_csv(ENTRIES))))
    assert [(row["employeeId"], row["attribute"], row["new"]) for row in rows] == [
        ("E1", "jobTitle", '\'=HYPERLINK("http://evil")'),
        ("E1", "department", "R&D"),
        ("E2", "", ""),
        ("", "", ""),
    ]
    assert rows[3]["accountId"] == "a9"


def test_selection_and_event_ids() -> None:
    chosen = select(ENTRIES, employee_ids=["e2", "E404", "E1"])
    assert [entry["employeeId"] for entry in chosen.entries] == ["E1", "E2"]
    assert chosen.unknown == ["E404"]
    assert select(ENTRIES, classes=["stale"]).entries == [ENTRIES[0]]
    assert event_id("run1", ENTRIES[0]) == "recon-run1-E1"
    assert event_for("run1", ENTRIES[1])["eventId"] == "recon-E2-termination-2026-11-20"
