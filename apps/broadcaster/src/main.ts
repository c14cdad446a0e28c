// The broadcaster process: reads config, follows the snapshots topic into the live views, serves gRPC
// (VehicleFeed, SnapshotArchive, health, reflection), SignalR (hosted here or through Azure SignalR Service) and
// HTTP (the snapshot and vehicles APIs, GTFS-RT, probes, metrics, the .proto for download), and stops cleanly on
// SIGTERM: health says NOT_SERVING, live streams and hub connections are closed with "reconnect" (so clients
// move to another replica), calls in flight get the grace period, then the servers close.
// Run: node --conditions=@transit-fusion/source --import tsx apps/broadcaster/src/main.ts

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROTO_FILE, PROTO_ROOT } from '@transit-fusion/grpc-api';
import { createServiceBusClient, ensureTopology } from '@transit-fusion/messaging';
import {
  createLiveness,
  createLogger,
  createMetrics,
  createServiceApp,
  readConfigOrExit,
  runService,
} from '@transit-fusion/service-kit';
import { DefaultAzureCredential } from '@azure/identity';
import fastifyStatic from '@fastify/static';
import { createAzureSignalRService, parseAzureSignalRConnectionString } from '@transit-fusion/signalr-hub';
import { snapshotStoreFor, storageClientsFor } from '@transit-fusion/storage';
import { startAnnouncementReceiver, type AnnouncementReceiver } from './announcement-receiver.js';
import { createBearerTokens } from './bearer-tokens.js';
import { broadcasterConfigFromEnv } from './config.js';
import { createGrpcServer } from './grpc-server.js';
import { registerSnapshotApi } from './snapshot-api.js';
import { createSnapshotArchiveHandlers } from './snapshot-archive.js';
import { createLiveFeed } from './live-feed.js';
import { createAzureSignalR, createSelfHostedSignalR } from './signalr-outlet.js';
import { createVehicleFeed } from './vehicle-feed.js';
import { registerVehiclesApi } from './vehicles-api.js';
import { createNetworkSource, registerNetworkApi } from './network-map.js';

const config = readConfigOrExit('broadcaster', () => broadcasterConfigFromEnv(process.env));
const logger = createLogger({ service: 'broadcaster', level: config.logLevel });
const metrics = createMetrics({ service: 'broadcaster' });
const liveness = createLiveness();
const clients = storageClientsFor(config.storage);
const store = snapshotStoreFor(clients, config.storage, logger);
const tokens = createBearerTokens(config.tokens);
const authorize = (metadata: { get(key: string): unknown[] }) =>
  tokens.accepts(String(metadata.get('authorization')[0] ?? ''));

// Azure SignalR Service: an access key in the connection string, or Entra ID (AuthType=aad) through the
// workload's identity.
let azure: ReturnType<typeof createAzureSignalRService> | undefined;
if (config.signalr.mode === 'azure') {
  const connectionString = config.signalr.connectionString.reveal().toString('utf8');
  azure = createAzureSignalRService({
    connectionString,
    hub: config.signalr.hub,
    ...(parseAzureSignalRConnectionString(connectionString).authType === 'aad'
      ? { credential: new DefaultAzureCredential() }
      : {}),
  });
}
let azureOutlet: ReturnType<typeof createAzureSignalR> | undefined;
const live = createLiveFeed({
  store,
  metrics,
  logger,
  maxViews: config.live.maxViews,
  keyframeEvery: config.live.keyframeEvery,
  maxLagTicks: config.live.maxLagTicks,
  fanOutTurnMs: config.live.fanOutTurnMs,
  downloadTimeoutMs: config.live.downloadTimeoutMs,
  outlets: [(snapshot) => azureOutlet?.publish(snapshot)],
});
if (azure) {
  azureOutlet = createAzureSignalR({
    hub: config.signalr.hub,
    service: azure,
    views: live.views,
    tokens,
    allowedOrigins: config.signalr.allowedOrigins,
    logger,
  });
}
const feed = createVehicleFeed({ fanOut: live.fanOut, authorize, maxStreams: config.live.maxStreams });
const grpcServer = createGrpcServer({
  feed,
  archive: createSnapshotArchiveHandlers({
    store,
    maxRangeMs: config.maxRangeMs,
    logger,
    authorize,
  }),
  keepaliveTimeMs: config.keepaliveMs,
  ...(config.tls ? { tls: config.tls } : {}),
});
const invalidAnnouncements = metrics.counter({
  name: 'broadcaster_invalid_announcements_total',
  help: 'Messages on the snapshots topic that were not announcements (dropped).',
});
const app = createServiceApp({
  service: 'broadcaster',
  logger,
  registry: metrics.registry,
  liveness,
  readiness: async () => {
    try {
      await store.latest();
      return { ok: true, checks: { storage: 'ok' } };
    } catch (error) {
      return { ok: false, checks: { storage: `unreachable: ${(error as Error).message}` } };
    }
  },
});
registerSnapshotApi(app, { store, tokens, maxRangeMs: config.maxRangeMs });
registerVehiclesApi(app, { views: live.views, tokens });
const network = config.network
  ? createNetworkSource({ location: config.network.gtfs, refreshMs: config.network.refreshMs, logger })
  : undefined;
registerNetworkApi(app, { network, tokens });
const hub =
  config.signalr.mode === 'self-hosted'
    ? createSelfHostedSignalR({
        hub: config.signalr.hub,
        fanOut: live.fanOut,
        tokens,
        maxConnections: config.signalr.maxConnections,
        maxBufferedBytes: config.signalr.maxBufferedBytes,
        allowedOrigins: config.signalr.allowedOrigins,
        logger,
      })
    : undefined;
hub?.register(app);
// The web map's static files (no token: the page holds no data; it asks for the token to call the API).
if (config.webDir) await app.register(fastifyStatic, { root: path.resolve(config.webDir), prefix: '/' });
azureOutlet?.register(app);
const serviceBus = createServiceBusClient(config.serviceBus);
let announcements: AnnouncementReceiver | undefined;
// The contract, for clients in any language (protoc -I . transit_fusion/v1/transit_fusion.proto).
app.get(`/proto/${PROTO_FILE}`, async (_request, reply) =>
  reply.type('text/plain; charset=utf-8').send(await readFile(path.join(PROTO_ROOT, PROTO_FILE), 'utf8')),
);

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    if (config.live.createSubscription) {
      await ensureTopology(
        config.serviceBus,
        {
          topics: [
            {
              name: config.live.topic,
              subscriptions: [{ name: config.live.subscription, autoDeleteOnIdleMs: 3_600_000 }],
            },
          ],
        },
        logger,
      );
    }
    announcements = startAnnouncementReceiver({
      client: serviceBus,
      topic: config.live.topic,
      subscription: config.live.subscription,
      onAnnouncement: (announcement, enqueuedAt) => live.offer(announcement, enqueuedAt),
      onInvalid: (reason) => {
        invalidAnnouncements.inc();
        logger.warn({ reason }, 'dropped a message on the snapshots topic that is not an announcement');
      },
      onError: (error) => logger.warn({ err: error }, 'snapshots subscription error; the client retries'),
    });
    void network?.start();
    await live
      .bootstrap()
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not load the newest stored snapshot; waiting for announcements'),
      );
    const grpcPort = await grpcServer.listen(config.host, config.grpcPort);
    await app.listen({ host: config.host, port: config.httpPort });
    logger.info(
      {
        grpcPort,
        http: app.server.address(),
        tls: config.tls !== undefined,
        signalr: config.signalr.mode,
        subscription: `${config.live.topic}/${config.live.subscription}`,
      },
      'broadcaster running',
    );
  },
  stop: async () => {
    network?.stop();
    await announcements?.close();
    await live.close();
    await Promise.all([
      grpcServer.close(Math.max(1_000, config.shutdownTimeoutMs - 5_000)),
      hub?.close('the server is shutting down'),
    ]);
    await app.close();
    await serviceBus.close();
    liveness.stop();
  },
});
