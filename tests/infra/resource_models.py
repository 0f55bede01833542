"""Azure's published resource models, per resource type and API version, from the azure-mgmt-* packages.

The azure-mgmt-* Python packages are generated from the same REST API specifications (azure-rest-api-specs)
that Bicep's resource types are generated from. Each package release carries one or more API versions:
multi-version releases as ``azure.mgmt.<pkg>.v<yyyy_mm_dd>.models``, single-version releases as
``azure.mgmt.<pkg>.models`` whose operations send one default ``api-version``. Two code generators are in
use: msrest-style models (``_attribute_map`` with flattened ``properties.x`` keys and ``_validation``) and
TypeSpec-style models (``rest_field`` descriptors with visibility and type annotations). Both are read into
the same :class:`Shape` tree: the JSON body a PUT takes, with each property's kind, enum values, read-only
flag and required flag.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import types
import typing
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "MODELS",
    "ModelRef",
    "Shape",
    "Unavailable",
    "resource_shape",
]


@dataclass(frozen=True)
class ModelRef:
    """Where a resource type's PUT body is modelled: the azure-mgmt distribution and the model class."""

    distribution: str
    model: str

    @property
    def package(self) -> str:
        return self.distribution.replace("-", ".")


#: Resource type (lower-case, without API version) -> the model of its PUT body. Child types nested in
#: Bicep (`'config'` inside a site) resolve to their full type first.
MODELS: Mapping[str, ModelRef] = {
    "microsoft.web/serverfarms": ModelRef("azure-mgmt-web", "AppServicePlan"),
    "microsoft.web/sites": ModelRef("azure-mgmt-web", "Site"),
    "microsoft.web/sites/basicpublishingcredentialspolicies": ModelRef(
        "azure-mgmt-web", "CsmPublishingCredentialsPoliciesEntity"
    ),
    "microsoft.storage/storageaccounts": ModelRef("azure-mgmt-storage", "StorageAccountCreateParameters"),
    "microsoft.storage/storageaccounts/blobservices": ModelRef("azure-mgmt-storage", "BlobServiceProperties"),
    "microsoft.storage/storageaccounts/blobservices/containers": ModelRef("azure-mgmt-storage", "BlobContainer"),
    "microsoft.keyvault/vaults": ModelRef("azure-mgmt-keyvault", "VaultCreateOrUpdateParameters"),
    "microsoft.keyvault/vaults/secrets": ModelRef("azure-mgmt-keyvault", "SecretCreateOrUpdateParameters"),
    "microsoft.managedidentity/userassignedidentities": ModelRef("azure-mgmt-msi", "Identity"),
    "microsoft.authorization/roleassignments": ModelRef("azure-mgmt-authorization", "RoleAssignmentCreateParameters"),
    "microsoft.network/virtualnetworks": ModelRef("azure-mgmt-network", "VirtualNetwork"),
    "microsoft.network/privateendpoints": ModelRef("azure-mgmt-network", "PrivateEndpoint"),
    "microsoft.network/privateendpoints/privatednszonegroups": ModelRef("azure-mgmt-network", "PrivateDnsZoneGroup"),
    "microsoft.network/privatednszones": ModelRef("azure-mgmt-privatedns", "PrivateZone"),
    "microsoft.network/privatednszones/virtualnetworklinks": ModelRef("azure-mgmt-privatedns", "VirtualNetworkLink"),
    "microsoft.insights/components": ModelRef("azure-mgmt-applicationinsights", "ApplicationInsightsComponent"),
    "microsoft.insights/workbooks": ModelRef("azure-mgmt-applicationinsights", "Workbook"),
    "microsoft.operationalinsights/workspaces": ModelRef("azure-mgmt-loganalytics", "Workspace"),
    "microsoft.durabletask/schedulers": ModelRef("azure-mgmt-durabletask", "Scheduler"),
    "microsoft.durabletask/schedulers/taskhubs": ModelRef("azure-mgmt-durabletask", "TaskHub"),
}

#: Types whose body depends on the resource name: Microsoft.Web/sites/config 'appsettings' is a string map,
#: 'web' a site configuration, ...
NAMED_MODELS: Mapping[str, Mapping[str, ModelRef]] = {
    "microsoft.web/sites/config": {
        "appsettings": ModelRef("azure-mgmt-web", "StringDictionary"),
        "metadata": ModelRef("azure-mgmt-web", "StringDictionary"),
        "connectionstrings": ModelRef("azure-mgmt-web", "ConnectionStringDictionary"),
        "web": ModelRef("azure-mgmt-web", "SiteConfigResource"),
        "logs": ModelRef("azure-mgmt-web", "SiteLogsConfig"),
        "authsettingsv2": ModelRef("azure-mgmt-web", "SiteAuthSettingsV2"),
    }
}

# JSON kinds a value can have; "any" accepts everything.
STRING, BOOLEAN, INTEGER, NUMBER = "string", "boolean", "integer", "number"
OBJECT, ARRAY, ANY = "object", "array", "any"
_MSREST_PRIMITIVES = {
    "str": STRING,
    "bool": BOOLEAN,
    "int": INTEGER,
    "long": INTEGER,
    "float": NUMBER,
    "decimal": NUMBER,
    "object": ANY,
    "iso-8601": STRING,
    "rfc-1123": STRING,
    "duration": STRING,
    "date": STRING,
    "time": STRING,
    "base64": STRING,
    "bytearray": STRING,
    "unix-time": INTEGER,
}
_PYTHON_PRIMITIVES: dict[Any, str] = {str: STRING, bool: BOOLEAN, int: INTEGER, float: NUMBER}
_DOT = re.compile(r"(?<!\\)\.")
_API_VERSION_DEFAULT = re.compile(r'"api[-_]version",\s*"(\d{4}-\d{2}-\d{2}(?:-preview)?)"')


@dataclass
class Shape:
    """The JSON a property (or a whole body) takes."""

    kind: str
    name: str = ""  # model or enum name, for messages
    fields: dict[str, Shape] = field(default_factory=dict)  # OBJECT: JSON key -> shape
    open: bool = False  # OBJECT: undeclared keys allowed
    values: Shape | None = None  # OBJECT used as a map: every value's shape
    item: Shape | None = None  # ARRAY: each item's shape
    enum: tuple[str, ...] = ()
    read_only: bool = False
    required: bool = False


@dataclass(frozen=True)
class Unavailable:
    """Why a resource body cannot be checked: no model for the type, or not for the declared API version."""

    reason: str


def _api_module(ref: ModelRef, api_version: str) -> types.ModuleType | Unavailable:
    try:
        installed = metadata.version(ref.distribution)
    except metadata.PackageNotFoundError:
        return Unavailable(f"{ref.distribution} is not installed")
    versioned = f"{ref.package}.v{api_version.replace('-', '_')}.models"
    try:
        return importlib.import_module(versioned)
    except ModuleNotFoundError:
        pass
    versions = _versioned_subpackages(ref.package)
    if versions:
        return Unavailable(
            f"{ref.distribution} {installed} carries {len(versions)} API versions ({versions[0]} .. {versions[-1]}), "
            f"not {api_version}"
        )
    carried = _single_api_version(ref.package)
    if carried == api_version:
        return importlib.import_module(f"{ref.package}.models")
    return Unavailable(f"{ref.distribution} {installed} has only {carried}, not {api_version}")


def _versioned_subpackages(package: str) -> list[str]:
    """API versions of a multi-version release (its ``v2023_05_01`` subpackages), oldest first."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    found = [child.name[1:].replace("_", "-") for child in root.glob("v[0-9]*") if (child / "models").is_dir()]
    return sorted(found)


@cache
def _single_api_version(package: str) -> str | None:
    """The api-version a single-version release's operations send by default (its most common one)."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    counts: Counter[str] = Counter()
    for source in root.rglob("*.py"):
        if "/aio/" not in source.as_posix():
            counts.update(_API_VERSION_DEFAULT.findall(source.read_text(encoding="utf-8")))
    return counts.most_common(1)[0][0] if counts else None


def resource_shape(resource_type: str, api_version: str, name: str | None = None) -> Shape | Unavailable:
    """The PUT body of ``resource_type`` (named ``name``, for types whose body depends on it) at
    ``api_version``, or why it cannot be had."""
    named = NAMED_MODELS.get(resource_type.lower())
    ref = named.get((name or "").lower()) if named is not None else MODELS.get(resource_type.lower())
    if ref is None:
        shown = f"{resource_type} named {name!r}" if named is not None else resource_type
        return Unavailable(f"no azure-mgmt model is mapped for {shown}")
    module = _api_module(ref, api_version)
    if isinstance(module, Unavailable):
        return module
    return _model_shape(module, ref.model)


_SHAPES: dict[tuple[str, str], Shape] = {}


def _model_shape(module: types.ModuleType, name: str) -> Shape:
    """The shape of a model class. Registered before its fields are filled in, so that recursive models
    (a subnet's network security group lists subnets...) refer to the shape being built."""
    key = (module.__name__, name)
    if key in _SHAPES:
        return _SHAPES[key]
    cls = getattr(module, name)
    if hasattr(cls, "_attribute_map"):
        attribute_map: dict[str, dict[str, str]] = cls._attribute_map
        is_open = bool(getattr(cls, "_subtype_map", None)) or any(spec["key"] == "" for spec in attribute_map.values())
        shape = _SHAPES[key] = Shape(OBJECT, name=name, open=is_open)
        _fill_msrest(shape, module, cls)
    else:
        shape = _SHAPES[key] = Shape(OBJECT, name=name)
        _fill_typespec(shape, module, cls)
    return shape


# -- msrest-style models ------------------------------------------------------------------------


def _fill_msrest(shape: Shape, module: types.ModuleType, cls: type) -> None:
    """Fields from ``_attribute_map``; a ``properties.x`` key becomes ``x`` inside an implicit ``properties``
    object. A polymorphic base (``_subtype_map``) or ``additional_properties`` (key "") leaves it open."""
    validation: dict[str, dict[str, Any]] = getattr(cls, "_validation", {})
    enums = _init_enums(module, cls)
    for attr, spec in cls._attribute_map.items():  # type: ignore[attr-defined]
        if spec["key"] == "":
            continue
        leaf = _msrest_type(module, spec["type"])
        if attr in enums:
            leaf.name, leaf.enum = enums[attr]
        rules = validation.get(attr, {})
        leaf.read_only = bool(rules.get("readonly"))
        leaf.required = bool(rules.get("required"))
        *parents, last = [part.replace("\\.", ".") for part in _DOT.split(spec["key"])]
        target = shape
        for part in parents:
            target = target.fields.setdefault(part, Shape(OBJECT, name=f"{cls.__name__}.{part}"))
        target.fields[last] = leaf


def _msrest_type(module: types.ModuleType, type_name: str) -> Shape:
    if type_name.startswith("[") and type_name.endswith("]"):
        return Shape(ARRAY, item=_msrest_type(module, type_name[1:-1]))
    if type_name.startswith("{") and type_name.endswith("}"):
        return Shape(OBJECT, open=True, values=_msrest_type(module, type_name[1:-1]))
    if type_name in _MSREST_PRIMITIVES:
        return Shape(_MSREST_PRIMITIVES[type_name])
    model = getattr(module, type_name, None)
    if isinstance(model, type) and issubclass(model, enum.Enum):
        return Shape(STRING, name=type_name, enum=tuple(str(member.value) for member in model))
    if model is None:
        return Shape(ANY, name=type_name)
    return _copy(_model_shape(module, type_name))


def _init_enums(module: types.ModuleType, cls: type) -> dict[str, tuple[str, tuple[str, ...]]]:
    """(enum name, values) per attribute, from ``__init__`` annotations (``Union[str, "_models.Kind"]``):
    ``_attribute_map`` types enum-valued properties as plain ``str``."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        for enum_name in re.findall(r"_models\.(\w+)", str(parameter.annotation)):
            candidate = getattr(module, enum_name, None)
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                found[name] = (enum_name, tuple(str(member.value) for member in candidate))
    return found


# -- TypeSpec-style models ----------------------------------------------------------------------


def _fill_typespec(shape: Shape, module: types.ModuleType, cls: type) -> None:
    """Fields from the ``rest_field`` descriptors: JSON name, visibility (read-only = only "read"), and the
    class annotations for types (``Optional`` = not required)."""
    cls()  # the generated base class indexes its rest fields on first instantiation
    hints = typing.get_type_hints(cls, localns={"_models": module})
    for attr, rest_field in cls._attr_to_rest_field.items():  # type: ignore[attr-defined]
        hint = hints.get(attr, Any)
        leaf = _python_type(module, hint)
        visibility = rest_field._visibility or []
        leaf.read_only = visibility == ["read"]
        leaf.required = not _optional(hint) and "create" in visibility
        shape.fields[rest_field._rest_name] = leaf


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _python_type(module: types.ModuleType, hint: Any) -> Shape:
    arguments = [argument for argument in typing.get_args(hint) if argument is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        enums = [a for a in arguments if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums:
            return Shape(STRING, name=enums[0].__name__, enum=tuple(str(m.value) for m in enums[0]))
        return _python_type(module, arguments[0]) if len(arguments) == 1 else Shape(ANY)
    if origin is list:
        return Shape(ARRAY, item=_python_type(module, arguments[0]))
    if origin is dict:
        return Shape(OBJECT, open=True, values=_python_type(module, arguments[1]))
    if hint in _PYTHON_PRIMITIVES:
        return Shape(_PYTHON_PRIMITIVES[hint])
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return Shape(STRING, name=hint.__name__, enum=tuple(str(member.value) for member in hint))
    if isinstance(hint, type) and hasattr(module, hint.__name__) and not hint.__module__.startswith("datetime"):
        return _copy(_model_shape(module, hint.__name__))
    return Shape(STRING) if getattr(hint, "__module__", "") == "datetime" else Shape(ANY)


def _copy(shape: Shape) -> Shape:
    """A copy whose read-only/required flags the referencing property may set without touching the model."""
    return Shape(
        shape.kind,
        name=shape.name,
        fields=shape.fields,
        open=shape.open,
        values=shape.values,
        item=shape.item,
        enum=shape.enum,
    )
