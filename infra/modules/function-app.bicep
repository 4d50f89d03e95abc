// The iCrm function app: Flex Consumption (FC1, Linux) running the .NET 10 isolated worker (dotnet publish output).
// Every connection uses the user-assigned identity; secrets (ICRM_PII_KEY, service role keys) are Key Vault references.

@export()
@description('A service\'s role key: the app settings Security__Keys__{name}__Secret (a Key Vault reference to the secret icrm-key-{name}, with _ written as -) and Security__Keys__{name}__Roles.')
type serviceKey = {
  @minLength(1)
  @maxLength(64)
  @description('Letters, digits and _ only (Linux app setting names allow no -); the audit trail records it as the caller.')
  name: string

  @minLength(1)
  @description('The API roles the key holds.')
  roles: ('reader' | 'marketer' | 'admin' | 'privacy')[]
}

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

@description('Vault URI (https://<vault>.vault.azure.net/) holding the service keys\' secrets.')
param keyVaultUri string

@description('Role keys of services, declared as app settings; their secrets are set in Key Vault by the operator.')
param serviceKeys serviceKey[]

@description('Client id of the Entra ID app registration people sign in with. Empty: no App Service authentication.')
param authClientId string

@description('Tenant of that app registration.')
param authTenantId string

var fixedAppSettings = [
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
  // Trust the X-MS-CLIENT-PRINCIPAL header exactly when App Service authentication (below) is declared: only then
  // does the platform strip a client-sent copy of it.
  { name: 'Security__TrustAppServiceAuthentication', value: string(!empty(authClientId)) }
  // In Azure the Functions host fires the triggers; the app's local trigger runner stays off.
  { name: 'LocalTriggers__Enabled', value: 'false' }
  // Databases and containers come from Bicep (data-plane RBAC cannot create them).
  { name: 'IcrmCosmos__createIfMissing', value: 'false' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]

// The app reads a role key's secret from Key Vault (resolved with the user-assigned identity, like the PII key); the
// secret itself is written by the operator (az keyvault secret set), never by a template. Key Vault names allow no _.
var serviceKeySecretSettings = [
  for key in serviceKeys: {
    name: 'Security__Keys__${key.name}__Secret'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/icrm-key-${replace(key.name, '_', '-')})'
  }
]
var serviceKeyRoleSettings = [
  for key in serviceKeys: {
    name: 'Security__Keys__${key.name}__Roles'
    value: join(key.roles, ',')
  }
]

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
      // One literal list (the settings every deployment has) plus two per service key.
      appSettings: concat(fixedAppSettings, serviceKeySecretSettings, serviceKeyRoleSettings)
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
// (AllowAnonymous) so that services keep calling with role keys, and health and the documentation stay open; the HTTP
// functions are anonymous at the Functions host and the app answers 401/403 itself. A signed-in person's app roles
// (reader, marketer, admin, privacy) reach the app in X-MS-CLIENT-PRINCIPAL, which the app then trusts.
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
