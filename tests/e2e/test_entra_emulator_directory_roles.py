"""Groups, directory roles and role management on the Entra emulator, as Microsoft Graph documents them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulators.entra.memberships import BUILT_IN_ROLES
from emulators.entra.testing import EntraEmulator, app_credential

pytestmark = pytest.mark.e2e
GLOBAL_ADMIN = BUILT_IN_ROLES["Global Administrator"]


def _user(entra: EntraEmulator, employee_id: str) -> str:
    upn = f"{employee_id.lower()}@contoso.com"
    return str(entra.control.seed_user("synced", userPrincipalName=upn, employeeId=employee_id)["entraUser"]["id"])


def _values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def _with_roles(entra: EntraEmulator, roles: list[str]) -> httpx.Client:
    entra.control.configure(appRoles={entra.env["EMULATOR_APP_CLIENT_ID"]: roles})
    token = app_credential(entra.env).get_token("https://graph.microsoft.com/.default").token
    return httpx.Client(
        base_url="https://graph.microsoft.com/v1.0", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_transitive_membership_follows_nested_groups_and_role_assignable_groups(
    entra_env: EntraEmulator, entra_graph: httpx.Client
) -> None:
    user = _user(entra_env, "E1")
    inner = entra_env.control.seed_group([user], displayName="inner")
    outer = entra_env.control.seed_group([inner["id"]], displayName="outer")
    admins = entra_env.control.seed_group([outer["id"]], displayName="tier0", isAssignableToRole=True)
    entra_env.control.assign_role(admins["id"], "Global Administrator")

    direct = _values(entra_graph.get(f"/users/{user}/memberOf"))
    assert [item["id"] for item in direct] == [inner["id"]]
    transitive = _values(entra_graph.get(f"/users/{user}/transitiveMemberOf", params={"$select": "id"}))
    assert {item["id"] for item in transitive if item["@odata.type"] == "#microsoft.graph.group"} == {
        inner["id"],
        outer["id"],
        admins["id"],
    }
    roles = [item for item in transitive if item["@odata.type"] == "#microsoft.graph.directoryRole"]
    assert len(roles) == 1 and set(roles[0]) == {"@odata.type", "id"}


def test_without_group_or_role_read_permission_objects_come_back_with_type_and_id_only(
    entra_env: EntraEmulator,
) -> None:
    user = _user(entra_env, "E2")
    group = entra_env.control.seed_group([user], displayName="Executives")
    entra_env.control.assign_role(user, "User Administrator")
    with _with_roles(entra_env, ["User.Read.All"]) as graph:
        items = _values(graph.get(f"/users/{user}/transitiveMemberOf"))
    by_type = {item["@odata.type"]: item for item in items}
    assert by_type["#microsoft.graph.group"]["id"] == group["id"]
    assert by_type["#microsoft.graph.group"]["displayName"] is None
    assert by_type["#microsoft.graph.directoryRole"]["roleTemplateId"] is None
    with _with_roles(entra_env, ["User.Read.All", "Directory.Read.All"]) as graph:
        items = _values(graph.get(f"/users/{user}/transitiveMemberOf"))
    role = next(item for item in items if item["@odata.type"] == "#microsoft.graph.directoryRole")
    assert role["roleTemplateId"] == BUILT_IN_ROLES["User Administrator"]


def test_role_assignments_filter_by_principal_with_eq_and_in_and_need_role_management(
    entra_env: EntraEmulator, entra_graph: httpx.Client
) -> None:
    user, other = _user(entra_env, "E3"), _user(entra_env, "E4")
    entra_env.control.assign_role(user, "Helpdesk Administrator", scope="/administrativeUnits/au-1")
    entra_env.control.assign_role(other, "Global Administrator")
    path = "/roleManagement/directory/roleAssignments"
    scoped = _values(entra_graph.get(path, params={"$filter": f"principalId eq '{user}'"}))
    assert [(item["directoryScopeId"], item["principalId"]) for item in scoped] == [("/administrativeUnits/au-1", user)]
    both = _values(entra_graph.get(path, params={"$filter": f"principalId in ('{user}','{other}')"}))
    assert {item["principalId"] for item in both} == {user, other}
    with _with_roles(entra_env, ["User.Read.All"]) as graph:
        denied = graph.get(path, params={"$filter": f"principalId eq '{user}'"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_eligibilities_and_a_tenant_without_pim(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    user = _user(entra_env, "E5")
    entra_env.control.assign_role(user, "Global Administrator", eligible=True)
    path = "/roleManagement/directory/roleEligibilityScheduleInstances"
    eligible = _values(entra_graph.get(path, params={"$filter": f"principalId eq '{user}'"}))
    assert [item["roleDefinitionId"] for item in eligible] == [GLOBAL_ADMIN]
    assert _values(entra_graph.get("/roleManagement/directory/roleAssignments")) == []
    entra_env.control.set_pim_licensed(False)
    unlicensed = entra_graph.get(path, params={"$filter": f"principalId eq '{user}'"})
    assert unlicensed.status_code == 400 and unlicensed.json()["error"]["code"] == "AadPremiumLicenseRequired"


def test_unknown_user_is_404(entra_env: EntraEmulator, entra_graph: httpx.Client) -> None:
    response = entra_graph.get("/users/00000000-0000-0000-0000-000000000000/transitiveMemberOf")
    assert response.status_code == 404 and response.json()["error"]["code"] == "Request_ResourceNotFound"
