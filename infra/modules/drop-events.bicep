// The Event Grid system topic of the storage account: it raises BlobCreated for every file dropped under drops/.
// Its subscription is NOT declared here: it delivers to the blob extension's webhook of the Ingest function, whose
// key (blobs_extension) exists only once the code is deployed and the Functions host has started. It is created
// after deployment by infra/drop-subscription.bicep (azd's postdeploy hook runs infra/subscribe-drops.sh).

param location string
param tags object

@description('Name of the Event Grid system topic.')
param topicName string

@description('Storage account that raises the events and holds the dead-letter container.')
param storageAccountName string

@description('Container undeliverable events are written to (the subscription dead-letters there).')
param deadLetterContainerName string

var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

// The topic's own (system-assigned) identity writes dead letters: behind a storage firewall only a trusted service
// with a managed identity gets through, and no account key is needed.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Granted here, with the topic, so that it exists before the subscription is created after deployment.
resource deadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account::blobService::deadLetterContainer.id, topic.id, blobDataContributor)
  scope: account::blobService::deadLetterContainer
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

output topicName string = topic.name
output topicPrincipalId string = topic.identity.principalId
