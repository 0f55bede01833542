"""Each resource body in infra/ checked against Azure's published model for its declared API version.

For every `resource` declaration (not `existing` ones) the body is walked alongside the model from
:mod:`tests.infra.resource_models` and five kinds of finding are reported: a property the model does not
have, a value of the wrong JSON type, a literal that is not one of the model's enum values, a read-only
property being set, and a required property missing from an object literal.

What a syntax tree can tell is checked: literals, object and array literals, `[for ...]` bodies, both
branches of a ternary, variables (followed to their value), parameters (by their declared type, and their
`@allowed` values for enums), and the return types of common functions. Values only known at deployment
(`storage.properties.primaryEndpoints.blob`) are not. Bicep-only keys (`name`, `parent`, `scope`,
`dependsOn`) are not part of the model and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from tests.infra.bicep_checks import (
    BicepFile,
    Problem,
    Resource,
    bicep_files,
    object_properties,
    parse_bicep,
    string_value,
)
from tests.infra.resource_models import (
    ANY,
    ARRAY,
    BOOLEAN,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    Shape,
    Unavailable,
    resource_shape,
)

__all__ = ["full_type", "resource_model_problems", "unchecked_resources"]

BICEP_ONLY_KEYS = frozenset({"name", "parent", "scope", "dependsOn"})
#: Resource providers Bicep serves through extensions rather than Azure Resource Manager.
EXTENSION_PROVIDERS = {"microsoft.graph": "the Microsoft Graph Bicep extension (not an ARM provider)"}
_STRING_FUNCTIONS = frozenset(
    {
        "guid",
        "uniqueString",
        "format",
        "toLower",
        "toUpper",
        "trim",
        "replace",
        "substring",
        "string",
        "uriComponent",
        "uri",
        "base64",
        "resourceId",
        "subscriptionResourceId",
        "tenantResourceId",
        "extensionResourceId",
        "managementGroupResourceId",
        "loadTextContent",
        "loadFileAsBase64",
        "newGuid",
        "utcNow",
        "dataUri",
    }
)
_BOOLEAN_FUNCTIONS = frozenset({"empty", "contains", "startsWith", "endsWith", "equals", "bool", "any"} - {"any"})
_INTEGER_FUNCTIONS = frozenset({"length", "int", "indexOf", "lastIndexOf", "min", "max"})
_OBJECT_FUNCTIONS = frozenset({"toObject", "environment", "tenant", "subscription", "resourceGroup", "deployment"})
_ARRAY_FUNCTIONS = frozenset({"items", "filter", "map", "range", "split", "flatten", "skip", "sort"})
_STRING_MEMBERS = frozenset({"id", "name", "tenantId", "location", "subscriptionId", "type"})
_PARAM_TYPES = {"string": STRING, "int": INTEGER, "bool": BOOLEAN, "object": OBJECT, "array": ARRAY}


@dataclass(frozen=True)
class Declared:
    """A resource declaration with its full type and the API version it uses."""

    file: BicepFile
    resource: Resource
    type: str
    api_version: str

    @property
    def name(self) -> str | None:
        """The literal resource name, when the body spells one out (`'appsettings'`)."""
        return string_value(object_properties(self.resource.body).get("name"))


def full_type(resource: Resource) -> tuple[str, str]:
    """(`Microsoft.X/y/z`, api version) of a declaration; nested children inherit from their parents."""
    own, _, version = resource.type.partition("@")
    if "/" not in own and resource.parent is not None:
        parent_type, parent_version = full_type(resource.parent)
        return f"{parent_type}/{own}", version or parent_version
    return own, version


def _declarations(infra_dir: Path) -> Iterator[Declared]:
    for path in bicep_files(infra_dir):
        parsed = parse_bicep(path)
        for resource in parsed.resources:
            if not resource.existing:
                resource_type, version = full_type(resource)
                yield Declared(parsed, resource, resource_type, version)


def unchecked_resources(infra_dir: Path) -> dict[str, str]:
    """`type@version` -> why its bodies are not checked (no model for that version, or not ARM)."""
    unchecked: dict[str, str] = {}
    for declared in _declarations(infra_dir):
        key = f"{declared.type}@{declared.api_version}"
        provider = declared.type.split("/")[0].lower()
        if provider in EXTENSION_PROVIDERS:
            unchecked[key] = f"served by {EXTENSION_PROVIDERS[provider]}"
            continue
        shape = resource_shape(declared.type, declared.api_version, declared.name)
        if isinstance(shape, Unavailable):
            unchecked[key] = shape.reason
    return unchecked


def resource_model_problems(infra_dir: Path) -> list[Problem]:
    """Every deviation of a resource body from its model (see the module docstring)."""
    problems: list[Problem] = []
    for declared in _declarations(infra_dir):
        if declared.type.split("/")[0].lower() in EXTENSION_PROVIDERS or declared.resource.body is None:
            continue
        shape = resource_shape(declared.type, declared.api_version, declared.name)
        if isinstance(shape, Unavailable):
            continue
        checker = _BodyChecker(declared.file, f"{declared.resource.symbol} ({declared.type}@{declared.api_version})")
        checker.object_literal(declared.resource.body, shape, "", skip=BICEP_ONLY_KEYS)
        problems.extend(checker.problems)
    return problems


class _BodyChecker:
    def __init__(self, file: BicepFile, label: str) -> None:
        self.file = file
        self.label = label
        self.problems: list[Problem] = []

    def report(self, node: tree_sitter.Node, path: str, message: str) -> None:
        self.problems.append(self.file.problem(node, f"{self.label}: {path or 'body'} {message}"))

    # -- objects -----------------------------------------------------------------------------------

    def object_literal(
        self,
        node: tree_sitter.Node,
        shape: Shape,
        path: str,
        *,
        skip: frozenset[str] = frozenset(),
        partial: bool = False,
    ) -> None:
        present = object_properties(node)
        for key, value in present.items():
            if key in skip:
                continue
            where = f"{path}.{key}" if path else key
            if shape.values is not None:
                self.value(value, shape.values, where)
                continue
            field = shape.fields.get(key)
            if field is None:
                if not shape.open:
                    self.report(value, where, self._unknown(key, shape))
                continue
            if field.read_only:
                self.report(value, where, "is read-only in the model (set by Azure)")
                continue
            self.value(value, field, where)
        if partial:
            return
        for key, field in shape.fields.items():
            if field.required and not field.read_only and key not in present and key not in skip:
                self.report(node, f"{path}.{key}" if path else key, "is required by the model but not set")

    def _unknown(self, key: str, shape: Shape) -> str:
        near = next((name for name in shape.fields if name.lower() == key.lower()), None)
        hint = f" (the model spells it {near})" if near else ""
        return f"is not a property of {shape.name or 'this object'}{hint}"

    # -- values ------------------------------------------------------------------------------------

    def value(self, node: tree_sitter.Node, shape: Shape, path: str, depth: int = 0) -> None:
        if shape.kind == ANY or depth > 20:
            return
        kind = node.type
        if kind == "parenthesized_expression":
            self._each_child_expression(node, shape, path, depth)
        elif kind == "ternary_expression":
            for branch in node.children[2:]:
                if branch.type not in ("?", ":"):
                    self.value(branch, shape, path, depth + 1)
        elif kind == "identifier":
            self._identifier(node, shape, path, depth)
        elif kind == "object":
            if self._expect(node, shape, OBJECT, path):
                self.object_literal(node, shape, path)
        elif kind == "array":
            if self._expect(node, shape, ARRAY, path) and shape.item is not None:
                for item in node.children:
                    if item.is_named:
                        self.value(item, shape.item, f"{path}[]", depth + 1)
        elif kind == "for_statement":
            if self._expect(node, shape, ARRAY, path) and shape.item is not None:
                body = next((child for child in reversed(node.children) if child.is_named), None)
                if body is not None:
                    self.value(body, shape.item, f"{path}[]", depth + 1)
        elif kind == "call_expression":
            self._call(node, shape, path, depth)
        elif kind == "string":
            self._string(node, shape, path)
        else:
            simple = self._kind_of(node)
            if simple is not None:
                self._expect(node, shape, simple, path)

    def _each_child_expression(self, node: tree_sitter.Node, shape: Shape, path: str, depth: int) -> None:
        for child in node.children:
            if child.is_named:
                self.value(child, shape, path, depth + 1)

    def _expect(self, node: tree_sitter.Node, shape: Shape, actual: str, path: str) -> bool:
        """Report a JSON-kind mismatch; True when the value may be checked further."""
        if actual == "null" or shape.kind == ANY:
            return False
        compatible = actual == shape.kind or (actual == INTEGER and shape.kind == NUMBER)
        if not compatible:
            wanted = f"{shape.name} ({shape.kind})" if shape.name else shape.kind
            self.report(node, path, f"is {actual}, the model wants {wanted}")
        return compatible

    def _string(self, node: tree_sitter.Node, shape: Shape, path: str) -> None:
        if not self._expect(node, shape, STRING, path):
            return
        literal = string_value(node)
        if literal is not None and shape.enum:
            self._enum(node, literal, shape, path)

    def _enum(self, node: tree_sitter.Node, literal: str, shape: Shape, path: str) -> None:
        if literal in shape.enum:
            return
        near = next((value for value in shape.enum if value.lower() == literal.lower()), None)
        hint = f"; the model spells it {near!r}" if near else f"; allowed: {', '.join(shape.enum)}"
        self.report(node, path, f"{literal!r} is not a {shape.name or 'known'} value{hint}")

    def _identifier(self, node: tree_sitter.Node, shape: Shape, path: str, depth: int) -> None:
        name = (node.text or b"").decode()
        if name in self.file.variables:
            self.value(self.file.variables[name], shape, path, depth + 1)
            return
        param = self.file.params.get(name)
        if param is None:
            return
        base = param.type_text.rstrip("?").strip()
        declared = ARRAY if base.endswith("[]") else _PARAM_TYPES.get(base)
        if declared is None or not self._expect(node, shape, declared, path):
            return
        if shape.enum:
            for literal, literal_node in _allowed_values(self.file, param.node):
                self._enum(literal_node, literal, shape, f"{path} (@allowed of {name})")

    def _call(self, node: tree_sitter.Node, shape: Shape, path: str, depth: int) -> None:
        function = (node.children[0].text or b"").decode()
        arguments = next((child for child in node.children if child.type == "arguments"), None)
        if function == "union" and arguments is not None:
            for argument in arguments.children:
                if argument.is_named:
                    self._union_part(argument, shape, path, depth + 1)
            return
        simple = self._kind_of(node)
        if simple is not None:
            self._expect(node, shape, simple, path)

    def _union_part(self, node: tree_sitter.Node, shape: Shape, path: str, depth: int) -> None:
        """One argument of union(): its properties must fit, but required ones may come from another."""
        if depth > 20:
            return
        if node.type == "identifier" and (node.text or b"").decode() in self.file.variables:
            self._union_part(self.file.variables[(node.text or b"").decode()], shape, path, depth + 1)
        elif node.type == "ternary_expression":
            for branch in node.children[2:]:
                if branch.is_named:
                    self._union_part(branch, shape, path, depth + 1)
        elif node.type == "object":
            if self._expect(node, shape, OBJECT, path):
                self.object_literal(node, shape, path, partial=True)
        else:
            self.value(node, shape, path, depth)

    def _kind_of(self, node: tree_sitter.Node) -> str | None:
        """The JSON kind of an expression when the syntax alone tells it."""
        kind = node.type
        if kind == "number":
            return NUMBER if "." in (node.text or b"").decode() else INTEGER
        if kind == "boolean":
            return BOOLEAN
        if kind == "null":
            return "null"
        if kind == "unary_expression":
            return BOOLEAN if node.children[0].type == "!" else INTEGER
        if kind == "binary_expression":
            operator = node.children[1].type
            if operator in ("+", "-", "*", "/", "%"):
                return INTEGER
            return None if operator == "??" else BOOLEAN
        if kind == "call_expression":
            function = (node.children[0].text or b"").decode().split(".")[-1]
            for names, result in (
                (_STRING_FUNCTIONS, STRING),
                (_BOOLEAN_FUNCTIONS, BOOLEAN),
                (_INTEGER_FUNCTIONS, INTEGER),
                (_OBJECT_FUNCTIONS, OBJECT),
                (_ARRAY_FUNCTIONS, ARRAY),
            ):
                if function in names:
                    return result
            return None
        if kind == "member_expression":
            member = (node.children[-1].text or b"").decode()
            return STRING if member in _STRING_MEMBERS else None
        return None


def _allowed_values(file: BicepFile, param_node: tree_sitter.Node) -> list[tuple[str, tree_sitter.Node]]:
    """The string literals of the parameter's `@allowed([...])` decorator, if it has one."""
    previous = param_node.prev_sibling
    if previous is None or previous.type != "decorators":
        return []
    for decorator in previous.children:
        for call in decorator.children:
            if call.type != "call_expression" or (call.children[0].text or b"") != b"allowed":
                continue
            arguments = next((child for child in call.children if child.type == "arguments"), None)
            array = next((child for child in arguments.children if child.type == "array"), None) if arguments else None
            if array is None:
                return []
            found = []
            for item in array.children:
                literal = string_value(item) if item.type == "string" else None
                if literal is not None:
                    found.append((literal, item))
            return found
    return []
