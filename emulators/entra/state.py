"""Everything the emulator remembers, behind one lock, persisted row by row in the state dir.

The HTTP handlers and the pipeline worker thread share this object. Writes mark it dirty; the worker flushes
what changed to the SQLite store (:mod:`emulators.entra.store`) at most a few times a second (and once more on
stop), so a demo can restart the emulator and find its directory, logs and outbox where it left them. A flush
writes only the rows that changed since the previous one, so its cost does not grow with the state.
"""

from __future__ import annotations

import copy
import secrets
import threading
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from emulators.entra.config import default_config, merge_config, upgrade_persisted
from emulators.entra.directory import ChangeLog, UserDirectory
from emulators.entra.log_queries import LogIndex
from emulators.entra.memberships import Memberships
from emulators.entra.store import Changes, StateStore, TrackedDict, encode

MAX_CALLS_KEPT = 50_000
#: Append-only lists: collection name in the store -> attribute.
_APPENDED = {"calls": "calls", "outbox": "outbox", "provisioningLogs": "logs", "bulkRequests": "bulk_requests"}
#: Keyed maps persisted row by row: collection name in the store -> attribute (a TrackedDict).
_KEYED = {
    "temporaryAccessPasses": "taps",
    "syncJoins": "sync_joins",
    "pendingSync": "pending_sync",
    "entraRemoved": "entra_removed",
}


class EmulatorState:
    """The emulator's memory: directories, staged requests, logs, outbox, secrets, config."""

    def __init__(self, state_dir: Path, base_config: dict[str, Any] | None = None) -> None:
        self.state_dir = state_dir
        self.lock = threading.RLock()
        self.base_config = merge_config(default_config(), base_config or {})
        self.signing_key = secrets.token_hex(32)
        self.client_secret = secrets.token_urlsafe(30)
        self.identity_header = secrets.token_hex(16)
        self.store = StateStore(state_dir)
        self._dirty = False
        self._sequence = 0
        self._clear()
        self._load()

    def _clear(self) -> None:
        self.config: dict[str, Any] = copy.deepcopy(self.base_config)
        #: Identifies this incarnation of the directory: delta tokens from before a reset are not honoured.
        self.epoch = uuid.uuid4().hex
        self.ad = UserDirectory()
        self.entra_changes = ChangeLog()
        self.entra = UserDirectory(self.entra_changes)
        #: Groups, directory role assignments and PIM eligibilities (emulators/entra/memberships.py).
        self.memberships = Memberships()
        self.outbox: list[dict[str, Any]] = []
        self.bulk_requests: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        #: Where each record's and job's entries are in ``logs`` (rebuilt as entries are appended or loaded).
        self.log_index = LogIndex()
        self.taps: TrackedDict = TrackedDict()
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS_KEPT)
        #: Calls recorded since the state was created (the deque keeps the last MAX_CALLS_KEPT).
        self.calls_total = 0
        self.secrets: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        #: AD object id -> when Entra Connect sync will next export it.
        self.pending_sync: TrackedDict = TrackedDict()
        #: Connect sync: the highest uSNChanged exported so far, and AD object id -> Entra object id (its joins).
        self.sync_usn = 0
        self.sync_joins: TrackedDict = TrackedDict()
        #: Deleted Entra users (tombstones for delta queries), by id; the same dict as the change log's.
        self.entra_removed: TrackedDict = TrackedDict()
        self.entra_changes.removed = self.entra_removed
        #: Users created without their manager: {"adId", "managerEmployeeId", "changeId", ...}.
        self.pending_references: list[dict[str, Any]] = []
        self.bulk_call_times: deque[float] = deque()
        self.daily_call_times: deque[float] = deque()
        #: Pipeline worker cycles since start/reset, so tests can wait for "the worker ran" with a deadline.
        self.worker_ticks = 0
        self.token_failures_left = 0
        self.key_vault_failures_left = 0
        # What the store holds: rows of the appended lists, bulk request statuses, and document texts.
        self._saved_counts = dict.fromkeys(_APPENDED, 0)
        self._saved_statuses: list[str] = []
        self._saved_documents: dict[str, str] = {}
        self._cleared = True

    # -- identity ---------------------------------------------------------------------------
    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def mark_dirty(self) -> None:
        self._dirty = True

    def record_call(self, call: dict[str, Any]) -> None:
        """Remember one request for ``/_emulator/state`` (callers hold the lock)."""
        self.calls.append(call)
        self.calls_total += 1
        self._dirty = True

    def reset(self) -> None:
        """Forget everything except the credentials and CA (clients keep working)."""
        with self.lock:
            self._clear()
            self._dirty = True

    # -- persistence ------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.store.path

    def _documents(self) -> dict[str, Any]:
        return {
            "identity": {
                "version": 2,
                "signingKey": self.signing_key,
                "clientSecret": self.client_secret,
                "identityHeader": self.identity_header,
                "epoch": self.epoch,
            },
            "sequence": {"users": self._sequence, "entraChanges": self.entra_changes.sequence},
            "config": self.config,
            "secrets": self.secrets,
            "jobs": self.jobs,
            "syncUsn": self.sync_usn,
            "pendingReferences": self.pending_references,
            "bulkCallTimes": list(self.daily_call_times),
            "memberships": self.memberships.dump(),
            "callsTotal": self.calls_total,
        }

    def _changes(self) -> Changes:
        """What changed since the last flush, as rows (call with the lock held)."""
        changes = Changes(clear=self._cleared)
        if self._cleared:
            self.ad.mark_all_unsaved()
            self.entra.mark_all_unsaved()
            for attribute in _KEYED.values():
                getattr(self, attribute).unsaved.update(getattr(self, attribute))
            self._saved_counts = dict.fromkeys(_APPENDED, 0)
            self._saved_statuses = []
            self._saved_documents = {}
            self._cleared = False
        for name, value in self._documents().items():
            text = encode(value)
            if self._saved_documents.get(name) != text:
                changes.documents[name] = text
                self._saved_documents[name] = text
        self._append_rows(changes)
        for collection, directory in (("adUsers", self.ad), ("entraUsers", self.entra)):
            written, removed = directory.drain()
            changes.items += [(collection, user["id"], int(user.get("_seq", 0)), encode(user)) for user in written]
            changes.deleted += [(collection, object_id) for object_id in removed]
        for collection, attribute in _KEYED.items():
            written_items, deleted_items = getattr(self, attribute).drain(collection)
            changes.items += written_items
            changes.deleted += deleted_items
        return changes

    def _append_rows(self, changes: Changes) -> None:
        """New entries of the append-only lists, and bulk requests whose status moved on."""
        for collection in ("outbox", "provisioningLogs", "bulkRequests"):
            entries: list[dict[str, Any]] = getattr(self, _APPENDED[collection])
            saved = self._saved_counts[collection]
            changes.records += [(collection, index, encode(entries[index])) for index in range(saved, len(entries))]
            self._saved_counts[collection] = len(entries)
        for index, status in enumerate(self._saved_statuses):
            if self.bulk_requests[index]["status"] != status:
                changes.records.append(("bulkRequests", index, encode(self.bulk_requests[index])))
        self._saved_statuses = [request["status"] for request in self.bulk_requests]
        # The call log: calls_total counts every call ever recorded; the deque holds the newest ones.
        saved = self._saved_counts["calls"]
        first_kept = self.calls_total - len(self.calls)
        start = max(saved, first_kept)
        changes.records += [
            ("calls", position, encode(self.calls[position - first_kept]))
            for position in range(start, self.calls_total)
        ]
        self._saved_counts["calls"] = self.calls_total
        if first_kept > 0:
            changes.trim["calls"] = first_kept - 1

    def flush(self, force: bool = False) -> None:
        """Write what changed since the last flush (one transaction)."""
        with self.lock:
            if not (self._dirty or force or self._cleared):
                return
            changes = self._changes()
            self._dirty = False
        self.store.write(changes)

    def size_bytes(self) -> int:
        """How much disk the persisted state takes."""
        return self.store.size_bytes()

    def _load(self) -> None:
        loaded = self.store.load()
        if not loaded.empty:
            self._apply_loaded(loaded.documents, loaded.records, loaded.items)
            self._cleared = False
            self._saved_documents = {name: encode(value) for name, value in loaded.documents.items()}
            self._saved_counts = {name: len(loaded.records.get(name, [])) for name in _APPENDED}
            self._saved_counts["calls"] = self.calls_total
            self._saved_statuses = [request["status"] for request in self.bulk_requests]
            return
        legacy = self.store.load_legacy()
        if legacy is not None:
            self._apply_legacy(legacy)
            self._dirty = True  # written to the database by the first flush (self._cleared is still set)

    def _apply_loaded(
        self, documents: dict[str, Any], records: dict[str, list[Any]], items: dict[str, dict[str, Any]]
    ) -> None:
        identity = documents.get("identity", {})
        self.signing_key = identity.get("signingKey", self.signing_key)
        self.client_secret = identity.get("clientSecret", self.client_secret)
        self.identity_header = identity.get("identityHeader", self.identity_header)
        self.epoch = identity.get("epoch", self.epoch)
        sequences = documents.get("sequence", {})
        self._sequence = int(sequences.get("users", 0))
        self.config = merge_config(default_config(), upgrade_persisted(documents.get("config", {})))
        self.secrets = documents.get("secrets", {})
        self.jobs = documents.get("jobs", {})
        self.sync_usn = int(documents.get("syncUsn", 0))
        self.pending_references = documents.get("pendingReferences", [])
        self.daily_call_times.extend(documents.get("bulkCallTimes", []))
        self.memberships.load(documents.get("memberships", {}))
        self.outbox = records.get("outbox", [])
        self.logs = records.get("provisioningLogs", [])
        self.bulk_requests = records.get("bulkRequests", [])
        self.calls.extend(records.get("calls", []))
        self.calls_total = int(documents.get("callsTotal", len(self.calls)))
        self.ad.load(items.get("adUsers", {}).values())
        self.entra.load(items.get("entraUsers", {}).values())
        for collection, attribute in _KEYED.items():
            target: TrackedDict = getattr(self, attribute)
            dict.update(target, items.get(collection, {}))
        self.entra_changes.rebuild(self.entra, self.entra_removed, int(sequences.get("entraChanges", 0)))

    def _apply_legacy(self, data: dict[str, Any]) -> None:
        """A ``state.json`` from before the SQLite store (one JSON document with every collection)."""
        self.signing_key = data["signingKey"]
        self.client_secret = data["clientSecret"]
        self.identity_header = data["identityHeader"]
        self._sequence = data.get("sequence", 0)
        self.config = merge_config(default_config(), upgrade_persisted(data.get("config", {})))
        self.ad.load(data.get("adUsers", []))
        self.entra.load(data.get("entraUsers", []))
        self.outbox = data.get("outbox", [])
        self.bulk_requests = data.get("bulkRequests", [])
        self.logs = data.get("provisioningLogs", [])
        dict.update(self.taps, data.get("temporaryAccessPasses", {}))
        self.calls.extend(data.get("calls", []))
        self.calls_total = len(self.calls)
        self.secrets = data.get("secrets", {})
        self.jobs = data.get("jobs", {})
        dict.update(self.pending_sync, data.get("pendingSync", {}))
        self.sync_usn = int(data.get("syncUsn", 0))
        dict.update(self.sync_joins, data.get("syncJoins", {}))
        self.pending_references = data.get("pendingReferences", [])
        self.daily_call_times.extend(data.get("bulkCallTimes", []))
        self.memberships.load(data.get("memberships", {}))
