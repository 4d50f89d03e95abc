// Optional network isolation: a VNet for the app's outbound traffic and private endpoints, plus the private DNS
// zones that make the services' usual host names resolve to those endpoints from inside the VNet.

param name string
param location string
param tags object

@description('Address space of the VNet; the two subnets take its first two /24 ranges.')
param addressPrefix string

@description('Private DNS zone names to create and link, keyed by the private endpoint group id.')
param privateDnsZones { groupId: string, zone: string }[]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption VNet integration needs a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: 'app'
  }

  resource endpointSubnet 'subnets' existing = {
    name: 'private-endpoints'
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in privateDnsZones: {
    name: zone.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, i) in privateDnsZones: {
    parent: zones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output appSubnetId string = vnet::appSubnet.id
output endpointSubnetId string = vnet::endpointSubnet.id
output zoneIds string[] = [for (zone, i) in privateDnsZones: zones[i].id]
