// A push collector against real parts: the Service Bus emulator with the real @azure/service-bus client, and
// Azurite. Pushes are written the way the receiver writes them; nothing is completed before it is stored.

import type { ServiceBusClient } from '@azure/service-bus';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
  type OutgoingMessage,
} from '@transit-fusion/messaging';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import type { VendorSnapshotRepository } from '@transit-fusion/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isCollectorError } from '../src/collector-error.js';
import type { PushVendorSettings } from '../src/config.js';
import { createPushCollector } from '../src/push-collector.js';
import { freshRepository } from './storage.js';

const FUEL: PushVendorSettings = {
  id: 'fuel',
  kind: 'push',
  topic: 'vendor-pushes',
  subscription: 'collector',
  schedule: '* * * * * *',
  budgetMs: 800,
  maxRecordAgeMs: 15 * 60_000,
  batchSize: 64,
};

let pushCount = 0;
/** A push exactly as the receiver puts it on the topic (see apps/receiver/src/push-messages.ts). */
function push(vendorId: string, records: unknown[]): OutgoingMessage {
  const pushId = `push-${++pushCount}`;
  return {
    body: Buffer.from(JSON.stringify({ pushId, vendorId, receivedAt: Date.now(), records })),
    contentType: 'application/json',
    messageId: pushId,
    applicationProperties: { vendorId, pushId, recordCount: records.length, partIndex: 0, partCount: 1 },
  };
}

const fuel = (vehicleKey: string, level: number, observedAt = Date.now()) => ({
  vendorId: 'fuel',
  vehicleKey,
  observedAt,
  fuel: level,
});

describe('push collector on the Service Bus emulator and Azurite', () => {
  let emulator: Awaited<ReturnType<typeof startServiceBusEmulator>>;
  let client: ServiceBusClient;
  let repository: VendorSnapshotRepository;
  let topic: string;
  let topicIndex = 0;
  const TOPICS = ['t1', 't2', 't3', 't4', 't5', 't6'];

  beforeAll(async () => {
    emulator = await startServiceBusEmulator({
      config: emulatorConfigOf({
        topics: TOPICS.map((name) => ({
          name,
          subscriptions: [{ name: 'collector', lockDurationMs: 5_000 }],
        })),
      }),
      port: 0,
    });
    client = createServiceBusClient(
      messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await emulator?.stop();
  });
  // Every test has its own topic, so no test sees another's pushes.
  beforeEach(async () => {
    topic = TOPICS[topicIndex++]!;
    ({ repository } = await freshRepository());
  });

  const settings = (): PushVendorSettings => ({ ...FUEL, topic });
  const send = (...messages: OutgoingMessage[]) =>
    createMessageSender({ client, entity: topic }).send(messages);
  async function remaining(deadLetter = false) {
    const receiver = client.createReceiver(topic, 'collector', {
      receiveMode: 'receiveAndDelete',
      skipParsingBodyAsJson: true,
      ...(deadLetter ? { subQueueType: 'deadLetter' as const } : {}),
    });
    try {
      return await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 });
    } finally {
      await receiver.close();
    }
  }

  it('merges pushes into the vendor snapshot, stores it, and only then completes the messages', async () => {
    const collector = createPushCollector({ vendors: [settings()], client, repository });
    const t0 = Date.now() - 10_000;
    await send(
      push('fuel', [fuel('bus-1', 80, t0), fuel('bus-2', 55, t0)]),
      push('fuel', [fuel('bus-1', 79, t0 + 1_000), { vehicleKey: 'bus-3', observedAt: t0, fuel: 12 }]),
    );
    const report = await collector.tick(AbortSignal.timeout(2_000));
    expect(report.vendors).toEqual([
      expect.objectContaining({ vendorId: 'fuel', outcome: 'saved', records: 3, rejected: {} }),
    ]);
    const read = await repository.readLatest('fuel');
    if (read.status !== 'changed') throw new Error('not stored');
    expect(Object.fromEntries(read.snapshot.records.map((r) => [r.vehicleKey, r.fuel]))).toEqual({
      'bus-1': 79,
      'bus-2': 55,
      'bus-3': 12,
    });
    expect(await remaining()).toEqual([]);
    // Nothing new: an idle tick stores nothing.
    expect((await collector.tick(AbortSignal.timeout(2_000))).vendors[0]).toMatchObject({ outcome: 'idle' });
    await collector.close();
  });

  it('dead-letters what can never be a push of its vendors, saying why, and counts invalid records', async () => {
    const collector = createPushCollector({ vendors: [settings()], client, repository });
    await send(
      { body: Buffer.from('{"pushId": "x", "records": [ truncated'), contentType: 'application/json' },
      push('tyres', [fuel('bus-1', 1)]),
      push('fuel', [fuel('bus-9', 40), { vehicleKey: 'bus-8', observedAt: 'yesterday', fuel: 3 }]),
    );
    const report = await collector.tick(AbortSignal.timeout(2_000));
    expect(report.vendors[0]).toMatchObject({ outcome: 'saved', records: 1, rejected: { INVALID_FIELD: 1 } });
    const dead = await remaining(true);
    expect(dead.map((m) => [m.deadLetterReason, m.deadLetterErrorDescription?.slice(0, 50)]).sort()).toEqual([
      ['invalid-payload', expect.stringMatching(/^body is not JSON/)],
      ['unknown-vendor', 'vendor tyres is not collected from t2/collector (c'],
    ]);
    await collector.close();
  });

  it('completes nothing when the snapshot cannot be stored; the next tick stores the redelivered pushes', async () => {
    let failures = 1;
    const flaky: VendorSnapshotRepository = {
      ...repository,
      save: (snapshot, options) =>
        failures-- > 0
          ? Promise.reject(new Error('UNAVAILABLE: storage is down'))
          : repository.save(snapshot, options),
    };
    const collector = createPushCollector({ vendors: [settings()], client, repository: flaky });
    await send(push('fuel', [fuel('bus-1', 70)]));

    const error = await collector.tick(AbortSignal.timeout(2_000)).catch((e: unknown) => e);
    expect(isCollectorError(error) && error.code).toBe('STORAGE_FAILED');
    expect((await repository.readLatest('fuel')).status).toBe('missing');

    const report = await collector.tick(AbortSignal.timeout(2_000));
    expect(report.vendors[0]).toMatchObject({ outcome: 'saved', records: 1 });
    expect(await remaining()).toEqual([]);
    await collector.close();
  });

  it('continues after a restart from the stored snapshot, and drains nothing until it could load it', async () => {
    const first = createPushCollector({ vendors: [settings()], client, repository });
    await send(push('fuel', [fuel('bus-1', 60)]));
    await first.tick(AbortSignal.timeout(2_000));
    await first.close();
    const before = await repository.readLatest('fuel');
    if (before.status !== 'changed') throw new Error('not stored');

    let loadFails = true;
    const second = createPushCollector({
      vendors: [settings()],
      client,
      repository: {
        ...repository,
        readLatest: (id, etag) =>
          loadFails
            ? Promise.reject(new Error('UNAVAILABLE: storage is down'))
            : repository.readLatest(id, etag),
      },
    });
    await send(push('fuel', [fuel('bus-2', 30)]));
    const error = await second.tick(AbortSignal.timeout(2_000)).catch((e: unknown) => e);
    expect(isCollectorError(error) && error.code).toBe('NOT_READY');

    loadFails = false;
    const report = await second.tick(AbortSignal.timeout(2_000));
    expect(report.vendors[0]).toMatchObject({ outcome: 'saved', records: 2 });
    const after = await repository.readLatest('fuel');
    if (after.status !== 'changed') throw new Error('not stored');
    expect(after.snapshot.records.map((r) => r.vehicleKey).sort()).toEqual(['bus-1', 'bus-2']);
    expect(after.snapshot.sequence).toBeGreaterThan(before.snapshot.sequence);
    await second.close();
  });
});
