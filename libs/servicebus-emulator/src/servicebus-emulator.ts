// The emulator's lifecycle: validate the configuration, build the entities, listen, and — for tests of outages —
// pause (stop listening, drop every connection, keep every message and lock) and resume on the same port.

import net from 'node:net';
import { createAmqpBroker } from './amqp-broker.js';
import { entityDefinitions, parseEmulatorConfig } from './emulator-config.js';
import { EmulatorError } from './emulator-error.js';
import { silentLogger, type EmulatorLogger } from './emulator-logger.js';
import { EntityRegistry } from './entity-registry.js';
import type { EntityStats } from './message-store.js';

const PAUSE_GRACE_MS = 20;

export interface ServiceBusEmulatorOptions {
  /**
   * The entities: an EmulatorConfig from parseEmulatorConfig / loadEmulatorConfig, or raw JSON in Microsoft's
   * emulator format (validated here; EmulatorError INVALID_CONFIG names the bad field).
   */
  readonly config: unknown;
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** TCP port. Default 0: a free port, chosen by the OS (then kept across pause/resume). */
  readonly port?: number;
  /** Default: silent. */
  readonly logger?: EmulatorLogger;
}

export interface ServiceBusEmulator {
  readonly host: string;
  readonly port: number;
  /** For ServiceBusClient: plain AMQP on host:port (`UseDevelopmentEmulator=true`); any key is accepted. */
  readonly connectionString: string;
  /**
   * Simulates an outage: stops listening and drops every connection. Messages and locks are kept (locks still
   * expire). Resolves 20 ms after the drop, so clients in this process have noticed it.
   */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  /** Drops every connection and stops; messages are discarded. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Counts for a queue (`orders`), a subscription (`topic/Subscriptions/sub`) or a dead-letter queue
   * (`…/$DeadLetterQueue`). Throws EmulatorError ENTITY_NOT_FOUND for anything else.
   */
  stats(entityPath: string): EntityStats;
}

/** Starts the emulator; resolves once it listens. */
export async function startServiceBusEmulator(
  options: ServiceBusEmulatorOptions,
): Promise<ServiceBusEmulator> {
  const config = parseEmulatorConfig(options.config);
  const definitions = entityDefinitions(config);
  const logger = options.logger ?? silentLogger;
  for (const warning of definitions.warnings) logger.warn({}, warning);

  const host = options.host ?? '127.0.0.1';
  // A client cannot connect to a wildcard address: name loopback in the connection string instead.
  const clientHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let port = options.port ?? 0;
  let server: net.Server | undefined;
  let state: 'running' | 'paused' | 'stopped' = 'paused';

  const registry = new EntityRegistry(definitions);
  const broker = createAmqpBroker({ registry, logger, endpoint: () => `sb://${clientHost}:${port}` });

  const listen = async () => {
    const next = net.createServer((socket) => broker.accept(socket));
    await new Promise<void>((resolve, reject) => {
      next.once('error', (error) =>
        reject(
          new EmulatorError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      next.listen({ host, port }, () => resolve());
    });
    next.on('error', (error) => logger.warn({ error: error.message }, 'server error'));
    server = next;
    port = (next.address() as net.AddressInfo).port;
    state = 'running';
  };

  const closeServer = async () => {
    const current = server;
    server = undefined;
    broker.dropConnections();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const ensureNotStopped = (action: string) => {
    if (state === 'stopped') throw new EmulatorError('STOPPED', `cannot ${action}: the emulator was stopped`);
  };

  await listen();
  logger.info({ host, port, namespace: definitions.namespace }, 'Service Bus emulator listening');

  return {
    host,
    get port() {
      return port;
    },
    get connectionString() {
      return `Endpoint=sb://${clientHost}:${port};SharedAccessKeyName=any;SharedAccessKey=any;UseDevelopmentEmulator=true`;
    },
    async pause() {
      ensureNotStopped('pause');
      if (state === 'paused') return;
      state = 'paused';
      await closeServer();
      // Give clients in this process a turn of their event loop to see their sockets close, so an operation
      // started right after pause() meets a dead connection rather than a link that only looks alive.
      await new Promise((resolve) => setTimeout(resolve, PAUSE_GRACE_MS));
      logger.info({ port }, 'paused: not listening, connections dropped, messages kept');
    },
    async resume() {
      ensureNotStopped('resume');
      if (state === 'running') return;
      await listen();
      logger.info({ port }, 'resumed');
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      await closeServer();
      registry.close();
      logger.info({ port }, 'stopped');
    },
    stats(entityPath) {
      ensureNotStopped('read stats');
      const resolved = registry.resolve(entityPath);
      if (!resolved.store || resolved.management) {
        throw new EmulatorError(
          'ENTITY_NOT_FOUND',
          `no queue, subscription or dead-letter queue "${entityPath}" (a subscription is topic/Subscriptions/name)`,
        );
      }
      return resolved.store.stats();
    },
  };
}
