"""ASP.NET-style route templates as Azure Functions uses them: `orders/{id:int}/{part?}`, `{*rest}`.

Literal segments match case-insensitively; parameters may carry constraints (`int`, `long`, `bool`,
`guid`, `alpha`, `double`, `float`, `decimal`, `datetime`, `min(n)`, `max(n)`, `range(a,b)`,
`minlength(n)`, `maxlength(n)`, `length(n)`, `regex(...)`), a default (`{page=1}`), or be optional
(`{id?}`, only at the end as in ASP.NET), and a final `{*rest}` catches the remaining path.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

_PARAM = re.compile(
    r"^\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<constraints>(:[^=?}]+(\([^)]*\))?)*)"
    r"(?P<optional>\?)?(=(?P<default>[^}]*))?\}$"
)
_CONSTRAINT = re.compile(r":([a-zA-Z]+)(?:\(((?:[^()]|\([^)]*\))*)\))?")


@dataclass
class _Segment:
    literal: str | None = None
    name: str | None = None
    constraints: list[tuple[str, str | None]] = field(default_factory=list)
    optional: bool = False
    default: str | None = None
    catch_all: bool = False


def _satisfies(value: str, constraint: str, argument: str | None) -> bool:
    kind = constraint.lower()
    try:
        if kind in ("int", "long"):
            int(value)
        elif kind == "bool":
            return value.lower() in ("true", "false")
        elif kind == "guid":
            uuid.UUID(value)
        elif kind == "alpha":
            return value.isalpha() and value.isascii()
        elif kind in ("double", "float", "decimal"):
            float(value)
        elif kind == "datetime":
            datetime.fromisoformat(value)
        elif kind == "min":
            return int(value) >= int(argument or 0)
        elif kind == "max":
            return int(value) <= int(argument or 0)
        elif kind == "range":
            low, high = (int(part) for part in (argument or "0,0").split(","))
            return low <= int(value) <= high
        elif kind == "minlength":
            return len(value) >= int(argument or 0)
        elif kind == "maxlength":
            return len(value) <= int(argument or 0)
        elif kind == "length":
            if argument and "," in argument:
                low, high = (int(part) for part in argument.split(","))
                return low <= len(value) <= high
            return len(value) == int(argument or 0)
        elif kind == "regex":
            return re.fullmatch(argument or "", value, flags=re.IGNORECASE) is not None
        else:
            raise ValueError(f"unsupported route constraint '{constraint}'")
    except ValueError as exc:
        if "unsupported route constraint" in str(exc):
            raise
        return False
    return True


class RouteTemplate:
    """A compiled route template; `match` returns the route parameters or None."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self.segments: list[_Segment] = []
        parts = [part for part in self.template.split("/") if part] if self.template else []
        for index, part in enumerate(parts):
            found = _PARAM.match(part)
            if not found:
                if "{" in part or "}" in part:
                    raise ValueError(f"route segment '{part}' mixes text and parameters; not supported")
                self.segments.append(_Segment(literal=part))
                continue
            constraints = [(name, arg) for name, arg in _CONSTRAINT.findall(found.group("constraints") or "")]
            for name, arg in constraints:
                _satisfies("0", name, arg or None)  # reject unknown constraints when the app loads
            segment = _Segment(
                name=found.group("name"),
                constraints=[(name, arg or None) for name, arg in constraints],
                optional=bool(found.group("optional")) or found.group("default") is not None,
                default=found.group("default"),
                catch_all=bool(found.group("star")),
            )
            if segment.catch_all and index != len(parts) - 1:
                raise ValueError("a catch-all parameter must be the last segment")
            self.segments.append(segment)
        seen_optional = False
        for segment in self.segments:
            if seen_optional and not (segment.optional or segment.catch_all):
                raise ValueError(f"route '{template}': optional parameters must come last")
            seen_optional = seen_optional or segment.optional
        self.specificity = (sum(1 for s in self.segments if s.literal is not None), len(self.segments))

    def match(self, path: str) -> dict[str, str] | None:
        parts = [unquote(part) for part in path.strip("/").split("/") if part] if path.strip("/") else []
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                params[segment.name or ""] = "/".join(parts[index:])
                return params
            if index >= len(parts):
                if segment.optional:
                    if segment.default is not None and segment.name:
                        params[segment.name] = segment.default
                    continue
                return None
            value = parts[index]
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if not all(_satisfies(value, name, arg) for name, arg in segment.constraints):
                return None
            params[segment.name or ""] = value
        if len(parts) > len(self.segments):
            return None
        return params
