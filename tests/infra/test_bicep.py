"""Offline checks of infra/: each check passes on the real Bicep and catches a planted break in a copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.credentials import required_roles
from provisioning.settings import SETTINGS, SettingSpec
from tests.infra import bicep_checks as checks
from tests.infra import exposure_checks
from tests.infra.planting import INFRA, copy_infra, plant

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    return copy_infra(tmp_path)


def messages(problems: list[checks.Problem]) -> str:
    return "\n".join(str(problem) for problem in problems)


# --- syntax ------------------------------------------------------------------------------------------


def test_every_bicep_file_parses() -> None:
    assert len(checks.bicep_files(INFRA)) >= 10
    assert checks.syntax_problems(INFRA) == []


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (
            "main.bicep",
            "module storage 'modules/storage.bicep' = {",
            "module storage 'modules/storage.bicep' = ",
        ),
        ("modules/identity.bicep", "resource identity ", "reource identity "),
        ("modules/storage.bicep", "    accessTier: 'Hot'\n", "    accessTier: 'Hot\n"),
        (
            "modules/keyvault.bicep",
            "    enableSoftDelete: true\n",
            "    enableSoftDelete: true\n    spread: { ...tags }\n",
        ),
    ],
    ids=["missing-brace", "keyword-typo", "unterminated-string", "spread"],
)
def test_syntax_check_catches_planted_break(infra: Path, file: str, old: str, new: str) -> None:
    plant(infra / file, old, new)
    problems = checks.syntax_problems(infra)
    assert problems, "the planted syntax error went unnoticed"
    assert all(problem.path == infra / file for problem in problems)


def test_syntax_check_rejects_constructs_it_cannot_read(infra: Path) -> None:
    (infra / "main.bicepparam").write_text("using 'main.bicep'\nparam environmentName = 'dev'\n", encoding="utf-8")
    plant(
        infra / "modules/identity.bicep",
        "param tags object\n",
        "param tags object\nparam extra resourceInput<'Microsoft.Web/sites@2024-04-01'>.properties = {}\n",
    )
    text = messages(checks.syntax_problems(infra))
    assert "main.bicepparam" in text
    assert "resourceInput<>" in text


def test_extension_statements_are_masked_without_moving_lines(infra: Path) -> None:
    graph = infra / "graph/main.bicep"
    lines = graph.read_text(encoding="utf-8").splitlines()
    error_line = next(number for number, line in enumerate(lines, 1) if line.startswith("targetScope"))
    plant(graph, "extension microsoftGraphV1\n", "extension microsoftGraphV1 with {\n  x: 1\n}\n")
    plant(graph, "targetScope = 'resourceGroup'", "targetScope = = 'resourceGroup'")
    problems = checks.syntax_problems(infra)
    assert [problem.line for problem in problems] == [error_line + 2]


# --- module wiring and parameter files -----------------------------------------------------------------


@pytest.mark.parametrize("entry", ["main.bicep", "graph/main.bicep"])
def test_module_wiring_is_complete(entry: str) -> None:
    assert checks.wiring_problems(INFRA / entry) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("main.bicep", "'modules/rbac.bicep'", "'modules/rbacx.bicep'", "modules/rbacx.bicep does not exist"),
        (
            "main.bicep",
            "    tags: tags\n    deploymentContainerName",
            "    tagz: tags\n    deploymentContainerName",
            "has no parameter tagz",
        ),
        (
            "main.bicep",
            "    storageAccountName: storage.outputs.name\n    applicationInsightsName",
            "    applicationInsightsName",
            "required parameter storageAccountName is not passed",
        ),
        (
            "modules/functionapp.bicep",
            "param planName string\n",
            "param planName string\n\nparam mailSenderUpn string\n",
            "required parameter mailSenderUpn is not passed",
        ),
        (
            "modules/workbook.bicep",
            "'../workbooks/hr-events.workbook.json'",
            "'../workbooks/hr-event.workbook.json'",
            "hr-event.workbook.json does not exist",
        ),
    ],
    ids=[
        "missing-module",
        "unknown-parameter",
        "dropped-parameter",
        "new-required-parameter",
        "missing-loaded-file",
    ],
)
def test_wiring_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(checks.wiring_problems(infra / "main.bicep"))


def test_parameters_file_matches_main_bicep() -> None:
    assert checks.parameters_file_problems(INFRA / "main.bicep", INFRA / "main.parameters.json") == []


def test_parameters_file_check_catches_missing_and_unknown_parameters(infra: Path) -> None:
    path = infra / "main.parameters.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["parameters"]["upnDomain"]
    document["parameters"]["vnetEnabeld"] = {"value": "true"}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    text = messages(checks.parameters_file_problems(infra / "main.bicep", path))
    assert "required parameter upnDomain is missing" in text
    assert "vnetEnabeld: not in main.bicep" in text


def test_parameters_file_check_reports_invalid_json(infra: Path) -> None:
    plant(infra / "main.parameters.json", '"contentVersion": "1.0.0.0",', '"contentVersion": "1.0.0.0"')
    assert "not valid JSON" in messages(
        checks.parameters_file_problems(infra / "main.bicep", infra / "main.parameters.json")
    )


# --- roles ---------------------------------------------------------------------------------------------


def test_role_ids_are_the_documented_built_in_roles() -> None:
    assert checks.role_problems(INFRA) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "modules/rbac.bicep",
            "keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'",
            "keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e7'",
            "roleIds.keyVaultSecretsUser is 4633458b-17de-408a-b874-0445c86b69e7",
        ),
        (
            "modules/rbac.bicep",
            "keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'",
            "keyVaultSecretsUser: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'",
            "roleIds.keyVaultSecretsUser is b86a8fe4",
        ),
        (
            "modules/dts.bicep",
            "roleIds.durableTaskDataContributor)\n    principalId: principalId\n",
            "'0ad04412-c4d5-4796-b79c-f76d14c8d403')\n    principalId: principalId\n",
            "is not a documented built-in role id",
        ),
        (
            "modules/rbac.bicep",
            "roleDefinitions', roleIds.monitoringMetricsPublisher)",
            "roleDefinitions', roleIds.storageBlobDataOwner)",
            "no role assignment grants Monitoring Metrics Publisher",
        ),
        (
            "modules/rbac.bicep",
            "    // Setting the type avoids failures while a new identity is still replicating in Entra.\n"
            "    principalType: 'ServicePrincipal'\n",
            "",
            "blobOwner: set principalType",
        ),
    ],
    ids=["typo-in-guid", "swapped-roles", "literal-guid", "role-not-assigned", "no-principal-type"],
)
def test_role_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(checks.role_problems(infra))


# --- app settings --------------------------------------------------------------------------------------


def test_every_setting_is_a_parameter_with_the_same_default_and_reaches_the_app() -> None:
    problems = checks.settings_problems(INFRA / "main.bicep", SETTINGS, INFRA / "main.parameters.json")
    assert problems == []
    settings = checks.app_settings(INFRA / "main.bicep")
    assert {spec.name for spec in SETTINGS} <= set(settings)
    assert {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
    } <= set(settings)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "main.bicep",
            "param provisionLeadDays string = '7'",
            "param provisionLeadDays string = '8'",
            "provisionLeadDays: default '8'",
        ),
        ("main.bicep", "  UPN_DOMAIN: upnDomain\n", "", "required setting UPN_DOMAIN is not set"),
        (
            "main.bicep",
            "  UPN_DOMAIN: upnDomain\n",
            "  UPN_DOMAIN: mailDomain\n",
            "UPN_DOMAIN does not use parameter upnDomain",
        ),
        (
            "main.bicep",
            "@minLength(1)\nparam mailSender string\n",
            "param mailSender string = 'hr@contoso.com'\n",
            "MAIL_SENDER is required",
        ),
        (
            "modules/functionapp.bicep",
            "  AzureWebJobsStorage__credential: 'managedidentity'\n",
            "  AzureWebJobsStorage__credential: 'managedidentity'\n  FUNCTIONS_WORKER_RUNTIME: 'python'\n",
            "FUNCTIONS_WORKER_RUNTIME must not be set on Flex Consumption",
        ),
        (
            "main.parameters.json",
            '"${UPN_DOMAIN}"',
            '"${UPN_DOMAINS}"',
            "upnDomain must come from ${UPN_DOMAIN}",
        ),
        (
            "main.parameters.json",
            '"${TASKHUB_NAME=hrprovisioning}"',
            '"${TASKHUB_NAME=hrprov}"',
            "TASKHUB_NAME default 'hrprov'",
        ),
        (
            "graph/main.bicep",
            "param credentialMethod string = 'tap'",
            "param credentialMethod string = 'none'",
            "credentialMethod: default 'none'",
        ),
        (
            "main.bicep",
            "output KEY_VAULT_NAME string",
            "output KEY_VAULT_URL string = keyVault.outputs.uri\noutput KEY_VAULT_NAME string",
            "output KEY_VAULT_URL would feed back",
        ),
    ],
    ids=[
        "changed-default",
        "required-not-set",
        "miswired",
        "required-with-default",
        "flex-unsupported",
        "azd-variable-typo",
        "azd-default-drift",
        "graph-default-drift",
        "output-shadows-setting",
    ],
)
def test_settings_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    problems = checks.settings_problems(infra / "main.bicep", SETTINGS, infra / "main.parameters.json")
    assert expected in messages(problems)


def test_settings_check_notices_a_setting_added_to_settings_py() -> None:
    added = SettingSpec("ONBOARDING_BUDDY", "", False, "A setting Bicep does not know yet.", "")
    problems = checks.settings_problems(INFRA / "main.bicep", (*SETTINGS, added))
    assert "ONBOARDING_BUDDY is neither a parameter nor an app setting" in messages(problems)


# --- secrets -------------------------------------------------------------------------------------------


def test_no_output_or_parameter_default_holds_a_secret() -> None:
    assert checks.secret_problems(INFRA) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "modules/monitoring.bicep",
            "output applicationInsightsName string = appInsights.name\n",
            "output applicationInsightsName string = appInsights.name\n"
            "output cs string = appInsights.properties.ConnectionString\n",
            "output cs returns ConnectionString",
        ),
        (
            "modules/storage.bicep",
            "output name string = storage.name\n",
            "output name string = storage.name\noutput keys object = storage.listKeys()\n",
            "reads keys",
        ),
        (
            "main.bicep",
            "param workloadName string = 'hrprov'\n",
            "param workloadName string = 'hrprov'\n\n@secure()\nparam graphClientSecret string = 'hunter2'\n"
            "output GRAPH_CLIENT_SECRET string = graphClientSecret\n",
            "secure parameter graphClientSecret has a default",
        ),
        (
            "main.bicep",
            "param workloadName string = 'hrprov'\n",
            "param workloadName string = 'hrprov'\n\nparam storageConnection string = "
            "'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc=='\n",
            "storageConnection default looks like a secret",
        ),
        (
            "main.parameters.json",
            '"${MAIL_SENDER}"',
            '"${MAIL_SENDER}"}, "graphClientSecret": {"value": "s3cr3t-Value"',
            "graphClientSecret: literal value looks like a secret",
        ),
    ],
    ids=[
        "connection-string-output",
        "list-keys",
        "secure-default-and-output",
        "key-in-default",
        "literal-in-parameters",
    ],
)
def test_secret_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    problems = checks.secret_problems(infra)
    assert expected in messages(problems)


def test_secret_check_flags_secure_outputs_and_secret_names(infra: Path) -> None:
    plant(
        infra / "modules/identity.bicep",
        "output resourceId string = identity.id\n",
        "output resourceId string = identity.id\n@secure()\noutput clientSecret string = identity.name\n",
    )
    text = messages(checks.secret_problems(infra))
    assert "output clientSecret is @secure()" in text
    assert "output clientSecret is named like a secret" in text


# --- required resources, hardening, workbook, Graph, azd ------------------------------------------------


def test_required_resources_are_declared_and_hardened() -> None:
    assert checks.hardening_problems(INFRA) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "modules/storage.bicep",
            "allowSharedKeyAccess: false",
            "allowSharedKeyAccess: true",
            "allowSharedKeyAccess is true",
        ),
        (
            "modules/monitoring.bicep",
            "    DisableLocalAuth: true\n",
            "",
            "properties.DisableLocalAuth is not set",
        ),
        (
            "modules/keyvault.bicep",
            "enablePurgeProtection: true",
            "enablePurgeProtection: false",
            "enablePurgeProtection is false",
        ),
        (
            "modules/functionapp.bicep",
            "            type: 'UserAssignedIdentity'",
            "            type: 'StorageAccountConnectionString'",
            "authentication.type is 'StorageAccountConnectionString'",
        ),
        (
            "modules/functionapp.bicep",
            "    keyVaultReferenceIdentity: identityResourceId\n",
            "",
            "keyVaultReferenceIdentity is not set",
        ),
        (
            "modules/functionapp.bicep",
            "    tier: 'FlexConsumption'",
            "    tier: 'Dynamic'",
            "sku.tier is 'Dynamic'",
        ),
        (
            "modules/dts.bicep",
            "resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {",
            "resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' existing = {",
            "no Microsoft.DurableTask/schedulers/taskHubs resource",
        ),
    ],
    ids=[
        "shared-keys-on",
        "local-auth-unset",
        "purge-protection-off",
        "key-based-deployment",
        "no-kv-reference-identity",
        "not-flex",
        "no-task-hub",
    ],
)
def test_hardening_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(checks.hardening_problems(infra))


def test_workbook_charts_events_by_stage_and_outcome_and_failures_by_error_code() -> None:
    assert checks.workbook_problems(INFRA / "workbooks/hr-events.workbook.json") == []


def test_workbook_check_catches_a_dropped_chart(infra: Path) -> None:
    path = infra / "workbooks/hr-events.workbook.json"
    workbook = json.loads(path.read_text(encoding="utf-8"))
    workbook["items"] = [
        item for item in workbook["items"] if "errorCode, eventType" not in item.get("content", {}).get("query", "")
    ]
    path.write_text(json.dumps(workbook), encoding="utf-8")
    assert "no query summarizes failures by errorCode" in messages(checks.workbook_problems(path))


def test_graph_roles_are_known_names_looked_up_by_value() -> None:
    assert checks.graph_problems(INFRA / "graph") == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "graph/main.bicep",
            "  'Mail.Send'\n",
            "  'Mail.Send.All'\n",
            "Mail.Send.All is not a known Graph application permission",
        ),
        (
            "graph/bicepconfig.json",
            '"microsoftGraphV1"',
            '"msGraph"',
            "extension microsoftGraphV1 is not configured",
        ),
        (
            "graph/main.bicep",
            "    appRoleId: filter(",
            "    appRoleId: 'b633e1c5-b582-4048-a93e-9f11b44c7e96'\n    unused: filter(",
            "look appRoleId up by name",
        ),
    ],
    ids=["unknown-permission", "alias-not-configured", "hard-coded-role-id"],
)
def test_graph_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(checks.graph_problems(infra / "graph"))


def test_azure_yaml_provisions_infra_and_deploys_the_function_app() -> None:
    manifest = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert (REPO / manifest["infra"]["path"] / f"{manifest['infra']['module']}.bicep").is_file()
    [(service_name, service)] = manifest["services"].items()
    assert service["host"] == "function"
    assert service["language"] == "python"
    assert (REPO / service["project"] / "host.json").is_file()
    # azd finds the app to deploy by this tag, so the Bicep default must name the same service.
    functionapp = checks.parse_bicep(INFRA / "modules/functionapp.bicep")
    assert checks.literal_text(functionapp.params["azdServiceName"].default) == service_name


def test_deploy_guide_names_every_output_and_graph_permission() -> None:
    guide = (REPO / "docs/deploy.md").read_text(encoding="utf-8")
    outputs = [output.name for output in checks.parse_bicep(INFRA / "main.bicep").outputs]
    assert outputs
    assert [name for name in outputs if name not in guide] == []
    graph = checks.parse_bicep(INFRA / "graph/main.bicep")
    literals = (
        checks.string_value(node)
        for name, value in graph.variables.items()
        if name.endswith("AppRoles")
        for node in checks.walk(value)
        if node.type == "string"
    )
    permissions = {literal for literal in literals if literal and "." in literal}
    assert permissions
    assert sorted(p for p in permissions if f"`{p}`" not in guide) == []
    for attribute in ("HireDate", "LeaveDate", "samAccountName", "mailNickname", "employeeType"):
        assert attribute in guide


# --- exposure, request signing, least-privilege Graph grants ---------------------------------------------


def test_the_app_can_be_narrowed_to_the_hr_system_approvers_and_a_private_endpoint() -> None:
    assert exposure_checks.exposure_problems(INFRA) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "modules/functionapp.bicep",
            "      ipSecurityRestrictionsDefaultAction: empty(allowedRanges) ? 'Allow' : 'Deny'\n",
            "",
            "ipSecurityRestrictionsDefaultAction is not set",
        ),
        (
            "modules/functionapp.bicep",
            "      ipSecurityRestrictionsDefaultAction: empty(allowedRanges) ? 'Allow' : 'Deny'\n",
            "      ipSecurityRestrictionsDefaultAction: 'Allow'\n",
            "never denies",
        ),
        ("modules/functionapp.bicep", "name: 'authsettingsV2'", "name: 'authsettings'", "no authsettingsV2"),
        (
            "modules/functionapp.bicep",
            "  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(maxRequestBodyBytes)\n",
            "",
            "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT is not set",
        ),
        (
            "main.bicep",
            "    allowedIpRanges: hrSystemAllowedIpRanges\n",
            "",
            "hrSystemAllowedIpRanges is declared but not used",
        ),
        (
            "modules/siteprivateendpoint.bicep",
            "          groupIds: [\n            'sites'\n",
            "          groupIds: [\n            'blob'\n",
            "no private endpoint with groupId 'sites'",
        ),
    ],
    ids=["no-ip-default", "never-deny", "no-easy-auth", "no-body-limit", "ips-not-wired", "no-site-endpoint"],
)
def test_exposure_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(exposure_checks.exposure_problems(infra))


def test_request_signing_is_on_by_default_with_a_secret_azd_generates_once() -> None:
    assert exposure_checks.signing_problems(INFRA / "main.bicep", INFRA / "main.parameters.json") == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("main.bicep", "param requestSigning bool = true", "param requestSigning bool = false", "defaults to true"),
        (
            "main.bicep",
            "  HR_SIGNING_SECRET_NAME: requestSigning ? signingSecretName : hrSigningSecretName\n",
            "  HR_SIGNING_SECRET_NAME: hrSigningSecretName\n",
            "does not follow requestSigning",
        ),
        (
            "main.parameters.json",
            "$(secretOrRandomPassword ${KEY_VAULT_NAME} hr-signing-secret)",
            "$(secretOrRandomPassword ${KEY_VAULT} hr-signing-secret)",
            "KEY_VAULT is not an output",
        ),
        (
            "main.parameters.json",
            "$(secretOrRandomPassword ${KEY_VAULT_NAME} hr-signing-secret)",
            "${HR_SIGNING_SECRET}",
            "must come from $(secretOrRandomPassword",
        ),
    ],
    ids=["signing-off", "not-wired", "unknown-vault-output", "not-generated"],
)
def test_signing_check_catches_planted_break(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(exposure_checks.signing_problems(infra / "main.bicep", infra / "main.parameters.json"))


@pytest.mark.parametrize("credential_method", ["tap", "password", "none"])
@pytest.mark.parametrize("revoke_sessions", [True, False])
@pytest.mark.parametrize("mail_permission", ["exchange_rbac", "graph"])
def test_graph_grants_are_exactly_what_the_preflight_requires(
    credential_method: Any, revoke_sessions: bool, mail_permission: Any
) -> None:
    granted = exposure_checks.graph_grants(INFRA / "graph", credential_method, revoke_sessions, mail_permission)
    assert granted == required_roles(credential_method, revoke_sessions, mail_permission=mail_permission)


def test_no_broad_permission_is_ever_granted() -> None:
    broad = {"UserAuthenticationMethod.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
    for method in ("tap", "password", "none"):
        assert not broad & exposure_checks.graph_grants(INFRA / "graph", method, True, "graph")
    mail_default = checks.parse_bicep(INFRA / "graph/main.bicep").params["mailPermission"]
    assert checks.literal_text(mail_default.default) == "exchange_rbac", "Mail.Send is scoped in Exchange by default"


def test_grant_check_catches_a_broader_permission(infra: Path) -> None:
    plant(
        infra / "graph/main.bicep",
        "    'UserAuthMethod-TAP.ReadWrite.All'\n",
        "    'UserAuthenticationMethod.ReadWrite.All'\n",
    )
    granted = exposure_checks.graph_grants(infra / "graph", "tap", False, "exchange_rbac")
    assert granted != required_roles("tap", False, mail_permission="exchange_rbac")


def test_the_generated_signing_secret_is_not_a_literal_but_a_real_literal_still_is(infra: Path) -> None:
    assert checks.secret_problems(INFRA) == []
    plant(
        infra / "main.parameters.json",
        '"$(secretOrRandomPassword ${KEY_VAULT_NAME} hr-signing-secret)"',
        '"k3y-in-the-file"',
    )
    assert "hrSigningSecret: literal value looks like a secret" in messages(checks.secret_problems(infra))
