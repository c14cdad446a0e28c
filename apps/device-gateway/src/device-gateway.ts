// The gateway assembled from its parts, apart from process concerns (main.ts): the Service Bus sender and the
// record forwarder, the device registry, the TCP server, the watchdog, and the HTTP app with /healthz, /readyz
// and /metrics. Tests and the benchmark start exactly this.

import {
  createMessageSender,
  createServiceBusClient,
  deadlineRetryOptions,
  ensureTopology,
  type MessageSender,
} from '@transit-fusion/messaging';
import {
  createServiceApp,
  type Liveness,
  type Logger,
  type Metrics,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import type { GatewayConfig } from './config.js';
import { createDeviceRegistry, type DeviceRegistry } from './device-registry.js';
import { createRecordForwarder, type RecordForwarder } from './record-forwarder.js';
import { createTcpGateway, type TcpGateway } from './tcp-gateway.js';
import { startWatchdog, type Watchdog } from './watchdog.js';

export interface DeviceGatewayDeps {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly liveness: Liveness;
  /** Replaces the Service Bus sender (tests of logic only). */
  readonly sender?: Pick<MessageSender, 'send' | 'close'>;
  /** Called when the watchdog gives up on a stuck listener (main.ts exits). */
  readonly onStuck?: () => void;
}

export interface DeviceGateway {
  readonly app: ServiceApp;
  readonly tcp: TcpGateway;
  readonly registry: DeviceRegistry;
  readonly forwarder: RecordForwarder;
  /** Ensures the topic, loads the registry, listens; resolves with the TCP and HTTP ports. */
  start(): Promise<{ tcpPort: number; httpPort: number }>;
  stop(): Promise<void>;
}

export function createDeviceGateway(deps: DeviceGatewayDeps): DeviceGateway {
  const { config, logger, metrics, liveness } = deps;
  // Sends give up within the send timeout: the devices get no ack and resend.
  const client = deps.sender
    ? undefined
    : createServiceBusClient(config.serviceBus, {
        clientOptions: { retryOptions: deadlineRetryOptions(config.sendTimeoutMs) },
      });
  const sender = deps.sender ?? createMessageSender({ client: client!, entity: config.topic });
  const forwarder = createRecordForwarder({
    sender,
    vendorId: config.vendorId,
    maxMessageBytes: config.maxMessageBytes,
    sendTimeoutMs: config.sendTimeoutMs,
  });
  const registry = createDeviceRegistry({
    vendorId: config.vendorId,
    allowed: config.devices.allowed,
    ...(config.devices.registry ? { location: config.devices.registry } : {}),
    refreshMs: config.devices.refreshMs,
    logger,
  });
  const tcp = createTcpGateway({ options: config, registry, forwarder, logger, metrics });
  let listening = false;
  let watchdog: Watchdog | undefined;
  const app = createServiceApp({
    service: 'device-gateway',
    logger,
    registry: metrics.registry,
    liveness,
    readiness: async () => ({
      ok: listening && registry.loaded,
      checks: {
        listener: listening ? 'accepting' : 'not listening',
        devices: registry.loaded ? `${registry.size} allowed` : 'device registry not loaded yet',
        connections: String(tcp.connections),
      },
    }),
  });

  return {
    app,
    tcp,
    registry,
    forwarder,
    async start() {
      if (client) {
        // The topic is shared with the receiver; created if missing where the identity may manage entities.
        await ensureTopology(
          config.serviceBus,
          { topics: [{ name: config.topic, subscriptions: [] }] },
          logger,
        );
      }
      await registry.start();
      const tcpPort = await tcp.listen(config.host, config.tcpPort);
      listening = true;
      watchdog = startWatchdog({
        liveness,
        port: tcpPort,
        intervalMs: config.watchdogIntervalMs,
        logger,
        ...(deps.onStuck ? { onDead: deps.onStuck } : {}),
      });
      await app.listen({ host: config.host, port: config.httpPort });
      const address = app.server.address();
      const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
      logger.info(
        { tcpPort, httpPort, topic: config.topic, vendorId: config.vendorId, devices: registry.size },
        'device gateway listening',
      );
      return { tcpPort, httpPort };
    },
    async stop() {
      watchdog?.stop();
      listening = false;
      // No new connections; acks for records already with the broker still go out; then the sockets close.
      await tcp.close(Math.max(1_000, config.shutdownTimeoutMs - 5_000));
      await app.close();
      registry.stop();
      await sender.close();
      await client?.close();
    },
  };
}
