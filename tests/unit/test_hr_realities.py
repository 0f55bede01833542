"""The pure pieces behind what HR really sends: calendar-true dates, zones from countries, the employee record's
state machine, the canonical event fingerprint, and the paged event listing over a store that answers 100 at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, ClassVar

import azure.durable_functions as df
import pytest

from provisioning import time_zones
from provisioning.events import event_fingerprint, instance_event_id, parse_event, sanitize_instance_id
from provisioning.intake.event_listing import QUERY_PAGE, ListQueryError, collect, parse_query
from provisioning.workflows import employee_record as record
from provisioning.workflows.contracts import WorkflowOptions
from provisioning.workflows.plan import decide_action, scim_record
from provisioning.workflows.time_zone import choose

URN = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"


def madrid(event_type: str, day: str, **extra: Any) -> dict[str, Any]:
    employee = {"employeeId": "E1", "givenName": "Lucía", "familyName": "García", "timeZone": "Europe/Madrid"}
    return parse_event({"eventId": "m1", "type": event_type, "effectiveDate": day, "employee": employee}).to_json()


NAMES = {"userPrincipalName": "lucia.garcia@contoso.com", "samAccountName": "lucia.garcia"}


class TestCalendarTrueDates:
    @pytest.mark.parametrize("zone", ["Europe/Madrid", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
    def test_a_start_date_is_sent_as_that_calendar_date_whatever_the_zone(self, zone: str) -> None:
        event = madrid("hire", "2026-11-29")
        event["employee"]["timeZone"] = zone
        record_ = scim_record(event, WorkflowOptions(), names=NAMES, existing=None, active=True)
        assert record_[URN]["HireDate"] == "2026-11-29T00:00:00Z"  # was 2026-11-28T23:00:00Z for Madrid

    def test_a_last_day_is_sent_as_that_calendar_date(self) -> None:
        existing = {"employeeId": "E1", "userPrincipalName": "lucia.garcia@contoso.com", "givenName": "Lucía"}
        event = madrid("termination", "2026-12-18")
        event["employee"]["timeZone"] = "Pacific/Honolulu"  # 18:00 there is the next day in UTC
        record_ = scim_record(event, WorkflowOptions(), names=None, existing=existing, active=False)
        assert record_[URN]["LeaveDate"] == "2026-12-18T00:00:00Z"

    def test_an_enabled_account_never_carries_an_old_leave_date(self) -> None:
        existing = {
            "employeeId": "E1",
            "userPrincipalName": "lucia.garcia@contoso.com",
            "employeeLeaveDateTime": "2025-06-30T00:00:00Z",
        }
        rehire = scim_record(
            madrid("rehire", "2026-11-29"), WorkflowOptions(), names=None, existing=existing, active=True
        )
        assert "LeaveDate" not in rehire[URN]
        leave = {
            "eventId": "l1",
            "type": "leave-of-absence",
            "effectiveDate": "2026-12-01",
            "employee": {"employeeId": "E1"},
        }
        on_leave = scim_record(leave, WorkflowOptions(), names=None, existing=existing, active=False)
        assert "LeaveDate" not in on_leave.get(URN, {})


class TestZones:
    @pytest.mark.parametrize(
        ("country", "zone"),
        [("DE", "Europe/Berlin"), ("FR", "Europe/Paris"), ("JP", "Asia/Tokyo"), ("IN", "Asia/Kolkata")],
    )
    def test_a_country_with_one_clock_gives_its_zone(self, country: str, zone: str) -> None:
        assert time_zones.zone_for_country(country, date(2026, 12, 18)) == zone

    @pytest.mark.parametrize("country", ["US", "ES", "AU", "BR", "RU", "XX", ""])
    def test_a_country_with_several_clocks_gives_none(self, country: str) -> None:
        assert time_zones.zone_for_country(country, date(2026, 12, 18)) is None

    @pytest.mark.parametrize("around", [date(1900, 1, 1), date(9999, 12, 31), date.min, date.max])
    def test_the_calendar_edges_still_give_an_answer(self, around: date) -> None:
        assert time_zones.zone_for_country("JP", around) == "Asia/Tokyo"
        assert time_zones.zone_for_country("US", around) is None

    def test_the_choice_order_and_its_source(self) -> None:
        event = {"type": "termination", "employee": {"employeeId": "E1"}}
        remembered = {"timeZone": {"name": "America/Chicago", "eventId": "wd-1"}}
        account = {"usageLocation": "DE"}
        around = date(2026, 12, 18)
        assert choose(event, record=remembered, account=account, default="UTC", around=around) == {
            "name": "America/Chicago",
            "source": "earlier-event",
            "from": "wd-1",
        }
        assert choose(event, record=None, account=account, default="UTC", around=around)["source"] == "account-location"
        assert choose(event, record=None, account={"country": "US"}, default="UTC", around=around) == {
            "name": "UTC",
            "source": "default",
        }
        relocated = {"type": "update", "employee": {"employeeId": "E1", "country": "JP"}}
        assert choose(relocated, record=remembered, account=None, default="UTC", around=around)["name"] == "Asia/Tokyo"
        named = {"type": "update", "employee": {"employeeId": "E1", "timeZone": "Europe/Lisbon", "country": "JP"}}
        assert choose(named, record=remembered, account=None, default="UTC", around=around)["source"] == "event"


class TestEmployeeRecord:
    HIRE: ClassVar[dict[str, str]] = {"instanceId": "hr-h1", "eventId": "h1", "startDate": "2026-12-01"}

    def pending(self) -> dict[str, Any]:
        state, role = record.register_hire(None, "hr-h1", "h1", "2026-12-01")
        assert role["role"] == "pending"
        return state

    def test_a_second_hire_amends_the_first(self) -> None:
        state, role = record.register_hire(self.pending(), "hr-h2", "h2", "2026-12-08")
        assert role == {"role": "amends", "hire": {**self.HIRE, "state": "waiting"}}
        _, again = record.register_hire(state, "hr-h1", "h1", "2026-12-01")
        assert again["role"] == "pending"

    def test_amendments_queue_until_claimed_then_wait_for_the_hire(self) -> None:
        state = self.pending()
        update = {"eventId": "u1", "instanceId": "hr-u1", "event": {"type": "update", "employee": {}}}
        state, answer = record.amend(state, update)
        assert answer["status"] == "queued"
        moved = {"eventId": "h2", "instanceId": "hr-h2", "event": {"type": "hire", "effectiveDate": "2026-12-15"}}
        state, answer = record.amend(state, moved)
        assert answer["hire"]["startDate"] == "2026-12-15"
        state, taken = record.take(state, "hr-h1", claim=True)
        assert [item["eventId"] for item in taken["amendments"]] == ["u1", "h2"]
        state, late = record.amend(state, {**update, "eventId": "u2"})
        assert late["status"] == "provisioning"
        late_signal, _ = record.register_hire(state, "hr-h1", "h1", "2026-12-15")  # where it was started
        assert record.amend(late_signal, {**update, "eventId": "u3"})[1]["status"] == "provisioning"
        state, _ = record.register_hire(state, "hr-h1", "h1", "2026-12-20", reopen=True)  # continued as new
        assert record.amend(state, {**update, "eventId": "u3"})[1]["status"] == "queued"
        assert state["pendingHire"]["startDate"] == "2026-12-20"

    def test_an_update_dated_after_the_start_is_not_an_amendment(self) -> None:
        later = {"eventId": "u1", "instanceId": "hr-u1", "event": {"type": "update", "effectiveDate": "2027-01-01"}}
        assert record.amend(self.pending(), later)[1]["status"] == "none"

    def test_a_termination_before_the_start_withdraws_one_after_does_not(self) -> None:
        assert record.withdraw(self.pending(), "t1", "2026-12-01")[1]["status"] == "none"
        state, answer = record.withdraw(self.pending(), "t1", "2026-11-30")
        assert answer["status"] == "withdrawn"
        _, taken = record.take(state, "hr-h1", claim=True)
        assert taken["cancelledBy"] == "t1"

    def test_an_ended_hire_is_forgotten_and_leave_is_tracked(self) -> None:
        state = record.hire_ended(self.pending(), "hr-h1")
        assert "pendingHire" not in state
        state = record.start_leave(state, "l1", "2026-12-01T00:00:00+00:00")
        assert state["leave"]["eventId"] == "l1"
        assert "leave" not in record.end_leave(state)


def test_the_fingerprint_is_canonical() -> None:
    body = {"eventId": "e1", "type": "update", "employee": {"employeeId": "E1", "country": "de", "city": " Berlin "}}
    same = {"type": "update", "employee": {"city": "Berlin", "employeeId": "E1", "country": "DE", "state": None}}
    same["eventId"] = "e1"
    assert event_fingerprint(parse_event(body)) == event_fingerprint(parse_event(same))
    other = {**body, "employee": {**body["employee"], "city": "Bonn"}}
    assert event_fingerprint(parse_event(body)) != event_fingerprint(parse_event(other))


@pytest.mark.parametrize("event_id", ["wd-2026:0001", "a_b", "ü.x", "a/b c"])
def test_instance_ids_decode_to_their_event_id(event_id: str) -> None:
    assert instance_event_id(sanitize_instance_id(event_id)) == event_id
    assert instance_event_id(sanitize_instance_id("x" * 300)) is None


def test_leave_events_need_an_account() -> None:
    assert decide_action("leave-of-absence", {"accountEnabled": True}, update_creates_missing=True)[0] == (
        "leave-of-absence"
    )


class FakeStore:
    """The Durable instance query as the Python SDK sees it: at most one page of 100, in no particular order."""

    def __init__(self, count: int) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        self.instances = [
            SimpleNamespace(instance_id=f"hr-e{index:04d}", created_time=start + timedelta(minutes=index))
            for index in range(count)
        ]
        self.queries = 0

    async def query(self, low: datetime | None, high: datetime | None, statuses: Any) -> list[Any]:
        self.queries += 1
        hits = [
            item
            for item in self.instances
            if (low is None or item.created_time >= low) and (high is None or item.created_time <= high)
        ]
        hits.sort(key=lambda item: hash(item.instance_id))  # no order promised
        return hits[:QUERY_PAGE]


def page_through(store: FakeStore, params: dict[str, str], matches: Any = lambda _: True) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = parse_query({**params, **({"cursor": cursor} if cursor else {})})
        items, cursor = asyncio.run(collect(query, store.query, matches))
        pages.append([item.instance_id for item in items])
        if not cursor:
            return pages


def test_listing_finds_the_newest_events_beyond_one_query_page() -> None:
    store = FakeStore(450)
    pages = page_through(store, {"limit": "200"})
    flat = [instance for page in pages for instance in page]
    assert flat == [f"hr-e{index:04d}" for index in reversed(range(450))]
    assert [len(page) for page in pages] == [200, 200, 50]


def test_listing_filters_and_time_bounds() -> None:
    store = FakeStore(300)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    params = {"createdFrom": (start + timedelta(minutes=100)).isoformat(), "createdTo": "2026-01-01T02:59:00Z"}
    pages = page_through(store, params, matches=lambda item: int(item.instance_id[-4:]) % 2 == 0)
    assert pages == [[f"hr-e{index:04d}" for index in range(178, 99, -2)]]


def test_listing_query_errors_name_each_parameter() -> None:
    with pytest.raises(ListQueryError) as caught:
        parse_query(
            {"stage": "done", "type": "fire", "limit": "500", "createdFrom": "yesterday", "cursor": "@@", "x": "1"}
        )
    assert {error.field for error in caught.value.errors} == {"stage", "type", "limit", "createdFrom", "cursor", "x"}
    query = parse_query({"stage": "completed,failed"})
    assert query.runtime_statuses() == [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed]
