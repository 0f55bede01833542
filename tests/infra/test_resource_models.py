"""infra/ against Azure's published resource models (azure-mgmt-* packages) for each declared API version.

The real Bicep must have no finding, every resource type must be checked or listed with the reason it
cannot be, and a planted error of each kind must be reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.planting import INFRA, copy_infra, plant
from tests.infra.resource_checks import resource_model_problems, unchecked_resources
from tests.infra.resource_models import MODELS, resource_shape

#: What cannot be checked today, and why. A new gap (a type without a mapped model, an API version no
#: installed package carries) makes test_only_the_known_gaps_are_unchecked fail until it is listed here.
KNOWN_GAPS = {
    "Microsoft.Graph/appRoleAssignedTo@v1.0": "served by the Microsoft Graph Bicep extension",
    "Microsoft.OperationalInsights/workspaces@2023-09-01": "has only 2025-07-01, not 2023-09-01",
}


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    return copy_infra(tmp_path)


def messages(infra_dir: Path) -> str:
    return "\n".join(str(problem) for problem in resource_model_problems(infra_dir))


def test_every_resource_body_matches_its_published_model() -> None:
    assert resource_model_problems(INFRA) == []


def test_only_the_known_gaps_are_unchecked() -> None:
    unchecked = unchecked_resources(INFRA)
    assert set(unchecked) == set(KNOWN_GAPS)
    for key, reason in KNOWN_GAPS.items():
        assert reason in unchecked[key]


def test_models_come_from_the_declared_api_version() -> None:
    """Each mapped type resolves to its own version's models; a version no package carries is named as such."""
    storage = resource_shape("Microsoft.Storage/storageAccounts", "2023-05-01")
    assert not hasattr(storage, "reason")
    missing = getattr(resource_shape("Microsoft.Storage/storageAccounts", "2099-01-01"), "reason", "")
    assert missing.startswith("azure-mgmt-storage 21.2.1 carries") and missing.endswith("not 2099-01-01")
    single = resource_shape("Microsoft.DurableTask/schedulers", "2024-10-01-preview")
    assert "has only 2025-11-01" in getattr(single, "reason", "")
    assert "microsoft.storage/storageaccounts" in MODELS


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "modules/storage.bicep",
            "    allowBlobPublicAccess: false\n",
            "    allowBlobPublicAccess: false\n    allowBlobPublicAccesss: false\n",
            "properties.allowBlobPublicAccesss is not a property of StorageAccountCreateParameters.properties",
        ),
        (
            "modules/monitoring.bicep",
            "    DisableLocalAuth: true\n",
            "    disableLocalAuth: true\n",
            "the model spells it DisableLocalAuth",
        ),
        (
            "modules/functionapp.bicep",
            "    httpsOnly: true\n",
            "    httpsOnly: 'true'\n",
            "properties.httpsOnly is string, the model wants boolean",
        ),
        (
            "modules/functionapp.bicep",
            "        instanceMemoryMB: instanceMemoryMB",
            "        instanceMemoryMB: '${instanceMemoryMB}'",
            "scaleAndConcurrency.instanceMemoryMB is string, the model wants integer",
        ),
        (
            "modules/network.bicep",
            "          privateEndpointNetworkPolicies: 'Disabled'",
            "          privateEndpointNetworkPolicies: false",
            "subnets[].properties.privateEndpointNetworkPolicies is boolean",
        ),
        (
            "modules/storage.bicep",
            "  kind: 'StorageV2'",
            "  kind: 'StorageV3'",
            "kind 'StorageV3' is not a Kind value",
        ),
        (
            "modules/keyvault.bicep",
            "      name: 'standard'",
            "      name: 'Standard'",
            "the model spells it 'standard'",
        ),
        (
            "modules/dts.bicep",
            "  'Group'\n])\nparam dashboardPrincipalType",
            "  'Groups'\n])\nparam dashboardPrincipalType",
            "(@allowed of dashboardPrincipalType) 'Groups' is not a PrincipalType value",
        ),
        (
            "modules/dts.bicep",
            "          name: 'Consumption'",
            "          name: 'Serverless'",
            "properties.sku.name 'Serverless' is not a SchedulerSkuName value",
        ),
        (
            "modules/functionapp.bicep",
            "    keyVaultReferenceIdentity: identityResourceId\n",
            "    keyVaultReferenceIdentity: identityResourceId\n    defaultHostName: 'hr.contoso.com'\n",
            "properties.defaultHostName is read-only",
        ),
        (
            "modules/dts.bicep",
            "  properties: {\n    ipAllowlist: ipAllowlist\n",
            "  properties: {\n    endpoint: 'https://x'\n    ipAllowlist: ipAllowlist\n",
            "properties.endpoint is read-only",
        ),
        (
            "modules/rbac.bicep",
            "roleIds.monitoringMetricsPublisher)\n    principalId: principalId\n",
            "roleIds.monitoringMetricsPublisher)\n",
            "metricsPublisher (Microsoft.Authorization/roleAssignments@2022-04-01): properties.principalId is required",
        ),
        (
            "modules/dts.bicep",
            "    ipAllowlist: ipAllowlist\n",
            "",
            "properties.ipAllowlist is required",
        ),
    ],
    ids=[
        "unknown-property",
        "unknown-property-case",
        "wrong-type-literal",
        "wrong-type-interpolation",
        "wrong-type-in-array-item",
        "invalid-enum",
        "invalid-enum-case",
        "invalid-enum-in-allowed",
        "invalid-enum-typespec-model",
        "read-only",
        "read-only-typespec-model",
        "missing-required",
        "missing-required-typespec-model",
    ],
)
def test_each_kind_of_finding_is_reported(infra: Path, file: str, old: str, new: str, expected: str) -> None:
    plant(infra / file, old, new)
    assert expected in messages(infra)


def test_a_version_no_package_carries_is_reported_unchecked(infra: Path) -> None:
    plant(
        infra / "modules/identity.bicep",
        "'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'",
        "'Microsoft.ManagedIdentity/userAssignedIdentities@2018-06-01-preview'",
    )
    unchecked = unchecked_resources(infra)
    reason = unchecked["Microsoft.ManagedIdentity/userAssignedIdentities@2018-06-01-preview"]
    assert reason.startswith("azure-mgmt-msi 7.0.0 carries") and "not 2018-06-01-preview" in reason


def test_child_resources_inherit_the_parents_version_and_use_their_name(infra: Path) -> None:
    plant(infra / "modules/storage.bicep", "        publicAccess: 'None'", "        publicAccess: 'Private'")
    plant(infra / "modules/functionapp.bicep", "    name: 'appsettings'", "    name: 'web'")
    found = messages(infra)
    assert "deploymentContainer (Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01)" in found
    assert "'Private' is not a PublicAccess value" in found
    # As 'web' the config body is a SiteConfigResource, whose properties are not a string map.
    assert "appSettingsConfig (Microsoft.Web/sites/config@2024-04-01)" in found
