// Log Analytics + Application Insights with local auth off: telemetry is accepted only from Entra ID identities.

param logAnalyticsName string
param appInsightsName string
param location string
param tags object

@description('Principal id of the app\'s user-assigned identity (gets Monitoring Metrics Publisher).')
param appPrincipalId string

@description('Resource id of that identity; names the role assignments (known before deployment, unlike the principal id).')
param appIdentityId string

@description('Days Log Analytics keeps data (30 is included in the ingestion price).')
param retentionInDays int

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appIdentityId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

// Not a secret: the connection string only names the resource; with local auth off it grants nothing by itself.
output connectionString string = appInsights.properties.ConnectionString
output name string = appInsights.name
