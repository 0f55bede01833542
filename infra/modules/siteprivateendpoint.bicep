// Optional private endpoint for the function app itself (privateEndpointEnabled): the HR system then reaches the
// app only from inside the virtual network (or networks peered or connected to it), and the app's public endpoint
// is switched off in functionapp.bicep. Deployed after the app, which needs the VNet's subnet first.

@description('Function app that gets an inbound private endpoint.')
param functionAppName string

@description('Azure region.')
param location string

@description('Tags applied to the endpoint and its DNS zone.')
param tags object

@description('Virtual network id (for the DNS zone link).')
param virtualNetworkId string

@description('Subnet id for the private endpoint.')
param subnetId string

var siteZone = 'privatelink.azurewebsites.net'

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource siteZoneResource 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: siteZone
  location: 'global'
  tags: tags
}

resource siteZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: siteZoneResource
  name: '${functionAppName}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

resource sitePrivateEndpoint 'Microsoft.Network/privateEndpoints@2024-01-01' = {
  name: 'pe-${functionAppName}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: functionAppName
        properties: {
          privateLinkServiceId: site.id
          groupIds: [
            'sites'
          ]
        }
      }
    ]
  }
}

resource siteZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-01-01' = {
  parent: sitePrivateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'sites'
        properties: {
          privateDnsZoneId: siteZoneResource.id
        }
      }
    ]
  }
}
