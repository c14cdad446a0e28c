// transit-fusion on Azure App Service (Web Apps for Containers) and the Azure resources every deployment needs:
// a Service Bus namespace with the topics and subscriptions, a Storage account with its containers and tables,
// Azure SignalR Service in serverless mode, and the app settings that wire them together. The web apps reach
// Storage and Service Bus with their managed identities (no keys in settings); role assignments are below.
// The device gateway (raw TCP) and long-lived gRPC streams belong on AKS: see deploy/README.md.
//
//   az deployment group create -g transit-fusion -f deploy/appservice/main.bicep -p @deploy/appservice/main.parameters.json

targetScope = 'resourceGroup'

@description('Prefix of every resource name (letters and digits; the storage account name is derived from it).')
@minLength(3)
@maxLength(16)
param prefix string = 'transitfusion'

param location string = resourceGroup().location

@description('Registry holding the images built from docker/*.Dockerfile, e.g. myregistry.azurecr.io.')
param containerRegistry string

@description('Image tag to run.')
param imageTag string = '0.1.0'

@description('Push vendors (HTTP through the receiver, trackers through the device gateway): one subscription each.')
param pushVendors array = [
  'fuel'
  'trackers'
]

@description('The receiver\'s vendors and their keys (TF_RECEIVER_VENDORS, JSON).')
@secure()
param receiverVendors string

@description('The collector\'s pull vendors: URLs, formats and headers with their keys (JSON, as TF_COLLECTOR_VENDORS).')
@secure()
param collectorVendors string

@description('The composer\'s vendors and how each is matched (TF_COMPOSER_VENDORS, JSON).')
param composerVendors string

@description('The fleet registry (vehicle keys per vendor), an https URL.')
param fleetRegistryUrl string

@description('Bearer tokens for the broadcaster\'s APIs, hub and map, comma-separated (TF_BROADCASTER_TOKENS).')
@secure()
param broadcasterTokens string

@description('The operator\'s static GTFS drawn under the map, an https URL (empty: none).')
param networkGtfsUrl string = ''

@description('Origins allowed to call the broadcaster from a browser, comma-separated.')
param corsOrigins string = ''

var storageAccountName = toLower('${prefix}${uniqueString(resourceGroup().id)}')
var containers = [
  'snapshots'
  'vendor-snapshots'
  'leases'
]
var tables = [
  'SnapshotIndex'
  'DeviceState'
]

// --- Storage: snapshots (MessagePack blobs), vendor snapshots, the composer's leader lease, the time index ------
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(storageAccountName, 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // Entra ID only: the services use their managed identities.
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for name in containers: {
    parent: blobService
    name: name
    properties: { publicAccess: 'None' }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource storageTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for name in tables: {
    parent: tableService
    name: name
  }
]

// --- Service Bus: vendor pushes (one subscription per push vendor), snapshot announcements, alerts ---------------
resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${prefix}-bus'
  location: location
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: true
  }
}

resource vendorPushes 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: 'vendor-pushes'
  properties: {
    defaultMessageTimeToLive: 'PT1H'
    // Message ids are push ids: a push resent after a lost acknowledgement is dropped by the broker.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    enableBatchedOperations: true
  }
}

resource vendorSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [
  for vendor in pushVendors: {
    parent: vendorPushes
    name: 'collector-${vendor}'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      deadLetteringOnMessageExpiration: true
      enableBatchedOperations: true
    }
  }
]

// Each vendor's subscription takes only its vendor's messages (the applicationProperties the senders set).
resource vendorRules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = [
  for (vendor, i) in pushVendors: {
    parent: vendorSubscriptions[i]
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: { sqlExpression: 'vendorId = \'${vendor}\'' }
    }
  }
]

resource snapshots 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: 'snapshots'
  properties: {
    // An announcement is worthless after a minute: the next snapshot supersedes it.
    defaultMessageTimeToLive: 'PT1M'
    enableBatchedOperations: true
  }
}

// The App Service broadcaster's subscription (one instance; on AKS each replica creates its own).
resource broadcasterSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: snapshots
  name: 'broadcaster-appservice'
  properties: {
    lockDuration: 'PT30S'
    maxDeliveryCount: 3
    defaultMessageTimeToLive: 'PT1M'
  }
}

resource alerts 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: 'alerts'
  properties: {
    defaultMessageTimeToLive: 'P1D'
  }
}

// --- Azure SignalR Service, serverless: the broadcaster publishes through its REST API, clients connect to it ----
resource signalr 'Microsoft.SignalRService/signalR@2024-03-01' = {
  name: '${prefix}-signalr'
  location: location
  sku: { name: 'Standard_S1', capacity: 1 }
  kind: 'SignalR'
  properties: {
    features: [
      { flag: 'ServiceMode', value: 'Serverless' }
      { flag: 'EnableConnectivityLogs', value: 'true' }
    ]
    cors: {
      allowedOrigins: concat([ 'https://${prefix}-broadcaster.azurewebsites.net' ], empty(corsOrigins) ? [] : split(corsOrigins, ','))
    }
  }
}

// --- App Service: one Linux plan, one web app per HTTP service ----------------------------------------------------
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${prefix}-plan'
  location: location
  kind: 'linux'
  sku: { name: 'P1v3', capacity: 1 }
  properties: { reserved: true }
}

var storageSettings = {
  TF_STORAGE_BLOB_URL: storage.properties.primaryEndpoints.blob
  TF_STORAGE_TABLE_URL: storage.properties.primaryEndpoints.table
}
var serviceBusSettings = {
  TF_SERVICEBUS_NAMESPACE: '${serviceBus.name}.servicebus.windows.net'
}

var receiverSettings = union(serviceBusSettings, {
  TF_RECEIVER_PORT: '8081'
  TF_RECEIVER_VENDORS: receiverVendors
})

// The pull vendors (a secret: their URLs and keys), and each push vendor drained from its own subscription.
var collectorPushVendors = toObject(pushVendors, v => v, v => { kind: 'push', subscription: 'collector-${v}' })
var collectorSettings = union(storageSettings, serviceBusSettings, {
  TF_COLLECTOR_PORT: '8082'
  TF_COLLECTOR_VENDORS: string(union(json(collectorVendors), collectorPushVendors))
})

var composerSettings = union(storageSettings, serviceBusSettings, {
  TF_COMPOSER_PORT: '8083'
  TF_COMPOSER_VENDORS: composerVendors
  TF_COMPOSER_FLEET_REGISTRY_URL: fleetRegistryUrl
})

var broadcasterSettings = union(storageSettings, serviceBusSettings, {
  TF_BROADCASTER_HTTP_PORT: '8084'
  TF_BROADCASTER_TOKENS: broadcasterTokens
  TF_BROADCASTER_SUBSCRIPTION: broadcasterSubscription.name
  TF_BROADCASTER_SIGNALR_MODE: 'azure'
  TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING: signalr.listKeys().primaryConnectionString
  TF_BROADCASTER_CORS_ORIGINS: corsOrigins
  TF_BROADCASTER_NETWORK_GTFS: networkGtfsUrl
})

// Names and ports only: a resource loop's array must be known when the deployment starts, and the settings
// hold values known only once Storage and SignalR exist (keys, endpoints).
var apps = [
  { name: 'receiver', port: '8081' }
  { name: 'collector', port: '8082' }
  { name: 'composer', port: '8083' }
  { name: 'broadcaster', port: '8084' }
]
// Each app's settings, in the order of `apps`.
var settingsOfApps = [
  receiverSettings
  collectorSettings
  composerSettings
  broadcasterSettings
]

resource webApps 'Microsoft.Web/sites@2023-12-01' = [
  for app in apps: {
    name: '${prefix}-${app.name}'
    location: location
    kind: 'app,linux,container'
    identity: { type: 'SystemAssigned' }
    properties: {
      serverFarmId: plan.id
      httpsOnly: true
      siteConfig: {
        linuxFxVersion: 'DOCKER|${containerRegistry}/transit-fusion/${app.name}:${imageTag}'
        acrUseManagedIdentityCreds: true
        // The collector and composer run schedules, not only requests: never unloaded.
        alwaysOn: true
        // App Service restarts an instance whose /healthz fails (the liveness check of every service).
        healthCheckPath: '/healthz'
        http20Enabled: true
        webSocketsEnabled: app.name == 'broadcaster'
        minTlsVersion: '1.2'
        ftpsState: 'Disabled'
      }
    }
  }
]

resource appSettings 'Microsoft.Web/sites/config@2023-12-01' = [
  for (app, i) in apps: {
    parent: webApps[i]
    name: 'appsettings'
    properties: union(settingsOfApps[i], {
      WEBSITES_PORT: app.port
      WEBSITES_CONTAINER_START_TIME_LIMIT: '120'
      WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'false'
    })
  }
]

// --- What each identity may do (built-in roles) -------------------------------------------------------------------
var roles = {
  serviceBusSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  blobContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  tableContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  tableReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
}
// [web app index, role, scope: 'bus' | 'storage']
var grants = [
  [0, roles.serviceBusSender, 'bus']
  [1, roles.serviceBusReceiver, 'bus']
  [1, roles.blobContributor, 'storage']
  [1, roles.tableContributor, 'storage']
  [2, roles.serviceBusSender, 'bus']
  [2, roles.blobContributor, 'storage']
  [2, roles.tableContributor, 'storage']
  [3, roles.serviceBusReceiver, 'bus']
  [3, roles.blobReader, 'storage']
  [3, roles.tableReader, 'storage']
]

resource busGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for grant in filter(grants, g => g[2] == 'bus'): {
    name: guid(serviceBus.id, webApps[grant[0]].id, grant[1])
    scope: serviceBus
    properties: {
      principalId: webApps[grant[0]].identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant[1])
    }
  }
]

resource storageGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for grant in filter(grants, g => g[2] == 'storage'): {
    name: guid(storage.id, webApps[grant[0]].id, grant[1])
    scope: storage
    properties: {
      principalId: webApps[grant[0]].identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant[1])
    }
  }
]

output receiverUrl string = 'https://${webApps[0].properties.defaultHostName}'
output broadcasterUrl string = 'https://${webApps[3].properties.defaultHostName}'
output storageAccount string = storage.name
output serviceBusNamespace string = '${serviceBus.name}.servicebus.windows.net'
output signalrHost string = signalr.properties.hostName
