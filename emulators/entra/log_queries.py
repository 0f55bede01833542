"""Which ``$filter`` expressions ``GET /auditLogs/provisioning`` accepts, as Microsoft documents them.

The List provisioningObjectSummary page allows ``eq``, ``contains``, ``gt`` and ``lt`` and says the
filters are all case sensitive; the provisioningObjectSummary resource page names, per property, which
of them apply (``activityDateTime``: eq, gt, lt; identifiers: eq, contains; ``servicePrincipal``: eq on
id and name...). Clauses are joined with ``and``. Anything else (``ge``, ``le``, ``ne``, ``or``,
``not``, ``in``, lambdas, other functions, other properties) is refused with 400, so a client that
strays from the documented surface fails here rather than in production.

Property names resolve case-insensitively (the service's own bulkUpload ``Location`` header spells
``jobid``); values compare case-sensitively.
"""

from __future__ import annotations

from emulators.entra.odata import Compare, Func, Literal, Logical, Node, Prop

_EQ_CONTAINS = frozenset({"eq", "contains"})
_EQ_RANGE = frozenset({"eq", "gt", "lt"})

#: Lower-cased property path -> documented operators (provisioningObjectSummary and its complex types).
FILTERABLE: dict[str, frozenset[str]] = {
    "activitydatetime": _EQ_RANGE,
    "durationinmilliseconds": _EQ_RANGE,
    **dict.fromkeys(("id", "changeid", "cycleid", "jobid", "tenantid", "provisioningaction"), _EQ_CONTAINS),
    **dict.fromkeys(
        (
            f"{owner}/{name}"
            for owner in ("sourceidentity", "targetidentity")
            for name in ("id", "displayname", "identitytype")
        ),
        _EQ_CONTAINS,
    ),
    **dict.fromkeys(("initiatedby/id", "initiatedby/displayname", "initiatedby/initiatortype"), _EQ_CONTAINS),
    **dict.fromkeys(("sourcesystem/displayname", "targetsystem/displayname"), _EQ_CONTAINS),
    **dict.fromkeys(("serviceprincipal/id", "serviceprincipal/displayname"), frozenset({"eq"})),
    "provisioningstatusinfo/status": _EQ_CONTAINS,
}
#: The deprecated beta names of action and status.
BETA_ONLY: dict[str, frozenset[str]] = {"action": _EQ_CONTAINS, "statusinfo/status": _EQ_CONTAINS}


def unsupported_clause(node: Node, version: str) -> str | None:
    """Why Graph would refuse this filter (None when every clause is documented)."""
    allowed = {**FILTERABLE, **BETA_ONLY} if version == "beta" else FILTERABLE
    if isinstance(node, Logical):
        if node.op != "and":
            return f"the '{node.op}' operator is not supported; join clauses with 'and'"
        for part in node.parts:
            reason = unsupported_clause(part, version)
            if reason is not None:
                return reason
        return None
    if isinstance(node, Compare):
        return _operand_problem(node.op, node.left, node.right, allowed)
    if isinstance(node, Func) and node.name == "contains" and len(node.args) == 2:
        return _operand_problem("contains", node.args[0], node.args[1], allowed)
    if isinstance(node, Func):
        return f"the function '{node.name}' is not supported"
    return f"'{type(node).__name__.rstrip('_').lower()}' expressions are not supported"


def _operand_problem(operator: str, subject: Node, value: Node, allowed: dict[str, frozenset[str]]) -> str | None:
    if not isinstance(subject, Prop):
        return f"'{operator}' needs a property on its left"
    operators = allowed.get(subject.path.lower())
    if operators is None:
        return f"the property '{subject.path}' cannot be filtered"
    if operator not in operators:
        return (
            f"the operator '{operator}' is not supported for '{subject.path}' "
            f"(supported: {', '.join(sorted(operators))})"
        )
    if not isinstance(value, Literal) or value.value is None:
        return f"'{subject.path} {operator}' needs a literal value"
    return None
