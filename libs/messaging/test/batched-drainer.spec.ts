// The batched drainer against the real @azure/service-bus client and the project's emulator: one emulator for
// the file, one topic per test so tests cannot see each other's messages.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBatchedDrainer,
  createMessageSender,
  isMessagingError,
  type BatchHandler,
  type BatchedDrainerOptions,
  type MessagingMetrics,
  type ReceivedBatchMessage,
} from '../src/index.js';
import { sleep, startTestBus, takeAll, text, type TestBus } from './bus.js';

const TOPICS = [
  'empty',
  'until-empty',
  'budget',
  'abandon',
  'max-delivery',
  'poison',
  'throws',
  'loop',
  'stop',
  'busy',
  'mixed-abandon',
  'mixed-poison',
  'two-poisons',
] as const;

let bus: TestBus;

beforeAll(async () => {
  bus = await startTestBus({
    topics: [
      ...TOPICS.map((name) => ({
        name,
        subscriptions: [{ name: 'collector', maxDeliveryCount: name === 'max-delivery' ? 3 : 10 }],
      })),
      // A 1 s lock (shorter than Azure allows; the emulator takes it) keeps the lock-expiry test short.
      { name: 'lock', subscriptions: [{ name: 'collector', lockDurationMs: 1_000 }] },
    ],
  });
});
afterAll(() => bus?.stop());

async function push(topic: string, count: number, from = 0): Promise<void> {
  const sender = createMessageSender({ client: bus.client, entity: topic });
  await sender.send(
    Array.from({ length: count }, (_, k) => ({ messageId: `${topic}-${from + k}`, body: { k: from + k } })),
  );
  await sender.close();
}

function drainerFor(topic: string, handler: BatchHandler, options: Partial<BatchedDrainerOptions> = {}) {
  return createBatchedDrainer({
    client: bus.client,
    topic,
    subscription: 'collector',
    maxWaitTimeMs: 300,
    handler,
    ...options,
  });
}

const processAll: BatchHandler = async (batch) => ({ processed: batch });

describe('drain()', () => {
  it('returns at once with empty when there is nothing to drain', async () => {
    const drainer = drainerFor('empty', processAll);
    const started = performance.now();
    const result = await drainer.drain({ budgetMs: 5_000 });
    await drainer.close();
    expect(result).toEqual({
      batches: 0,
      received: 0,
      completed: 0,
      abandoned: 0,
      deadLettered: 0,
      settleFailed: 0,
      stoppedBecause: 'empty',
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('drains until the subscription is empty, in batches of at most batchSize, and completes them', async () => {
    await push('until-empty', 100);
    const sizes: number[] = [];
    const seen = new Set<string>();
    const counted: Record<string, number> = {};
    const metrics: MessagingMetrics = {
      count: (name, n, labels) => {
        counted[name] = (counted[name] ?? 0) + n;
        expect(labels).toMatchObject({ topic: 'until-empty', subscription: 'collector' });
      },
    };
    const drainer = drainerFor(
      'until-empty',
      async (batch) => {
        sizes.push(batch.length);
        for (const m of batch) seen.add(m.messageId!);
        return { processed: batch };
      },
      { metrics },
    );
    const result = await drainer.drain({ budgetMs: 20_000 });
    await drainer.close();

    expect(result).toMatchObject({ received: 100, completed: 100, abandoned: 0, stoppedBecause: 'empty' });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
    expect(result.batches).toBe(sizes.length);
    expect(result.batches).toBeGreaterThanOrEqual(7);
    expect(seen.size).toBe(100);
    expect(counted).toMatchObject({
      'messaging.drain.batches': result.batches,
      'messaging.drain.received': 100,
      'messaging.drain.completed': 100,
    });
    expect(await takeAll(bus.client, 'until-empty', 'collector')).toEqual([]);
  });

  it('stops with budget when time runs out, finishing the batch in hand; the next drain takes the rest', async () => {
    await push('budget', 200);
    let slow = true;
    const drainer = drainerFor(
      'budget',
      async (batch) => {
        if (slow) await sleep(150);
        return { processed: batch };
      },
      { batchSize: 10 },
    );
    const first = await drainer.drain({ budgetMs: 400 });
    expect(first.stoppedBecause).toBe('budget');
    expect(first.completed).toBe(first.received);
    expect(first.completed).toBeGreaterThan(0);
    expect(first.completed).toBeLessThan(200);

    slow = false;
    const rest = await drainer.drain({ budgetMs: 30_000 });
    await drainer.close();
    expect(rest.stoppedBecause).toBe('empty');
    expect(first.completed + rest.completed).toBe(200);
  });

  it('stops with aborted when the signal fires, between batches', async () => {
    await push('budget', 50, 1_000);
    const controller = new AbortController();
    const drainer = drainerFor('budget', async (batch) => {
      controller.abort();
      return { processed: batch };
    });
    const result = await drainer.drain({ budgetMs: 30_000, abortSignal: controller.signal });
    expect(result).toMatchObject({ batches: 1, stoppedBecause: 'aborted' });
    expect((await drainer.drain({ budgetMs: 30_000 })).stoppedBecause).toBe('empty');
    await drainer.close();
  });

  it('abandons what was not processed: it comes back with a higher delivery count', async () => {
    await push('abandon', 1);
    const deliveries: number[] = [];
    const drainer = drainerFor('abandon', async (batch) => {
      deliveries.push(...batch.map((m) => m.deliveryCount));
      return { processed: deliveries.length < 3 ? [] : batch };
    });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await drainer.drain({ budgetMs: 10_000 }));
    await drainer.close();
    expect(deliveries).toEqual([0, 1, 2]);
    // Within one drain an abandoned message is available again at once: the drain takes it again.
    expect(results.reduce((n, r) => n + r.completed, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.abandoned, 0)).toBe(2);
  });

  it('leaves a message abandoned past the max delivery count to the broker, which dead-letters it', async () => {
    await push('max-delivery', 1);
    const drainer = drainerFor('max-delivery', async () => ({ processed: [] }));
    const result = await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    expect(result).toMatchObject({ received: 3, abandoned: 3, completed: 0, stoppedBecause: 'empty' });
    const dead = await takeAll(bus.client, 'max-delivery', 'collector', { deadLetter: true });
    expect(dead.map((m) => m.messageId)).toEqual(['max-delivery-0']);
    expect(dead[0]!.deadLetterReason).toBe('MaxDeliveryCountExceeded');
  });

  it('dead-letters poison with its reason and description, and completes the rest of the batch', async () => {
    await push('poison', 5);
    const drainer = drainerFor('poison', async (batch) => {
      const bad = batch.filter((m) => Number(m.messageId!.split('-')[1]) % 2 === 1);
      return {
        processed: batch.filter((m) => !bad.includes(m)),
        poison: bad.map((message) => ({
          message,
          reason: 'invalid-payload',
          description: `record ${text(message.body)} has no vehicle id`,
        })),
      };
    });
    const result = await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    expect(result).toMatchObject({ received: 5, completed: 3, deadLettered: 2, abandoned: 0 });

    const dead = await takeAll(bus.client, 'poison', 'collector', { deadLetter: true });
    expect(dead.map((m) => m.messageId).sort()).toEqual(['poison-1', 'poison-3']);
    for (const m of dead) {
      expect(m.deadLetterReason).toBe('invalid-payload');
      expect(m.deadLetterErrorDescription).toBe(`record ${text(m.body)} has no vehicle id`);
    }
    expect(await takeAll(bus.client, 'poison', 'collector')).toEqual([]);
  });

  // rhea 3.0.5 (under @azure/service-bus) merges dispositions of consecutive deliveries written in the same tick
  // into one range without comparing the second one's outcome with the first's: settled together, an abandon
  // or dead-letter right after a completion became a completion (the message was lost), and a second
  // dead-letter took the first one's reason. These pairs are exactly that shape.
  it('abandons the second of a pair whose first was processed (it comes back, it is not completed)', async () => {
    await push('mixed-abandon', 2);
    const seen: [string, number][] = [];
    const drainer = drainerFor('mixed-abandon', async (batch) => {
      seen.push(...batch.map((m): [string, number] => [m.messageId!, m.deliveryCount]));
      return { processed: batch.filter((m) => m.messageId === 'mixed-abandon-0' || m.deliveryCount > 0) };
    });
    const result = await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    expect(result).toMatchObject({ completed: 2, abandoned: 1 });
    expect(seen).toEqual([
      ['mixed-abandon-0', 0],
      ['mixed-abandon-1', 0],
      ['mixed-abandon-1', 1],
    ]);
  });

  it('dead-letters the second of a pair whose first was processed', async () => {
    await push('mixed-poison', 2);
    const drainer = drainerFor('mixed-poison', async ([first, second]) => ({
      processed: [first!],
      poison: second ? [{ message: second, reason: 'invalid-payload', description: 'second' }] : [],
    }));
    const result = await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    expect(result).toMatchObject({ received: 2, completed: 1, deadLettered: 1 });
    const dead = await takeAll(bus.client, 'mixed-poison', 'collector', { deadLetter: true });
    expect(dead.map((m) => [m.messageId, m.deadLetterReason])).toEqual([
      ['mixed-poison-1', 'invalid-payload'],
    ]);
  });

  it('dead-letters each poison message with its own reason and description', async () => {
    await push('two-poisons', 2);
    const drainer = drainerFor('two-poisons', async (batch) => ({
      processed: [],
      poison: batch.map((message, i) => ({
        message,
        reason: `reason-${i}`,
        description: `description-${i}`,
      })),
    }));
    await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    const dead = await takeAll(bus.client, 'two-poisons', 'collector', { deadLetter: true });
    expect(dead.map((m) => [m.messageId, m.deadLetterReason, m.deadLetterErrorDescription])).toEqual([
      ['two-poisons-0', 'reason-0', 'description-0'],
      ['two-poisons-1', 'reason-1', 'description-1'],
    ]);
  });

  it('abandons the whole batch when the handler throws, and stops the drain there', async () => {
    await push('throws', 20);
    let calls = 0;
    const errors: object[] = [];
    const drainer = drainerFor(
      'throws',
      async (batch) => {
        if (++calls === 1) throw new Error('storage is down');
        return { processed: batch };
      },
      { logger: { info: () => {}, warn: () => {}, error: (obj) => errors.push(obj) } },
    );
    const failed = await drainer.drain({ budgetMs: 10_000 });
    expect(failed).toMatchObject({
      batches: 1,
      received: 16,
      abandoned: 16,
      completed: 0,
      stoppedBecause: 'handler-failed',
    });
    expect(errors).toHaveLength(1);

    const redelivered: ReceivedBatchMessage[] = [];
    const next = drainerFor('throws', async (batch) => {
      redelivered.push(...batch);
      return { processed: batch };
    });
    expect(await next.drain({ budgetMs: 10_000 })).toMatchObject({ completed: 20, stoppedBecause: 'empty' });
    await Promise.all([drainer.close(), next.close()]);
    expect(redelivered.filter((m) => m.deliveryCount === 1)).toHaveLength(16);
    expect(new Set(redelivered.map((m) => m.messageId)).size).toBe(20);
  });

  it('redelivers a message whose lock expired before settlement (no lock renewal)', async () => {
    await push('lock', 1);
    const deliveries: number[] = [];
    const drainer = drainerFor(
      'lock',
      async (batch) => {
        deliveries.push(...batch.map((m) => m.deliveryCount));
        if (deliveries.length === 1) await sleep(1_600); // longer than the 1 s lock
        return { processed: batch };
      },
      { maxAutoLockRenewalDurationInMs: 0 },
    );
    const first = await drainer.drain({ budgetMs: 1_000 });
    expect(first).toMatchObject({ received: 1, completed: 0, settleFailed: 1 });
    const second = await drainer.drain({ budgetMs: 10_000 });
    await drainer.close();
    expect(second).toMatchObject({ received: 1, completed: 1, settleFailed: 0 });
    expect(deliveries).toEqual([0, 1]);
  });
});

describe('start() / stop()', () => {
  it('keeps receiving, handling and settling until stopped', async () => {
    const seen = new Set<string>();
    const drainer = drainerFor('loop', async (batch) => {
      for (const m of batch) seen.add(m.messageId!);
      return { processed: batch };
    });
    drainer.start();
    await push('loop', 40);
    await push('loop', 40, 40);
    const deadline = Date.now() + 15_000;
    while (seen.size < 80 && Date.now() < deadline) await sleep(50);
    await drainer.stop();
    await drainer.close();
    expect(seen.size).toBe(80);
    expect(await takeAll(bus.client, 'loop', 'collector')).toEqual([]);
  });

  it('stop() finishes the batch in hand: its messages are settled before it returns', async () => {
    await push('stop', 5);
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let finished = false;
    const drainer = drainerFor('stop', async (batch) => {
      entered();
      await sleep(500);
      finished = true;
      return { processed: batch };
    });
    drainer.start();
    await inHandler;
    await drainer.stop();
    expect(finished).toBe(true);
    await drainer.close();
    // Completed, not abandoned or left locked: nothing comes back.
    expect(await takeAll(bus.client, 'stop', 'collector')).toEqual([]);
  });

  it('keeps going after a handler throw, backing off, and the batch comes back', async () => {
    await push('stop', 3, 100);
    let calls = 0;
    const done = new Set<string>();
    const drainer = drainerFor(
      'stop',
      async (batch) => {
        if (++calls === 1) throw new Error('transient');
        for (const m of batch) done.add(m.messageId!);
        return { processed: batch };
      },
      { retryBackoffMs: 100 },
    );
    drainer.start();
    const deadline = Date.now() + 10_000;
    while (done.size < 3 && Date.now() < deadline) await sleep(50);
    await drainer.close();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(done.size).toBe(3);
  });

  it('refuses a drain while the loop runs (BUSY)', async () => {
    const drainer = drainerFor('busy', processAll);
    drainer.start();
    const error = await drainer.drain({ budgetMs: 100 }).catch((e) => e);
    expect(() => drainer.start()).toThrow(/BUSY/);
    await drainer.close();
    expect(isMessagingError(error) && error.code).toBe('BUSY');
    // Usable again once stopped.
    expect((await drainer.drain({ budgetMs: 1_000 })).stoppedBecause).toBe('empty');
    await drainer.close();
  });
});
