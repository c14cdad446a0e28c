// Test helpers: one in-process Service Bus emulator per test file (free port, entities from a topology), the real
// @azure/service-bus client built through the lib's own config path, and read-back helpers that use the plain
// SDK receiver (so what the drainer did is checked by something other than the drainer).

import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import {
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
  type MessagingConfig,
  type Topology,
} from '../src/index.js';

export interface TestBus {
  readonly config: MessagingConfig;
  readonly client: ServiceBusClient;
  readonly emulator: Awaited<ReturnType<typeof startServiceBusEmulator>>;
  stop(): Promise<void>;
}

export async function startTestBus(topology: Topology): Promise<TestBus> {
  const emulator = await startServiceBusEmulator({ config: emulatorConfigOf(topology), port: 0 });
  const config = messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString });
  const client = createServiceBusClient(config);
  return {
    config,
    client,
    emulator,
    async stop() {
      await client.close();
      await emulator.stop();
    },
  };
}

/**
 * Receives (peek-lock, then complete) everything on a subscription or its dead-letter queue until a receive
 * comes back empty, and returns it in arrival order.
 */
export async function takeAll(
  client: ServiceBusClient,
  topic: string,
  subscription: string,
  options: { deadLetter?: boolean; maxWaitTimeMs?: number } = {},
): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(topic, subscription, {
    receiveMode: 'peekLock',
    skipParsingBodyAsJson: true,
    ...(options.deadLetter ? { subQueueType: 'deadLetter' as const } : {}),
  });
  const all: ServiceBusReceivedMessage[] = [];
  try {
    for (;;) {
      const batch = await receiver.receiveMessages(256, { maxWaitTimeInMs: options.maxWaitTimeMs ?? 300 });
      if (batch.length === 0) return all;
      await Promise.all(batch.map((m) => receiver.completeMessage(m)));
      all.push(...batch);
    }
  } finally {
    await receiver.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { seededRandom } from '@transit-fusion/testing';

export function text(body: Uint8Array): string {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}
