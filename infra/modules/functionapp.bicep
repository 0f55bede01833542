// Flex Consumption plan and the Python function app. Identity only: the host, the Durable task hub, the
// deployment package, telemetry and Key Vault references all authenticate as the user-assigned identity.
// Settings the Flex plan rejects (FUNCTIONS_WORKER_RUNTIME, WEBSITE_RUN_FROM_PACKAGE, ...) are replaced by
// functionAppConfig and never set here.

@description('Function app name.')
param name string

@description('App Service plan (Flex Consumption) name.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('azd service name in azure.yaml; azd finds the app to deploy by this tag.')
param azdServiceName string = 'api'

@description('Resource id of the user-assigned managed identity.')
param identityResourceId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Storage account for AzureWebJobsStorage and the deployment package.')
param storageAccountName string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights component for telemetry.')
param applicationInsightsName string

@description('The product\'s settings (name -> value, see provisioning/settings/spec.py). Empty values are left unset so the app applies its own default.')
param appSettings object

@description('Subnet for VNet integration (delegated to Microsoft.App/environments). Empty = no VNet integration.')
param virtualNetworkSubnetId string = ''

@description('Durable Task Scheduler endpoint. Empty = Durable Functions uses the Azure Storage backend.')
param durableTaskSchedulerEndpoint string = ''

@description('Python version of the Flex runtime.')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.12'

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances Flex Consumption scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Comma-separated public IPv4 addresses or CIDR ranges of the HR system (and operators) allowed to call the app; empty = any address (the function key and the request signature still apply).')
param allowedIpRanges string = ''

@description('Client id of an Entra app registration for App Service authentication (bearer tokens for approvers); empty = off.')
param authClientId string = ''

@description('True when the app is reached only through its private endpoint: public network access is switched off.')
param privateEndpointOnly bool = false

@description('Largest request body the Functions host accepts, in bytes; larger bodies are refused before the app reads them.')
param maxRequestBodyBytes int = 2097152

@description('Always-ready instances for the durable trigger group (Flex docs recommend 1 for Durable apps; 0 = scale to zero).')
@minValue(0)
@maxValue(20)
param durableAlwaysReadyInstances int = 1

var useDurableTaskScheduler = !empty(durableTaskSchedulerEndpoint)
var allowedRanges = filter(map(split(allowedIpRanges, ','), range => trim(range)), range => !empty(range))

// Empty product settings are dropped: the app treats unset and empty alike and applies its default.
var productSettings = toObject(filter(items(appSettings), setting => !empty(setting.value)), setting => setting.key, setting => setting.value)

var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // Local auth is off on the component, so telemetry must be Entra-authenticated as the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The host refuses bodies above this before the worker copies them (the app's own limit is 1 MiB).
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(maxRequestBodyBytes)
}

// host.json selects the Azure Storage backend; these host.json overrides switch it to the scheduler.
var durableTaskSchedulerSettings = useDurableTaskScheduler
  ? {
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    }
  : {}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Without this, @Microsoft.KeyVault(...) references would be resolved with a system identity the app lacks.
    keyVaultReferenceIdentity: identityResourceId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    publicNetworkAccess: privateEndpointOnly ? 'Disabled' : 'Enabled'
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Only the HR system's egress addresses reach the app when they are given; deployments go through the
      // scm site, which keeps its own (Entra-only, basic auth off) access.
      ipSecurityRestrictions: [
        for (range, i) in allowedRanges: {
          name: 'hr-system-${i}'
          action: 'Allow'
          priority: 100 + i
          ipAddress: contains(range, '/') ? range : '${range}/32'
        }
      ]
      ipSecurityRestrictionsDefaultAction: empty(allowedRanges) ? 'Allow' : 'Deny'
      scmIpSecurityRestrictionsUseMain: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: durableAlwaysReadyInstances > 0
          ? [
              {
                name: 'durable'
                instanceCount: durableAlwaysReadyInstances
              }
            ]
          : []
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }

  resource appSettingsConfig 'config' = {
    name: 'appsettings'
    properties: union(productSettings, durableTaskSchedulerSettings, hostSettings)
  }

  // App Service authentication for approvers: bearer tokens for the app registration are validated by the
  // platform, which then injects X-MS-CLIENT-PRINCIPAL (and strips it from incoming requests). Anonymous calls
  // still reach the app, where the function key and the HR signature apply; the app requires the role named by
  // APPROVER_APP_ROLE of a signed-in caller who approves or rescinds without the signature.
  resource authSettings 'config' = if (!empty(authClientId)) {
    name: 'authsettingsV2'
    properties: {
      platform: {
        enabled: true
      }
      globalValidation: {
        requireAuthentication: false
        unauthenticatedClientAction: 'AllowAnonymous'
      }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            clientId: authClientId
            openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          }
          validation: {
            allowedAudiences: [
              'api://${authClientId}'
              authClientId
            ]
          }
        }
      }
      login: {
        tokenStore: {
          enabled: false
        }
      }
    }
  }

  // Deployment uses Entra tokens; publishing with basic-auth credentials stays off.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }

  resource ftpBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }
}

output name string = site.name
output resourceId string = site.id
output defaultHostName string = site.properties.defaultHostName
