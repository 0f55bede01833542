"""Settings: every setting validated once, every problem reported at once, the endpoint parsed strictly."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pydantic
import pytest

from provisioning.naming import NamePolicy
from provisioning.settings import (
    SETTING_NAMES,
    SETTINGS,
    Settings,
    SettingsError,
    parse_bulk_upload_endpoint,
)

REPO = Path(__file__).resolve().parents[2]
SP_ID = "3b0e4f2a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
JOB_ID = "API2AD.0f1e2d3c4b5a69788796a5b4c3d2e1f0.1a03de52-b9c3-4e2c-a1e3-9145aaa8e530"
ENDPOINT = f"https://graph.microsoft.com/v1.0/servicePrincipals/{SP_ID}/synchronization/jobs/{JOB_ID}/bulkUpload"
REQUIRED = {
    "PROVISIONING_API_ENDPOINT": ENDPOINT,
    "UPN_DOMAIN": "contoso.com",
    "MAIL_SENDER": "hr-provisioning@contoso.com",
    "IT_NOTIFY_ADDRESS": "it-ops@contoso.com",
}


def load(**overrides: str) -> Settings:
    return Settings.from_env({**REQUIRED, **overrides})


def problems_of(**overrides: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(**overrides)
    return caught.value.problems


def test_required_only_gives_documented_defaults() -> None:
    settings = load()
    assert settings.service_principal_id == SP_ID
    assert settings.job_id == JOB_ID
    assert settings.graph_api_version == "v1.0"
    assert settings.mail_domain == "contoso.com"
    assert settings.graph_auth == "managed_identity"
    assert settings.signature_tolerance_seconds == 300
    assert settings.secret_cache_ttl_seconds == 900
    assert settings.provision_lead_days == 7
    assert settings.sync_timeout_minutes == 60
    assert settings.sync_wait_mode == "watch"
    assert settings.credential_method == "tap"
    assert settings.tap_lifetime_minutes == 480
    assert settings.tap_start_local_time == time(8, 0)
    assert settings.credential_recipient == "manager"
    assert settings.update_creates_missing is False
    assert settings.termination_local_time == time(18, 0)
    assert settings.revoke_sessions is True
    assert settings.bulk_calls_per_5s == 40
    assert settings.bulk_daily_call_quota == 2000
    assert settings.termination_breaker_limit == 25
    assert settings.scim_extension_urn == "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
    assert settings.transliteration == "basic"
    assert settings.name_patterns == ("{given}.{family}", "{given_initial}.{family}")
    assert settings.name_suffix_pattern == "{given}.{family}{n}"
    assert settings.name_conflict_retries == 3
    assert settings.default_time_zone == "UTC"
    assert settings.templates_dir is None
    assert settings.welcome_to_new_mailbox is False
    assert settings.upload_coalesce_seconds == 10
    assert settings.provisioning_poll_initial_seconds == 30
    assert settings.provisioning_poll_max_seconds == 300
    assert settings.taskhub_name == "hrprovisioning"
    assert settings.azure_client_id is None
    assert settings.key_vault_url is None
    assert settings.signing_enabled is False
    assert settings.default_zone.key == "UTC"


def test_every_spec_maps_to_a_settings_attribute() -> None:
    attributes = set(Settings.model_fields)
    for spec in SETTINGS:
        assert spec.name.lower() in attributes, spec.name
    assert len(set(SETTING_NAMES)) == len(SETTING_NAMES)
    assert Settings.defaults_table() is SETTINGS


def test_required_settings_are_exactly_the_four_from_the_spec() -> None:
    required = {spec.name for spec in SETTINGS if spec.required}
    assert required == set(REQUIRED)
    assert all(spec.default is None for spec in SETTINGS if spec.required)
    assert all(spec.description for spec in SETTINGS)


def test_empty_environment_lists_every_required_setting_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({})
    problems = caught.value.problems
    for name in REQUIRED:
        assert any(problem.startswith(f"{name} is required") for problem in problems), name
    assert len(problems) == len(REQUIRED)
    assert isinstance(caught.value, ValueError)
    assert "4 configuration problem(s)" in str(caught.value)


def test_many_bad_values_are_all_reported_together() -> None:
    bad = {
        "UPN_DOMAIN": "not a domain",
        "MAIL_SENDER": "nobody",
        "GRAPH_AUTH": "certificate",
        "SIGNATURE_TOLERANCE_SECONDS": "soon",
        "REVOKE_SESSIONS": "yes",
        "TAP_LIFETIME_MINUTES": "5",
        "TAP_START_LOCAL_TIME": "8am",
        "CREDENTIAL_METHOD": "sms",
        "SYNC_WAIT_MODE": "sometimes",
        "DEFAULT_TIME_ZONE": "Mars/Olympus",
        "TRANSLITERATION": "fr",
        "TASKHUB_NAME": "hr-hub",
    }
    problems = problems_of(**bad)
    for name in bad:
        assert any(problem.startswith(f"{name}:") for problem in problems), name
    assert len(problems) == len(bad)


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_endpoint_accepts_v1_and_beta(version: str) -> None:
    url = ENDPOINT.replace("/v1.0/", f"/{version}/")
    settings = load(PROVISIONING_API_ENDPOINT=url)
    assert settings.graph_api_version == version
    assert settings.service_principal_id == SP_ID
    assert settings.job_id == JOB_ID
    assert settings.provisioning_api_endpoint == url


def test_endpoint_normalises_case_insensitive_parts_and_trims_whitespace() -> None:
    url = ENDPOINT.replace(SP_ID, SP_ID.upper()).replace("graph.microsoft.com", "Graph.Microsoft.com")
    settings = load(PROVISIONING_API_ENDPOINT=f"  {url}\n")
    assert settings.service_principal_id == SP_ID
    assert settings.provisioning_api_endpoint == ENDPOINT


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (ENDPOINT.replace("https://", "http://"), "https"),
        (ENDPOINT.replace("graph.microsoft.com", "graph.microsoft.us"), "host"),
        (ENDPOINT.replace("graph.microsoft.com", "graph.microsoft.com.evil.example"), "host"),
        (ENDPOINT.replace("graph.microsoft.com", "user:pw@graph.microsoft.com"), "credentials"),
        (ENDPOINT.replace("graph.microsoft.com", "graph.microsoft.com:8443"), "port"),
        (ENDPOINT + "?x=1", "query"),
        (ENDPOINT + "#frag", "query or fragment"),
        (ENDPOINT + "/", "path"),
        (ENDPOINT + "/extra", "path"),
        (ENDPOINT.replace("/bulkUpload", ""), "path"),
        (ENDPOINT.replace("/v1.0/", "/v2.0/"), "v1.0 or beta"),
        (ENDPOINT.replace("/v1.0/", "/prefix/v1.0/"), "path"),
        (ENDPOINT.replace("servicePrincipals", "applications"), "path"),
        (ENDPOINT.replace(SP_ID, "not-a-guid"), "GUID"),
        (ENDPOINT.replace(JOB_ID, "API2AD.x'y"), "job id"),
        (ENDPOINT.replace(JOB_ID, "%2e%2e"), "job id"),
        ("https://graph.microsoft.com/v1.0/auditLogs/provisioning", "path"),
        ("not a url", "https"),
    ],
)
def test_endpoint_rejects_anything_but_the_exact_graph_url(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_bulk_upload_endpoint(url)
    problems = problems_of(PROVISIONING_API_ENDPOINT=url)
    assert len(problems) == 1
    assert problems[0].startswith("PROVISIONING_API_ENDPOINT:")


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("TRUE", True), ("1", True), ("False", False), ("0", False)]
)
def test_booleans_accept_true_false_one_zero(raw: str, expected: bool) -> None:
    settings = load(UPDATE_CREATES_MISSING=raw, REVOKE_SESSIONS=raw, WELCOME_TO_NEW_MAILBOX=raw)
    assert settings.update_creates_missing is expected
    assert settings.revoke_sessions is expected
    assert settings.welcome_to_new_mailbox is expected


@pytest.mark.parametrize("raw", ["yes", "on", "2", "t"])
def test_other_boolean_spellings_are_problems_naming_the_setting(raw: str) -> None:
    problems = problems_of(REVOKE_SESSIONS=raw)
    assert problems == [f"REVOKE_SESSIONS: {raw!r} is not a boolean (true, false, 1 or 0)"]


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("TAP_LIFETIME_MINUTES", ["10", "43200"], ["9", "43201", "1.5"]),
        ("BULK_CALLS_PER_5S", ["1", "40"], ["0", "41"]),
        ("BULK_DAILY_CALL_QUOTA", ["1", "6000"], ["0", "-5"]),
        ("TERMINATION_BREAKER_LIMIT", ["0", "1000"], ["-1"]),
        ("PROVISION_LEAD_DAYS", ["0", "30"], ["-1", "366"]),
        ("UPLOAD_COALESCE_SECONDS", ["0", "300"], ["301"]),
        ("NAME_CONFLICT_RETRIES", ["0", "3"], ["21"]),
        ("SECRET_CACHE_TTL_SECONDS", ["0", "3600"], ["x"]),
    ],
)
def test_integer_ranges(name: str, good: list[str], bad: list[str]) -> None:
    for raw in good:
        assert getattr(load(**{name: raw}), name.lower()) == int(raw)
    for raw in bad:
        problems = problems_of(**{name: raw})
        assert len(problems) == 1 and problems[0].startswith(f"{name}:"), problems


@pytest.mark.parametrize("raw", ["24:00", "8:00", "08:60", "0800", "noon"])
def test_local_times_must_be_hh_mm(raw: str) -> None:
    assert problems_of(TERMINATION_LOCAL_TIME=raw)[0].startswith("TERMINATION_LOCAL_TIME:")


def test_local_times_parse() -> None:
    settings = load(TAP_START_LOCAL_TIME="07:30", TERMINATION_LOCAL_TIME="23:59")
    assert settings.tap_start_local_time == time(7, 30)
    assert settings.termination_local_time == time(23, 59)


def test_choices_are_case_insensitive() -> None:
    settings = load(GRAPH_AUTH="Managed_Identity", CREDENTIAL_RECIPIENT="BOTH", TRANSLITERATION="DE")
    assert settings.graph_auth == "managed_identity"
    assert settings.credential_recipient == "both"
    assert settings.transliteration == "de"


def test_blank_values_count_as_unset() -> None:
    settings = load(MAIL_DOMAIN="  ", AZURE_CLIENT_ID="", SYNC_TIMEOUT_MINUTES="")
    assert settings.mail_domain == "contoso.com"
    assert settings.azure_client_id is None
    assert settings.sync_timeout_minutes == 60


def test_mail_domain_can_differ_and_domains_are_lower_cased() -> None:
    settings = load(UPN_DOMAIN="Contoso.COM", MAIL_DOMAIN="mail.contoso.com")
    assert (settings.upn_domain, settings.mail_domain) == ("contoso.com", "mail.contoso.com")


@pytest.mark.parametrize("domain", ["contoso", "contoso.test", "corp.local", "-x.com", "a..com", "contoso.123"])
def test_bad_upn_domains(domain: str) -> None:
    assert problems_of(UPN_DOMAIN=domain)[0].startswith("UPN_DOMAIN:")


def test_overlong_upn_domain_leaves_no_room_for_user_names() -> None:
    label = "a" * 60
    domain = ".".join([label, label, "com"])
    problems = problems_of(UPN_DOMAIN=domain)
    assert problems and problems[0].startswith("UPN_DOMAIN is too long")


@pytest.mark.parametrize("address", ["nobody", "@contoso.com", "a b@contoso.com", "a..b@contoso.com", "x@contoso"])
def test_bad_addresses(address: str) -> None:
    assert problems_of(IT_NOTIFY_ADDRESS=address)[0].startswith("IT_NOTIFY_ADDRESS:")


def test_client_secret_requires_tenant_client_vault_and_secret_name_all_at_once() -> None:
    problems = problems_of(GRAPH_AUTH="client_secret")
    assert problems == [
        f"{name} is required when GRAPH_AUTH=client_secret"
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "KEY_VAULT_URL", "GRAPH_CLIENT_SECRET_NAME")
    ]


def test_client_secret_with_everything_set() -> None:
    settings = load(
        GRAPH_AUTH="client_secret",
        AZURE_TENANT_ID="contoso.onmicrosoft.com",
        AZURE_CLIENT_ID="11111111-2222-3333-4444-555555555555",
        KEY_VAULT_URL="https://kv-hr-prod.vault.azure.net",
        GRAPH_CLIENT_SECRET_NAME="graph-client-secret",
    )
    assert settings.key_vault_url == "https://kv-hr-prod.vault.azure.net/"
    assert settings.azure_tenant_id == "contoso.onmicrosoft.com"
    tenant = load(AZURE_TENANT_ID="AAAAAAAA-2222-3333-4444-555555555555").azure_tenant_id
    assert tenant == "aaaaaaaa-2222-3333-4444-555555555555"


def test_a_bad_value_is_not_reported_again_as_missing() -> None:
    problems = problems_of(
        GRAPH_AUTH="client_secret",
        AZURE_TENANT_ID="not a tenant",
        AZURE_CLIENT_ID="nope",
        KEY_VAULT_URL="http://kv.vault.azure.net/",
        GRAPH_CLIENT_SECRET_NAME="bad name!",
    )
    assert [problem.split(":")[0] for problem in problems] == [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "KEY_VAULT_URL",
        "GRAPH_CLIENT_SECRET_NAME",
    ]


def test_rules_across_settings_are_reported_together_with_bad_values() -> None:
    problems = problems_of(
        GRAPH_AUTH="client_secret",
        UPN_DOMAIN="not a domain",
        AZURE_CLIENT_ID="nope",
        PROVISIONING_POLL_INITIAL_SECONDS="soon",
        PROVISIONING_POLL_MAX_SECONDS="10",
        RECONCILE_SCHEDULE="0 2 * * *",
        RECONCILE_SOURCE="hibob",
    )
    assert problems == [
        "UPN_DOMAIN: 'not a domain' is not a DNS domain name like contoso.com",
        "AZURE_CLIENT_ID: 'nope' is not a GUID",
        "PROVISIONING_POLL_INITIAL_SECONDS: 'soon' is not a whole number",
        "AZURE_TENANT_ID is required when GRAPH_AUTH=client_secret",
        "KEY_VAULT_URL is required when GRAPH_AUTH=client_secret",
        "GRAPH_CLIENT_SECRET_NAME is required when GRAPH_AUTH=client_secret",
        "HIBOB_ENABLED must be true for RECONCILE_SOURCE=hibob",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://kv-hr.vault.azure.net/",
        "https://kv-hr.vault.azure.com/",
        "https://kv-hr.vault.azure.net/secrets",
        "https://kv-hr.vault.azure.net/?x=1",
        "https://kv--hr.vault.azure.net/",
        "https://9kv.vault.azure.net/",
        "https://kv.vault.azure.net:444/",
    ],
)
def test_key_vault_url_shape(url: str) -> None:
    assert problems_of(KEY_VAULT_URL=url)[0].startswith("KEY_VAULT_URL:")


def test_a_pasted_secret_is_never_echoed() -> None:
    secret = "Xy7~q.Secret+Value/42="
    problems = problems_of(GRAPH_CLIENT_SECRET_NAME=secret, HR_SIGNING_SECRET_NAME=secret)
    assert [problem.split(":")[0] for problem in problems][:2] == ["GRAPH_CLIENT_SECRET_NAME", "HR_SIGNING_SECRET_NAME"]
    assert all(secret not in problem for problem in problems)
    with pytest.raises(SettingsError) as caught:
        load(GRAPH_CLIENT_SECRET_NAME=secret)
    assert secret not in str(caught.value)


def test_signing_needs_key_vault() -> None:
    assert problems_of(HR_SIGNING_SECRET_NAME="hr-signing") == [
        "KEY_VAULT_URL is required when HR_SIGNING_SECRET_NAME is set (request signing)"
    ]
    settings = load(HR_SIGNING_SECRET_NAME="hr-signing", KEY_VAULT_URL="https://kv-hr.vault.azure.net/")
    assert settings.signing_enabled is True
    assert settings.hr_signing_secret_name == "hr-signing"


def test_scim_extension_urn() -> None:
    assert load(SCIM_EXTENSION_URN="urn:contoso:employee").scim_extension_urn == "urn:contoso:employee"
    for bad in ("contoso", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:x y"):
        assert problems_of(SCIM_EXTENSION_URN=bad)[0].startswith("SCIM_EXTENSION_URN:")


def test_name_patterns() -> None:
    settings = load(NAME_PATTERNS="{family}{given_initial}, {given}-{family}", NAME_SUFFIX_PATTERN="{family}{n}")
    assert settings.name_patterns == ("{family}{given_initial}", "{given}-{family}")
    policy = settings.name_policy()
    assert isinstance(policy, NamePolicy)
    assert policy.patterns == settings.name_patterns
    assert policy.suffix_pattern == "{family}{n}"
    assert policy.upn_domain == settings.upn_domain


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("NAME_PATTERNS", "{first}.{last}", "unknown placeholder"),
        ("NAME_PATTERNS", "{given}.{family}{n}", "must not contain {n}"),
        ("NAME_PATTERNS", "{given}@{family}", "not allowed"),
        ("NAME_PATTERNS", "{given}.{family", "malformed"),
        ("NAME_PATTERNS", "{given!r}", "format or conversion"),
        ("NAME_PATTERNS", "static", "at least one name placeholder"),
        ("NAME_PATTERNS", "{given}.staff-member.{family}", "literal characters"),
        ("NAME_SUFFIX_PATTERN", "{given}.{family}", "exactly once"),
        ("NAME_SUFFIX_PATTERN", "{n}{given}{n}", "exactly once"),
    ],
)
def test_bad_name_patterns(name: str, value: str, fragment: str) -> None:
    problems = problems_of(**{name: value})
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}:") and fragment in problems[0], problems


def test_poll_intervals_must_be_consistent() -> None:
    problems = problems_of(PROVISIONING_POLL_INITIAL_SECONDS="120", PROVISIONING_POLL_MAX_SECONDS="60")
    assert problems == ["PROVISIONING_POLL_MAX_SECONDS (60) must not be below PROVISIONING_POLL_INITIAL_SECONDS (120)"]
    problems = problems_of(SYNC_TIMEOUT_MINUTES="1", PROVISIONING_POLL_INITIAL_SECONDS="60")
    assert len(problems) == 1 and "shorter than SYNC_TIMEOUT_MINUTES" in problems[0]


def test_templates_dir_must_exist(tmp_path: Path) -> None:
    assert load(TEMPLATES_DIR=str(tmp_path)).templates_dir == str(tmp_path)
    assert problems_of(TEMPLATES_DIR=str(tmp_path / "missing"))[0].startswith("TEMPLATES_DIR:")


def test_default_time_zone() -> None:
    assert load(DEFAULT_TIME_ZONE="Europe/Berlin").default_zone.key == "Europe/Berlin"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROVISION_LEAD_DAYS", "3")
    assert Settings.from_env().provision_lead_days == 3


def test_settings_are_frozen() -> None:
    settings = load()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.upn_domain = "fabrikam.com"  # type: ignore[misc]


def test_public_summary_is_plain_json_without_secret_values() -> None:
    settings = load(HR_SIGNING_SECRET_NAME="hr-signing", KEY_VAULT_URL="https://kv-hr.vault.azure.net/")
    summary = settings.public_summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["tap_start_local_time"] == "08:00"
    assert summary["name_patterns"] == "{given}.{family},{given_initial}.{family}"
    assert summary["hr_signing_secret_name"] == "hr-signing"
    assert summary["job_id"] == JOB_ID


def test_local_settings_example_lists_exactly_the_settings() -> None:
    example = json.loads((REPO / "local.settings.example.json").read_text(encoding="utf-8"))
    assert example["IsEncrypted"] is False
    values = example["Values"]
    host_settings = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage", "AzureWebJobsFeatureFlags"}
    assert set(values) - host_settings == set(SETTING_NAMES)
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsFeatureFlags"] == "EnableWorkerIndexing"
    assert all(isinstance(value, str) for value in values.values())
    assert Settings.from_env(values).upn_domain == "contoso.com"


def test_host_json_task_hub_comes_from_the_setting() -> None:
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    assert host["extensions"]["durableTask"]["hubName"] == "%TASKHUB_NAME%"
    assert "TASKHUB_NAME" in SETTING_NAMES
