"""A user directory (on-prem AD or Entra ID) with the lookups both sides need to be fast.

Users are plain dicts with Graph property names. Lookups by userPrincipalName, mail,
proxyAddresses, employeeId and onPremisesSamAccountName go through lower-cased indexes so a
``$filter`` on 10,000 users touches a handful of records instead of scanning them all.

Every write is remembered twice: by id until the state store has persisted it (:meth:`drain`), and, for a
directory with a :class:`ChangeLog` (Entra's), per property with a sequence number, which is what
``GET /users/delta`` reads to answer "what changed since this token".
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

#: Property name -> index name. proxyAddresses is multi-valued.
INDEXED = ("userPrincipalName", "mail", "employeeId", "onPremisesSamAccountName", "proxyAddresses")
#: Bookkeeping key holding, per property, the change sequence of its last change (hidden like every ``_`` key).
CHANGED = "_changed"


class ChangeLog:
    """Sequence-numbered changes to one directory's users: what delta tokens point into.

    ``journal`` lists ``(sequence, user id)`` in order, one entry per write; the per-property sequences live on the
    user (``_changed``) and the deleted users in ``removed`` (id -> ``{"sequence", "reason", "user"}``), so a
    reader can tell which *selected* properties changed after a token and which users went away.
    """

    def __init__(self) -> None:
        self.sequence = 0
        self.journal: list[tuple[int, str]] = []
        self.removed: dict[str, dict[str, Any]] = {}

    def next(self, user_id: str) -> int:
        self.sequence += 1
        self.journal.append((self.sequence, user_id))
        return self.sequence

    def since(self, sequence: int) -> list[str]:
        """Ids written after ``sequence``, each once, in the order of their first write after it."""
        start = bisect.bisect_right(self.journal, (sequence, "\uffff"))
        seen: dict[str, None] = {}
        for _, user_id in self.journal[start:]:
            seen.setdefault(user_id, None)
        return list(seen)

    def rebuild(self, users: Iterable[dict[str, Any]], removed: dict[str, dict[str, Any]], sequence: int) -> None:
        """Restore the journal from persisted users and tombstones (after a restart)."""
        entries = [(max((user.get(CHANGED) or {}).values(), default=0), str(user["id"])) for user in users]
        entries += [(int(tomb["sequence"]), user_id) for user_id, tomb in removed.items()]
        self.journal = sorted(entry for entry in entries if entry[0] > 0)
        self.sequence = max([sequence, *(seq for seq, _ in self.journal)])


class UserDirectory:
    """Users by object id, insertion-ordered, with case-insensitive secondary indexes."""

    def __init__(self, changes: ChangeLog | None = None) -> None:
        self._users: dict[str, dict[str, Any]] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self.changes = changes
        #: Ids written or removed since the state store last persisted this directory.
        self._unsaved: set[str] = set()
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
        if self.changes is not None:
            before = existing or {}
            changed = [key for key, value in user.items() if not key.startswith("_") and before.get(key) != value]
            self._record(user, changed, previous=before.get(CHANGED))
        self._users[user["id"]] = user
        self._index(user)
        self._unsaved.add(user["id"])
        return user

    def update(self, object_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        user = self._users[object_id]
        self._unindex(user)
        changed = [key for key, value in changes.items() if not key.startswith("_") and user.get(key) != value]
        user.update(changes)
        if self.changes is not None and changed:
            self._record(user, changed, previous=user.get(CHANGED))
        self._index(user)
        self._unsaved.add(object_id)
        return user

    def remove(self, object_id: str, reason: str = "deleted") -> dict[str, Any] | None:
        """Take a user out; with a change log, a tombstone says why (``changed``: restorable, ``deleted``: gone)."""
        user = self._users.pop(object_id, None)
        if user is not None:
            self._unindex(user)
            self._unsaved.add(object_id)
            if self.changes is not None:
                sequence = self.changes.next(object_id)
                self.changes.removed[object_id] = {"sequence": sequence, "reason": reason, "user": user}
        return user

    def _record(self, user: dict[str, Any], changed: list[str], previous: Any) -> None:
        assert self.changes is not None
        sequence = self.changes.next(str(user["id"]))
        stamps = dict(previous) if isinstance(previous, dict) else {}
        stamps.update(dict.fromkeys(changed, sequence))
        stamps.setdefault("id", sequence)
        user[CHANGED] = stamps
        self.changes.removed.pop(str(user["id"]), None)

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
        """Replace the contents with persisted users (not counted as changes: they are already saved)."""
        self._clear()
        for user in users:
            self._users[user["id"]] = user
            self._index(user)
        self._unsaved.clear()

    def drain(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The users written and the ids removed since the last call, for the state store to persist."""
        written = [self._users[object_id] for object_id in self._unsaved if object_id in self._users]
        removed = [object_id for object_id in self._unsaved if object_id not in self._users]
        self._unsaved.clear()
        return written, removed

    def mark_all_unsaved(self) -> None:
        """Every user must be written again (the store was emptied or is new)."""
        self._unsaved.update(self._users)

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
