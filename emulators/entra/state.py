"""Everything the emulator remembers, behind one lock, persisted as JSON in the state dir.

The HTTP handlers and the pipeline worker thread share this object. Writes mark it dirty; the
worker flushes it to disk at most a few times a second (and once more on stop), so a demo can
restart the emulator and find its directory, logs and outbox where it left them.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
from collections import deque
from pathlib import Path
from typing import Any

from emulators.entra.config import default_config, merge_config, upgrade_persisted
from emulators.entra.directory import UserDirectory
from emulators.entra.memberships import Memberships

STATE_FILE = "state.json"
MAX_CALLS_KEPT = 50_000


class EmulatorState:
    """The emulator's memory: directories, staged requests, logs, outbox, secrets, config."""

    def __init__(self, state_dir: Path, base_config: dict[str, Any] | None = None) -> None:
        self.state_dir = state_dir
        self.lock = threading.RLock()
        self.base_config = merge_config(default_config(), base_config or {})
        self.signing_key = secrets.token_hex(32)
        self.client_secret = secrets.token_urlsafe(30)
        self.identity_header = secrets.token_hex(16)
        self._dirty = False
        self._sequence = 0
        self._clear()
        self._load()

    def _clear(self) -> None:
        self.config: dict[str, Any] = copy.deepcopy(self.base_config)
        self.ad = UserDirectory()
        self.entra = UserDirectory()
        #: Groups, directory role assignments and PIM eligibilities (emulators/entra/memberships.py).
        self.memberships = Memberships()
        self.outbox: list[dict[str, Any]] = []
        self.bulk_requests: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.taps: dict[str, dict[str, Any]] = {}
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS_KEPT)
        self.secrets: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        #: AD object id -> when Entra Connect sync will next export it.
        self.pending_sync: dict[str, float] = {}
        #: Connect sync: the highest uSNChanged exported so far, and AD object id -> Entra object id (its joins).
        self.sync_usn = 0
        self.sync_joins: dict[str, str] = {}
        #: Users created without their manager: {"adId", "managerEmployeeId", "changeId", ...}.
        self.pending_references: list[dict[str, Any]] = []
        self.bulk_call_times: deque[float] = deque()
        self.daily_call_times: deque[float] = deque()
        #: Pipeline worker cycles since start/reset, so tests can wait for "the worker ran" with a deadline.
        self.worker_ticks = 0
        self.token_failures_left = 0
        self.key_vault_failures_left = 0

    # -- identity ---------------------------------------------------------------------------
    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def mark_dirty(self) -> None:
        self._dirty = True

    def reset(self) -> None:
        """Forget everything except the credentials and CA (clients keep working)."""
        with self.lock:
            self._clear()
            self._dirty = True

    # -- persistence ------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.state_dir / STATE_FILE

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "signingKey": self.signing_key,
            "clientSecret": self.client_secret,
            "identityHeader": self.identity_header,
            "sequence": self._sequence,
            "config": self.config,
            "adUsers": self.ad.dump(),
            "entraUsers": self.entra.dump(),
            "outbox": self.outbox,
            "bulkRequests": self.bulk_requests,
            "provisioningLogs": self.logs,
            "temporaryAccessPasses": self.taps,
            "calls": list(self.calls),
            "secrets": self.secrets,
            "jobs": self.jobs,
            "pendingSync": self.pending_sync,
            "syncUsn": self.sync_usn,
            "syncJoins": self.sync_joins,
            "pendingReferences": self.pending_references,
            "bulkCallTimes": list(self.daily_call_times),
            "memberships": self.memberships.dump(),
        }

    def flush(self, force: bool = False) -> None:
        """Write the state file if anything changed (atomically, via a temp file)."""
        with self.lock:
            if not (self._dirty or force):
                return
            text = json.dumps(self.snapshot(), separators=(",", ":"))
            self._dirty = False
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, self.path)

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
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
        self.taps = data.get("temporaryAccessPasses", {})
        self.calls.extend(data.get("calls", []))
        self.secrets = data.get("secrets", {})
        self.jobs = data.get("jobs", {})
        self.pending_sync = data.get("pendingSync", {})
        self.sync_usn = int(data.get("syncUsn", 0))
        self.sync_joins = data.get("syncJoins", {})
        self.pending_references = data.get("pendingReferences", [])
        self.daily_call_times.extend(data.get("bulkCallTimes", []))
        self.memberships.load(data.get("memberships", {}))
