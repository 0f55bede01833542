"""The emulator's state on disk: one SQLite file, written row by row as things change.

Rewriting the whole state as one JSON document every second cost more CPU than everything else the emulator
does once thousands of hires had left their calls, mails, logs and users in it. Here each record is a row:
append-only lists (calls, mails, provisioning logs, bulk requests) add rows, users and keyed maps upsert and
delete rows, and only the small documents (config, jobs, secrets, ...) are rewritten, and only when their JSON
changed. A flush costs what changed since the last one, whatever the size of the state.

The file is ``state.sqlite3`` in the state directory (WAL journal, so a crash loses at most the last flush);
a ``state.json`` left by an older emulator is read once when there is no database yet.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATABASE_FILE = "state.sqlite3"
LEGACY_FILE = "state.json"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records ("
    " collection TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (collection, position))",
    "CREATE TABLE IF NOT EXISTS items ("
    " collection TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY (collection, key))",
)


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Changes:
    """What one flush writes. ``clear`` empties the database first (after a reset)."""

    clear: bool = False
    documents: dict[str, str] = field(default_factory=dict)
    #: (collection, position, body) rows to insert or replace.
    records: list[tuple[str, int, str]] = field(default_factory=list)
    #: Per collection: drop every record at or below this position (a capped list such as the call log).
    trim: dict[str, int] = field(default_factory=dict)
    #: (collection, key, position, body) rows to insert or replace.
    items: list[tuple[str, str, int, str]] = field(default_factory=list)
    #: (collection, key) rows to delete.
    deleted: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.clear or self.documents or self.records or self.trim or self.items or self.deleted)


@dataclass
class Loaded:
    """Everything the database holds, decoded: documents by name, records and items by collection in order."""

    documents: dict[str, Any]
    records: dict[str, list[Any]]
    items: dict[str, dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.documents or self.records or self.items)


class StateStore:
    """The SQLite file; safe to call from the pipeline worker and the thread that stops the server."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @property
    def path(self) -> Path:
        return self.state_dir / DATABASE_FILE

    @property
    def legacy_path(self) -> Path:
        return self.state_dir / LEGACY_FILE

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                connection.execute(statement)
            self._connection = connection
        return self._connection

    def load(self) -> Loaded:
        """The persisted state, or an empty one when the directory has none."""
        if not self.path.exists():
            return Loaded({}, {}, {})
        with self._lock:
            connection = self._connect()
            documents = {
                name: json.loads(body) for name, body in connection.execute("SELECT name, body FROM documents")
            }
            records: dict[str, list[Any]] = {}
            for collection, body in connection.execute(
                "SELECT collection, body FROM records ORDER BY collection, position"
            ):
                records.setdefault(collection, []).append(json.loads(body))
            items: dict[str, dict[str, Any]] = {}
            for collection, key, body in connection.execute(
                "SELECT collection, key, body FROM items ORDER BY collection, position"
            ):
                items.setdefault(collection, {})[key] = json.loads(body)
        return Loaded(documents, records, items)

    def load_legacy(self) -> dict[str, Any] | None:
        """The whole-state JSON document an older emulator wrote, if it is there."""
        if not self.legacy_path.exists():
            return None
        loaded: dict[str, Any] = json.loads(self.legacy_path.read_text(encoding="utf-8"))
        return loaded

    def write(self, changes: Changes) -> None:
        """Apply one flush in one transaction."""
        if not changes:
            return
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN")
            try:
                if changes.clear:
                    for table in ("documents", "records", "items"):
                        connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
                connection.executemany(
                    "INSERT OR REPLACE INTO documents (name, body) VALUES (?, ?)", changes.documents.items()
                )
                connection.executemany(
                    "INSERT OR REPLACE INTO records (collection, position, body) VALUES (?, ?, ?)", changes.records
                )
                connection.executemany(
                    "DELETE FROM records WHERE collection = ? AND position <= ?", changes.trim.items()
                )
                connection.executemany(
                    "INSERT OR REPLACE INTO items (collection, key, position, body) VALUES (?, ?, ?, ?)", changes.items
                )
                connection.executemany("DELETE FROM items WHERE collection = ? AND key = ?", changes.deleted)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def size_bytes(self) -> int:
        """The database and its write-ahead log on disk."""
        return sum(path.stat().st_size for path in self.state_dir.glob(DATABASE_FILE + "*") if path.is_file())

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class TrackedDict(dict[str, Any]):
    """A dict that remembers which keys were set or deleted since the store last saved it.

    Only assignments to the dict itself are seen; a value changed in place must be assigned again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unsaved: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.unsaved.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.unsaved.add(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.unsaved.add(key)
        return super().pop(key, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        self.unsaved.update(self)
        super().clear()

    def drain(self, collection: str) -> tuple[list[tuple[str, str, int, str]], list[tuple[str, str]]]:
        """Rows to write and rows to delete for the keys changed since the last call."""
        positions = {key: index for index, key in enumerate(self)}
        written = [(collection, key, positions[key], encode(self[key])) for key in self.unsaved if key in self]
        deleted = [(collection, key) for key in self.unsaved if key not in self]
        self.unsaved.clear()
        return written, deleted


def item_rows(collection: str, values: Iterable[tuple[str, Any]]) -> list[tuple[str, str, int, str]]:
    return [(collection, key, index, encode(value)) for index, (key, value) in enumerate(values)]
