"""Offline checks for the Bicep in infra/: syntax, module wiring, roles, app settings and secrets.

No Bicep compiler can be installed offline, so these checks read the Bicep through tree-sitter-bicep and
prove what a syntax tree can prove. Each public `*_problems` function returns a list of `Problem`s (empty
= the check passes), so a test can run it on the real infra/ and on a deliberately broken copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import tree_sitter
import tree_sitter_bicep

__all__ = [
    "DOCUMENTED_ROLE_IDS",
    "FLEX_UNSUPPORTED_SETTINGS",
    "HARDENING",
    "REQUIRED_APP_ROLES",
    "BicepFile",
    "Problem",
    "SettingLike",
    "app_settings",
    "bicep_files",
    "graph_problems",
    "hardening_problems",
    "parameter_name",
    "parameters_file_problems",
    "parse_bicep",
    "role_problems",
    "secret_problems",
    "settings_problems",
    "syntax_problems",
    "wiring_problems",
    "workbook_problems",
]

# Azure built-in role definition ids (the same in every tenant), from the "Azure built-in roles" page. Bicep keeps
# them in `var roleIds = {...}` with the camelCase role name as key, so this table checks both the name and the id.
DOCUMENTED_ROLE_IDS: Mapping[str, str] = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "Durable Task Worker": "80d0d6b0-f522-40a4-8886-a5a11720c375",
    "Durable Task Data Reader": "d6a5505f-6ebb-45a4-896e-ac8274cfc0ac",
}

# Roles the app's identity cannot run without (host storage, Durable on storage or DTS, telemetry, vault).
REQUIRED_APP_ROLES: tuple[str, ...] = (
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
    "Monitoring Metrics Publisher",
    "Key Vault Secrets User",
    "Durable Task Data Contributor",
)

# GUID literals that are not role ids: Microsoft Graph's application id (identical in every tenant).
KNOWN_NON_ROLE_GUIDS = frozenset({"00000003-0000-0000-c000-000000000000"})

# Settings Flex Consumption replaces with functionAppConfig (Functions app settings reference, "Flex
# Consumption plan deprecations"), plus the key-based storage connection string shared keys rule out.
FLEX_UNSUPPORTED_SETTINGS = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "AzureWebJobsStorage",
    }
)

# Resource type -> (property path, required literal) for every resource the template declares (not
# `existing` references). PRESENT means "set to anything". Each type must be declared at least once.
PRESENT = object()
HARDENING: Mapping[str, tuple[tuple[str, object], ...]] = {
    "Microsoft.Storage/storageAccounts": (
        ("properties.allowSharedKeyAccess", "false"),
        ("properties.allowBlobPublicAccess", "false"),
        ("properties.minimumTlsVersion", "TLS1_2"),
        ("properties.supportsHttpsTrafficOnly", "true"),
    ),
    "Microsoft.Insights/components": (("properties.DisableLocalAuth", "true"),),
    "Microsoft.OperationalInsights/workspaces": (("properties.features.disableLocalAuth", "true"),),
    "Microsoft.KeyVault/vaults": (
        ("properties.enableRbacAuthorization", "true"),
        ("properties.enableSoftDelete", "true"),
        ("properties.enablePurgeProtection", "true"),
    ),
    "Microsoft.ManagedIdentity/userAssignedIdentities": (),
    "Microsoft.Web/serverfarms": (
        ("sku.tier", "FlexConsumption"),
        ("sku.name", "FC1"),
        ("properties.reserved", "true"),
    ),
    "Microsoft.Web/sites": (
        ("kind", "functionapp,linux"),
        ("identity.type", "UserAssigned"),
        ("properties.httpsOnly", "true"),
        ("properties.keyVaultReferenceIdentity", PRESENT),
        ("properties.siteConfig.alwaysOn", "false"),
        ("properties.functionAppConfig.runtime.name", "python"),
        ("properties.functionAppConfig.runtime.version", PRESENT),
        ("properties.functionAppConfig.deployment.storage.type", "blobContainer"),
        ("properties.functionAppConfig.deployment.storage.authentication.type", "UserAssignedIdentity"),
        (
            "properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId",
            PRESENT,
        ),
    ),
    "Microsoft.Insights/workbooks": (
        ("properties.serializedData", PRESENT),
        ("properties.sourceId", PRESENT),
    ),
    "Microsoft.DurableTask/schedulers": (),
    "Microsoft.DurableTask/schedulers/taskHubs": (),
    "Microsoft.Network/virtualNetworks": (),
    "Microsoft.Network/privateEndpoints": (),
    "Microsoft.KeyVault/vaults/secrets": (("properties.value", PRESENT),),
}

# Microsoft Graph application permissions the product may need (the permissions sections of the Graph
# pages the app calls; User.RevokeSessions.All from the revokeSignInSessions page).
KNOWN_GRAPH_APP_ROLES = frozenset(
    {
        "SynchronizationData-User.Upload",
        "SynchronizationData-User.Upload.OwnedBy",
        "AuditLog.Read.All",
        "ProvisioningLog.Read.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "User.RevokeSessions.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "UserAuthMethod-TAP.ReadWrite.All",
        "User-PasswordProfile.ReadWrite.All",
        "RoleManagement.Read.Directory",
        "Mail.Send",
        "Synchronization.Read.All",
        "Synchronization.ReadWrite.All",
        "Application.Read.All",
    }
)

# The dimensions provisioning/telemetry.py logs and the workbook must chart.
WORKBOOK_DIMENSIONS = ("instanceId", "eventId", "employeeId", "stage", "eventType", "outcome", "errorCode")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A name whose last word is a secret noun holds a secret; graphClientSecretName or secretCacheTtlSeconds,
# which only point at or tune one, do not.
_SECRET_NAME = re.compile(r"(secret|secrets|password|passwd|connectionstring|key|keys|token|sas|credential)$", re.I)
_SECRET_VALUE = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY|"
    r"password=|InstrumentationKey=|\beyJ[A-Za-z0-9_-]{10,}\.|[A-Za-z0-9+/]{40,}={0,2}",
    re.I,
)
_SECRET_PROPERTY = re.compile(r"connectionstring|instrumentationkey|primarykey|secondarykey|password|secret", re.I)
_LIST_FUNCTION = re.compile(r"^list[A-Z]\w*$")
_EXTERNAL_MODULE = ("br:", "br/", "ts:", "ts/")
_LOAD_FUNCTIONS = frozenset({"loadJsonContent", "loadTextContent", "loadYamlContent", "loadFileAsBase64"})
_AZD_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<default>[^}]*))?\}$")
# azd's command substitution that reads a secret from the vault or generates one: no literal value.
_AZD_GENERATED_SECRET = re.compile(r"^\$\(secretOrRandomPassword(?: \$\{[A-Z_][A-Z0-9_]*\} [A-Za-z0-9-]+)?\)$")


class SettingLike(Protocol):
    """What the settings check needs from provisioning.settings.SettingSpec."""

    @property
    def name(self) -> str: ...

    @property
    def default(self) -> str | None: ...

    @property
    def required(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, located so that a failing test points straight at the offending line."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    node: tree_sitter.Node
    default: tree_sitter.Node | None
    nullable: bool
    type_text: str
    decorators: tuple[str, ...]

    @property
    def required(self) -> bool:
        return self.default is None and not self.nullable


@dataclass(frozen=True, slots=True)
class Output:
    name: str
    node: tree_sitter.Node
    value: tree_sitter.Node
    decorators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModuleRef:
    symbol: str
    source: str
    node: tree_sitter.Node
    body: tree_sitter.Node | None


@dataclass(frozen=True, slots=True)
class Resource:
    symbol: str
    type: str
    node: tree_sitter.Node
    body: tree_sitter.Node | None
    parent: Resource | None

    @property
    def existing(self) -> bool:
        """True for `existing` references, which declare nothing."""
        return any(child.type == "existing" for child in self.node.children)


@dataclass(slots=True)
class BicepFile:
    """A parsed .bicep file with its top-level declarations indexed by name."""

    path: Path
    source: bytes
    root: tree_sitter.Node
    params: dict[str, Param] = field(default_factory=dict)
    variables: dict[str, tree_sitter.Node] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    modules: list[ModuleRef] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)

    def line(self, node: tree_sitter.Node) -> int:
        return node.start_point[0] + 1

    def problem(self, node: tree_sitter.Node, message: str) -> Problem:
        return Problem(self.path, self.line(node), message)


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def mask_extension_statements(text: bytes) -> bytes:
    """Blank out `extension`/`provider` statements, which tree-sitter-bicep 1.1.0 predates.

    Characters are replaced one for one (newlines kept) so every line and column stays right; the
    multi-line `extension X with { ... }` form is masked up to its closing brace.
    """
    out = bytearray(text)
    for match in re.finditer(rb"(?m)^[ \t]*(?:extension|provider)\b", text):
        end = text.find(b"\n", match.start())
        end = len(text) if end == -1 else end
        depth = text[match.start() : end].count(b"{") - text[match.start() : end].count(b"}")
        while depth > 0 and end < len(text):
            next_end = text.find(b"\n", end + 1)
            next_end = len(text) if next_end == -1 else next_end
            depth += text[end:next_end].count(b"{") - text[end:next_end].count(b"}")
            end = next_end
        for index in range(match.start(), end):
            if out[index] not in b"\r\n":
                out[index] = ord(" ")
    return bytes(out)


def bicep_files(infra_dir: Path) -> list[Path]:
    return sorted(infra_dir.rglob("*.bicep"))


def _decorator_names(node: tree_sitter.Node) -> tuple[str, ...]:
    names = []
    for decorator in node.children:
        for child in decorator.children:
            if child.type == "call_expression":
                function = child.child_by_field_name("function") or child.children[0]
                names.append(_text(function))
            elif child.type == "identifier":
                names.append(_text(child))
    return tuple(names)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode()


def _first(node: tree_sitter.Node, *types: str) -> tree_sitter.Node | None:
    return next((child for child in node.children if child.type in types), None)


def _declaration_body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The object after `=` of a resource or module, looking through `[for ...: ]` and `if (...)`."""
    current = _first(node, "object", "for_statement", "if_statement")
    while current is not None and current.type != "object":
        current = _first(current, "object", "if_statement")
    return current


def _collect_resources(owner: BicepFile, node: tree_sitter.Node, parent: Resource | None) -> None:
    symbol = node.children[1]
    type_node = _first(node, "string")
    resource = Resource(
        _text(symbol),
        string_value(type_node) or "" if type_node else "",
        node,
        _declaration_body(node),
        parent,
    )
    owner.resources.append(resource)
    if resource.body is not None:
        for prop in resource.body.children:
            nested = _first(prop, "resource_declaration") if prop.type == "object_property" else None
            if nested is not None:
                _collect_resources(owner, nested, resource)


def parse_bicep(path: Path) -> BicepFile:
    source = mask_extension_statements(path.read_bytes())
    root = _parser().parse(source).root_node
    parsed = BicepFile(path, source, root)
    decorators: tuple[str, ...] = ()
    for node in root.children:
        if node.type == "decorators":
            decorators = _decorator_names(node)
            continue
        if node.type == "parameter_declaration":
            name = _text(node.children[1])
            type_node = _first(node, "type")
            after_equals = _after_equals(node)
            nullable = type_node is not None and _first(type_node, "nullable_type") is not None
            parsed.params[name] = Param(
                name, node, after_equals, nullable, _text(type_node) if type_node else "", decorators
            )
        elif node.type == "variable_declaration":
            value = _after_equals(node)
            if value is not None:
                parsed.variables[_text(node.children[1])] = value
        elif node.type == "output_declaration":
            value = _after_equals(node)
            if value is not None:
                parsed.outputs.append(Output(_text(node.children[1]), node, value, decorators))
        elif node.type == "module_declaration":
            source_node = _first(node, "string")
            parsed.modules.append(
                ModuleRef(
                    _text(node.children[1]),
                    string_value(source_node) or "" if source_node else "",
                    node,
                    _declaration_body(node),
                )
            )
        elif node.type == "resource_declaration":
            _collect_resources(parsed, node, None)
        decorators = ()
    return parsed


def _after_equals(node: tree_sitter.Node) -> tree_sitter.Node | None:
    seen_equals = False
    for child in node.children:
        if seen_equals:
            return child
        seen_equals = child.type == "="
    return None


def string_value(node: tree_sitter.Node | None) -> str | None:
    """The value of a string literal without interpolation, else None."""
    if node is None or node.type != "string":
        return None
    parts = []
    for child in node.children:
        if child.type == "interpolation":
            return None
        if child.type == "string_content":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            parts.append(_unescape(_text(child)))
    return "".join(parts)


def _unescape(sequence: str) -> str:
    simple = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}
    if sequence in simple:
        return simple[sequence]
    if sequence.startswith("\\u{"):
        return chr(int(sequence[3:-1], 16))
    return sequence


def literal_text(node: tree_sitter.Node | None) -> str | None:
    """A string, number or boolean literal as the text an app setting would hold; None otherwise."""
    if node is None:
        return None
    if node.type == "string":
        return string_value(node)
    if node.type in ("number", "boolean"):
        return _text(node)
    return None


def object_properties(node: tree_sitter.Node | None) -> dict[str, tree_sitter.Node]:
    """Key -> value of an object literal (keys that are plain identifiers or plain strings)."""
    result: dict[str, tree_sitter.Node] = {}
    if node is None or node.type != "object":
        return result
    for prop in node.children:
        if prop.type != "object_property" or prop.child_count < 3:
            continue
        key_node = prop.children[0]
        key = _text(key_node) if key_node.type == "identifier" else string_value(key_node)
        value = _after_colon(prop)
        if key is not None and value is not None:
            result[key] = value
    return result


def _after_colon(prop: tree_sitter.Node) -> tree_sitter.Node | None:
    seen = False
    for child in prop.children:
        if seen:
            return child
        seen = child.type == ":"
    return None


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def _identifiers(node: tree_sitter.Node) -> set[str]:
    return {_text(n) for n in walk(node) if n.type == "identifier"}


# --------------------------------------------------------------------------------------------------
# Syntax
# --------------------------------------------------------------------------------------------------


def syntax_problems(infra_dir: Path) -> list[Problem]:
    """Every .bicep file parses without ERROR or MISSING nodes; no .bicepparam files (unparsable offline)."""
    problems = [
        Problem(path, 1, ".bicepparam files cannot be checked offline; use main.parameters.json")
        for path in sorted(infra_dir.rglob("*.bicepparam"))
    ]
    for path in bicep_files(infra_dir):
        parsed = parse_bicep(path)
        problems.extend(_syntax_errors(parsed, parsed.root))
        for match in re.finditer(rb"resource(?:Input|Output)<", parsed.source):
            line = parsed.source.count(b"\n", 0, match.start()) + 1
            problems.append(Problem(path, line, "resourceInput<>/resourceOutput<> cannot be checked offline"))
    return problems


def _syntax_errors(parsed: BicepFile, node: tree_sitter.Node) -> Iterator[Problem]:
    if node.is_error or node.is_missing:
        kind = f"missing {node.type}" if node.is_missing else f"cannot parse {_text(node)[:40]!r}"
        column = node.start_point[1] + 1
        yield Problem(parsed.path, parsed.line(node), f"syntax error at column {column}: {kind}")
        return
    if not node.has_error:
        return
    for child in node.children:
        yield from _syntax_errors(parsed, child)


# --------------------------------------------------------------------------------------------------
# Module wiring and parameter files
# --------------------------------------------------------------------------------------------------


def _module_params_object(module: ModuleRef) -> tree_sitter.Node | None:
    return object_properties(module.body).get("params") if module.body is not None else None


def wiring_problems(entry: Path) -> list[Problem]:
    """Local modules exist, get every required parameter and no unknown one; loaded files exist."""
    problems: list[Problem] = []
    seen: set[Path] = set()
    pending = [entry.resolve()]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        parsed = parse_bicep(path)
        problems.extend(_load_function_problems(parsed))
        for module in parsed.modules:
            if module.source.startswith(_EXTERNAL_MODULE):
                continue
            target = (path.parent / module.source).resolve()
            if not target.is_file():
                problems.append(parsed.problem(module.node, f"module {module.symbol}: {module.source} does not exist"))
                continue
            pending.append(target)
            problems.extend(_module_parameter_problems(parsed, module, parse_bicep(target)))
    return problems


def _module_parameter_problems(caller: BicepFile, module: ModuleRef, callee: BicepFile) -> Iterator[Problem]:
    params_node = _module_params_object(module)
    if params_node is None and module.body is not None and "params" in object_properties(module.body):
        yield caller.problem(module.node, f"module {module.symbol}: params must be an object literal")
        return
    passed = object_properties(params_node)
    for name, param in callee.params.items():
        if param.required and name not in passed:
            yield caller.problem(module.node, f"module {module.symbol}: required parameter {name} is not passed")
    for name, value in passed.items():
        if name not in callee.params:
            yield caller.problem(value, f"module {module.symbol}: {callee.path.name} has no parameter {name}")


def _load_function_problems(parsed: BicepFile) -> Iterator[Problem]:
    for node in walk(parsed.root):
        if node.type != "call_expression" or _text(node.children[0]) not in _LOAD_FUNCTIONS:
            continue
        arguments = _first(node, "arguments")
        target = string_value(_first(arguments, "string")) if arguments is not None else None
        if target is not None and not (parsed.path.parent / target).is_file():
            yield parsed.problem(node, f"{_text(node.children[0])}: {target} does not exist")


def parameters_file_problems(bicep_path: Path, parameters_path: Path) -> list[Problem]:
    """The parameters file names only parameters the template declares and supplies every required one."""
    template = parse_bicep(bicep_path)
    try:
        document = json.loads(parameters_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        return [Problem(parameters_path, error.lineno, f"not valid JSON: {error.msg}")]
    values = document.get("parameters")
    if not isinstance(values, dict):
        return [Problem(parameters_path, 1, "has no parameters object")]
    problems = []
    for name, entry in values.items():
        if name not in template.params:
            problems.append(
                Problem(parameters_path, _json_line(parameters_path, name), f"{name}: not in {bicep_path.name}")
            )
        elif not isinstance(entry, dict) or not ({"value", "reference"} & set(entry)):
            problems.append(
                Problem(parameters_path, _json_line(parameters_path, name), f"{name}: needs value or reference")
            )
    for name, param in template.params.items():
        if param.required and name not in values:
            problems.append(
                template.problem(param.node, f"required parameter {name} is missing from {parameters_path.name}")
            )
    return problems


def _json_line(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if f'"{key}"' in line:
            return number
    return 1


# --------------------------------------------------------------------------------------------------
# Role assignments
# --------------------------------------------------------------------------------------------------


def _role_key(role_name: str) -> str:
    words = role_name.split()
    return words[0].lower() + "".join(word[:1].upper() + word[1:] for word in words[1:])


def role_problems(infra_dir: Path, required: Sequence[str] = REQUIRED_APP_ROLES) -> list[Problem]:
    """Role ids are the documented built-in ones, assignments use them by name, and none is missing."""
    documented_by_key = {_role_key(name): guid for name, guid in DOCUMENTED_ROLE_IDS.items()}
    known_guids = set(DOCUMENTED_ROLE_IDS.values()) | KNOWN_NON_ROLE_GUIDS
    problems: list[Problem] = []
    assigned: set[str] = set()
    for path in bicep_files(infra_dir):
        parsed = parse_bicep(path)
        for node in walk(parsed.root):
            value = string_value(node) if node.type == "string" else None
            if value is not None and _GUID.match(value) and value.lower() not in known_guids:
                problems.append(parsed.problem(node, f"GUID {value} is not a documented built-in role id"))
        role_table = object_properties(parsed.variables.get("roleIds"))
        for key, value_node in role_table.items():
            value = string_value(value_node)
            if key not in documented_by_key:
                problems.append(parsed.problem(value_node, f"roleIds.{key} is not a documented role name"))
            elif (value or "").lower() != documented_by_key[key]:
                problems.append(
                    parsed.problem(value_node, f"roleIds.{key} is {value}, documented id is {documented_by_key[key]}")
                )
        for resource in parsed.resources:
            if not resource.type.lower().startswith("microsoft.authorization/roleassignments@"):
                continue
            properties = object_properties(object_properties(resource.body).get("properties"))
            definition = properties.get("roleDefinitionId")
            keys = _role_table_references(definition) if definition is not None else set()
            if len(keys) != 1 or not keys <= set(role_table):
                problems.append(
                    parsed.problem(
                        resource.node,
                        f"{resource.symbol}: roleDefinitionId must use one roleIds.<role> entry",
                    )
                )
            assigned |= keys & set(role_table)
            if "principalType" not in properties:
                problems.append(parsed.problem(resource.node, f"{resource.symbol}: set principalType"))
    for role in required:
        if _role_key(role) not in assigned:
            problems.append(Problem(infra_dir, 1, f"no role assignment grants {role}"))
    return problems


def _role_table_references(node: tree_sitter.Node) -> set[str]:
    keys = set()
    for member in walk(node):
        if member.type == "member_expression" and member.child_count == 3 and _text(member.children[0]) == "roleIds":
            keys.add(_text(member.children[2]))
    return keys


# --------------------------------------------------------------------------------------------------
# App settings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppSetting:
    """One app setting the function app gets, with the expression that produces its value."""

    name: str
    file: BicepFile
    value: tree_sitter.Node


def parameter_name(setting_name: str) -> str:
    """The Bicep parameter for an app setting: camelCase of the setting name (UPN_DOMAIN -> upnDomain)."""
    first, *rest = setting_name.lower().split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _function_app_config(
    entry: Path,
) -> tuple[BicepFile, tree_sitter.Node, dict[str, tuple[BicepFile, tree_sitter.Node]]]:
    """Find the `appsettings` config resource reachable from `entry` and the caller's module params."""
    pending: list[tuple[Path, BicepFile | None, ModuleRef | None]] = [(entry.resolve(), None, None)]
    while pending:
        path, caller, module = pending.pop()
        parsed = parse_bicep(path)
        for resource in parsed.resources:
            body = object_properties(resource.body)
            is_config = resource.type == "config" or resource.type.lower().startswith("microsoft.web/sites/config@")
            if is_config and string_value(body.get("name")) == "appsettings" and "properties" in body:
                bindings: dict[str, tuple[BicepFile, tree_sitter.Node]] = {}
                if caller is not None and module is not None:
                    for name, value in object_properties(_module_params_object(module)).items():
                        bindings[name] = (caller, value)
                return parsed, body["properties"], bindings
        for child in parsed.modules:
            target = (path.parent / child.source).resolve()
            if not child.source.startswith(_EXTERNAL_MODULE) and target.is_file():
                pending.append((target, parsed, child))
    raise LookupError(f"no Microsoft.Web/sites/config 'appsettings' resource reachable from {entry}")


def app_settings(entry: Path) -> dict[str, AppSetting]:
    """Every app setting name the function app gets, following vars, unions, ternaries and module params."""
    module_file, properties, bindings = _function_app_config(entry)
    found: dict[str, AppSetting] = {}
    _collect_keys(module_file, properties, bindings, found, depth=0)
    return found


def _collect_keys(
    file: BicepFile,
    node: tree_sitter.Node,
    bindings: Mapping[str, tuple[BicepFile, tree_sitter.Node]],
    found: dict[str, AppSetting],
    depth: int,
) -> None:
    if depth > 20:
        return
    if node.type == "object":
        for key, value in object_properties(node).items():
            found.setdefault(key, AppSetting(key, file, value))
    elif node.type in ("call_expression", "arguments", "parenthesized_expression", "if_statement"):
        for child in node.children:
            if child.type != "identifier" or node.type != "call_expression":
                _collect_keys(file, child, bindings, found, depth + 1)
    elif node.type == "ternary_expression":
        for child in node.children[1:]:
            _collect_keys(file, child, bindings, found, depth + 1)
    elif node.type == "identifier":
        name = _text(node)
        if name in file.variables:
            _collect_keys(file, file.variables[name], bindings, found, depth + 1)
        elif name in file.params and name in bindings:
            caller, value = bindings[name]
            _collect_keys(caller, value, {}, found, depth + 1)


def settings_problems(entry: Path, specs: Iterable[SettingLike], parameters_path: Path | None = None) -> list[Problem]:
    """Every setting the app reads is a parameter with the same default and an app setting wired to it.

    - a required setting is a parameter without default and is always set on the function app;
    - an optional one is a parameter whose default equals the SETTINGS table's (or is set from infrastructure);
    - the app setting's value uses that parameter, so a value can't be wired to the wrong setting;
    - the parameters file feeds each setting parameter from the azd variable of the same name;
    - no Flex-unsupported or key-based setting is set, and no output shadows a setting in the azd env.
    """
    specs = list(specs)
    main = parse_bicep(entry)
    problems: list[Problem] = []
    settings = app_settings(entry)
    for spec in specs:
        param = main.params.get(parameter_name(spec.name))
        setting = settings.get(spec.name)
        if param is None and setting is None:
            problems.append(Problem(entry, 1, f"{spec.name} is neither a parameter nor an app setting"))
            continue
        if spec.required and setting is None:
            problems.append(Problem(entry, 1, f"required setting {spec.name} is not set on the function app"))
        if param is not None:
            problems.extend(_default_problems(main, param, spec))
            if setting is not None and param.name not in _identifiers(setting.value):
                problems.append(
                    setting.file.problem(setting.value, f"app setting {spec.name} does not use parameter {param.name}")
                )
    for name, setting in settings.items():
        if name in FLEX_UNSUPPORTED_SETTINGS:
            problems.append(setting.file.problem(setting.value, f"{name} must not be set on Flex Consumption"))
    names = {spec.name for spec in specs}
    for output in main.outputs:
        if output.name in names:
            problems.append(main.problem(output.node, f"output {output.name} would feed back into the azd variable"))
    for path in bicep_files(entry.parent):
        other = main if path.resolve() == entry.resolve() else parse_bicep(path)
        if other is not main:
            for spec in specs:
                other_param = other.params.get(parameter_name(spec.name))
                if other_param is not None and not spec.required:
                    problems.extend(_default_problems(other, other_param, spec))
    if parameters_path is not None:
        problems.extend(_parameters_file_setting_problems(parameters_path, specs))
    return problems


def _default_problems(file: BicepFile, param: Param, spec: SettingLike) -> Iterator[Problem]:
    if spec.required:
        if not param.required:
            yield file.problem(param.node, f"{param.name}: {spec.name} is required, so the parameter needs no default")
        return
    default = literal_text(param.default)
    if param.default is None or default != (spec.default or ""):
        shown = _text(param.default) if param.default is not None else "none"
        yield file.problem(param.node, f"{param.name}: default {shown} differs from SETTINGS {spec.default!r}")


def _parameters_file_setting_problems(path: Path, specs: Sequence[SettingLike]) -> Iterator[Problem]:
    values = json.loads(path.read_text(encoding="utf-8")).get("parameters", {})
    for spec in specs:
        entry = values.get(parameter_name(spec.name))
        if entry is None:
            continue
        match = _AZD_VARIABLE.match(str(entry.get("value", "")))
        line = _json_line(path, parameter_name(spec.name))
        if match is None or match["name"] != spec.name:
            yield Problem(path, line, f"{parameter_name(spec.name)} must come from ${{{spec.name}}}")
        elif match["default"] is not None and match["default"] != (spec.default or ""):
            yield Problem(
                path,
                line,
                f"{spec.name} default {match['default']!r} differs from SETTINGS {spec.default!r}",
            )


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------


def _looks_like_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.replace("_", "")))


def secret_problems(infra_dir: Path) -> list[Problem]:
    """No output and no parameter default holds a secret, and nothing reads account keys."""
    problems: list[Problem] = []
    for path in bicep_files(infra_dir):
        parsed = parse_bicep(path)
        secure_params = {name for name, param in parsed.params.items() if "secure" in param.decorators}
        for node in walk(parsed.root):
            if node.type == "call_expression" and _LIST_FUNCTION.match(_text(node.children[0]).split(".")[-1]):
                problems.append(
                    parsed.problem(node, f"{_text(node.children[0])}() reads keys; use the managed identity")
                )
            elif node.type == "member_expression" and _LIST_FUNCTION.match(_text(node.children[-1])):
                problems.append(parsed.problem(node, f"{_text(node)} reads keys; use the managed identity"))
        for output in parsed.outputs:
            if "secure" in output.decorators:
                problems.append(
                    parsed.problem(output.node, f"output {output.name} is @secure(): outputs hold no secrets")
                )
            if _looks_like_secret_name(output.name):
                problems.append(parsed.problem(output.node, f"output {output.name} is named like a secret"))
            for node in walk(output.value):
                if node.type == "property_identifier" and _SECRET_PROPERTY.search(_text(node)):
                    problems.append(parsed.problem(node, f"output {output.name} returns {_text(node)}"))
                elif node.type == "identifier" and _text(node) in secure_params:
                    problems.append(
                        parsed.problem(node, f"output {output.name} returns secure parameter {_text(node)}")
                    )
        for param in parsed.params.values():
            if param.default is None:
                continue
            if "secure" in param.decorators and literal_text(param.default) != "":
                problems.append(parsed.problem(param.node, f"secure parameter {param.name} has a default"))
            defaults = [string_value(n) for n in walk(param.default) if n.type == "string"]
            literal = [value for value in defaults if value]
            if literal and _looks_like_secret_name(param.name):
                problems.append(
                    parsed.problem(param.node, f"parameter {param.name} is named like a secret and has a default")
                )
            for value in literal:
                if _SECRET_VALUE.search(value):
                    problems.append(parsed.problem(param.node, f"parameter {param.name} default looks like a secret"))
    for path in sorted(infra_dir.rglob("*.parameters.json")):
        problems.extend(_parameters_file_secret_problems(path))
    return problems


def _parameters_file_secret_problems(path: Path) -> Iterator[Problem]:
    values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("parameters", {})
    for name, entry in values.items():
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value or _AZD_VARIABLE.match(value) or _AZD_GENERATED_SECRET.match(value):
            continue
        if _looks_like_secret_name(name) or _SECRET_VALUE.search(value):
            yield Problem(path, _json_line(path, name), f"{name}: literal value looks like a secret")


# --------------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------------


def workbook_problems(path: Path) -> list[Problem]:
    """The workbook is valid JSON and charts events by stage and outcome and failures by error code."""
    try:
        workbook = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        return [Problem(path, error.lineno, f"not valid JSON: {error.msg}")]
    queries = [
        item["content"]["query"]
        for item in workbook.get("items", [])
        if item.get("type") == 3 and isinstance(item.get("content", {}).get("query"), str)
    ]
    problems = []
    if not queries:
        problems.append(Problem(path, 1, "has no query items"))
    text = "\n".join(queries)
    for dimension in WORKBOOK_DIMENSIONS:
        if not re.search(rf"\b{dimension}\b", text):
            problems.append(Problem(path, 1, f"no query reads the {dimension} dimension"))
    if not any(re.search(r"summarize[^\n]*\bby\b[^\n]*\bstage\b[^\n]*\boutcome\b", query) for query in queries):
        problems.append(Problem(path, 1, "no query summarizes events by stage and outcome"))
    if not any(re.search(r"summarize[^\n]*\bby\b[^\n]*\berrorCode\b", query) for query in queries):
        problems.append(Problem(path, 1, "no query summarizes failures by errorCode"))
    return problems


# --------------------------------------------------------------------------------------------------
# Required resources and their hardening
# --------------------------------------------------------------------------------------------------


def _property_path(body: tree_sitter.Node | None, path: str) -> tree_sitter.Node | None:
    node = body
    for part in path.split("."):
        node = object_properties(node).get(part)
        if node is None:
            return None
    return node


def _full_type(resource: Resource) -> str:
    """`Microsoft.X/y` of a resource, with nested child types (`'config'`) prefixed by their parent's."""
    own = resource.type.split("@")[0]
    if "/" not in own and resource.parent is not None:
        return f"{_full_type(resource.parent)}/{own}"
    return own


def hardening_problems(
    infra_dir: Path, rules: Mapping[str, tuple[tuple[str, object], ...]] = HARDENING
) -> list[Problem]:
    """Each required resource type is declared, and every declaration sets the security-relevant values."""
    declared: set[str] = set()
    problems: list[Problem] = []
    for path in bicep_files(infra_dir):
        parsed = parse_bicep(path)
        for resource in parsed.resources:
            if resource.existing:
                continue
            kind = _full_type(resource).lower()
            for rule_type, checks in rules.items():
                if kind != rule_type.lower():
                    continue
                declared.add(rule_type)
                for prop_path, expected in checks:
                    value = _property_path(resource.body, prop_path)
                    if value is None:
                        problems.append(parsed.problem(resource.node, f"{resource.symbol}: {prop_path} is not set"))
                    elif expected is not PRESENT and literal_text(value) != expected:
                        problems.append(
                            parsed.problem(
                                value, f"{resource.symbol}: {prop_path} is {_text(value)}, must be {expected}"
                            )
                        )
    for rule_type in rules:
        if rule_type not in declared:
            problems.append(Problem(infra_dir, 1, f"no {rule_type} resource is declared"))
    return problems


# --------------------------------------------------------------------------------------------------
# Microsoft Graph entry point
# --------------------------------------------------------------------------------------------------


def graph_problems(graph_dir: Path) -> list[Problem]:
    """The Graph template's extension alias is configured, roles are known names looked up by value."""
    main_path = graph_dir / "main.bicep"
    config_path = graph_dir / "bicepconfig.json"
    problems: list[Problem] = []
    aliases = re.findall(r"(?m)^\s*extension\s+(\w+)", main_path.read_text(encoding="utf-8"))
    try:
        configured = json.loads(config_path.read_text(encoding="utf-8")).get("extensions", {})
    except (OSError, json.JSONDecodeError) as error:
        return [Problem(config_path, 1, f"unreadable: {error}")]
    if not aliases:
        problems.append(Problem(main_path, 1, "declares no extension (the Graph resources need one)"))
    for alias in aliases:
        reference = configured.get(alias)
        if not isinstance(reference, str) or "microsoftgraph" not in reference.lower():
            problems.append(
                Problem(config_path, 1, f"extension {alias} is not configured as the Microsoft Graph extension")
            )
    parsed = parse_bicep(main_path)
    grants = [r for r in parsed.resources if r.type.lower().startswith("microsoft.graph/approleassignedto@")]
    if not grants:
        problems.append(Problem(main_path, 1, "assigns no Microsoft.Graph/appRoleAssignedTo"))
    for grant in grants:
        role_id = object_properties(grant.body).get("appRoleId")
        if role_id is None or "appRoles" not in _text(role_id) or string_value(role_id) is not None:
            problems.append(parsed.problem(grant.node, f"{grant.symbol}: look appRoleId up by name in appRoles"))
    for name in _graph_role_literals(parsed):
        if name.value not in KNOWN_GRAPH_APP_ROLES:
            problems.append(parsed.problem(name.node, f"{name.value} is not a known Graph application permission"))
    return problems


@dataclass(frozen=True, slots=True)
class _Literal:
    value: str
    node: tree_sitter.Node


def _graph_role_literals(parsed: BicepFile) -> Iterator[_Literal]:
    """String literals inside `var ...AppRoles` declarations: the permission names to grant."""
    for name, value in parsed.variables.items():
        if not name.endswith("AppRoles"):
            continue
        for node in walk(value):
            text = string_value(node) if node.type == "string" else None
            if text and "." in text:
                yield _Literal(text, node)
