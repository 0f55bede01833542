// Microsoft Graph application permissions for the app's managed identity. A separate entry point because
// it needs a privileged caller (Privileged Role Administrator or Global Administrator: the deployment
// needs AppRoleAssignment.ReadWrite.All and Application.Read.All), which the everyday infrastructure
// pipeline should not hold.
//
//   az deployment group create -g <rg> -f infra/graph/main.bicep \
//     -p managedIdentityPrincipalId=<MANAGED_IDENTITY_PRINCIPAL_ID output of infra/main.bicep>
//
// Roles are looked up by name on the tenant's Microsoft Graph service principal, so no tenant-specific
// id is hard-coded. credentialMethod and revokeSessions take the same values as the app settings
// CREDENTIAL_METHOD and REVOKE_SESSIONS: grant exactly what the configured options need.

extension microsoftGraphV1

targetScope = 'resourceGroup'

@description('Object id of the managed identity\'s service principal (MANAGED_IDENTITY_PRINCIPAL_ID), or of the app registration\'s service principal with GRAPH_AUTH=client_secret.')
@minLength(36)
@maxLength(36)
param managedIdentityPrincipalId string

@description('CREDENTIAL_METHOD: tap (Temporary Access Pass), password or none.')
@allowed([
  'tap'
  'password'
  'none'
])
param credentialMethod string = 'tap'

@description('REVOKE_SESSIONS: true or 1 when leavers\' sign-in sessions are revoked.')
param revokeSessions string = 'true'

@description('True when Mail.Send is granted per mailbox through Exchange Online RBAC for Applications instead (see docs/deploy.md): the tenant-wide Entra grant would otherwise add to it and allow every mailbox.')
param mailSendViaExchangeRbac bool = false

@description('Further Graph application permissions to grant, by name (e.g. Synchronization.Read.All).')
param additionalAppRoles string[] = []

// Microsoft Graph's application id is the same in every tenant.
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

// Needed whatever the options: bulk upload, provisioning logs, user and manager lookups.
var baseAppRoles = [
  'SynchronizationData-User.Upload'
  'AuditLog.Read.All'
  'User.Read.All'
]
var mailAppRoles = mailSendViaExchangeRbac
  ? []
  : [
      'Mail.Send'
    ]
var credentialAppRoles = {
  tap: [
    'UserAuthenticationMethod.ReadWrite.All'
  ]
  // App-only password resets also need the User Administrator directory role (see docs/deploy.md).
  password: [
    'User.ReadWrite.All'
  ]
  none: []
}
var revokeAppRoles = contains(
    [
      'true'
      '1'
    ],
    toLower(revokeSessions)
  )
  ? [
      'User.RevokeSessions.All'
    ]
  : []
var appRoles = union(baseAppRoles, mailAppRoles, credentialAppRoles[credentialMethod], revokeAppRoles, additionalAppRoles)

resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource appRoleGrants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in appRoles: {
    resourceId: microsoftGraph.id
    principalId: managedIdentityPrincipalId
    appRoleId: filter(
      microsoftGraph.appRoles,
      appRole => appRole.value == role && contains(appRole.allowedMemberTypes, 'Application')
    )[0].id
  }
]

@description('Graph application permissions granted to the identity.')
output grantedAppRoles string[] = appRoles
