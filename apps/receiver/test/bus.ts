// The real thing for integration tests: the Service Bus emulator (in process, free port) with the receiver's
// topic and a `collector` subscription, the receiver config pointing at it, and a drain of the subscription with
// the messaging lib's batched drainer over the real @azure/service-bus client.

import {
  createBatchedDrainer,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
  type ReceivedBatchMessage,
} from '@transit-fusion/messaging';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import type { PushMessageBody } from '@transit-fusion/messaging';
import { VENDORS } from './helpers.js';

export const TOPIC = 'vendor-pushes';
export const SUBSCRIPTION = 'collector';

export async function startBus() {
  const emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: TOPIC, subscriptions: [{ name: SUBSCRIPTION }] }] }),
    port: 0,
  });
  return {
    emulator,
    /** The receiver's environment for this emulator. */
    env: (extra: Record<string, string> = {}): Record<string, string> => ({
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
      TF_RECEIVER_VENDORS: JSON.stringify(VENDORS),
      TF_RECEIVER_TOPIC: TOPIC,
      ...extra,
    }),
    stop: () => emulator.stop(),
  };
}

export interface DrainedMessage {
  readonly messageId: string | undefined;
  readonly contentType: string | undefined;
  readonly applicationProperties: Readonly<Record<string, unknown>>;
  readonly body: PushMessageBody;
}

/** Everything on the subscription, completed, in arrival order (stops after `quietMs` with nothing new). */
export async function drainAll(connectionString: string): Promise<DrainedMessage[]> {
  const client = createServiceBusClient(
    messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: connectionString }),
  );
  const drained: DrainedMessage[] = [];
  const drainer = createBatchedDrainer({
    client,
    topic: TOPIC,
    subscription: SUBSCRIPTION,
    batchSize: 64,
    maxWaitTimeMs: 300,
    handler: async (batch: readonly ReceivedBatchMessage[]) => {
      for (const m of batch) {
        drained.push({
          messageId: m.messageId,
          contentType: m.contentType,
          applicationProperties: m.applicationProperties,
          body: JSON.parse(Buffer.from(m.body).toString('utf8')) as PushMessageBody,
        });
      }
      return { processed: batch };
    },
  });
  try {
    for (;;) {
      const result = await drainer.drain({ budgetMs: 30_000 });
      if (result.stoppedBecause === 'empty' && result.received === 0) break;
    }
  } finally {
    await drainer.close();
    await client.close();
  }
  return drained;
}
