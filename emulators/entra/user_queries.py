"""Graph's rules for ``GET /users`` queries: which filters need advanced query, and an index plan.

Advanced query = header ``ConsistencyLevel: eventual`` plus ``$count=true``. Without it Graph
answers 400 Request_UnsupportedQuery for ``ne``, ``not``, ``in``, ``endsWith``, null
comparisons, range operators on strings, and any filter on onPremisesSamAccountName.
"""

from __future__ import annotations

from emulators.entra.core import USER_PROPERTIES
from emulators.entra.directory import UserDirectory
from emulators.entra.odata import Any_, Compare, Func, In, LambdaVar, Literal, Logical, Node, Not, Prop, walk

_INDEXED = {
    "userprincipalname": "userPrincipalName",
    "mail": "mail",
    "employeeid": "employeeId",
    "onpremisessamaccountname": "onPremisesSamAccountName",
}
_ADVANCED_ONLY_PROPERTIES = {"onpremisessamaccountname"}
_KNOWN = {name.lower(): name for name in USER_PROPERTIES}


def unknown_property(node: Node) -> str | None:
    """The first property in the filter that users do not have, if any."""
    for part in walk(node):
        if isinstance(part, Prop | Any_):
            head = part.path.split("/")[0]
            if head.lower() not in _KNOWN:
                return head
    return None


def advanced_reason(node: Node) -> str | None:
    """Why this filter needs advanced query capabilities (None when a plain query can run it)."""
    for part in walk(node):
        if isinstance(part, Prop) and part.path.lower() in _ADVANCED_ONLY_PROPERTIES:
            return part.path
        if isinstance(part, Not):
            return "not"
        if isinstance(part, In):
            return "in"
        if isinstance(part, Func) and part.name in ("endswith", "contains"):
            return part.name
        if isinstance(part, Compare):
            if part.op != "eq":
                return part.op
            if isinstance(part.right, Literal) and part.right.value is None:
                return "null"
    return None


def subject_name(node: Node) -> str:
    for part in walk(node):
        if isinstance(part, Prop):
            return part.path
        if isinstance(part, Any_):
            return part.path
    return "unknown"


def candidate_ids(node: Node, directory: UserDirectory) -> set[str] | None:
    """Ids that can possibly match, from the indexes; None means every user must be checked."""
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.right, Literal):
        value = node.right.value
        if isinstance(node.left, Prop) and isinstance(value, str):
            key = node.left.path.lower()
            if key == "id":
                return {value} if directory.get(value) is not None else set()
            if key in _INDEXED:
                return directory.lookup_ids(_INDEXED[key], value)
        return None
    if isinstance(node, Any_) and node.path.lower() == "proxyaddresses":
        body = node.body
        if (
            isinstance(body, Compare)
            and body.op == "eq"
            and isinstance(body.left, LambdaVar)
            and isinstance(body.right, Literal)
            and isinstance(body.right.value, str)
        ):
            return directory.lookup_ids("proxyAddresses", body.right.value)
        return None
    if isinstance(node, In) and isinstance(node.left, Prop) and node.left.path.lower() in _INDEXED:
        found: set[str] = set()
        for literal in node.values:
            if isinstance(literal.value, str):
                found |= directory.lookup_ids(_INDEXED[node.left.path.lower()], literal.value)
        return found
    if isinstance(node, Logical):
        plans = [candidate_ids(part, directory) for part in node.parts]
        if node.op == "and":
            known = [plan for plan in plans if plan is not None]
            return min(known, key=len) if known else None
        if any(plan is None for plan in plans):
            return None
        union: set[str] = set()
        for plan in plans:
            union |= plan or set()
        return union
    return None
