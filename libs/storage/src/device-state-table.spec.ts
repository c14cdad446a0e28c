import { setTimeout as delay } from 'node:timers/promises';
import { TableClient } from '@azure/data-tables';
import { QualityFlag } from '@transit-fusion/model';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { azuriteConnectionString, freshStorage, type TestStorage } from '../test/azurite.js';
import {
  backoffDelay,
  createDeviceStateTable,
  DEVICE_STATE_BUCKETS,
  deviceStatePartition,
  deviceStateRowKey,
  type DeviceStateTableOptions,
  type RecordOutcome,
} from './device-state-table.js';
import type { StorageClients } from './storage-clients.js';
import { isStorageError, type StorageError } from './storage-error.js';
import type { StorageLogger } from './storage-logger.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47);

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(isStorageError(error)).toBe(true);
    return error as StorageError;
  }
  throw new Error('expected a StorageError');
}

function recordingLogger() {
  return { warn: vi.fn<StorageLogger['warn']>(), error: vi.fn<StorageLogger['error']>() };
}

describe('backoffDelay', () => {
  it('is base + random · (min(cap, base·2^attempt) − base)', () => {
    expect(backoffDelay(0, 20, 1000, () => 0.5)).toBe(20);
    expect(backoffDelay(3, 20, 1000, () => 0.5)).toBe(20 + 0.5 * (160 - 20));
    expect(backoffDelay(10, 20, 1000, () => 0.5)).toBe(20 + 0.5 * (1000 - 20));
    expect(backoffDelay(2, 20, 1000, () => 0)).toBe(20);
  });

  it('stays within [base, min(cap, base·2^attempt)] for every attempt', () => {
    for (const [base, cap] of [
      [20, 1000],
      [1, 5],
      [0, 0],
      [7, 7],
    ] as const) {
      for (let attempt = 0; attempt <= 64; attempt++) {
        const upper = Math.min(cap, base * 2 ** attempt);
        for (const r of [0, 1e-9, 0.25, 0.5, 0.999999999, Math.random()]) {
          const ms = backoffDelay(attempt, base, cap, () => r);
          expect(ms).toBeGreaterThanOrEqual(base);
          expect(ms).toBeLessThanOrEqual(upper);
        }
      }
    }
  });
});

describe('device state keys', () => {
  it('spreads vehicles over 32 stable buckets b00..b31 by FNV-1a', () => {
    // FNV-1a 32 of "a" is 0xe40c292c; 3826002220 % 32 = 12.
    expect(deviceStatePartition('a')).toBe('b12');
    expect(deviceStatePartition('bus-1042')).toBe(deviceStatePartition('bus-1042'));
    const buckets = new Set(Array.from({ length: 2000 }, (_, i) => deviceStatePartition(`vehicle-${i}`)));
    expect(buckets.size).toBe(DEVICE_STATE_BUCKETS);
    for (const bucket of buckets) expect(bucket).toMatch(/^b(0\d|1\d|2\d|3[01])$/);
  });

  it('escapes only the characters keys forbid, and % itself', () => {
    expect(deviceStateRowKey('bus-1042 Ülemiste')).toBe('bus-1042 Ülemiste');
    expect(deviceStateRowKey('a/b\\c#d?e%f\u0001g\u007f')).toBe('a%2Fb%5Cc%23d%3Fe%25f%01g%7F');
  });
});

describe('device state table', () => {
  let storage: TestStorage;
  let options: DeviceStateTableOptions;
  beforeEach(async () => {
    storage = await freshStorage('devices');
    options = { clients: storage.clients, table: storage.table };
  });

  function rawEntity(vehicleId: string) {
    return storage.clients
      .table(storage.table)
      .getEntity(deviceStatePartition(vehicleId), deviceStateRowKey(vehicleId));
  }

  it('counts a coalesced observation as the messages it stands for, and refuses a bad count', async () => {
    const devices = createDeviceStateTable(options);
    await devices.record('bus-7', { seenAt: T0, count: 5 });
    const after = await devices.record('bus-7', { seenAt: T0 + 1000 });
    expect(after.status === 'updated' && after.state.messageCount).toBe(6);
    await expect(devices.record('bus-7', { seenAt: T0, count: 0 })).rejects.toThrow(
      'INVALID_ARGUMENT: count must be a positive integer, got 0',
    );
  });

  it('records many vehicles in batches per partition, creating and updating, counting each once', async () => {
    const devices = createDeviceStateTable(options);
    const first = new Map(
      Array.from({ length: 250 }, (_, i) => [
        `bus-${i}`,
        { seenAt: T0, position: { lat: 59 + i / 1000, lon: 24 }, count: 2 },
      ]),
    );
    expect(await devices.recordMany(first)).toEqual({ updated: 250, gaveUp: 0 });
    await devices.record('bus-7', { seenAt: T0 + 500, quality: QualityFlag.Stale }); // a concurrent writer
    const second = new Map(
      Array.from({ length: 250 }, (_, i) => [
        `bus-${i}`,
        { seenAt: T0 + 1000, quality: QualityFlag.Partial },
      ]),
    );
    expect(await devices.recordMany(second)).toEqual({ updated: 250, gaveUp: 0 });
    expect(await devices.get('bus-7')).toMatchObject({
      messageCount: 4,
      lastSeen: T0 + 1000,
      position: { lat: 59.007, lon: 24 },
      flags: ['Partial', 'Stale'],
    });
    expect(await devices.get('bus-249')).toMatchObject({ messageCount: 3, flags: ['Partial'] });
  });

  it("redoes a batch that lost a race vehicle by vehicle, losing no one else's write", async () => {
    const devices = createDeviceStateTable(options);
    await devices.recordMany(
      new Map([
        ['tram-1', { seenAt: T0 }],
        ['tram-2', { seenAt: T0 }],
      ]),
    );
    // Another writer changes tram-1 between recordMany's query and its transaction: simulate by racing them.
    const many = devices.recordMany(
      new Map([
        ['tram-1', { seenAt: T0 + 1 }],
        ['tram-2', { seenAt: T0 + 1 }],
      ]),
    );
    const single = devices.record('tram-1', { seenAt: T0 + 2, quality: QualityFlag.Stale });
    await Promise.all([many, single]);
    expect(await devices.get('tram-1')).toMatchObject({
      messageCount: 3,
      lastSeen: T0 + 2,
      flags: ['Stale'],
    });
    expect(await devices.get('tram-2')).toMatchObject({ messageCount: 2 });
  });

  it('creates the entity on the first observation and updates it on the next', async () => {
    let clock = T0 + 10;
    const devices = createDeviceStateTable({ ...options, now: () => clock });
    expect(await devices.get('bus-1042')).toBeUndefined();

    const first = await devices.record('bus-1042', {
      seenAt: T0,
      position: { lat: 59.437, lon: 24 },
      quality: QualityFlag.Stale,
    });
    expect(first).toEqual({
      status: 'updated',
      attempts: 1,
      state: {
        vehicleId: 'bus-1042',
        messageCount: 1,
        lastSeen: T0,
        position: { lat: 59.437, lon: 24 },
        quality: QualityFlag.Stale,
        flags: ['Stale'],
        updatedAt: T0 + 10,
      },
    });

    clock = T0 + 20;
    // Older and without a position: counted, but lastSeen and the position stay.
    const second = await devices.record('bus-1042', { seenAt: T0 - 5000, quality: QualityFlag.Partial });
    expect(second.status === 'updated' && second.state).toEqual({
      vehicleId: 'bus-1042',
      messageCount: 2,
      lastSeen: T0,
      position: { lat: 59.437, lon: 24 },
      quality: QualityFlag.Stale | QualityFlag.Partial,
      flags: ['Partial', 'Stale'],
      updatedAt: T0 + 20,
    });
    expect(await devices.get('bus-1042')).toEqual(second.status === 'updated' && second.state);

    // An older observation with a position does not move the vehicle back; a newer one does.
    await devices.record('bus-1042', { seenAt: T0 - 1, position: { lat: 1, lon: 1 } });
    expect((await devices.get('bus-1042'))?.position).toEqual({ lat: 59.437, lon: 24 });
    await devices.record('bus-1042', { seenAt: T0 + 1000, position: { lat: 59.5, lon: 24.5 } });
    expect(await devices.get('bus-1042')).toMatchObject({
      messageCount: 4,
      lastSeen: T0 + 1000,
      position: { lat: 59.5, lon: 24.5 },
    });
  });

  it('stores the documented layout: bucket partition, Int64 counters, flag names, no position when none', async () => {
    const devices = createDeviceStateTable(options);
    await devices.record('tram-7', { seenAt: T0, quality: QualityFlag.InvalidPosition | QualityFlag.Stale });
    const entity = await rawEntity('tram-7');
    expect(entity.partitionKey).toBe(deviceStatePartition('tram-7'));
    expect(entity.rowKey).toBe('tram-7');
    // The SDK hands Edm.Int64 back as bigint: proof the counters are stored as 64-bit integers.
    expect(entity['messageCount']).toBe(1n);
    expect(entity['lastSeen']).toBe(BigInt(T0));
    expect(typeof entity['updatedAt']).toBe('bigint');
    expect(entity['quality']).toBe(QualityFlag.InvalidPosition | QualityFlag.Stale);
    expect(JSON.parse(entity['flags'] as string)).toEqual(['InvalidPosition', 'Stale']);
    expect(entity).not.toHaveProperty('lastLat');
    expect(entity).not.toHaveProperty('lastLon');

    await devices.record('tram-7', { seenAt: T0, position: { lat: 59, lon: 24 } });
    const moved = await rawEntity('tram-7');
    expect([moved['lastLat'], moved['lastLon']]).toEqual([59, 24]);
  });

  it('ORs flags in, creating the entity if needed, and skips the write when the bits are already set', async () => {
    const devices = createDeviceStateTable(options);
    const created = await devices.flag('bus-9', QualityFlag.ImpossibleJump);
    expect(created.status === 'updated' && created.state).toMatchObject({
      vehicleId: 'bus-9',
      messageCount: 0,
      quality: QualityFlag.ImpossibleJump,
      flags: ['ImpossibleJump'],
    });
    expect(created.status === 'updated' && created.state.lastSeen).toBeUndefined();

    await devices.record('bus-9', { seenAt: T0, position: { lat: 59.4, lon: 24.7 } });
    const flagged = await devices.flag('bus-9', QualityFlag.SpeedOutOfRange);
    expect(flagged.status === 'updated' && flagged.state).toMatchObject({
      messageCount: 1,
      lastSeen: T0,
      position: { lat: 59.4, lon: 24.7 },
      quality: QualityFlag.ImpossibleJump | QualityFlag.SpeedOutOfRange,
    });

    const etag = (await rawEntity('bus-9')).etag;
    expect(await devices.flag('bus-9', QualityFlag.SpeedOutOfRange)).toMatchObject({ status: 'updated' });
    expect((await rawEntity('bus-9')).etag).toBe(etag);
  });

  it('counts every update exactly once under 8 concurrent writers', async () => {
    const delays: number[] = [];
    const devices = createDeviceStateTable({
      ...options,
      retry: { maxAttempts: 200, baseMs: 1, capMs: 20 },
      sleep: (ms) => {
        delays.push(ms);
        return delay(ms);
      },
    });
    const writers = 8;
    const updates = 25;
    const outcomes = (
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const mine: RecordOutcome[] = [];
          for (let i = 0; i < updates; i++) {
            mine.push(
              await devices.record('contended', { seenAt: T0 + w * 1000 + i, quality: 1 << (w % 10) }),
            );
          }
          return mine;
        }),
      )
    ).flat();

    expect(outcomes.map((o) => o.status)).toEqual(Array(writers * updates).fill('updated'));
    // The writers really did collide, so the If-Match path was exercised.
    expect(outcomes.some((o) => o.attempts > 1)).toBe(true);
    expect(delays.length).toBeGreaterThan(0);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...delays)).toBeLessThanOrEqual(20);

    const state = await devices.get('contended');
    expect(state?.messageCount).toBe(writers * updates);
    expect(state?.lastSeen).toBe(T0 + (writers - 1) * 1000 + updates - 1);
    expect(state?.quality).toBe(0xff);
  });

  it('gives up, logging and reporting it, when retries run out; nothing is counted twice or lost silently', async () => {
    const logger = recordingLogger();
    const exhausted = vi.fn();
    const sleep = vi.fn(async () => {});
    const devices = createDeviceStateTable({
      ...options,
      logger,
      retry: { maxAttempts: 1 },
      sleep,
      onRetriesExhausted: exhausted,
    });

    const outcomes: RecordOutcome[] = [];
    // Concurrent writers with one attempt each: all but one lose a round's race (409 on create, 412 after).
    for (let round = 0; round < 10 && !outcomes.some((o) => o.status === 'gave-up'); round++) {
      outcomes.push(
        ...(await Promise.all(Array.from({ length: 16 }, () => devices.record('hot', { seenAt: T0 })))),
      );
    }

    const updated = outcomes.filter((o) => o.status === 'updated').length;
    const gaveUp = outcomes.filter((o) => o.status === 'gave-up');
    expect(gaveUp.length).toBeGreaterThan(0);
    expect(gaveUp.every((o) => o.attempts === 1)).toBe(true);
    expect(updated + gaveUp.length).toBe(outcomes.length);
    expect(exhausted).toHaveBeenCalledTimes(gaveUp.length);
    expect(exhausted).toHaveBeenCalledWith('hot', 1);
    expect(logger.error).toHaveBeenCalledTimes(gaveUp.length);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ vehicleId: 'hot', attempts: 1 }),
      expect.any(String),
    );
    expect(sleep).not.toHaveBeenCalled();
    expect((await devices.get('hot'))?.messageCount).toBe(updated);
  });

  it('counts a write once when its response was lost and the SDK retried it', async () => {
    // The write reaches the table but its answer does not (here: a gateway's 503): the SDK resends it, the
    // resend fails on the entity it already changed (409 on create, 412 on update), and only the writeId
    // tells that it landed.
    let loseNext = false;
    const losing: StorageClients = {
      container: () => {
        throw new Error('unused');
      },
      table: (name) =>
        TableClient.fromConnectionString(azuriteConnectionString(), name, {
          allowInsecureConnection: true,
          retryOptions: { retryDelayInMs: 1 },
          additionalPolicies: [
            {
              position: 'perRetry',
              policy: {
                name: 'lose-write-response',
                sendRequest: async (request, next) => {
                  const response = await next(request);
                  if (loseNext && (request.method === 'POST' || request.method === 'PUT')) {
                    loseNext = false;
                    return { ...response, status: 503 };
                  }
                  return response;
                },
              },
            },
          ],
        }),
    };
    const devices = createDeviceStateTable({ clients: losing, table: storage.table, sleep: async () => {} });

    loseNext = true;
    expect(await devices.record('lossy', { seenAt: T0 })).toMatchObject({
      status: 'updated',
      state: { messageCount: 1 },
    });
    expect(loseNext).toBe(false);
    loseNext = true;
    expect(await devices.record('lossy', { seenAt: T0 + 1 })).toMatchObject({
      status: 'updated',
      state: { messageCount: 2 },
    });
    expect(loseNext).toBe(false);
    expect((await devices.get('lossy'))?.messageCount).toBe(2);
  });

  it('round-trips vehicle ids with characters table keys forbid', async () => {
    const devices = createDeviceStateTable(options);
    const ids = ['bus/1042', 'a\\b', 'x#y?z', '100%', '%2F', '/', 'tab\tid', 'ünï😀', ' spaced ', 'c1\u0085'];
    for (const [i, id] of ids.entries()) {
      for (let n = 0; n <= i; n++) await devices.record(id, { seenAt: T0 + n });
    }
    for (const [i, id] of ids.entries()) {
      expect(await devices.get(id)).toMatchObject({ vehicleId: id, messageCount: i + 1 });
    }
  });

  it('rejects ids that cannot be keys and observations that are not data', async () => {
    const devices = createDeviceStateTable(options);
    expect((await rejection(devices.record('', { seenAt: T0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.get('/'.repeat(200)))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.record('v', { seenAt: Number.NaN }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.record('v', { seenAt: T0 + 0.5 }))).code).toBe('INVALID_ARGUMENT');
    const nowhere = { seenAt: T0, position: { lat: Number.POSITIVE_INFINITY, lon: 0 } };
    expect((await rejection(devices.record('v', nowhere))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.flag('v', -1))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.flag('v', 1.5))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(devices.flag('v', 0))).code).toBe('INVALID_ARGUMENT');
    expect(await devices.get('v')).toBeUndefined();
    expect(() => createDeviceStateTable({ ...options, retry: { maxAttempts: 0 } })).toThrow(/INVALID_CONFIG/);
    expect(() => createDeviceStateTable({ ...options, retry: { baseMs: 50, capMs: 10 } })).toThrow(
      /INVALID_CONFIG/,
    );
  });

  it('throws UNAVAILABLE when the service is down or the table is missing', async () => {
    const down: StorageClients = {
      container: () => {
        throw new Error('unused');
      },
      table: (name) =>
        TableClient.fromConnectionString(
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;' +
            'TableEndpoint=http://127.0.0.1:1/devstoreaccount1;',
          name,
          { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
        ),
    };
    const unreachable = createDeviceStateTable({ clients: down, table: storage.table });
    expect((await rejection(unreachable.record('v', { seenAt: T0 }))).code).toBe('UNAVAILABLE');
    expect((await rejection(unreachable.get('v'))).code).toBe('UNAVAILABLE');

    const noTable = createDeviceStateTable({ clients: storage.clients, table: 'NoSuchTable' });
    expect((await rejection(noTable.record('v', { seenAt: T0 }))).code).toBe('UNAVAILABLE');
  });
});
