"""Personio: dataless webhooks v2 authenticated by a shared token, the v2 Persons and Employments API with client
credentials, and writeback of the work email.

Facts and sources are in docs/connectors.md. Personio posts `{company_id, event_name, occurred_at, payload, meta}`
and expects a 2xx within 3 seconds; on a timeout or a 5xx (except 501) it retries for up to 3 days (at most 14
requests). `employment.started` and `employment.terminated` fire on the effective date. The API takes a bearer
token from `POST /v2/auth/token` (client id and secret) and pages with `_meta.links.next.href`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

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
from provisioning.intake.vendor_http import VendorError, VendorHttp
from provisioning.settings import Settings

__all__ = ["CONNECTOR", "Personio"]

EVENT_KINDS = {
    "person.created": "created",
    "person.updated": "updated",
    "employment.created": "created",
    "employment.updated": "updated",
    "employment.started": "started",
    "employment.terminated": "terminated",
}
IGNORED_EVENTS = frozenset({"person.deleted", "employment.deleted"})
IGNORED_PREFIXES = ("absence-period.", "attendance-period.", "document.", "absence.", "attendance.")
TOKEN_MARGIN_SECONDS = 60
VENDOR_FIELDS = {
    "employee.employeeId": "person id",
    "employee.givenName": "first_name",
    "employee.familyName": "last_name",
    "employee.preferredGivenName": "preferred_name",
    "employee.jobTitle": "employment position.title",
    "employee.department": "employment department",
    "employee.managerEmployeeId": "employment supervisor.id",
    "effectiveDate": "employment start_date / termination_date",
}

_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class Personio:
    name = "personio"
    title = "Personio"

    def enabled(self, settings: Settings) -> bool:
        return settings.personio_enabled

    def webhook_secret_name(self, settings: Settings) -> str | None:
        return settings.personio_webhook_token_secret_name

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str, *, settings: Settings, now: float) -> None:
        header = settings.personio_webhook_auth_header
        received = (headers.get(header) or "").strip()
        if not received:
            raise IntakeProblem(401, "Invalid token", f"missing {header} header")
        scheme, _, rest = received.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" and rest else received
        if not constant_time_equal(secret, token):
            raise IntakeProblem(401, "Invalid token", f"the {header} header does not carry the webhook token")

    def parse(self, payload: object, body: bytes, settings: Settings) -> list[Notification]:
        data = require_object(payload, "body")
        missing = [key for key in ("company_id", "event_name", "occurred_at", "payload") if key not in data]
        if missing:
            raise IntakeProblem(
                400,
                "Unexpected payload",
                "Not a Personio webhook: " + ", ".join(missing) + " missing.",
                [FieldError(key, "required") for key in missing],
            )
        event_name = str(data["event_name"])
        if event_name in IGNORED_EVENTS or event_name.startswith(IGNORED_PREFIXES):
            return []
        kind = EVENT_KINDS.get(event_name)
        if kind is None:
            raise IntakeProblem(
                400,
                "Unexpected event type",
                f"Personio event {event_name[:64]!r} is not one this connector handles.",
                [FieldError("event_name", "must be one of " + ", ".join([*EVENT_KINDS, *sorted(IGNORED_EVENTS)]))],
            )
        if settings.personio_company_id and str(data["company_id"]) != settings.personio_company_id:
            raise IntakeProblem(
                400,
                "Unexpected company",
                "company_id is not the company this app is configured for (PERSONIO_COMPANY_ID).",
                [FieldError("company_id", "does not match PERSONIO_COMPANY_ID")],
            )
        inner = require_object(data["payload"], "payload")
        if event_name.startswith("person."):
            person = require_text(inner, "id", "payload.id")
        else:
            nested = inner.get("person")
            person_id = nested.get("id") if isinstance(nested, Mapping) else inner.get("person_id")
            person = require_text({"id": person_id}, "id", "payload.person.id")
        meta = data.get("meta") if isinstance(data.get("meta"), Mapping) else {}
        event_id = text(meta.get("event_id") or meta.get("id")) if isinstance(meta, Mapping) else None
        delivery = f"event-{event_id}" if event_id else f"body-{digest(body)[:40]}"
        return [Notification(self.name, delivery, kind, person, rfc3339(data.get("occurred_at")))]

    # -- API ---------------------------------------------------------------------------------------------------

    def _http(self, settings: Settings, secrets: SecretReader) -> VendorHttp:
        client_id, secret_name = settings.personio_client_id, settings.personio_client_secret_name
        if not client_id or not secret_name:
            raise ValueError("PERSONIO_CLIENT_ID and PERSONIO_CLIENT_SECRET_NAME are required")
        token = _access_token(settings.personio_api_base_url, client_id, secrets(secret_name))
        return VendorHttp(self.title, settings.personio_api_base_url, headers={"Authorization": f"Bearer {token}"})

    def fetch_event(
        self, notification: Notification, settings: Settings, secrets: SecretReader, *, today: date
    ) -> MappedEvent:
        http = self._http(settings, secrets)
        try:
            person = require_object(http.json("GET", f"persons/{notification.employee_ref}"), "person")
            employments = list(_items(http.pages(f"persons/{notification.employee_ref}/employments", _next_link)))
        finally:
            http.close()
        starts = [started for item in employments if (started := parse_date(item.get("start_date")))]
        record = self.record(person, _current(employments), first_start=min(starts) if starts else None)
        return map_record(record, notification, kind=notification.event_name, today=today)

    def record(
        self, person: Mapping[str, Any], employment: Mapping[str, Any] | None, *, first_start: date | None = None
    ) -> HrRecord:
        """A Personio person with their current employment as an HrRecord; `first_start` is the start of their
        first employment (an earlier one makes the current one a rehire)."""
        job = employment or {}
        return HrRecord(
            employee_id=text(person.get("id")),
            given_name=text(person.get("first_name")),
            family_name=text(person.get("last_name")),
            preferred_given_name=text(person.get("preferred_name")),
            job_title=text(_name(job.get("position"), "title")),
            department=text(_name(job.get("department"), "name")),
            office_location=text(_name(job.get("office"), "name")),
            country=country_code(_name(job.get("office"), "country")),
            employee_type=text(job.get("type")),
            manager_employee_id=text(_name(job.get("supervisor"), "id")),
            hire_date=parse_date(job.get("start_date")),
            original_hire_date=first_start,
            termination_date=parse_date(job.get("termination_date")),
            vendor_fields=VENDOR_FIELDS,
        )

    def write_back(
        self, employee_ref: str, *, mail: str | None, upn: str | None, settings: Settings, secrets: SecretReader
    ) -> WritebackResult:
        body: dict[str, Any] = {}
        written: list[str] = []
        if mail:
            body["email"] = mail
            written.append("email")
        if upn and settings.personio_upn_attribute:
            body["custom_attributes"] = [{"id": settings.personio_upn_attribute, "value": upn}]
            written.append(settings.personio_upn_attribute)
        if not body:
            return WritebackResult(())
        http = self._http(settings, secrets)
        try:
            http.request("PATCH", f"persons/{employee_ref}", json=body)
        finally:
            http.close()
        return WritebackResult(tuple(written))

    def list_employees(self, settings: Settings, secrets: SecretReader) -> Iterator[HrRecord]:
        http = self._http(settings, secrets)
        try:
            for person in _items(http.pages("persons", _next_link, params={"limit": "50"})):
                yield self.record(person, None)
        finally:
            http.close()


def _access_token(base_url: str, client_id: str, client_secret: str) -> str:
    """A bearer token for the client, reused until shortly before it expires (the secret is never kept)."""
    key = hashlib.sha256(f"{base_url}\n{client_id}\n{client_secret}".encode()).hexdigest()
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    http = VendorHttp("Personio", base_url)
    try:
        answer = http.json(
            "POST",
            "auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
    finally:
        http.close()
    token = answer.get("access_token") if isinstance(answer, Mapping) else None
    if not isinstance(token, str) or not token:
        raise VendorError("Personio", 200, "the token answer has no access_token")
    lifetime = answer.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 3600.0
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic() + max(0.0, seconds - TOKEN_MARGIN_SECONDS))
    return token


def _items(pages: Iterator[Any]) -> Iterator[Mapping[str, Any]]:
    for page in pages:
        for item in page.get("_data") or [] if isinstance(page, Mapping) else []:
            if isinstance(item, Mapping):
                yield item


def _next_link(page: Any) -> str | None:
    meta = page.get("_meta") if isinstance(page, Mapping) else None
    links = meta.get("links") if isinstance(meta, Mapping) else None
    link = links.get("next") if isinstance(links, Mapping) else None
    href = link.get("href") if isinstance(link, Mapping) else link
    return href if isinstance(href, str) and href else None


def _current(employments: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The employment that describes the person now: the latest start date wins."""
    dated = [(parse_date(item.get("start_date")) or date.min, index, item) for index, item in enumerate(employments)]
    return max(dated)[2] if dated else None


def _name(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, Mapping) else None


def forget_tokens() -> None:
    """Drop cached access tokens (tests, or after Personio refused one)."""
    with _tokens_lock:
        _tokens.clear()


CONNECTOR = Personio()
