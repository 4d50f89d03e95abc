// Step two of a deployment, run after the app's code is deployed: subscribes the Ingest function to BlobCreated
// events under drops/. Event Grid delivers each event to the blob extension's webhook
// (/runtime/webhooks/blobs?functionName=Host.Functions.Ingest), authenticated with the host's blobs_extension system
// key. That key exists only once the Functions host has started with the deployed code, which is why this is not part
// of main.bicep. azd runs it from the postdeploy hook (infra/subscribe-drops.sh); by hand:
//   az deployment group create -g <rg> -f infra/drop-subscription.bicep \
//     -p functionAppName=<app> topicName=<topic>        (both are outputs of main.bicep)
// Re-running it is safe: the subscription converges to this definition.

targetScope = 'resourceGroup'

@description('The iCrm function app (output functionAppName of main.bicep).')
param functionAppName string

@description('The storage account\'s Event Grid system topic (output dropEventsTopicName of main.bicep).')
param topicName string

// Names shared with the app (functions/iCrm.Azure/ResourceNames.cs); InfrastructureTemplateTests checks they match.
var ingestFunctionName = 'Ingest'
var dropsContainer = 'drops'
var deadLetterContainer = 'eventgrid-deadletter'

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

// The key travels only from the app's host to Event Grid inside this deployment; it is never an output or a parameter.
var webhookUrl = 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${ingestFunctionName}&code=${listKeys('${app.id}/host/default', app.apiVersion).systemKeys.blobs_extension}'

resource dropCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'drop-created'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${dropsContainer}/'
    }
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: webhookUrl
        // One drop per delivery: each can be a large file, and the extension queues it for the function at once.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    // Event Grid retries while the app is unreachable (scaled from zero, restarting) for up to a day.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // Events Event Grid could not deliver at all land here, written with the topic's identity (role in main.bicep).
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: topic.properties.source
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

output subscriptionName string = dropCreated.name
