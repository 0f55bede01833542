"""Every workflow through the functions host (real SDK, virtual clock) with a scripted tenant at the edge."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.functions_host import FunctionsHost, VirtualClock
from provisioning import runtime
from tests.orchestration.scripted_tenant import HOST_ENV, ScriptedTenant

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday morning
KEY = "workflow-test-key"

HIRE: dict[str, Any] = {
    "eventId": "wd-hire-1",
    "type": "hire",
    "effectiveDate": "2026-01-07",
    "occurredAt": "2026-01-05T08:00:00Z",
    "employee": {
        "employeeId": "E10042",
        "givenName": "Zoë",
        "familyName": "O'Brien-Müller",
        "managerEmployeeId": "E00007",
        "jobTitle": "Financial Analyst",
        "department": "Finance",
        "timeZone": "Europe/Berlin",
        "personalEmail": "zoe@example.org",
    },
}


def letters(number: int) -> str:
    """A distinct, valid given name per number (names may not contain digits)."""
    return "Al" + "".join(chr(ord("a") + int(digit)) for digit in str(number))


def event(base: dict[str, Any] = HIRE, **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    employee_changes = changes.pop("employee", {})
    result.update(changes)
    result["employee"].update(employee_changes)
    return result


@pytest.fixture
def tenant() -> ScriptedTenant:
    scripted = ScriptedTenant()
    scripted.seed_user("E00007", "maria.manager@contoso.com", displayName="Maria Manager")
    return scripted


@pytest.fixture
def make_host(tmp_path: Any, tenant: ScriptedTenant) -> Iterator[Callable[..., FunctionsHost]]:
    hosts: list[FunctionsHost] = []

    def make(start: datetime = START, **env: str) -> FunctionsHost:
        runtime.reset()
        host = FunctionsHost(
            "function_app",
            tmp_path / f"state{len(hosts)}",
            clock=VirtualClock(start=start),
            function_key=KEY,
            env={**HOST_ENV, **env},
            activity_overrides=tenant.overrides(),
            strict=True,
        )
        tenant.host = host
        hosts.append(host)
        return host.start()

    yield make
    for host in hosts:
        host.close()
    runtime.reset()


@pytest.fixture
def host(make_host: Callable[..., FunctionsHost]) -> FunctionsHost:
    return make_host()


def submit(host: FunctionsHost, body: dict[str, Any]) -> dict[str, Any]:
    response = host.request("POST", "/api/hr-events", json=body, headers={"x-functions-key": KEY})
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


def finish(host: FunctionsHost, instance_id: str) -> dict[str, Any]:
    host.run_until_idle(timeout=60)
    status = host.status(instance_id)
    assert status is not None
    return status


def api_status(host: FunctionsHost, instance_id: str) -> dict[str, Any]:
    response = host.request("GET", f"/api/hr-events/{instance_id}", headers={"x-functions-key": KEY})
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestHire:
    def test_happy_path_provisions_issues_a_pass_and_welcomes(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        accepted = submit(host, HIRE)
        status = finish(host, accepted["id"])
        assert status["runtimeStatus"] == "Completed", status
        output = status["output"]
        assert output["outcome"] == "provisioned"
        assert output["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert output["credential"]["method"] == "tap"
        assert "welcome" in tenant.mail_kinds()
        assert len(tenant.credentials) == 1
        record = tenant.uploads[0]["records"][0]
        assert record["active"] is True and record["externalId"] == "E10042"
        assert api_status(host, accepted["id"])["stage"] == "completed"

    def test_pass_starts_at_eight_local_on_the_start_date(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        finish(host, submit(host, HIRE)["id"])
        assert tenant.credentials[0]["startAt"] == "2026-01-07T07:00:00+00:00"

    def test_future_hire_waits_then_runs_at_local_midnight_lead_days_before(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        accepted = submit(host, event(eventId="wd-future", effectiveDate="2026-02-01"))
        host.set_timers_enabled(False)
        host.run_until_idle()
        assert host.custom_status(accepted["id"])["stage"] == "scheduled"
        assert tenant.uploads == []
        host.set_timers_enabled(True)
        finish(host, accepted["id"])
        assert tenant.uploads[0]["at"].startswith("2026-01-24T23:00")  # 25 Jan 00:00 in Berlin

    def test_name_taken_in_entra_uses_the_next_pattern(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.taken_in_entra.add("zoe.obrien-muller@contoso.com")
        output = finish(host, submit(host, HIRE)["id"])["output"]
        assert output["userPrincipalName"] == "z.obrien-muller@contoso.com"

    def test_conflict_only_in_ad_retries_with_the_next_candidate(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.taken_in_ad.add("zoe.obrien-muller@contoso.com")
        status = finish(host, submit(host, HIRE)["id"])
        assert status["output"]["userPrincipalName"] == "z.obrien-muller@contoso.com"
        assert [upload["records"][0]["userName"] for upload in tenant.uploads] == [
            "zoe.obrien-muller@contoso.com",
            "z.obrien-muller@contoso.com",
        ]
        assert any("taken in Active Directory" in warning for warning in status["output"]["warnings"])

    def test_conflicts_beyond_the_retry_budget_fail(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(NAME_CONFLICT_RETRIES="1")
        tenant.taken_in_ad.update({"zoe.obrien-muller@contoso.com", "z.obrien-muller@contoso.com"})
        status = finish(host, submit(host, HIRE)["id"])
        assert status["runtimeStatus"] == "Failed"
        assert api_status(host, "hr-wd-hire-1")["error"]["code"] == "NameConflictsExhausted"

    def test_two_concurrent_hires_with_the_same_name_get_different_names(self, host: FunctionsHost) -> None:
        first = submit(host, HIRE)
        second = submit(host, event(eventId="wd-hire-2", employee={"employeeId": "E10043"}))
        names = {
            finish(host, first["id"])["output"]["userPrincipalName"],
            finish(host, second["id"])["output"]["userPrincipalName"],
        }
        assert names == {"zoe.obrien-muller@contoso.com", "z.obrien-muller@contoso.com"}

    def test_duplicate_event_id_runs_once(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        first = submit(host, HIRE)
        again = host.request("POST", "/api/hr-events", json=HIRE, headers={"x-functions-key": KEY})
        assert again.status_code == 200 and again.json()["id"] == first["id"]
        finish(host, first["id"])
        after = host.request("POST", "/api/hr-events", json=HIRE, headers={"x-functions-key": KEY})
        assert after.status_code == 200 and after.json()["status"] == "completed"
        host.run_until_idle()
        assert len(tenant.uploads) == 1

    def test_missing_manager_is_a_warning_and_mail_goes_to_it(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        status = finish(host, submit(host, event(employee={"managerEmployeeId": "E99999"}))["id"])
        assert status["runtimeStatus"] == "Completed"
        assert any("E99999" in warning for warning in status["output"]["warnings"])
        assert {mail["to"] for mail in tenant.mails} == {HOST_ENV["IT_NOTIFY_ADDRESS"]}

    def test_agent_offline_fails_at_the_deadline_and_alerts_it(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.agent_online = False
        status = finish(host, submit(host, HIRE)["id"])
        assert status["runtimeStatus"] == "Failed"
        error = api_status(host, "hr-wd-hire-1")["error"]
        assert error["code"] == "SyncDeadlineNoProvisioningLog"
        assert "it_alert" in tenant.mail_kinds()
        assert tenant.credentials == []

    def test_late_connect_sync_fails_with_its_own_code(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.connect_sync = False
        finish(host, submit(host, HIRE)["id"])
        assert api_status(host, "hr-wd-hire-1")["error"]["code"] == "SyncDeadlineEntraUserMissing"

    def test_ad_error_fails_with_the_log_code(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.ad_errors["E10042"] = "InsufficientAccessRights"
        finish(host, submit(host, HIRE)["id"])
        body = api_status(host, "hr-wd-hire-1")
        assert body["stage"] == "failed"
        assert body["error"]["code"] == "InsufficientAccessRights"

    def test_missing_graph_permission_fails_before_any_upload(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.missing_roles = ["UserAuthenticationMethod.ReadWrite.All"]
        finish(host, submit(host, HIRE)["id"])
        error = api_status(host, "hr-wd-hire-1")["error"]
        assert error["code"] == "MissingGraphPermissions"
        assert "UserAuthenticationMethod.ReadWrite.All" in error["message"]
        assert tenant.uploads == []

    def test_fixed_wait_mode_waits_the_whole_deadline(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(SYNC_WAIT_MODE="fixed")
        status = finish(host, submit(host, HIRE)["id"])
        assert status["runtimeStatus"] == "Completed"
        timings = status["output"]["timings"]
        uploaded = datetime.fromisoformat(timings["uploadedAt"])
        synced = datetime.fromisoformat(timings["syncedAt"])
        assert (synced - uploaded).total_seconds() >= 60 * 60

    def test_failed_event_can_be_submitted_again(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.ad_errors["E10042"] = "InsufficientAccessRights"
        finish(host, submit(host, HIRE)["id"])
        del tenant.ad_errors["E10042"]
        again = host.request("POST", "/api/hr-events", json=HIRE, headers={"x-functions-key": KEY})
        assert again.status_code == 202
        assert finish(host, "hr-wd-hire-1")["runtimeStatus"] == "Completed"


class TestRescindAndOrdering:
    def test_scheduled_hire_can_be_rescinded(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        accepted = submit(host, event(eventId="wd-future", effectiveDate="2026-03-01"))
        host.set_timers_enabled(False)
        host.run_until_idle()
        response = host.request("DELETE", f"/api/hr-events/{accepted['id']}", headers={"x-functions-key": KEY})
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        host.set_timers_enabled(True)
        status = finish(host, accepted["id"])
        assert status["output"]["outcome"] == "cancelled"
        assert tenant.uploads == []

    @pytest.mark.parametrize("event_type", ["hire", "termination"])
    def test_an_open_ended_date_waits_and_can_be_rescinded(
        self, host: FunctionsHost, tenant: ScriptedTenant, event_type: str
    ) -> None:
        # HR writes 9999-12-31 for "no end"; in a zone behind UTC its end of day is past what Python can hold.
        body = event(eventId=f"wd-open-{event_type}", type=event_type, effectiveDate="9999-12-31")
        body["employee"] = {**body["employee"], "timeZone": "Pacific/Pago_Pago"}
        if event_type == "termination":
            tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", manager="E00007")
        accepted = submit(host, body)
        host.set_timers_enabled(False)
        host.run_until_idle()
        status = api_status(host, accepted["id"])
        assert status["runtimeStatus"] == "Running"
        assert status["stage"] in ("scheduled", "pending-hire", "waiting-for-start")
        response = host.request("DELETE", f"/api/hr-events/{accepted['id']}", headers={"x-functions-key": KEY})
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        host.set_timers_enabled(True)
        assert finish(host, accepted["id"])["output"]["outcome"] == "cancelled"
        assert tenant.uploads == []

    def test_rescind_after_upload_is_refused(self, host: FunctionsHost) -> None:
        accepted = submit(host, HIRE)
        finish(host, accepted["id"])
        response = host.request("DELETE", f"/api/hr-events/{accepted['id']}", headers={"x-functions-key": KEY})
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_unknown_id_is_404(self, host: FunctionsHost) -> None:
        response = host.request("GET", "/api/hr-events/hr-nope", headers={"x-functions-key": KEY})
        assert response.status_code == 404

    def test_older_event_is_superseded(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", manager="E00007")
        newer = event(
            eventId="wd-upd-new",
            type="update",
            occurredAt="2026-01-05T08:00:00Z",
            employee={"jobTitle": "Senior Analyst"},
        )
        older = event(
            eventId="wd-upd-old", type="update", occurredAt="2026-01-04T08:00:00Z", employee={"jobTitle": "Intern"}
        )
        for body in (newer, older):
            body.pop("effectiveDate")
        finish(host, submit(host, newer)["id"])
        status = finish(host, submit(host, older)["id"])
        assert status["output"]["outcome"] == "superseded"
        assert api_status(host, "hr-wd-upd-old")["stage"] == "superseded"
        assert len(tenant.uploads) == 1


class TestMoverLeaverRehire:
    def test_mover_with_a_new_manager_notifies_the_new_manager(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", manager="E00007")
        tenant.seed_user("E00008", "new.boss@contoso.com", displayName="New Boss")
        mover = event(
            eventId="wd-move", type="update", employee={"managerEmployeeId": "E00008", "jobTitle": "Controller"}
        )
        mover.pop("effectiveDate")
        status = finish(host, submit(host, mover)["id"])
        assert status["output"]["outcome"] == "updated" and status["output"]["managerChanged"] is True
        changed = [mail for mail in tenant.mails if mail["kind"] == "manager_changed"]
        assert changed and changed[0]["to"] == "new.boss@contoso.com"
        record = tenant.uploads[0]["records"][0]
        assert record["userName"] == "zoe.obrien-muller@contoso.com" and record["active"] is True

    def test_update_for_an_unknown_employee_fails(self, host: FunctionsHost) -> None:
        mover = event(eventId="wd-move", type="update", employee={"employeeId": "E55555"})
        mover.pop("effectiveDate")
        finish(host, submit(host, mover)["id"])
        assert api_status(host, "hr-wd-move")["error"]["code"] == "UnknownEmployee"

    def test_termination_runs_at_six_pm_local_on_the_last_day(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", manager="E00007")
        leaver = {
            "eventId": "wd-leave",
            "type": "termination",
            "effectiveDate": "2026-01-09",
            "employee": {"employeeId": "E10042", "timeZone": "America/New_York"},
        }
        status = finish(host, submit(host, leaver)["id"])
        assert status["output"]["outcome"] == "disabled"
        assert tenant.uploads[0]["at"].startswith("2026-01-09T23:00")  # 18:00 EST
        record = tenant.uploads[0]["records"][0]
        assert record["active"] is False
        assert record["userName"] == "zoe.obrien-muller@contoso.com"  # the full record, never partial
        assert tenant.revoked == ["obj-E10042"]
        assert "termination" in tenant.mail_kinds()
        assert tenant.users["E10042"]["accountEnabled"] is False

    def test_mass_terminations_are_held_until_approved(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(TERMINATION_BREAKER_LIMIT="1")
        for employee_id in ("E1", "E2"):
            tenant.seed_user(employee_id, f"{employee_id.lower()}@contoso.com")
            submit(
                host,
                {
                    "eventId": f"leave-{employee_id}",
                    "type": "termination",
                    "effectiveDate": "2026-01-05",
                    "employee": {"employeeId": employee_id},
                },
            )
        host.run_until_idle()
        stages = {i: host.custom_status(f"hr-leave-{i}")["stage"] for i in ("E1", "E2")}
        assert sorted(stages.values()) == ["completed", "held"]
        held = next(f"hr-leave-{i}" for i, stage in stages.items() if stage == "held")
        assert "held_for_approval" in tenant.mail_kinds()
        approve = host.request("POST", f"/api/hr-events/{held}/approve", headers={"x-functions-key": KEY})
        assert approve.status_code == 200
        assert finish(host, held)["output"]["outcome"] == "disabled"
        again = host.request("POST", f"/api/hr-events/{held}/approve", headers={"x-functions-key": KEY})
        assert again.status_code == 409

    def test_held_termination_can_be_rescinded(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(TERMINATION_BREAKER_LIMIT="1")
        for employee_id in ("E1", "E2"):
            tenant.seed_user(employee_id, f"{employee_id.lower()}@contoso.com")
            submit(
                host,
                {
                    "eventId": f"leave-{employee_id}",
                    "type": "termination",
                    "effectiveDate": "2026-01-05",
                    "employee": {"employeeId": employee_id},
                },
            )
        host.run_until_idle()
        held = next(f"hr-leave-{i}" for i in ("E1", "E2") if host.custom_status(f"hr-leave-{i}")["stage"] == "held")
        response = host.request("DELETE", f"/api/hr-events/{held}", headers={"x-functions-key": KEY})
        assert response.status_code == 200
        assert finish(host, held)["output"]["outcome"] == "cancelled"
        assert len(tenant.uploads) == 1

    def test_rehire_of_an_account_this_app_disabled_recently_runs_and_tells_it(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", manager="E00007")
        leaver = {
            "eventId": "wd-leave",
            "type": "termination",
            "effectiveDate": "2026-01-05",
            "employee": {"employeeId": "E10042"},
        }
        assert finish(host, submit(host, leaver)["id"])["output"]["outcome"] == "disabled"
        status = finish(host, submit(host, event(eventId="wd-rehire", type="rehire"))["id"])
        assert status["output"]["outcome"] == "provisioned", status
        assert status["output"]["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert tenant.uploads[-1]["records"][0]["active"] is True
        assert [c["policy"] for c in tenant.credentials] == ["existing"]
        assert "rehire_notice" in tenant.mail_kinds() and "held_for_approval" not in tenant.mail_kinds()

    def test_rehire_of_an_account_disabled_at_an_unknown_time_is_held_until_approved(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", enabled=False, manager="E00007")
        accepted = submit(host, event(eventId="wd-rehire", type="rehire"))
        host.run_until_idle()
        assert api_status(host, accepted["id"])["stage"] == "held"
        assert tenant.uploads == [] and tenant.credentials == []
        held = [mail for mail in tenant.mails if mail["kind"] == "held_for_approval"]
        assert held and held[0]["request"]["extra"]["hold"] == "rehire"
        approve = host.request("POST", f"/api/hr-events/{accepted['id']}/approve", headers={"x-functions-key": KEY})
        assert approve.status_code == 200
        status = finish(host, accepted["id"])
        assert status["output"]["outcome"] == "provisioned"
        assert tenant.users["E10042"]["accountEnabled"] is True
        assert "rehire_notice" in tenant.mail_kinds()

    def test_hire_matching_a_disabled_account_is_held_and_a_rescind_leaves_it_disabled(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", enabled=False)
        accepted = submit(host, HIRE)
        host.run_until_idle()
        assert api_status(host, accepted["id"])["stage"] == "held"
        response = host.request("DELETE", f"/api/hr-events/{accepted['id']}", headers={"x-functions-key": KEY})
        assert response.status_code == 200
        assert finish(host, accepted["id"])["output"]["outcome"] == "cancelled"
        assert tenant.uploads == [] and tenant.credentials == []
        assert tenant.users["E10042"]["accountEnabled"] is False

    def test_an_administrator_is_never_re_enabled_and_it_is_alerted(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        admin = tenant.seed_user("E10042", "former.admin@contoso.com", enabled=False, manager="E00007")
        tenant.protected.add(admin["id"])
        accepted = submit(host, event(eventId="wd-rehire", type="rehire"))
        finish(host, accepted["id"])
        body = api_status(host, accepted["id"])
        assert body["stage"] == "failed" and body["error"]["code"] == "ProtectedAccount"
        assert tenant.uploads == [] and tenant.credentials == []
        assert tenant.users["E10042"]["accountEnabled"] is False
        alerts = [mail for mail in tenant.mails if mail["kind"] == "it_alert"]
        assert alerts and alerts[0]["request"]["extra"]["errorCode"] == "ProtectedAccount"

    def test_a_rehires_pass_goes_to_the_manager_on_record_not_the_one_the_event_names(
        self, host: FunctionsHost, tenant: ScriptedTenant
    ) -> None:
        tenant.seed_user("E10042", "zoe.obrien-muller@contoso.com", enabled=False, manager="E00007")
        tenant.seed_user("E06666", "mallory@contoso.com", displayName="Mallory")
        rehire = event(eventId="wd-rehire", type="rehire", employee={"managerEmployeeId": "E06666"})
        accepted = submit(host, rehire)
        host.run_until_idle()
        host.request("POST", f"/api/hr-events/{accepted['id']}/approve", headers={"x-functions-key": KEY})
        status = finish(host, accepted["id"])
        assert status["output"]["outcome"] == "provisioned"
        assert [c["to"] for c in tenant.credentials] == ["maria.manager@contoso.com"]
        assert all(mail["to"] != "mallory@contoso.com" for mail in tenant.mails)


def leaver(employee_id: str, *, day: str = "2026-01-05", zone: str | None = None) -> dict[str, Any]:
    employee: dict[str, Any] = {"employeeId": employee_id}
    if zone:
        employee["timeZone"] = zone
    return {"eventId": f"leave-{employee_id}", "type": "termination", "effectiveDate": day, "employee": employee}


def stages(host: FunctionsHost, instance_ids: list[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for instance_id in instance_ids:
        stage = host.custom_status(instance_id)["stage"]
        counted[stage] = counted.get(stage, 0) + 1
    return counted


class TestMassChangeBreaker:
    def test_spreading_terminations_over_time_zones_does_not_outrun_the_breaker(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        """12 terminations for one date in 6 zones fall due in 6 different hours; with a limit of 2 an hour, only
        2 may run: the rest are held when they arrive, whatever hour they would run in."""
        host = make_host(TERMINATION_BREAKER_LIMIT="2")
        zones = ["Asia/Kolkata", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago"]
        zones.append("America/Los_Angeles")
        ids = []
        for index in range(12):
            employee_id = f"E{index:03d}"
            tenant.seed_user(employee_id, f"leaver{index}@contoso.com")
            ids.append(submit(host, leaver(employee_id, zone=zones[index % 6]))["id"])
        host.run_until_idle()
        assert stages(host, ids) == {"completed": 2, "held": 10}
        assert sum(not user["accountEnabled"] for user in tenant.users.values()) == 2

    def test_terminations_for_one_date_are_capped_however_slowly_they_arrive(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(BREAKER_DAILY_LIMIT="3")
        ids = []
        for index in range(4):
            tenant.seed_user(f"E{index}", f"leaver{index}@contoso.com")
            ids.append(submit(host, leaver(f"E{index}", day="2026-01-20"))["id"])
            host.set_timers_enabled(False)
            host.run_until_idle()
            host.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        assert stages(host, ids) == {"scheduled": 3, "held": 1}
        held = [mail for mail in tenant.mails if mail["kind"] == "held_for_approval"]
        assert "take effect on 2026-01-20" in held[0]["request"]["extra"]["reasons"][0]

    def test_a_batch_with_too_many_terminations_holds_the_rest(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(BREAKER_BATCH_LIMIT="2")
        events = []
        for index in range(5):
            tenant.seed_user(f"E{index}", f"leaver{index}@contoso.com")
            events.append(leaver(f"E{index}", day="2026-01-20"))
        response = host.request(
            "POST", "/api/hr-events/batch", json={"events": events}, headers={"x-functions-key": KEY}
        )
        assert response.status_code == 202, response.text
        host.set_timers_enabled(False)
        host.run_until_idle()
        assert stages(host, [f"hr-leave-E{index}" for index in range(5)]) == {"scheduled": 2, "held": 3}
        approve = host.request(
            "POST", f"/api/hr-events/{response.json()['id']}/approve", headers={"x-functions-key": KEY}
        )
        assert approve.status_code == 200
        host.run_until_idle()
        assert stages(host, [f"hr-leave-E{index}" for index in range(5)]) == {"scheduled": 5}

    def test_rehires_count_against_the_breaker(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        host = make_host(TERMINATION_BREAKER_LIMIT="1")
        ids = [
            submit(host, event(eventId=f"wd-rehire-{index}", type="rehire", employee={"employeeId": f"R{index}"}))["id"]
            for index in range(3)
        ]
        host.set_timers_enabled(False)
        host.run_until_idle()
        assert stages(host, ids).get("held") == 2


class TestBatch:
    def test_120_hires_take_three_bulk_requests(self, host: FunctionsHost, tenant: ScriptedTenant) -> None:
        events = [
            event(
                eventId=f"batch-hire-{index}",
                employee={"employeeId": f"B{index:04d}", "givenName": letters(index), "familyName": "Tester"},
            )
            for index in range(120)
        ]
        response = host.request(
            "POST", "/api/hr-events/batch", json={"events": events}, headers={"x-functions-key": KEY}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["accepted"] == 120 and body["rejected"] == [] and body["duplicates"] == []
        host.run_until_idle(timeout=240)
        assert [len(upload["records"]) for upload in tenant.uploads] == [50, 50, 20]
        summary = api_status(host, body["id"])
        assert summary["events"] == 120 and summary["outcomes"] == {"provisioned": 120}

    def test_invalid_events_are_rejected_individually(self, host: FunctionsHost) -> None:
        good = event(eventId="b-good")
        bad = event(eventId="b-bad", employee={"country": "Germany"})
        response = host.request(
            "POST", "/api/hr-events/batch", json={"events": [good, bad, good]}, headers={"x-functions-key": KEY}
        )
        body = response.json()
        assert response.status_code == 202 and body["accepted"] == 1
        assert {(r["index"], r["eventId"]) for r in body["rejected"]} == {(1, "b-bad"), (2, "b-good")}
        assert body["rejected"][0]["errors"][0]["field"].startswith("events[")


def test_stages_are_logged_without_personal_data(host: FunctionsHost) -> None:
    finish(host, submit(host, HIRE)["id"])
    log = host.log_path.read_text(encoding="utf-8")
    for stage in (
        "accepted",
        "resolving",
        "names",
        "preflight",
        "uploading",
        "awaiting-provisioning",
        "credential",
        "notifying",
        "completed",
    ):
        assert f"stage={stage}" in log, stage
    for personal in ("Zoë", "Brien", "zoe@example.org", "zoe.obrien"):
        assert personal not in log


class TestRetention:
    def test_finished_events_are_purged_after_the_retention_period_and_running_ones_are_kept(
        self, make_host: Callable[..., FunctionsHost], tenant: ScriptedTenant
    ) -> None:
        # The purge compares with the wall clock, as in Azure: run the virtual clock 45 days behind it.
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=45)
        host = make_host(start=start, RETENTION_DAYS="30")
        first_day = (start + timedelta(days=2)).date().isoformat()
        old = submit(host, event(effectiveDate=first_day))["id"]
        finish(host, old)
        host.clock.advance(timedelta(days=20))  # type: ignore[attr-defined]
        later_day = (start + timedelta(days=22)).date().isoformat()
        recent = submit(host, event(eventId="wd-hire-2", effectiveDate=later_day, employee={"employeeId": "E10043"}))
        finish(host, recent["id"])
        far = (start + timedelta(days=200)).date().isoformat()
        waiting = submit(host, event(eventId="wd-future", effectiveDate=far, employee={"employeeId": "E10044"}))["id"]
        host.set_timers_enabled(False)
        host.run_until_idle()
        host.clock.advance(timedelta(days=11))  # type: ignore[attr-defined]

        denied = host.request("POST", "/admin/functions/purge_finished_instances", headers={"x-functions-key": KEY})
        assert denied.status_code == 401  # a function key cannot run it; the host's master key can
        ran = host.request(
            "POST", "/admin/functions/purge_finished_instances", headers={"x-functions-key": host.master_key}
        )
        assert ran.status_code == 202

        assert host.status(old) is None
        gone = host.request("GET", f"/api/hr-events/{old}", headers={"x-functions-key": KEY})
        assert gone.status_code == 404
        assert host.status(recent["id"]) is not None and host.status(waiting) is not None
        assert host.entity_state("employee_watermark", "E10042") is not None  # entities are not purged
