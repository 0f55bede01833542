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

@description('The product\'s settings (name -> value, see provisioning/settings.py). Empty values are left unset so the app applies its own default.')
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

@description('Always-ready instances for the durable trigger group (Flex docs recommend 1 for Durable apps; 0 = scale to zero).')
@minValue(0)
@maxValue(20)
param durableAlwaysReadyInstances int = 1

var useDurableTaskScheduler = !empty(durableTaskSchedulerEndpoint)

// Empty product settings are dropped: the app treats unset and empty alike and applies its default.
var productSettings = toObject(filter(items(appSettings), setting => !empty(setting.value)), setting => setting.key, setting => setting.value)

var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // Local auth is off on the component, so telemetry must be Entra-authenticated as the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
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
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
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
