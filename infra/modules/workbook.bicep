// Application Insights workbook for operators: HR events by stage and outcome, failures by error code.
// The queries live in ../workbooks/hr-events.workbook.json so they can be edited in the portal's
// Advanced editor and pasted back without touching Bicep.

@description('Display name shown in the portal\'s Workbooks gallery.')
param displayName string

@description('Azure region.')
param location string

@description('Tags applied to the workbook.')
param tags object

@description('Resource id of the Application Insights component the queries run against.')
param applicationInsightsResourceId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // Workbook resource names must be GUIDs; derive a stable one so redeploys update in place.
  name: guid(resourceGroup().id, applicationInsightsResourceId, 'hr-events-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    version: 'Notebook/1.0'
    sourceId: applicationInsightsResourceId
    serializedData: loadTextContent('../workbooks/hr-events.workbook.json')
  }
}

output workbookResourceId string = workbook.id
