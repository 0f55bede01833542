"""A user directory (on-prem AD or Entra ID) with the lookups both sides need to be fast.

Users are plain dicts with Graph property names. Lookups by userPrincipalName, mail,
proxyAddresses, employeeId and onPremisesSamAccountName go through lower-cased indexes so a
``$filter`` on 10,000 users touches a handful of records instead of scanning them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

#: Property name -> index name. proxyAddresses is multi-valued.
INDEXED = ("userPrincipalName", "mail", "employeeId", "onPremisesSamAccountName", "proxyAddresses")


class UserDirectory:
    """Users by object id, insertion-ordered, with case-insensitive secondary indexes."""

    def __init__(self) -> None:
        self._users: dict[str, dict[str, Any]] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self._clear()

    def _clear(self) -> None:
        self._users = {}
        self._indexes = {name: {} for name in INDEXED}

    def __len__(self) -> int:
        return len(self._users)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._users.values())

    def get(self, object_id: str) -> dict[str, Any] | None:
        return self._users.get(object_id)

    def ids(self) -> list[str]:
        return list(self._users)

    def put(self, user: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace a user (keyed by its ``id``) and refresh its index entries."""
        existing = self._users.get(user["id"])
        if existing is not None:
            self._unindex(existing)
        self._users[user["id"]] = user
        self._index(user)
        return user

    def update(self, object_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        user = self._users[object_id]
        self._unindex(user)
        user.update(changes)
        self._index(user)
        return user

    def remove(self, object_id: str) -> None:
        user = self._users.pop(object_id, None)
        if user is not None:
            self._unindex(user)

    def find(self, prop: str, value: str) -> list[dict[str, Any]]:
        """Users whose ``prop`` equals ``value`` ignoring case (any element for proxyAddresses)."""
        ids = self._indexes[prop].get(value.lower(), set())
        return [self._users[object_id] for object_id in self.ordered(ids)]

    def find_one(self, prop: str, value: str | None) -> dict[str, Any] | None:
        if not value:
            return None
        found = self.find(prop, value)
        return found[0] if found else None

    def lookup_ids(self, prop: str, value: str) -> set[str]:
        return set(self._indexes[prop].get(value.lower(), set()))

    def ordered(self, ids: Iterable[str]) -> list[str]:
        """Ids in insertion order, so paging is stable across pages."""
        wanted = set(ids)
        if len(wanted) > len(self._users) // 4:
            return [object_id for object_id in self._users if object_id in wanted]
        position = {object_id: self._users[object_id].get("_seq", 0) for object_id in wanted}
        return sorted(position, key=position.__getitem__)

    def by_key(self, key: str) -> dict[str, Any] | None:
        """Resolve a Graph path key: an object id or a userPrincipalName."""
        user = self._users.get(key)
        if user is not None:
            return user
        return self.find_one("userPrincipalName", key)

    def dump(self) -> list[dict[str, Any]]:
        return list(self._users.values())

    def load(self, users: Iterable[dict[str, Any]]) -> None:
        self._clear()
        for user in users:
            self.put(user)

    def _values(self, user: dict[str, Any], prop: str) -> list[str]:
        value = user.get(prop)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(item).lower() for item in value]
        return [str(value).lower()]

    def _index(self, user: dict[str, Any]) -> None:
        for prop in INDEXED:
            for value in self._values(user, prop):
                self._indexes[prop].setdefault(value, set()).add(user["id"])

    def _unindex(self, user: dict[str, Any]) -> None:
        for prop in INDEXED:
            for value in self._values(user, prop):
                bucket = self._indexes[prop].get(value)
                if bucket is not None:
                    bucket.discard(user["id"])
                    if not bucket:
                        del self._indexes[prop][value]
