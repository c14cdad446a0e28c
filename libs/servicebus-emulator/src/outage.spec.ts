// pause()/resume() as an outage looks to a client: connections drop, sends fail, and afterwards everything the
// broker accepted is still there, and locks taken before the outage can still be settled (through $management,
// since the receive link is gone).

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusEmulator, type ServiceBusEmulator } from './index.js';
import { emulatorConfig } from '../test/emulator.js';

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    config: emulatorConfig({
      queues: [{ name: 'pushes' }, { name: 'held' }],
    }),
  });
  // Few, quick retries: a send during the outage should fail fast, not wait out the default backoff.
  client = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 200, timeoutInMs: 3000 },
  });
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

describe('pause() and resume()', () => {
  it('fails sends during the outage and keeps every message accepted before it', async () => {
    const sender = client.createSender('pushes');
    for (let i = 0; i < 20; i++) await sender.sendMessages({ body: i });
    await sender.sendMessages(Array.from({ length: 30 }, (_, i) => ({ body: 20 + i })));
    const port = emulator.port;

    await emulator.pause();
    try {
      // The client cannot reconnect: the send fails once its retries are spent.
      const failure = await sender.sendMessages({ body: 'during' }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(emulator.stats('pushes')).toMatchObject({ active: 50 });
    } finally {
      await emulator.resume();
    }
    expect(emulator.port).toBe(port);
    await sender.sendMessages({ body: 'after' });

    const receiver = client.createReceiver('pushes', { receiveMode: 'receiveAndDelete' });
    const bodies: unknown[] = [];
    while (bodies.length < 51) {
      const batch = await receiver.receiveMessages(51 - bodies.length, { maxWaitTimeInMs: 2000 });
      if (batch.length === 0) break;
      bodies.push(...batch.map((m) => m.body));
    }
    expect(bodies).toEqual([...Array.from({ length: 50 }, (_, i) => i), 'after']);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('lets a message locked before the outage be completed after it', async () => {
    const sender = client.createSender('held');
    const receiver = client.createReceiver('held');
    await sender.sendMessages({ body: 'in flight' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });

    await emulator.pause();
    await emulator.resume();
    expect(emulator.stats('held')).toMatchObject({ active: 0, locked: 1 });
    // The receive link died with the connection: the client settles through $management (update-disposition).
    await receiver.completeMessage(message!);
    expect(emulator.stats('held')).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('refuses to pause, resume or report once stopped', async () => {
    const other = await startServiceBusEmulator({ config: emulatorConfig({ queues: [{ name: 'q' }] }) });
    await other.stop();
    await other.stop();
    await expect(other.resume()).rejects.toMatchObject({ code: 'STOPPED' });
    expect(() => other.stats('q')).toThrow(/STOPPED/);
  });
});
