"""The vendor connectors at their edges: verification, parsing, the API clients (httpx mocked with respx) and the
mapping from each vendor's record to an HrEvent."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from provisioning.events import Employee
from provisioning.intake import bamboohr, hibob, personio
from provisioning.intake.connector import country_code, rfc3339, text
from provisioning.intake.notifications import IntakeProblem, Notification, constant_time_equal, digest
from provisioning.intake.records import HrRecord, map_record, parse_date
from provisioning.intake.registry import CONNECTORS, connector
from provisioning.intake.vendor_http import (
    VendorError,
    VendorHttp,
    VendorNotFound,
    VendorThrottled,
    VendorUnauthorized,
    retry_after_seconds,
)
from provisioning.settings import Settings

REQUIRED = {
    "PROVISIONING_API_ENDPOINT": "https://graph.microsoft.com/v1.0/servicePrincipals/3b0e4f2a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
    "/synchronization/jobs/API2AD.0f1e2d3c4b5a69788796a5b4c3d2e1f0.1a03de52-b9c3-4e2c-a1e3-9145aaa8e530/bulkUpload",
    "UPN_DOMAIN": "contoso.com",
    "MAIL_SENDER": "hr@contoso.com",
    "IT_NOTIFY_ADDRESS": "it@contoso.com",
    "KEY_VAULT_URL": "https://kv-hr.vault.azure.net/",
    "BAMBOOHR_ENABLED": "true",
    "BAMBOOHR_COMPANY_DOMAIN": "acme",
    "BAMBOOHR_API_KEY_SECRET_NAME": "bamboo-key",
    "BAMBOOHR_WEBHOOK_SECRET_NAME": "bamboo-hook",
    "BAMBOOHR_UPN_FIELD": "customUpn",
    "HIBOB_ENABLED": "true",
    "HIBOB_SERVICE_USER_ID": "SERVICE-1",
    "HIBOB_SERVICE_USER_TOKEN_SECRET_NAME": "bob-token",
    "HIBOB_WEBHOOK_SECRET_NAME": "bob-hook",
    "HIBOB_COMPANY_ID": "42",
    "HIBOB_UPN_FIELD": "/work/custom/upn",
    "PERSONIO_ENABLED": "true",
    "PERSONIO_CLIENT_ID": "papi-1",
    "PERSONIO_CLIENT_SECRET_NAME": "papi-secret",
    "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME": "papi-hook",
    "PERSONIO_COMPANY_ID": "7",
    "PERSONIO_UPN_ATTRIBUTE": "upn",
}
SECRETS = {
    "bamboo-key": "k3y",
    "bamboo-hook": "bamboo-secret",
    "bob-token": "t0ken",
    "bob-hook": "bob-secret",
    "papi-secret": "s3cret",
    "papi-hook": "hook-token",
}
BAMBOO = "https://api.bamboohr.com/api/gateway.php/acme/v1"
BOB = "https://api.hibob.com/v1"
PAPI = "https://api.personio.de/v2"
TODAY = date(2026, 11, 27)


def settings(**overrides: str) -> Settings:
    return Settings.from_env({**REQUIRED, **overrides})


def read_secret(name: str) -> str:
    return SECRETS[name]


def note(vendor: str, kind: str, ref: str = "101", delivery: str = "d-1") -> Notification:
    return Notification(vendor, delivery, kind, ref, "2026-11-20T09:00:00+00:00")


# -- shared pieces ------------------------------------------------------------------------------------------------


def test_registry_names_every_connector() -> None:
    assert set(CONNECTORS) == {"bamboohr", "hibob", "personio"}
    assert connector("hibob").title == "HiBob"
    with pytest.raises(KeyError):
        connector("workday")


def test_notification_ids_are_stable_and_distinct() -> None:
    first = note("bamboohr", "created", delivery="a")
    assert first.instance_id == note("bamboohr", "created", delivery="a").instance_id
    assert first.instance_id != note("bamboohr", "created", delivery="b").instance_id
    assert first.instance_id.startswith("hr-intake-bamboohr-")
    assert Notification.from_json(first.to_json()) == first
    assert Notification("x", "d", "k", "a/b c").safe_employee_ref == "a-b-c"
    assert digest("ab", "c") != digest("a", "bc")
    assert constant_time_equal("abc", "abc") and not constant_time_equal("abc", "abd")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("Germany", "DE"),
        ("United States", "US"),
        ("Atlantis", None),
        (None, None),
        ("", None),
    ],
)
def test_country_names_become_iso_codes(value: Any, expected: str | None) -> None:
    assert country_code(value) == expected


def test_vendor_values_and_timestamps() -> None:
    assert text(" a ") == "a" and text(5) == "5" and text(True) is None and text({}) is None and text("  ") is None
    assert rfc3339("2026-01-31T18:42:00+0000") == "2026-01-31T18:42:00+00:00"
    assert rfc3339("2026-01-31T18:42:00Z") == "2026-01-31T18:42:00+00:00"
    assert rfc3339("2026-01-31 18:42:00") == "2026-01-31T18:42:00+00:00"
    assert rfc3339("yesterday") is None and rfc3339(None) is None
    assert parse_date("2026-12-01") == date(2026, 12, 1)
    assert parse_date("2026-12-01T00:00:00") == date(2026, 12, 1)
    assert parse_date("0000-00-00") is None and parse_date("2026-13-01") is None and parse_date(None) is None


# -- mapping ------------------------------------------------------------------------------------------------------


def person(**changes: Any) -> HrRecord:
    base: dict[str, Any] = {
        "employee_id": "101",
        "given_name": "Zoë",
        "family_name": "Müller",
        "hire_date": date(2026, 12, 1),
        "vendor_fields": {"employee.familyName": "lastName"},
    }
    return HrRecord(**{**base, **changes})


def test_every_person_field_of_a_record_reaches_the_event_under_its_wire_name() -> None:
    record_only = {"hire_date", "original_hire_date", "termination_date", "vendor_fields"}
    person_fields = [item.name for item in dataclasses.fields(HrRecord) if item.name not in record_only]
    assert set(person_fields) <= set(Employee.model_fields)  # a record field the event lacks would be dropped
    full = HrRecord(**dict.fromkeys(person_fields, "x"))
    assert full.employee_json() == {Employee.model_fields[name].alias: "x" for name in person_fields}
    assert person(middle_name="", city=None).employee_json() == {
        "employeeId": "101",
        "givenName": "Zoë",
        "familyName": "Müller",
    }


def test_a_new_employee_is_a_hire_on_the_hire_date_keyed_by_employee_and_date() -> None:
    mapped = map_record(person(), note("bamboohr", "created"), kind="created", today=TODAY)
    assert mapped.event is not None
    assert mapped.event["type"] == "hire" and mapped.event["effectiveDate"] == "2026-12-01"
    assert mapped.event["eventId"] == "bamboohr-101-hire-2026-12-01"
    assert mapped.event["occurredAt"] == "2026-11-20T09:00:00Z"
    assert mapped.update_event_id.startswith("bamboohr-update-")
    again = map_record(person(), note("bamboohr", "updated", delivery="other"), kind="updated", today=TODAY)
    assert again.event is not None and again.event["eventId"] == mapped.event["eventId"]  # not started yet


def test_a_termination_date_makes_a_termination_and_an_older_one_a_rehire() -> None:
    leaving = map_record(person(termination_date=date(2026, 12, 31)), note("x", "updated"), kind="updated", today=TODAY)
    assert leaving.event is not None and leaving.event["type"] == "termination"
    assert leaving.event["effectiveDate"] == "2026-12-31"
    back = map_record(
        person(hire_date=date(2026, 1, 5), termination_date=date(2025, 6, 30)),
        note("x", "updated"),
        kind="updated",
        today=TODAY,
    )
    assert back.event is not None and back.event["type"] == "rehire"
    original = map_record(
        person(hire_date=date(2026, 12, 1), original_hire_date=date(2019, 1, 1)),
        note("x", "created"),
        kind="created",
        today=TODAY,
    )
    assert original.event is not None and original.event["type"] == "rehire"
    activated = map_record(person(hire_date=date(2020, 1, 1)), note("x", "activated"), kind="activated", today=TODAY)
    assert activated.event is not None and activated.event["type"] == "rehire"


def test_a_change_to_a_started_employee_is_an_update_keyed_by_delivery() -> None:
    mapped = map_record(person(hire_date=date(2020, 1, 1)), note("hibob", "updated"), kind="updated", today=TODAY)
    assert mapped.event is not None and mapped.event["type"] == "update"
    assert "effectiveDate" not in mapped.event and mapped.event["eventId"] == mapped.update_event_id


def test_an_invalid_record_names_the_field_in_the_vendors_words() -> None:
    mapped = map_record(person(family_name=None), note("bamboohr", "created"), kind="created", today=TODAY)
    assert mapped.event is None
    assert any(error.field == "employee.familyName (lastName)" for error in mapped.errors)
    undated = map_record(person(hire_date=None), note("bamboohr", "created"), kind="created", today=TODAY)
    assert undated.event is None and any(error.field == "effectiveDate" for error in undated.errors)


# -- vendor HTTP --------------------------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = retry_after_seconds("Wed, 21 Oct 2099 07:28:00 GMT")
    assert later is not None and later > 0


@respx.mock
def test_vendor_http_waits_out_short_throttling_and_raises_long_throttling() -> None:
    route = respx.get("https://api.example.com/v1/x")
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"ok": True})]
    slept: list[float] = []
    http = VendorHttp("Example", "https://api.example.com/v1", sleep=slept.append)
    assert http.json("GET", "x") == {"ok": True} and slept == [2.0]
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "600"})]
    with pytest.raises(VendorThrottled) as throttled:
        http.json("GET", "x")
    assert throttled.value.retry_after == 600.0
    reset = str(int(time.time()) + 120)
    route.side_effect = [httpx.Response(429, headers={"X-RateLimit-Reset": reset})]
    with pytest.raises(VendorThrottled) as by_reset:
        http.json("GET", "x")
    assert 100 < by_reset.value.retry_after <= 120
    http.close()


@respx.mock
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(401), VendorUnauthorized),
        (httpx.Response(403), VendorUnauthorized),
        (httpx.Response(404), VendorNotFound),
        (httpx.Response(500), VendorError),
        (httpx.Response(200, text="<html>"), VendorError),
        (httpx.ConnectError("down"), VendorError),
        (httpx.ReadTimeout("slow"), VendorError),
    ],
)
def test_vendor_http_turns_failures_into_typed_errors(answer: Any, error: type[Exception]) -> None:
    respx.get("https://api.example.com/v1/x").mock(side_effect=[answer])
    http = VendorHttp("Example", "https://api.example.com/v1")
    with pytest.raises(error) as caught:
        http.json("GET", "x")
    assert "Example API answered" in str(caught.value)
    assert type(caught.value)(*caught.value.__reduce__()[1]).status == caught.value.status  # picklable
    http.close()


@respx.mock
def test_paging_follows_links_refuses_loops_and_other_hosts() -> None:
    respx.get("https://api.example.com/v1/items", params={"p": "2"}).respond(json={"next": None})
    respx.get("https://api.example.com/v1/items").respond(json={"next": "https://api.example.com/v1/items?p=2"})
    http = VendorHttp("Example", "https://api.example.com/v1")
    assert len(list(http.pages("items", lambda page: page.get("next")))) == 2
    respx.get("https://api.example.com/v1/loop").respond(json={"next": "https://api.example.com/v1/loop"})
    with pytest.raises(VendorError, match="loops"):
        list(http.pages("https://api.example.com/v1/loop", lambda page: page.get("next")))
    respx.get("https://api.example.com/v1/away").respond(json={"next": "https://evil.example.org/steal"})
    with pytest.raises(VendorError, match="another host"):
        list(http.pages("away", lambda page: page.get("next")))
    http.close()


# -- BambooHR -----------------------------------------------------------------------------------------------------


def bamboo_signed(body: bytes, timestamp: str | None = None, secret: str = "bamboo-secret") -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    signature = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"X-BambooHR-Timestamp": stamp, "X-BambooHR-Signature": signature}


def test_bamboohr_verification() -> None:
    body = b'{"type":"employee.created"}'
    good = bamboo_signed(body)
    bamboohr.CONNECTOR.verify(good, body, "bamboo-secret", settings=settings(), now=time.time())
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    bamboohr.CONNECTOR.verify(bamboo_signed(body, iso), body, "bamboo-secret", settings=settings(), now=time.time())
    bamboohr.CONNECTOR.verify(
        bamboo_signed(body, "someday"), body, "bamboo-secret", settings=settings(), now=time.time()
    )
    for headers, content in [
        ({}, body),
        (bamboo_signed(body, secret="forged"), body),
        (good, body + b" "),
        (bamboo_signed(body, str(int(time.time()) - 3600)), body),
    ]:
        with pytest.raises(IntakeProblem) as refused:
            bamboohr.CONNECTOR.verify(headers, content, "bamboo-secret", settings=settings(), now=time.time())
        assert refused.value.status == 401


def test_bamboohr_parses_event_based_and_field_based_bodies() -> None:
    event = {"type": "employee.updated", "timestamp": "2026-01-31T18:42:00+0000", "data": {"employeeId": 67890}}
    body = json.dumps(event).encode()
    [parsed] = bamboohr.CONNECTOR.parse(event, body, settings())
    assert (parsed.event_name, parsed.employee_ref, parsed.occurred_at) == (
        "updated",
        "67890",
        "2026-01-31T18:42:00+00:00",
    )
    assert bamboohr.CONNECTOR.parse({"type": "employee.deleted", "data": {"employeeId": 1}}, b"x", settings()) == []
    legacy = {"employees": [{"id": 5, "action": "Created"}, {"id": 6, "action": "Deleted"}, {"id": 7}]}
    parsed_legacy = bamboohr.CONNECTOR.parse(legacy, b"y", settings())
    assert [(item.employee_ref, item.event_name) for item in parsed_legacy] == [("5", "created"), ("7", "updated")]
    assert parsed_legacy[0].delivery_id != parsed_legacy[1].delivery_id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "employee.exploded", "data": {"employeeId": 1}}, "type"),
        ({"type": "employee.created", "data": {}}, "data.employeeId"),
        ({"type": "employee.created", "data": "x"}, "data"),
        ({"employees": []}, "employees"),
        ({"employees": [{"id": 1, "action": "Teleported"}]}, "employees[0].action"),
        ({"employees": [{"action": "Created"}]}, "employees[0].id"),
        ({"hello": "world"}, "type"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bamboohr_names_what_is_unexpected(payload: Any, field: str) -> None:
    with pytest.raises(IntakeProblem) as refused:
        bamboohr.CONNECTOR.parse(payload, b"{}", settings())
    assert refused.value.status == 400
    assert field in [error.field for error in refused.value.errors]


BAMBOO_RECORD = {
    "id": "101",
    "employeeNumber": "E101",
    "firstName": "Zoë",
    "lastName": "Müller",
    "jobTitle": "Analyst",
    "country": "Germany",
    "hireDate": "2026-12-01",
    "terminationDate": "0000-00-00",
    "supervisorEId": "7",
}


@respx.mock
def test_bamboohr_fetch_maps_the_record_and_the_manager_by_employee_number() -> None:
    respx.get(f"{BAMBOO}/employees/101").respond(json=BAMBOO_RECORD)
    respx.get(f"{BAMBOO}/employees/7").respond(json={"id": "7", "employeeNumber": "E007"})
    mapped = bamboohr.CONNECTOR.fetch_event(
        note("bamboohr", "created"), settings(BAMBOOHR_EMPLOYEE_ID_FIELD="employeeNumber"), read_secret, today=TODAY
    )
    assert mapped.event is not None
    employee = mapped.event["employee"]
    assert (employee["employeeId"], employee["managerEmployeeId"], employee["country"]) == ("E101", "E007", "DE")
    request = respx.calls[0].request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"k3y:x").decode()
    assert "hireDate" in request.url.params["fields"]


@respx.mock
def test_bamboohr_writeback_list_and_missing_settings() -> None:
    update = respx.post(f"{BAMBOO}/employees/101").respond(200)
    result = bamboohr.CONNECTOR.write_back(
        "101", mail="zoe@contoso.com", upn="zoe@contoso.com", settings=settings(), secrets=read_secret
    )
    assert result.fields == ("workEmail", "customUpn")
    assert json.loads(update.calls[0].request.content) == {
        "workEmail": "zoe@contoso.com",
        "customUpn": "zoe@contoso.com",
    }
    assert (
        bamboohr.CONNECTOR.write_back("101", mail=None, upn=None, settings=settings(), secrets=read_secret).fields == ()
    )
    respx.get(f"{BAMBOO}/employees", params={"c": "2"}).respond(
        json={"data": [{"employeeId": "2", "firstName": "B"}], "_links": {}}
    )
    respx.get(f"{BAMBOO}/employees").respond(
        json={"data": [{"employeeId": "1", "firstName": "A"}], "_links": {"next": {"href": f"{BAMBOO}/employees?c=2"}}}
    )
    assert [record.employee_id for record in bamboohr.CONNECTOR.list_employees(settings(), read_secret)] == ["1", "2"]
    with pytest.raises(ValueError, match="BAMBOOHR"):
        bamboohr.CONNECTOR.fetch_event(
            note("bamboohr", "created"),
            settings(BAMBOOHR_ENABLED="false", BAMBOOHR_COMPANY_DOMAIN=""),
            read_secret,
            today=TODAY,
        )


# -- HiBob --------------------------------------------------------------------------------------------------------


def bob_signed(body: bytes, secret: str = "bob-secret") -> dict[str, str]:
    digest_bytes = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return {"Bob-Signature": base64.b64encode(digest_bytes).decode()}


def test_hibob_verification_and_ping() -> None:
    body = b'{"type":"employee.created"}'
    hibob.CONNECTOR.verify(bob_signed(body), body, "bob-secret", settings=settings(), now=0)
    assert hibob.signature("bob-secret", body) == bob_signed(body)["Bob-Signature"]
    for headers in ({}, bob_signed(body, "forged")):
        with pytest.raises(IntakeProblem):
            hibob.CONNECTOR.verify(headers, body, "bob-secret", settings=settings(), now=0)
    assert hibob.is_ping(b"Ping test") and hibob.is_ping(b'{"text": "Ping test"}') and not hibob.is_ping(body)


def test_hibob_parses_v2_events() -> None:
    event = {
        "companyId": 42,
        "type": "employee.joined",
        "triggeredAt": "2026-12-01T00:00:00.000Z",
        "data": {"employeeId": "3"},
    }
    [parsed] = hibob.CONNECTOR.parse(event, b"{}", settings())
    assert (parsed.event_name, parsed.employee_ref) == ("joined", "3")
    assert hibob.CONNECTOR.parse({**event, "type": "employee.temporaryLeave"}, b"{}", settings()) == []
    assert hibob.CONNECTOR.parse({**event, "type": "timeoff.request.created"}, b"{}", settings()) == []
    cases = [
        ({**event, "type": "employee.teleported"}, "type"),
        ({k: v for k, v in event.items() if k != "type"}, "type"),
        ({**event, "companyId": 43}, "companyId"),
        ({**event, "data": {}}, "data.employeeId"),
    ]
    for payload, field in cases:
        with pytest.raises(IntakeProblem) as refused:
            hibob.CONNECTOR.parse(payload, b"{}", settings())
        assert field in [error.field for error in refused.value.errors]


@respx.mock
def test_hibob_fetch_resolves_the_manager_by_employee_id_in_company() -> None:
    record = {
        "id": "3",
        "firstName": "Zoë",
        "surname": "Müller",
        "work": {"startDate": "2026-12-01", "reportsTo": {"id": "9"}, "employeeIdInCompany": "E3", "title": "Analyst"},
        "address": {"country": "DE"},
        "internal": {"status": "Active", "terminationDate": None},
    }
    route = respx.post(f"{BOB}/people/3").respond(json=record)
    respx.post(f"{BOB}/people/9").respond(json={"id": "9", "work": {"employeeIdInCompany": "E9"}})
    mapped = hibob.CONNECTOR.fetch_event(note("hibob", "created", ref="3"), settings(), read_secret, today=TODAY)
    assert mapped.event is not None
    assert (mapped.event["employee"]["employeeId"], mapped.event["employee"]["managerEmployeeId"]) == ("E3", "E9")
    sent = json.loads(route.calls[0].request.content)
    assert "/work/startDate" in sent["fields"] and sent["humanReadable"] == "REPLACE"
    assert hibob.field({"/root/id": "x"}, "/root/id") == "x" and hibob.field({"work": "flat"}, "/work/title") is None
    by_backend = hibob.CONNECTOR.fetch_event(
        note("hibob", "created", ref="3"), settings(HIBOB_EMPLOYEE_ID_FIELD="id"), read_secret, today=TODAY
    )
    assert by_backend.event is not None and by_backend.event["employee"]["managerEmployeeId"] == "9"


@respx.mock
def test_hibob_writeback_and_list() -> None:
    email = respx.put(f"{BOB}/people/3/email").respond(200)
    upn = respx.put(f"{BOB}/people/3").respond(200)
    result = hibob.CONNECTOR.write_back(
        "3", mail="z@contoso.com", upn="z@contoso.com", settings=settings(), secrets=read_secret
    )
    assert result.fields == ("/root/email", "/work/custom/upn")
    assert json.loads(email.calls[0].request.content) == {"email": "z@contoso.com"}
    assert json.loads(upn.calls[0].request.content) == {"work": {"custom": {"upn": "z@contoso.com"}}}
    respx.post(f"{BOB}/people/search").respond(json={"employees": [{"id": "3", "work": {"employeeIdInCompany": "E3"}}]})
    assert [r.employee_id for r in hibob.CONNECTOR.list_employees(settings(), read_secret)] == ["E3"]
    with pytest.raises(ValueError, match="HIBOB"):
        hibob.CONNECTOR.list_employees(
            settings(HIBOB_ENABLED="false", HIBOB_SERVICE_USER_ID=""), read_secret
        ).__next__()


# -- Personio -----------------------------------------------------------------------------------------------------


def test_personio_token_verification() -> None:
    for headers in ({"Authorization": "hook-token"}, {"Authorization": "Bearer hook-token"}):
        personio.CONNECTOR.verify(headers, b"{}", "hook-token", settings=settings(), now=0)
    for headers in ({}, {"Authorization": "Bearer nope"}):
        with pytest.raises(IntakeProblem):
            personio.CONNECTOR.verify(headers, b"{}", "hook-token", settings=settings(), now=0)
    custom = settings(PERSONIO_WEBHOOK_AUTH_HEADER="X-Personio-Token")
    personio.CONNECTOR.verify({"X-Personio-Token": "hook-token"}, b"{}", "hook-token", settings=custom, now=0)


def test_personio_parses_person_and_employment_events() -> None:
    base = {"company_id": "7", "occurred_at": "2026-12-01T00:00:00Z", "meta": {"event_id": "e-1"}}
    [person_event] = personio.CONNECTOR.parse(
        {**base, "event_name": "person.created", "payload": {"id": 5}}, b"{}", settings()
    )
    assert (person_event.employee_ref, person_event.delivery_id) == ("5", "event-e-1")
    started = {**base, "event_name": "employment.started", "payload": {"id": "u", "person": {"id": "6"}}}
    assert personio.CONNECTOR.parse(started, b"{}", settings())[0].event_name == "started"
    flat = {"company_id": "7", "occurred_at": "x", "event_name": "employment.updated", "payload": {"person_id": 8}}
    assert personio.CONNECTOR.parse(flat, b"{}", settings())[0].delivery_id.startswith("body-")
    assert personio.CONNECTOR.parse({**base, "event_name": "person.deleted", "payload": {}}, b"{}", settings()) == []
    cases = [
        ({"event_name": "person.created"}, "company_id"),
        ({**base, "event_name": "salary.changed", "payload": {}}, "event_name"),
        ({**base, "company_id": "8", "event_name": "person.created", "payload": {"id": 1}}, "company_id"),
        ({**base, "event_name": "employment.created", "payload": {"id": "u"}}, "payload.person.id"),
    ]
    for payload, field in cases:
        with pytest.raises(IntakeProblem) as refused:
            personio.CONNECTOR.parse(payload, b"{}", settings())
        assert field in [error.field for error in refused.value.errors]


@respx.mock
def test_personio_fetch_takes_the_latest_employment_and_reuses_the_token() -> None:
    personio.forget_tokens()
    token = respx.post(f"{PAPI}/auth/token").respond(json={"access_token": "abc", "expires_in": 3600})
    respx.get(f"{PAPI}/persons/5").respond(json={"id": "5", "first_name": "Zoë", "last_name": "Müller"})
    respx.get(f"{PAPI}/persons/5/employments").respond(
        json={
            "_data": [
                {
                    "id": "old",
                    "start_date": "2019-01-01",
                    "termination_date": "2020-01-01",
                    "position": {"title": "Old"},
                },
                {"id": "new", "start_date": "2026-12-01", "supervisor": {"id": "9"}, "position": {"title": "Analyst"}},
            ],
            "_meta": {"links": {}},
        }
    )
    mapped = personio.CONNECTOR.fetch_event(note("personio", "created", ref="5"), settings(), read_secret, today=TODAY)
    assert mapped.event is not None and mapped.event["type"] == "rehire"
    assert mapped.event["employee"]["jobTitle"] == "Analyst" and mapped.event["employee"]["managerEmployeeId"] == "9"
    personio.CONNECTOR.fetch_event(note("personio", "created", ref="5"), settings(), read_secret, today=TODAY)
    assert token.call_count == 1
    form = token.calls[0].request.content.decode()
    assert "grant_type=client_credentials" in form and "client_id=papi-1" in form
    assert respx.calls[1].request.headers["Authorization"] == "Bearer abc"


@respx.mock
def test_personio_writeback_list_and_a_broken_token_answer() -> None:
    personio.forget_tokens()
    respx.post(f"{PAPI}/auth/token").respond(json={"access_token": "abc"})
    patch = respx.patch(f"{PAPI}/persons/5").respond(200, json={})
    result = personio.CONNECTOR.write_back(
        "5", mail="z@contoso.com", upn="z@contoso.com", settings=settings(), secrets=read_secret
    )
    assert result.fields == ("email", "upn")
    assert json.loads(patch.calls[0].request.content)["custom_attributes"] == [{"id": "upn", "value": "z@contoso.com"}]
    assert (
        personio.CONNECTOR.write_back("5", mail=None, upn=None, settings=settings(), secrets=read_secret).fields == ()
    )
    respx.get(f"{PAPI}/persons", params={"cursor": "1"}).respond(json={"_data": [{"id": "6"}], "_meta": {"links": {}}})
    respx.get(f"{PAPI}/persons").respond(
        json={"_data": [{"id": "5"}], "_meta": {"links": {"next": {"href": f"{PAPI}/persons?cursor=1"}}}}
    )
    assert [r.employee_id for r in personio.CONNECTOR.list_employees(settings(), read_secret)] == ["5", "6"]
    personio.forget_tokens()
    respx.post(f"{PAPI}/auth/token").respond(json={"token_type": "Bearer"})
    with pytest.raises(VendorError, match="access_token"):
        personio.CONNECTOR.write_back("5", mail="z@contoso.com", upn=None, settings=settings(), secrets=read_secret)
    with pytest.raises(ValueError, match="PERSONIO"):
        personio.CONNECTOR.write_back(
            "5",
            mail="z@contoso.com",
            upn=None,
            settings=settings(PERSONIO_ENABLED="false", PERSONIO_CLIENT_ID=""),
            secrets=read_secret,
        )


def test_enabled_switches_and_secret_names() -> None:
    on, off = (
        settings(),
        Settings.from_env(
            {key: value for key, value in REQUIRED.items() if "_" in key and not key.endswith("ENABLED")}
        ),
    )
    for item in CONNECTORS.values():
        assert item.enabled(on) and not item.enabled(off)
        assert item.webhook_secret_name(on) in SECRETS
