"""A small OData v4 ``$filter`` parser and evaluator, enough for Graph users and provisioning logs.

Supports comparisons (eq ne gt ge lt le), ``and``/``or``/``not``, parentheses, ``in``, the
string functions startsWith/endsWith/contains, lambda ``any`` over collections, and literals
(quoted strings with doubled quotes, numbers, booleans, null, unquoted DateTimeOffset).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulators.entra.timeutil import parse_iso


class FilterError(ValueError):
    """The expression is not valid OData (Graph answers 400 BadRequest / Invalid filter clause)."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Prop:
    path: str


@dataclass(frozen=True)
class LambdaVar:
    name: str


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class In:
    left: Any
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Any_:
    path: str
    var: str
    body: Any


@dataclass(frozen=True)
class Logical:
    op: str
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    part: Any


Node = Literal | Prop | LambdaVar | Compare | In | Func | Any_ | Logical | Not

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<punct>[(),:])
      | (?P<name>[A-Za-z_$][\w$.-]*(?:/[A-Za-z_$][\w$.-]*)*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Invalid filter clause: syntax error at position {position}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.lambda_vars: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("Invalid filter clause: unexpected end of expression")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text != value:
            raise FilterError(f"Invalid filter clause: expected '{value}' but found '{text}'")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "name" and token[1].lower() in words:
            self.index += 1
            return token[1].lower()
        return None

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise FilterError(f"Invalid filter clause: unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Logical("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else Logical("and", tuple(parts))

    def not_expr(self) -> Node:
        if self.keyword("not"):
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        operator = self.keyword(*COMPARISONS)
        if operator:
            return Compare(operator, left, self.primary())
        if self.keyword("in"):
            self.expect("(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.expect(")")
            return In(left, tuple(values))
        return left

    def literal(self) -> Literal:
        node = self.primary()
        if not isinstance(node, Literal):
            raise FilterError("Invalid filter clause: a literal value was expected")
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "punct" and text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "string":
            return Literal(text[1:-1].replace("''", "'"))
        if kind == "datetime":
            return Literal(parse_iso(text))
        if kind == "number":
            return Literal(float(text) if "." in text else int(text))
        if kind != "name":
            raise FilterError(f"Invalid filter clause: unexpected '{text}'")
        lowered = text.lower()
        if lowered in ("true", "false"):
            return Literal(lowered == "true")
        if lowered == "null":
            return Literal(None)
        following = self.peek()
        if following == ("punct", "("):
            return self.call(text)
        head = text.split("/")[0]
        if head in self.lambda_vars:
            if "/" in text:
                raise FilterError("Invalid filter clause: lambda variables have no properties here")
            return LambdaVar(text)
        return Prop(text)

    def call(self, name: str) -> Node:
        self.expect("(")
        if "/" in name and name.rsplit("/", 1)[1].lower() in ("any", "all"):
            path, kind = name.rsplit("/", 1)
            if kind.lower() == "all":
                raise FilterError("Invalid filter clause: 'all' is not supported")
            var_kind, var = self.take()
            if var_kind != "name":
                raise FilterError("Invalid filter clause: lambda variable expected")
            self.expect(":")
            self.lambda_vars.add(var)
            body = self.or_expr()
            self.lambda_vars.discard(var)
            self.expect(")")
            return Any_(path, var, body)
        if name.lower() not in FUNCTIONS:
            raise FilterError(f"Invalid filter clause: unsupported function '{name}'")
        args = [self.or_expr()]
        while self.peek() == ("punct", ","):
            self.take()
            args.append(self.or_expr())
        self.expect(")")
        if len(args) != 2:
            raise FilterError(f"Invalid filter clause: {name} takes two arguments")
        return Func(name.lower(), tuple(args))


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` value into an expression tree."""
    if not text.strip():
        raise FilterError("Invalid filter clause: empty expression")
    return _Parser(text).parse()


def walk(node: Node) -> Iterable[Node]:
    """Every node of the tree, parents first."""
    yield node
    children: tuple[Any, ...] = ()
    if isinstance(node, Compare):
        children = (node.left, node.right)
    elif isinstance(node, In):
        children = (node.left, *node.values)
    elif isinstance(node, Func):
        children = node.args
    elif isinstance(node, Any_):
        children = (node.body,)
    elif isinstance(node, Logical):
        children = node.parts
    elif isinstance(node, Not):
        children = (node.part,)
    for child in children:
        yield from walk(child)


Resolver = Callable[[Mapping[str, Any], str], Any]


def resolve_path(record: Mapping[str, Any], path: str) -> Any:
    """Look a slash path up in nested dicts, matching each key case-insensitively as Graph does."""
    value: Any = record
    for segment in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        if segment in value:
            value = value[segment]
            continue
        lowered = segment.lower()
        value = next((item for key, item in value.items() if key.lower() == lowered), None)
    return value


@dataclass
class Evaluator:
    """Evaluates an expression against one record.

    ``case_insensitive`` holds lower-cased property paths whose string comparisons ignore case
    (directory strings in Entra; only status fields in provisioning logs).
    """

    case_insensitive: frozenset[str] | None = None  # None: every string property ignores case

    def matches(self, node: Node, record: Mapping[str, Any]) -> bool:
        return bool(self._value(node, record, {}))

    def _fold(self, path: str | None) -> bool:
        if self.case_insensitive is None:
            return True
        return path is not None and path.lower() in self.case_insensitive

    def _value(self, node: Node, record: Mapping[str, Any], scope: dict[str, tuple[Any, str]]) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Prop):
            return resolve_path(record, node.path)
        if isinstance(node, LambdaVar):
            return scope[node.name][0]
        if isinstance(node, Logical):
            if node.op == "and":
                return all(self._value(part, record, scope) for part in node.parts)
            return any(self._value(part, record, scope) for part in node.parts)
        if isinstance(node, Not):
            return not self._value(node.part, record, scope)
        if isinstance(node, Any_):
            items = resolve_path(record, node.path) or []
            return any(self._value(node.body, record, {**scope, node.var: (item, node.path)}) for item in items)
        fold = self._fold(self._path_of(node, scope))
        if isinstance(node, Compare):
            left = self._value(node.left, record, scope)
            right = self._value(node.right, record, scope)
            return _compare(node.op, left, right, fold)
        if isinstance(node, In):
            left = self._value(node.left, record, scope)
            return any(_compare("eq", left, value.value, fold) for value in node.values)
        if isinstance(node, Func):
            subject = self._value(node.args[0], record, scope)
            needle = self._value(node.args[1], record, scope)
            if not isinstance(subject, str) or not isinstance(needle, str):
                return False
            if fold:
                subject, needle = subject.lower(), needle.lower()
            if node.name == "startswith":
                return subject.startswith(needle)
            if node.name == "endswith":
                return subject.endswith(needle)
            return needle in subject
        raise FilterError("Invalid filter clause")

    def _path_of(self, node: Node, scope: dict[str, tuple[Any, str]]) -> str | None:
        subject = node.left if isinstance(node, Compare | In) else node.args[0] if isinstance(node, Func) else None
        if isinstance(subject, Prop):
            return subject.path
        if isinstance(subject, LambdaVar):
            return scope[subject.name][1]
        return None


def _compare(op: str, left: Any, right: Any, fold: bool) -> bool:
    if isinstance(right, dt.datetime) and isinstance(left, str):
        try:
            left = parse_iso(left)
        except ValueError:
            return False
    if isinstance(left, dt.datetime) and isinstance(right, str):
        right = parse_iso(right)
    if fold and isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False
