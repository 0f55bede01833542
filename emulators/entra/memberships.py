"""The emulator's memory of groups, Entra role assignments and PIM eligibilities (plain data, JSON-persisted).

The Graph routes that read it are in `emulators/entra/directory_roles.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Built-in role template ids (the same in every tenant; Microsoft Entra built-in roles reference).
BUILT_IN_ROLES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
}


class Memberships:
    """Groups (members: user or group ids), role assignments and eligibilities; JSON-persisted with the state."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.assignments: list[dict[str, Any]] = []
        self.eligibilities: list[dict[str, Any]] = []
        self.pim_licensed = True

    def dump(self) -> dict[str, Any]:
        return {
            "groups": list(self.groups.values()),
            "assignments": self.assignments,
            "eligibilities": self.eligibilities,
            "pimLicensed": self.pim_licensed,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.groups = {group["id"]: group for group in data.get("groups", [])}
        self.assignments = list(data.get("assignments", []))
        self.eligibilities = list(data.get("eligibilities", []))
        self.pim_licensed = bool(data.get("pimLicensed", True))

    # -- membership ---------------------------------------------------------------------------------------
    def direct_groups(self, object_id: str) -> list[dict[str, Any]]:
        return [group for group in self.groups.values() if object_id in group.get("members", [])]

    def transitive_groups(self, object_id: str) -> list[dict[str, Any]]:
        """Every group the object is in, directly or through nested groups (cycles are tolerated)."""
        found: dict[str, dict[str, Any]] = {}
        frontier = [object_id]
        while frontier:
            current = frontier.pop()
            for group in self.direct_groups(current):
                if group["id"] not in found:
                    found[group["id"]] = group
                    frontier.append(group["id"])
        return list(found.values())

    def active_roles(self, principal_ids: Iterable[str]) -> list[str]:
        """Role template ids with an active tenant-wide assignment to any of these principals."""
        wanted = set(principal_ids)
        return sorted(
            {
                item["roleDefinitionId"]
                for item in self.assignments
                if item["principalId"] in wanted and item.get("directoryScopeId", "/") == "/"
            }
        )
