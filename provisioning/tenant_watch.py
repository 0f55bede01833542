"""One round of the sync watch: read the tenant once for every waiting event, and say what concerns whom.

Two questions are asked, each once per round whatever the number of waiting events:

- **Provisioning logs**: ``GET /auditLogs/provisioning`` for the job with ``activityDateTime gt <since>``, in
  pages of 1,000 (the documented operators only: ``jobId eq`` and ``activityDateTime gt``). Entries become visible
  minutes after the activity and not necessarily in order ("5-10 minutes" per Microsoft's troubleshooting page),
  so ``since`` trails the newest entry seen by LOG_OVERLAP; entries seen again are recognised by their id.
- **Directory changes**: ``GET /users/delta`` with ``$select`` on what a waiting event needs (the account summary),
  following the delta link of the previous round. Delta query is what Graph documents for "discover newly
  created, updated, or deleted entities without performing a full read" and what its throttling guidance
  recommends instead of polling; its cost follows the directory's changes, not the number of waiting events.
  A ``$filter`` on ``employeeId`` would cost one request per 15 waiting events (``in`` takes 15 values) every
  round, and users/delta cannot filter on ``employeeId`` at all (only ``id``).

Events registered before the watcher held its link, and all waiting events after a link expired (410), get one
direct look: ``employeeId in (...)`` (advanced query, 15 ids each) in JSON batches of 20.

I/O through an injected GraphClient; what it returns is JSON-ready and carries no secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Final

from provisioning.directory import ACCOUNT_SUMMARY, summarize_log, summary
from provisioning.graph import MAX_IN_VALUES, BatchRequest, DeltaExpired, GraphClient, filter_in, users_query
from provisioning.schedule import ENTRA_CLOCK_SKEW

__all__ = ["LOG_OVERLAP", "WATCH_SELECT", "RoundResult", "watch_round"]

LOG_OVERLAP: Final = timedelta(minutes=10)
"""How far behind the newest entry seen each log query starts again (the documented 5-10 minute latency)."""
WATCH_SELECT: Final = ACCOUNT_SUMMARY
"""What the directory change link tracks: the account summary a waiting event settles with."""
LOG_PAGE: Final = 1000
_FINAL_LOG_STATUSES: Final = frozenset({"success", "skipped", "failure"})


@dataclass
class RoundResult:
    """What one round found: notices by instance, what to remember per instance, and the watcher's next state."""

    notices: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    delta_link: str | None = None
    log_since: datetime | None = None
    graph_requests: int = 0


def _needs_log(registration: dict[str, Any]) -> bool:
    return bool(registration.get("submittedAt")) and not registration.get("logFinal")


def _needs_user(registration: dict[str, Any]) -> bool:
    return bool(registration.get("expectUser")) and not registration.get("userSent")


def watch_round(
    graph: GraphClient,
    *,
    job_id: str,
    waiting: dict[str, dict[str, Any]],
    delta_link: str | None,
    log_since: datetime,
    look_directly: bool = False,
) -> RoundResult:
    """Ask the tenant once; return what each waiting event should be told.

    `look_directly` (a watcher's first round): the change link was taken when this watcher started, so accounts
    created before then for events that were already waiting (registered with a watcher that was replaced) are
    not among its changes; every event still waiting for its account gets one direct look.
    """
    result = RoundResult(delta_link=delta_link, log_since=log_since)
    logs: dict[str, dict[str, Any]] = {}
    if any(_needs_log(registration) for registration in waiting.values()):
        entries = graph.provisioning_logs(job_id=job_id, source_id=None, since=log_since, top=LOG_PAGE)
        result.graph_requests += max(1, -(-len(entries) // LOG_PAGE))
        logs = _logs_by_instance(waiting, entries)
        moments = [moment for entry in entries if (moment := _instant(entry.get("activityDateTime"))) is not None]
        newest = max(moments, default=None)
        if newest is not None:
            result.log_since = max(log_since, newest - LOG_OVERLAP)
    users: dict[str, dict[str, Any]] = {}
    direct = [
        iid
        for iid, registration in waiting.items()
        if _needs_user(registration) and (look_directly or registration.get("direct"))
    ]
    if any(_needs_user(registration) for registration in waiting.values()):
        try:
            if result.delta_link is None:
                raise DeltaExpired(0, "NoDeltaLink", "the watcher holds no change link yet")
            changes = graph.user_changes(result.delta_link)
            result.graph_requests += changes.pages
            result.delta_link = changes.delta_link
            users = _users_by_instance(waiting, changes.users)
        except DeltaExpired:
            # Changes since the old link may be lost: take a new link, then look directly for everyone waiting.
            result.delta_link = graph.latest_user_changes_link(WATCH_SELECT)
            result.graph_requests += 1
            direct = [iid for iid, registration in waiting.items() if _needs_user(registration)]
    if direct:
        found, requests = _direct_look(graph, {iid: waiting[iid] for iid in direct})
        result.graph_requests += requests
        users = {**found, **users}
        for iid in direct:
            result.delivered.setdefault(iid, {})["checked"] = True
    for iid, registration in waiting.items():
        log = logs.get(iid)
        user = users.get(iid)
        if log is None and user is None:
            continue
        notice: dict[str, Any] = {"log": log, "user": summary(user) if user else None}
        notice["expectUser"] = bool(registration.get("expectUser"))
        if user and user.get("onPremisesSyncEnabled") is not True:
            notice["syncWarning"] = (
                "the Entra account appeared without onPremisesSyncEnabled; it may not be the account the "
                "provisioning agent created in Active Directory"
            )
        result.notices[iid] = (str(registration["notice"]), notice)
        update = result.delivered.setdefault(iid, {})
        update["notice"] = registration["notice"]
        if log is not None:
            update["logId"] = log.get("id")
            update["logFinal"] = log.get("status") in _FINAL_LOG_STATUSES
        if user is not None:
            update["user"] = True
    return result


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _logs_by_instance(waiting: dict[str, dict[str, Any]], entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each waiting event's newest verdict among the entries, if it is one it has not been told yet."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        source = (entry.get("sourceIdentity") or {}).get("id")
        if isinstance(source, str):
            by_source.setdefault(source, []).append(entry)
    found: dict[str, dict[str, Any]] = {}
    for iid, registration in waiting.items():
        if not _needs_log(registration):
            continue
        earliest = _instant(registration["submittedAt"])
        assert earliest is not None
        own = [
            entry
            for entry in by_source.get(str(registration["employeeId"]), [])
            if (_instant(entry.get("activityDateTime")) or earliest) >= earliest - ENTRA_CLOCK_SKEW
        ]
        verdict = summarize_log(own, registration.get("ignoreLogIds") or ())
        if verdict is not None and verdict.get("id") not in (registration.get("logIds") or []):
            found[iid] = verdict
    return found


def _users_by_instance(
    waiting: dict[str, dict[str, Any]], users: Iterable[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The account each event waits for, among the users seen: its employeeId, enabled when the event needs it."""
    by_employee: dict[str, list[dict[str, Any]]] = {}
    for user in users:
        employee = user.get("employeeId")
        if isinstance(employee, str):
            by_employee.setdefault(employee.casefold(), []).append(user)
    found: dict[str, dict[str, Any]] = {}
    for iid, registration in waiting.items():
        if not _needs_user(registration):
            continue
        for user in by_employee.get(str(registration["employeeId"]).casefold(), []):
            if registration.get("requireEnabled") and not user.get("accountEnabled", False):
                continue
            found[iid] = user
            break
    return found


def _direct_look(graph: GraphClient, waiting: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], int]:
    """``employeeId in (...)`` for events the change link may not cover; advanced query (``in`` needs it)."""
    employees = sorted({str(registration["employeeId"]) for registration in waiting.values()})
    requests: list[BatchRequest] = []
    iterator = iter(employees)
    while chunk := list(islice(iterator, MAX_IN_VALUES)):
        path, headers = users_query(
            filter_in("employeeId", chunk), select=WATCH_SELECT, advanced=True, top=len(chunk) * 4
        )
        requests.append(BatchRequest(str(len(requests)), path, headers=headers))
    answers = graph.batch(requests)
    users: list[dict[str, Any]] = []
    for answer in answers.values():
        if not answer.ok:
            raise answer.error()
        users.extend(user for user in (answer.body or {}).get("value", []) if isinstance(user, dict))
    return _users_by_instance(waiting, users), len(requests)
