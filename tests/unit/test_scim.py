"""SCIM records and BulkRequests: complete, explicit `active`, no empty strings, valid for scim2-models."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict
from scim2_models import URN, BulkRequest, EnterpriseUser, Extension, User

from provisioning.events import ISO_3166_ALPHA2, HrEvent, parse_event
from provisioning.naming import NamePolicy, candidates
from provisioning.scim import (
    BULK_REQUEST_SCHEMA,
    CORE_USER_SCHEMA,
    CUSTOM_EXTENSION_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    MAX_OPERATIONS_PER_REQUEST,
    SCIM_CONTENT_TYPE,
    bulk_requests,
    extension_attribute_paths,
    scim_timestamp,
    user_record,
)

URN_CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
POLICY = NamePolicy(upn_domain="contoso.com", mail_domain="contoso.com")

HIRE = {
    "eventId": "wd-2026-000123",
    "type": "hire",
    "effectiveDate": "2026-12-01",
    "occurredAt": "2026-11-20T09:14:00Z",
    "employee": {
        "employeeId": "E10042",
        "givenName": "Zoë",
        "familyName": "O'Brien-Müller",
        "preferredGivenName": "Zoe",
        "jobTitle": "Financial Analyst",
        "department": "Finance",
        "division": "Corporate",
        "costCenter": "CC-4410",
        "companyName": "Contoso Ltd",
        "employeeType": "Employee",
        "managerEmployeeId": "E00007",
        "officeLocation": "Berlin HQ",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "DE",
        "usageLocation": "DE",
        "mobilePhone": "+49 151 0000000",
        "personalEmail": "zoe.obrien@example.org",
        "timeZone": "Europe/Berlin",
        "preferredLanguage": "de-DE",
        "attributes": {"HireReason": "NewPosition"},
    },
}

EXISTING = {
    "id": "6f1967b7-0000-0000-0000-000000000001",
    "employeeId": "E10042",
    "userPrincipalName": "zoe.obrien-muller@contoso.com",
    "mail": "zoe.obrien-muller@contoso.com",
    "mailNickname": "zoe.obrien-muller",
    "onPremisesSamAccountName": "zoe.obrien-muller",
    "givenName": "Zoë",
    "surname": "O'Brien-Müller",
    "displayName": "Zoe O'Brien-Müller",
    "jobTitle": "Financial Analyst",
    "department": "Finance",
    "companyName": "Contoso Ltd",
    "employeeType": "Employee",
    "officeLocation": "Berlin HQ",
    "city": "Berlin",
    "state": "",
    "postalCode": "10115",
    "country": "DE",
    "usageLocation": "DE",
    "mobilePhone": "+49 151 0000000",
    "businessPhones": ["+49 30 1234567"],
    "preferredLanguage": "de-DE",
    "employeeHireDate": "2026-11-30T23:00:00Z",
    "employeeLeaveDateTime": None,
    "employeeOrgData": {"division": "Corporate", "costCenter": "CC-4410"},
    "accountEnabled": True,
    "manager": "E00007",
}


class ContosoUser(Extension):
    """The custom extension as an admin would declare it; HR attributes are free-form."""

    model_config = ConfigDict(extra="allow")
    __schema__ = URN(URN_CONTOSO)

    HireDate: str | None = None
    LeaveDate: str | None = None
    samAccountName: str | None = None
    mailNickname: str | None = None
    employeeType: str | None = None
    officeLocation: str | None = None
    usageLocation: str | None = None


ScimBulkRequest = BulkRequest[User[EnterpriseUser | ContosoUser]]


def hire_record(**kwargs: Any) -> dict[str, Any]:
    event = parse_event(HIRE)
    names = next(candidates("Zoë", "O'Brien-Müller", POLICY))
    return user_record(
        event, names=names, active=True, extension_urn=URN_CONTOSO, hire_date=event.effective_date, **kwargs
    )


def walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *walk_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in walk_strings(item)]
    return []


def assert_no_empty_values(value: Any) -> None:
    if isinstance(value, dict):
        assert value, "empty object"
        for item in value.values():
            assert item is not None
            assert_no_empty_values(item)
    elif isinstance(value, list):
        assert value, "empty array"
        for item in value:
            assert_no_empty_values(item)
    elif isinstance(value, str):
        assert value.strip() == value and value, f"blank or padded string {value!r}"


def test_constants() -> None:
    assert SCIM_CONTENT_TYPE == "application/scim+json"
    assert BULK_REQUEST_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
    assert MAX_OPERATIONS_PER_REQUEST == 50


def test_hire_record_matches_the_documented_shape() -> None:
    record = hire_record()
    assert record == {
        "schemas": [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, URN_CONTOSO],
        "externalId": "E10042",
        "userName": "zoe.obrien-muller@contoso.com",
        "active": True,
        "name": {"givenName": "Zoë", "familyName": "O'Brien-Müller"},
        "displayName": "Zoe O'Brien-Müller",
        "nickName": "Zoe",
        "title": "Financial Analyst",
        "preferredLanguage": "de-DE",
        "timezone": "Europe/Berlin",
        "emails": [
            {"value": "zoe.obrien-muller@contoso.com", "type": "work", "primary": True},
            {"value": "zoe.obrien@example.org", "type": "home"},
        ],
        "phoneNumbers": [{"value": "+49 151 0000000", "type": "mobile"}],
        "addresses": [{"type": "work", "locality": "Berlin", "postalCode": "10115", "country": "DE"}],
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "E10042",
            "costCenter": "CC-4410",
            "organization": "Contoso Ltd",
            "division": "Corporate",
            "department": "Finance",
            "manager": {"value": "E00007"},
        },
        URN_CONTOSO: {
            "HireReason": "NewPosition",
            "HireDate": "2026-12-01T00:00:00Z",
            "samAccountName": "zoe.obrien-muller",
            "mailNickname": "zoe.obrien-muller",
            "employeeType": "Employee",
            "officeLocation": "Berlin HQ",
            "usageLocation": "DE",
        },
    }


def test_hire_payload_validates_with_scim2_models() -> None:
    [body] = bulk_requests([hire_record()])
    request = ScimBulkRequest.model_validate(body)
    assert request.operations is not None
    user = request.operations[0].data
    assert isinstance(user, User)
    assert user.user_name == "zoe.obrien-muller@contoso.com"
    assert user.external_id == "E10042"
    assert user.active is True
    assert user[EnterpriseUser].employee_number == "E10042"
    assert user[EnterpriseUser].manager.value == "E00007"
    assert user[ContosoUser].HireDate == "2026-12-01T00:00:00Z"


def test_termination_merges_onto_the_existing_record() -> None:
    event = parse_event(
        {"eventId": "t1", "type": "termination", "effectiveDate": "2026-12-31", "employee": {"employeeId": "E10042"}}
    )
    leave = datetime(2026, 12, 31, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    record = user_record(
        event, names=None, active=False, extension_urn=URN_CONTOSO, existing=EXISTING, leave_date=leave
    )
    assert record["active"] is False
    assert record["userName"] == "zoe.obrien-muller@contoso.com"
    assert record["name"] == {"givenName": "Zoë", "familyName": "O'Brien-Müller"}
    assert record["displayName"] == "Zoe O'Brien-Müller"
    assert record["title"] == "Financial Analyst"
    assert record["emails"] == [{"value": "zoe.obrien-muller@contoso.com", "type": "work", "primary": True}]
    assert record["phoneNumbers"] == [
        {"value": "+49 30 1234567", "type": "work"},
        {"value": "+49 151 0000000", "type": "mobile"},
    ]
    assert record["addresses"] == [{"type": "work", "locality": "Berlin", "postalCode": "10115", "country": "DE"}]
    assert record[ENTERPRISE_USER_SCHEMA] == {
        "employeeNumber": "E10042",
        "costCenter": "CC-4410",
        "organization": "Contoso Ltd",
        "division": "Corporate",
        "department": "Finance",
        "manager": {"value": "E00007"},
    }
    assert record[URN_CONTOSO] == {
        "HireDate": "2026-11-30T23:00:00Z",
        "LeaveDate": "2026-12-31T17:00:00Z",
        "samAccountName": "zoe.obrien-muller",
        "mailNickname": "zoe.obrien-muller",
        "employeeType": "Employee",
        "officeLocation": "Berlin HQ",
        "usageLocation": "DE",
    }
    ScimBulkRequest.model_validate(bulk_requests([record])[0])


def test_update_values_win_over_the_existing_record() -> None:
    event = parse_event(
        {
            "eventId": "u1",
            "type": "update",
            "employee": {
                "employeeId": "E10042",
                "familyName": "Schmidt",
                "department": "Treasury",
                "managerEmployeeId": "E00099",
            },
        }
    )
    record = user_record(event, names=None, active=True, extension_urn=URN_CONTOSO, existing=EXISTING)
    assert record["name"] == {"givenName": "Zoë", "familyName": "Schmidt"}
    assert record["displayName"] == "Zoë Schmidt"
    assert record[ENTERPRISE_USER_SCHEMA]["department"] == "Treasury"
    assert record[ENTERPRISE_USER_SCHEMA]["manager"] == {"value": "E00099"}
    assert record["title"] == "Financial Analyst"
    assert record["userName"] == EXISTING["userPrincipalName"]


def test_manager_may_come_as_an_object_and_unreadable_dates_are_dropped() -> None:
    existing = {
        **EXISTING,
        "manager": {"id": "x", "employeeId": "E00008"},
        "employeeHireDate": "last monday",
        "employeeLeaveDateTime": "2027-01-01T00:00:00",
        "businessPhones": [],
        "employeeOrgData": None,
    }
    event = parse_event({"eventId": "u2", "type": "update", "employee": {"employeeId": "E10042"}})
    record = user_record(event, names=None, active=True, extension_urn=URN_CONTOSO, existing=existing)
    assert record[ENTERPRISE_USER_SCHEMA]["manager"] == {"value": "E00008"}
    assert "HireDate" not in record[URN_CONTOSO]
    assert record[URN_CONTOSO]["LeaveDate"] == "2027-01-01T00:00:00Z"
    assert record["phoneNumbers"] == [{"value": "+49 151 0000000", "type": "mobile"}]
    assert "costCenter" not in record[ENTERPRISE_USER_SCHEMA]


def test_generated_names_replace_the_existing_identifiers_on_rehire_without_account() -> None:
    record = hire_record(existing={"employeeId": "E10042", "userPrincipalName": "old@contoso.com"})
    assert record["userName"] == "zoe.obrien-muller@contoso.com"


def test_a_record_without_custom_values_omits_the_custom_schema() -> None:
    event = parse_event({"eventId": "u3", "type": "update", "employee": {"employeeId": "E1"}})
    record = user_record(
        event, names=None, active=True, extension_urn=URN_CONTOSO, existing={"userPrincipalName": "a@contoso.com"}
    )
    assert record == {
        "schemas": [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": "E1",
        "userName": "a@contoso.com",
        "active": True,
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": "E1"},
    }


def test_refuses_a_record_of_someone_else_or_without_user_name() -> None:
    event = parse_event(HIRE)
    with pytest.raises(ValueError, match="different employeeId"):
        user_record(
            event, names=None, active=True, extension_urn=URN_CONTOSO, existing={**EXISTING, "employeeId": "E9"}
        )
    with pytest.raises(ValueError, match="no userPrincipalName"):
        user_record(event, names=None, active=True, extension_urn=URN_CONTOSO)


def test_scim_timestamp() -> None:
    assert scim_timestamp(date(2026, 12, 1)) == "2026-12-01T00:00:00Z"
    assert scim_timestamp(datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))) == "2026-12-01T07:00:00Z"
    assert scim_timestamp(datetime(2026, 12, 1, 8, 0, 30, 999, tzinfo=UTC)) == "2026-12-01T08:00:30Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        scim_timestamp(datetime(2026, 12, 1, 8, 0))


def minimal(external_id: str, active: bool = True) -> dict[str, Any]:
    return {"schemas": [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "externalId": external_id, "active": active}


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])])
def test_bulk_requests_chunk_at_fifty(count: int, sizes: list[int]) -> None:
    records = [minimal(f"E{i}") for i in range(count)]
    bodies = bulk_requests(records)
    assert [len(body["Operations"]) for body in bodies] == sizes
    operations = [op for body in bodies for op in body["Operations"]]
    assert [op["data"]["externalId"] for op in operations] == [f"E{i}" for i in range(count)]
    assert all(op["method"] == "POST" and op["path"] == "/Users" for op in operations)
    assert all(body["schemas"] == [BULK_REQUEST_SCHEMA] for body in bodies)
    assert len({op["bulkId"] for op in operations}) == count
    assert bulk_requests(records) == bodies


def test_bulk_requests_refuse_unsafe_records() -> None:
    with pytest.raises(ValueError, match="no externalId"):
        bulk_requests([{"active": True}])
    with pytest.raises(ValueError, match="explicit active"):
        bulk_requests([{"externalId": "E1"}])
    with pytest.raises(ValueError, match="explicit active"):
        bulk_requests([{"externalId": "E1", "active": "true"}])
    with pytest.raises(ValueError, match="repeats externalId"):
        bulk_requests([minimal("E1"), minimal("E1", active=False)])


def test_extension_attribute_paths() -> None:
    paths = extension_attribute_paths(URN_CONTOSO, ["HireReason", "HireDate"])
    assert paths[: len(CUSTOM_EXTENSION_ATTRIBUTES)] == [f"{URN_CONTOSO}:{n}" for n in CUSTOM_EXTENSION_ATTRIBUTES]
    assert paths[-1] == f"{URN_CONTOSO}:HireReason"
    assert len(paths) == len(CUSTOM_EXTENSION_ATTRIBUTES) + 1


# --- properties over generated events -------------------------------------------------------------

letters = st.characters(categories=("Lu", "Ll", "Lo"))
person_names = st.text(letters, min_size=1, max_size=20)
free_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)
optional = st.none() | free_text


@st.composite
def events(draw: st.DrawFn, external_id: str | None = None) -> HrEvent:
    event_type = draw(st.sampled_from(["hire", "update", "termination", "rehire"]))
    employee: dict[str, Any] = {
        "employeeId": external_id or draw(st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True)),
        "givenName": draw(person_names),
        "familyName": draw(person_names),
        "preferredGivenName": draw(st.none() | person_names),
        "middleName": draw(st.none() | person_names),
        "jobTitle": draw(optional),
        "department": draw(optional),
        "division": draw(optional),
        "costCenter": draw(optional),
        "companyName": draw(optional),
        "employeeType": draw(st.none() | st.sampled_from(["Employee", "Contractor", ""])),
        "officeLocation": draw(optional),
        "city": draw(optional),
        "state": draw(optional),
        "postalCode": draw(st.none() | st.from_regex(r"[0-9A-Z -]{0,10}", fullmatch=True)),
        "country": draw(st.none() | st.sampled_from(sorted(ISO_3166_ALPHA2))),
        "usageLocation": draw(st.none() | st.sampled_from(["DE", "US", "JP"])),
        "businessPhone": draw(st.none() | st.from_regex(r"\+[1-9][0-9]{6,12}", fullmatch=True)),
        "mobilePhone": draw(st.none() | st.from_regex(r"\+[1-9][0-9]{6,12}", fullmatch=True)),
        "personalEmail": draw(
            st.none()
            | st.builds(
                "{}@{}".format,
                st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
                st.sampled_from(["example.org", "fabrikam.com", "mail.example.net"]),
            )
        ),
        "timeZone": draw(st.none() | st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"])),
        "preferredLanguage": draw(st.none() | st.sampled_from(["de-DE", "en-US", "ja", "pt-BR"])),
        "attributes": draw(
            st.none()
            | st.dictionaries(
                st.from_regex(r"[A-Z][A-Za-z0-9]{0,10}", fullmatch=True).filter(
                    lambda name: name.lower() not in {a.lower() for a in CUSTOM_EXTENSION_ATTRIBUTES}
                ),
                st.none() | st.booleans() | st.integers(-1000, 1000) | free_text,
                max_size=4,
            )
        ),
    }
    manager = draw(st.none() | st.from_regex(r"M[0-9]{1,8}", fullmatch=True))
    if manager is not None:
        employee["managerEmployeeId"] = manager
    data = {
        "eventId": draw(st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True)),
        "type": event_type,
        "effectiveDate": draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))).isoformat(),
        "employee": employee,
    }
    return parse_event(data)


graph_users = st.fixed_dictionaries(
    {
        "userPrincipalName": st.just("existing.user@contoso.com"),
        "mail": st.none() | st.just("existing.user@contoso.com"),
        "givenName": st.none() | free_text,
        "surname": st.none() | free_text,
        "jobTitle": st.none() | free_text,
        "department": st.none() | st.just(""),
        "businessPhones": st.lists(st.just("+1 425 555 0100"), max_size=2),
        "manager": st.none() | st.just("M1") | st.just({"employeeId": "M2"}),
        "employeeHireDate": st.none() | st.just("2024-01-01T00:00:00Z") | st.just(""),
    }
)


def check_record(record: dict[str, Any], event: HrEvent) -> None:
    assert isinstance(record["active"], bool)
    assert record["externalId"] == event.employee.employee_id
    assert record["schemas"][:2] == [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    assert (URN_CONTOSO in record["schemas"]) == (URN_CONTOSO in record)
    assert record[ENTERPRISE_USER_SCHEMA]["employeeNumber"] == event.employee.employee_id
    assert_no_empty_values(record)
    assert all(s.strip() for s in walk_strings(record))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(events(), min_size=1, max_size=120, unique_by=lambda e: e.employee.employee_id),
    st.booleans(),
    st.none() | graph_users,
)
def test_every_generated_payload_is_valid_scim(
    batch: list[HrEvent], active: bool, existing: dict[str, Any] | None
) -> None:
    records = []
    for event in batch:
        names = next(
            islice(
                candidates(
                    event.employee.given_name,
                    event.employee.family_name,
                    POLICY,
                    preferred_given_name=event.employee.preferred_given_name,
                    fallback_seed=event.employee.employee_id,
                ),
                1,
            )
        )
        use_existing = existing is not None and event.type != "hire"
        record = user_record(
            event,
            names=None if use_existing else names,
            active=active if event.type != "termination" else False,
            extension_urn=URN_CONTOSO,
            existing=existing if use_existing else None,
            hire_date=event.effective_date if event.type in ("hire", "rehire") else None,
        )
        check_record(record, event)
        records.append(record)

    bodies = bulk_requests(records)
    assert sum(len(body["Operations"]) for body in bodies) == len(batch)
    bulk_ids = [op["bulkId"] for body in bodies for op in body["Operations"]]
    assert len(set(bulk_ids)) == len(bulk_ids)
    for body in bodies:
        assert 1 <= len(body["Operations"]) <= MAX_OPERATIONS_PER_REQUEST
        wire = json.loads(json.dumps(body, ensure_ascii=False))
        assert wire == body
        request = ScimBulkRequest.model_validate(wire)
        assert request.operations is not None
        for operation, raw in zip(request.operations, body["Operations"], strict=True):
            assert operation.method == "POST"
            assert isinstance(operation.data, User)
            assert operation.data.active is raw["data"]["active"]
            assert operation.data.external_id == raw["data"]["externalId"]
            assert operation.data.user_name == raw["data"]["userName"]
