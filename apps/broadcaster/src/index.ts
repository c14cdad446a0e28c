/**
 * The broadcaster's parts for embedding and benchmarks: the gRPC server (SnapshotArchive with health,
 * reflection and bearer-token auth), the HTTP APIs, profiles and the live views. `main.ts` wires the whole
 * service (live feed, VehicleFeed, SignalR).
 *
 * @example
 * ```ts
 * import { createGrpcServer, createSnapshotArchiveHandlers, createBearerTokens } from '@transit-fusion/broadcaster';
 * const tokens = createBearerTokens(config.tokens);
 * const grpcServer = createGrpcServer({
 *   archive: createSnapshotArchiveHandlers({ store, maxRangeMs: 86_400_000, logger,
 *     authorize: (metadata) => tokens.accepts(String(metadata.get('authorization')[0] ?? '')) }),
 * });
 * await grpcServer.listen('0.0.0.0', 50051);
 * ```
 */
export { createBearerTokens, type BearerTokens } from './bearer-tokens.js';
export { createSnapshotArchiveHandlers, type SnapshotArchiveDeps } from './snapshot-archive.js';
export { createGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server.js';
export { broadcasterConfigFromEnv, BROADCASTER_ENV_DEFAULTS, type BroadcasterConfig } from './config.js';
export { registerSnapshotApi, type SnapshotApiDeps } from './snapshot-api.js';
export { OPENAPI_DOCUMENT } from './openapi.js';
export { registerVehiclesApi, type VehiclesApiDeps } from './vehicles-api.js';
export {
  applyProfile,
  normalise,
  profileFromQuery,
  profileKey,
  ALL_VEHICLES,
  type Profile,
} from './profile.js';
export { vehiclePositionsFeed, encodeFeed, feedAsJson } from './gtfs-rt-feed.js';
export { createLiveViews, type LiveViews, type LiveView, type ViewUpdate } from './live-views.js';
