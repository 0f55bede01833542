"""Check a Graph JSON response against the types in graph_v1_schema.json (Microsoft's published CSDL).

What a payload must satisfy, per OData JSON format and the CSDL: every property is declared on the type or
one of its base types. Open types take dynamic properties: any name on a property bag that declares none
(``detailsInfo``), only directory-extension names (``extension_<app id>_<name>``) on open types that declare
properties (``user``), so a misspelt user property is still caught. Primitive values have
their Edm type's JSON shape, enum values are members, complex values are objects of their type,
collections are arrays (never null) whose items are not null when the CSDL says ``Nullable="false"``, and
non-nullable single values are never null. ``@odata.type`` may name the expected type or a type derived
from it, and the value is then checked as that type. Other instance annotations are not checked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("graph_v1_schema.json")
_EXTENSION_PROPERTY = re.compile(r"^extension_[0-9a-f]{32}_\w+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^-?P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$")
_INTEGER_RANGES = {"Edm.Byte": (0, 255), "Edm.Int16": (-(2**15), 2**15 - 1), "Edm.Int32": (-(2**31), 2**31 - 1)}


@dataclass(frozen=True)
class GraphSchema:
    """The extracted types, with lookups by qualified name."""

    document: Mapping[str, Any]

    @property
    def source(self) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.document["source"]
        return result

    def structured(self, name: str) -> Mapping[str, Any] | None:
        found = self.document["entityTypes"].get(name) or self.document["complexTypes"].get(name)
        return found if isinstance(found, Mapping) else None

    def enum(self, name: str) -> list[str] | None:
        members = self.document["enumTypes"].get(name)
        return list(members) if members is not None else None

    def lineage(self, name: str) -> list[str]:
        """The type and its base types, most derived first."""
        chain = []
        current: str | None = name
        while current is not None:
            chain.append(current)
            described = self.structured(current)
            current = described["baseType"] if described is not None else None
        return chain

    def properties(self, name: str) -> dict[str, Mapping[str, Any]]:
        merged: dict[str, Mapping[str, Any]] = {}
        for type_name in reversed(self.lineage(name)):
            described = self.structured(type_name)
            if described is not None:
                merged.update(described["properties"])
        return merged

    def is_open(self, name: str) -> bool:
        return any((self.structured(t) or {}).get("open") for t in self.lineage(name))

    def allows_dynamic(self, name: str, key: str) -> bool:
        """Whether an open type takes the undeclared property ``key`` (see the module docstring)."""
        if not self.is_open(name):
            return False
        return not self.properties(name) or bool(_EXTENSION_PROPERTY.match(key))


@cache
def load_schema(path: Path = SCHEMA_FILE) -> GraphSchema:
    return GraphSchema(json.loads(path.read_text(encoding="utf-8")))


def problems(value: Any, type_name: str, schema: GraphSchema | None = None, where: str = "$") -> list[str]:
    """Every way ``value`` breaks the schema of ``type_name`` (empty: it conforms)."""
    return list(_check_structured(value, type_name, schema or load_schema(), where))


def _check_structured(value: Any, type_name: str, schema: GraphSchema, where: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{where}: {type_name} must be a JSON object, got {json.dumps(value)[:60]}"
        return
    actual = type_name
    annotated = value.get("@odata.type")
    if annotated is not None:
        named = str(annotated).removeprefix("#")
        if schema.structured(named) is None:
            yield f"{where}: @odata.type {annotated!r} is not a type of the extracted schema"
            return
        if type_name not in schema.lineage(named):
            yield f"{where}: @odata.type {annotated!r} does not derive from {type_name}"
            return
        actual = named
    if (schema.structured(actual) or {}).get("abstract") and annotated is None:
        yield f"{where}: {actual} is abstract; the instance must carry @odata.type"
    declared = schema.properties(actual)
    for key, item in value.items():
        if "@" in key:
            continue  # instance and property annotations
        spec = declared.get(key)
        if spec is None:
            if not schema.allows_dynamic(actual, key):
                yield f"{where}.{key}: not a property of {actual}"
            continue
        yield from _check_property(item, spec, schema, f"{where}.{key}")


def _check_property(value: Any, spec: Mapping[str, Any], schema: GraphSchema, where: str) -> Iterator[str]:
    if spec["collection"]:
        if not isinstance(value, list):
            yield f"{where}: a collection of {spec['type']} must be an array, got {json.dumps(value)[:60]}"
            return
        for index, item in enumerate(value):
            if item is None:
                if not spec["nullable"]:
                    yield f"{where}[{index}]: null in a collection whose items are not nullable"
                continue
            yield from _check_value(item, spec["type"], schema, f"{where}[{index}]")
        return
    if value is None:
        if not spec["nullable"]:
            yield f"{where}: null, but {spec['type']} is declared Nullable=false"
        return
    yield from _check_value(value, spec["type"], schema, where)


def _check_value(value: Any, type_name: str, schema: GraphSchema, where: str) -> Iterator[str]:
    if type_name.startswith("Edm."):
        problem = _primitive_problem(value, type_name)
        if problem is not None:
            yield f"{where}: {problem}"
        return
    members = schema.enum(type_name)
    if members is not None:
        if value not in members:
            yield f"{where}: {json.dumps(value)} is not a member of {type_name} ({', '.join(members)})"
        return
    if schema.structured(type_name) is None:
        yield f"{where}: {type_name} is not in the extracted schema (rerun refresh_schema with it as a root)"
        return
    yield from _check_structured(value, type_name, schema, where)


def _primitive_problem(value: Any, edm: str) -> str | None:
    shown = json.dumps(value)[:60]
    if edm in ("Edm.String", "Edm.Guid", "Edm.DateTimeOffset", "Edm.Date", "Edm.Duration", "Edm.Binary"):
        if not isinstance(value, str):
            return f"{edm} must be a JSON string, got {shown}"
        return _text_problem(value, edm)
    if edm == "Edm.Boolean":
        return None if isinstance(value, bool) else f"Edm.Boolean must be true or false, got {shown}"
    if edm in ("Edm.Byte", "Edm.Int16", "Edm.Int32", "Edm.Int64"):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{edm} must be a JSON integer, got {shown}"
        low, high = _INTEGER_RANGES.get(edm, (-(2**63), 2**63 - 1))
        return None if low <= value <= high else f"{value} is out of range for {edm}"
    if edm in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        special = value in ("NaN", "INF", "-INF")
        return None if numeric or special else f"{edm} must be a JSON number, got {shown}"
    if edm == "Edm.Stream":
        return None
    return f"no check for {edm}"


def _text_problem(value: str, edm: str) -> str | None:
    try:
        if edm == "Edm.Guid":
            uuid.UUID(value)
        elif edm == "Edm.DateTimeOffset":
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                return f"Edm.DateTimeOffset {value!r} has no offset"
        elif edm == "Edm.Date" and not _DATE.match(value):
            return f"Edm.Date {value!r} is not YYYY-MM-DD"
        elif edm == "Edm.Duration" and not _DURATION.match(value):
            return f"Edm.Duration {value!r} is not an ISO 8601 duration"
        elif edm == "Edm.Binary":
            base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
    except (ValueError, binascii.Error):
        return f"{value!r} is not a valid {edm}"
    return None
