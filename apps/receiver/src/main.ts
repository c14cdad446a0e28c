// The receiver process: reads config, wires the real Service Bus sink into the app, listens, and stops cleanly
// on SIGTERM (no new connections, in-flight pushes finish their sends, then the Service Bus links and connection
// close). Run: node --conditions=@transit-fusion/source --import tsx apps/receiver/src/main.ts

import { ensureTopology } from '@transit-fusion/messaging';
import { createLogger, createMetrics, readConfigOrExit, runService } from '@transit-fusion/service-kit';
import { receiverConfigFromEnv } from './config.js';
import { createReceiverApp } from './receiver-app.js';
import { connectServiceBusPushSink } from './service-bus-push-sink.js';

const config = readConfigOrExit('receiver', () => receiverConfigFromEnv(process.env));

const logger = createLogger({ service: 'receiver', level: config.logLevel });
const metrics = createMetrics({ service: 'receiver' });
const serviceBus = connectServiceBusPushSink(config);
const app = createReceiverApp({ config, sink: serviceBus.sink, logger, metrics });

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    // The receiver owns its topic: created if missing on Azure when the identity may manage entities (skipped on
    // the emulator, whose entities come from its config file, and when rights are lacking: then Bicep made it).
    // Subscriptions belong to their consumers (the collector ensures its own).
    await ensureTopology(config.serviceBus, { topics: [{ name: config.topic, subscriptions: [] }] }, logger);
    await app.listen({ host: config.host, port: config.port });
    logger.info(
      {
        address: app.server.address(),
        topic: config.topic,
        namespace: config.serviceBus.fullyQualifiedNamespace,
        vendors: Object.keys(config.vendors),
      },
      'receiver listening',
    );
  },
  stop: async () => {
    // Stops accepting, then waits for in-flight requests (each waits for its send) before closing Service Bus.
    await app.close();
    await serviceBus.close();
  },
});
