/**
 * Azure Service Bus for transit-fusion: settings, topology, a sender that resolves only on durable acceptance,
 * and a batched peek-lock drainer that completes, abandons or dead-letters each message by what its handler
 * says.
 *
 * @example
 * ```ts
 * import {
 *   createBatchedDrainer, createMessageSender, createServiceBusClient, ensureTopology, messagingConfigFromEnv,
 * } from '@transit-fusion/messaging';
 * const config = messagingConfigFromEnv(process.env); // throws MessagingError INVALID_CONFIG naming the variable
 * const client = createServiceBusClient(config);
 * await ensureTopology(config, { topics: [{ name: 'vendor-b', subscriptions: [{ name: 'collector' }] }] }, logger);
 *
 * const sender = createMessageSender({ client, entity: 'vendor-b' });
 * await sender.send([{ body: { vehicle: '1001', delaySeconds: 40 } }]); // resolves once Service Bus accepted all
 *
 * const drainer = createBatchedDrainer({
 *   client, topic: 'vendor-b', subscription: 'collector',
 *   handler: async (batch) => {
 *     await store.write(batch);                 // durable first…
 *     return { processed: batch };              // …then complete
 *   },
 * });
 * const result = await drainer.drain({ budgetMs: 800 }); // { batches, received, completed, …, stoppedBecause }
 * ```
 */
export { MessagingError, isMessagingError, type MessagingErrorCode } from './messaging-error.js';
export { messagingConfigFromEnv, type MessagingConfig } from './messaging-config.js';
export {
  createServiceBusClient,
  DEFAULT_RETRY_OPTIONS,
  deadlineRetryOptions,
  type ServiceBusClientDeps,
} from './service-bus-client.js';
export { silentLogger, noMetrics, type MessagingLogger, type MessagingMetrics } from './messaging-logger.js';
export {
  ensureTopology,
  emulatorConfigOf,
  type Topology,
  type TopicSpec,
  type SubscriptionSpec,
  type TopologyAdmin,
  type TopologyReport,
  type EnsureTopologyDeps,
  type EmulatorConfigFile,
  type EmulatorEntityProperties,
} from './topology.js';
export {
  createMessageSender,
  type MessageSender,
  type MessageSenderDeps,
  type OutgoingMessage,
  type SendOptions,
  type ApplicationPropertyValue,
} from './message-sender.js';
export type { BatchHandler, BatchOutcome, PoisonMessage, ReceivedBatchMessage } from './batch-outcome.js';
export {
  createBatchedDrainer,
  type BatchedDrainer,
  type BatchedDrainerOptions,
  type DrainOptions,
  type DrainResult,
} from './batched-drainer.js';
export { toPushMessages, PUSH_CONTENT_TYPE, type PushMessageBody, type VendorPush } from './push-messages.js';
export {
  createCoalescingSender,
  type CoalescingSender,
  type CoalescingSenderOptions,
} from './coalescing-sender.js';
