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

import bisect
import datetime as dt
from typing import Any

from emulators.entra.odata import Compare, Func, Literal, Logical, Node, Prop
from emulators.entra.timeutil import parse_iso

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


class LogIndex:
    """Provisioning-log positions by source id and job id, and their activity times in order.

    Built incrementally as the pipeline appends entries, so a query for one record or for the entries after an
    instant touches those entries only, however many the tenant has logged (the watcher and the per-event checks
    ask exactly those questions).
    """

    def __init__(self) -> None:
        self._logs: list[dict[str, Any]] | None = None
        self._by_key: dict[tuple[str, str], list[int]] = {}
        self._times: list[float] = []
        self._ordered = True

    def refresh(self, logs: list[dict[str, Any]]) -> None:
        if logs is not self._logs:
            self._logs, self._by_key, self._times, self._ordered = logs, {}, [], True
        for position in range(len(self._times), len(logs)):
            entry = logs[position]
            source = (entry.get("sourceIdentity") or {}).get("id")
            for key in (("sourceidentity/id", source), ("jobid", entry.get("jobId"))):
                if isinstance(key[1], str):
                    self._by_key.setdefault(key, []).append(position)  # type: ignore[arg-type]
            moment = parse_iso(str(entry["activityDateTime"])).timestamp()
            if self._times and moment < self._times[-1]:
                self._ordered = False
            self._times.append(moment)

    def candidates(self, node: Node | None) -> list[int]:
        """Positions that can match ``node`` (a superset; the caller still evaluates the filter), in log order."""
        every = range(len(self._times))
        if node is None:
            return list(every)
        chosen: set[int] | None = None
        for clause in _conjuncts(node):
            found = self._clause(clause)
            if found is not None:
                chosen = found if chosen is None else chosen & found
        return list(every) if chosen is None else sorted(chosen)

    def _clause(self, clause: Node) -> set[int] | None:
        if not (isinstance(clause, Compare) and isinstance(clause.left, Prop) and isinstance(clause.right, Literal)):
            return None
        path, value = clause.left.path.lower(), clause.right.value
        if clause.op == "eq" and isinstance(value, str) and path in ("sourceidentity/id", "jobid"):
            return set(self._by_key.get((path, value), ()))
        if path == "activitydatetime" and isinstance(value, dt.datetime) and self._ordered:
            moment = value.timestamp()
            if clause.op == "gt":
                return set(range(bisect.bisect_right(self._times, moment), len(self._times)))
            if clause.op == "lt":
                return set(range(bisect.bisect_left(self._times, moment)))
        return None


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, Logical) and node.op == "and":
        return [clause for part in node.parts for clause in _conjuncts(part)]
    return [node]
