"""The reconciliation settings are validated like every other: each problem named, all at once."""

from __future__ import annotations

import pytest

from tests.unit.test_settings import load, problems_of

CONNECTOR = {
    "KEY_VAULT_URL": "https://kv-hr.vault.azure.net/",
    "BAMBOOHR_ENABLED": "true",
    "BAMBOOHR_COMPANY_DOMAIN": "contoso",
    "BAMBOOHR_API_KEY_SECRET_NAME": "bamboo-key",
    "BAMBOOHR_WEBHOOK_SECRET_NAME": "bamboo-webhook",
}


def test_defaults_preview_only_and_hold_a_disabling_plan() -> None:
    settings = load()
    assert settings.reconcile_schedule is None and settings.reconcile_auto_apply is None
    assert (settings.reconcile_max_disables, settings.reconcile_max_disables_percent) == (25, 5)
    assert settings.reconcile_scope == "synced" and "jobTitle" in settings.reconcile_attributes
    assert (settings.breaker_create_limit, settings.breaker_update_limit) == (500, 2000)


@pytest.mark.parametrize("schedule", ["30 2 * * *", "0 30 2 * * *", "0 */15 * * * *"])
def test_a_schedule_is_cron_with_five_or_six_fields(schedule: str) -> None:
    settings = load(RECONCILE_SCHEDULE=schedule, RECONCILE_SOURCE="bamboohr", **CONNECTOR)
    assert settings.reconcile_schedule == schedule and settings.reconcile_source == "bamboohr"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"RECONCILE_SCHEDULE": "daily at two"}, "RECONCILE_SCHEDULE: 'daily at two' is not a cron expression"),
        ({"RECONCILE_SCHEDULE": "61 2 * * *"}, "RECONCILE_SCHEDULE: '61 2 * * *' is not a cron expression"),
        ({"RECONCILE_SCHEDULE": "30 2 * * *"}, "RECONCILE_SOURCE is required when RECONCILE_SCHEDULE is set"),
        (
            {"RECONCILE_SCHEDULE": "30 2 * * *", "RECONCILE_SOURCE": "hibob"},
            "HIBOB_ENABLED must be true for RECONCILE_SOURCE=hibob",
        ),
        ({"RECONCILE_SOURCE": "workday"}, "RECONCILE_SOURCE: 'workday' is not one of bamboohr, hibob, personio"),
        ({"RECONCILE_AUTO_APPLY": "stale,orphan"}, "RECONCILE_AUTO_APPLY: unknown drift class 'orphan'"),
        ({"RECONCILE_ATTRIBUTES": "jobTitle,manager"}, "RECONCILE_ATTRIBUTES: unknown HR field 'manager'"),
        ({"RECONCILE_MAX_DISABLES_PERCENT": "101"}, "RECONCILE_MAX_DISABLES_PERCENT: 101 must be between 0 and 100"),
        ({"RECONCILE_SCOPE": "cloud"}, "RECONCILE_SCOPE: 'cloud' is not one of synced, all"),
    ],
)
def test_bad_reconciliation_settings_are_named(overrides: dict[str, str], expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems_of(**overrides)), problems_of(**overrides)


def test_auto_apply_and_attributes_are_lists_without_repeats() -> None:
    settings = load(RECONCILE_AUTO_APPLY="stale, leaver-enabled,stale", RECONCILE_ATTRIBUTES="jobTitle,department")
    assert settings.reconcile_auto_apply == ("stale", "leaver-enabled")
    assert settings.reconcile_attributes == ("jobTitle", "department")
