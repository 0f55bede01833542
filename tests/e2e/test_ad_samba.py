"""The AD tier: the product and the emulated provisioning agent against a real Samba AD domain controller.

Every assertion about AD reads the directory over LDAPS (``ldap_admin``), never the emulator's state, so the rules
the product relies on (UPN and sAMAccountName uniqueness, the manager's DN, userAccountControl, the OU and the
agent's rights) are Samba's. Skipped, with the install command, where Samba is not installed.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ldap3 import Connection

from demo.stack import Stack, running_stack, seed_sender_mailbox
from emulators.entra.ad import errors
from emulators.entra.ad.attributes import UF_ACCOUNTDISABLE
from emulators.entra.testing import FAST_CONFIG, EntraEmulator, app_credential
from provisioning.directory import is_name_conflict
from tests.e2e.test_entra_emulator_pipeline import logs_for, record
from tests.e2e.test_product import FAST_SETTINGS, HIRE, MANAGER, NOW, event, outcome, submit

pytestmark = [pytest.mark.e2e, pytest.mark.ad]
BASE = "DC=contoso,DC=com"
EMPLOYEES = f"OU=Employees,{BASE}"
SP_ID = "3b3b6c41-5bd0-4a44-9a1f-8d0a2bcf7a11"
PERSON_ATTRIBUTES = [
    "sAMAccountName",
    "userPrincipalName",
    "employeeID",
    "userAccountControl",
    "manager",
    "title",
    "displayName",
    "mailNickname",
    "objectGUID",
    "pwdLastSet",
]


def person(ldap: Connection, employee_id: str) -> dict[str, Any] | None:
    """What the directory holds for this employeeID (attribute -> first value, plus ``dn``)."""
    ldap.search(BASE, f"(&(objectCategory=person)(employeeID={employee_id}))", attributes=PERSON_ATTRIBUTES)
    if not ldap.entries:
        return None
    [entry] = ldap.entries
    values = {
        name: (value[0] if isinstance(value, list) and value else value)
        for name, value in entry.entry_attributes_as_dict.items()
    }
    return {"dn": entry.entry_dn, **values}


def plant(ldap: Connection, cn: str, container: str = f"CN=Users,{BASE}", **attributes: str) -> str:
    """An account created straight in AD by an admin (never seen by the emulator), outside Connect sync's scope."""
    dn = f"CN={cn},{container}"
    assert ldap.add(dn, ["top", "person", "organizationalPerson", "user"], attributes), ldap.result
    return dn


@pytest.fixture
def samba_env(samba_entra: EntraEmulator) -> EntraEmulator:
    samba_entra.control.reset()
    samba_entra.control.configure(**FAST_CONFIG, agentOnline=True, adTargetOu=None, cnMapping="selectUniqueValue")
    return samba_entra


@pytest.fixture
def samba_graph(samba_env: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """Graph on its production URL through the emulator's proxy, with a client-credentials token."""
    env = samba_env.env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bearer = app_credential(env).get_token("https://graph.microsoft.com/.default").token
    with httpx.Client(
        base_url="https://graph.microsoft.com/v1.0", headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    ) as client:
        yield client


def bulk_upload(entra: EntraEmulator, graph: httpx.Client, *records: dict[str, Any]) -> None:
    job = f"API2AD.{entra.env['AZURE_TENANT_ID'].replace('-', '')}.6f0e8d9c-2a1b-4c3d-9e8f-7a6b5c4d3e2f"
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": r["externalId"], "path": "/Users", "data": r} for r in records],
    }
    response = graph.post(
        f"/servicePrincipals/{SP_ID}/synchronization/jobs/{job}/bulkUpload",
        json=body,
        headers={"Content-Type": "application/scim+json"},
    )
    assert response.status_code == 202, response.text


@pytest.fixture
def samba_stack(samba_env: EntraEmulator, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    contexts: list[Any] = []

    def start(*, seed_manager: bool = True, entra_config: dict[str, Any] | None = None) -> Stack:
        if entra_config:
            samba_env.control.configure(**entra_config)
        if seed_manager:
            samba_env.control.seed_user("synced", **MANAGER)
        context = running_stack(
            tmp_path / f"stack{len(contexts)}",
            entra=samba_env,
            time_scale=600,
            clock_start=NOW,
            settings=FAST_SETTINGS,
        )
        contexts.append(context)
        stack: Stack = context.__enter__()
        seed_sender_mailbox(samba_env, stack.settings["MAIL_SENDER"])
        return stack

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


def seed_employee(entra: EntraEmulator, *, enabled: bool = True) -> None:
    entra.control.seed_user(
        "synced",
        employeeId="E10042",
        userPrincipalName="zoe.obrien-muller@contoso.com",
        mail="zoe.obrien-muller@contoso.com",
        givenName="Zoe",
        surname="O'Brien-Müller",
        displayName="Zoe O'Brien-Müller",
        manager="E00007",
        accountEnabled=enabled,
        onPremisesSamAccountName="zoe.obrien-mulle",
    )


def error_codes(state: dict[str, Any], employee_id: str) -> list[str]:
    return [
        (entry["provisioningStatusInfo"].get("errorInformation") or {}).get("errorCode") or ""
        for entry in logs_for(state, employee_id)
    ]


class TestProductOnSamba:
    def test_hire_lands_in_the_target_ou_with_the_managers_dn_and_syncs(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack()
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["stage"] == "completed", status
        account = person(ldap_admin, "E10042")
        manager = person(ldap_admin, "E00007")
        assert account is not None and manager is not None
        assert account["dn"] == f"CN=Zoe O'Brien-Müller,{EMPLOYEES}"
        assert account["userPrincipalName"] == status["output"]["userPrincipalName"] == "zoe.obrien-muller@contoso.com"
        assert account["sAMAccountName"] == status["output"]["samAccountName"]
        assert len(account["sAMAccountName"]) <= 20
        assert int(account["userAccountControl"]) & UF_ACCOUNTDISABLE == 0
        assert account["manager"] == manager["dn"]
        assert int(account["pwdLastSet"]) > 0  # the agent set an initial password the domain policy accepted
        entra_user = next(u for u in stack.entra.control.state()["entraUsers"] if u.get("employeeId") == "E10042")
        assert entra_user["onPremisesSyncEnabled"] is True
        assert entra_user["onPremisesDistinguishedName"] == account["dn"]
        assert entra_user["onPremisesSamAccountName"] == account["sAMAccountName"]
        guid = account["objectGUID"]
        guid_bytes = uuid.UUID(guid.strip("{}")).bytes_le if isinstance(guid, str) else guid
        assert entra_user["onPremisesImmutableId"] == base64.b64encode(guid_bytes).decode()

    def test_planted_upn_and_sam_are_conflicts_resolved_by_the_next_candidates(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack()
        # The first candidate's UPN and the second candidate's sAMAccountName belong to AD-only accounts.
        plant(ldap_admin, "Old Zoe", userPrincipalName="zoe.obrien-muller@contoso.com", sAMAccountName="oldzoe")
        plant(ldap_admin, "Old Z", userPrincipalName="oldz@contoso.com", sAMAccountName="z.obrien-muller")
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["stage"] == "completed", status
        codes = error_codes(stack.entra.control.state(), "E10042")
        assert errors.UPN_NOT_UNIQUE in codes and errors.SAM_NOT_UNIQUE in codes, codes
        assert all(is_name_conflict(code) for code in codes if code)
        account = person(ldap_admin, "E10042")
        assert account is not None
        assert account["userPrincipalName"] == status["output"]["userPrincipalName"]
        assert account["userPrincipalName"] not in ("zoe.obrien-muller@contoso.com", "z.obrien-muller@contoso.com")
        assert account["sAMAccountName"] not in ("zoe.obrien-mulle", "z.obrien-muller")

    def test_concurrent_hires_with_the_same_name_get_two_accounts(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack()
        first = submit(stack, HIRE)
        second = submit(stack, event(eventId="e2e-hire-2", employee={"employeeId": "E10043"}))
        outcome(stack, first["id"])
        outcome(stack, second["id"])
        accounts = [person(ldap_admin, employee) for employee in ("E10042", "E10043")]
        assert all(accounts)
        assert len({account["userPrincipalName"] for account in accounts if account}) == 2
        assert len({account["dn"] for account in accounts if account}) == 2

    def test_mover_gets_the_new_managers_dn(self, samba_stack: Callable[..., Stack], ldap_admin: Connection) -> None:
        stack = samba_stack()
        seed_employee(stack.entra)
        stack.entra.control.seed_user(
            "synced", employeeId="E00008", userPrincipalName="lee.chen@contoso.com", displayName="Lee Chen"
        )
        mover = event(
            eventId="e2e-move", type="update", employee={"managerEmployeeId": "E00008", "jobTitle": "Senior Analyst"}
        )
        del mover["effectiveDate"]
        status = outcome(stack, submit(stack, mover)["id"])
        assert status["output"]["managerChanged"] is True
        account, lee = person(ldap_admin, "E10042"), person(ldap_admin, "E00008")
        assert account is not None and lee is not None
        assert account["manager"] == lee["dn"]
        assert account["title"] == "Senior Analyst"

    def test_leaver_is_disabled_and_rehire_enabled_again(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack()
        seed_employee(stack.entra)
        leaver = {
            "eventId": "e2e-leave-now",
            "type": "termination",
            "effectiveDate": "2026-11-20",
            "employee": {"employeeId": "E10042"},
        }
        assert outcome(stack, submit(stack, leaver)["id"])["output"]["outcome"] == "disabled"
        account = person(ldap_admin, "E10042")
        assert account is not None and int(account["userAccountControl"]) & UF_ACCOUNTDISABLE
        status = outcome(stack, submit(stack, event(eventId="e2e-rehire", type="rehire"))["id"])
        assert status["output"]["userPrincipalName"] == "zoe.obrien-muller@contoso.com", status
        account = person(ldap_admin, "E10042")
        assert account is not None and int(account["userAccountControl"]) & UF_ACCOUNTDISABLE == 0

    def test_missing_manager_still_hires_and_tells_it(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack(seed_manager=False)
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["stage"] == "completed"
        assert any("E00007" in warning for warning in status["output"]["warnings"])
        account = person(ldap_admin, "E10042")
        assert account is not None and not account.get("manager")
        assert "it-operations@contoso.com" in json.dumps(stack.entra.control.state()["outbox"])

    def test_an_ou_the_agent_may_not_write_fails_the_hire_with_the_documented_code(
        self, samba_stack: Callable[..., Stack], ldap_admin: Connection
    ) -> None:
        stack = samba_stack(entra_config={"adTargetOu": f"OU=Restricted,{BASE}"})
        status = outcome(stack, submit(stack, HIRE)["id"])
        assert status["stage"] == "failed"
        assert status["error"]["code"] == errors.INSUFFICIENT_ACCESS
        assert person(ldap_admin, "E10042") is None


class TestAgentOnSamba:
    def test_a_21_character_sam_account_name_is_never_sent(
        self, samba_env: EntraEmulator, samba_graph: httpx.Client, ldap_admin: Connection
    ) -> None:
        long_name = "a" * 21
        bulk_upload(samba_env, samba_graph, record("E60", "Al", "Long", sam=long_name))
        state = samba_env.control.wait_until(lambda s: logs_for(s, "E60"))
        assert error_codes(state, "E60") == [errors.INVALID_ACCOUNT_NAME]
        ldap_admin.search(BASE, f"(sAMAccountName={long_name})")
        assert ldap_admin.entries == []
        assert person(ldap_admin, "E60") is None

    def test_a_target_ou_that_does_not_exist_fails_every_record(
        self, samba_env: EntraEmulator, samba_graph: httpx.Client, ldap_admin: Connection
    ) -> None:
        samba_env.control.configure(adTargetOu=f"OU=Nowhere,{BASE}")
        bulk_upload(samba_env, samba_graph, record("E61", "Bo", "One"), record("E62", "Cy", "Two"))
        state = samba_env.control.wait_until(lambda s: logs_for(s, "E61") and logs_for(s, "E62"))
        for employee in ("E61", "E62"):
            [entry] = logs_for(state, employee)
            assert entry["provisioningStatusInfo"]["errorInformation"]["errorCode"] == errors.NO_SUCH_OBJECT
            assert "OU=Nowhere" in entry["provisioningStatusInfo"]["errorInformation"]["reason"]
            assert person(ldap_admin, employee) is None

    def test_an_empty_value_is_refused_by_the_directory(
        self, samba_env: EntraEmulator, samba_graph: httpx.Client
    ) -> None:
        bulk_upload(samba_env, samba_graph, record("E63", "Di", "Empty", title=""))
        state = samba_env.control.wait_until(lambda s: logs_for(s, "E63"))
        [entry] = logs_for(state, "E63")
        info = entry["provisioningStatusInfo"]["errorInformation"]
        assert info["errorCode"] == errors.INVALID_PARAMETER and "v3839" in info["reason"]

    def test_connect_sync_exports_direct_ad_changes_in_scope_only(
        self, samba_env: EntraEmulator, samba_graph: httpx.Client, ldap_admin: Connection
    ) -> None:
        bulk_upload(samba_env, samba_graph, record("E64", "Ed", "Sync", title="Analyst"))
        samba_env.control.wait_until(lambda s: any(u.get("employeeId") == "E64" for u in s["entraUsers"]))
        account = person(ldap_admin, "E64")
        assert account is not None
        assert ldap_admin.modify(account["dn"], {"title": [("MODIFY_REPLACE", ["Lead"])]}), ldap_admin.result
        plant(ldap_admin, "Out Of Scope", employeeID="E65", sAMAccountName="outofscope")
        state = samba_env.control.wait_until(
            lambda s: any(u.get("employeeId") == "E64" and u.get("jobTitle") == "Lead" for u in s["entraUsers"])
        )
        assert not any(u.get("employeeId") == "E65" for u in state["entraUsers"])
        assert any(u.get("employeeId") == "E65" for u in state["adUsers"])

    def test_the_gallery_cn_mapping_refuses_a_second_person_with_the_same_name(
        self, samba_env: EntraEmulator, samba_graph: httpx.Client
    ) -> None:
        samba_env.control.configure(cnMapping="displayName")
        bulk_upload(samba_env, samba_graph, record("E66", "Fay", "Twin"))
        samba_env.control.wait_until(lambda s: logs_for(s, "E66"))
        bulk_upload(samba_env, samba_graph, record("E67", "Fay", "Twin", upn="fay.twin2@contoso.com", sam="fay.twin2"))
        state = samba_env.control.wait_until(lambda s: logs_for(s, "E67"))
        assert error_codes(state, "E67") == [errors.ENTRY_EXISTS]


def test_the_password_never_reaches_the_emulator_state(samba_env: EntraEmulator, samba_graph: httpx.Client) -> None:
    bulk_upload(samba_env, samba_graph, record("E68", "Gil", "Secret"))
    state = samba_env.control.wait_until(lambda s: logs_for(s, "E68"))
    [entry] = logs_for(state, "E68")
    assert entry["provisioningStatusInfo"]["status"] == "success"
    assert "unicodePwd" not in json.dumps(state)
