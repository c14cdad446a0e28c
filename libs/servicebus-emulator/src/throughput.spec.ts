// A small throughput smoke test: the collector's drain pattern (receiveMessages(16), complete each) over 2,000
// messages sent in batches. It checks exactly-once delivery and prints the rate; timing is for the benchmark.

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServiceBusEmulator, type ServiceBusEmulator } from './index.js';
import { emulatorConfig } from '../test/emulator.js';

const COUNT = 2000;

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    config: emulatorConfig({ topics: [{ name: 'vendor-pushes', subscriptions: [{ name: 'collector' }] }] }),
  });
  client = new ServiceBusClient(emulator.connectionString);
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

it('drains 2,000 batched messages with receiveMessages(16), each exactly once', async () => {
  const sender = client.createSender('vendor-pushes');
  const sendStarted = performance.now();
  for (let start = 0; start < COUNT; start += 100) {
    await sender.sendMessages(
      Array.from({ length: 100 }, (_, i) => ({
        body: { vendor: 'v1', vehicle: `bus-${start + i}`, lat: 60.17, lon: 24.94, at: Date.now() },
        messageId: String(start + i),
      })),
    );
  }
  const sendMs = performance.now() - sendStarted;
  expect(emulator.stats('vendor-pushes/Subscriptions/collector').active).toBe(COUNT);

  const receiver = client.createReceiver('vendor-pushes', 'collector');
  const seen = new Map<string, number>();
  const drainStarted = performance.now();
  while (seen.size < COUNT) {
    const batch = await receiver.receiveMessages(16, { maxWaitTimeInMs: 1000 });
    if (batch.length === 0) break;
    for (const message of batch)
      seen.set(String(message.messageId), (seen.get(String(message.messageId)) ?? 0) + 1);
    await Promise.all(batch.map((message) => receiver.completeMessage(message)));
  }
  const drainMs = performance.now() - drainStarted;

  expect(seen.size).toBe(COUNT);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
  expect(await receiver.receiveMessages(16, { maxWaitTimeInMs: 200 })).toEqual([]);
  expect(emulator.stats('vendor-pushes/Subscriptions/collector')).toEqual({
    active: 0,
    locked: 0,
    deferred: 0,
    deadLettered: 0,
  });
  console.log(
    `servicebus-emulator smoke: sent ${COUNT} in ${sendMs.toFixed(0)} ms (${((COUNT / sendMs) * 1000).toFixed(0)}/s, ` +
      `batches of 100); drained in ${drainMs.toFixed(0)} ms (${((COUNT / drainMs) * 1000).toFixed(0)}/s, ` +
      `receiveMessages(16) + complete)`,
  );
  await Promise.all([sender.close(), receiver.close()]);
});
