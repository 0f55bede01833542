"""Which accounts this app must never re-enable or hand a first credential: administrators and protected groups.

A Temporary Access Pass is a full sign-in. Issuing one for an account that holds an Entra role, or can activate
one, would hand over administrative power, so such accounts are refused whatever the HR event says, and so are
the (direct or nested) members of the groups named in PROTECTED_GROUP_IDS (break-glass, tier-0, executives).

What is checked, with the Graph calls that answer it (docs/security.md lists the permissions):
- `transitiveMemberOf`: directory roles the account is an active member of (directly or through a role-assignable
  group) and every group it belongs to through nesting (`User.Read.All`);
- `roleManagement/directory/roleAssignments` for the account and each of those groups: active assignments at any
  scope, administrative units included (`RoleManagement.Read.Directory`);
- `roleEligibilityScheduleInstances` for the same principals: roles the account could activate through
  Privileged Identity Management (same permission; a tenant without PIM has none).

An account this event's own upload just created (`fresh`) is asked the first question only. Such an account can
come to hold a role in one way: a Privileged Role Administrator assigns it one, or adds it to a role-assignable
group, by hand, in the minutes since it was created. Automation cannot do it: role-assignable groups cannot have
dynamic membership and cannot contain groups (Microsoft Entra documentation, "Use Microsoft Entra groups to manage
role assignments", restrictions for role-assignable groups), and role assignments and eligibilities name their
principals one by one. `transitiveMemberOf` still reports any active directory role and every group, so a protected
group a dynamic rule put the account in is refused as before. The threat this module stands against, a spoofed HR
event handing over an account that already has power, is an existing account, and those get all three questions.

I/O through an injected GraphClient; the answer is JSON-ready and names ids and kinds only, never a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from provisioning.graph import MAX_IN_VALUES, GraphClient

__all__ = ["MAX_IN_VALUES", "account_protection"]

_DIRECTORY_ROLE = "#microsoft.graph.directoryRole"
_GROUP = "#microsoft.graph.group"


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _any(values: Iterable[Any]) -> bool:
    return any(True for _ in values)


def account_protection(
    graph: GraphClient, user_id: str, protected_group_ids: Iterable[str], *, fresh: bool = False
) -> dict[str, Any]:
    """`{"protected": bool, "reasons": [...]}` for the account with this object id.

    Reasons are short and carry no personal data, e.g. "holds an active directory role" or
    "member of protected group 7f3c…". `fresh`: the account was created by this event's own upload (see the
    module's docstring); only its memberships are read.
    """
    protected_groups = {group.lower() for group in protected_group_ids}
    reasons: list[str] = []
    memberships = graph.transitive_member_of(user_id)
    if any(item.get("@odata.type") == _DIRECTORY_ROLE for item in memberships):
        reasons.append("holds an active directory role")
    group_ids = sorted(
        str(item["id"]).lower()
        for item in memberships
        if item.get("@odata.type") == _GROUP and isinstance(item.get("id"), str)
    )
    reasons += [f"member of protected group {group}" for group in group_ids if group in protected_groups]
    if fresh:
        return {"protected": bool(reasons), "reasons": reasons}
    principals = [user_id, *group_ids]
    if _any(found for chunk in _chunks(principals, MAX_IN_VALUES) for found in graph.role_assignments(chunk)):
        reasons.append("has an Entra role assignment (possibly scoped to an administrative unit)")
    if _any(found for chunk in _chunks(principals, MAX_IN_VALUES) for found in graph.role_eligibilities(chunk)):
        reasons.append("is eligible to activate an Entra role (Privileged Identity Management)")
    return {"protected": bool(reasons), "reasons": reasons}
