// The real PushSink: a push becomes one message (or a few parts, see libs/messaging push-messages.ts) sent with the messaging
// lib's sender, which resolves only once Service Bus accepted all of them; under load, concurrent pushes are
// sent together (libs/messaging coalescing-sender.ts). `connectServiceBusPushSink` is the
// wiring main.ts uses (client, sender, readiness probe), kept here so integration tests run exactly it.

import {
  createCoalescingSender,
  createMessageSender,
  createServiceBusClient,
  deadlineRetryOptions,
  toPushMessages,
  type CoalescingSender,
} from '@transit-fusion/messaging';
import type { ReceiverConfig } from './config.js';
import type { PushSendOptions, PushSink } from './push-sink.js';

export interface ServiceBusPushSinkDeps {
  /** A messaging MessageSender, or one wrapped by createCoalescingSender (what main.ts uses). */
  readonly sender: Pick<CoalescingSender, 'send'>;
  readonly maxMessageBytes: number;
  /** A broker round trip for readiness; optional. */
  readonly probe?: (options?: PushSendOptions) => Promise<void>;
}

export function createServiceBusPushSink(deps: ServiceBusPushSinkDeps): PushSink {
  return {
    send: (push, options = {}) => deps.sender.send(toPushMessages(push, deps.maxMessageBytes), options),
    ...(deps.probe ? { probe: deps.probe } : {}),
  };
}

export interface ServiceBusPushSinkConnection {
  readonly sink: PushSink;
  /** The Service Bus client (one AMQP connection), e.g. for a test to drain the topic with. */
  readonly client: ReturnType<typeof createServiceBusClient>;
  /** Closes the links, then the connection; call after the app stopped sending. */
  close(): Promise<void>;
}

export function connectServiceBusPushSink(
  config: Pick<ReceiverConfig, 'serviceBus' | 'topic' | 'maxMessageBytes' | 'sendTimeoutMs'>,
): ServiceBusPushSinkConnection {
  // Give up within the receiver's own send timeout: the vendor gets a 503 and retries, not a hanging request.
  const client = createServiceBusClient(config.serviceBus, {
    clientOptions: { retryOptions: deadlineRetryOptions(config.sendTimeoutMs) },
  });
  const messageSender = createMessageSender({ client, entity: config.topic });
  const sender = createCoalescingSender(messageSender, { maxGroupBytes: config.maxMessageBytes });
  // Readiness probe: a sender link of its own, asked for a batch. While its link is up that costs nothing (the
  // SDK notices a dropped connection at once, so an open link means reachable); when it is down, the SDK
  // reconnects, authenticates and attaches — a real round trip to the topic.
  const probeSender = client.createSender(config.topic);
  const probe = async (options: PushSendOptions = {}) => {
    await probeSender.createMessageBatch(options.abortSignal ? { abortSignal: options.abortSignal } : {});
  };
  return {
    sink: createServiceBusPushSink({ sender, maxMessageBytes: config.maxMessageBytes, probe }),
    client,
    async close() {
      await Promise.allSettled([messageSender.close(), probeSender.close()]);
      await client.close();
    },
  };
}
