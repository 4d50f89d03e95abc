// Key Vault (RBAC) holding ICRM_PII_KEY, the HMAC secret behind every identity match key and customer id.
// The secret is written only when a value is supplied (first deployment or a deliberate rotation): a value
// generated on every run, e.g. with newGuid(), would silently break every match key. See infra/README.md.

param name string
param location string
param tags object

@description('Name of the secret holding the PII HMAC key.')
param piiKeySecretName string

@secure()
@description('Value for the PII HMAC key. Empty: leave the existing secret untouched.')
param piiKey string

@description('Principal id of the app\'s user-assigned identity (gets Key Vault Secrets User).')
param appPrincipalId string

@description('Resource id of that identity; names the role assignments (known before deployment, unlike the principal id).')
param appIdentityId string

@description('Disable public network access (reached through a private endpoint instead).')
param disablePublicNetworkAccess bool

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Losing the PII key means rebuilding every profile: purge protection keeps an accidental delete recoverable.
    enablePurgeProtection: true
    publicNetworkAccess: disablePublicNetworkAccess ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: disablePublicNetworkAccess ? 'Deny' : 'Allow'
    }
  }
}

resource piiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(piiKey)) {
  parent: vault
  name: piiKeySecretName
  properties: {
    value: piiKey
    contentType: 'HMAC-SHA256 key for identity match keys (ICRM_PII_KEY)'
  }
}

// Scoped to the vault rather than the secret: the secret may not exist yet on the run that creates the vault, and
// the app also reads the service keys' secrets (icrm-key-*) from it.
resource secretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appIdentityId, secretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless: the app follows the newest version after a rotation (on restart, or within a day).
output piiKeySecretUri string = '${vault.properties.vaultUri}secrets/${piiKeySecretName}'
