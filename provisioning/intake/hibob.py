"""HiBob (Bob): webhooks v2 signed with HMAC-SHA512, the People API with a service user, and email writeback.

Facts and sources are in docs/connectors.md. Bob signs the raw body with HMAC-SHA512 and the webhook's secret,
base64 in the `Bob-Signature` header, with no timestamp (so no replay window: an exact repeat is de-duplicated).
The payload `{companyId, type, triggeredBy, triggeredAt, version, data: {employeeId, ...}}` carries ids only;
lifecycle events (joined, left, inactivated, activated) fire when the lifecycle entry becomes effective. The API
authenticates with a service user (id and token as HTTP Basic) and reads one employee with
`POST /v1/people/{id}` and a list of field paths.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping
from datetime import date
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

__all__ = ["CONNECTOR", "HiBob", "is_ping", "signature"]

SIGNATURE_HEADER = "Bob-Signature"
EVENT_KINDS = {
    "employee.created": "created",
    "employee.joined": "joined",
    "employee.activated": "activated",
    "employee.updated": "updated",
    "table.entry.created": "updated",
    "table.entry.updated": "updated",
    "employee.left": "terminated",
    "employee.inactivated": "terminated",
}
IGNORED_EVENTS = frozenset({"employee.deleted", "employee.temporaryLeave", "employee.revokedAccess"})
"""Employee events that change no account here (leave is handled by the leave workflow, not this connector)."""
IGNORED_PREFIXES = ("timeoff.", "task.", "tasks.", "document.", "docs.", "attendance.")
FIELDS = (
    "/root/id",
    "/root/firstName",
    "/root/surname",
    "/root/email",
    "/personal/preferredName",
    "/work/title",
    "/work/department",
    "/work/site",
    "/work/startDate",
    "/work/reportsTo",
    "/work/employeeIdInCompany",
    "/work/mobilePhone",
    "/work/workPhone",
    "/address/city",
    "/address/country",
    "/address/postCode",
    "/home/privateEmail",
    "/internal/status",
    "/internal/terminationDate",
    "/work/originalStartDate",
)
VENDOR_FIELDS = {
    "employee.employeeId": "/root/id or /work/employeeIdInCompany",
    "employee.givenName": "/root/firstName",
    "employee.familyName": "/root/surname",
    "employee.preferredGivenName": "/personal/preferredName",
    "employee.jobTitle": "/work/title",
    "employee.department": "/work/department",
    "employee.officeLocation": "/work/site",
    "employee.managerEmployeeId": "/work/reportsTo",
    "employee.personalEmail": "/home/privateEmail",
    "employee.mobilePhone": "/work/mobilePhone",
    "employee.businessPhone": "/work/workPhone",
    "effectiveDate": "/work/startDate or /internal/terminationDate",
}
PING_BODIES = (b"Ping test", b'"Ping test"')


def signature(secret: str, body: bytes) -> str:
    """The `Bob-Signature` value for a body: base64 of HMAC-SHA512 with the webhook secret."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha512).digest()).decode("ascii")


def is_ping(body: bytes) -> bool:
    """Bob's connection test when a webhook is added: "Ping test" as text, else {"text": "Ping test"}."""
    stripped = body.strip()
    return stripped in PING_BODIES or stripped.replace(b" ", b"") == b'{"text":"Pingtest"}'


class HiBob:
    name = "hibob"
    title = "HiBob"

    def enabled(self, settings: Settings) -> bool:
        return settings.hibob_enabled

    def webhook_secret_name(self, settings: Settings) -> str | None:
        return settings.hibob_webhook_secret_name

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str, *, settings: Settings, now: float) -> None:
        received = headers.get(SIGNATURE_HEADER)
        if not received:
            raise IntakeProblem(401, "Invalid signature", f"missing {SIGNATURE_HEADER} header")
        if not constant_time_equal(signature(secret, body), received.strip()):
            raise IntakeProblem(401, "Invalid signature", "the signature does not match the body")

    def parse(self, payload: object, body: bytes, settings: Settings) -> list[Notification]:
        data = require_object(payload, "body")
        event_type = data.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise IntakeProblem(400, "Unexpected payload", "type is missing.", [FieldError("type", "required")])
        if event_type in IGNORED_EVENTS or event_type.startswith(IGNORED_PREFIXES):
            return []
        kind = EVENT_KINDS.get(event_type)
        if kind is None:
            raise IntakeProblem(
                400,
                "Unexpected event type",
                f"HiBob event type {event_type[:64]!r} is not one this connector handles.",
                [FieldError("type", "must be one of " + ", ".join([*EVENT_KINDS, *sorted(IGNORED_EVENTS)]))],
            )
        company = data.get("companyId")
        expected = settings.hibob_company_id
        if expected and str(company) != expected:
            raise IntakeProblem(
                400,
                "Unexpected company",
                "companyId is not the company this app is configured for (HIBOB_COMPANY_ID).",
                [FieldError("companyId", "does not match HIBOB_COMPANY_ID")],
            )
        inner = require_object(data.get("data"), "data")
        employee = require_text(inner, "employeeId", "data.employeeId")
        delivery = f"body-{digest(body)[:40]}"
        return [Notification(self.name, delivery, kind, employee, rfc3339(data.get("triggeredAt")))]

    # -- API ---------------------------------------------------------------------------------------------------

    def _http(self, settings: Settings, secrets: SecretReader) -> VendorHttp:
        user, token_name = settings.hibob_service_user_id, settings.hibob_service_user_token_secret_name
        if not user or not token_name:
            raise ValueError("HIBOB_SERVICE_USER_ID and HIBOB_SERVICE_USER_TOKEN_SECRET_NAME are required")
        return VendorHttp(self.title, settings.hibob_api_base_url, auth=httpx.BasicAuth(user, secrets(token_name)))

    def _read(self, http: VendorHttp, employee_ref: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
        answer = http.json("POST", f"people/{employee_ref}", json={"fields": list(fields), "humanReadable": "REPLACE"})
        return require_object(answer, "employee")

    def fetch_event(
        self, notification: Notification, settings: Settings, secrets: SecretReader, *, today: date
    ) -> MappedEvent:
        http = self._http(settings, secrets)
        try:
            data = self._read(http, notification.employee_ref, FIELDS)
            manager_ref = _manager_ref(field(data, "/work/reportsTo"))
            manager_id = manager_ref
            if manager_ref and settings.hibob_employee_id_field == "employeeidincompany":
                manager = self._read(http, manager_ref, ("/work/employeeIdInCompany",))
                manager_id = text(field(manager, "/work/employeeIdInCompany"))
        finally:
            http.close()
        return map_record(
            self.record(data, settings, manager_id=manager_id), notification, kind=notification.event_name, today=today
        )

    def record(self, data: Mapping[str, Any], settings: Settings, *, manager_id: str | None) -> HrRecord:
        """A Bob employee (read by id or search answer) as an HrRecord."""
        by_company_id = settings.hibob_employee_id_field == "employeeidincompany"
        employee_id = text(field(data, "/work/employeeIdInCompany" if by_company_id else "/root/id"))
        return HrRecord(
            employee_id=employee_id,
            given_name=text(field(data, "/root/firstName")),
            family_name=text(field(data, "/root/surname")),
            preferred_given_name=text(field(data, "/personal/preferredName")),
            job_title=text(field(data, "/work/title")),
            department=text(field(data, "/work/department")),
            office_location=text(field(data, "/work/site")),
            city=text(field(data, "/address/city")),
            postal_code=text(field(data, "/address/postCode")),
            country=country_code(field(data, "/address/country")),
            business_phone=text(field(data, "/work/workPhone")),
            mobile_phone=text(field(data, "/work/mobilePhone")),
            personal_email=text(field(data, "/home/privateEmail")),
            manager_employee_id=manager_id,
            hire_date=parse_date(field(data, "/work/startDate")),
            original_hire_date=parse_date(field(data, "/work/originalStartDate")),
            termination_date=parse_date(field(data, "/internal/terminationDate")),
            vendor_fields=VENDOR_FIELDS,
        )

    def write_back(
        self, employee_ref: str, *, mail: str | None, upn: str | None, settings: Settings, secrets: SecretReader
    ) -> WritebackResult:
        written: list[str] = []
        http = self._http(settings, secrets)
        try:
            if mail:
                # The work email has its own endpoint in Bob; the general update does not change it.
                http.request("PUT", f"people/{employee_ref}/email", json={"email": mail})
                written.append("/root/email")
            if upn and settings.hibob_upn_field:
                http.request("PUT", f"people/{employee_ref}", json=_nested(settings.hibob_upn_field, upn))
                written.append(settings.hibob_upn_field)
        finally:
            http.close()
        return WritebackResult(tuple(written))

    def list_employees(self, settings: Settings, secrets: SecretReader) -> Iterator[HrRecord]:
        # Bob's search has no paging: one answer holds every employee the service user may see.
        http = self._http(settings, secrets)
        try:
            answer = http.json(
                "POST", "people/search", json={"fields": list(FIELDS), "humanReadable": "REPLACE", "showInactive": True}
            )
        finally:
            http.close()
        for item in answer.get("employees") or [] if isinstance(answer, Mapping) else []:
            if isinstance(item, Mapping):
                yield self.record(item, settings, manager_id=_manager_ref(field(item, "/work/reportsTo")))


def field(data: Mapping[str, Any], path: str) -> Any:
    """A field by its Bob path: `/root/x` is top level (or under "root"), `/work/title` is data["work"]["title"]."""
    if path in data:
        return data[path]
    parts = path.strip("/").split("/")
    if parts[0] == "root" and parts[1] in data:
        return data[parts[1]]
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _manager_ref(value: object) -> str | None:
    if isinstance(value, Mapping):
        return text(value.get("id"))
    return text(value)


def _nested(path: str, value: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    node = result
    parts = path.strip("/").split("/")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


CONNECTOR = HiBob()
