"""The emulated HR systems' state: employees, credentials, webhook subscriptions, faults and what happened.

One `VendorState` per HR system, guarded by one lock. Employees are kept in a neutral shape (see `EMPLOYEE_KEYS`)
and each vendor module renders them as that vendor's API and webhooks do. Everything the product did to an HR
system (fetches, list calls, writebacks) and every webhook delivery attempt is recorded for the tests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

EMPLOYEE_KEYS = frozenset(
    {
        "id",
        "employeeNumber",
        "firstName",
        "lastName",
        "preferredName",
        "middleName",
        "jobTitle",
        "department",
        "division",
        "location",
        "city",
        "postalCode",
        "country",
        "workPhone",
        "mobilePhone",
        "homeEmail",
        "workEmail",
        "hireDate",
        "originalHireDate",
        "terminationDate",
        "supervisorId",
        "upn",
    }
)
"""The neutral employee the control API takes; `supervisorId` is the manager's vendor id."""


class ControlError(ValueError):
    """A control API request the emulator cannot apply (answered 400)."""


@dataclass
class ApiFault:
    """Answer the next `count` API calls with `status` (and Retry-After when given)."""

    status: int
    count: int = 1
    retry_after: float | None = None
    operation: str | None = None
    """Only calls of this operation (fetch, list, writeback, token); None = any call."""
    after: int = 0
    """Matching calls answered normally before the fault starts: `after: 2` on `list` fails the third page, a
    failure in the middle of a paged read."""


@dataclass
class VendorState:
    name: str
    employees: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)
    company_id: str = "100200"
    webhook_target: str | None = None
    webhook_secret: str | None = None
    api_faults: list[ApiFault] = field(default_factory=list)
    slow_seconds: float = 0.0
    lose_webhooks: int = 0
    duplicate_webhooks: int = 0
    retry_scale: float = 0.001
    """Vendor retry delays (minutes to days) are multiplied by this so tests see retries in seconds."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    writebacks: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def view(self) -> dict[str, Any]:
        return {
            "employees": list(self.employees.values()),
            "calls": list(self.calls),
            "writebacks": list(self.writebacks),
            "deliveries": list(self.deliveries),
            "webhookTarget": self.webhook_target,
        }

    def next_fault(self, operation: str) -> ApiFault | None:
        self.api_faults = [fault for fault in self.api_faults if fault.count > 0]
        for fault in self.api_faults:
            if fault.operation in (None, operation):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.count -= 1
                return fault
        return None


class HrisState:
    """All emulated HR systems."""

    def __init__(self, vendors: tuple[str, ...]) -> None:
        self.lock = threading.RLock()
        self._names = vendors
        self.vendors: dict[str, VendorState] = {}
        self.generation = 0
        """Bumped by reset: webhooks (and their retries) queued before it are dropped."""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.vendors = {name: VendorState(name) for name in self._names}
            self.generation += 1

    def vendor(self, name: str) -> VendorState:
        try:
            return self.vendors[name]
        except KeyError:
            raise ControlError(f"unknown HR system {name!r}") from None


def neutral_employee(employee_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a control API employee body; unknown keys are refused so a typo does not go unnoticed."""
    unknown = sorted(set(body) - EMPLOYEE_KEYS)
    if unknown:
        raise ControlError(f"unknown employee field(s): {', '.join(unknown)}")
    return {**body, "id": employee_id}
