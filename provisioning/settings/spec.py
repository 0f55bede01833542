"""The app settings by name: default as written in the environment, purpose and a safe example.

`SETTINGS` is the single source of truth for setting names: the README table, the Bicep parameters and
`local.settings.example.json` are generated from it or checked against it, and the defaults the app applies
are read from it (provisioning.settings.model), so a default is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SCIM_EXTENSION_URN = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
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
SPECS_BY_NAME: dict[str, SettingSpec] = {spec.name: spec for spec in SETTINGS}
