// Azure AI Language for sentiment (ICRM_SENTIMENT_PROVIDER=azure). Entra ID auth needs a custom subdomain.

param name string
param location string
param tags object

@description('SKU: F0 (free, one per subscription) or S.')
@allowed([
  'F0'
  'S'
])
param sku string

@description('Principal id of the app\'s user-assigned identity (gets Cognitive Services User).')
param appPrincipalId string

@description('Resource id of that identity; names the role assignments (known before deployment, unlike the principal id).')
param appIdentityId string

var cognitiveServicesUser = 'a97b65f3-24c7-4388-baec-2e87135dc908'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'TextAnalytics'
  sku: {
    name: sku
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource userRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentityId, cognitiveServicesUser)
  scope: account
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUser)
  }
}

output id string = account.id
output endpoint string = account.properties.endpoint
