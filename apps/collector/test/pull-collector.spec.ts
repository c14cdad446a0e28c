// A pull collector against real parts: a real HTTP server serving the real Caltrain feeds (from ../shared/data),
// and Azurite. Each failure mode ends the tick with its own code and leaves the stored snapshot as it was.

import { Secret } from '@transit-fusion/service-kit';
import type { VendorSnapshotRepository } from '@transit-fusion/storage';
import { freePort, readSharedFile, sharedDataMissing, SHARED_DATA_DIR } from '@transit-fusion/testing';
import { createFeedDecoder } from '@transit-fusion/vendors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCollectorError, type CollectorErrorCode } from '../src/collector-error.js';
import type { Collector } from '../src/collector.js';
import type { PullVendorSettings } from '../src/config.js';
import { createPullCollector } from '../src/pull-collector.js';
import { startFeedServer, type FeedServer } from './feed-server.js';
import { freshRepository } from './storage.js';

function vendor(url: string, overrides: Partial<PullVendorSettings> = {}): PullVendorSettings {
  return {
    id: 'caltrain',
    kind: 'pull',
    url: new URL(url),
    format: 'gtfs-rt-vehicle-positions',
    headers: {},
    maxBodyBytes: 1024 * 1024,
    schedule: '* * * * * *',
    budgetMs: 800,
    ...overrides,
  };
}

async function failure(
  collector: Collector,
  budgetMs = 800,
): Promise<{ code: CollectorErrorCode; message: string }> {
  try {
    await collector.tick(AbortSignal.timeout(budgetMs));
  } catch (error) {
    if (isCollectorError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the tick to fail');
}

describe.skipIf(sharedDataMissing)(`pull collector with the real Caltrain feeds (${SHARED_DATA_DIR})`, () => {
  const positions = readSharedFile('gtfs-rt/ct-vehicle-positions.pb');
  let server: FeedServer;
  let repository: VendorSnapshotRepository;

  beforeEach(async () => {
    server = await startFeedServer({ body: positions, validators: true });
    ({ repository } = await freshRepository());
  });
  afterEach(() => server.close());

  it('fetches, decodes and stores every vehicle of the feed as the feed has it', async () => {
    const collector = createPullCollector({ vendor: vendor(server.url), repository });
    const report = await collector.tick(AbortSignal.timeout(800));

    const expected = createFeedDecoder('gtfs-rt-vehicle-positions')(positions, { vendorId: 'caltrain' });
    expect(report.vendors).toEqual([
      expect.objectContaining({ vendorId: 'caltrain', outcome: 'saved', records: 14, rejected: {} }),
    ]);
    const read = await repository.readLatest('caltrain');
    if (read.status !== 'changed') throw new Error(`expected a stored snapshot, got ${read.status}`);
    expect(read.snapshot.records).toEqual(expected.records);
    expect(read.snapshot.sequence).toBe(report.vendors[0]!.sequence);
    expect(read.snapshot.records.find((r) => r.vehicleKey === '124')).toMatchObject({
      routeId: 'L1',
      observedAt: 1_699_405_549_000,
      position: { lat: expect.closeTo(37.37046, 5), lon: expect.closeTo(-121.99604, 5) },
    });
  });

  it('asks conditionally with the stored validators: an unchanged feed is a 304, and nothing is rewritten', async () => {
    const collector = createPullCollector({ vendor: vendor(server.url), repository });
    await collector.tick(AbortSignal.timeout(800));
    const before = await repository.readLatest('caltrain');
    if (before.status !== 'changed') throw new Error('not stored');

    const report = await collector.tick(AbortSignal.timeout(800));
    expect(report.vendors[0]).toMatchObject({ outcome: 'not-modified', bytesIn: 0 });
    expect(server.requests[1]).toMatchObject({
      'if-none-match': expect.stringMatching(/^".+"$/),
      'if-modified-since': 'Sat, 21 Nov 2026 08:47:00 GMT',
    });
    expect((await repository.readLatest('caltrain', before.etag)).status).toBe('unchanged');
  });

  it('asks for gzip and decodes a gzipped feed (the real Caltrain trip updates)', async () => {
    const tripUpdates = readSharedFile('gtfs-rt/ct-trip-updates.pb');
    server.answer = { body: tripUpdates, gzip: true };
    const collector = createPullCollector({
      vendor: vendor(server.url, { id: 'caltrain-tu', format: 'gtfs-rt-trip-updates' }),
      repository,
    });
    const report = await collector.tick(AbortSignal.timeout(800));

    expect(server.requests[0]?.['accept-encoding']).toContain('gzip');
    expect(server.lastWireBytes).toBeLessThan(tripUpdates.length);
    expect(report.vendors[0]).toMatchObject({ outcome: 'saved', records: 19, bytesIn: server.lastWireBytes });
    const read = await repository.readLatest('caltrain-tu');
    if (read.status !== 'changed') throw new Error('not stored');
    expect(read.snapshot.records.find((r) => r.tripId === '128')).toMatchObject({
      vehicleKey: 'block_128_schedBasedVehicle',
      routeId: 'L1',
    });
  });

  it('rejects a malformed feed with a clear error and keeps the last good snapshot', async () => {
    const collector = createPullCollector({ vendor: vendor(server.url), repository });
    await collector.tick(AbortSignal.timeout(800));
    const good = await repository.readLatest('caltrain');
    if (good.status !== 'changed') throw new Error('not stored');

    server.answer = { body: Buffer.from([0xff, 0x01, 0x02, 0x03, 0x04]) };
    const { code, message } = await failure(collector);
    expect(code).toBe('MALFORMED_FEED');
    expect(message).toMatch(/^MALFORMED_FEED: caltrain: .*GTFS-Realtime/i);
    expect((await repository.readLatest('caltrain', good.etag)).status).toBe('unchanged');
  });

  it('names an HTTP error status, a refused connection, an oversized body and a blown budget', async () => {
    const collector = () => createPullCollector({ vendor: vendor(server.url), repository });

    server.answer = { status: 503, body: 'try later' };
    expect(await failure(collector())).toEqual({
      code: 'HTTP_STATUS',
      message: expect.stringMatching(/answered 503 Service Unavailable$/),
    });

    const refused = createPullCollector({
      vendor: vendor(`http://127.0.0.1:${await freePort()}/feed`),
      repository,
    });
    expect(await failure(refused)).toEqual({
      code: 'FETCH_FAILED',
      message: expect.stringContaining('ECONNREFUSED'),
    });

    // Declared too large (Content-Length) and streamed too large (no length: cut off at the limit).
    server.answer = { body: Buffer.alloc(2 * 1024 * 1024) };
    expect((await failure(collector())).code).toBe('TOO_LARGE');
    server.answer = { streamBytes: 8 * 1024 * 1024 };
    expect(await failure(collector())).toEqual({
      code: 'TOO_LARGE',
      message: expect.stringContaining('sent more than 1048576 bytes'),
    });

    server.answer = { body: positions, delayMs: 3_000 };
    const started = Date.now();
    expect(await failure(collector(), 200)).toEqual({
      code: 'BUDGET_EXCEEDED',
      message: expect.stringContaining('the tick budget ran out'),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await repository.readLatest('caltrain')).status).toBe('missing');
  });

  it('keeps no validators from a download it could not store, so the next tick downloads again', async () => {
    let failSaves = 1;
    const flaky: VendorSnapshotRepository = {
      ...repository,
      save: (snapshot, options) => {
        if (failSaves-- > 0) return Promise.reject(new Error('UNAVAILABLE: storage is down'));
        return repository.save(snapshot, options);
      },
    };
    const collector = createPullCollector({ vendor: vendor(server.url), repository: flaky });
    expect(await failure(collector)).toEqual({
      code: 'STORAGE_FAILED',
      message: 'STORAGE_FAILED: caltrain: UNAVAILABLE: storage is down',
    });
    const report = await collector.tick(AbortSignal.timeout(800));
    expect(server.requests[1]?.['if-none-match']).toBeUndefined();
    expect(report.vendors[0]).toMatchObject({ outcome: 'saved', records: 14 });
  });

  it('sends configured headers (an API key) without ever putting them in errors', async () => {
    server.answer = { status: 401 };
    const collector = createPullCollector({
      vendor: vendor(`${server.url}?apikey=in-the-query`, {
        headers: { 'x-api-key': new Secret('vendor-key-0123456789') },
      }),
      repository,
    });
    const { message } = await failure(collector);
    expect(server.requests[0]?.['x-api-key']).toBe('vendor-key-0123456789');
    expect(message).not.toContain('vendor-key');
    expect(message).not.toContain('in-the-query');
  });
});
