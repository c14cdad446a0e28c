// The device gateway process: config from the environment, then the gateway (device-gateway.ts) until SIGTERM,
// when it stops accepting, lets records already with the broker be acknowledged, closes the connections and
// Service Bus. Run: node --conditions=@transit-fusion/source --import tsx apps/device-gateway/src/main.ts

import {
  createLiveness,
  createLogger,
  createMetrics,
  EXIT_FAILURE,
  readConfigOrExit,
  runService,
} from '@transit-fusion/service-kit';
import { gatewayConfigFromEnv } from './config.js';
import { createDeviceGateway } from './device-gateway.js';

const config = readConfigOrExit('device-gateway', () => gatewayConfigFromEnv(process.env));
const logger = createLogger({ service: 'device-gateway', level: config.logLevel });
const gateway = createDeviceGateway({
  config,
  logger,
  metrics: createMetrics({ service: 'device-gateway' }),
  liveness: createLiveness(),
  // A stuck listener is not waited on: exit, and the orchestrator (or restart policy) starts a fresh process.
  onStuck: () => process.exit(EXIT_FAILURE),
});

await runService({
  logger,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: async () => {
    await gateway.start();
  },
  stop: () => gateway.stop(),
});
