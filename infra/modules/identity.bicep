// The user-assigned managed identity the function app runs as. User-assigned (not system-assigned) so
// that role assignments, the Graph app-role grants and Key Vault access exist before the app does and
// survive a re-created app.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output name string = identity.name
@description('Object id of the identity\'s service principal: the principal for Azure RBAC and Graph app roles.')
output principalId string = identity.properties.principalId
@description('Client (application) id: what AZURE_CLIENT_ID and AzureWebJobsStorage__clientId select.')
output clientId string = identity.properties.clientId
