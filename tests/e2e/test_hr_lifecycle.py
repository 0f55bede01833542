"""Life events on both emulators: the real app in the functions host, real clients over HTTPS to the Entra emulator.

Leave of absence (disabled at local midnight) and return, legal name change with and without rename, conversion,
a leaver disabled in the zone their hire named, and a start date that lands in AD on its own calendar date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from demo.stack import Stack, wait_until
from tests.e2e.test_product import HIRE, bulk_calls, event, outcome, submit

pytestmark = pytest.mark.e2e

ZOE = {
    "employeeId": "E10042",
    "userPrincipalName": "zoe.obrien-muller@contoso.com",
    "mail": "zoe.obrien-muller@contoso.com",
    "givenName": "Zoe",
    "surname": "O'Brien-Müller",
    "displayName": "Zoe O'Brien-Müller",
    "jobTitle": "Financial Analyst",
    "manager": "E00007",
    "onPremisesSamAccountName": "zoe.obrien-mulle",
}


def person(stack: Stack, where: str = "adUsers") -> dict[str, Any]:
    return next(user for user in stack.entra.control.state()[where] if user.get("employeeId") == "E10042")


def seed_zoe(stack: Stack, **changes: Any) -> str:
    seeded = stack.entra.control.seed_user("synced", **{**ZOE, **changes})
    return str(seeded["entraUser"]["id"])


def update(event_id: str, **employee: Any) -> dict[str, Any]:
    return {"eventId": event_id, "type": "update", "employee": {"employeeId": "E10042", **employee}}


def test_leave_disables_at_local_midnight_and_return_enables(start_stack: Callable[..., Stack]) -> None:
    # 23:50 in Tokyo on 20 December: the leave starting on the 21st waits ten (scaled) minutes.
    stack = start_stack(clock_start=datetime(2026, 12, 20, 14, 50, tzinfo=UTC))
    seed_zoe(stack)
    leave = {
        "eventId": "e2e-loa",
        "type": "leave-of-absence",
        "effectiveDate": "2026-12-21",
        "employee": {"employeeId": "E10042", "timeZone": "Asia/Tokyo"},
    }
    accepted = submit(stack, leave)
    wait_until(lambda: stack.status(accepted["id"])["stage"] == "scheduled", 10)
    assert bulk_calls(stack.entra.control.state()) == []
    status = outcome(stack, accepted["id"])
    assert status["output"]["outcome"] == "on-leave", status
    assert status["output"]["timings"]["uploadedAt"] >= "2026-12-20T15:00"  # 00:00 on the 21st in Tokyo
    assert status["timeZone"] == {"name": "Asia/Tokyo", "source": "event"}
    ad_user = person(stack)
    assert ad_user["accountEnabled"] is False and ad_user["jobTitle"] == "Financial Analyst"
    assert any(call["path"].endswith("/revokeSignInSessions") for call in stack.entra.control.state()["calls"])

    back = {
        "eventId": "e2e-back",
        "type": "return-from-leave",
        "effectiveDate": "2026-12-21",
        "employee": {"employeeId": "E10042"},
    }
    status = outcome(stack, submit(stack, back)["id"])
    assert status["output"]["outcome"] == "returned", status
    assert status["output"]["leaveStartedBy"] == "e2e-loa"
    assert person(stack)["accountEnabled"] is True
    assert person(stack, "entraUsers")["accountEnabled"] is True
    assert status["timeZone"]["source"] == "earlier-event"


def test_a_legal_name_change_keeps_the_upn_and_mail(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    seed_zoe(stack)
    status = outcome(stack, submit(stack, update("e2e-name", familyName="Schmidt"))["id"])
    assert status["output"]["nameChange"] == "kept", status
    ad_user = person(stack)
    assert ad_user["surname"] == "Schmidt"
    assert ad_user["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
    assert ad_user["mail"] == "zoe.obrien-muller@contoso.com"


def test_a_rename_gives_new_names_and_keeps_the_old_address_as_an_alias(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(settings={"RENAME_ON_NAME_CHANGE": "true"})
    object_id = seed_zoe(stack)
    status = outcome(stack, submit(stack, update("e2e-rename", familyName="Schmidt"))["id"])
    output = status["output"]
    assert output["nameChange"] == "renamed", status
    assert output["userPrincipalName"] == "zoe.schmidt@contoso.com"
    assert output["previousUserPrincipalName"] == "zoe.obrien-muller@contoso.com"
    ad_user = person(stack)
    assert ad_user["userPrincipalName"] == "zoe.schmidt@contoso.com" and ad_user["mail"] == "zoe.schmidt@contoso.com"
    assert ad_user["onPremisesSamAccountName"] == "zoe.obrien-mulle"  # the logon name stays
    entra_user = wait_until(
        lambda: (user := person(stack, "entraUsers"))["userPrincipalName"] == "zoe.schmidt@contoso.com" and user,
        10,
    )
    assert entra_user["id"] == object_id
    addresses = {address.lower() for address in entra_user["proxyAddresses"]}
    assert {"smtp:zoe.schmidt@contoso.com", "smtp:zoe.obrien-muller@contoso.com"} <= addresses
    assert "SMTP:zoe.schmidt@contoso.com" in entra_user["proxyAddresses"]


def test_a_conversion_keeps_the_account(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    object_id = seed_zoe(stack, employeeType="Contractor")
    status = outcome(stack, submit(stack, update("e2e-convert", employeeType="Employee"))["id"])
    assert status["output"]["converted"] == {"from": "Contractor", "to": "Employee"}, status
    assert status["output"]["objectId"] == object_id
    assert person(stack)["employeeType"] == "Employee"
    assert len([user for user in stack.entra.control.state()["adUsers"] if user.get("employeeId") == "E10042"]) == 1


def test_a_leaver_without_a_zone_is_disabled_at_six_pm_in_the_zone_of_their_hire(
    start_stack: Callable[..., Stack],
) -> None:
    # 17:50 in New York on the last working day, after a hire that named the zone.
    stack = start_stack(clock_start=datetime(2026, 12, 18, 22, 50, tzinfo=UTC))
    hire = event(eventId="e2e-hire-ny", effectiveDate="2026-12-14", employee={"timeZone": "America/New_York"})
    assert outcome(stack, submit(stack, hire)["id"])["output"]["outcome"] == "provisioned"
    leaver = {
        "eventId": "e2e-leave-ny",
        "type": "termination",
        "effectiveDate": "2026-12-18",
        "employee": {"employeeId": "E10042"},
    }
    status = outcome(stack, submit(stack, leaver)["id"])
    assert status["output"]["outcome"] == "disabled", status
    assert status["output"]["timings"]["uploadedAt"] >= "2026-12-18T23:00"  # 18:00 in New York, not 18:00 UTC
    assert status["timeZone"] == {"name": "America/New_York", "source": "earlier-event", "from": "e2e-hire-ny"}
    assert person(stack)["accountEnabled"] is False


def test_a_start_date_arrives_in_ad_on_its_own_calendar_date(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    madrid = event(eventId="e2e-madrid", effectiveDate="2026-11-29", employee={"timeZone": "Europe/Madrid"})
    assert outcome(stack, submit(stack, madrid)["id"])["stage"] == "completed"
    assert person(stack)["employeeHireDate"].startswith("2026-11-29")  # not the 28th (local midnight in UTC)
    sent = stack.entra.control.state()["bulkRequests"][-1]["body"]["Operations"][0]["data"]
    assert json.dumps(sent).count("2026-11-29T00:00:00Z") == 1


def test_a_change_before_the_start_amends_the_pending_hire(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    future = event(eventId="e2e-future", effectiveDate="2027-03-01")
    hire = submit(stack, future)
    wait_until(lambda: stack.status(hire["id"])["stage"] == "scheduled", 10)
    amended = outcome(stack, submit(stack, update("e2e-fix", jobTitle="Controller"))["id"])
    assert amended["output"]["outcome"] == "amended" and amended["output"]["hireEventId"] == "e2e-future"
    assert bulk_calls(stack.entra.control.state()) == []
    with stack.client() as client:
        assert client.delete(f"/hr-events/{hire['id']}").status_code == 200
    assert outcome(stack, hire["id"])["output"]["outcome"] == "cancelled"
    assert HIRE["employee"]["jobTitle"] == "Financial Analyst"  # the shared sample is untouched
