// Storage account shared by the Functions host (AzureWebJobsStorage), the app (IcrmStorage) and Flex deployments.
// No shared keys: every caller authenticates with Entra ID, so the account has no secret to leak.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string

param location string
param tags object

@description('Blob containers the app uses (drops, quarantine, models, eventgrid-deadletter).')
param blobContainers string[]

@description('The container data teams drop files into (one of blobContainers).')
param dropsContainerName string

@description('Container that holds the Flex Consumption deployment package.')
param deploymentContainer string

@description('Queues to declare (the blob extension\'s poison queue webjobs-blobtrigger-poison).')
param queues string[]

@description('Blobs under drops/ are deleted this many days after they were last modified.')
param dropsRetentionDays int

@description('Blobs under quarantine/ are deleted this many days after they were last modified.')
param quarantineRetentionDays int

@description('Principal id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Resource id of that identity; names the role assignments (known before deployment, unlike the principal id).')
param appIdentityId string

@description('Optional principal (a person or a CI identity) allowed to upload drops, e.g. for the smoke test. Empty: none.')
param uploaderPrincipalId string

@description('Principal type of uploaderPrincipalId.')
param uploaderPrincipalType string

@description('Deny public network access except from Azure trusted services (Event Grid) and allowedIpAddresses.')
param denyPublicNetworkAccess bool

@description('Public IPv4 addresses or CIDR ranges still allowed through the storage firewall when it is closed.')
param allowedIpAddresses string[]

var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Event Grid writes dead letters as a trusted service, with its system-assigned identity.
      bypass: 'AzureServices'
      defaultAction: denyPublicNetworkAccess ? 'Deny' : 'Allow'
      ipRules: [
        for ip in allowedIpAddresses: {
          action: 'Allow'
          value: ip
        }
      ]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in concat(blobContainers, [deploymentContainer]): {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queueResources 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

// Quarantined rows and the drops themselves are personal data: keep them only as long as needed to investigate
// (docs/data-retention.md). Each has its own period.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-drops'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'drops/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: dropsRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'expire-quarantine'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'quarantine/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: quarantineRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    containers
  ]
}

// One account serves the host (AzureWebJobsStorage) and the app (IcrmStorage). The host needs Blob Data Owner (host
// keys, leases, the deployment package, blob receipts); the Event Grid blob trigger needs Blob Data Owner and Queue Data
// Contributor (the queue it hands deliveries to, the poison queue); the host's timers use tables.
resource appRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [roles.blobDataOwner, roles.queueDataContributor, roles.tableDataContributor]: {
    name: guid(account.id, appIdentityId, role)
    scope: account
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource dropsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: dropsContainerName
}

resource uploaderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(uploaderPrincipalId)) {
  name: guid(dropsContainer.id, uploaderPrincipalId, roles.blobDataContributor)
  scope: dropsContainer
  properties: {
    principalId: uploaderPrincipalId
    principalType: uploaderPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
  }
  dependsOn: [
    containers
  ]
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
