"""The reconciliation's durable state as plain functions: chunks and their tags, correlation cases and decisions,
the schedule's due occurrence, the summary mail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provisioning.notifications import Notifier, ReconciliationSummaryContext
from provisioning.reconciliation import store
from provisioning.reconciliation.cadence import due_occurrence, scheduled_run_id

OPEN = {
    "E1": {"E1.a": {"accountId": "acct-1", "confidence": 0.6}, "E1.b": {"accountId": "acct-2", "confidence": 0.6}},
    "E2": {"E2.a": {"accountId": "acct-1", "confidence": 0.84}},
}


def test_chunks_and_tags() -> None:
    items = list(range(600))
    parts = store.chunks(items)
    assert [len(part) for part in parts] == [250, 250, 100]
    assert store.chunks([]) == [[]]
    assert store.chunk_tag("r1", parts[0]) != store.chunk_tag("r1", parts[1]) != store.chunk_tag("r2", parts[1])
    assert store.chunk_tag("r1", [1, 2]).startswith("r1:2:")


def test_a_newer_run_replaces_the_open_cases_and_an_older_one_does_not() -> None:
    state = store.replace_open(None, "2026-11-27T09:00:00+00:00", "r2", OPEN)
    assert set(state["open"]) == {"E1", "E2"}
    stale = store.replace_open(state, "2026-11-26T09:00:00+00:00", "r1", {})
    assert stale["open"] == state["open"]
    cleared = store.replace_open(state, "2026-11-28T09:00:00+00:00", "r3", {})
    assert cleared["open"] == {}


def test_confirming_rejects_the_other_candidates_and_claimants_and_releases_waiting_hires() -> None:
    state = store.replace_open(None, "2026-11-27T09:00:00+00:00", "r1", OPEN)
    state, _ = store.check(state, "E1", "hr-hire-E1")
    assert state["waiting"] == {"E1": ["hr-hire-E1"]}
    decision = {"caseId": "E1.a", "employeeId": "E1", "accountId": "ACCT-1", "status": "confirmed", "by": "approver"}
    state, waiting = store.decide(state, decision)
    assert waiting == ["hr-hire-E1"] and state["waiting"] == {}
    assert state["open"] == {}
    assert {key: item["status"] for key, item in state["decided"].items()} == {
        "E1.a": "confirmed",
        "E1.b": "rejected",
        "E2.a": "rejected",
    }
    rejected, confirmed = store.decisions_of(state)
    assert rejected == {"E1.b", "E2.a"} and confirmed == {"E1": "acct-1"}
    _, answer = store.check(state, "E1", None)
    assert answer == {"open": [], "confirmed": [{"caseId": "E1.a", "accountId": "acct-1"}]}
    # A decided case is not reopened by the next run.
    again = store.replace_open(state, "2026-11-28T09:00:00+00:00", "r2", OPEN)
    assert again["open"] == {}


def test_open_cases_of_a_plan() -> None:
    entries = [
        {"employeeId": "E1", "cases": [{"caseId": "E1.a", "account": {"id": "ACCT"}, "confidence": 0.6}]},
        {"employeeId": "E2", "class": "stale"},
    ]
    assert store.open_cases_of(entries) == {"E1": {"E1.a": {"accountId": "acct", "confidence": 0.6}}}


@pytest.mark.parametrize(
    ("expression", "now", "due"),
    [
        ("0 30 2 * * *", datetime(2026, 11, 27, 2, 34, tzinfo=UTC), datetime(2026, 11, 27, 2, 30, tzinfo=UTC)),
        ("30 2 * * *", datetime(2026, 11, 27, 2, 30, tzinfo=UTC), datetime(2026, 11, 27, 2, 30, tzinfo=UTC)),
        ("30 2 * * *", datetime(2026, 11, 27, 3, 15, tzinfo=UTC), None),
        ("0 0 */6 * * *", datetime(2026, 11, 27, 12, 4, 59, tzinfo=UTC), datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),
    ],
)
def test_the_schedule_is_due_once_per_occurrence(expression: str, now: datetime, due: datetime | None) -> None:
    assert due_occurrence(expression, now) == due
    if due is not None:
        assert scheduled_run_id(due) == f"{due:%Y%m%dT%H%M%SZ}-scheduled"


def test_the_summary_mail_says_held_and_why_without_personal_data() -> None:
    mail = Notifier("it@contoso.com").render_reconciliation_summary(
        ReconciliationSummaryContext(
            run_id="20261127T090000Z-0a1b2c3d4e",
            source="bamboohr",
            stage="held",
            classes={"leaver-enabled": 40, "orphan": 2},
            changes={"disable": 40},
            hold_reasons=("the plan holds 40 disables and re-enables, more than 25",),
            auto_apply=("stale",),
            applied=None,
            planned_at=datetime(2026, 11, 27, 9, tzinfo=UTC),
            api_base_url="https://func-hr.azurewebsites.net/api",
        )
    )
    assert mail.subject == "[HR provisioning] Reconciliation 20261127T090000Z-0a1b2c3d4e: plan held"
    assert mail.importance == "high" and mail.to == ("it@contoso.com",)
    assert "more than 25" in mail.text and "leaver-enabled: 40" in mail.text
    assert "https://func-hr.azurewebsites.net/api/reconciliations/20261127T090000Z-0a1b2c3d4e/apply" in mail.html
