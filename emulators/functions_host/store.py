"""SQLite task hub: instances with their history, inboxes, activity and entity work queues.

Everything one episode produces (history, status, new messages, new work, consumed messages) is written
in one transaction, so a host killed at any point restarts from a consistent state. Activity work items
are deleted only in the transaction that delivers their result: an activity that was running when the
process died runs again (at-least-once, as in Azure); a completed one never does. Messages that reach a
suspended instance wait in `held` until it is resumed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .history import HistoryEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_seq INTEGER,
    history TEXT NOT NULL,
    episodes INTEGER NOT NULL DEFAULT 0,
    replayed_events INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    visible_at TEXT,
    is_timer INTEGER NOT NULL DEFAULT 0,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox(instance_id, seq);
CREATE INDEX IF NOT EXISTS inbox_by_visible ON inbox(visible_at);
CREATE TABLE IF NOT EXISTS activities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE TABLE IF NOT EXISTS entity_ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    op TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    entity_id TEXT PRIMARY KEY,
    state TEXT,
    last_operation TEXT
);
CREATE TABLE IF NOT EXISTS held (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_by_instance ON held(instance_id, seq);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass
class InstanceRow:
    """One orchestration instance as stored (JSON columns are kept as JSON text)."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    updated_time: str
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_seq: int | None
    history: list[HistoryEvent]
    episodes: int = 0
    replayed_events: int = 0


@dataclass
class InboxMessage:
    seq: int
    instance_id: str
    execution_id: str | None
    visible_at: str | None
    is_timer: bool
    event: HistoryEvent


@dataclass
class ActivityWork:
    seq: int
    instance_id: str
    execution_id: str
    task_seq: int
    name: str
    input: str | None


@dataclass
class EntityRow:
    """One existing entity: its scheduler id (`@name@key`), state JSON and last operation time."""

    entity_id: str
    state: str | None
    last_operation: str | None


@dataclass
class EntityOp:
    seq: int
    entity_id: str
    op: dict[str, Any]


_LIST_WITH_HISTORY = (
    "SELECT instance_id, name, execution_id, status, input, output, custom_status, created_time, updated_time, "
    "parent_instance_id, parent_execution_id, parent_seq, history, episodes, replayed_events "
    "FROM instances ORDER BY instance_id"
)
_LIST_WITHOUT_HISTORY = _LIST_WITH_HISTORY.replace(" history,", " '[]',")


def _instance(row: tuple[Any, ...]) -> InstanceRow:
    values = list(row)
    values[12] = json.loads(values[12])
    return InstanceRow(*values)


class TaskHubStore:
    """Thread-safe access to the task hub database (one connection, serialised by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._depth = 0

    def _migrate(self) -> None:
        """Bring a task hub written by an older host up to this schema (columns added since)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(entities)").fetchall()}
        if "last_operation" not in columns:
            self._db.execute("ALTER TABLE entities ADD COLUMN last_operation TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nested use joins the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # ---- instances ----------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT instance_id, name, execution_id, status, input, output, custom_status, created_time, "
                "updated_time, parent_instance_id, parent_execution_id, parent_seq, history, episodes, "
                "replayed_events FROM instances WHERE instance_id = ?",
                (instance_id,),
            ).fetchone()
        return _instance(row) if row else None

    def list_instances(self, *, with_history: bool = True) -> list[InstanceRow]:
        """Every instance, in instance id order (the order Azure Storage's Instances table returns them)."""
        with self._lock:
            rows = self._db.execute(_LIST_WITH_HISTORY if with_history else _LIST_WITHOUT_HISTORY).fetchall()
        return [_instance(row) for row in rows]

    def save_instance(self, row: InstanceRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO instances (instance_id, name, execution_id, status, input, output, "
                "custom_status, created_time, updated_time, parent_instance_id, parent_execution_id, "
                "parent_seq, history, episodes, replayed_events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.instance_id,
                    row.name,
                    row.execution_id,
                    row.status,
                    row.input,
                    row.output,
                    row.custom_status,
                    row.created_time,
                    row.updated_time,
                    row.parent_instance_id,
                    row.parent_execution_id,
                    row.parent_seq,
                    json.dumps(row.history),
                    row.episodes,
                    row.replayed_events,
                ),
            )

    def delete_instance(self, instance_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM held WHERE instance_id = ?", (instance_id,))

    # ---- inbox ----------------------------------------------------------------------------------------
    def post(
        self,
        instance_id: str,
        event: HistoryEvent,
        *,
        execution_id: str | None = None,
        visible_at: str | None = None,
        is_timer: bool = False,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO inbox (instance_id, execution_id, visible_at, is_timer, event) VALUES (?,?,?,?,?)",
                (instance_id, execution_id, visible_at, int(is_timer), json.dumps(event)),
            )

    def ready_instances(self, now: str, timers_enabled: bool, limit: int = 64) -> list[str]:
        """Instances with at least one deliverable message, oldest message first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT instance_id, MIN(seq) AS first FROM inbox "
                "WHERE (visible_at IS NULL OR visible_at <= ?) AND (? OR is_timer = 0) "
                "GROUP BY instance_id ORDER BY first LIMIT ?",
                (now, int(timers_enabled), limit),
            ).fetchall()
        return [row[0] for row in rows]

    def messages_for(self, instance_id: str, now: str, timers_enabled: bool) -> list[InboxMessage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, instance_id, execution_id, visible_at, is_timer, event FROM inbox "
                "WHERE instance_id = ? AND (visible_at IS NULL OR visible_at <= ?) AND (? OR is_timer = 0) "
                "ORDER BY seq",
                (instance_id, now, int(timers_enabled)),
            ).fetchall()
        return [InboxMessage(r[0], r[1], r[2], r[3], bool(r[4]), json.loads(r[5])) for r in rows]

    def delete_messages(self, seqs: list[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM inbox WHERE seq = ?", [(seq,) for seq in seqs])

    def held_events(self, instance_id: str) -> list[HistoryEvent]:
        """Events that reached the instance while it was suspended, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM held WHERE instance_id = ? ORDER BY seq", (instance_id,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def replace_held(self, instance_id: str, events: list[HistoryEvent]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM held WHERE instance_id = ?", (instance_id,))
            db.executemany(
                "INSERT INTO held (instance_id, event) VALUES (?, ?)",
                [(instance_id, json.dumps(event)) for event in events],
            )

    def next_timer_due(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(visible_at) FROM inbox WHERE visible_at IS NOT NULL").fetchone()
        return row[0] if row else None

    # ---- activities -----------------------------------------------------------------------------------
    def add_activity(self, instance_id: str, execution_id: str, task_seq: int, name: str, input_: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO activities (instance_id, execution_id, task_seq, name, input) VALUES (?,?,?,?,?)",
                (instance_id, execution_id, task_seq, name, input_),
            )

    def pending_activities(self, after_seq: int, limit: int) -> list[ActivityWork]:
        """Queued activity work not yet handed to the pool (work is dispatched in queue order)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, instance_id, execution_id, task_seq, name, input FROM activities "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [ActivityWork(*row) for row in rows]

    def delete_activity(self, seq: int) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM activities WHERE seq = ?", (seq,)).rowcount > 0

    def count_activities(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM activities").fetchone()[0])

    # ---- entities -------------------------------------------------------------------------------------
    def add_entity_op(self, entity_id: str, op: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO entity_ops (entity_id, op) VALUES (?, ?)", (entity_id, json.dumps(op)))

    def next_entity_op(self) -> EntityOp | None:
        with self._lock:
            row = self._db.execute("SELECT seq, entity_id, op FROM entity_ops ORDER BY seq LIMIT 1").fetchone()
        return EntityOp(row[0], row[1], json.loads(row[2])) if row else None

    def delete_entity_op(self, seq: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM entity_ops WHERE seq = ?", (seq,))

    def entity_state(self, entity_id: str) -> str | None:
        """The entity's state as JSON text, or None when the entity does not exist."""
        with self._lock:
            row = self._db.execute("SELECT state FROM entities WHERE entity_id = ?", (entity_id,)).fetchone()
        return row[0] if row else None

    def entity_exists(self, entity_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM entities WHERE entity_id = ?", (entity_id,)).fetchone()
        return row is not None

    def put_entity_state(self, entity_id: str, exists: bool, state: str | None, when: str | None = None) -> None:
        with self.transaction() as db:
            if exists:
                db.execute(
                    "INSERT OR REPLACE INTO entities (entity_id, state, last_operation) VALUES (?, ?, ?)",
                    (entity_id, state, when),
                )
            else:
                db.execute("DELETE FROM entities WHERE entity_id = ?", (entity_id,))

    def list_entities(self) -> list[EntityRow]:
        """Every existing entity, in scheduler id order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT entity_id, state, last_operation FROM entities ORDER BY entity_id"
            ).fetchall()
        return [EntityRow(*row) for row in rows]

    # ---- meta -----------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
