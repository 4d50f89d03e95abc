// Cosmos DB for NoSQL, serverless (pay per request, nothing at rest but storage), Entra ID only.
// With local auth off the app's data-plane role cannot create databases or containers, so they are declared here.

param name string
param location string
param tags object

@description('Database name the app uses.')
param databaseName string

@description('Containers with their partition key path, optional default time to live (-1: on, no default) and optional indexing policy, e.g. { name: \'customers\', partitionKey: \'/id\' }.')
param containers { name: string, partitionKey: string, defaultTtl: int?, indexingPolicy: object? }[]

@description('Principal id of the app\'s user-assigned identity (gets Cosmos DB Built-in Data Contributor).')
param appPrincipalId string

@description('Resource id of that identity; names the role assignments (known before deployment, unlike the principal id).')
param appIdentityId string

@description('Disable public network access (reached through a private endpoint instead).')
param disablePublicNetworkAccess bool

// Data-plane role, not an Azure RBAC role: assigned with sqlRoleAssignments.
var builtInDataContributor = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: disablePublicNetworkAccess ? 'Disabled' : 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource containerResources 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: {
          paths: [
            container.partitionKey
          ]
          kind: 'Hash'
          version: 2
        }
        defaultTtl: container.?defaultTtl
        // Absent: Cosmos's default policy (everything indexed, no composite indexes).
        indexingPolicy: container.?indexingPolicy
      }
    }
  }
]

resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, appIdentityId, builtInDataContributor)
  properties: {
    principalId: appPrincipalId
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${builtInDataContributor}'
    scope: account.id
  }
}

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint
