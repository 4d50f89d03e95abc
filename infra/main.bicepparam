// Parameters for infra/main.bicep. Values that differ per person or per run come from environment variables,
// so nothing secret is ever written to this file (azd sets AZURE_ENV_NAME and AZURE_PRINCIPAL_ID itself).
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'dev')

// Set ICRM_PII_KEY only for the first deployment (or a deliberate rotation); empty keeps the secret in Key Vault.
param piiKey = readEnvironmentVariable('ICRM_PII_KEY', '')

// Lets the person deploying upload drops for the smoke test; empty grants nothing.
param uploaderPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

param instanceMemoryMB = 2048
param maximumInstanceCount = 40
param trainSchedule = '0 0 2 * * *'
param sentimentProvider = 'azure'
param languageSku = 'S'
param dropsRetentionDays = 90
param quarantineRetentionDays = 90
param auditRetentionDays = 365
param enableNetworkIsolation = false

// Entra ID sign-in for people (App Service authentication); empty: role keys only. See infra/README.md.
param authClientId = readEnvironmentVariable('ICRM_AUTH_CLIENT_ID', '')

// Role keys of services, e.g. [{ name: 'crm_web', roles: ['reader', 'marketer'] }]: each becomes app settings that
// reference the Key Vault secret icrm-key-crm-web, which you set yourself (infra/README.md, "Roles in Azure").
param serviceKeys = []
