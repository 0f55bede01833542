"""BambooHR: webhooks signed with the webhook's private key, the employee API, and writeback of the work email.

Facts and their sources are in docs/connectors.md. In short: BambooHR signs each webhook with HMAC-SHA256 over
the raw body followed by the `X-BambooHR-Timestamp` value, hex in `X-BambooHR-Signature`; it posts either the
event-based body `{type, timestamp, data: {companyId, employeeId, changedFields}}` or the field-based body
`{employees: [{id, action, changedFields, fields}]}`; it sends no delivery id, retries a 5xx up to 5 times and
never a 4xx. The API authenticates with the API key as HTTP Basic user and answers throttling with 503.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from provisioning.events import FieldError
from provisioning.intake.connector import SecretReader, WritebackResult, country_code, rfc3339, text
from provisioning.intake.notifications import (
    IntakeProblem,
    Notification,
    constant_time_equal,
    digest,
    require_object,
    require_text,
)
from provisioning.intake.records import HrRecord, MappedEvent, map_record, parse_date
from provisioning.intake.vendor_http import VendorHttp
from provisioning.settings import Settings

__all__ = ["CONNECTOR", "BambooHr"]

logger = logging.getLogger("provisioning.intake.bamboohr")

SIGNATURE_HEADER = "X-BambooHR-Signature"
TIMESTAMP_HEADER = "X-BambooHR-Timestamp"
EVENT_KINDS = {"employee.created": "created", "employee.updated": "updated", "employee.deleted": "deleted"}
FIELD_BASED_ACTIONS = {"created": "created", "updated": "updated", "deleted": "deleted"}
FIELDS = (
    "firstName",
    "lastName",
    "preferredName",
    "middleName",
    "jobTitle",
    "department",
    "division",
    "location",
    "city",
    "state",
    "zipcode",
    "country",
    "workPhone",
    "mobilePhone",
    "homeEmail",
    "workEmail",
    "hireDate",
    "originalHireDate",
    "terminationDate",
    "status",
    "supervisorEId",
    "employeeNumber",
    "employmentHistoryStatus",
)
VENDOR_FIELDS = {
    "employee.employeeId": "id / employeeNumber",
    "employee.givenName": "firstName",
    "employee.familyName": "lastName",
    "employee.preferredGivenName": "preferredName",
    "employee.middleName": "middleName",
    "employee.jobTitle": "jobTitle",
    "employee.department": "department",
    "employee.division": "division",
    "employee.officeLocation": "location",
    "employee.postalCode": "zipcode",
    "employee.businessPhone": "workPhone",
    "employee.mobilePhone": "mobilePhone",
    "employee.personalEmail": "homeEmail",
    "employee.managerEmployeeId": "supervisorEId",
    "effectiveDate": "hireDate / terminationDate",
}


class BambooHr:
    name = "bamboohr"
    title = "BambooHR"

    def enabled(self, settings: Settings) -> bool:
        return settings.bamboohr_enabled

    def webhook_secret_name(self, settings: Settings) -> str | None:
        return settings.bamboohr_webhook_secret_name

    # -- webhook ---------------------------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str, *, settings: Settings, now: float) -> None:
        signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise IntakeProblem(401, "Invalid signature", f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
        expected = hmac.new(secret.encode("utf-8"), body + timestamp.encode("utf-8"), hashlib.sha256).hexdigest()
        if not constant_time_equal(expected, signature.strip().lower()):
            raise IntakeProblem(401, "Invalid signature", "the signature does not match the body and timestamp")
        sent_at = _timestamp_seconds(timestamp)
        if sent_at is None:
            # BambooHR does not document the header's format; the signature holds, so the event is not refused.
            logger.warning("bamboohr timestamp format not recognised; replay window not applied")
            return
        if abs(now - sent_at) > settings.signature_tolerance_seconds:
            raise IntakeProblem(
                401,
                "Invalid signature",
                f"{TIMESTAMP_HEADER} is outside the ±{settings.signature_tolerance_seconds} s window",
            )

    def parse(self, payload: object, body: bytes, settings: Settings) -> list[Notification]:
        data = require_object(payload, "body")
        body_id = digest(body)[:40]
        if "type" in data:
            return self._event_based(data, body_id)
        if "employees" in data:
            return self._field_based(data, body_id)
        raise IntakeProblem(
            400,
            "Unexpected payload",
            "Expected BambooHR's event-based body {type, timestamp, data} or field-based body {employees: [...]}.",
            [FieldError("type", "required (event-based webhook)"), FieldError("employees", "or this (field-based)")],
        )

    def _event_based(self, data: Mapping[str, Any], body_id: str) -> list[Notification]:
        event_type = data.get("type")
        kind = EVENT_KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            raise IntakeProblem(
                400,
                "Unexpected event type",
                f"BambooHR event type {str(event_type)[:64]!r} is not one this connector handles.",
                [FieldError("type", "must be one of " + ", ".join(EVENT_KINDS))],
            )
        if kind == "deleted":
            return []  # deleting a record is not a termination; nothing to provision
        inner = require_object(data.get("data"), "data")
        employee = require_text(inner, "employeeId", "data.employeeId")
        return [Notification(self.name, f"body-{body_id}", f"{kind}", employee, rfc3339(data.get("timestamp")))]

    def _field_based(self, data: Mapping[str, Any], body_id: str) -> list[Notification]:
        employees = data.get("employees")
        if not isinstance(employees, list) or not employees:
            raise IntakeProblem(
                400, "Unexpected payload", "employees must be a non-empty array.", [FieldError("employees", "required")]
            )
        notifications = []
        for index, item in enumerate(employees):
            entry = require_object(item, f"employees[{index}]")
            action = str(entry.get("action") or "updated").casefold()
            kind = FIELD_BASED_ACTIONS.get(action)
            if kind is None:
                raise IntakeProblem(
                    400,
                    "Unexpected event type",
                    f"employees[{index}].action {action[:32]!r} is not created, updated or deleted.",
                    [FieldError(f"employees[{index}].action", "must be Created, Updated or Deleted")],
                )
            employee = require_text(entry, "id", f"employees[{index}].id")
            if kind != "deleted":
                notifications.append(
                    Notification(self.name, f"body-{body_id}-{index}", kind, employee, rfc3339(entry.get("timestamp")))
                )
        return notifications

    # -- API ---------------------------------------------------------------------------------------------------

    def _http(self, settings: Settings, secrets: SecretReader) -> VendorHttp:
        name = settings.bamboohr_api_key_secret_name
        if not name or not settings.bamboohr_company_domain:
            raise ValueError("BAMBOOHR_COMPANY_DOMAIN and BAMBOOHR_API_KEY_SECRET_NAME are required")
        base = settings.bamboohr_api_base_url.replace("{companyDomain}", settings.bamboohr_company_domain)
        # The API key is the Basic user name; the password is ignored by BambooHR ("x" by convention).
        # BambooHR signals throttling with 503 (and 429 on some endpoints), both with Retry-After.
        return VendorHttp(
            self.title, base, auth=httpx.BasicAuth(secrets(name), "x"), throttle_statuses=frozenset({429, 503})
        )

    def fetch_event(
        self, notification: Notification, settings: Settings, secrets: SecretReader, *, today: date
    ) -> MappedEvent:
        http = self._http(settings, secrets)
        try:
            raw = http.json(
                "GET",
                f"employees/{notification.employee_ref}",
                params={"fields": ",".join(FIELDS), "onlyCurrent": "true"},
            )
            record = require_object(raw, "employee")
            manager_id = self._manager_id(http, record, settings)
        finally:
            http.close()
        hr_record = self.record(record, settings, manager_id=manager_id)
        return map_record(hr_record, notification, kind=notification.event_name, today=today)

    def _manager_id(self, http: VendorHttp, record: Mapping[str, Any], settings: Settings) -> str | None:
        supervisor = text(record.get("supervisorEId"))
        if not supervisor or settings.bamboohr_employee_id_field == "id":
            return supervisor
        manager = http.json("GET", f"employees/{supervisor}", params={"fields": "employeeNumber"})
        return text(manager.get("employeeNumber")) if isinstance(manager, Mapping) else None

    def record(self, data: Mapping[str, Any], settings: Settings, *, manager_id: str | None) -> HrRecord:
        """A BambooHR employee (get-employee answer) as an HrRecord."""
        employee_id = (
            text(data.get("employeeNumber"))
            if settings.bamboohr_employee_id_field == "employeenumber"
            else text(data.get("id"))
        )
        termination = parse_date(data.get("terminationDate"))
        return HrRecord(
            employee_id=employee_id,
            given_name=text(data.get("firstName")),
            family_name=text(data.get("lastName")),
            preferred_given_name=text(data.get("preferredName")),
            middle_name=text(data.get("middleName")),
            job_title=text(data.get("jobTitle")),
            department=text(data.get("department")),
            division=text(data.get("division")),
            office_location=text(data.get("location")),
            city=text(data.get("city")),
            state=text(data.get("state")),
            postal_code=text(data.get("zipcode")),
            country=country_code(data.get("country")),
            business_phone=text(data.get("workPhone")),
            mobile_phone=text(data.get("mobilePhone")),
            personal_email=text(data.get("homeEmail")),
            manager_employee_id=manager_id,
            hire_date=parse_date(data.get("hireDate")),
            original_hire_date=parse_date(data.get("originalHireDate")),
            # An inactive employee whose termination date is unknown still leaves: BambooHR's status says so.
            termination_date=termination,
            vendor_fields=VENDOR_FIELDS,
        )

    def write_back(
        self, employee_ref: str, *, mail: str | None, upn: str | None, settings: Settings, secrets: SecretReader
    ) -> WritebackResult:
        body: dict[str, str] = {}
        if mail:
            body["workEmail"] = mail
        if upn and settings.bamboohr_upn_field:
            body[settings.bamboohr_upn_field] = upn
        if not body:
            return WritebackResult(())
        http = self._http(settings, secrets)
        try:
            http.request("POST", f"employees/{employee_ref}", json=body)
        finally:
            http.close()
        return WritebackResult(tuple(body))

    def list_employees(self, settings: Settings, secrets: SecretReader) -> Iterator[HrRecord]:
        http = self._http(settings, secrets)
        fields = "firstName,lastName,preferredName,jobTitle,department,hireDate,terminationDate,status,supervisorEId"
        try:
            for page in http.pages("employees", _next_link, params={"fields": fields}):
                for item in page.get("data") or [] if isinstance(page, Mapping) else []:
                    if isinstance(item, Mapping):
                        data = {**item, "id": item.get("employeeId", item.get("id"))}
                        yield self.record(data, settings, manager_id=text(item.get("supervisorEId")))
        finally:
            http.close()


def _next_link(page: Any) -> str | None:
    links = page.get("_links") if isinstance(page, Mapping) else None
    link = links.get("next") if isinstance(links, Mapping) else None
    if isinstance(link, Mapping):
        link = link.get("href")
    return link if isinstance(link, str) and link else None


def _timestamp_seconds(value: str) -> float | None:
    """X-BambooHR-Timestamp as epoch seconds: unix seconds or an ISO 8601 time (the format is not documented)."""
    text_value = value.strip()
    if text_value.isdigit() and len(text_value) <= 12:
        return float(text_value)
    normalised = rfc3339(text_value)
    if normalised is None:
        return None
    return datetime.fromisoformat(normalised).astimezone(UTC).timestamp()


CONNECTOR = BambooHr()
