"""The Graph calls the product makes: users, manager, bulkUpload, provisioning logs, Temporary Access Pass,
password, mail, sessions, roles and memberships; plus JSON batches and delta rounds of users.

Everything that every call needs (tokens, retries, the throttling hand-off, paging, error mapping, keeping values
out of logs) is in :mod:`provisioning.graph.transport`; filters are built in :mod:`provisioning.graph.odata`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlsplit

from provisioning.graph import batching, delta
from provisioning.graph.batching import BatchRequest, BatchResponse
from provisioning.graph.delta import UserChanges
from provisioning.graph.errors import GraphError, SyncedUserPasswordError
from provisioning.graph.odata import (
    ODataFilter,
    ODataValueError,
    check_text,
    filter_eq,
    filter_in,
    odata_datetime,
    odata_string,
    query_string,
    select_clause,
)
from provisioning.graph.results import BulkUploadAccepted, TemporaryAccessPass
from provisioning.graph.transport import GraphTransport, json_body

__all__ = ["MAX_BULK_OPERATIONS", "GraphClient"]

MAX_BULK_OPERATIONS: Final = 50
"""bulkUpload rejects more than 50 operations per request; refusing locally saves a quota call."""

LOG_QUERY_MARGIN: Final = timedelta(seconds=1)
"""``activityDateTime gt`` starts this far before the wanted instant (whole-second literals, no ``ge``)."""

_BULK_UPLOAD_PATH: Final = re.compile(
    r"/(?:v1\.0|beta)/servicePrincipals/[A-Za-z0-9-]{1,64}/synchronization/jobs/[A-Za-z0-9._-]{1,200}/bulkUpload\Z"
)
_SYNCED_USER_MARKERS: Final = ("on-premises mastered", "directory sync")


def _check_bulk_upload_url(url: str, *, graph_base_url: str) -> None:
    """Refuse any URL but a bulkUpload endpoint on our Graph origin before a token is attached.

    Settings validate PROVISIONING_API_ENDPOINT at start-up; this second check sits where the token is
    sent. Only ``https`` on the configured Graph host with the exact bulkUpload path shape is accepted, so a
    misconfigured or malicious setting cannot make us send a Graph token elsewhere.
    """
    base = urlsplit(graph_base_url)
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.netloc.lower() != base.netloc.lower():
        raise ValueError(f"the provisioning endpoint must be an https URL on {base.netloc}")
    if parts.query or parts.fragment:
        raise ValueError("the provisioning endpoint must not carry a query or fragment")
    if not _BULK_UPLOAD_PATH.match(parts.path):
        raise ValueError(
            "the provisioning endpoint must look like "
            "/{v1.0|beta}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload"
        )


_DEFAULT_USER_SELECT: Final = ("id", "userPrincipalName", "mail", "employeeId", "accountEnabled")


def users_query(
    filter: ODataFilter | None, *, select: Sequence[str], advanced: bool = False, top: int = 100
) -> tuple[str, dict[str, str]]:
    """The version-relative URL (``/users?...``) and headers of a users query; for a batch or a direct call.

    ``advanced`` adds what Graph requires for advanced-only filters: ``ConsistencyLevel: eventual`` and
    ``$count=true``.
    """
    if not 1 <= top <= 999:
        raise ValueError("top must be between 1 and 999")
    params = {"$select": select_clause(select), "$top": str(top)}
    if filter is not None:
        params = {"$filter": str(filter), **params}
    headers: dict[str, str] = {}
    if advanced:
        params["$count"] = "true"
        headers["ConsistencyLevel"] = "eventual"
    return "/users?" + query_string(params), headers


def _validate_object_key(value: object, *, what: str) -> str:
    """An object id, UPN or mail used as a path segment: no controls, spaces or path separators."""
    text = check_text(value, what=what, max_length=1024)
    if not text or any(char.isspace() or char in "/\\?" for char in text):
        raise ODataValueError(f"{what} must be a non-empty id or UPN without spaces or path separators")
    return text


def _user_path(id_or_upn: str) -> str:
    """``/v1.0/users/{id}`` with the key URL-quoted (``#EXT#`` and friends survive the trip)."""
    key = _validate_object_key(id_or_upn, what="user id or UPN")
    if key.startswith("$"):
        # Graph reads a leading '$' as a system segment; such UPNs are addressed as users('…') (Graph "Get user").
        return "/v1.0/users" + quote(f"({odata_string(key)})", safe="()@'$")
    return "/v1.0/users/" + quote(key, safe="@")


def _aware(moment: datetime, *, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _parse_graph_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GraphClient(GraphTransport):
    """The Graph calls the product makes, over :class:`GraphTransport` (tokens, retries, paging).

    One instance may be shared by the threads of an activity worker.
    """

    # -- users -------------------------------------------------------------------------------------

    def find_users(
        self,
        filter: ODataFilter,
        *,
        select: Sequence[str] = _DEFAULT_USER_SELECT,
        advanced: bool = False,
        top: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /v1.0/users?$filter=…`` across all pages.

        ``advanced`` sends ``ConsistencyLevel: eventual`` and ``$count=true``, which Graph requires for
        advanced-only filters (e.g. ``onPremisesSamAccountName``); results are then eventually
        consistent, so leave it off for read-after-write checks such as ``employeeId eq``.
        """
        path, headers = users_query(filter, select=select, advanced=advanced, top=top)
        return self._get_all_pages(self._base + "/v1.0" + path, template="/v1.0/users", headers=headers)

    def list_users(
        self,
        *,
        select: Sequence[str],
        filter: ODataFilter | None = None,
        advanced: bool = False,
        page_size: int = 999,
    ) -> Iterator[dict[str, Any]]:
        """Every user (or every user ``filter`` matches), read lazily in pages of ``page_size`` (at most 999).

        For reading the whole directory (reconciliation): pages are fetched as the caller iterates, without the
        page cap of :meth:`find_users`, and only the ``select``-ed properties travel.
        """
        path, headers = users_query(filter, select=select, advanced=advanced, top=page_size)
        pages = self._pages(self._base + "/v1.0" + path, template="/v1.0/users", headers=headers, max_pages=10**9)
        for body in pages:
            yield from (user for user in body["value"] if isinstance(user, dict))

    def list_user_pages(
        self, *, select: Sequence[str], top: int = 999, max_pages: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """``GET /v1.0/users?$select=…&$top=…``, one page at a time, following ``@odata.nextLink``.

        The whole directory in ⌈users / top⌉ requests (``$top`` is 1..999 on ``/users``), never one request per
        person. Pages are yielded as they arrive, so a caller that keeps only what it needs holds one page at a time.
        """
        if not 1 <= top <= 999:
            raise ValueError("top must be between 1 and 999")
        url = self._url("/v1.0/users", {"$select": select_clause(select), "$top": str(top)})
        for body in self._pages(url, template="/v1.0/users", max_pages=max_pages):
            yield [entry for entry in body["value"] if isinstance(entry, dict)]

    def batch(self, requests: Sequence[BatchRequest]) -> dict[str, BatchResponse]:
        """Send requests together with JSON batching (``POST /$batch``); every response by request id.

        Throttled requests inside are retried as :mod:`provisioning.graph.batching` describes; other statuses
        are returned as Graph answered them.
        """
        return batching.send_batch(self, requests)

    def user_changes(self, link: str) -> UserChanges:
        """One round of ``users/delta`` from a delta link (see :mod:`provisioning.graph.delta`)."""
        return delta.user_changes(self, link)

    def latest_user_changes_link(self, select: Sequence[str]) -> str:
        """A ``users/delta`` link that reports changes to the ``select``-ed properties from now on."""
        return delta.latest_users_link(self, select)

    def get_user(self, id_or_upn: str, *, select: Sequence[str] = _DEFAULT_USER_SELECT) -> dict[str, Any] | None:
        """``GET /v1.0/users/{id|upn}``; ``None`` when the user does not exist (404)."""
        url = self._url(f"{_user_path(id_or_upn)}", {"$select": select_clause(select)})
        body = self._get_json(url, template="/v1.0/users/{id}")
        return body if isinstance(body, dict) else None

    def get_manager(
        self, user_id: str, *, select: Sequence[str] = ("id", "userPrincipalName", "mail", "displayName")
    ) -> dict[str, Any] | None:
        """``GET /v1.0/users/{id}/manager``; ``None`` when the user has no manager or does not exist."""
        url = self._url(f"{_user_path(user_id)}/manager", {"$select": select_clause(select)})
        body = self._get_json(url, template="/v1.0/users/{id}/manager")
        return body if isinstance(body, dict) else None

    # -- provisioning ------------------------------------------------------------------------------

    def bulk_upload(self, endpoint_url: str, payload: Mapping[str, Any]) -> BulkUploadAccepted:
        """POST a SCIM BulkRequest to the API-driven provisioning endpoint (Graph synchronizationJob: bulkUpload).

        ``submitted_at`` is taken before the first attempt: a 504 may still have staged the request, so
        the earliest send time is the safe lower bound for the provisioning-log query.
        """
        _check_bulk_upload_url(endpoint_url, graph_base_url=self._base)
        operations = payload.get("Operations")
        if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_BULK_OPERATIONS:
            raise ValueError(f"a bulk request carries 1 to {MAX_BULK_OPERATIONS} operations")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        submitted_at = datetime.fromtimestamp(self._clock(), tz=UTC)
        response = self._request(
            "POST",
            endpoint_url,
            template="/{version}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload",
            headers={"Content-Type": "application/scim+json"},
            content=body,
        )
        return BulkUploadAccepted(
            status=response.status_code,
            location=response.headers.get("Location"),
            submitted_at=submitted_at,
            request_id=response.headers.get("request-id"),
            client_request_id=response.headers.get("client-request-id")
            or response.request.headers.get("client-request-id"),
        )

    def provisioning_logs(
        self,
        *,
        job_id: str,
        source_id: str | None,
        since: datetime,
        top: int = 100,
        statuses: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Provisioning-log entries for a job (and one source record) from ``since`` on, oldest first.

        The query keeps to what the List provisioningObjectSummary page documents: ``jobId`` and
        ``sourceIdentity/id`` (= SCIM externalId) with ``eq``, ``activityDateTime`` with ``gt`` (its
        documented operators are eq, gt and lt), clauses joined with ``and``, no ``$orderby``. ``gt`` one
        second before ``since`` (literals are whole seconds) keeps every entry at or after ``since``.
        Statuses are filtered here: the v1.0 reference documents no ``$filter`` on them.
        """
        if not 1 <= top <= 1000:
            raise ValueError("top must be between 1 and 1000")
        clauses = [filter_eq("jobId", job_id)]
        if source_id is not None:
            clauses.append(filter_eq("sourceIdentity/id", source_id))
        clauses.append(ODataFilter(f"activityDateTime gt {odata_datetime(since - LOG_QUERY_MARGIN)}"))
        wanted = None if statuses is None else frozenset(statuses)
        expression = " and ".join(clauses)
        url = self._url("/v1.0/auditLogs/provisioning", {"$filter": expression, "$top": str(top)})
        entries = self._get_all_pages(url, template="/v1.0/auditLogs/provisioning")
        if wanted is not None:
            entries = [entry for entry in entries if _log_status(entry) in wanted]
        entries.sort(key=lambda entry: str(entry.get("activityDateTime", "")))
        return entries

    # -- first credential --------------------------------------------------------------------------

    def create_temporary_access_pass(
        self,
        user_id: str,
        *,
        start: datetime,
        lifetime_minutes: int,
        usable_once: bool = False,
    ) -> TemporaryAccessPass:
        """Create a Temporary Access Pass (Graph "Create temporaryAccessPassMethod").

        A new pass replaces any existing one for the user.
        """
        if not 10 <= lifetime_minutes <= 43200:
            raise ValueError("lifetime_minutes must be between 10 and 43200")
        start_utc = _aware(start, what="start")
        body = {
            "startDateTime": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lifetimeInMinutes": lifetime_minutes,
            "isUsableOnce": usable_once,
        }
        response = self._request(
            "POST",
            self._url(f"{_user_path(user_id)}/authentication/temporaryAccessPassMethods"),
            template="/v1.0/users/{id}/authentication/temporaryAccessPassMethods",
            headers={"Content-Type": "application/json"},
            content=json.dumps(body).encode("utf-8"),
        )
        data = json_body(response)
        value = data.get("temporaryAccessPass") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(value, str) or not value:
            raise GraphError(
                response.status_code,
                "UnexpectedResponse",
                "the Temporary Access Pass response carried no pass",
                response.headers.get("request-id"),
                response.headers.get("client-request-id"),
            )
        return TemporaryAccessPass(
            id=str(data.get("id", "")),
            value=value,
            start=_parse_graph_datetime(data.get("startDateTime")) or start_utc,
            lifetime_minutes=_int_or(data.get("lifetimeInMinutes"), lifetime_minutes),
            usable_once=_bool_or(data.get("isUsableOnce"), usable_once),
            created=_parse_graph_datetime(data.get("createdDateTime")),
        )

    def reset_password(self, user_id: str, *, password: str, force_change: bool = True) -> None:
        """Set a cloud-mastered user's password via ``PATCH passwordProfile`` (Graph user resource, passwordProfile).

        Graph refuses this app-only for AD-synced users; that case raises
        :class:`SyncedUserPasswordError` pointing at the Temporary Access Pass option.
        """
        if not isinstance(password, str) or not password:
            raise ValueError("password must be a non-empty string")
        body = {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": force_change}}
        try:
            self._request(
                "PATCH",
                self._url(f"{_user_path(user_id)}"),
                template="/v1.0/users/{id} passwordProfile",
                headers={"Content-Type": "application/json"},
                content=json.dumps(body).encode("utf-8"),
            )
        except GraphError as error:
            if error.status == 400 and any(marker in error.message.lower() for marker in _SYNCED_USER_MARKERS):
                raise SyncedUserPasswordError(
                    error.status,
                    error.code,
                    "Graph cannot set the password of an AD-synced (on-premises mastered) user with an "
                    "application permission; use CREDENTIAL_METHOD=tap (Temporary Access Pass) instead",
                    error.request_id,
                    error.client_request_id,
                ) from None
            raise

    # -- mail and sessions -------------------------------------------------------------------------

    def send_mail(self, sender: str, message: Mapping[str, Any], *, save_to_sent_items: bool = False) -> None:
        """``POST /v1.0/users/{sender}/sendMail`` (202). Not resent after a read timeout: no duplicates."""
        body = {"message": dict(message), "saveToSentItems": save_to_sent_items}
        self._request(
            "POST",
            self._url(f"{_user_path(sender)}/sendMail"),
            template="/v1.0/users/{sender}/sendMail",
            headers={"Content-Type": "application/json"},
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            resend_after_read_error=False,
        )

    def revoke_sign_in_sessions(self, user_id: str) -> bool:
        """Invalidate the user's refresh tokens and session cookies (termination with REVOKE_SESSIONS)."""
        response = self._request(
            "POST",
            self._url(f"{_user_path(user_id)}/revokeSignInSessions"),
            template="/v1.0/users/{id}/revokeSignInSessions",
        )
        body = json_body(response) if response.content else None
        return bool(body.get("value", True)) if isinstance(body, dict) else True

    # -- roles and memberships (who must never get a pass from this app) ----------------------------

    def transitive_member_of(self, user_id: str) -> list[dict[str, Any]]:
        """``GET /v1.0/users/{id}/transitiveMemberOf``: the groups, directory roles and administrative units the
        user belongs to directly or through nested groups. With ``User.Read.All`` Graph returns objects of types
        the app cannot read with ``@odata.type`` and ``id`` only, which is all this needs."""
        url = self._url(f"{_user_path(user_id)}/transitiveMemberOf", {"$select": "id", "$top": "999"})
        return self._get_all_pages(url, template="/v1.0/users/{id}/transitiveMemberOf")

    def role_assignments(self, principal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Active Entra role assignments (any scope, including administrative units) of these principals."""
        url = self._url(
            "/v1.0/roleManagement/directory/roleAssignments",
            {"$filter": str(filter_in("principalId", principal_ids))},
        )
        return self._get_all_pages(url, template="/v1.0/roleManagement/directory/roleAssignments")

    def role_eligibilities(self, principal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Privileged Identity Management eligibilities of these principals (roles they can activate).

        A tenant without Entra ID P2 or Governance has no PIM: Graph answers 400 ``AadPremiumLicenseRequired``,
        which means there are no eligibilities, so an empty list is returned.
        """
        template = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
        url = self._url(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            {"$filter": str(filter_in("principalId", principal_ids))},
        )
        try:
            return self._get_all_pages(url, template=template)
        except GraphError as error:
            if error.status == 400 and error.code == "AadPremiumLicenseRequired":
                return []
            raise


# --------------------------------------------------------------------------------------------------
# Response helpers
# --------------------------------------------------------------------------------------------------


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _bool_or(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _log_status(entry: Mapping[str, Any]) -> str | None:
    info = entry.get("provisioningStatusInfo") or entry.get("statusInfo")
    status = info.get("status") if isinstance(info, dict) else None
    return status if isinstance(status, str) else None
