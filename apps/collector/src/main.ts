// The collector process: reads config, connects storage (and Service Bus when it collects push vendors),
// schedules the collectors, serves probes, metrics and /collectors, and stops cleanly on SIGTERM: no new ticks,
// the ticks in hand finish (their saves and settlements are kept), then the links and the server close.
// Run: node --conditions=@transit-fusion/source --import tsx apps/collector/src/main.ts

import { createServiceBusClient, ensureTopology } from '@transit-fusion/messaging';
import {
  createLiveness,
  createLogger,
  createMetrics,
  readConfigOrExit,
  runService,
} from '@transit-fusion/service-kit';
import { storageClientsFor } from '@transit-fusion/storage';
import { createCollectorService } from './collector-service.js';
import { collectorConfigFromEnv } from './config.js';

const config = readConfigOrExit('collector', () => collectorConfigFromEnv(process.env));

const logger = createLogger({ service: 'collector', level: config.logLevel });
const metrics = createMetrics({ service: 'collector' });
const liveness = createLiveness();
const storage = storageClientsFor(config.storage);
const serviceBus = config.serviceBus ? createServiceBusClient(config.serviceBus) : undefined;
const service = createCollectorService({
  config,
  logger,
  metrics,
  liveness,
  storage,
  ...(serviceBus ? { serviceBus } : {}),
});

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    if (config.serviceBus) {
      // The collector owns its subscriptions: created on Azure when the identity may manage entities (skipped on
      // the emulator, whose entities come from its config file, and when rights are lacking: then Bicep made them).
      const topics = new Map<string, Set<string>>();
      for (const v of config.vendors) {
        if (v.kind === 'push') topics.set(v.topic, (topics.get(v.topic) ?? new Set()).add(v.subscription));
      }
      await ensureTopology(
        config.serviceBus,
        {
          topics: [...topics].map(([name, subs]) => ({
            name,
            subscriptions: [...subs].map((s) => ({ name: s })),
          })),
        },
        logger,
      );
    }
    await service.start();
    await service.app.listen({ host: config.host, port: config.port });
    logger.info(
      {
        address: service.app.server.address(),
        collectors: service.jobs.map((j) => j.name),
        container: config.storage.vendorContainer,
      },
      'collector running',
    );
  },
  stop: async () => {
    await service.stop();
    liveness.stop();
    await serviceBus?.close();
  },
});
