// Key Vault for the optional Graph client secret and the HR request-signing secret. RBAC only (no access
// policies), soft delete and purge protection on, so a deleted secret can always be recovered.

@description('Vault name: 3-24 letters, digits and hyphens, starting with a letter.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('When true, public network access is limited to allowedIpRanges and the private endpoint.')
param privateNetworking bool = false

@description('Public IPv4 addresses or CIDR ranges (e.g. an operator\'s egress) allowed while privateNetworking is on.')
param allowedIpRanges string[] = []

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: privateNetworking && empty(allowedIpRanges) ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
      ipRules: [for range in allowedIpRanges: { value: range }]
    }
  }
}

output name string = vault.name
output resourceId string = vault.id
@description('Vault URI, e.g. https://kv-hr-abc.vault.azure.net/ (becomes KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri
