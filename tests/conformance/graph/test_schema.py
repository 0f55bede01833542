"""The schema check itself: it accepts Microsoft's documented examples and catches each kind of deviation,
and the extractor reads CSDL the way the committed graph_v1_schema.json was made."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.graph.refresh_schema import extract
from tests.conformance.graph.schema import load_schema, problems

# Shaped like the List provisioningObjectSummary example on Microsoft Learn (values shortened).
LOG_ENTRY: dict[str, Any] = {
    "id": "75b5b0ae-9fc5-8d0e-e0a9-7y6a4728de56",
    "activityDateTime": "2019-05-04T03:00:54Z",
    "tenantId": "74beb175-3b80-7b63-b9d5-6f0b76082b16",
    "jobId": "API2AD.74beb1753b704b63b8d56f0b76082b16.10a7a801",
    "cycleId": "b6502552-018d-79bd-8869-j47194dc65c1",
    "changeId": "b6502552-018d-89bd-9969-b49194dc65c1",
    "provisioningAction": "create",
    "durationInMilliseconds": 3236,
    "provisioningStatusInfo": {"status": "success", "errorInformation": None},
    "provisioningSteps": [
        {
            "name": "EntryImport",
            "provisioningStepType": "import",
            "status": "success",
            "description": "Retrieved User",
            "details": {},
        }
    ],
    "modifiedProperties": [{"displayName": "appId", "oldValue": None, "newValue": "60a7a801"}],
    "servicePrincipal": {"id": "6cc35b93-185a-4485-a519-50c09549g3ad", "displayName": "Contoso"},
    "sourceSystem": {"id": "d1e090e1", "displayName": "Contoso", "details": {}},
    "targetSystem": {"id": "e69d4bd2", "displayName": "Active Directory", "details": {"ApplicationId": "bcf4d658"}},
    "initiatedBy": {"initiatorType": "system", "id": "", "displayName": "Azure AD Provisioning Service"},
    "sourceIdentity": {"identityType": "User", "id": "701984", "displayName": "", "details": {}},
    "targetIdentity": {"identityType": "User", "id": "", "displayName": "", "details": {}},
}
USER: dict[str, Any] = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
    "businessPhones": [],
    "displayName": "Zoe O'Brien",
    "mail": "zoe@contoso.com",
    "onPremisesSyncEnabled": True,
    "employeeHireDate": "2026-12-01T00:00:00Z",
    "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
}


def test_the_extract_names_its_origin() -> None:
    source = load_schema().source
    assert source["repository"] == "https://github.com/microsoftgraph/msgraph-metadata"
    assert source["path"] == "clean_v10_metadata/cleanMetadata.xml"
    assert len(source["commit"]) == 40 and source["commitDate"] and source["extracted"]


def test_documented_examples_conform() -> None:
    assert problems(LOG_ENTRY, "microsoft.graph.provisioningObjectSummary") == []
    assert problems(USER, "microsoft.graph.user") == []
    manager = {"@odata.type": "#microsoft.graph.user", "id": "1", "mail": "boss@contoso.com"}
    assert problems(manager, "microsoft.graph.directoryObject") == []


def planted(path: str, value: Any, base: dict[str, Any] = LOG_ENTRY) -> dict[str, Any]:
    copied = copy.deepcopy(base)
    *parents, last = path.split(".")
    target: Any = copied
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return copied


@pytest.mark.parametrize(
    ("instance", "type_name", "expected"),
    [
        (planted("businessPhones", None, USER), "microsoft.graph.user", "must be an array"),
        (planted("businessPhones", [None], USER), "microsoft.graph.user", "items are not nullable"),
        (planted("mailAddress", "x", USER), "microsoft.graph.user", "not a property of microsoft.graph.user"),
        (planted("accountEnabled", "true", USER), "microsoft.graph.user", "Edm.Boolean"),
        (planted("employeeHireDate", "2026-12-01", USER), "microsoft.graph.user", "has no offset"),
        (planted("activityDateTime", None), "microsoft.graph.provisioningObjectSummary", "Nullable=false"),
        (planted("durationInMilliseconds", 1.5), "microsoft.graph.provisioningObjectSummary", "Edm.Int32"),
        (planted("provisioningAction", "Create"), "microsoft.graph.provisioningObjectSummary", "not a member"),
        (
            planted("provisioningSteps.0.provisioningStepType", "Import"),
            "microsoft.graph.provisioningObjectSummary",
            "not a member",
        ),
        (planted("servicePrincipal", [{"id": "x"}]), "microsoft.graph.provisioningObjectSummary", "JSON object"),
        (
            {"@odata.type": "#microsoft.graph.provisioningObjectSummary", "id": "1"},
            "microsoft.graph.directoryObject",
            "does not derive from",
        ),
        ({"id": "1", "createdDateTime": None}, "microsoft.graph.authenticationMethod", "abstract"),
    ],
    ids=[
        "null-collection",
        "null-item",
        "unknown-property",
        "wrong-primitive",
        "date-without-offset",
        "null-non-nullable",
        "float-for-int32",
        "enum-case",
        "nested-enum",
        "collection-for-single",
        "unrelated-odata-type",
        "abstract-without-type",
    ],
)
def test_each_kind_of_deviation_is_caught(instance: dict[str, Any], type_name: str, expected: str) -> None:
    found = problems(instance, type_name)
    assert any(expected in problem for problem in found), found


CSDL = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EnumType Name="colour"><Member Name="red" Value="0" /><Member Name="blue" Value="1" /></EnumType>
      <EntityType Name="entity" Abstract="true"><Key><PropertyRef Name="id" /></Key>
        <Property Name="id" Type="Edm.String" Nullable="false" /></EntityType>
      <EntityType Name="widget" BaseType="graph.entity" OpenType="true">
        <Property Name="tags" Type="Collection(Edm.String)" Nullable="false" />
        <Property Name="colour" Type="graph.colour" />
        <Property Name="part" Type="graph.part" />
        <NavigationProperty Name="owner" Type="graph.entity" />
      </EntityType>
      <ComplexType Name="part"><Property Name="size" Type="Edm.Int32" /></ComplexType>
      <ComplexType Name="unused"><Property Name="x" Type="Edm.String" /></ComplexType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


def test_the_extractor_follows_base_and_property_types(tmp_path: Path) -> None:
    csdl = tmp_path / "metadata.xml"
    csdl.write_text(CSDL, encoding="utf-8")
    extracted = extract(csdl, roots=("microsoft.graph.widget",))
    assert set(extracted["entityTypes"]) == {"microsoft.graph.entity", "microsoft.graph.widget"}
    assert set(extracted["complexTypes"]) == {"microsoft.graph.part"}
    assert extracted["enumTypes"] == {"microsoft.graph.colour": ["red", "blue"]}
    widget = extracted["entityTypes"]["microsoft.graph.widget"]
    assert widget["baseType"] == "microsoft.graph.entity" and widget["open"] is True
    assert widget["properties"]["tags"] == {"type": "Edm.String", "collection": True, "nullable": False}
    assert widget["navigationProperties"] == ["owner"]
    assert extracted["entityTypes"]["microsoft.graph.entity"]["abstract"] is True
