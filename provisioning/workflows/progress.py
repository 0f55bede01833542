"""Custom status and structured logs for one orchestration: what IT sees in the portal and in App Insights.

Custom status is replayed like everything else in an orchestrator, so it only ever carries values that are
already in the history (stage, ids, the UPN once chosen). It never carries a secret or personal data beyond the
UPN that the status shows (docs/design.md, "Stages and status").
"""

from __future__ import annotations

import logging
from typing import Any

from provisioning.telemetry import log_event

logger = logging.getLogger("provisioning.workflow")


class Progress:
    """Reports the stage of one HR event orchestration, once per change, with the time the stage began."""

    def __init__(self, context: Any, event: dict[str, Any]) -> None:
        self._context = context
        self._event_id = str(event.get("eventId", ""))
        self._event_type = str(event.get("type", ""))
        self._employee_id = str((event.get("employee") or {}).get("employeeId", ""))
        self.stage = "accepted"
        self.user_principal_name: str | None = None
        self.attempt = 1
        self.detail: str | None = None
        self.time_zone: dict[str, str] | None = None
        """The zone the run schedules in and where it came from (`{"name","source","from"?}`)."""

    @property
    def event_type(self) -> str:
        return self._event_type

    def retype(self, event_type: str) -> None:
        """Record that the event runs as another type (a hire for an existing account runs as an update)."""
        self._event_type = event_type

    def enter(
        self,
        stage: str,
        *,
        detail: str | None = None,
        user_principal_name: str | None = None,
        error_code: str | None = None,
        hold: int | None = None,
    ) -> None:
        """Move to `stage` and publish it as custom status; `error_code` (stage `failed`) feeds the workbook's
        failures-by-code view; `hold` numbers the holds of one run (stage `held`), so approve and rescind reach
        the hold that is waiting (see contracts.approve_event)."""
        self.stage = stage
        self.detail = detail
        if user_principal_name:
            self.user_principal_name = user_principal_name
        status: dict[str, Any] = {
            "stage": stage,
            "eventType": self._event_type,
            "employeeId": self._employee_id,
            "attempt": self.attempt,
            "since": self._context.current_utc_datetime.isoformat(),
        }
        if self.user_principal_name:
            status["userPrincipalName"] = self.user_principal_name
        if self.time_zone:
            status["timeZone"] = self.time_zone
        if detail:
            status["detail"] = detail
        if hold is not None:
            status["hold"] = hold
        self._context.set_custom_status(status)
        if not self._context.is_replaying:
            log_event(
                logger,
                "stage",
                instance_id=self._context.instance_id,
                event_id=self._event_id,
                employee_id=self._employee_id,
                event_type=self._event_type,
                stage=stage,
                attempt=self.attempt,
                error_code=error_code,
            )
