// The broadcaster process (issue #7 in progress: the gRPC archive today): reads config, serves gRPC
// (SnapshotArchive, health, reflection) and HTTP (probes, metrics, the .proto for download), and stops cleanly on
// SIGTERM: health says NOT_SERVING, calls in flight get the grace period, then both servers close.
// Run: node --conditions=@transit-fusion/source --import tsx apps/broadcaster/src/main.ts

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROTO_FILE, PROTO_ROOT } from '@transit-fusion/grpc-api';
import {
  createLiveness,
  createLogger,
  createMetrics,
  createServiceApp,
  readConfigOrExit,
  runService,
} from '@transit-fusion/service-kit';
import { snapshotStoreFor, storageClientsFor } from '@transit-fusion/storage';
import { createBearerTokens } from './bearer-tokens.js';
import { broadcasterConfigFromEnv } from './config.js';
import { createGrpcServer } from './grpc-server.js';
import { registerSnapshotApi } from './snapshot-api.js';
import { createSnapshotArchiveHandlers } from './snapshot-archive.js';
import { registerVehiclesApi } from './vehicles-api.js';

const config = readConfigOrExit('broadcaster', () => broadcasterConfigFromEnv(process.env));
const logger = createLogger({ service: 'broadcaster', level: config.logLevel });
const metrics = createMetrics({ service: 'broadcaster' });
const liveness = createLiveness();
const clients = storageClientsFor(config.storage);
const store = snapshotStoreFor(clients, config.storage, logger);
const tokens = createBearerTokens(config.tokens);
const grpcServer = createGrpcServer({
  archive: createSnapshotArchiveHandlers({
    store,
    maxRangeMs: config.maxRangeMs,
    logger,
    authorize: (metadata) => tokens.accepts(String(metadata.get('authorization')[0] ?? '')),
  }),
  keepaliveTimeMs: config.keepaliveMs,
  ...(config.tls ? { tls: config.tls } : {}),
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
registerVehiclesApi(app, { store, tokens });
// The contract, for clients in any language (protoc -I . transit_fusion/v1/transit_fusion.proto).
app.get(`/proto/${PROTO_FILE}`, async (_request, reply) =>
  reply.type('text/plain; charset=utf-8').send(await readFile(path.join(PROTO_ROOT, PROTO_FILE), 'utf8')),
);

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    const grpcPort = await grpcServer.listen(config.host, config.grpcPort);
    await app.listen({ host: config.host, port: config.httpPort });
    logger.info(
      { grpcPort, http: app.server.address(), tls: config.tls !== undefined },
      'broadcaster running',
    );
  },
  stop: async () => {
    await grpcServer.close(Math.max(1_000, config.shutdownTimeoutMs - 5_000));
    await app.close();
    liveness.stop();
  },
});
