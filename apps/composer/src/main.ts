// The composer process: reads config, connects storage and Service Bus, schedules ticks (only the replica holding
// the leader lease composes), serves probes, metrics and /status, and stops cleanly on SIGTERM: no new ticks, the
// tick in hand finishes, device state is flushed, the lease is released so another replica takes over at once.
// Run: node --max-semi-space-size=128 --conditions=@transit-fusion/source --import tsx apps/composer/src/main.ts

import { createMessageSender, createServiceBusClient, ensureTopology } from '@transit-fusion/messaging';
import {
  createLiveness,
  createLogger,
  createMetrics,
  readConfigOrExit,
  runService,
} from '@transit-fusion/service-kit';
import {
  createDeviceStateTable,
  ensureStorage,
  createLeaderLease,
  snapshotStoreFor,
  storageClientsFor,
  createVendorSnapshotRepository,
} from '@transit-fusion/storage';
import { createComposerService } from './composer-service.js';
import { composerConfigFromEnv } from './config.js';

const config = readConfigOrExit('composer', () => composerConfigFromEnv(process.env));

const logger = createLogger({ service: 'composer', level: config.logLevel });
const metrics = createMetrics({ service: 'composer' });
const liveness = createLiveness();
const clients = storageClientsFor(config.storage);
const serviceBus = createServiceBusClient(config.serviceBus);
const snapshots = createMessageSender({ client: serviceBus, entity: config.snapshotsTopic });
const alerts = createMessageSender({ client: serviceBus, entity: config.alertsTopic });
const store = snapshotStoreFor(clients, config.storage, logger);
const service = createComposerService({
  config,
  logger,
  metrics,
  liveness,
  lease: createLeaderLease({
    clients,
    container: config.lease.container,
    blob: config.lease.blob,
    instanceId: config.instanceId,
    leaseDurationSeconds: config.lease.durationSeconds,
    takeoverAfterMs: config.lease.takeoverAfterMs,
    logger,
  }),
  vendorSnapshots: createVendorSnapshotRepository({
    clients,
    container: config.storage.vendorContainer,
    logger,
  }),
  store,
  deviceState: createDeviceStateTable({ clients, table: config.storage.deviceStateTable, logger }),
  announce: (message) => snapshots.send(message),
  alert: (message) => alerts.send(message),
});

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    // The composer owns the topics it announces on (subscriptions belong to their consumers).
    await ensureTopology(
      config.serviceBus,
      {
        topics: [
          { name: config.snapshotsTopic, subscriptions: [] },
          { name: config.alertsTopic, subscriptions: [] },
        ],
      },
      logger,
    );
    await store.ensure();
    // The device state table is the composer's to write (in Azure the deployment creates it; this is a no-op).
    await ensureStorage(clients, [], [config.storage.deviceStateTable]);
    await service.start();
    await service.app.listen({ host: config.host, port: config.port });
    logger.info({ address: service.app.server.address(), instanceId: config.instanceId }, 'composer running');
  },
  stop: async () => {
    await service.stop();
    liveness.stop();
    await snapshots.close();
    await alerts.close();
    await serviceBus.close();
  },
});
