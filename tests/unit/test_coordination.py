"""The state machines behind the durable entities and the uploader's pacing, tested as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provisioning import entities, safeguards
from provisioning.safeguards import EXECUTION, SUBMISSION, Limits
from provisioning.workflows.uploader import next_call_time, result_for

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


class TestNameReservation:
    def test_first_owner_wins_and_retries_are_idempotent(self) -> None:
        state, granted = entities.reserve(None, "hr-a")
        assert granted
        state, again = entities.reserve(state, "hr-a")
        assert again
        state, other = entities.reserve(state, "hr-b")
        assert not other
        assert state == {"owner": "hr-a"}

    def test_only_the_owner_releases(self) -> None:
        state, _ = entities.reserve(None, "hr-a")
        assert entities.release(state, "hr-b") == state
        assert entities.release(state, "hr-a") is None
        _, granted = entities.reserve(entities.release(state, "hr-a"), "hr-b")
        assert granted

    def test_a_name_known_to_be_taken_is_refused_until_the_mark_expires(self) -> None:
        state, _ = entities.reserve(None, "hr-a", at(0))
        state = entities.mark_taken(state, "hr-a", "entra", at(1))
        assert state == {"taken": "entra", "at": at(1)}
        assert not entities.is_free(state, "hr-b", at(2))
        assert entities.reserve(state, "hr-b", at(2)) == (state, False)
        later = at(entities.TAKEN_FOR.total_seconds() + 2)
        assert entities.is_free(state, "hr-b", later)
        assert entities.reserve(state, "hr-b", later) == ({"owner": "hr-b"}, True)

    def test_another_events_reservation_is_not_overwritten_by_a_taken_mark(self) -> None:
        state, _ = entities.reserve(None, "hr-a", at(0))
        assert entities.mark_taken(state, "hr-b", "ad", at(1)) == state
        assert entities.is_free(state, "hr-a") and not entities.is_free(state, "hr-b")


class TestWatermark:
    def test_older_event_is_stale_newer_is_fresh(self) -> None:
        state = entities.apply_watermark(None, "2026-11-20T09:00:00+00:00", "e2")
        assert entities.check_watermark(state, "2026-11-20T08:59:59+00:00") == "stale"
        assert entities.check_watermark(state, "2026-11-20T09:00:00+00:00") == "fresh"
        assert entities.check_watermark(state, "2026-11-21T00:00:00+00:00") == "fresh"

    def test_offsets_are_compared_as_instants(self) -> None:
        state = entities.apply_watermark(None, "2026-11-20T10:00:00+01:00", "e1")  # 09:00Z
        assert entities.check_watermark(state, "2026-11-20T09:30:00+00:00") == "fresh"
        assert entities.check_watermark(state, "2026-11-20T08:30:00+00:00") == "stale"

    def test_missing_timestamps_never_supersede(self) -> None:
        state = entities.apply_watermark(None, "2026-11-20T09:00:00+00:00", "e1")
        assert entities.check_watermark(state, None) == "fresh"
        assert entities.check_watermark(None, "2026-11-20T09:00:00+00:00") == "fresh"
        assert entities.apply_watermark(state, None, "e3") == state

    def test_an_older_apply_does_not_lower_the_mark(self) -> None:
        state = entities.apply_watermark(None, "2026-11-20T09:00:00+00:00", "new")
        assert entities.apply_watermark(state, "2026-11-19T09:00:00+00:00", "old") == state


LIMITS = Limits(hourly=2, daily=3, batch=2)


def admit(
    state: dict[str, Any] | None, instance: str, seconds: float, phase: str = SUBMISSION, **kw: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    return safeguards.admit_change(state, instance_id=instance, phase=phase, at=at(seconds), limits=LIMITS, **kw)


class TestMassChangeBreaker:
    def test_holds_past_the_hourly_limit_and_keeps_counting_held_attempts(self) -> None:
        state = None
        for index, seconds in enumerate((0, 1800)):
            state, verdict = admit(state, f"hr-{index}", seconds)
            assert verdict == {"verdict": "admitted"}
        state, verdict = admit(state, "hr-2", 1900)
        assert verdict["verdict"] == "held" and "within an hour" in verdict["reason"]
        state, verdict = admit(state, "hr-3", 3650)  # hr-0 has left the hour; hr-1 and the held hr-2 have not
        assert verdict["verdict"] == "held"
        assert state["held"] == ["hr-2", "hr-3"]

    def test_effective_date_caps_whatever_the_arrival_spread(self) -> None:
        state = None
        for index in range(3):
            state, verdict = admit(state, f"hr-{index}", index * 7200, effective_date="2026-12-31")
            assert verdict["verdict"] == "admitted"
        state, verdict = admit(state, "hr-3", 4 * 7200, effective_date="2026-12-31")
        assert verdict["verdict"] == "held" and "2026-12-31" in verdict["reason"]
        _, verdict = admit(state, "hr-4", 5 * 7200, effective_date="2027-01-01")
        assert verdict["verdict"] == "admitted"

    def test_batch_cap(self) -> None:
        state = None
        verdicts = []
        for index in range(4):
            state, verdict = admit(state, f"hr-{index}", index * 4000, batch="batch-1")
            verdicts.append(verdict["verdict"])
        assert verdicts == ["admitted", "admitted", "held", "held"]

    def test_execution_counts_a_rolling_hour_and_24_hours(self) -> None:
        state = None
        verdicts = []
        for index in range(5):
            state, verdict = admit(state, f"hr-{index}", index * 2000, phase=EXECUTION)
            verdicts.append(verdict["verdict"])
        # At most one other within any hour (2000 s apart), but the 4th already has three others in 24 hours.
        assert verdicts == ["admitted", "admitted", "admitted", "held", "held"]

    def test_a_repeated_admission_is_not_counted_twice_and_release_clears_the_hold(self) -> None:
        state, _ = admit(None, "hr-0", 0)
        state, verdict = admit(state, "hr-0", 1)
        assert verdict["verdict"] == "admitted" and len(state[SUBMISSION]) == 1
        state, _ = admit(state, "hr-1", 2)
        state, verdict = admit(state, "hr-2", 3)
        assert verdict["verdict"] == "held"
        assert safeguards.release_held(state, "hr-2")["held"] == []

    def test_old_entries_are_pruned(self) -> None:
        state, _ = admit(None, "hr-0", 0, effective_date="2026-11-01", batch="batch-old")
        state, _ = admit(state, "hr-1", 3 * 86400)
        assert list(state[SUBMISSION]) == ["hr-1"] and state["byDate"] == {} and state["byBatch"] == {}


class TestAccountLifecycle:
    def test_days_since_this_app_disabled_the_account(self) -> None:
        assert safeguards.disabled_days(None, T0) is None
        assert safeguards.disabled_days({"disabledAt": at(0)}, T0 + timedelta(days=45)) == 45


def test_an_event_whose_record_could_not_be_built_is_told_so_alone() -> None:
    result = {"status": "accepted", "submittedAt": at(0), "rejectedItems": {"hr-2": "the account is gone"}}
    assert result_for("hr-1", result) == {"status": "accepted", "submittedAt": at(0)}
    assert result_for("hr-2", result) == {
        "status": "rejected",
        "code": "RecordNotBuilt",
        "message": "the account is gone",
    }


def item(instance: str, seconds: float, group: str | None = None) -> dict[str, object]:
    return {"instanceId": instance, "record": {"externalId": instance}, "group": group, "at": at(seconds)}


class TestBulkUploadQueue:
    def test_first_enqueue_starts_an_uploader_later_ones_do_not(self) -> None:
        state, ticket = entities.enqueue(None, item("hr-1", 0))
        assert ticket["startUploader"] == "bulk-uploader-1"
        state, ticket = entities.enqueue(state, item("hr-2", 1))
        assert ticket["startUploader"] is None

    def test_partial_request_waits_for_quiet_then_goes(self) -> None:
        state, _ = entities.enqueue(None, item("hr-1", 0))
        state, taken = entities.take(state, at(5), quiet_seconds=10)
        assert taken["chunks"] == [] and not taken["close"]
        state, taken = entities.take(state, at(10), quiet_seconds=10)
        assert [[i["instanceId"] for i in chunk] for chunk in taken["chunks"]] == [["hr-1"]]

    def test_full_requests_go_at_once_in_arrival_order(self) -> None:
        state = None
        for index in range(120):
            state, _ = entities.enqueue(state, item(f"hr-{index}", 0))
        state, taken = entities.take(state, at(1), quiet_seconds=10)
        assert [len(chunk) for chunk in taken["chunks"]] == [50, 50]
        assert taken["chunks"][0][0]["instanceId"] == "hr-0"
        state, taken = entities.take(state, at(10), quiet_seconds=10)
        assert [len(chunk) for chunk in taken["chunks"]] == [20]

    def test_empty_queue_closes_and_the_next_record_starts_a_new_generation(self) -> None:
        state, _ = entities.enqueue(None, item("hr-1", 0))
        state, _ = entities.take(state, at(10), quiet_seconds=10)
        state, taken = entities.take(state, at(20), quiet_seconds=10)
        assert taken["close"]
        _, ticket = entities.enqueue(state, item("hr-2", 30))
        assert ticket["startUploader"] == "bulk-uploader-2"

    def test_a_batch_partial_waits_for_its_stragglers(self) -> None:
        state = entities.expect_group(None, "batch-x", 3, at(0))
        state, _ = entities.enqueue(state, item("hr-1", 0, "batch-x"))
        state, _ = entities.enqueue(state, item("hr-2", 0, "batch-x"))
        state, taken = entities.take(state, at(60), quiet_seconds=10)
        assert taken["chunks"] == [] and not taken["close"]
        state, _ = entities.enqueue(state, item("hr-3", 61, "batch-x"))
        state, taken = entities.take(state, at(80), quiet_seconds=10)
        assert [len(chunk) for chunk in taken["chunks"]] == [3]

    def test_a_member_that_leaves_releases_the_batch(self) -> None:
        state = entities.expect_group(None, "batch-x", 2, at(0))
        state, _ = entities.enqueue(state, item("hr-1", 0, "batch-x"))
        state = entities.leave_group(state, "batch-x")
        state, taken = entities.take(state, at(20), quiet_seconds=10)
        assert [len(chunk) for chunk in taken["chunks"]] == [1]

    def test_time_alone_never_sends_a_batch_partial_it_asks_for_a_look(self) -> None:
        state = entities.expect_group(None, "batch-x", 5, at(0))
        state, _ = entities.enqueue(state, item("hr-1", 10, "batch-x"))
        state, taken = entities.take(state, at(10 + 179), quiet_seconds=10, group_wait_seconds=180)
        assert taken["chunks"] == [] and taken["verify"] == []
        state, taken = entities.take(state, at(10 + 180), quiet_seconds=10, group_wait_seconds=180)
        assert taken["chunks"] == [] and taken["verify"] == ["batch-x"]
        state, taken = entities.take(state, at(10 + 10_000), quiet_seconds=10, group_wait_seconds=180)
        assert taken["chunks"] == [], "however long it waits, the partial goes only after the look"

    def test_members_still_on_their_way_are_waited_for_again(self) -> None:
        state = entities.expect_group(None, "batch-x", 5, at(0))
        state, _ = entities.enqueue(state, item("hr-1", 0, "batch-x"))
        state = entities.extend_group(state, "batch-x", at(200))
        state, taken = entities.take(state, at(300), quiet_seconds=10, group_wait_seconds=180)
        assert taken["chunks"] == [] and taken["verify"] == []
        state, _ = entities.enqueue(state, item("hr-2", 400, "batch-x"))
        state, taken = entities.take(state, at(500), quiet_seconds=10, group_wait_seconds=180)
        assert taken["verify"] == [], "an arrival restarts the wait"

    def test_a_released_batch_sends_its_partial(self) -> None:
        state = entities.expect_group(None, "batch-x", 5, at(0))
        state, _ = entities.enqueue(state, item("hr-1", 0, "batch-x"))
        state = entities.release_group(state, "batch-x")
        _, taken = entities.take(state, at(20), quiet_seconds=10)
        assert [len(chunk) for chunk in taken["chunks"]] == [1] and taken["verify"] == []

    def test_requeue_of_the_same_event_replaces_its_record(self) -> None:
        state, _ = entities.enqueue(None, item("hr-1", 0))
        replaced = {**item("hr-1", 1), "record": {"externalId": "second"}}
        state, _ = entities.enqueue(state, replaced)
        assert [queued["record"] for queued in state["pending"]] == [{"externalId": "second"}]


class TestPacing:
    def test_free_below_the_limit(self) -> None:
        assert next_call_time([at(0), at(1)], T0 + timedelta(seconds=2), 3) is None

    def test_waits_until_the_oldest_call_leaves_the_window(self) -> None:
        recent = [at(0), at(1), at(2)]
        assert next_call_time(recent, T0 + timedelta(seconds=3), 3) == T0 + timedelta(seconds=5)

    def test_calls_older_than_five_seconds_do_not_count(self) -> None:
        assert next_call_time([at(0)], T0 + timedelta(seconds=5), 1) is None

    @pytest.mark.parametrize("limit", [1, 40])
    def test_never_more_than_the_limit_in_any_window(self, limit: int) -> None:
        recent: list[str] = []
        now = T0
        for _ in range(limit * 4):
            wait = next_call_time(recent, now, limit)
            now = wait or now
            recent.append(now.isoformat())
        times = [datetime.fromisoformat(t) for t in recent]
        for start in times:
            inside = [t for t in times if start <= t < start + timedelta(seconds=5)]
            assert len(inside) <= limit
