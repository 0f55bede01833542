"""What HR really sends, through the functions host (real SDK, virtual clock) with a scripted tenant at the edge:
the leaver's own zone, changes before the start date, honest idempotency and batch status, final stages only with
their output, leave of absence, legal name change and conversion."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from emulators.functions_host import FunctionsHost
from provisioning.workflows import contracts as c
from tests.orchestration.scripted_tenant import ScriptedTenant
from tests.orchestration.test_workflows import HIRE, KEY, api_status, event, finish, submit

HEADERS = {"x-functions-key": KEY}


def post(host: FunctionsHost, body: dict[str, Any]) -> Any:
    return host.request("POST", "/api/hr-events", json=body, headers=HEADERS)


def leaver(event_id: str = "wd-leave", last_day: str = "2026-01-09", **employee: Any) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "type": "termination",
        "effectiveDate": last_day,
        "employee": {"employeeId": "E10042", **employee},
    }


def seed_zoe(tenant: ScriptedTenant, **extra: Any) -> None:
    tenant.seed_user(
        "E10042",
        "zoe.obrien-muller@contoso.com",
        manager="E00007",
        givenName="Zoë",
        surname="O'Brien-Müller",
        **extra,
    )


class TestTheLeaversOwnZone:
    def test_a_leaver_without_a_zone_is_disabled_at_six_pm_in_the_zone_of_their_hire(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        finish(host, submit(host, event(employee={"timeZone": "America/New_York"}))["id"])
        status = finish(host, submit(host, leaver())["id"])
        assert status["output"]["outcome"] == "disabled"
        assert tenant.uploads[-1]["at"].startswith("2026-01-09T23:00")  # 18:00 in New York, not 18:00 UTC
        assert api_status(host, "hr-wd-leave")["timeZone"] == {
            "name": "America/New_York",
            "source": "earlier-event",
            "from": "wd-hire-1",
        }

    def test_the_accounts_country_gives_the_zone_when_it_has_only_one(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        seed_zoe(tenant, usageLocation="DE")
        finish(host, submit(host, leaver())["id"])
        assert tenant.uploads[-1]["at"].startswith("2026-01-09T17:00")  # 18:00 in Berlin
        zone = api_status(host, "hr-wd-leave")["timeZone"]
        assert zone == {"name": "Europe/Berlin", "source": "account-location", "from": "DE"}

    def test_nothing_known_falls_back_to_the_default_and_says_so(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(DEFAULT_TIME_ZONE="Asia/Tokyo")
        seed_zoe(tenant, country="US")  # several zones: not a zone to stand behind
        finish(host, submit(host, leaver())["id"])
        assert tenant.uploads[-1]["at"].startswith("2026-01-09T09:00")  # 18:00 in Tokyo
        assert api_status(host, "hr-wd-leave")["timeZone"] == {"name": "Asia/Tokyo", "source": "default"}


class TestChangesBeforeTheStartDate:
    FUTURE_HIRE = event(eventId="wd-hire-future", effectiveDate="2026-03-02")

    def test_an_update_amends_the_pending_hire(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.seed_user("E00008", "new.boss@contoso.com", displayName="New Boss")
        hire = submit(host, self.FUTURE_HIRE)
        fix = {
            "eventId": "wd-fix",
            "type": "update",
            "employee": {"employeeId": "E10042", "jobTitle": "Controller", "managerEmployeeId": "E00008"},
        }
        amended = finish(host, submit(host, fix)["id"])
        assert amended["output"]["outcome"] == "amended", amended
        assert amended["output"]["hireEventId"] == "wd-hire-future"
        output = finish(host, hire["id"])["output"]
        assert output["outcome"] == "provisioned" and output["amendedBy"] == ["wd-fix"]
        record = tenant.uploads[0]["records"][0]
        assert record["title"] == "Controller"
        # The amended hire went on as a new execution started with the amended event, and the upload built the
        # record from that input: the queue carried no copy of the event.
        assert "event" not in tenant.uploads[0]["specs"][0]
        assert host.status(hire["id"])["input"]["event"]["employee"]["jobTitle"] == "Controller"
        assert record["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"] == "E00008"
        assert tenant.uploads[0]["at"].startswith("2026-02-22T23:00")  # 23 Feb 00:00 Berlin, 7 days before

    def test_a_hire_sent_again_moves_the_start_date_and_the_schedule(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        hire = submit(host, self.FUTURE_HIRE)
        moved = event(eventId="wd-hire-moved", effectiveDate="2026-03-16")
        assert finish(host, submit(host, moved)["id"])["output"]["outcome"] == "amended"
        output = finish(host, hire["id"])["output"]
        assert output["amendedBy"] == ["wd-hire-moved"]
        assert len(tenant.uploads) == 1
        assert tenant.uploads[0]["at"].startswith("2026-03-08T23:00")  # 9 Mar 00:00 Berlin, 7 days before 16 Mar
        extension = tenant.uploads[0]["records"][0]["urn:ietf:params:scim:schemas:extension:contoso:1.0:User"]
        assert extension["HireDate"] == "2026-03-16T00:00:00Z"

    def test_a_hire_whose_start_moved_can_still_be_rescinded(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        hire = submit(host, self.FUTURE_HIRE)
        host.set_timers_enabled(False)
        submit(host, event(eventId="wd-hire-moved", effectiveDate="2026-03-16"))
        host.run_until_idle()
        assert host.custom_status(hire["id"])["detail"] == "until 2026-03-08T23:00:00+00:00"
        rescinded = host.request("DELETE", f"/api/hr-events/{hire['id']}", headers=HEADERS)
        assert rescinded.status_code == 200
        host.set_timers_enabled(True)
        status = finish(host, hire["id"])
        assert status["output"]["outcome"] == "cancelled" and status["output"]["amendedBy"] == ["wd-hire-moved"]
        assert tenant.uploads == []

    def test_a_termination_before_the_start_withdraws_the_hire(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        hire = submit(host, self.FUTURE_HIRE)
        withdrawal = finish(host, submit(host, leaver("wd-withdrawn", "2026-02-27"))["id"])
        assert withdrawal["output"]["outcome"] == "withdrawn", withdrawal
        hire_status = finish(host, hire["id"])
        assert hire_status["output"]["outcome"] == "cancelled"
        assert hire_status["output"]["cancelledBy"] == "wd-withdrawn"
        assert tenant.uploads == [] and tenant.credentials == []

    def test_an_update_dated_after_the_start_applies_to_the_account_afterwards(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        hire = submit(host, self.FUTURE_HIRE)
        later = {
            "eventId": "wd-promotion",
            "type": "update",
            "effectiveDate": "2026-04-01",
            "employee": {"employeeId": "E10042", "jobTitle": "Senior Analyst"},
        }
        promotion = submit(host, later)
        assert finish(host, hire["id"])["output"]["outcome"] == "provisioned"
        assert finish(host, promotion["id"])["output"]["outcome"] == "updated"
        assert [upload["records"][0]["title"] for upload in tenant.uploads] == ["Financial Analyst", "Senior Analyst"]


class TestIdempotency:
    def test_same_event_id_same_body_is_200_different_body_is_409(self, host: FunctionsHost) -> None:
        first = submit(host, HIRE)
        reordered = json.loads(json.dumps(HIRE, sort_keys=True))
        reordered["employee"]["middleName"] = None  # an explicit null is the same event
        assert post(host, reordered).status_code == 200
        changed = event(employee={"jobTitle": "Chief Analyst"})
        response = post(host, changed)
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["errors"][0]["field"] == "eventId" and "different body" in problem["detail"]
        finish(host, first["id"])
        assert post(host, changed).status_code == 409  # still the same eventId after the run ended

    def test_a_batch_rejects_a_reused_event_id_with_another_body(self, host: FunctionsHost) -> None:
        submit(host, HIRE)
        other = event(eventId="wd-hire-2", employee={"employeeId": "E10043"})
        body = {"events": [event(employee={"jobTitle": "Chief Analyst"}), other, HIRE]}
        response = host.request("POST", "/api/hr-events/batch", json=body, headers=HEADERS)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["accepted"] == 1
        assert [(item["index"], item["errors"][0]["field"]) for item in answer["rejected"]] == [
            (0, "events[0].eventId"),
            (2, "events[2].eventId"),
        ]


class TestStatusIsHonest:
    def test_a_batch_is_done_only_when_every_event_has_a_final_stage(self, host: FunctionsHost) -> None:
        now = event(eventId="b-now", employee={"employeeId": "B1", "givenName": "Ann", "familyName": "Now"})
        later = event(
            eventId="b-later",
            effectiveDate="2026-06-01",
            employee={"employeeId": "B2", "givenName": "Ben", "familyName": "Later"},
        )
        response = host.request("POST", "/api/hr-events/batch", json={"events": [now, later]}, headers=HEADERS)
        batch_id = response.json()["id"]
        host.wait_for(batch_id)
        host.wait_for("hr-b-now", timeout=60)
        running = api_status(host, batch_id)
        assert running["done"] is False and running["runtimeStatus"] == "Running", running
        assert running["finished"] == 1 and running["outcomes"] == {"provisioned": 1}
        assert running["stages"] == {"completed": 1, "scheduled": 1}
        host.run_until_idle(timeout=60)
        done = api_status(host, batch_id)
        assert done["done"] is True and done["runtimeStatus"] == "Completed"
        assert done["outcomes"] == {"provisioned": 2}

    @pytest.mark.parametrize("fails", [False, True])
    def test_a_final_stage_is_only_ever_stored_with_the_output_or_error(
        self, host: FunctionsHost, tenant: ScriptedTenant, monkeypatch: pytest.MonkeyPatch, fails: bool
    ) -> None:
        if fails:
            tenant.ad_errors["E10042"] = "InsufficientAccessRights"
        store = host.engine.store
        snapshots: list[tuple[str, str | None]] = []
        save = store.save_instance

        def recording_save(row: Any) -> None:
            if row.instance_id == "hr-wd-hire-1":
                snapshots.append((row.status, row.custom_status))
            save(row)

        monkeypatch.setattr(store, "save_instance", recording_save)
        finish(host, submit(host, HIRE)["id"])
        stages = [(status, json.loads(custom or "{}").get("stage")) for status, custom in snapshots]
        final = [(status, stage) for status, stage in stages if stage in ("completed", "failed")]
        assert final, stages
        assert all(status in ("Completed", "Failed") for status, _ in final), stages

    def test_rescinding_twice_is_still_cancelled_and_an_ended_event_says_so(self, host: FunctionsHost) -> None:
        scheduled = submit(host, event(eventId="wd-future", effectiveDate="2026-03-01"))
        host.set_timers_enabled(False)
        host.run_until_idle()
        assert host.request("DELETE", f"/api/hr-events/{scheduled['id']}", headers=HEADERS).status_code == 200
        host.set_timers_enabled(True)
        finish(host, scheduled["id"])
        again = host.request("DELETE", f"/api/hr-events/{scheduled['id']}", headers=HEADERS)
        assert again.status_code == 200 and again.json()["status"] == "cancelled"
        done = submit(host, HIRE)
        finish(host, done["id"])
        ended = host.request("DELETE", f"/api/hr-events/{done['id']}", headers=HEADERS)
        assert ended.status_code == 409 and ended.json()["title"] == "Event already ended"


class TestListingEvents:
    def test_recent_events_filtered_and_paged(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        for index in range(5):
            body = event(
                eventId=f"list-{index}",
                employee={"employeeId": f"L{index}", "givenName": f"Al{'abcde'[index]}", "familyName": "List"},
            )
            finish(host, submit(host, body)["id"])
        seed_zoe(tenant)
        finish(host, submit(host, leaver("list-leave"))["id"])

        def listing(query: str) -> dict[str, Any]:
            response = host.request("GET", f"/api/hr-events?{query}", headers=HEADERS)
            assert response.status_code == 200, response.text
            return dict(response.json())

        everything = listing("")
        assert [item["eventId"] for item in everything["events"]][:1] == ["list-leave"]
        assert everything["nextCursor"] is None and len(everything["events"]) == 6
        assert listing("type=termination")["events"][0]["outcome"] == "disabled"
        assert [item["id"] for item in listing("employeeId=L2")["events"]] == ["hr-list-2"]
        assert listing("stage=failed")["events"] == []
        pages, cursor = [], ""
        while True:
            page = listing("limit=2" + (f"&cursor={cursor}" if cursor else ""))
            pages.append([item["eventId"] for item in page["events"]])
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert [len(page) for page in pages] == [2, 2, 2]
        assert [event_id for page in pages for event_id in page] == [item["eventId"] for item in everything["events"]]
        bad = host.request("GET", "/api/hr-events?stage=done&limit=0", headers=HEADERS)
        assert bad.status_code == 400
        assert {error["field"] for error in bad.json()["errors"]} == {"stage", "limit"}


class TestLeaveOfAbsence:
    def test_leave_disables_at_local_midnight_and_return_enables(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        seed_zoe(tenant, jobTitle="Financial Analyst")
        leave = {
            "eventId": "wd-loa",
            "type": "leave-of-absence",
            "effectiveDate": "2026-01-12",
            "employee": {"employeeId": "E10042", "timeZone": "Asia/Tokyo", "jobTitle": "Ignored"},
        }
        status = finish(host, submit(host, leave)["id"])
        assert status["output"]["outcome"] == "on-leave", status
        assert any("not applied: jobTitle, timeZone" in warning for warning in status["output"]["warnings"])
        upload = tenant.uploads[-1]
        assert upload["at"].startswith("2026-01-11T15:00")  # 12 Jan 00:00 in Tokyo
        assert upload["records"][0]["active"] is False and upload["records"][0].get("title") == "Financial Analyst"
        assert tenant.revoked == ["obj-E10042"]
        back = {
            "eventId": "wd-back",
            "type": "return-from-leave",
            "effectiveDate": "2026-02-02",
            "employee": {"employeeId": "E10042"},
        }
        status = finish(host, submit(host, back)["id"])
        assert status["output"]["outcome"] == "returned", status
        assert tenant.uploads[-1]["at"].startswith("2026-02-01T15:00")  # the zone the leave named
        assert tenant.users["E10042"]["accountEnabled"] is True
        assert "termination" not in tenant.mail_kinds()

    def test_a_termination_during_leave_works_and_a_late_return_cannot_revive_the_leaver(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        seed_zoe(tenant)
        leave = {"eventId": "wd-loa", "type": "leave-of-absence", "effectiveDate": "2026-01-12"}
        finish(host, submit(host, {**leave, "employee": {"employeeId": "E10042"}})["id"])
        assert finish(host, submit(host, leaver(last_day="2026-01-20"))["id"])["output"]["outcome"] == "disabled"
        back = {
            "eventId": "wd-back",
            "type": "return-from-leave",
            "effectiveDate": "2026-02-02",
            "employee": {"employeeId": "E10042"},
        }
        finish(host, submit(host, back)["id"])
        assert api_status(host, "hr-wd-back")["error"]["code"] == "NotOnLeave"
        assert tenant.users["E10042"]["accountEnabled"] is False


class TestNameChangeAndConversion:
    def married(self) -> dict[str, Any]:
        return {
            "eventId": "wd-name",
            "type": "update",
            "employee": {"employeeId": "E10042", "familyName": "Schmidt"},
        }

    def test_a_legal_name_change_keeps_the_upn_and_mail_by_default(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        seed_zoe(tenant)
        output = finish(host, submit(host, self.married())["id"])["output"]
        assert output["nameChange"] == "kept" and output["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        record = tenant.uploads[-1]["records"][0]
        assert record["userName"] == "zoe.obrien-muller@contoso.com" and record["name"]["familyName"] == "Schmidt"

    def test_a_rename_takes_a_new_name_and_keeps_the_old_address_as_an_alias(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(RENAME_ON_NAME_CHANGE="true")
        seed_zoe(tenant, proxyAddresses=["SMTP:zoe.obrien-muller@contoso.com"])
        output = finish(host, submit(host, self.married())["id"])["output"]
        assert output["nameChange"] == "renamed"
        assert output["userPrincipalName"] == "zoe.schmidt@contoso.com"
        assert output["previousUserPrincipalName"] == "zoe.obrien-muller@contoso.com"
        record = tenant.uploads[-1]["records"][0]
        extension = record["urn:ietf:params:scim:schemas:extension:contoso:1.0:User"]
        assert extension["proxyAddresses"] == ["SMTP:zoe.schmidt@contoso.com", "smtp:zoe.obrien-muller@contoso.com"]
        assert extension["samAccountName"] == "zoe.obrien-muller"  # the logon name never changes

    def test_a_conversion_keeps_the_account(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        seed_zoe(tenant, employeeType="Contractor")
        conversion = {
            "eventId": "wd-convert",
            "type": "update",
            "employee": {"employeeId": "E10042", "employeeType": "Employee"},
        }
        output = finish(host, submit(host, conversion)["id"])["output"]
        assert output["converted"] == {"from": "Contractor", "to": "Employee"}
        assert output["objectId"] == "obj-E10042" and output["userPrincipalName"] == "zoe.obrien-muller@contoso.com"


class TestLifecycleMeetsTheSafeguards:
    """Where the pending hire, the leave and the rename meet the breaker and the name reservations."""

    @staticmethod
    def leave(index: int) -> dict[str, Any]:
        employee = {"employeeId": f"L{index}"}
        return {
            "eventId": f"wd-loa-{index}",
            "type": "leave-of-absence",
            "effectiveDate": "2026-01-05",
            "employee": employee,
        }

    def test_a_mass_leave_is_held_like_a_mass_termination(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(TERMINATION_BREAKER_LIMIT="2")
        for index in range(4):
            tenant.seed_user(f"L{index}", f"leave{index}@contoso.com")
        ids = [submit(host, self.leave(index))["id"] for index in range(4)]
        host.run_until_idle()
        stages = [host.custom_status(instance_id)["stage"] for instance_id in ids]
        assert stages.count("held") == 2 and stages.count("completed") == 2, stages
        assert sum(not user["accountEnabled"] for user in tenant.users.values()) == 2
        held = [mail for mail in tenant.mails if mail["kind"] == "held_for_approval"]
        assert len(held) == 2 and held[0]["request"]["extra"]["hold"] == "breaker"

    def test_returns_from_leave_count_as_re_enables(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(TERMINATION_BREAKER_LIMIT="1")
        for index in range(2):
            tenant.seed_user(f"L{index}", f"leave{index}@contoso.com")
            finish(host, submit(host, self.leave(index))["id"])
            host.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        host.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        back = [
            {
                "eventId": f"wd-back-{index}",
                "type": "return-from-leave",
                "effectiveDate": "2026-01-05",
                "employee": {"employeeId": f"L{index}"},
            }
            for index in range(2)
        ]
        ids = [submit(host, body)["id"] for body in back]
        host.run_until_idle()
        stages = sorted(host.custom_status(instance_id)["stage"] for instance_id in ids)
        assert stages == ["completed", "held"], stages

    def test_a_rehire_is_counted_once_however_often_its_start_moves(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        """A rehire whose start date moved continues as new; counting it again then would see the other rehire
        that arrived meanwhile and hold it, although nothing about it changed."""
        host = make_host(TERMINATION_BREAKER_LIMIT="1")
        host.set_timers_enabled(False)
        first = event(eventId="wd-rehire-0", type="rehire", effectiveDate="2026-03-02", employee={"employeeId": "R0"})
        second = event(eventId="wd-rehire-1", type="rehire", effectiveDate="2026-03-02", employee={"employeeId": "R1"})
        first_id = submit(host, first)["id"]
        host.run_until_idle()
        second_id = submit(host, second)["id"]
        host.run_until_idle()
        assert host.custom_status(second_id)["stage"] == "held"
        moved = event(first, eventId="wd-rehire-0-moved", effectiveDate="2026-03-16")
        moved_status = submit(host, moved)
        host.run_until_idle()
        assert host.custom_status(moved_status["id"])["stage"] == "completed"  # amended; not counted, not held
        custom = host.custom_status(first_id)
        assert custom["stage"] == "scheduled" and custom["detail"] == "until 2026-03-08T23:00:00+00:00", custom
        held = [mail["request"]["instanceId"] for mail in tenant.mails if mail["kind"] == "held_for_approval"]
        assert held == [second_id]

    def test_a_rename_keeps_its_new_names_as_taken_and_an_unchanged_user_name_is_not_renamed(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(RENAME_ON_NAME_CHANGE="true")
        seed_zoe(tenant)
        married = {"eventId": "wd-name", "type": "update", "employee": {"employeeId": "E10042", "familyName": "Weber"}}
        assert finish(host, submit(host, married)["id"])["output"]["userPrincipalName"] == "zoe.weber@contoso.com"
        assert host.entity_state(c.NAME_RESERVATION, "local:zoe.weber")["taken"] == "provisioned"
        # The same legal name again with other accents makes the account's own user name: nothing to rename.
        accents = {
            "eventId": "wd-accent",
            "type": "update",
            "employee": {"employeeId": "E10042", "familyName": "Wéber"},
        }
        output = finish(host, submit(host, accents)["id"])["output"]
        assert output["nameChange"] == "kept" and output["userPrincipalName"] == "zoe.weber@contoso.com"
