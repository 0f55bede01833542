// HR provisioning: everything the function app needs in one resource group. Deploy with `azd up`, or
// `az deployment group create -g <rg> -f infra/main.bicep -p infra/main.parameters.json` after exporting
// the variables it names. Microsoft Graph permissions are a separate, privileged step: infra/graph/main.bicep.
//
// Every app setting of provisioning/settings/spec.py is a parameter below (camelCase of the setting name)
// with the same default; tests/infra checks this against SETTINGS, so keep them in step.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------
// Deployment shape
// ---------------------------------------------------------------------------------------------------

@description('azd environment name; part of every resource name\'s unique token.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource (must offer Flex Consumption).')
param location string = resourceGroup().location

@description('Short lowercase workload name used in resource names.')
@minLength(2)
@maxLength(8)
param workloadName string = 'hrprov'

@description('Private networking: VNet integration plus private endpoints for blob, queue, table and Key Vault; public access to storage and vault off.')
param vnetEnabled bool = false

@description('With vnetEnabled: public IPv4 addresses or CIDR ranges still allowed to reach Key Vault (e.g. to add secrets).')
param keyVaultAllowedIpRanges string[] = []

@description('Comma-separated public IPv4 addresses or CIDR ranges (the HR system\'s egress, operators) that may call the app; empty = any address, with the function key and request signature still required.')
param hrSystemAllowedIpRanges string = ''

@description('With vnetEnabled: reach the app only through a private endpoint in the VNet (public network access off).')
param privateEndpointEnabled bool = false

@description('Request signing (X-HR-Signature) on every HR route, with the secret in this template\'s Key Vault. On by default; turn off only behind another authentication.')
param requestSigning bool = true

@secure()
@description('The HR signing secret to store in Key Vault. azd fills it from the vault, or generates it once (main.parameters.json); empty = leave the vault as it is.')
param hrSigningSecret string = ''

@description('Optional: client id of an Entra app registration for App Service authentication, so approvers can approve or rescind with an Entra token holding APPROVER_APP_ROLE. Empty = off.')
param approverAuthClientId string = ''

@description('Durable Functions backend. DurableTaskScheduler adds a scheduler, task hub and the portal\'s orchestration dashboard.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler SKU (with durableBackend=DurableTaskScheduler).')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('Optional: object id of the person or group that watches orchestrations in the scheduler dashboard.')
param durableDashboardPrincipalId string = ''

@description('Optional: object id of a deployer (user, group or pipeline) that gets Key Vault Secrets Officer to store secrets. Empty = none.')
param secretsOfficerPrincipalId string = ''

@description('Principal type of secretsOfficerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param secretsOfficerPrincipalType string = 'User'

@description('Python version of the Flex Consumption runtime.')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.12'

@description('Memory per Flex Consumption instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the durable trigger group (1 is what the Flex docs recommend for Durable apps; 0 = scale to zero).')
@minValue(0)
@maxValue(20)
param durableAlwaysReadyInstances int = 1

// ---------------------------------------------------------------------------------------------------
// App settings (provisioning/settings/spec.py SETTINGS); empty = the app's own default
// ---------------------------------------------------------------------------------------------------

@description('PROVISIONING_API_ENDPOINT: The provisioning app\'s bulkUpload URL as shown in the portal (Provisioning API Endpoint); the service principal id and job id are parsed from it.')
@minLength(1)
param provisioningApiEndpoint string

@description('UPN_DOMAIN: Domain of generated userPrincipalNames.')
@minLength(1)
param upnDomain string

@description('MAIL_DOMAIN: Domain of generated mail addresses; empty = UPN_DOMAIN.')
param mailDomain string = ''

@description('MAIL_SENDER: Mailbox (UPN or address) the app sends notifications from via Graph sendMail.')
@minLength(1)
param mailSender string

@description('IT_NOTIFY_ADDRESS: Address that receives failure alerts, leaver notices and mail for hires without a manager.')
@minLength(1)
param itNotifyAddress string

@description('GRAPH_AUTH: How the app gets Graph tokens: managed_identity or client_secret (secret read from Key Vault).')
param graphAuth string = 'managed_identity'

@description('AZURE_CLIENT_ID: Client id of the app registration when GRAPH_AUTH=client_secret. Empty = the managed identity this template creates.')
param azureClientId string = ''

@description('AZURE_TENANT_ID: Tenant id or domain for GRAPH_AUTH=client_secret. Empty = this deployment\'s tenant.')
param azureTenantId string = ''

@description('KEY_VAULT_URL: Key Vault URL holding the Graph client secret, the HR signing secret and the mapped webhook\'s secret. Empty = the vault this template creates.')
param keyVaultUrl string = ''

@description('GRAPH_CLIENT_SECRET_NAME: Key Vault secret holding the Graph client secret; required for client_secret.')
param graphClientSecretName string = ''

@description('HR_SIGNING_SECRET_NAME: Key Vault secret holding the HMAC key for X-HR-Signature; setting it turns request signing on.')
param hrSigningSecretName string = ''

@description('SIGNATURE_TOLERANCE_SECONDS: Accepted clock skew for X-HR-Timestamp, in seconds.')
param signatureToleranceSeconds string = '300'

@description('SECRET_CACHE_TTL_SECONDS: How long Key Vault secrets stay cached in memory (rotation pickup).')
param secretCacheTtlSeconds string = '900'

@description('PROVISION_LEAD_DAYS: Hires and rehires are provisioned this many days before the start date (00:00 local).')
param provisionLeadDays string = '7'

@description('SYNC_TIMEOUT_MINUTES: Deadline, from the upload, for the provisioning outcome and the Entra Connect sync.')
param syncTimeoutMinutes string = '60'

@description('SYNC_WAIT_MODE: watch: one watcher reads the provisioning logs and the directory\'s changes for every waiting event; poll: each event polls logs and Entra with backoff; fixed: wait the full timeout, then look once.')
param syncWaitMode string = 'watch'

@description('SYNC_WATCH_INTERVAL_SECONDS: How often the sync watcher reads the provisioning logs and the directory\'s changes (SYNC_WAIT_MODE=watch).')
param syncWatchIntervalSeconds string = '30'

@description('CREDENTIAL_METHOD: First credential: tap (Temporary Access Pass), password or none.')
param credentialMethod string = 'tap'

@description('TAP_LIFETIME_MINUTES: Temporary Access Pass lifetime in minutes (Entra allows 10..43200).')
param tapLifetimeMinutes string = '480'

@description('TAP_START_LOCAL_TIME: Local time (HH:MM) on the start date when the pass becomes usable.')
param tapStartLocalTime string = '08:00'

@description('CREDENTIAL_RECIPIENT: Who receives the first credential: manager, personal or both.')
param credentialRecipient string = 'manager'

@description('UPDATE_CREATES_MISSING: When true an update for an unknown employeeId runs as a hire instead of failing.')
param updateCreatesMissing string = 'false'

@description('TERMINATION_LOCAL_TIME: Local time (HH:MM) on the last working day when a leaver is disabled.')
param terminationLocalTime string = '18:00'

@description('REVOKE_SESSIONS: Revoke sign-in sessions after a termination is provisioned.')
param revokeSessions string = 'true'

@description('BULK_CALLS_PER_5S: Client-side pace of bulkUpload calls in any 5 seconds; deliberately conservative (Microsoft documents 40 per 5 s and, in the API reference, 40 per second).')
param bulkCallsPer5s string = '40'

@description('BULK_DAILY_CALL_QUOTA: bulkUpload calls per UTC day (2000 with Entra ID P1/P2, 6000 with ID Governance).')
param bulkDailyCallQuota string = '2000'

@description('TERMINATION_BREAKER_LIMIT: Terminations and re-enables per rolling hour (counted when accepted and again when they run) above which further ones are held for approval.')
param terminationBreakerLimit string = '25'

@description('BREAKER_DAILY_LIMIT: Terminations and re-enables per effective date, and per rolling 24 hours when they run, above which further ones are held for approval.')
param breakerDailyLimit string = '50'

@description('BREAKER_BATCH_LIMIT: Terminations and rehires in one batch above which the batch\'s further ones are held for approval.')
param breakerBatchLimit string = '25'

@description('REHIRE_HOLD_AFTER_DAYS: An explicit rehire of an account disabled longer than this many days (or since an unknown time) is held for approval; 0 holds every rehire of an existing account.')
param rehireHoldAfterDays string = '30'

@description('PROTECTED_GROUP_IDS: Comma-separated object ids of Entra groups whose members are never re-enabled or given a first credential by this app.')
param protectedGroupIds string = ''

@description('RETENTION_DAYS: Days a finished event\'s orchestration (input, history, status) is kept before the daily purge.')
param retentionDays string = '30'

@description('MAIL_PERMISSION: exchange_rbac (Exchange Online RBAC for Applications scoped to MAIL_SENDER) or graph (the tenant-wide Mail.Send permission).')
param mailPermission string = 'exchange_rbac'

@description('APPROVER_APP_ROLE: App role an Entra-authenticated caller must hold to approve or rescind without the HR signature (needs approverAuthClientId).')
param approverAppRole string = ''

@description('SCIM_EXTENSION_URN: SCIM schema URN of the custom attributes (HireDate, LeaveDate, samAccountName, ...).')
param scimExtensionUrn string = 'urn:ietf:params:scim:schemas:extension:contoso:1.0:User'

@description('TRANSLITERATION: Name transliteration: basic (Zoë → zoe) or de (Müller → mueller).')
param transliteration string = 'basic'

@description('NAME_PATTERNS: Comma-separated name patterns tried in order; placeholders {given}, {family}, {given_initial}, {family_initial}, {middle_initial}.')
param namePatterns string = '{given}.{family},{given_initial}.{family}'

@description('NAME_SUFFIX_PATTERN: Pattern with {n} tried after NAME_PATTERNS, n = 2, 3, ...')
param nameSuffixPattern string = '{given}.{family}{n}'

@description('NAME_CONFLICT_RETRIES: How often a name conflict reported by the provisioning logs is retried with the next candidate.')
param nameConflictRetries string = '3'

@description('DEFAULT_TIME_ZONE: IANA time zone for employees whose event carries none.')
param defaultTimeZone string = 'UTC'

@description('TEMPLATES_DIR: Folder with email templates overriding the built-in ones (empty = built-in).')
param templatesDir string = ''

@description('WELCOME_TO_NEW_MAILBOX: Also send the welcome email to the new hire\'s own mailbox.')
param welcomeToNewMailbox string = 'false'

@description('RENAME_ON_NAME_CHANGE: When a legal name changes: false keeps the UPN and mail; true gives new ones from the new name and keeps the old address as an alias in proxyAddresses.')
param renameOnNameChange string = 'false'

@description('UPLOAD_COALESCE_SECONDS: Window in which single events share one bulkUpload request (0 = upload each at once).')
param uploadCoalesceSeconds string = '10'

@description('BATCH_UPLOAD_WAIT_SECONDS: How long a batch\'s last partial bulkUpload request waits for the batch\'s next record before the uploader looks whether the missing records are still on their way (they are then waited for again).')
param batchUploadWaitSeconds string = '180'

@description('PROVISIONING_POLL_INITIAL_SECONDS: First wait before polling the provisioning logs; doubles up to PROVISIONING_POLL_MAX_SECONDS.')
param provisioningPollInitialSeconds string = '30'

@description('PROVISIONING_POLL_MAX_SECONDS: Longest wait between provisioning log polls.')
param provisioningPollMaxSeconds string = '300'

@description('TASKHUB_NAME: Durable Functions task hub name (host.json uses %TASKHUB_NAME%).')
param taskhubName string = 'hrprovisioning'

@description('MAPPED_WEBHOOK_MAPPING_FILE: Mapping file (.yaml, .yml or .json; relative to the app root or absolute) that turns what an HR system posts to POST /api/hris/mapped into HR events (docs/mapping.md); empty = the route answers 404.')
param mappedWebhookMappingFile string = ''

@description('MAPPED_WEBHOOK_AUTH: How POST /api/hris/mapped checks the sender besides the function key: none, hmac (HMAC-SHA256 of \'<timestamp>.<body>\'), token (shared token in a header) or basic (HTTP basic user:password).')
param mappedWebhookAuth string = 'none'

@description('MAPPED_WEBHOOK_SECRET_NAME: Key Vault secret for MAPPED_WEBHOOK_AUTH: the HMAC key, the token, or user:password for basic.')
param mappedWebhookSecretName string = ''

@description('MAPPED_WEBHOOK_SIGNATURE_HEADER: Header carrying the hex (optionally sha256=) or base64 HMAC-SHA256 signature (MAPPED_WEBHOOK_AUTH=hmac).')
param mappedWebhookSignatureHeader string = 'X-HR-Signature'

@description('MAPPED_WEBHOOK_TIMESTAMP_HEADER: Header carrying the signed unix-seconds timestamp (hmac); accepted within SIGNATURE_TOLERANCE_SECONDS.')
param mappedWebhookTimestampHeader string = 'X-HR-Timestamp'

@description('MAPPED_WEBHOOK_TOKEN_HEADER: Header carrying the shared token (MAPPED_WEBHOOK_AUTH=token); Authorization takes \'Bearer <token>\'.')
param mappedWebhookTokenHeader string = 'Authorization'
@description('RECONCILE_SCHEDULE: When the scheduled reconciliation runs: a cron expression in UTC (5 fields, or 6 with seconds first as in Azure Functions), checked every 5 minutes; empty = no scheduled run.')
param reconcileSchedule string = ''

@description('RECONCILE_SOURCE: The HR system connector the scheduled run reads the population from: bamboohr, hibob or personio.')
param reconcileSource string = ''

@description('RECONCILE_AUTO_APPLY: Comma-separated drift classes a scheduled run applies by itself when its plan is not held: stale, missing, leaver-enabled, rehire-disabled; empty = scheduled runs only preview and mail the summary.')
param reconcileAutoApply string = ''

@description('RECONCILE_ROSTER_MAPPING_FILE: Mapping file (docs/mapping.md) for uploaded rosters that come without a mapping of their own.')
param reconcileRosterMappingFile string = ''

@description('RECONCILE_ROSTER_MAX_BYTES: Largest roster upload accepted, in bytes (the Bicep sets the host\'s body limit to match).')
param reconcileRosterMaxBytes string = '8388608'

@description('RECONCILE_ATTRIBUTES: Comma-separated HR fields compared with the account (drop those your provisioning mapping does not write).')
param reconcileAttributes string = 'givenName,familyName,displayName,jobTitle,department,companyName,employeeType,officeLocation,city,state,postalCode,country,businessPhone,mobilePhone,preferredLanguage'

@description('RECONCILE_SCOPE: Which accounts are judged for orphans and go-live cases: synced (synced from AD) or all (every member).')
param reconcileScope string = 'synced'

@description('RECONCILE_MAX_CREATES: A reconciliation plan creating more accounts than this is held.')
param reconcileMaxCreates string = '100'

@description('RECONCILE_MAX_CREATES_PERCENT: A plan creating more accounts than this percentage of the enabled accounts in scope is held.')
param reconcileMaxCreatesPercent string = '10'

@description('RECONCILE_MAX_UPDATES: A reconciliation plan updating more accounts than this is held.')
param reconcileMaxUpdates string = '500'

@description('RECONCILE_MAX_UPDATES_PERCENT: A plan updating more than this percentage of the enabled accounts in scope is held.')
param reconcileMaxUpdatesPercent string = '20'

@description('RECONCILE_MAX_DISABLES: A reconciliation plan disabling or re-enabling more accounts than this is held.')
param reconcileMaxDisables string = '25'

@description('RECONCILE_MAX_DISABLES_PERCENT: A plan disabling or re-enabling more than this percentage of the enabled accounts in scope is held.')
param reconcileMaxDisablesPercent string = '5'

@description('RECONCILE_PLAN_MAX_AGE_HOURS: A plan older than this is not applied (the directory has moved on): start a new run.')
param reconcilePlanMaxAgeHours string = '24'

@description('BREAKER_CREATE_LIMIT: Accounts created per rolling hour (hires and rehires without an account) above which further ones are held for approval.')
param breakerCreateLimit string = '500'

@description('BREAKER_UPDATE_LIMIT: Account updates per rolling hour above which further ones are held for approval.')
param breakerUpdateLimit string = '2000'

@description('HRIS_WRITEBACK: Write the work email (and UPN where configured) back to the HR system after a hire.')
param hrisWriteback string = 'true'

@description('BAMBOOHR_ENABLED: Accept BambooHR webhooks on POST /api/hris/bamboohr.')
param bamboohrEnabled string = 'false'

@description('BAMBOOHR_COMPANY_DOMAIN: BambooHR company subdomain (mycompany in mycompany.bamboohr.com).')
param bamboohrCompanyDomain string = ''

@description('BAMBOOHR_API_BASE_URL: BambooHR API base URL; {companyDomain} is replaced by BAMBOOHR_COMPANY_DOMAIN.')
param bamboohrApiBaseUrl string = 'https://api.bamboohr.com/api/gateway.php/{companyDomain}/v1'

@description('BAMBOOHR_API_KEY_SECRET_NAME: Key Vault secret holding the BambooHR API key (HTTP Basic user).')
param bamboohrApiKeySecretName string = ''

@description('BAMBOOHR_WEBHOOK_SECRET_NAME: Key Vault secret holding the BambooHR webhook private key (HMAC).')
param bamboohrWebhookSecretName string = ''

@description('BAMBOOHR_EMPLOYEE_ID_FIELD: Which BambooHR field is the employeeId in AD and Entra: id (internal id) or employeeNumber.')
param bamboohrEmployeeIdField string = 'id'

@description('BAMBOOHR_UPN_FIELD: BambooHR (custom) field that receives the UPN on writeback; empty = none.')
param bamboohrUpnField string = ''

@description('HIBOB_ENABLED: Accept HiBob webhooks on POST /api/hris/hibob.')
param hibobEnabled string = 'false'

@description('HIBOB_API_BASE_URL: HiBob API base URL (https://api.sandbox.hibob.com/v1 for the sandbox).')
param hibobApiBaseUrl string = 'https://api.hibob.com/v1'

@description('HIBOB_SERVICE_USER_ID: HiBob API service user id (HTTP Basic user).')
param hibobServiceUserId string = ''

@description('HIBOB_SERVICE_USER_TOKEN_SECRET_NAME: Key Vault secret holding the HiBob service user token.')
param hibobServiceUserTokenSecretName string = ''

@description('HIBOB_WEBHOOK_SECRET_NAME: Key Vault secret holding the HiBob webhook secret (Bob-Signature HMAC).')
param hibobWebhookSecretName string = ''

@description('HIBOB_COMPANY_ID: HiBob companyId; when set, webhooks for another company are refused.')
param hibobCompanyId string = ''

@description('HIBOB_EMPLOYEE_ID_FIELD: Which HiBob field is the employeeId in AD and Entra: employeeIdInCompany, or id (the backend id, often longer than the 16 characters an employeeId may have).')
param hibobEmployeeIdField string = 'employeeIdInCompany'

@description('HIBOB_UPN_FIELD: HiBob custom field path (e.g. /work/custom/field_123) that receives the UPN; empty = none.')
param hibobUpnField string = ''

@description('PERSONIO_ENABLED: Accept Personio webhooks on POST /api/hris/personio.')
param personioEnabled string = 'false'

@description('PERSONIO_API_BASE_URL: Personio API v2 base URL.')
param personioApiBaseUrl string = 'https://api.personio.de/v2'

@description('PERSONIO_CLIENT_ID: Personio API client id (client credentials).')
param personioClientId string = ''

@description('PERSONIO_CLIENT_SECRET_NAME: Key Vault secret holding the Personio API client secret.')
param personioClientSecretName string = ''

@description('PERSONIO_WEBHOOK_TOKEN_SECRET_NAME: Key Vault secret holding the token Personio sends with each webhook.')
param personioWebhookTokenSecretName string = ''

@description('PERSONIO_WEBHOOK_AUTH_HEADER: Header that carries the Personio webhook token (plain or Bearer).')
param personioWebhookAuthHeader string = 'Authorization'

@description('PERSONIO_COMPANY_ID: Personio company_id; when set, webhooks for another company are refused.')
param personioCompanyId string = ''

@description('PERSONIO_UPN_ATTRIBUTE: Personio custom attribute id that receives the UPN on writeback; empty = none.')
param personioUpnAttribute string = ''
// ---------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
  workload: workloadName
}
var functionAppName = '${abbrs.functionApp}${workloadName}-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'
// Signing is on unless turned off: the secret's name falls back to the one this template stores.
var signingSecretName = requestSigning ? (empty(hrSigningSecretName) ? 'hr-signing-secret' : hrSigningSecretName) : ''

// ---------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${abbrs.managedIdentity}${workloadName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.logAnalyticsWorkspace}${workloadName}-${resourceToken}'
    applicationInsightsName: '${abbrs.applicationInsights}${workloadName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    displayName: 'HR provisioning (${environmentName})'
    location: location
    tags: tags
    applicationInsightsResourceId: monitoring.outputs.applicationInsightsResourceId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbrs.storageAccount}${take(workloadName, 8)}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    privateNetworking: vnetEnabled
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: '${abbrs.keyVault}${take(workloadName, 6)}-${resourceToken}'
    location: location
    tags: tags
    privateNetworking: vnetEnabled
    allowedIpRanges: keyVaultAllowedIpRanges
    signingSecretName: signingSecretName
    signingSecretValue: hrSigningSecret
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    durableOnStorage: !useDurableTaskScheduler
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
    secretsOfficerPrincipalType: secretsOfficerPrincipalType
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  params: {
    name: '${abbrs.virtualNetwork}${workloadName}-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module durableTaskScheduler 'modules/dts.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  params: {
    name: '${abbrs.durableTaskScheduler}${workloadName}-${resourceToken}'
    location: location
    tags: tags
    taskHubName: taskhubName
    principalId: identity.outputs.principalId
    dashboardPrincipalId: durableDashboardPrincipalId
    skuName: durableTaskSchedulerSku
  }
}

// Settings the infrastructure knows better than the operator fall back to what this template created.
var productSettings = {
  PROVISIONING_API_ENDPOINT: provisioningApiEndpoint
  UPN_DOMAIN: upnDomain
  MAIL_DOMAIN: mailDomain
  MAIL_SENDER: mailSender
  IT_NOTIFY_ADDRESS: itNotifyAddress
  GRAPH_AUTH: graphAuth
  AZURE_CLIENT_ID: empty(azureClientId) ? identity.outputs.clientId : azureClientId
  AZURE_TENANT_ID: empty(azureTenantId) ? tenant().tenantId : azureTenantId
  KEY_VAULT_URL: empty(keyVaultUrl) ? keyVault.outputs.uri : keyVaultUrl
  GRAPH_CLIENT_SECRET_NAME: graphClientSecretName
  HR_SIGNING_SECRET_NAME: requestSigning ? signingSecretName : hrSigningSecretName
  SIGNATURE_TOLERANCE_SECONDS: signatureToleranceSeconds
  SECRET_CACHE_TTL_SECONDS: secretCacheTtlSeconds
  PROVISION_LEAD_DAYS: provisionLeadDays
  SYNC_TIMEOUT_MINUTES: syncTimeoutMinutes
  SYNC_WAIT_MODE: syncWaitMode
  SYNC_WATCH_INTERVAL_SECONDS: syncWatchIntervalSeconds
  CREDENTIAL_METHOD: credentialMethod
  TAP_LIFETIME_MINUTES: tapLifetimeMinutes
  TAP_START_LOCAL_TIME: tapStartLocalTime
  CREDENTIAL_RECIPIENT: credentialRecipient
  UPDATE_CREATES_MISSING: updateCreatesMissing
  TERMINATION_LOCAL_TIME: terminationLocalTime
  REVOKE_SESSIONS: revokeSessions
  BULK_CALLS_PER_5S: bulkCallsPer5s
  BULK_DAILY_CALL_QUOTA: bulkDailyCallQuota
  TERMINATION_BREAKER_LIMIT: terminationBreakerLimit
  BREAKER_DAILY_LIMIT: breakerDailyLimit
  BREAKER_BATCH_LIMIT: breakerBatchLimit
  REHIRE_HOLD_AFTER_DAYS: rehireHoldAfterDays
  PROTECTED_GROUP_IDS: protectedGroupIds
  RETENTION_DAYS: retentionDays
  MAIL_PERMISSION: mailPermission
  APPROVER_APP_ROLE: approverAppRole
  SCIM_EXTENSION_URN: scimExtensionUrn
  TRANSLITERATION: transliteration
  NAME_PATTERNS: namePatterns
  NAME_SUFFIX_PATTERN: nameSuffixPattern
  NAME_CONFLICT_RETRIES: nameConflictRetries
  DEFAULT_TIME_ZONE: defaultTimeZone
  TEMPLATES_DIR: templatesDir
  WELCOME_TO_NEW_MAILBOX: welcomeToNewMailbox
  RENAME_ON_NAME_CHANGE: renameOnNameChange
  UPLOAD_COALESCE_SECONDS: uploadCoalesceSeconds
  BATCH_UPLOAD_WAIT_SECONDS: batchUploadWaitSeconds
  PROVISIONING_POLL_INITIAL_SECONDS: provisioningPollInitialSeconds
  PROVISIONING_POLL_MAX_SECONDS: provisioningPollMaxSeconds
  TASKHUB_NAME: taskhubName
  MAPPED_WEBHOOK_MAPPING_FILE: mappedWebhookMappingFile
  MAPPED_WEBHOOK_AUTH: mappedWebhookAuth
  MAPPED_WEBHOOK_SECRET_NAME: mappedWebhookSecretName
  MAPPED_WEBHOOK_SIGNATURE_HEADER: mappedWebhookSignatureHeader
  MAPPED_WEBHOOK_TIMESTAMP_HEADER: mappedWebhookTimestampHeader
  MAPPED_WEBHOOK_TOKEN_HEADER: mappedWebhookTokenHeader
  RECONCILE_SCHEDULE: reconcileSchedule
  RECONCILE_SOURCE: reconcileSource
  RECONCILE_AUTO_APPLY: reconcileAutoApply
  RECONCILE_ROSTER_MAPPING_FILE: reconcileRosterMappingFile
  RECONCILE_ROSTER_MAX_BYTES: reconcileRosterMaxBytes
  RECONCILE_ATTRIBUTES: reconcileAttributes
  RECONCILE_SCOPE: reconcileScope
  RECONCILE_MAX_CREATES: reconcileMaxCreates
  RECONCILE_MAX_CREATES_PERCENT: reconcileMaxCreatesPercent
  RECONCILE_MAX_UPDATES: reconcileMaxUpdates
  RECONCILE_MAX_UPDATES_PERCENT: reconcileMaxUpdatesPercent
  RECONCILE_MAX_DISABLES: reconcileMaxDisables
  RECONCILE_MAX_DISABLES_PERCENT: reconcileMaxDisablesPercent
  RECONCILE_PLAN_MAX_AGE_HOURS: reconcilePlanMaxAgeHours
  BREAKER_CREATE_LIMIT: breakerCreateLimit
  BREAKER_UPDATE_LIMIT: breakerUpdateLimit
  HRIS_WRITEBACK: hrisWriteback
  BAMBOOHR_ENABLED: bamboohrEnabled
  BAMBOOHR_COMPANY_DOMAIN: bamboohrCompanyDomain
  BAMBOOHR_API_BASE_URL: bamboohrApiBaseUrl
  BAMBOOHR_API_KEY_SECRET_NAME: bamboohrApiKeySecretName
  BAMBOOHR_WEBHOOK_SECRET_NAME: bamboohrWebhookSecretName
  BAMBOOHR_EMPLOYEE_ID_FIELD: bamboohrEmployeeIdField
  BAMBOOHR_UPN_FIELD: bamboohrUpnField
  HIBOB_ENABLED: hibobEnabled
  HIBOB_API_BASE_URL: hibobApiBaseUrl
  HIBOB_SERVICE_USER_ID: hibobServiceUserId
  HIBOB_SERVICE_USER_TOKEN_SECRET_NAME: hibobServiceUserTokenSecretName
  HIBOB_WEBHOOK_SECRET_NAME: hibobWebhookSecretName
  HIBOB_COMPANY_ID: hibobCompanyId
  HIBOB_EMPLOYEE_ID_FIELD: hibobEmployeeIdField
  HIBOB_UPN_FIELD: hibobUpnField
  PERSONIO_ENABLED: personioEnabled
  PERSONIO_API_BASE_URL: personioApiBaseUrl
  PERSONIO_CLIENT_ID: personioClientId
  PERSONIO_CLIENT_SECRET_NAME: personioClientSecretName
  PERSONIO_WEBHOOK_TOKEN_SECRET_NAME: personioWebhookTokenSecretName
  PERSONIO_WEBHOOK_AUTH_HEADER: personioWebhookAuthHeader
  PERSONIO_COMPANY_ID: personioCompanyId
  PERSONIO_UPN_ATTRIBUTE: personioUpnAttribute
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: '${abbrs.appServicePlan}${workloadName}-${resourceToken}'
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: productSettings
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
    allowedIpRanges: hrSystemAllowedIpRanges
    authClientId: approverAuthClientId
    privateEndpointOnly: vnetEnabled && privateEndpointEnabled
    // The roster upload is the one route that takes more than 1 MiB; every other route refuses more itself.
    maxRequestBodyBytes: max(2097152, int(reconcileRosterMaxBytes) + 65536)
  }
  // The host starts with identity-only storage and telemetry: its roles must exist first.
  dependsOn: [
    rbac
  ]
}

module sitePrivateEndpoint 'modules/siteprivateendpoint.bicep' = if (vnetEnabled && privateEndpointEnabled) {
  name: 'site-private-endpoint'
  params: {
    functionAppName: functionApp.outputs.name
    location: location
    tags: tags
    virtualNetworkId: vnetEnabled ? network.outputs.virtualNetworkId : ''
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
  }
}

// ---------------------------------------------------------------------------------------------------
// Outputs: what the Graph step, azd and the operator need next. Names and ids only, never a secret.
// ---------------------------------------------------------------------------------------------------

output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_HOST_NAME string = functionApp.outputs.defaultHostName
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output DURABLE_TASK_DASHBOARD_URL string = useDurableTaskScheduler ? durableTaskScheduler.outputs.dashboardUrl : ''
