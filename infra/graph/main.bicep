// Microsoft Graph application permissions for the app's managed identity. A separate entry point because
// it needs a privileged caller (Privileged Role Administrator or Global Administrator: the deployment
// needs AppRoleAssignment.ReadWrite.All and Application.Read.All), which the everyday infrastructure
// pipeline should not hold.
//
//   az deployment group create -g <rg> -f infra/graph/main.bicep \
//     -p managedIdentityPrincipalId=<MANAGED_IDENTITY_PRINCIPAL_ID output of infra/main.bicep>
//
// Roles are looked up by name on the tenant's Microsoft Graph service principal, so no tenant-specific
// id is hard-coded. credentialMethod, revokeSessions and mailPermission take the same values as the app
// settings CREDENTIAL_METHOD, REVOKE_SESSIONS and MAIL_PERMISSION: grant exactly what the configured options
// need, each the narrowest permission that does the job (docs/security.md explains each one). The preflight
// (provisioning/credentials.py REQUIRED_GRAPH_ROLES) checks the same list; tests/infra keeps them equal.

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

@description('MAIL_PERMISSION: exchange_rbac (default: Mail.Send for the sender mailbox only, granted in Exchange Online RBAC for Applications, see docs/deploy.md; nothing is granted here, since a tenant-wide grant would add to it and allow every mailbox) or graph (the tenant-wide Mail.Send).')
@allowed([
  'exchange_rbac'
  'graph'
])
param mailPermission string = 'exchange_rbac'

@description('Further Graph application permissions to grant, by name (e.g. Synchronization.Read.All).')
param additionalAppRoles string[] = []

// Microsoft Graph's application id is the same in every tenant.
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

// Needed whatever the options: bulk upload, provisioning logs, user and manager lookups, and reading role
// assignments and PIM eligibilities so that no administrator is ever re-enabled or given a pass.
var baseAppRoles = [
  'SynchronizationData-User.Upload'
  'AuditLog.Read.All'
  'User.Read.All'
  'RoleManagement.Read.Directory'
]
var mailAppRoles = mailPermission == 'graph'
  ? [
      'Mail.Send'
    ]
  : []
var credentialAppRoles = {
  // The Temporary Access Pass permission alone, not UserAuthenticationMethod.ReadWrite.All (every method).
  tap: [
    'UserAuthMethod-TAP.ReadWrite.All'
  ]
  // Only the password profile, not User.ReadWrite.All; also needs the User Administrator directory role
  // (see docs/deploy.md).
  password: [
    'User-PasswordProfile.ReadWrite.All'
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
