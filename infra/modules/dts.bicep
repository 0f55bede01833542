// Optional Durable Task Scheduler backend: a managed scheduler and task hub. Its portal dashboard lists
// every orchestration instance with history, which the Azure Storage backend does not offer.

@description('Scheduler name.')
param name string

@description('Azure region (must offer Durable Task Scheduler).')
param location string

@description('Tags applied to the scheduler.')
param tags object

@description('Task hub name; equals the app\'s TASKHUB_NAME.')
param taskHubName string

@description('Object id of the app\'s managed identity (gets Durable Task Data Contributor).')
param principalId string

@description('Optional: object id of a person or group that may use the dashboard. Empty = none.')
param dashboardPrincipalId string = ''

@description('Principal type of dashboardPrincipalId.')
@allowed([
  'User'
  'Group'
])
param dashboardPrincipalType string = 'User'

@description('Scheduler SKU: Consumption (pay per use) or Dedicated.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Public IPv4 ranges allowed to reach the scheduler endpoint (identity is still required).')
param ipAllowlist string[] = [
  '0.0.0.0/0'
]

var roleIds = {
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    sku: skuName == 'Dedicated'
      ? {
          name: 'Dedicated'
          capacity: 1
        }
      : {
          name: 'Consumption'
        }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource appDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, principalId, roleIds.durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.durableTaskDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource dashboardDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(dashboardPrincipalId)) {
  name: guid(scheduler.id, dashboardPrincipalId, roleIds.durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.durableTaskDataContributor)
    principalId: dashboardPrincipalId
    principalType: dashboardPrincipalType
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
@description('Where operators watch orchestrations (needs Durable Task Data Contributor or Reader).')
output dashboardUrl string = 'https://dashboard.durabletask.io/?endpoint=${uriComponent(scheduler.properties.endpoint)}&taskhub=${taskHub.name}'
