/**
 * A SignalR hub endpoint for the official `@microsoft/signalr` client (negotiate, WebSockets, the JSON and
 * MessagePack hub protocols), and the Azure SignalR Service (serverless mode) adapter with a local stand-in of
 * the service for tests.
 *
 * @example
 * ```ts
 * import { createSignalRHub, encodeInvocation } from '@transit-fusion/signalr-hub';
 * const hub = createSignalRHub({
 *   path: '/hubs/vehicles',
 *   authenticate: ({ headers, query }) => userFromBearer(headers.authorization ?? query.access_token),
 *   validateQuery: (query) => (isProfile(query.profile) ? undefined : 'unknown profile'),
 *   onConnected: (connection) => hub.addToGroup(connection, `profile:${connection.query.profile}`),
 * });
 * hub.register(app); // Fastify: POST /hubs/vehicles/negotiate + WebSocket upgrades at /hubs/vehicles
 * hub.sendToGroup('profile:city', encodeInvocation('vehicles', [update])); // encoded once per protocol
 *
 * // Scale-out through Azure SignalR Service: the app only negotiates, the service holds the sockets.
 * const service = createAzureSignalRService({ connectionString, hub: 'vehicles' });
 * app.post('/hubs/vehicles/negotiate', async (request) => service.negotiate(userOf(request)));
 * await service.sendToGroup('profile:city', 'vehicles', [update]);
 * ```
 */
export { SignalRHubError, isSignalRHubError, type SignalRHubErrorCode } from './signalr-hub-error.js';
export { silentLogger, type HubLogger } from './hub-logger.js';
export type { HubProtocolName } from './hub-protocol.js';
export { encodeInvocation, type EncodedMessage } from './encoded-message.js';
export type { HubConnection } from './hub-connection.js';
export {
  createSignalRHub,
  type SignalRHub,
  type SignalRHubOptions,
  type HubRequest,
  type HubMethod,
  type HubStats,
  type HubRejectReason,
} from './signalr-hub.js';
export {
  parseAzureSignalRConnectionString,
  type AzureSignalRConnectionString,
} from './azure-connection-string.js';
export {
  createAzureSignalRService,
  type AzureSignalRService,
  type AzureSignalRServiceOptions,
  type TokenCredential,
  type AccessToken,
} from './azure-signalr-service.js';
export {
  startAzureSignalRStandIn,
  type AzureSignalRStandIn,
  type AzureSignalRStandInOptions,
  type RecordedRestCall,
} from './azure-signalr-stand-in.js';
