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

@description('Name of the HR request-signing secret to store; empty = store none (signing off, or managed by hand).')
param signingSecretName string = ''

@secure()
@description('Value of the HR request-signing secret (azd generates it once and reads it back from the vault); empty = leave the vault as it is.')
param signingSecretValue string = ''

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

// The HR system's signing secret: written only when a value is given, so a deployment without one never
// overwrites a secret the operator rotated by hand.
resource signingSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(signingSecretName) && !empty(signingSecretValue)) {
  parent: vault
  name: empty(signingSecretName) ? 'unused' : signingSecretName
  properties: {
    value: signingSecretValue
    contentType: 'HMAC-SHA256 key for X-HR-Signature (docs/security.md)'
  }
}

output name string = vault.name
output resourceId string = vault.id
@description('Vault URI, e.g. https://kv-hr-abc.vault.azure.net/ (becomes KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri
