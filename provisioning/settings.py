"""Typed application settings, read from the environment and validated once at start-up.

`SETTINGS` is the single source of truth for setting names: the docs, the Bicep checks and
`local.settings.example.json` are generated from it or checked against it. `Settings.from_env`
collects *every* problem before raising, so an operator fixes a broken deployment in one pass
instead of one restart per typo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import time
from typing import Any, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from croniter import croniter

from provisioning.events import SPECIAL_USE_TLDS, is_email_address, is_time_zone
from provisioning.naming import (
    SAM_ACCOUNT_NAME_MAX,
    USER_PRINCIPAL_NAME_MAX,
    NamePolicy,
    Transliteration,
    pattern_problems,
)

GraphAuth = Literal["managed_identity", "client_secret"]
SyncWaitMode = Literal["watch", "poll", "fixed"]
CredentialMethod = Literal["tap", "password", "none"]
CredentialRecipient = Literal["manager", "personal", "both"]
MailPermission = Literal["exchange_rbac", "graph"]
GraphApiVersion = Literal["v1.0", "beta"]
MappedWebhookAuth = Literal["none", "hmac", "token", "basic"]

GRAPH_HOST = "graph.microsoft.com"
DEFAULT_SCIM_EXTENSION_URN = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
# URNs the custom extension must not collide with: they have fixed meanings in the bulk upload.
RESERVED_SCIM_URNS = frozenset(
    {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:api:messages:2.0:BulkRequest",
    }
)
# Entra accepts 10 minutes .. 30 days for a Temporary Access Pass lifetime.
TAP_LIFETIME_RANGE = (10, 43200)
# Microsoft publishes two bulkUpload limits: "40 API calls within any 5-second window" (API-driven inbound
# provisioning concepts and troubleshooting pages) and "40 requests per second" (bulkUpload API reference).
# The pace is capped at the stricter one, so it is safe under either reading; a higher pace risks 429s.
BULK_CALLS_PER_5S_MAX = 40
RECONCILE_ATTRIBUTE_NAMES = (
    "givenName",
    "familyName",
    "displayName",
    "jobTitle",
    "department",
    "companyName",
    "employeeType",
    "officeLocation",
    "city",
    "state",
    "postalCode",
    "country",
    "businessPhone",
    "mobilePhone",
    "preferredLanguage",
)
"""The HR fields a reconciliation can compare with an account (provisioning.reconciliation.population)."""
RECONCILE_CLASSES = ("stale", "missing", "leaver-enabled", "rehire-disabled")
"""The drift classes whose planned changes RECONCILE_AUTO_APPLY may allow."""
CONNECTOR_NAMES = ("bamboohr", "hibob", "personio")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Job ids look like API2AD.<tenant without dashes>.<guid>; only characters that are safe in a URL
# path segment and inside an OData string literal are accepted.
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_VAULT_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]$")
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_SCIM_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*']+$")
# Durable Functions (Azure Storage provider) task hub names: letters and digits, starting with a letter.
_TASKHUB = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_APP_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,248}$")
_VENDOR_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_VENDOR_FIELD = re.compile(r"^/?[A-Za-z0-9_.-]{1,64}(?:/[A-Za-z0-9_.-]{1,64}){0,4}$")
# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
# Headers the Functions host or HTTP itself owns: a sender check cannot live in them.
_RESERVED_HEADERS = frozenset({"x-functions-key", "content-type", "content-length", "host", "transfer-encoding"})


class SettingsError(ValueError):
    """Raised by `Settings.from_env` with every configuration problem found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n{listing}")


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One app setting: its environment name, default (as written in the environment) and purpose.

    `example` is the safe value written to local.settings.example.json ("" = left unset there).
    """

    name: str
    default: str | None
    required: bool
    description: str
    example: str


def _spec(name: str, default: str | None, description: str, *, example: str | None = None) -> SettingSpec:
    required = default is None and name in _REQUIRED
    if example is None:
        example = default if default is not None else ""
    return SettingSpec(name, default, required, description, example)


_REQUIRED = frozenset({"PROVISIONING_API_ENDPOINT", "UPN_DOMAIN", "MAIL_SENDER", "IT_NOTIFY_ADDRESS"})

SETTINGS: tuple[SettingSpec, ...] = (
    _spec(
        "PROVISIONING_API_ENDPOINT",
        None,
        "The provisioning app's bulkUpload URL as shown in the portal (https://graph.microsoft.com/"
        "{v1.0|beta}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload); "
        "the service principal id and job id are parsed from it.",
        example="https://graph.microsoft.com/v1.0/servicePrincipals/00000000-0000-0000-0000-000000000001"
        "/synchronization/jobs/API2AD.00000000000000000000000000000000.00000000-0000-0000-0000-000000000002"
        "/bulkUpload",
    ),
    _spec("UPN_DOMAIN", None, "Domain of generated userPrincipalNames.", example="contoso.com"),
    _spec("MAIL_DOMAIN", "", "Domain of generated mail addresses; empty = UPN_DOMAIN.", example="contoso.com"),
    _spec(
        "MAIL_SENDER",
        None,
        "Mailbox (UPN or address) the app sends notifications from via Graph sendMail.",
        example="hr-provisioning@contoso.com",
    ),
    _spec(
        "IT_NOTIFY_ADDRESS",
        None,
        "Address that receives failure alerts, leaver notices and mail for hires without a manager.",
        example="it-operations@contoso.com",
    ),
    _spec(
        "GRAPH_AUTH",
        "managed_identity",
        "How the app gets Graph tokens: managed_identity or client_secret (secret read from Key Vault).",
    ),
    _spec(
        "AZURE_CLIENT_ID",
        "",
        "Client id of the user-assigned managed identity (managed_identity) or of the app registration "
        "(client_secret; then required).",
    ),
    _spec("AZURE_TENANT_ID", "", "Tenant id or domain; required for client_secret."),
    _spec(
        "KEY_VAULT_URL",
        "",
        "https://<name>.vault.azure.net/ holding the Graph client secret, the HR signing secret and the mapped "
        "webhook's secret, as configured.",
    ),
    _spec(
        "GRAPH_CLIENT_SECRET_NAME",
        "",
        "Key Vault secret holding the Graph client secret; required for client_secret.",
    ),
    _spec(
        "HR_SIGNING_SECRET_NAME",
        "",
        "Key Vault secret holding the HMAC key for X-HR-Signature; setting it turns request signing on.",
    ),
    _spec("SIGNATURE_TOLERANCE_SECONDS", "300", "Accepted clock skew for X-HR-Timestamp, in seconds."),
    _spec(
        "SECRET_CACHE_TTL_SECONDS",
        "900",
        "How long Key Vault secrets stay cached in memory (rotation pickup).",
    ),
    _spec(
        "PROVISION_LEAD_DAYS",
        "7",
        "Hires and rehires are provisioned this many days before the start date (00:00 local).",
    ),
    _spec(
        "SYNC_TIMEOUT_MINUTES",
        "60",
        "Deadline, from the upload, for the provisioning outcome and the Entra Connect sync.",
    ),
    _spec(
        "SYNC_WAIT_MODE",
        "watch",
        "watch: one watcher reads the provisioning logs and the directory's changes for every waiting event; "
        "poll: each event polls logs and Entra with backoff; fixed: wait the full timeout, then look once.",
    ),
    _spec(
        "SYNC_WATCH_INTERVAL_SECONDS",
        "30",
        "How often the sync watcher reads the provisioning logs and the directory's changes (SYNC_WAIT_MODE=watch).",
    ),
    _spec("CREDENTIAL_METHOD", "tap", "First credential: tap (Temporary Access Pass), password or none."),
    _spec("TAP_LIFETIME_MINUTES", "480", "Temporary Access Pass lifetime in minutes (Entra allows 10..43200)."),
    _spec("TAP_START_LOCAL_TIME", "08:00", "Local time (HH:MM) on the start date when the pass becomes usable."),
    _spec("CREDENTIAL_RECIPIENT", "manager", "Who receives the first credential: manager, personal or both."),
    _spec(
        "UPDATE_CREATES_MISSING",
        "false",
        "When true an update for an unknown employeeId runs as a hire instead of failing.",
    ),
    _spec(
        "TERMINATION_LOCAL_TIME",
        "18:00",
        "Local time (HH:MM) on the last working day when a leaver is disabled.",
    ),
    _spec("REVOKE_SESSIONS", "true", "Revoke sign-in sessions after a termination is provisioned."),
    _spec(
        "BULK_CALLS_PER_5S",
        "40",
        "Client-side pace of bulkUpload calls in any 5 seconds; deliberately conservative: Microsoft documents "
        "40 per 5 s (concepts page) and 40 per second (API reference), and 40 per 5 s is safe under both.",
    ),
    _spec(
        "BULK_DAILY_CALL_QUOTA",
        "2000",
        "bulkUpload calls per UTC day (2000 with Entra ID P1/P2, 6000 with ID Governance).",
    ),
    _spec(
        "TERMINATION_BREAKER_LIMIT",
        "25",
        "Terminations and re-enables per rolling hour (counted when accepted and again when they run) above "
        "which further ones are held for approval.",
    ),
    _spec(
        "BREAKER_DAILY_LIMIT",
        "50",
        "Terminations and re-enables per effective date, and per rolling 24 hours when they run, above which "
        "further ones are held for approval.",
    ),
    _spec(
        "BREAKER_BATCH_LIMIT",
        "25",
        "Terminations and rehires in one batch above which the batch's further ones are held for approval.",
    ),
    _spec(
        "REHIRE_HOLD_AFTER_DAYS",
        "30",
        "An explicit rehire of an account disabled longer than this many days (or since an unknown time) is "
        "held for approval; 0 holds every rehire of an existing account. A hire that matches a disabled "
        "account is always held.",
    ),
    _spec(
        "PROTECTED_GROUP_IDS",
        "",
        "Comma-separated object ids of Entra groups whose direct or nested members are never re-enabled or "
        "given a first credential by this app (accounts holding a directory role never are).",
    ),
    _spec(
        "RETENTION_DAYS",
        "30",
        "Days a finished event's orchestration (input, history, status) is kept before the daily purge.",
    ),
    _spec(
        "MAIL_PERMISSION",
        "exchange_rbac",
        "How sendMail is authorised: exchange_rbac (Exchange Online RBAC for Applications scoped to "
        "MAIL_SENDER; the token carries no Mail.Send role) or graph (the tenant-wide Mail.Send permission, "
        "checked by the preflight).",
    ),
    _spec(
        "APPROVER_APP_ROLE",
        "",
        "App role a caller authenticated by App Service authentication (Entra ID) must hold to approve or "
        "rescind an event without the HR signature; empty = approve and rescind need the HR signature too.",
    ),
    _spec(
        "SCIM_EXTENSION_URN",
        DEFAULT_SCIM_EXTENSION_URN,
        "SCIM schema URN of the custom attributes (HireDate, LeaveDate, samAccountName, ...).",
    ),
    _spec("TRANSLITERATION", "basic", "Name transliteration: basic (Zoë → zoe) or de (Müller → mueller)."),
    _spec(
        "NAME_PATTERNS",
        "{given}.{family},{given_initial}.{family}",
        "Comma-separated name patterns tried in order; placeholders {given}, {family}, {given_initial}, "
        "{family_initial}, {middle_initial}.",
    ),
    _spec(
        "NAME_SUFFIX_PATTERN",
        "{given}.{family}{n}",
        "Pattern with {n} tried after NAME_PATTERNS, n = 2, 3, ...",
    ),
    _spec(
        "NAME_CONFLICT_RETRIES",
        "3",
        "How often a name conflict reported by the provisioning logs is retried with the next candidate.",
    ),
    _spec("DEFAULT_TIME_ZONE", "UTC", "IANA time zone for employees whose event carries none."),
    _spec("TEMPLATES_DIR", "", "Folder with email templates overriding the built-in ones (empty = built-in)."),
    _spec("WELCOME_TO_NEW_MAILBOX", "false", "Also send the welcome email to the new hire's own mailbox."),
    _spec(
        "RENAME_ON_NAME_CHANGE",
        "false",
        "When a legal name changes: false keeps the UPN and mail; true gives new ones from the new name and keeps "
        "the old address as an alias in proxyAddresses.",
    ),
    _spec(
        "UPLOAD_COALESCE_SECONDS",
        "10",
        "Window in which single events share one bulkUpload request (0 = upload each at once).",
    ),
    _spec(
        "BATCH_UPLOAD_WAIT_SECONDS",
        "180",
        "How long a batch's last partial bulkUpload request waits for the batch's next record before the uploader "
        "looks whether the missing records are still on their way (they are then waited for again).",
    ),
    _spec(
        "PROVISIONING_POLL_INITIAL_SECONDS",
        "30",
        "First wait before polling the provisioning logs; doubles up to PROVISIONING_POLL_MAX_SECONDS.",
    ),
    _spec("PROVISIONING_POLL_MAX_SECONDS", "300", "Longest wait between provisioning log polls."),
    _spec("TASKHUB_NAME", "hrprovisioning", "Durable Functions task hub name (host.json uses %TASKHUB_NAME%)."),
    _spec(
        "MAPPED_WEBHOOK_MAPPING_FILE",
        "",
        "Mapping file (.yaml, .yml or .json; relative to the app root or absolute) that turns what an HR system "
        "posts to POST /api/hris/mapped into HR events (docs/mapping.md); empty = the route answers 404.",
        example="examples/mappings/successfactors.yaml",
    ),
    _spec(
        "MAPPED_WEBHOOK_AUTH",
        "none",
        "How POST /api/hris/mapped checks the sender besides the function key: none, hmac (HMAC-SHA256 of "
        "'<timestamp>.<body>'), token (shared token in a header) or basic (HTTP basic user:password).",
    ),
    _spec(
        "MAPPED_WEBHOOK_SECRET_NAME",
        "",
        "Key Vault secret for MAPPED_WEBHOOK_AUTH: the HMAC key, the token, or user:password for basic.",
    ),
    _spec(
        "MAPPED_WEBHOOK_SIGNATURE_HEADER",
        "X-HR-Signature",
        "Header carrying the hex (optionally sha256=) or base64 HMAC-SHA256 signature (MAPPED_WEBHOOK_AUTH=hmac).",
    ),
    _spec(
        "MAPPED_WEBHOOK_TIMESTAMP_HEADER",
        "X-HR-Timestamp",
        "Header carrying the signed unix-seconds timestamp (hmac); accepted within SIGNATURE_TOLERANCE_SECONDS.",
    ),
    _spec(
        "MAPPED_WEBHOOK_TOKEN_HEADER",
        "Authorization",
        "Header carrying the shared token (MAPPED_WEBHOOK_AUTH=token); Authorization takes 'Bearer <token>'.",
    ),
    # Reconciliation (POST /api/reconciliations, the scheduled run); see docs/reconciliation.md.
    _spec(
        "RECONCILE_SCHEDULE",
        "",
        "When the scheduled reconciliation runs: a cron expression in UTC (5 fields, or 6 with seconds first as in "
        "Azure Functions), checked every 5 minutes; empty = no scheduled run.",
        example="",
    ),
    _spec(
        "RECONCILE_SOURCE",
        "",
        "The HR system connector the scheduled run reads the population from: bamboohr, hibob or personio.",
    ),
    _spec(
        "RECONCILE_AUTO_APPLY",
        "",
        "Comma-separated drift classes a scheduled run applies by itself when its plan is not held: stale, missing, "
        "leaver-enabled, rehire-disabled; empty = scheduled runs only preview and mail the summary.",
    ),
    _spec(
        "RECONCILE_ROSTER_MAPPING_FILE",
        "",
        "Mapping file (docs/mapping.md) for uploaded rosters that come without a mapping of their own.",
    ),
    _spec(
        "RECONCILE_ROSTER_MAX_BYTES",
        "8388608",
        "Largest roster upload accepted, in bytes (the Bicep sets the host's body limit to match).",
    ),
    _spec(
        "RECONCILE_ATTRIBUTES",
        ",".join(RECONCILE_ATTRIBUTE_NAMES),
        "Comma-separated HR fields compared with the account (drop those your provisioning mapping does not write).",
    ),
    _spec(
        "RECONCILE_SCOPE",
        "synced",
        "Which accounts are judged for orphans and go-live cases: synced (synced from AD) or all (every member).",
    ),
    _spec("RECONCILE_MAX_CREATES", "100", "A reconciliation plan creating more accounts than this is held."),
    _spec(
        "RECONCILE_MAX_CREATES_PERCENT",
        "10",
        "A plan creating more accounts than this percentage of the enabled accounts in scope is held.",
    ),
    _spec("RECONCILE_MAX_UPDATES", "500", "A reconciliation plan updating more accounts than this is held."),
    _spec(
        "RECONCILE_MAX_UPDATES_PERCENT",
        "20",
        "A plan updating more than this percentage of the enabled accounts in scope is held.",
    ),
    _spec(
        "RECONCILE_MAX_DISABLES",
        "25",
        "A reconciliation plan disabling or re-enabling more accounts than this is held.",
    ),
    _spec(
        "RECONCILE_MAX_DISABLES_PERCENT",
        "5",
        "A plan disabling or re-enabling more than this percentage of the enabled accounts in scope is held.",
    ),
    _spec(
        "RECONCILE_PLAN_MAX_AGE_HOURS",
        "24",
        "A plan older than this is not applied (the directory has moved on): start a new run.",
    ),
    _spec(
        "BREAKER_CREATE_LIMIT",
        "500",
        "Accounts created per rolling hour (hires and rehires without an account) above which further ones are "
        "held for approval.",
    ),
    _spec(
        "BREAKER_UPDATE_LIMIT",
        "2000",
        "Account updates per rolling hour above which further ones are held for approval.",
    ),
    # HR system connectors (POST /api/hris/{connector}); see docs/connectors.md.
    _spec(
        "HRIS_WRITEBACK", "true", "Write the work email (and UPN where configured) back to the HR system after a hire."
    ),
    _spec("BAMBOOHR_ENABLED", "false", "Accept BambooHR webhooks on POST /api/hris/bamboohr."),
    _spec("BAMBOOHR_COMPANY_DOMAIN", "", "BambooHR company subdomain (mycompany in mycompany.bamboohr.com)."),
    _spec(
        "BAMBOOHR_API_BASE_URL",
        "https://api.bamboohr.com/api/gateway.php/{companyDomain}/v1",
        "BambooHR API base URL; {companyDomain} is replaced by BAMBOOHR_COMPANY_DOMAIN.",
    ),
    _spec("BAMBOOHR_API_KEY_SECRET_NAME", "", "Key Vault secret holding the BambooHR API key (HTTP Basic user)."),
    _spec("BAMBOOHR_WEBHOOK_SECRET_NAME", "", "Key Vault secret holding the BambooHR webhook private key (HMAC)."),
    _spec(
        "BAMBOOHR_EMPLOYEE_ID_FIELD",
        "id",
        "Which BambooHR field is the employeeId in AD and Entra: id (internal id) or employeeNumber.",
    ),
    _spec("BAMBOOHR_UPN_FIELD", "", "BambooHR (custom) field that receives the UPN on writeback; empty = none."),
    _spec("HIBOB_ENABLED", "false", "Accept HiBob webhooks on POST /api/hris/hibob."),
    _spec(
        "HIBOB_API_BASE_URL",
        "https://api.hibob.com/v1",
        "HiBob API base URL (https://api.sandbox.hibob.com/v1 for the sandbox).",
    ),
    _spec("HIBOB_SERVICE_USER_ID", "", "HiBob API service user id (HTTP Basic user)."),
    _spec("HIBOB_SERVICE_USER_TOKEN_SECRET_NAME", "", "Key Vault secret holding the HiBob service user token."),
    _spec("HIBOB_WEBHOOK_SECRET_NAME", "", "Key Vault secret holding the HiBob webhook secret (Bob-Signature HMAC)."),
    _spec("HIBOB_COMPANY_ID", "", "HiBob companyId; when set, webhooks for another company are refused."),
    _spec(
        "HIBOB_EMPLOYEE_ID_FIELD",
        "employeeIdInCompany",
        "Which HiBob field is the employeeId in AD and Entra: employeeIdInCompany, or id (the backend id, often "
        "longer than the 16 characters an employeeId may have).",
    ),
    _spec(
        "HIBOB_UPN_FIELD",
        "",
        "HiBob custom field path (e.g. /work/custom/field_123) that receives the UPN; empty = none.",
    ),
    _spec("PERSONIO_ENABLED", "false", "Accept Personio webhooks on POST /api/hris/personio."),
    _spec("PERSONIO_API_BASE_URL", "https://api.personio.de/v2", "Personio API v2 base URL."),
    _spec("PERSONIO_CLIENT_ID", "", "Personio API client id (client credentials)."),
    _spec("PERSONIO_CLIENT_SECRET_NAME", "", "Key Vault secret holding the Personio API client secret."),
    _spec(
        "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME", "", "Key Vault secret holding the token Personio sends with each webhook."
    ),
    _spec(
        "PERSONIO_WEBHOOK_AUTH_HEADER",
        "Authorization",
        "Header that carries the Personio webhook token (plain or Bearer).",
    ),
    _spec("PERSONIO_COMPANY_ID", "", "Personio company_id; when set, webhooks for another company are refused."),
    _spec(
        "PERSONIO_UPN_ATTRIBUTE", "", "Personio custom attribute id that receives the UPN on writeback; empty = none."
    ),
)

SETTING_NAMES: tuple[str, ...] = tuple(spec.name for spec in SETTINGS)
_SPECS_BY_NAME: dict[str, SettingSpec] = {spec.name: spec for spec in SETTINGS}


@dataclass(frozen=True, slots=True)
class BulkUploadEndpoint:
    """The parts of a bulkUpload URL the app needs: the log filter and status checks use the ids."""

    url: str
    api_version: GraphApiVersion
    service_principal_id: str
    job_id: str


def parse_bulk_upload_endpoint(value: str) -> BulkUploadEndpoint:
    """Parse the portal's Provisioning API Endpoint; raise ValueError saying what is wrong.

    The returned `url` is the canonical form (lower-case host and service principal id).

    Only the exact Graph URL shape is accepted so that a pasted logs URL, a staging host or an
    http URL can never receive HR data.
    """
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None or parts.port is not None:
        raise ValueError(f"must address {GRAPH_HOST} without credentials or port")
    if (parts.hostname or "") != GRAPH_HOST or parts.netloc.lower() != GRAPH_HOST:
        raise ValueError(f"host must be {GRAPH_HOST}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query or fragment")
    segments = parts.path.split("/")
    shape = "/{v1.0|beta}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload"
    if (
        len(segments) != 8
        or segments[0] != ""
        or segments[2] != "servicePrincipals"
        or segments[4] != "synchronization"
        or segments[5] != "jobs"
        or segments[7] != "bulkUpload"
    ):
        raise ValueError(f"path must be {shape}")
    version = segments[1]
    if version not in ("v1.0", "beta"):
        raise ValueError("API version must be v1.0 or beta")
    service_principal_id = segments[3]
    if not _GUID.match(service_principal_id):
        raise ValueError("service principal id must be a GUID (the enterprise app's object id)")
    job_id = segments[6]
    if not _JOB_ID.match(job_id):
        raise ValueError("job id must look like API2AD.<tenant>.<guid> (letters, digits, dots, hyphens)")
    service_principal_id = service_principal_id.lower()
    return BulkUploadEndpoint(
        url=f"https://{GRAPH_HOST}/{version}/servicePrincipals/{service_principal_id}"
        f"/synchronization/jobs/{job_id}/bulkUpload",
        api_version=cast(GraphApiVersion, version),
        service_principal_id=service_principal_id,
        job_id=job_id,
    )


def _domain(value: str) -> str:
    domain = value.lower().rstrip(".")
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a DNS domain name like contoso.com")
    if not labels[-1].isalpha():
        raise ValueError(f"{value!r} is not a DNS domain name like contoso.com")
    if labels[-1] in SPECIAL_USE_TLDS:
        raise ValueError(f"{value!r} uses the special-use top-level domain .{labels[-1]}, which Entra cannot verify")
    return domain


def _email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if not is_email_address(value):
        raise ValueError(f"{value!r} is not an email address")
    return f"{local}@{_domain(domain)}"


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.lower()
        if lowered not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return lowered

    return parse


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value, 10)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"{number} must be {bound}")
        return number

    return parse


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"{value!r} is not a boolean (true, false, 1 or 0)")


def _local_time(value: str) -> time:
    match = _LOCAL_TIME.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a local time HH:MM (00:00..23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def _guid_or_domain(value: str) -> str:
    if _GUID.match(value):
        return value.lower()
    try:
        return _domain(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither a tenant GUID nor a tenant domain") from None


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError(f"{value!r} is not a GUID")
    return value.lower()


def _key_vault_url(value: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    name, _, suffix = host.partition(".")
    if (
        parts.scheme != "https"
        or suffix != "vault.azure.net"
        or parts.port is not None
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not _VAULT_NAME.match(name)
    ):
        raise ValueError(f"{value!r} is not a Key Vault URL like https://<name>.vault.azure.net/")
    return f"https://{host}/"


def _secret_name(value: str) -> str:
    # The value is not echoed: someone may have pasted the secret itself instead of its name.
    if not _SECRET_NAME.match(value):
        raise ValueError("is not a Key Vault secret name (1-127 letters, digits, hyphens); value not shown")
    return value


def _scim_urn(value: str) -> str:
    if not _SCIM_URN.match(value):
        raise ValueError(f"{value!r} is not a URN like {DEFAULT_SCIM_EXTENSION_URN}")
    if value in RESERVED_SCIM_URNS:
        raise ValueError(f"{value!r} is reserved; choose your own extension URN")
    return value


def _time_zone(value: str) -> str:
    if not is_time_zone(value):
        raise ValueError(f"{value!r} is not an IANA time zone like Europe/Berlin")
    return value


def _name_patterns(value: str) -> tuple[str, ...]:
    patterns = tuple(part.strip() for part in value.split(","))
    problems = [problem for pattern in patterns for problem in pattern_problems(pattern, suffix=False)]
    if problems:
        raise ValueError("; ".join(problems))
    return patterns


def _suffix_pattern(value: str) -> str:
    problems = pattern_problems(value, suffix=True)
    if problems:
        raise ValueError("; ".join(problems))
    return value


def _guid_list(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = [index for index, item in enumerate(ids, 1) if not _GUID.match(item)]
    if bad:
        raise ValueError(f"entries {', '.join(map(str, bad))} are not object ids (GUIDs)")
    return tuple(item.lower() for item in ids)


def _app_role(value: str) -> str:
    # App role values: no spaces, at most 249 characters (Entra's appRole.value rules).
    if not _APP_ROLE.match(value):
        raise ValueError(f"{value!r} is not an app role value (letters, digits and . _ - : without spaces)")
    return value


def _templates_dir(value: str) -> str:
    if not os.path.isdir(value):
        raise ValueError(f"{value!r} is not an existing folder")
    return value


def _mapping_file(value: str) -> str:
    # Only the name is checked here: a missing or broken file must not stop the other routes (the mapped route
    # and /api/health report it instead).
    if not value.lower().endswith((".yaml", ".yml", ".json")):
        raise ValueError(f"{value!r} must name a .yaml, .yml or .json mapping file")
    return value


def _cron(value: str) -> str:
    """A cron expression: 5 fields (minute first) or Azure Functions' 6-field NCRONTAB (seconds first)."""
    fields_count = len(value.split())
    if fields_count not in (5, 6) or not croniter.is_valid(value, second_at_beginning=fields_count == 6):
        raise ValueError(f"{value!r} is not a cron expression like '0 30 2 * * *' (02:30 UTC daily) or '30 2 * * *'")
    return value


def _subset(what: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}")
        return items

    return parse


def _header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError(f"{value!r} is not an HTTP header name")
    if value.lower() in _RESERVED_HEADERS:
        raise ValueError(f"{value!r} is used by HTTP or the Functions host; choose another header")
    return value


def _taskhub(value: str) -> str:
    if not _TASKHUB.match(value):
        raise ValueError(f"{value!r} must be 3-45 letters and digits starting with a letter")
    return value


def _vendor_token(value: str) -> str:
    """An identifier an HR system issued (subdomain, company id, client id): no spaces or URL syntax."""
    if not _VENDOR_TOKEN.match(value):
        raise ValueError(f"{value!r} must be 1-128 letters, digits, '.', '_' or '-'")
    return value


def _vendor_field(value: str) -> str:
    """A field name or path in the HR system (customField123, /work/custom/field_1)."""
    if not _VENDOR_FIELD.match(value):
        raise ValueError(f"{value!r} must be a field name or /path of letters, digits, '.', '_' or '-'")
    return value


def _https_base_url(value: str) -> str:
    """An HR system's API base URL: https, no credentials, query or fragment; the trailing slash is dropped."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"{value!r} must be an https URL without credentials")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not carry a query or fragment")
    return value.rstrip("/")


# Field name on Settings -> parser of the environment value. Absent optional values stay None.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "PROVISIONING_API_ENDPOINT": parse_bulk_upload_endpoint,
    "UPN_DOMAIN": _domain,
    "MAIL_DOMAIN": _domain,
    "MAIL_SENDER": _email,
    "IT_NOTIFY_ADDRESS": _email,
    "GRAPH_AUTH": _choice("managed_identity", "client_secret"),
    "AZURE_CLIENT_ID": _guid,
    "AZURE_TENANT_ID": _guid_or_domain,
    "KEY_VAULT_URL": _key_vault_url,
    "GRAPH_CLIENT_SECRET_NAME": _secret_name,
    "HR_SIGNING_SECRET_NAME": _secret_name,
    "SIGNATURE_TOLERANCE_SECONDS": _integer(1, 3600),
    "SECRET_CACHE_TTL_SECONDS": _integer(0, 86400),
    "PROVISION_LEAD_DAYS": _integer(0, 365),
    "SYNC_TIMEOUT_MINUTES": _integer(1, 7 * 24 * 60),
    "SYNC_WAIT_MODE": _choice("watch", "poll", "fixed"),
    "SYNC_WATCH_INTERVAL_SECONDS": _integer(5, 3600),
    "CREDENTIAL_METHOD": _choice("tap", "password", "none"),
    "TAP_LIFETIME_MINUTES": _integer(*TAP_LIFETIME_RANGE),
    "TAP_START_LOCAL_TIME": _local_time,
    "CREDENTIAL_RECIPIENT": _choice("manager", "personal", "both"),
    "UPDATE_CREATES_MISSING": _boolean,
    "TERMINATION_LOCAL_TIME": _local_time,
    "REVOKE_SESSIONS": _boolean,
    "BULK_CALLS_PER_5S": _integer(1, BULK_CALLS_PER_5S_MAX),
    "BULK_DAILY_CALL_QUOTA": _integer(1),
    "TERMINATION_BREAKER_LIMIT": _integer(0),
    "BREAKER_DAILY_LIMIT": _integer(0),
    "BREAKER_BATCH_LIMIT": _integer(0),
    "REHIRE_HOLD_AFTER_DAYS": _integer(0, 3650),
    "PROTECTED_GROUP_IDS": _guid_list,
    "RETENTION_DAYS": _integer(1, 3650),
    "MAIL_PERMISSION": _choice("exchange_rbac", "graph"),
    "APPROVER_APP_ROLE": _app_role,
    "SCIM_EXTENSION_URN": _scim_urn,
    "TRANSLITERATION": _choice("basic", "de"),
    "NAME_PATTERNS": _name_patterns,
    "NAME_SUFFIX_PATTERN": _suffix_pattern,
    "NAME_CONFLICT_RETRIES": _integer(0, 20),
    "DEFAULT_TIME_ZONE": _time_zone,
    "TEMPLATES_DIR": _templates_dir,
    "WELCOME_TO_NEW_MAILBOX": _boolean,
    "RENAME_ON_NAME_CHANGE": _boolean,
    "UPLOAD_COALESCE_SECONDS": _integer(0, 300),
    "BATCH_UPLOAD_WAIT_SECONDS": _integer(10, 86400),
    "PROVISIONING_POLL_INITIAL_SECONDS": _integer(1, 3600),
    "PROVISIONING_POLL_MAX_SECONDS": _integer(1, 3600),
    "TASKHUB_NAME": _taskhub,
    "MAPPED_WEBHOOK_MAPPING_FILE": _mapping_file,
    "MAPPED_WEBHOOK_AUTH": _choice("none", "hmac", "token", "basic"),
    "MAPPED_WEBHOOK_SECRET_NAME": _secret_name,
    "MAPPED_WEBHOOK_SIGNATURE_HEADER": _header_name,
    "MAPPED_WEBHOOK_TIMESTAMP_HEADER": _header_name,
    "MAPPED_WEBHOOK_TOKEN_HEADER": _header_name,
    "RECONCILE_SCHEDULE": _cron,
    "RECONCILE_SOURCE": _choice(*CONNECTOR_NAMES),
    "RECONCILE_AUTO_APPLY": _subset("drift class", RECONCILE_CLASSES),
    "RECONCILE_ROSTER_MAPPING_FILE": _mapping_file,
    "RECONCILE_ROSTER_MAX_BYTES": _integer(1024, 100 * 1024 * 1024),
    "RECONCILE_ATTRIBUTES": _subset("HR field", RECONCILE_ATTRIBUTE_NAMES),
    "RECONCILE_SCOPE": _choice("synced", "all"),
    "RECONCILE_MAX_CREATES": _integer(0),
    "RECONCILE_MAX_CREATES_PERCENT": _integer(0, 100),
    "RECONCILE_MAX_UPDATES": _integer(0),
    "RECONCILE_MAX_UPDATES_PERCENT": _integer(0, 100),
    "RECONCILE_MAX_DISABLES": _integer(0),
    "RECONCILE_MAX_DISABLES_PERCENT": _integer(0, 100),
    "RECONCILE_PLAN_MAX_AGE_HOURS": _integer(1, 24 * 30),
    "BREAKER_CREATE_LIMIT": _integer(0),
    "BREAKER_UPDATE_LIMIT": _integer(0),
    "HRIS_WRITEBACK": _boolean,
    "BAMBOOHR_ENABLED": _boolean,
    "BAMBOOHR_COMPANY_DOMAIN": _vendor_token,
    "BAMBOOHR_API_BASE_URL": _https_base_url,
    "BAMBOOHR_API_KEY_SECRET_NAME": _secret_name,
    "BAMBOOHR_WEBHOOK_SECRET_NAME": _secret_name,
    "BAMBOOHR_EMPLOYEE_ID_FIELD": _choice("id", "employeenumber"),
    "BAMBOOHR_UPN_FIELD": _vendor_field,
    "HIBOB_ENABLED": _boolean,
    "HIBOB_API_BASE_URL": _https_base_url,
    "HIBOB_SERVICE_USER_ID": _vendor_token,
    "HIBOB_SERVICE_USER_TOKEN_SECRET_NAME": _secret_name,
    "HIBOB_WEBHOOK_SECRET_NAME": _secret_name,
    "HIBOB_COMPANY_ID": _vendor_token,
    "HIBOB_EMPLOYEE_ID_FIELD": _choice("id", "employeeidincompany"),
    "HIBOB_UPN_FIELD": _vendor_field,
    "PERSONIO_ENABLED": _boolean,
    "PERSONIO_API_BASE_URL": _https_base_url,
    "PERSONIO_CLIENT_ID": _vendor_token,
    "PERSONIO_CLIENT_SECRET_NAME": _secret_name,
    "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME": _secret_name,
    "PERSONIO_WEBHOOK_AUTH_HEADER": _header_name,
    "PERSONIO_COMPANY_ID": _vendor_token,
    "PERSONIO_UPN_ATTRIBUTE": _vendor_field,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration; one attribute per entry of `SETTINGS` (lower-cased name) plus derived ids."""

    provisioning_api_endpoint: str
    graph_api_version: GraphApiVersion
    service_principal_id: str
    job_id: str
    upn_domain: str
    mail_domain: str
    mail_sender: str
    it_notify_address: str
    graph_auth: GraphAuth
    azure_client_id: str | None
    azure_tenant_id: str | None
    key_vault_url: str | None
    graph_client_secret_name: str | None
    hr_signing_secret_name: str | None
    signature_tolerance_seconds: int
    secret_cache_ttl_seconds: int
    provision_lead_days: int
    sync_timeout_minutes: int
    sync_wait_mode: SyncWaitMode
    sync_watch_interval_seconds: int
    credential_method: CredentialMethod
    tap_lifetime_minutes: int
    tap_start_local_time: time
    credential_recipient: CredentialRecipient
    update_creates_missing: bool
    termination_local_time: time
    revoke_sessions: bool
    bulk_calls_per_5s: int
    bulk_daily_call_quota: int
    termination_breaker_limit: int
    breaker_daily_limit: int
    breaker_batch_limit: int
    rehire_hold_after_days: int
    protected_group_ids: tuple[str, ...] | None
    retention_days: int
    mail_permission: MailPermission
    approver_app_role: str | None
    scim_extension_urn: str
    transliteration: Transliteration
    name_patterns: tuple[str, ...]
    name_suffix_pattern: str
    name_conflict_retries: int
    default_time_zone: str
    templates_dir: str | None
    welcome_to_new_mailbox: bool
    rename_on_name_change: bool
    upload_coalesce_seconds: int
    batch_upload_wait_seconds: int
    provisioning_poll_initial_seconds: int
    provisioning_poll_max_seconds: int
    taskhub_name: str
    mapped_webhook_mapping_file: str | None
    mapped_webhook_auth: MappedWebhookAuth
    mapped_webhook_secret_name: str | None
    mapped_webhook_signature_header: str
    mapped_webhook_timestamp_header: str
    mapped_webhook_token_header: str
    reconcile_schedule: str | None
    reconcile_source: str | None
    reconcile_auto_apply: tuple[str, ...] | None
    reconcile_roster_mapping_file: str | None
    reconcile_roster_max_bytes: int
    reconcile_attributes: tuple[str, ...]
    reconcile_scope: str
    reconcile_max_creates: int
    reconcile_max_creates_percent: int
    reconcile_max_updates: int
    reconcile_max_updates_percent: int
    reconcile_max_disables: int
    reconcile_max_disables_percent: int
    reconcile_plan_max_age_hours: int
    breaker_create_limit: int
    breaker_update_limit: int
    hris_writeback: bool
    bamboohr_enabled: bool
    bamboohr_company_domain: str | None
    bamboohr_api_base_url: str
    bamboohr_api_key_secret_name: str | None
    bamboohr_webhook_secret_name: str | None
    bamboohr_employee_id_field: str
    bamboohr_upn_field: str | None
    hibob_enabled: bool
    hibob_api_base_url: str
    hibob_service_user_id: str | None
    hibob_service_user_token_secret_name: str | None
    hibob_webhook_secret_name: str | None
    hibob_company_id: str | None
    hibob_employee_id_field: str
    hibob_upn_field: str | None
    personio_enabled: bool
    personio_api_base_url: str
    personio_client_id: str | None
    personio_client_secret_name: str | None
    personio_webhook_token_secret_name: str | None
    personio_webhook_auth_header: str
    personio_company_id: str | None
    personio_upn_attribute: str | None

    @property
    def signing_enabled(self) -> bool:
        """Request signing is on exactly when a signing secret name is configured."""
        return self.hr_signing_secret_name is not None

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_time_zone)

    def name_policy(self) -> NamePolicy:
        """The user name generator's policy (docs/design.md, "Names") from these settings."""
        return NamePolicy(
            upn_domain=self.upn_domain,
            mail_domain=self.mail_domain,
            patterns=self.name_patterns,
            suffix_pattern=self.name_suffix_pattern,
            transliteration=self.transliteration,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting from `env` (default: os.environ).

        Empty or blank values count as unset, because App Service and Bicep often write "" for
        optional settings. Raises SettingsError listing every problem at once.
        """
        source = os.environ if env is None else env
        problems: list[str] = []
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for spec in SETTINGS:
            raw = (source.get(spec.name) or "").strip()
            if not raw:
                raw = spec.default or ""
            if not raw:
                if spec.required:
                    problems.append(f"{spec.name} is required: {spec.description}")
                values[spec.name] = None
                continue
            try:
                values[spec.name] = _PARSERS[spec.name](raw)
            except ValueError as error:
                problems.append(f"{spec.name}: {error}")
                values[spec.name] = None
                failed.add(spec.name)
        problems.extend(_cross_field_problems(values, failed))
        if problems:
            raise SettingsError(problems)

        endpoint = cast(BulkUploadEndpoint, values.pop("PROVISIONING_API_ENDPOINT"))
        kwargs = {name.lower(): value for name, value in values.items()}
        kwargs["mail_domain"] = kwargs["mail_domain"] or kwargs["upn_domain"]
        return cls(
            provisioning_api_endpoint=endpoint.url,
            graph_api_version=endpoint.api_version,
            service_principal_id=endpoint.service_principal_id,
            job_id=endpoint.job_id,
            **kwargs,
        )

    @staticmethod
    def defaults_table() -> tuple[SettingSpec, ...]:
        """Every setting with default, required flag and description (for docs and infra checks)."""
        return SETTINGS

    def public_summary(self) -> dict[str, str | int | bool | None]:
        """The configuration as plain values for the health endpoint; holds no secret, only secret names."""
        summary: dict[str, str | int | bool | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, time):
                value = value.strftime("%H:%M")
            elif isinstance(value, tuple):
                value = ",".join(value)
            summary[field.name] = value
        return summary


def _cross_field_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    """Rules that involve more than one setting; a value that failed to parse was reported already."""
    problems: list[str] = []
    if values["GRAPH_AUTH"] == "client_secret":
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "KEY_VAULT_URL", "GRAPH_CLIENT_SECRET_NAME"):
            if values[name] is None and name not in failed:
                problems.append(f"{name} is required when GRAPH_AUTH=client_secret")
    signing = values["HR_SIGNING_SECRET_NAME"] is not None
    if signing and values["KEY_VAULT_URL"] is None and "KEY_VAULT_URL" not in failed:
        problems.append("KEY_VAULT_URL is required when HR_SIGNING_SECRET_NAME is set (request signing)")
    problems.extend(_mapped_webhook_problems(values, failed))
    upn_domain = values["UPN_DOMAIN"]
    if upn_domain is not None and len(upn_domain) > USER_PRINCIPAL_NAME_MAX - 1 - SAM_ACCOUNT_NAME_MAX:
        problems.append(
            f"UPN_DOMAIN is too long: user names need at least {SAM_ACCOUNT_NAME_MAX} characters "
            f"before the domain within Entra's {USER_PRINCIPAL_NAME_MAX}-character UPN limit"
        )
    initial = values["PROVISIONING_POLL_INITIAL_SECONDS"]
    longest = values["PROVISIONING_POLL_MAX_SECONDS"]
    if initial is not None and longest is not None and longest < initial:
        problems.append(
            f"PROVISIONING_POLL_MAX_SECONDS ({longest}) must not be below PROVISIONING_POLL_INITIAL_SECONDS ({initial})"
        )
    problems.extend(_reconcile_problems(values, failed))
    problems.extend(_connector_problems(values, failed))
    timeout = values["SYNC_TIMEOUT_MINUTES"]
    if initial is not None and timeout is not None and initial >= timeout * 60:
        problems.append(
            f"PROVISIONING_POLL_INITIAL_SECONDS ({initial}) must be shorter than SYNC_TIMEOUT_MINUTES ({timeout} min)"
        )
    interval = values["SYNC_WATCH_INTERVAL_SECONDS"]
    if interval is not None and timeout is not None and interval >= timeout * 60:
        problems.append(
            f"SYNC_WATCH_INTERVAL_SECONDS ({interval}) must be shorter than SYNC_TIMEOUT_MINUTES ({timeout} min)"
        )
    return problems


def _mapped_webhook_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    auth = values["MAPPED_WEBHOOK_AUTH"]
    if auth in (None, "none"):
        return []
    problems = []
    if values["MAPPED_WEBHOOK_SECRET_NAME"] is None and "MAPPED_WEBHOOK_SECRET_NAME" not in failed:
        problems.append(f"MAPPED_WEBHOOK_SECRET_NAME is required when MAPPED_WEBHOOK_AUTH={auth}")
    if values["KEY_VAULT_URL"] is None and "KEY_VAULT_URL" not in failed:
        problems.append(f"KEY_VAULT_URL is required when MAPPED_WEBHOOK_AUTH={auth} (the secret lives in Key Vault)")
    signature, timestamp = values["MAPPED_WEBHOOK_SIGNATURE_HEADER"], values["MAPPED_WEBHOOK_TIMESTAMP_HEADER"]
    if auth == "hmac" and signature and timestamp and signature.lower() == timestamp.lower():
        problems.append("MAPPED_WEBHOOK_SIGNATURE_HEADER and MAPPED_WEBHOOK_TIMESTAMP_HEADER must differ")
    return problems


# What each enabled HR connector needs before a webhook can be verified or a record fetched.
CONNECTOR_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "BAMBOOHR_ENABLED": ("BAMBOOHR_COMPANY_DOMAIN", "BAMBOOHR_API_KEY_SECRET_NAME", "BAMBOOHR_WEBHOOK_SECRET_NAME"),
    "HIBOB_ENABLED": ("HIBOB_SERVICE_USER_ID", "HIBOB_SERVICE_USER_TOKEN_SECRET_NAME", "HIBOB_WEBHOOK_SECRET_NAME"),
    "PERSONIO_ENABLED": ("PERSONIO_CLIENT_ID", "PERSONIO_CLIENT_SECRET_NAME", "PERSONIO_WEBHOOK_TOKEN_SECRET_NAME"),
}


def _connector_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    problems: list[str] = []
    for switch, needed in CONNECTOR_REQUIREMENTS.items():
        if not values[switch]:
            continue
        for name in (*needed, "KEY_VAULT_URL"):
            if values[name] is None and name not in failed:
                problems.append(f"{name} is required when {switch}=true")
    return problems


def _reconcile_problems(values: Mapping[str, Any], failed: set[str]) -> list[str]:
    """A schedule needs a connector to read from, and that connector must be switched on."""
    if values["RECONCILE_SCHEDULE"] is None:
        return []
    source = values["RECONCILE_SOURCE"]
    if source is None:
        return [] if "RECONCILE_SOURCE" in failed else ["RECONCILE_SOURCE is required when RECONCILE_SCHEDULE is set"]
    switch = f"{source.upper()}_ENABLED"
    if not values.get(switch):
        return [f"{switch} must be true for RECONCILE_SOURCE={source}"]
    return []
