/**
 * A local Service Bus emulator for development and tests: an AMQP 1.0 broker (on rhea) that the real
 * `@azure/service-bus` client talks to through a `UseDevelopmentEmulator=true` connection string. Queues, topics
 * with subscriptions, peek-lock, dead-letter queues, deferral and `$management` peek / lock renewal, declared in
 * the config format of Microsoft's Service Bus emulator. Production uses Azure Service Bus, never this.
 *
 * @example
 * ```ts
 * import { ServiceBusClient } from '@azure/service-bus';
 * import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
 *
 * const emulator = await startServiceBusEmulator({
 *   config: {
 *     UserConfig: {
 *       Namespaces: [{ Name: 'sbemulatorns', Queues: [{ Name: 'orders', Properties: { LockDuration: 'PT30S' } }] }],
 *     },
 *   },
 * }); // 127.0.0.1, a free port
 * const client = new ServiceBusClient(emulator.connectionString);
 * await client.createSender('orders').sendMessages({ body: { id: 1 } });
 * const [message] = await client.createReceiver('orders').receiveMessages(1, { maxWaitTimeInMs: 1000 });
 * emulator.stats('orders'); // { active: 0, locked: 1, deferred: 0, deadLettered: 0 }
 * await client.close();
 * await emulator.stop();
 * ```
 */
export {
  startServiceBusEmulator,
  type ServiceBusEmulator,
  type ServiceBusEmulatorOptions,
} from './servicebus-emulator.js';
export {
  parseEmulatorConfig,
  loadEmulatorConfig,
  ENTITY_DEFAULTS,
  type EmulatorConfig,
} from './emulator-config.js';
export { EmulatorError, isEmulatorError, type EmulatorErrorCode } from './emulator-error.js';
export { silentLogger, type EmulatorLogger } from './emulator-logger.js';
export type { EntityStats } from './message-store.js';
export { MAX_MESSAGE_SIZE_BYTES } from './amqp-broker.js';
export {
  spawnServiceBusEmulator,
  type EmulatorProcess,
  type EmulatorProcessOptions,
} from './emulator-process.js';
