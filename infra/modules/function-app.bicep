// The iCrm function app: Flex Consumption (FC1, Linux) running the .NET 10 isolated worker (dotnet publish output).
// Every connection uses the user-assigned identity; the only secret (ICRM_PII_KEY) is a Key Vault reference.

param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity (the app and the host pick it with *__clientId).')
param identityClientId string

param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Blob container URL that holds the deployment package.')
param deploymentContainerUrl string

param cosmosEndpoint string
param languageEndpoint string
param appInsightsConnectionString string

@description('Versionless Key Vault secret URI of the PII HMAC key.')
param piiKeySecretUri string

@description('NCRONTAB schedule of the Train function.')
param trainSchedule string

@description('Sentiment provider: azure (Azure AI Language) or local (the app\'s ML.NET model).')
param sentimentProvider string

@description('Memory per instance in MB (Flex Consumption: 512, 2048 or 4096).')
param instanceMemoryMB int

@description('Upper bound of instances the app scales out to.')
param maximumInstanceCount int

@description('Subnet (delegated to Microsoft.App/environments) for VNet integration. Empty: none.')
param subnetId string

@description('Days audit entries are kept (Audit__RetentionDays); 0 keeps them.')
param auditRetentionDays int

@description('Security__TrustAppServiceAuthentication: read Entra ID app roles from App Service authentication.')
param trustAppServiceAuthentication bool
@description('Client id of the Entra ID app registration people sign in with. Empty: no App Service authentication.')
param authClientId string

@description('Tenant of that app registration.')
param authTenantId string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy by this tag (azure.yaml service "api").
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // The isolated worker: on Flex Consumption the language is declared here, never in FUNCTIONS_WORKER_RUNTIME.
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // The Functions host's own storage, identity-based: host keys and timer schedules (blob), the blob
        // extension's receipts (blob, azure-webjobs-hosts) and the queue it hands Event Grid deliveries to.
        { name: 'AzureWebJobsStorage__blobServiceUri', value: blobEndpoint }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: queueEndpoint }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: tableEndpoint }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        // The app's storage (drops, quarantine, models). The Ingest blob trigger (Event Grid source) uses the same
        // connection: blobServiceUri to read the drop, queueServiceUri for its poison queue webjobs-blobtrigger-poison.
        { name: 'IcrmStorage__blobServiceUri', value: blobEndpoint }
        { name: 'IcrmStorage__queueServiceUri', value: queueEndpoint }
        { name: 'IcrmStorage__credential', value: 'managedidentity' }
        { name: 'IcrmStorage__clientId', value: identityClientId }
        { name: 'IcrmCosmos__accountEndpoint', value: cosmosEndpoint }
        { name: 'IcrmCosmos__credential', value: 'managedidentity' }
        { name: 'IcrmCosmos__clientId', value: identityClientId }
        { name: 'IcrmLanguage__endpoint', value: languageEndpoint }
        { name: 'TRAIN_SCHEDULE', value: trainSchedule }
        { name: 'Security__PiiKey', value: '@Microsoft.KeyVault(SecretUri=${piiKeySecretUri})' }
        { name: 'Sentiment__Provider', value: sentimentProvider }
        { name: 'Audit__RetentionDays', value: string(auditRetentionDays) }
        { name: 'Security__TrustAppServiceAuthentication', value: string(trustAppServiceAuthentication) }
        // In Azure the Functions host fires the triggers; the app's local trigger runner stays off.
        { name: 'LocalTriggers__Enabled', value: 'false' }
        // Databases and containers come from Bicep (data-plane RBAC cannot create them).
        { name: 'IcrmCosmos__createIfMissing', value: 'false' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
      ]
    }
  }
}

// Deployments authenticate with Entra ID; basic (publishing profile) credentials stay off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output url string = 'https://${app.properties.defaultHostName}'

// People sign in with Microsoft Entra ID (App Service authentication). Requests without a token are let through
// (AllowAnonymous) so that services keep calling with function keys; the Functions host still asks those for a key.
// A signed-in person's app roles (reader, marketer, admin, privacy) reach the app in X-MS-CLIENT-PRINCIPAL.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}
