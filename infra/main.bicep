// iCrm on Azure: one resource group with the Flex Consumption function app and everything it talks to.
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam, publish the app, then
// subscribe Ingest to the drops with infra/drop-subscription.bicep (azd up does all three; see infra/README.md).

targetScope = 'resourceGroup'

import { serviceKey } from 'modules/function-app.bicep'

@minLength(1)
@maxLength(20)
@description('Short name of this environment (dev, test, prod); part of every resource name.')
param environmentName string

@description('Region for all resources. Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@allowed([
  512
  2048
  4096
])
@description('Memory per function app instance in MB. Training builds models in memory: 2048 or more.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to; bounds cost and the load on Cosmos DB.')
param maximumInstanceCount int = 40

@description('NCRONTAB schedule of the Train function (six fields, UTC).')
param trainSchedule string = '0 0 2 * * *'

@allowed([
  'azure'
  'local'
])
@description('Sentiment scoring: azure (Azure AI Language) or local (ML.NET model trained by the app).')
param sentimentProvider string = 'azure'

@allowed([
  'F0'
  'S'
])
@description('Azure AI Language SKU. F0 is free but allowed once per subscription; S bills per text record.')
param languageSku string = 'S'

// Data retention (docs/data-retention.md): drops, quarantined rows and audit entries each expire after their own period.
@minValue(1)
@description('Days after which blobs under drops/ (the files data teams deliver) are deleted.')
param dropsRetentionDays int = 90

@minValue(1)
@description('Days after which blobs under quarantine/ (rejected rows and drop reports) are deleted.')
param quarantineRetentionDays int = 90

@minValue(0)
@maxValue(24000)
@description('Days audit entries are kept (Cosmos per-item ttl, app setting Audit__RetentionDays); 0 keeps them.')
param auditRetentionDays int = 365

@minValue(30)
@maxValue(730)
@description('Days Log Analytics keeps logs.')
param logRetentionInDays int = 30

@secure()
@description('PII HMAC key (ICRM_PII_KEY). Give it on the first deployment only (or to rotate); empty keeps the stored one.')
param piiKey string = ''

@description('Object id of a person or CI identity allowed to upload drops (smoke test). Empty: nobody extra.')
param uploaderPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Principal type of uploaderPrincipalId.')
param uploaderPrincipalType string = 'User'

@description('Put storage, Cosmos DB and Key Vault behind private endpoints and integrate the app with a VNet.')
param enableNetworkIsolation bool = false

@description('VNet address space when enableNetworkIsolation is true (at least a /23).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Public IPs/CIDRs still allowed to reach storage when it is isolated (e.g. the operator who uploads drops).')
param allowedIpAddresses string[] = []

@description('Client id of the Entra ID app registration people sign in with (App Service authentication, app roles reader, marketer, admin, privacy); also makes the app trust the signed-in principal. Empty: no sign-in, role keys only.')
param authClientId string = ''

@description('Tenant of that app registration.')
param authTenantId string = tenant().tenantId

@description('Role keys of services ({ name, roles }): app settings referencing the Key Vault secret icrm-key-{name} (_ written as -), which the operator sets. Without any key and without authClientId, every API call that needs a role gets 401.')
param serviceKeys serviceKey[] = []

// Names shared with the app (functions/iCrm.Azure/ResourceNames.cs); InfrastructureTemplateTests checks they match.
var blobContainers = [
  'drops'
  'quarantine'
  'models'
  'eventgrid-deadletter'
]
var dropsContainer = 'drops'
var deadLetterContainer = 'eventgrid-deadletter'
var deploymentContainer = 'app-package'
// The blob extension moves a drop that failed every attempt to this queue (in the trigger's storage account). It
// creates the queue itself; declaring it makes it exist, visible and monitorable from the first deployment.
// After a training run, one message per slice of the store goes to score-slices (the ScoreSlice queue trigger writes
// predictions back); the queue extension moves a slice that failed every attempt to score-slices-poison.
var queues = [
  'webjobs-blobtrigger-poison'
  'score-slices'
  'score-slices-poison'
]
var cosmosDatabase = 'icrm'
// The customers container's indexing policy, the same as the app's (functions/iCrm.Azure/Store/CustomerIndexing.cs;
// InfrastructureTemplateTests compares them): customer lists filter and sort on written-back predictions, consent and
// sources with indexed queries; a list that filters on one field and sorts by a score is served by a composite index
// (field asc, score desc). Profile history no list queries is left out of the index, so profile writes cost less.
var customersIndexingPolicy = {
  indexingMode: 'consistent'
  automatic: true
  includedPaths: [
    { path: '/*' }
  ]
  excludedPaths: [
    { path: '/"_etag"/?' }
    { path: '/orders/*' }
    { path: '/orderMonths/*' }
    { path: '/eventMonths/*' }
    { path: '/recentEvents/*' }
    { path: '/feedback/*' }
    { path: '/seenKeys/*' }
    { path: '/appliedChunks/*' }
    { path: '/matchVariants/*' }
    { path: '/contactValues/*' }
    { path: '/mergeExplanations/*' }
    { path: '/predictions/*/topFactors/*' }
  ]
  // Each field a list may filter on and lead its ORDER BY with (segment, cluster, RFM scores, consent channel), with each score.
  compositeIndexes: [
    [
      { path: '/predictions/segments/label', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/label', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/value', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/value', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    // An RFM grid cell (recency and frequency scores), a grid row, a grid column.
    [
      { path: '/predictions/segments/recency', order: 'ascending' }
      { path: '/predictions/segments/frequency', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/recency', order: 'ascending' }
      { path: '/predictions/segments/frequency', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/recency', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/recency', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/frequency', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/predictions/segments/frequency', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/consent/email', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/consent/email', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/consent/sms', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/consent/sms', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
    [
      { path: '/consent/phone', order: 'ascending' }
      { path: '/predictions/churn/value', order: 'descending' }
    ]
    [
      { path: '/consent/phone', order: 'ascending' }
      { path: '/predictions/clv/value', order: 'descending' }
    ]
  ]
}
var cosmosContainers = [
  { name: 'customers', partitionKey: '/id', indexingPolicy: customersIndexingPolicy }
  { name: 'identities', partitionKey: '/id' }
  { name: 'ingestions', partitionKey: '/id' }
  // Time to live on without a default: each audit entry carries its own ttl (Audit__RetentionDays).
  { name: 'audit', partitionKey: '/customerId', defaultTtl: -1 }
  { name: 'reviews', partitionKey: '/id' }
]
var piiKeySecretName = 'icrm-pii-key'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var storageAccountName = 'st${resourceToken}'
var tags = {
  application: 'icrm'
  'azd-env-name': environmentName
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-icrm-${resourceToken}'
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    blobContainers: blobContainers
    dropsContainerName: dropsContainer
    deploymentContainer: deploymentContainer
    queues: queues
    dropsRetentionDays: dropsRetentionDays
    quarantineRetentionDays: quarantineRetentionDays
    appPrincipalId: identity.properties.principalId
    appIdentityId: identity.id
    uploaderPrincipalId: uploaderPrincipalId
    uploaderPrincipalType: uploaderPrincipalType
    denyPublicNetworkAccess: enableNetworkIsolation
    allowedIpAddresses: allowedIpAddresses
  }
}

module dropEvents 'modules/drop-events.bicep' = {
  name: 'drop-events'
  params: {
    location: location
    tags: tags
    topicName: 'evgt-icrm-${resourceToken}'
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainer
  }
  // The topic and its dead-letter role need the account and the dead-letter container to exist.
  dependsOn: [
    storage
  ]
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: 'cosmos-icrm-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabase
    containers: cosmosContainers
    appPrincipalId: identity.properties.principalId
    appIdentityId: identity.id
    disablePublicNetworkAccess: enableNetworkIsolation
  }
}

module language 'modules/language.bicep' = {
  name: 'language'
  params: {
    name: 'lang-icrm-${resourceToken}'
    location: location
    tags: tags
    sku: languageSku
    appPrincipalId: identity.properties.principalId
    appIdentityId: identity.id
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: 'kv-icrm-${resourceToken}'
    location: location
    tags: tags
    piiKeySecretName: piiKeySecretName
    piiKey: piiKey
    appPrincipalId: identity.properties.principalId
    appIdentityId: identity.id
    disablePublicNetworkAccess: enableNetworkIsolation
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-icrm-${resourceToken}'
    appInsightsName: 'appi-icrm-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.properties.principalId
    appIdentityId: identity.id
    retentionInDays: logRetentionInDays
  }
}

var privateDnsZones = [
  { groupId: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { groupId: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { groupId: 'table', zone: 'privatelink.table.${environment().suffixes.storage}' }
  { groupId: 'Sql', zone: 'privatelink.documents.azure.com' }
  { groupId: 'vault', zone: 'privatelink.vaultcore.azure.net' }
]

module network 'modules/network.bicep' = if (enableNetworkIsolation) {
  name: 'network'
  params: {
    name: 'vnet-icrm-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    privateDnsZones: privateDnsZones
  }
}

// Same order as privateDnsZones: endpoint i registers in zone i.
var privateEndpointTargets = [
  storage.outputs.id
  storage.outputs.id
  storage.outputs.id
  cosmos.outputs.id
  keyVault.outputs.id
]

module privateEndpoints 'modules/private-endpoint.bicep' = [
  for (zone, i) in privateDnsZones: if (enableNetworkIsolation) {
    name: 'pe-${toLower(zone.groupId)}'
    params: {
      name: 'pe-${toLower(zone.groupId)}-icrm-${resourceToken}'
      location: location
      tags: tags
      subnetId: network.?outputs.endpointSubnetId ?? ''
      targetResourceId: privateEndpointTargets[i]
      groupId: zone.groupId
      privateDnsZoneId: network.?outputs.zoneIds[i] ?? ''
    }
  }
]

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: 'func-icrm-${resourceToken}'
    planName: 'plan-icrm-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.id
    identityClientId: identity.properties.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainer}'
    cosmosEndpoint: cosmos.outputs.endpoint
    languageEndpoint: language.outputs.endpoint
    appInsightsConnectionString: monitoring.outputs.connectionString
    piiKeySecretUri: keyVault.outputs.piiKeySecretUri
    trainSchedule: trainSchedule
    sentimentProvider: sentimentProvider
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    subnetId: network.?outputs.appSubnetId ?? ''
    auditRetentionDays: auditRetentionDays
    keyVaultUri: keyVault.outputs.uri
    serviceKeys: serviceKeys
    authClientId: authClientId
    authTenantId: authTenantId
  }
  // The app starts only after every module it takes an output from has finished, role assignments included: the
  // Key Vault reference and the host's storage are resolved at start-up with the identity, and a failed Key Vault
  // reference is retried only after a day or a restart. With isolation, the private endpoints must exist too.
  dependsOn: [
    privateEndpoints
  ]
}

output resourceGroupName string = resourceGroup().name
output functionAppName string = functionApp.outputs.name
output functionAppUrl string = functionApp.outputs.url
output storageAccountName string = storage.outputs.name
output cosmosEndpoint string = cosmos.outputs.endpoint
output keyVaultName string = keyVault.outputs.name
// infra/drop-subscription.bicep (run after the code is deployed) subscribes Ingest to this topic.
output dropEventsTopicName string = dropEvents.outputs.topicName
output identityClientId string = identity.properties.clientId
