"""The asynchronous provisioning pipeline of the Entra emulator: agent -> AD -> logs -> Connect sync.

Every wait polls the emulator's state or Graph with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from emulators.entra.ad import errors
from emulators.entra.testing import EntraEmulator

pytestmark = pytest.mark.e2e
SP_ID = "3b3b6c41-5bd0-4a44-9a1f-8d0a2bcf7a11"
EXTENSION = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _job_id(entra: EntraEmulator) -> str:
    return f"API2AD.{entra.env['AZURE_TENANT_ID'].replace('-', '')}.6f0e8d9c-2a1b-4c3d-9e8f-7a6b5c4d3e2f"


def record(
    employee_id: str,
    given: str,
    family: str,
    *,
    active: bool | None = True,
    manager: str | None = None,
    sam: str | None = None,
    upn: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    local = f"{given}.{family}".lower()
    data: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, EXTENSION],
        "externalId": employee_id,
        "userName": upn or f"{local}@contoso.com",
        "name": {"givenName": given, "familyName": family},
        "displayName": f"{given} {family}",
        "emails": [{"value": upn or f"{local}@contoso.com", "type": "work", "primary": True}],
        ENTERPRISE: {"department": "Finance", **({"manager": {"value": manager}} if manager else {})},
        EXTENSION: {"samAccountName": sam or local[:20], "mailNickname": local},
        **extra,
    }
    if active is not None:
        data["active"] = active
    return data


def upload(entra: EntraEmulator, http: httpx.Client, *records: dict[str, Any]) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": r["externalId"], "path": "/Users", "data": r} for r in records],
        "failOnErrors": None,
    }
    url = f"/servicePrincipals/{SP_ID}/synchronization/jobs/{_job_id(entra)}/bulkUpload"
    response = http.post(url, json=body, headers={"Content-Type": "application/scim+json"})
    assert response.status_code == 202, response.text


def logs_for(state: dict[str, Any], employee_id: str) -> list[dict[str, Any]]:
    return [entry for entry in state["provisioningLogs"] if entry["sourceIdentity"]["id"] == employee_id]


def entra_user(state: dict[str, Any], employee_id: str) -> dict[str, Any]:
    """The Entra user with this employeeId, or {} (falsy) while there is none."""
    return next((u for u in state["entraUsers"] if u.get("employeeId") == employee_id), {})


def ad_user(state: dict[str, Any], employee_id: str) -> dict[str, Any]:
    """The AD user with this employeeId, or {} (falsy) while there is none."""
    return next((u for u in state["adUsers"] if u.get("employeeId") == employee_id), {})


def wait_graph(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("Graph never showed the expected result")
        time.sleep(0.05)


def test_hire_flows_to_ad_then_logs_then_entra(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    control.configure(agentDelaySeconds=0.0, logDelaySeconds=1.0, syncDelaySeconds=2.0)
    upload(entra_env, entra_graph, record("E10042", "Zoe", "OBrien", jobTitle=None, title="Analyst"))
    state = control.wait_until(lambda s: ad_user(s, "E10042"))
    created = ad_user(state, "E10042")
    assert created["onPremisesSamAccountName"] == "zoe.obrien"
    assert created["mailNickname"] == "zoe.obrien"
    assert created["userPrincipalName"] == "zoe.obrien@contoso.com"
    assert created["jobTitle"] == "Analyst"
    assert created["accountEnabled"] is True
    # Written to AD, but neither logged nor synced yet.
    assert logs_for(state, "E10042") == []
    assert entra_user(state, "E10042") == {}
    logs_url = "/auditLogs/provisioning"
    entries = wait_graph(
        lambda: entra_graph.get(logs_url, params={"$filter": "sourceIdentity/id eq 'E10042'"}).json()["value"]
    )
    [entry] = entries
    assert entry["provisioningAction"] == "create"
    assert entry["provisioningStatusInfo"]["status"] == "success"
    assert entry["jobId"] == _job_id(entra_env)
    assert entry["servicePrincipal"]["id"] == SP_ID
    assert [step["name"] for step in entry["provisioningSteps"]] == [
        "EntryImportAdd",
        "EntrySynchronizationScoping",
        "EntrySynchronizationAdd",
        "EntryExportAdd",
    ]
    assert set(entry) >= {
        "id",
        "activityDateTime",
        "tenantId",
        "cycleId",
        "changeId",
        "durationInMilliseconds",
        "sourceIdentity",
        "targetIdentity",
        "sourceSystem",
        "targetSystem",
        "initiatedBy",
        "modifiedProperties",
    }
    found = wait_graph(
        lambda: entra_graph.get(
            "/users",
            params={
                "$filter": "employeeId eq 'E10042'",
                "$select": "id,onPremisesSyncEnabled,proxyAddresses,mail,onPremisesSamAccountName,accountEnabled",
            },
        ).json()["value"]
    )
    assert found[0]["onPremisesSyncEnabled"] is True
    assert found[0]["proxyAddresses"] == ["SMTP:zoe.obrien@contoso.com"]
    assert found[0]["onPremisesSamAccountName"] == "zoe.obrien"
    state = control.state()
    assert {key: value for key, value in state["pipeline"].items() if key != "ticks"} == {
        "staged": 0,
        "pendingLogs": 0,
        "pendingSync": 0,
        "pendingReferences": 0,
    }


def test_agent_offline_means_nothing_happens(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    control.configure(agentOnline=False)
    upload(entra_env, entra_graph, record("E1", "Ann", "Lee"))
    upload(entra_env, entra_graph, record("E2", "Bob", "Lee"))
    ticks = control.state()["pipeline"]["ticks"]
    # Let the worker run a good number of cycles: still nothing in AD and no logs.
    state = control.wait_until(lambda s: s["pipeline"]["ticks"] >= ticks + 10)
    assert state["pipeline"]["staged"] == 2
    assert state["adUsers"] == [] and state["provisioningLogs"] == [] and state["pipeline"]["pendingLogs"] == 0
    control.configure(agentOnline=True)
    state = control.wait_until(lambda s: entra_user(s, "E1") and entra_user(s, "E2"))
    assert state["pipeline"]["staged"] == 0


def test_update_disable_enable_and_missing_active(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    upload(entra_env, entra_graph, record("E5", "Cy", "Dee"))
    control.wait_until(lambda s: entra_user(s, "E5"))
    upload(entra_env, entra_graph, record("E5", "Cy", "Dee", active=False))
    state = control.wait_until(lambda s: len(logs_for(s, "E5")) == 2 and not entra_user(s, "E5")["accountEnabled"])
    assert logs_for(state, "E5")[1]["provisioningAction"] == "disable"
    upload(entra_env, entra_graph, record("E5", "Cy", "Dee", active=True, title="Lead"))
    state = control.wait_until(lambda s: len(logs_for(s, "E5")) == 3 and entra_user(s, "E5")["accountEnabled"])
    third = logs_for(state, "E5")[2]
    assert third["provisioningAction"] == "update"
    assert {"displayName": "accountEnabled", "oldValue": "False", "newValue": "True"} in third["modifiedProperties"]
    assert entra_user(state, "E5")["jobTitle"] == "Lead"
    # Omitting active disables (AzureAD/entra-id-inbound-provisioning#16).
    upload(entra_env, entra_graph, record("E5", "Cy", "Dee", active=None))
    state = control.wait_until(lambda s: len(logs_for(s, "E5")) == 4 and not entra_user(s, "E5")["accountEnabled"])
    assert ad_user(state, "E5")["accountEnabled"] is False
    assert len([u for u in state["adUsers"] if u["employeeId"] == "E5"]) == 1


def test_upn_and_sam_conflicts_fail_with_conflict_codes(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    control.seed_user("ad", userPrincipalName="ann.lee@contoso.com", employeeId="OLD1", onPremisesSamAccountName="annl")
    control.seed_user(
        "ad", userPrincipalName="someone@contoso.com", employeeId="OLD2", onPremisesSamAccountName="ann.lee2"
    )
    upload(
        entra_env,
        entra_graph,
        record("E7", "Ann", "Lee"),
        record("E8", "Ann", "Lee", upn="ann.lee2@contoso.com", sam="ann.lee2"),
    )
    state = control.wait_until(lambda s: logs_for(s, "E7") and logs_for(s, "E8"))
    codes = {employee: logs_for(state, employee)[0]["provisioningStatusInfo"] for employee in ("E7", "E8")}
    assert codes["E7"]["status"] == "failure"
    # The UPN code is Microsoft's (Workday-to-AD troubleshooting); the sAMAccountName one follows its pattern.
    assert codes["E7"]["errorInformation"]["errorCode"] == errors.UPN_NOT_UNIQUE
    assert codes["E8"]["errorInformation"]["errorCode"] == errors.SAM_NOT_UNIQUE
    assert logs_for(state, "E7")[0]["provisioningSteps"][-1]["status"] == "failure"
    assert ad_user(state, "E7") == {} and ad_user(state, "E8") == {}


def test_configured_ad_error(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    entra_env.control.configure(adErrors={"E9": "HybridSynchronizationActiveDirectoryCannotFindAttribute"})
    upload(entra_env, entra_graph, record("E9", "Di", "Eff"))
    state = entra_env.control.wait_until(lambda s: logs_for(s, "E9"))
    info = logs_for(state, "E9")[0]["provisioningStatusInfo"]
    assert info["status"] == "failure"
    assert info["errorInformation"]["errorCode"] == "HybridSynchronizationActiveDirectoryCannotFindAttribute"
    assert ad_user(state, "E9") == {}
    entra_env.control.configure(adErrors={"E9": None})
    upload(entra_env, entra_graph, record("E9", "Di", "Eff"))
    entra_env.control.wait_until(lambda s: entra_user(s, "E9"))


def test_unresolvable_manager_is_skipped_then_updated(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    upload(entra_env, entra_graph, record("E20", "Re", "Port", manager="M1"))
    state = control.wait_until(lambda s: logs_for(s, "E20") and entra_user(s, "E20"))
    [created] = logs_for(state, "E20")
    skip = [step for step in created["provisioningSteps"] if step["name"] == "EntrySynchronizationSkip"]
    assert skip and skip[0]["status"] == "skipped"
    assert skip[0]["details"]["SkipReason"] == "UnableToResolveReferenceAttributeValue"
    assert entra_user(state, "E20").get("manager") is None
    assert state["pipeline"]["pendingReferences"] == 1
    upload(entra_env, entra_graph, record("M1", "Man", "Ager"))
    state = control.wait_until(lambda s: len(logs_for(s, "E20")) == 2 and entra_user(s, "E20").get("manager") == "M1")
    update = logs_for(state, "E20")[1]
    assert update["provisioningAction"] == "update"
    assert update["changeId"] == created["changeId"]
    manager_url = f"/users/{entra_user(state, 'E20')['id']}/manager"
    manager = wait_graph(lambda: (response := entra_graph.get(manager_url)).status_code == 200 and response)
    assert manager.json()["userPrincipalName"] == "man.ager@contoso.com"


def test_provisioning_log_queries(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    before = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    control.configure(adErrors={"F2": "SomeAdError"})
    upload(entra_env, entra_graph, record("F1", "Ef", "One"), record("F2", "Ef", "Two"), record("F3", "Ef", "Three"))
    control.wait_until(lambda s: len(s["provisioningLogs"]) == 3)
    job = _job_id(entra_env)

    def query(**params: str) -> dict[str, Any]:
        response = entra_graph.get("/auditLogs/provisioning", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def sources(body: dict[str, Any]) -> list[str]:
        return [entry["sourceIdentity"]["id"] for entry in body["value"]]

    assert sorted(sources(query(**{"$filter": f"jobid eq '{job}'"}))) == ["F1", "F2", "F3"]
    assert sources(query(**{"$filter": f"jobId eq '{job}' and sourceIdentity/id eq 'F2'"})) == ["F2"]
    assert sources(query(**{"$filter": "provisioningStatusInfo/status eq 'failure'"})) == ["F2"]
    assert query(**{"$filter": "jobId eq 'API2AD.other'"})["value"] == []
    assert len(query(**{"$filter": f"activityDateTime gt {before}"})["value"]) == 3
    assert query(**{"$filter": "activityDateTime lt 2020-01-01T00:00:00Z"})["value"] == []
    assert query(**{"$filter": "activityDateTime gt 2020-01-01T00:00:00Z and sourceIdentity/id eq 'F1'"})["value"]
    # "The filters are all case sensitive" (List provisioningObjectSummary): values, status included.
    assert query(**{"$filter": "sourceIdentity/id eq 'f1'"})["value"] == []
    assert query(**{"$filter": "provisioningStatusInfo/status eq 'Failure'"})["value"] == []
    assert sources(query(**{"$filter": "contains(sourceIdentity/id, '2')"})) == ["F2"]
    ordered = query(**{"$orderby": "activityDateTime desc"})["value"]
    stamps = [entry["activityDateTime"] for entry in ordered]
    assert stamps == sorted(stamps, reverse=True)
    page = query(**{"$top": "2"})
    assert len(page["value"]) == 2
    rest = entra_graph.get(page["@odata.nextLink"]).json()
    assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest
    assert sorted(sources(page) + sources(rest)) == ["F1", "F2", "F3"]
    skiptoken = page["@odata.nextLink"].split("$skiptoken=")[1]
    assert entra_graph.get("/auditLogs/provisioning", params={"$skiptoken": skiptoken}).status_code == 400
    beta = httpx.get(
        "https://graph.microsoft.com/beta/auditLogs/provisioning",
        params={"$filter": "statusInfo/status eq 'failure'"},
        headers=entra_graph.headers,
    ).json()
    assert [entry["action"] for entry in beta["value"]] == ["Create"]


@pytest.mark.parametrize(
    "expression",
    [
        "activityDateTime ge 2020-01-01T00:00:00Z",
        "activityDateTime le 2020-01-01T00:00:00Z",
        "jobId ne 'API2AD.x'",
        "jobId eq 'API2AD.x' or jobId eq 'API2AD.y'",
        "not (jobId eq 'API2AD.x')",
        "jobId in ('API2AD.x', 'API2AD.y')",
        "startswith(jobId, 'API2AD')",
        "contains(activityDateTime, '2020')",
        "servicePrincipal/id gt 'a'",
        "provisioningSteps/any(s: s/status eq 'failure')",
        "userPrincipalName eq 'zoe@contoso.com'",
    ],
    ids=[
        "ge",
        "le",
        "ne",
        "or",
        "not",
        "in",
        "startswith",
        "contains-on-date",
        "range-on-id",
        "lambda",
        "unknown-property",
    ],
)
def test_undocumented_log_filters_are_refused(
    entra_env: EntraEmulator, entra_graph: httpx.Client, expression: str
) -> None:
    response = entra_graph.get("/auditLogs/provisioning", params={"$filter": expression})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Invalid filter clause")


def test_logs_are_visible_only_after_the_log_delay(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    control = entra_env.control
    control.configure(logDelaySeconds=3600)
    upload(entra_env, entra_graph, record("G1", "Gee", "One"))
    state = control.wait_until(lambda s: ad_user(s, "G1") and s["pipeline"]["pendingLogs"] == 1)
    assert state["provisioningLogs"] == []
    assert entra_graph.get("/auditLogs/provisioning").json()["value"] == []


def test_sync_without_on_premises_flag(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    entra_env.control.configure(faults={"syncWithoutOnPremisesFlag": True})
    upload(entra_env, entra_graph, record("H1", "Aitch", "One"))
    state = entra_env.control.wait_until(lambda s: entra_user(s, "H1"))
    assert entra_user(state, "H1")["onPremisesSyncEnabled"] is None


def test_paused_and_restarted_job(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    env = entra_env.env
    entra_env.control.configure(
        appRoles={env["EMULATOR_APP_CLIENT_ID"]: ["SynchronizationData-User.Upload", "Synchronization.ReadWrite.All"]}
    )
    from emulators.entra.testing import app_credential

    token = app_credential(env).get_token("https://graph.microsoft.com/.default").token
    http = httpx.Client(base_url="https://graph.microsoft.com/v1.0", headers={"Authorization": f"Bearer {token}"})
    job = f"/servicePrincipals/{SP_ID}/synchronization/jobs/{_job_id(entra_env)}"
    assert http.post(f"{job}/pause").status_code == 204
    assert http.get(job).json()["status"]["code"] == "Paused"
    upload(entra_env, http, record("J1", "Jay", "One"))
    entra_env.control.wait_until(lambda s: s["pipeline"]["staged"] == 1)
    assert http.post(f"{job}/restart").status_code == 204
    state = entra_env.control.wait_until(lambda s: s["bulkRequests"][0]["status"] == "purged")
    assert state["adUsers"] == []
    http.close()


def test_documented_example_provisions_both_people(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    from pathlib import Path

    body = (Path(__file__).parent / "entra_fixtures" / "bulk_upload_core_and_enterprise.json").read_bytes()
    url = f"/servicePrincipals/{SP_ID}/synchronization/jobs/{_job_id(entra_env)}/bulkUpload"
    assert entra_graph.post(url, content=body, headers={"Content-Type": "application/scim+json"}).status_code == 202
    state = entra_env.control.wait_until(
        lambda s: (
            entra_user(s, "701984") and entra_user(s, "701985") and entra_user(s, "701985").get("manager") == "701984"
        )
    )
    kathy = entra_user(state, "701985")
    assert kathy["userPrincipalName"] == "Kjensen@example.com"
    assert kathy["city"] == "Hollywood" and kathy["businessPhones"] == ["555-555-5545"]
    assert kathy["companyName"] == "Universal Studios" and kathy["department"] == "Tour Operations"
    assert ad_user(state, "701984")["onPremisesSamAccountName"] == "bjensen"


def test_sync_soft_matches_a_cloud_user_and_quarantines_duplicate_upns(
    entra_env: EntraEmulator, entra_graph: httpx.Client
) -> None:
    control = entra_env.control
    cloud = control.seed_user("entra", userPrincipalName="kim.cloud@contoso.com", employeeId="K1")["entraUser"]
    control.seed_user("entra", userPrincipalName="lee.other@contoso.com", onPremisesSyncEnabled=True)
    upload(entra_env, entra_graph, record("K1", "Kim", "Cloud"), record("L1", "Lee", "Other"))
    state = control.wait_until(lambda s: entra_user(s, "K1").get("onPremisesSyncEnabled") and entra_user(s, "L1"))
    assert entra_user(state, "K1")["id"] == cloud["id"]  # soft match: the cloud object is taken over
    assert [u["userPrincipalName"] for u in state["entraUsers"]].count("kim.cloud@contoso.com") == 1
    quarantined = entra_user(state, "L1")["userPrincipalName"]
    assert quarantined.startswith("lee.other") and quarantined.endswith("@contoso.onmicrosoft.com")


def test_a_second_matching_attribute_links_an_account_that_predates_the_employee_id(
    entra_env: EntraEmulator, entra_graph: httpx.Client
) -> None:
    """Entra evaluates matching attributes in precedence order and stops at the first match (Microsoft Learn,
    "Customize attribute mappings": matching precedence). With userPrincipalName second, a record whose employeeId
    matches nothing updates the AD account holding its userName, which then carries the employeeId."""
    control = entra_env.control
    names = {"givenName": "Old", "surname": "Timer", "displayName": "Old Timer"}
    control.seed_user("synced", userPrincipalName="old.timer@contoso.com", **names)
    upload(entra_env, entra_graph, record("P1", "Old", "Timer", upn="old.timer@contoso.com"))
    state = control.wait_until(lambda s: logs_for(s, "P1"))
    assert logs_for(state, "P1")[0]["provisioningStatusInfo"]["status"] == "failure"  # employeeId only: no match,
    # and a second account cannot take the UPN
    control.configure(matchingAttributes=["employeeId", "userPrincipalName"])
    try:
        legacy = control.seed_user("synced", userPrincipalName="early.bird@contoso.com", **names)["adUser"]
        upload(entra_env, entra_graph, record("P2", "Early", "Bird", upn="early.bird@contoso.com"))
        state = control.wait_until(lambda s: entra_user(s, "P2"))
        entry = logs_for(state, "P2")[0]
        assert entry["provisioningAction"] == "update" and entry["targetIdentity"]["id"] == legacy["id"]
        matching = next(step for step in entry["provisioningSteps"] if step["provisioningStepType"] == "matching")
        assert matching["details"]["MatchingAttribute"] == "userPrincipalName"
        linked = [u["employeeId"] for u in state["adUsers"] if u["userPrincipalName"] == "early.bird@contoso.com"]
        assert linked == ["P2"]
        with pytest.raises(ValueError, match="matchingAttributes"):
            control.configure(matchingAttributes=["userPrincipalName"])
    finally:
        control.configure(matchingAttributes=["employeeId"])
