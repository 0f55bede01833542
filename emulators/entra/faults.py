"""Fault injection: random Graph 429/503 (seedable), token endpoint and Key Vault outages.

Counted faults (``tokenFailures: 3``) are consumed one request at a time; boolean faults stay
on until reconfigured; ``...FailUntil`` faults (epoch seconds or ISO time) end by themselves.
"""

from __future__ import annotations

import random
from typing import Any

from emulators.entra.state import EmulatorState
from emulators.entra.timeutil import now, to_epoch


class FaultInjector:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._random = random.Random()
        self.reseed(state.config["faults"].get("seed"))

    def reseed(self, seed: Any) -> None:
        self._random = random.Random(seed)

    def on_config_change(self, partial_faults: dict[str, Any]) -> None:
        """Arm counters and reseed when a config update touches them."""
        if "seed" in partial_faults or "rate429" in partial_faults or "rate503" in partial_faults:
            self.reseed(self._state.config["faults"].get("seed"))
        count = partial_faults.get("tokenFailures")
        if isinstance(count, int) and not isinstance(count, bool):
            self._state.token_failures_left = count
        count = partial_faults.get("keyVaultFailures")
        if isinstance(count, int) and not isinstance(count, bool):
            self._state.key_vault_failures_left = count

    def graph_fault(self) -> int | None:
        """429 or 503 for this Graph request, drawn from the configured rates."""
        faults = self._state.config["faults"]
        rate429 = float(faults.get("rate429") or 0.0)
        rate503 = float(faults.get("rate503") or 0.0)
        if rate429 <= 0 and rate503 <= 0:
            return None
        draw = self._random.random()
        if draw < rate429:
            return 429
        if draw < rate429 + rate503:
            return 503
        return None

    def token_fault(self) -> int | None:
        """Status the token and managed identity endpoints answer with, or None when healthy."""
        faults = self._state.config["faults"]
        status = int(faults.get("tokenFailureStatus") or 503)
        if faults.get("tokenFailures") is True:
            return status
        until = to_epoch(faults.get("tokenFailUntil"))
        if until is not None and now() < until:
            return status
        if self._state.token_failures_left > 0:
            self._state.token_failures_left -= 1
            return status
        return None

    def bulk_upload_fault(self) -> bool:
        return bool(self._state.config["faults"].get("bulkUpload503"))

    def key_vault_fault(self) -> bool:
        faults = self._state.config["faults"]
        if faults.get("keyVault503"):
            return True
        until = to_epoch(faults.get("keyVaultFailUntil"))
        if until is not None and now() < until:
            return True
        if self._state.key_vault_failures_left > 0:
            self._state.key_vault_failures_left -= 1
            return True
        return False
