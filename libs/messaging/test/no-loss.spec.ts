// THE property the messaging lib exists for: with failures injected into the handler (messages left unprocessed
// and so abandoned, poison dead-lettered, whole batches thrown), every pushed message ends up exactly once either
// in the durable result or in the dead-letter queue. None lost, none duplicated. Two drainers compete on the
// subscription, as two collector replicas would. A second run adds a broker outage in the middle.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBatchedDrainer,
  createMessageSender,
  isMessagingError,
  type BatchHandler,
  type BatchedDrainer,
  type DrainResult,
} from '../src/index.js';
import { seededRandom, sleep, startTestBus, takeAll, text, type TestBus } from './bus.js';

// N = 10,000 runs in well under a minute here (about 5–8 s); TF_NO_LOSS_N overrides it.
const N = Number(process.env['TF_NO_LOSS_N'] ?? 10_000);
const N_OUTAGE = Math.min(N, 2_000);
const SEED = Number(process.env['TF_NO_LOSS_SEED'] ?? 20_260_101);
const SUBSCRIPTION = 'collector';

let bus: TestBus;

beforeAll(async () => {
  bus = await startTestBus({
    topics: [
      { name: 'pushes', subscriptions: [{ name: SUBSCRIPTION, maxDeliveryCount: 10 }] },
      // Locks held by connections the outage cut expire after 5 s.
      {
        name: 'pushes-outage',
        subscriptions: [{ name: SUBSCRIPTION, maxDeliveryCount: 10, lockDurationMs: 5_000 }],
      },
    ],
  });
});
afterAll(() => bus?.stop());

/** Pushes N messages, 2% of them poison (a property of the payload, bad on every delivery). */
async function push(topic: string, n: number, random: () => number) {
  const ids = Array.from({ length: n }, (_, i) => `${topic}-${i}`);
  const poison = new Set(ids.filter(() => random() < 0.02));
  const sender = createMessageSender({ client: bus.client, entity: topic });
  for (let i = 0; i < n; i += 1_000) {
    await sender.send(
      ids.slice(i, i + 1_000).map((id) => ({ messageId: id, body: { id, poison: poison.has(id) } })),
    );
  }
  await sender.close();
  return { ids, poison };
}

/**
 * A handler with injected failures: 3% of batches throw, 10% of messages are left unprocessed per delivery. It
 * writes to `durable` (counting writes per id) before reporting a message processed, as a real store would.
 */
function faultyHandler(random: () => number) {
  const durable = new Map<string, number>();
  const stats = { thrown: 0, mismatched: 0 };
  const handler: BatchHandler = async (batch) => {
    if (random() < 0.03) {
      stats.thrown++;
      throw new Error('injected: the store is down');
    }
    const processed = [];
    const poison = [];
    for (const message of batch) {
      const body = JSON.parse(text(message.body)) as { id: string; poison: boolean };
      // Counted, not expect()ed: an assertion thrown here would only count as a handler failure.
      if (body.id !== message.messageId) stats.mismatched++;
      if (body.poison)
        poison.push({ message, reason: 'invalid-payload', description: `${body.id} is poison` });
      else if (random() < 0.1)
        continue; // not processed this time → abandoned, redelivered
      else {
        durable.set(body.id, (durable.get(body.id) ?? 0) + 1);
        processed.push(message);
      }
    }
    return { processed, poison };
  };
  return { handler, durable, stats };
}

function drainersFor(topic: string, handler: BatchHandler): BatchedDrainer[] {
  return [0, 1].map(() =>
    createBatchedDrainer({
      client: bus.client,
      topic,
      subscription: SUBSCRIPTION,
      maxWaitTimeMs: 300,
      handler,
    }),
  );
}

const zero = () => ({
  received: 0,
  completed: 0,
  deadLettered: 0,
  abandoned: 0,
  settleFailed: 0,
  failedDrains: 0,
});

/**
 * Rounds of all drainers draining concurrently until a round finds nothing, nothing failed and `settled()` says
 * the broker holds nothing more.
 */
async function drainRounds(n: number, drainers: BatchedDrainer[], settled: () => boolean = () => true) {
  const totals = zero();
  for (let round = 0; round < 2_000; round++) {
    const results = await Promise.all(
      drainers.map((d) =>
        d.drain({ budgetMs: 30_000 }).catch((error: unknown) => {
          // A cron tick that fails is logged and the next tick tries again; so does this loop.
          if (!isMessagingError(error) || error.code !== 'UNAVAILABLE') throw error;
          totals.failedDrains++;
          return undefined;
        }),
      ),
    );
    for (const r of results.filter((x): x is DrainResult => x !== undefined)) {
      totals.received += r.received;
      totals.completed += r.completed;
      totals.deadLettered += r.deadLettered;
      totals.abandoned += r.abandoned;
      totals.settleFailed += r.settleFailed;
    }
    // Each message is delivered at most maxDeliveryCount (10) times: more would be a broker that never lets go.
    if (totals.received > n * 11) throw new Error(`runaway redelivery: ${JSON.stringify(totals)}`);
    const idle = results.every((r) => r !== undefined && r.received === 0);
    if (idle && settled()) break;
    if (idle || results.some((r) => r === undefined)) await sleep(250);
  }
  await Promise.all(drainers.map((d) => d.close()));
  return totals;
}

describe('no message lost or duplicated', () => {
  it(`N = ${N} pushes with injected failures: N = completed + dead-lettered, exactly once each`, async () => {
    const random = seededRandom(SEED);
    const { ids, poison } = await push('pushes', N, random);
    const { handler, durable, stats } = faultyHandler(random);

    const totals = await drainRounds(N, drainersFor('pushes', handler));
    const dead = await takeAll(bus.client, 'pushes', SUBSCRIPTION, { deadLetter: true });
    const deadIds = dead.map((m) => m.messageId as string);

    // N pushed = N completed + N dead-lettered…
    expect(totals.completed + totals.deadLettered).toBe(N);
    expect(dead).toHaveLength(totals.deadLettered);
    // …each message exactly once: completed ones written once, dead-lettered ones never, none twice.
    expect(totals.settleFailed).toBe(0);
    expect(durable.size).toBe(totals.completed);
    expect([...durable.values()].every((writes) => writes === 1)).toBe(true);
    expect(new Set(deadIds).size).toBe(deadIds.length);
    expect(deadIds.filter((id) => durable.has(id))).toEqual([]);
    expect(new Set([...durable.keys(), ...deadIds])).toEqual(new Set(ids));
    // Exactly the poison was dead-lettered by the handler, with its reason.
    expect(
      new Set(dead.filter((m) => m.deadLetterReason === 'invalid-payload').map((m) => m.messageId)),
    ).toEqual(poison);
    expect(stats.mismatched).toBe(0);
    // The failures really were injected.
    expect(stats.thrown).toBeGreaterThan(0);
    expect(totals.abandoned).toBeGreaterThan(N * 0.05);
    expect(totals.failedDrains).toBe(0);
    expect(bus.emulator.stats('pushes/Subscriptions/collector')).toEqual({
      active: 0,
      locked: 0,
      deferred: 0,
      deadLettered: 0, // read back (and completed) above
    });
  }, 120_000);

  it(`N = ${N_OUTAGE} pushes across a broker outage: every message durable or dead-lettered, none in both`, async () => {
    const random = seededRandom(SEED + 1);
    const { ids } = await push('pushes-outage', N_OUTAGE, random);
    const { handler, durable, stats } = faultyHandler(random);
    const path = `pushes-outage/Subscriptions/${SUBSCRIPTION}`;

    // The outage strikes inside a handler, a third of the way: its batch is then settled on a dropped connection.
    let outage: Promise<void> | undefined;
    const withOutage: BatchHandler = async (batch) => {
      const outcome = await handler(batch);
      if (!outage && durable.size > N_OUTAGE / 3) {
        outage = (async () => {
          await bus.emulator.pause(); // connections dropped; messages and locks kept
          await sleep(1_000);
          await bus.emulator.resume();
        })();
        await outage;
      }
      return outcome;
    };
    // Locks held by the cut connections expire (5 s) and their messages come back: drain until the broker
    // holds nothing.
    const totals = await drainRounds(N_OUTAGE, drainersFor('pushes-outage', withOutage), () => {
      const { active, locked } = bus.emulator.stats(path);
      return active + locked === 0;
    });
    expect(outage).toBeDefined();
    expect(bus.emulator.stats(path)).toMatchObject({ active: 0, locked: 0 });

    const dead = await takeAll(bus.client, 'pushes-outage', SUBSCRIPTION, { deadLetter: true });
    const deadIds = dead.map((m) => m.messageId as string);
    // A completion the outage cut may have been applied or not: the message may be processed again (the handler
    // is idempotent: `durable` is keyed by id), but it is never lost and never both stored and dead-lettered.
    expect(new Set(deadIds).size).toBe(deadIds.length);
    expect(deadIds.filter((id) => durable.has(id))).toEqual([]);
    expect(new Set([...durable.keys(), ...deadIds])).toEqual(new Set(ids));
    expect(totals.completed + totals.deadLettered).toBeLessThanOrEqual(N_OUTAGE);
    expect(stats.mismatched).toBe(0);
  }, 120_000);
});
