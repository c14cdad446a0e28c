/**
 * The push receiver: an HTTP service that takes vendor pushes and hands them to Service Bus, answering 202 only
 * after Service Bus accepted them. Run it with `src/main.ts`; this entry is for tests, benchmarks and the local
 * stack.
 *
 * @example
 * ```ts
 * import { createReceiverApp, receiverConfigFromEnv } from '@transit-fusion/receiver';
 * const config = receiverConfigFromEnv(process.env); // ConfigError naming every bad variable
 * const app = createReceiverApp({ config, sink, logger, metrics }); // a Fastify instance; app.inject() in tests
 * ```
 */
export {
  receiverConfigFromEnv,
  RECEIVER_ENV_DEFAULTS,
  VENDOR_ID_PATTERN,
  type ReceiverConfig,
  type ReceiverConfigOptions,
  type VendorSettings,
  type VendorAuth,
} from './config.js';
export { Secret } from '@transit-fusion/service-kit';
export {
  createReceiverApp,
  PUSH_ROUTE,
  type ReceiverAppConfig,
  type ReceiverAppDeps,
  type PushAccepted,
} from './receiver-app.js';
export type { PushSink, PushSendOptions, VendorPush } from './push-sink.js';
export {
  createServiceBusPushSink,
  connectServiceBusPushSink,
  type ServiceBusPushSinkDeps,
  type ServiceBusPushSinkConnection,
} from './service-bus-push-sink.js';
export { toPushMessages, PUSH_CONTENT_TYPE, type PushMessageBody } from '@transit-fusion/messaging';
export { signBody, HMAC_TOLERANCE_MS } from './vendor-auth.js';
