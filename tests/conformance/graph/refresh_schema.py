"""Extract the Graph types the product uses from Microsoft's published CSDL into graph_v1_schema.json.

Source: the ``microsoftgraph/msgraph-metadata`` repository, ``clean_v10_metadata/cleanMetadata.xml`` (the
v1.0 metadata Microsoft publishes for its SDK generators). Only the root types below and what they reach
through structural properties and base types are kept: names, types, collection-ness, nullability,
open-ness, and enum members. Refresh with::

    curl -sLo /tmp/cleanMetadata.xml \\
        https://raw.githubusercontent.com/microsoftgraph/msgraph-metadata/<commit>/clean_v10_metadata/cleanMetadata.xml
    python -m tests.conformance.graph.refresh_schema --csdl /tmp/cleanMetadata.xml \\
        --commit <commit> --commit-date <YYYY-MM-DD>

The output is committed; the conformance tests read it offline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPOSITORY = "microsoftgraph/msgraph-metadata"
CSDL_PATH = "clean_v10_metadata/cleanMetadata.xml"
OUTPUT = Path(__file__).with_name("graph_v1_schema.json")
NAMESPACE = "microsoft.graph"
_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

#: The types of the responses the product reads (users, manager, TAP, provisioning logs).
ROOTS = (
    "microsoft.graph.user",
    "microsoft.graph.directoryObject",
    "microsoft.graph.temporaryAccessPassAuthenticationMethod",
    "microsoft.graph.provisioningObjectSummary",
)


def _qualified(type_name: str) -> str:
    """``graph.user`` / ``self.x`` aliases -> ``microsoft.graph.user``; Edm types stay as they are."""
    if type_name.startswith("Edm."):
        return type_name
    return f"{NAMESPACE}.{type_name.split('.', 1)[1]}" if type_name.startswith(("graph.", "self.")) else type_name


def _property(element: ET.Element) -> dict[str, Any]:
    raw = element.attrib["Type"]
    collection = raw.startswith("Collection(")
    inner = raw[len("Collection(") : -1] if collection else raw
    return {
        "type": _qualified(inner),
        "collection": collection,
        "nullable": element.attrib.get("Nullable", "true") != "false",
    }


def _index(root: ET.Element) -> dict[str, tuple[str, ET.Element]]:
    """Qualified name -> (kind, element) for every type in the microsoft.graph schema."""
    types: dict[str, tuple[str, ET.Element]] = {}
    for schema in root.iter(f"{_EDM}Schema"):
        if schema.attrib.get("Namespace") != NAMESPACE:
            continue
        for kind in ("EntityType", "ComplexType", "EnumType"):
            for element in schema.findall(f"{_EDM}{kind}"):
                types[f"{NAMESPACE}.{element.attrib['Name']}"] = (kind, element)
    return types


def extract(csdl: Path, roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The root types and everything they reach, in the JSON shape graph_v1_schema.json holds."""
    index = _index(ET.parse(csdl).getroot())
    entity_types: dict[str, Any] = {}
    complex_types: dict[str, Any] = {}
    enum_types: dict[str, list[str]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name.startswith("Edm.") or name in entity_types or name in complex_types or name in enum_types:
            continue
        kind, element = index[name]
        if kind == "EnumType":
            enum_types[name] = [member.attrib["Name"] for member in element.findall(f"{_EDM}Member")]
            continue
        properties = {prop.attrib["Name"]: _property(prop) for prop in element.findall(f"{_EDM}Property")}
        described: dict[str, Any] = {
            "baseType": _qualified(element.attrib["BaseType"]) if "BaseType" in element.attrib else None,
            "abstract": element.attrib.get("Abstract") == "true",
            "open": element.attrib.get("OpenType") == "true",
            "properties": properties,
            "navigationProperties": sorted(nav.attrib["Name"] for nav in element.findall(f"{_EDM}NavigationProperty")),
        }
        (entity_types if kind == "EntityType" else complex_types)[name] = described
        if described["baseType"]:
            pending.append(described["baseType"])
        pending.extend(prop["type"] for prop in properties.values())
    return {
        "entityTypes": dict(sorted(entity_types.items())),
        "complexTypes": dict(sorted(complex_types.items())),
        "enumTypes": dict(sorted(enum_types.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csdl", type=Path, required=True, help=f"a local copy of {CSDL_PATH}")
    parser.add_argument("--commit", required=True, help=f"the {REPOSITORY} commit the copy comes from")
    parser.add_argument("--commit-date", required=True, help="that commit's date (YYYY-MM-DD)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    document = {
        "source": {
            "repository": f"https://github.com/{REPOSITORY}",
            "path": CSDL_PATH,
            "commit": args.commit,
            "commitDate": args.commit_date,
            "extracted": dt.date.today().isoformat(),
            "generator": "python -m tests.conformance.graph.refresh_schema",
            "roots": list(ROOTS),
        },
        **extract(args.csdl),
    }
    args.output.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
