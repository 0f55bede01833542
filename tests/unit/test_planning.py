"""Pure decisions: what an event does, when, and how failures and signatures are read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from provisioning import schedule
from provisioning.directory import is_name_conflict, summarize_log
from provisioning.workflows.contracts import WorkflowFailed, WorkflowOptions, parse_failure
from provisioning.workflows.plan import decide_action, effective_instant

BERLIN = schedule.zone("Europe/Berlin")
OPTIONS = WorkflowOptions()


class TestDecideAction:
    @pytest.mark.parametrize(
        ("event_type", "person", "expected"),
        [
            ("hire", None, "hire"),
            ("hire", {"accountEnabled": True}, "update"),
            ("hire", {"accountEnabled": False}, "rehire"),
            ("rehire", None, "rehire-new"),
            ("rehire", {"accountEnabled": False}, "rehire"),
            ("rehire", {"accountEnabled": True}, "update"),
            ("update", {"accountEnabled": True}, "update"),
            ("update", {"accountEnabled": False}, "update"),
            ("termination", {"accountEnabled": True}, "termination"),
            ("termination", {"accountEnabled": False}, "termination"),
        ],
    )
    def test_matrix(self, event_type: str, person: dict[str, bool] | None, expected: str) -> None:
        assert decide_action(event_type, person, update_creates_missing=False)[0] == expected

    def test_a_hire_for_an_existing_account_carries_a_warning(self) -> None:
        _, warning = decide_action("hire", {"accountEnabled": True}, update_creates_missing=False)
        assert warning and "update" in warning

    @pytest.mark.parametrize("event_type", ["update", "termination"])
    def test_unknown_employee_fails(self, event_type: str) -> None:
        with pytest.raises(WorkflowFailed) as failure:
            decide_action(event_type, None, update_creates_missing=False)
        assert failure.value.code == "UnknownEmployee"

    def test_update_creates_missing_when_configured(self) -> None:
        assert decide_action("update", None, update_creates_missing=True)[0] == "hire"


class TestEffectiveInstant:
    def test_hire_starts_lead_days_early_at_local_midnight(self) -> None:
        event = {"type": "hire", "effectiveDate": "2026-12-08"}
        assert effective_instant(event, OPTIONS, BERLIN) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)

    def test_termination_at_local_end_of_day(self) -> None:
        event = {"type": "termination", "effectiveDate": "2026-07-31"}
        assert effective_instant(event, OPTIONS, BERLIN) == datetime(2026, 7, 31, 16, 0, tzinfo=UTC)

    def test_update_without_date_is_now(self) -> None:
        assert effective_instant({"type": "update"}, OPTIONS, BERLIN) is None

    def test_dst_gap_resolves_after_the_gap(self) -> None:
        instant = schedule.at_local_time(date(2026, 3, 29), time(2, 30), BERLIN)
        assert instant.astimezone(BERLIN).hour == 3

    def test_unknown_zone_falls_back(self) -> None:
        assert schedule.zone("Mars/Olympus", "Europe/Berlin") == BERLIN
        assert str(schedule.zone(None, "Not/AZone")) == "UTC"

    @pytest.mark.parametrize("day", ["0001-01-01", "0001-01-07", "9999-12-31", "9999-12-30"])
    @pytest.mark.parametrize("event_type", ["hire", "rehire", "termination", "update"])
    @pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
    def test_every_calendar_date_has_an_instant(self, day: str, event_type: str, zone: str) -> None:
        # The event model refuses dates before 1900, but reconciliation and preview plan from stored data too:
        # the arithmetic must never overflow at either edge of the calendar, in the zones furthest from UTC.
        instant = effective_instant({"type": event_type, "effectiveDate": day}, OPTIONS, schedule.zone(zone))
        assert instant is not None
        assert instant.tzinfo is not None
        edge = datetime.min if day.startswith("0001") else datetime.max
        assert abs(instant - edge.replace(tzinfo=UTC)).days <= OPTIONS.provision_lead_days + 2

    def test_next_utc_midnight(self) -> None:
        noon = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
        assert schedule.next_utc_midnight(noon) == datetime(2027, 1, 1, tzinfo=UTC)


class TestFailureText:
    def test_round_trip_through_the_host_message(self) -> None:
        failure = WorkflowFailed("SyncDeadlineEntraUserMissing", "late sync")
        host_text = f"Orchestrator function 'hr_event' failed: {failure}"
        assert parse_failure(host_text) == {"code": "SyncDeadlineEntraUserMissing", "message": "late sync"}

    def test_unknown_failures_are_generic(self) -> None:
        assert parse_failure("Orchestrator function 'hr_event' failed: KeyError")["code"] == "InternalError"
        assert parse_failure(None) is None


def log(entry_id: str, when: str, status: str, **error: str) -> dict[str, object]:
    info: dict[str, object] = {"status": status}
    if error:
        info["errorInformation"] = error
    return {"id": entry_id, "activityDateTime": when, "provisioningStatusInfo": info, "provisioningAction": "create"}


class TestProvisioningLogSummary:
    def test_latest_entry_wins(self) -> None:
        entries = [
            log("1", "2026-12-01T09:00:00Z", "failure", errorCode="X"),
            log("2", "2026-12-01T09:05:00Z", "success"),
        ]
        assert summarize_log(entries)["status"] == "success"

    def test_conflicts_are_recognised(self) -> None:
        entry = log("1", "2026-12-01T09:00:00Z", "failure", errorCode="AzureActiveDirectoryInvalidUserPrincipalName")
        summary = summarize_log([entry])
        assert summary["conflict"] is True and summary["errorCode"] == "AzureActiveDirectoryInvalidUserPrincipalName"
        assert not is_name_conflict("InsufficientAccessRights")
        assert not is_name_conflict(None)

    def test_the_ad_agents_not_unique_codes_are_conflicts(self) -> None:
        # Neither says "Conflict": the documented UPN code and the sAMAccountName code of the same pattern.
        assert is_name_conflict("HybridSynchronizationActiveDirectoryUserPrincipalNameNotUnique")
        assert is_name_conflict("HybridSynchronizationActiveDirectorySamAccountNameNotUnique")
        assert not is_name_conflict("HybridSynchronizationActiveDirectoryInsufficientAccessRights")

    def test_ignored_ids_and_empty_logs(self) -> None:
        entry = log("1", "2026-12-01T09:00:00Z", "failure", errorCode="Conflict")
        assert summarize_log([entry], ignore_ids=["1"]) is None
        assert summarize_log([]) is None

    def test_unresolved_manager_is_reported(self) -> None:
        entry = log("1", "2026-12-01T09:00:00Z", "success")
        entry["provisioningSteps"] = [
            {"name": "EntrySynchronizationSkip", "details": {"SkipReason": "UnableToResolveReferenceAttributeValue"}}
        ]
        assert summarize_log([entry])["reasonCode"] == "UnableToResolveReferenceAttributeValue"
