"""The default AD backend: users as dicts in the emulator's state, with AD's rules modelled in Python.

It models what the product depends on and what Samba enforces for real in the ``samba`` backend: forest-wide
uniqueness of userPrincipalName and sAMAccountName, one name per container (the cn), containers that must exist,
the agent's rights (every container except ``OU=Restricted``), no empty attribute values, and a uSNChanged on every
write for Connect sync's delta. Errors are built by :mod:`emulators.entra.ad.errors` from the LDAP result Samba
returns for the same rule, so both backends log the same code.
"""

from __future__ import annotations

import bisect
import uuid
from typing import Any

from emulators.entra.ad import errors
from emulators.entra.ad.base import RESTRICTED_OU, TARGET_OU, UNSYNCED_CONTAINER, escape_rdn, is_within
from emulators.entra.directory import UserDirectory
from emulators.entra.state import EmulatorState
from emulators.entra.timeutil import iso, now


class MemoryDirectory:
    """AD as a :class:`UserDirectory` (persisted with the rest of the state as ``adUsers``)."""

    def __init__(self, state: EmulatorState, base_dn: str) -> None:
        self._state = state
        self.base_dn = base_dn
        self.containers = {f"{c},{base_dn}".lower() for c in (TARGET_OU, UNSYNCED_CONTAINER, RESTRICTED_OU)}
        self.containers.add(base_dn.lower())
        self._changes: list[tuple[int, str]] = []
        self._usn = 0
        self.reload()

    @property
    def _users(self) -> UserDirectory:
        return self._state.ad

    def reload(self) -> None:
        """Rebuild the change log from the users' uSNChanged (after the state was loaded or reset)."""
        ordered = sorted((int(user.get("_usn", 0)), user["id"]) for user in self._users)
        self._changes = ordered
        self._usn = ordered[-1][0] if ordered else 0

    # -- reads ----------------------------------------------------------------------------------------------
    def find_by_employee_id(self, employee_id: str) -> dict[str, Any] | None:
        return self._users.find_one("employeeId", employee_id)

    def find_by_user_principal_name(self, upn: str) -> dict[str, Any] | None:
        return self._users.find_one("userPrincipalName", upn)

    def get(self, object_id: str) -> dict[str, Any] | None:
        return self._users.get(object_id)

    def users(self) -> list[dict[str, Any]]:
        return list(self._users)

    def name_in_use(self, container: str, common_name: str) -> bool:
        dn = f"CN={escape_rdn(common_name)},{container}".lower()
        return any(str(user.get("distinguishedName", "")).lower() == dn for user in self._users)

    def changed_since(self, usn: int, scope: str) -> tuple[list[dict[str, Any]], int]:
        start = bisect.bisect_right(self._changes, (usn, "\uffff"))
        seen: dict[str, dict[str, Any]] = {}
        for _, object_id in self._changes[start:]:
            user = self._users.get(object_id)
            if user is not None and int(user.get("_usn", 0)) > usn and is_within(user["distinguishedName"], scope):
                seen[object_id] = user
        return list(seen.values()), max(usn, self._usn)

    # -- writes ---------------------------------------------------------------------------------------------
    def _touch(self, user: dict[str, Any]) -> None:
        self._usn += 1
        user["_usn"] = self._usn
        self._changes.append((self._usn, user["id"]))

    def _check_unique(self, prop: str, value: Any, own_id: str | None) -> None:
        if not isinstance(value, str) or not value:
            return
        for other in self._users.find(prop, value):
            if other["id"] != own_id:
                raise errors.upn_not_unique(value) if prop == "userPrincipalName" else errors.sam_not_unique(value)

    def _check_writable(self, dn: str, container: str, as_agent: bool) -> None:
        if container.lower() not in self.containers:
            raise errors.no_such_parent(dn)
        if as_agent and is_within(container, f"{RESTRICTED_OU},{self.base_dn}"):
            raise errors.insufficient_access(dn)

    def create(
        self,
        container: str,
        common_name: str,
        props: dict[str, Any],
        *,
        password: str | None,
        as_agent: bool,
    ) -> dict[str, Any]:
        del password  # a model of AD keeps no passwords
        dn = f"CN={escape_rdn(common_name)},{container}"
        self._check_writable(dn, container, as_agent)
        empty = [key for key, value in props.items() if value == ""]
        if empty:
            raise errors.empty_values(empty)
        if self.name_in_use(container, common_name):
            raise errors.entry_exists(dn)
        self._check_unique("userPrincipalName", props.get("userPrincipalName"), None)
        self._check_unique("onPremisesSamAccountName", props.get("onPremisesSamAccountName"), None)
        user: dict[str, Any] = {
            "id": str(props.get("id") or uuid.uuid4()),
            "accountEnabled": True,
            "proxyAddresses": [],
            "createdDateTime": iso(now()),
            **{key: value for key, value in props.items() if key != "id"},
            "distinguishedName": dn,
            "_seq": self._state.next_sequence(),
        }
        self._touch(user)
        return self._users.put(user)

    def update(self, user: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        dn = str(user.get("distinguishedName", ""))
        container = dn.split(",", 1)[1] if "," in dn else self.base_dn
        self._check_writable(dn, container, as_agent=True)
        empty = [key for key, value in changes.items() if value == ""]
        if empty:
            raise errors.empty_values(empty)
        self._check_unique("userPrincipalName", changes.get("userPrincipalName"), user["id"])
        self._check_unique("onPremisesSamAccountName", changes.get("onPremisesSamAccountName"), user["id"])
        updated = self._users.update(user["id"], changes)
        self._touch(updated)
        return updated

    def set_manager(self, user: dict[str, Any], manager: dict[str, Any] | None, *, as_agent: bool) -> dict[str, Any]:
        if as_agent:
            dn = str(user.get("distinguishedName", ""))
            self._check_writable(dn, dn.split(",", 1)[1] if "," in dn else self.base_dn, as_agent=True)
        value = manager.get("employeeId") if manager else None
        updated = self._users.update(user["id"], {"manager": value})
        self._touch(updated)
        return updated

    def reset(self) -> None:
        """The state's reset already emptied ``state.ad``; only the change log is left to clear."""
        self.reload()

    def close(self) -> None:
        """Nothing to release."""
