import { createVehicle, type TransportSnapshot } from '@transit-fusion/model';
import diagnostics from 'node:diagnostics_channel';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorage, type TestStorage } from '../test/azurite.js';
import {
  blobNameOf,
  createSnapshotStore,
  isStorageError,
  parseSnapshotId,
  snapshotId,
  type SnapshotDescriptor,
  type SnapshotStore,
  type StorageLogger,
} from './index.js';

const H = 3_600_000;
const T = (iso: string) => Date.parse(iso);
const NOW = T('2026-11-20T20:00:00.000Z');

function snapshot(generatedAt: number, sequence: number, vehicles = 2): TransportSnapshot {
  return {
    sequence,
    generatedAt,
    sources: [
      {
        vendorId: 'positions',
        sequence: sequence * 10,
        collectedAt: generatedAt - 300,
        recordCount: vehicles,
      },
    ],
    vehicles: Array.from({ length: vehicles }, (_, i) => {
      const v = createVehicle(`bus-${i}`, 'bus', String(1000 + i));
      v.position = { lat: 59.4 + i / 100, lon: 24.7 };
      v.sources.position = { vendorId: 'positions', observedAt: generatedAt - 800 };
      return v;
    }),
  };
}

function recordingLogger() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger: StorageLogger = {
    warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }),
  };
  return { logger, warnings };
}

async function newStore(extra: Partial<Parameters<typeof createSnapshotStore>[0]> = {}) {
  const storage = await freshStorage('snap');
  const { logger, warnings } = recordingLogger();
  const store = createSnapshotStore({
    clients: storage.clients,
    container: storage.container,
    table: storage.table,
    retentionMs: 48 * H,
    clock: { now: () => NOW },
    logger,
    ...extra,
  });
  return { store, storage, warnings };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const ids = (ds: readonly SnapshotDescriptor[]) => ds.map((d) => d.id);

describe('snapshot names and ids', () => {
  it('are human-readable, time-derived, and sort by time', () => {
    const t = T('2026-11-21T08:47:00.000Z');
    expect(snapshotId(t)).toBe('2026-11-21T08:47:00.000Z');
    expect(blobNameOf(t)).toBe('2026/11/21/08/2026-11-21T08:47:00.000Z.msgpack');
    expect(parseSnapshotId('2026-11-21T08:47:00.000Z')).toBe(t);
    expect(() => parseSnapshotId('2026-11-21 08:47')).toThrow(/INVALID_ARGUMENT/);
    const names = [
      T('2026-11-21T09:00:00.000Z'),
      T('2026-11-21T08:59:59.999Z'),
      T('2026-12-01T00:00:00.000Z'),
    ].map(blobNameOf);
    expect([...names].sort()).toEqual([names[1], names[0], names[2]]);
  });
});

describe('snapshot store: writing and reading', () => {
  let store: SnapshotStore;
  let storage: TestStorage;
  beforeAll(async () => ({ store, storage } = await newStore()));

  it('stores a snapshot that reads back exactly, with its descriptor', async () => {
    const s = snapshot(T('2026-11-20T08:47:00.000Z'), 42, 3);
    const d = await store.write(s);
    expect(d).toMatchObject({ id: '2026-11-20T08:47:00.000Z', sequence: 42, vehicleCount: 3 });
    expect(d.bytes).toBeGreaterThan(0);
    expect(await store.describe(d.id)).toEqual(d);
    expect(await store.get(d.id)).toEqual(s);
    expect(await store.latest()).toEqual(d);
  });

  it('reads a snapshot from its descriptor in one request to Blob storage', async () => {
    // The broadcaster reads every announced snapshot on its way to subscribers: a round trip more is lag.
    const s = snapshot(T('2026-11-20T08:48:00.000Z'), 43, 300);
    const d = await store.write(s);
    const requests: string[] = [];
    const onRequest = (message: unknown) => {
      const { request } = message as { request: { method: string; path: string } };
      if (decodeURIComponent(request.path).includes(d.blobName)) requests.push(request.method);
    };
    diagnostics.subscribe('http.client.request.start', onRequest);
    try {
      expect(await store.read(d)).toEqual(s);
    } finally {
      diagnostics.unsubscribe('http.client.request.start', onRequest);
    }
    expect(requests).toEqual(['GET']);
  });

  it('is idempotent: writing the same tick again adds no rows and keeps one snapshot', async () => {
    const s = snapshot(T('2026-11-20T09:10:00.000Z'), 50);
    await store.write(s);
    await store.write(s);
    const table = storage.clients.table(storage.table);
    const rows = await collect(
      table.listEntities({ queryOptions: { filter: `PartitionKey eq '2026112009'` } }),
    );
    // One row for the snapshot, its minute bucket (listing it once) and the hour's bitmap: nothing duplicated.
    expect(rows.map((r) => r.rowKey).sort()).toEqual([
      'h',
      'm10',
      `s${String(s.generatedAt).padStart(15, '0')}`,
    ]);
    expect(String(rows.find((r) => r.rowKey === 'm10')!.entries).split(';')).toHaveLength(1);
    expect(
      ids(await collect(store.between(T('2026-11-20T09:00:00.000Z'), T('2026-11-20T09:59:59.999Z')))),
    ).toEqual(['2026-11-20T09:10:00.000Z']);
  });

  it('answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one', async () => {
    await expect(store.get('2020-01-01T00:00:00.000Z')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.get('yesterday')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('snapshot store: queries across partition edges', () => {
  let store: SnapshotStore;
  const times = [
    '2026-11-20T08:59:59.999Z',
    '2026-11-20T09:00:00.000Z',
    '2026-11-20T09:00:00.500Z',
    '2026-11-20T10:00:00.000Z',
    // a gap: nothing in 11:00 and 12:00
    '2026-11-20T13:30:00.000Z',
  ];
  beforeAll(async () => {
    ({ store } = await newStore());
    await Promise.all(times.map((iso, i) => store.write(snapshot(T(iso), i + 1))));
  });

  it.each([
    ['2026-11-20T09:00:00.100Z', '2026-11-20T09:00:00.000Z'],
    ['2026-11-20T08:59:59.998Z', '2026-11-20T08:59:59.999Z'],
    ['2026-11-20T09:00:00.000Z', '2026-11-20T09:00:00.000Z'],
    ['2026-11-20T09:00:00.250Z', '2026-11-20T09:00:00.000Z'], // a tie goes to the earlier
    ['2026-11-20T09:40:00.000Z', '2026-11-20T10:00:00.000Z'], // the next hour is nearer
    ['2026-11-20T12:00:00.000Z', '2026-11-20T13:30:00.000Z'], // across the empty hours, forward
    ['2026-11-20T11:30:00.000Z', '2026-11-20T10:00:00.000Z'], // across the empty hours, backward
    ['2026-11-19T00:00:00.000Z', '2026-11-20T08:59:59.999Z'], // before everything
    ['2026-11-20T18:00:00.000Z', '2026-11-20T13:30:00.000Z'], // after everything
  ])('closestAt(%s) is %s', async (at, expected) => {
    expect((await store.closestAt(T(at)))?.id).toBe(expected);
  });

  it.each([
    ['2026-11-20T09:00:00.499Z', '2026-11-20T09:00:00.000Z'],
    ['2026-11-20T08:59:59.999Z', '2026-11-20T08:59:59.999Z'],
    ['2026-11-20T09:59:59.999Z', '2026-11-20T09:00:00.500Z'],
    ['2026-11-20T13:29:59.999Z', '2026-11-20T10:00:00.000Z'],
  ])('latestAtOrBefore(%s) is %s', async (at, expected) => {
    expect((await store.latestAtOrBefore(T(at)))?.id).toBe(expected);
  });

  it('latestAtOrBefore finds nothing before the first snapshot, and latest() is the newest', async () => {
    expect(await store.latestAtOrBefore(T('2026-11-20T08:59:59.998Z'))).toBeUndefined();
    expect((await store.latest())?.id).toBe('2026-11-20T13:30:00.000Z');
  });

  it('between() streams a range across hours, oldest first, bounds inclusive', async () => {
    const all = await collect(store.between(T('2026-11-20T08:59:59.999Z'), T('2026-11-20T13:30:00.000Z')));
    expect(ids(all)).toEqual(times);
    const inner = await collect(store.between(T('2026-11-20T09:00:00.000Z'), T('2026-11-20T10:00:00.000Z')));
    expect(ids(inner)).toEqual(times.slice(1, 4));
    expect(
      await collect(store.between(T('2026-11-20T11:00:00.000Z'), T('2026-11-20T12:59:59.999Z'))),
    ).toEqual([]);
  });

  it('pages with continuation tokens: every snapshot once, in order', async () => {
    const from = T('2026-11-20T00:00:00.000Z');
    const to = T('2026-11-20T23:59:59.999Z');
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await store.listPage(from, to, {
        pageSize: 2,
        ...(token ? { continuationToken: token } : {}),
      });
      expect(page.descriptors.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page.descriptors));
      token = page.continuationToken;
      pages++;
    } while (token && pages < 50);
    expect(seen).toEqual(times);
  });

  it('rejects a continuation token from another range, and bad page sizes', async () => {
    const from = T('2026-11-20T00:00:00.000Z');
    const page = await store.listPage(from, T('2026-11-20T23:00:00.000Z'), { pageSize: 1 });
    expect(page.continuationToken).toBeDefined();
    await expect(
      store.listPage(from + 1, T('2026-11-20T23:00:00.000Z'), { continuationToken: page.continuationToken! }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.listPage(from, from + H, { continuationToken: 'garbage' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(store.listPage(from, from + H, { pageSize: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('gives up walking after maxGapHours of empty hours', async () => {
    const { store: near } = await newStore({ maxGapHours: 1 });
    await near.write(snapshot(T('2026-11-20T10:00:00.000Z'), 1));
    expect(await near.latestAtOrBefore(T('2026-11-20T13:00:00.000Z'))).toBeUndefined();
    expect((await near.latestAtOrBefore(T('2026-11-20T11:59:59.000Z')))?.id).toBe('2026-11-20T10:00:00.000Z');
  });
});

describe('snapshot store: failures are never silent', () => {
  it('a crash between blob and row leaves no visible snapshot; the sweep removes the orphan blob', async () => {
    const { store, storage } = await newStore({ orphanGraceMs: 60_000 });
    const kept = await store.write(snapshot(T('2026-11-20T15:00:00.000Z'), 1));
    // The blob of a second tick is written, then the process dies before the index rows.
    const orphanAt = T('2026-11-20T15:00:01.000Z');
    const container = storage.clients.container(storage.container);
    await container.getBlockBlobClient(blobNameOf(orphanAt)).uploadData(Buffer.from('partial write'));
    expect((await store.closestAt(orphanAt))?.id).toBe(kept.id);
    await expect(store.get(snapshotId(orphanAt))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Within the grace period the blob might be a write in flight: left alone.
    expect(await store.sweep(orphanAt + 30_000)).toEqual({ expired: 0, orphansRemoved: 0 });
    expect(await store.sweep(NOW)).toEqual({ expired: 0, orphansRemoved: 1 });
    expect(await container.getBlockBlobClient(blobNameOf(orphanAt)).exists()).toBe(false);
    expect(await store.get(kept.id)).toBeDefined();
  });

  it('the retention sweep deletes old snapshots, rows and blobs, and keeps the rest', async () => {
    const { store, storage } = await newStore({ retentionMs: 2 * H });
    const old = await store.write(snapshot(NOW - 5 * H, 1));
    const recent = await store.write(snapshot(NOW - H, 2));
    expect(await store.sweep(NOW)).toEqual({ expired: 1, orphansRemoved: 0 });
    await expect(store.describe(old.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await storage.clients.container(storage.container).getBlockBlobClient(old.blobName).exists()).toBe(
      false,
    );
    expect(await store.describe(recent.id)).toEqual(recent);
    expect(await store.sweep(NOW)).toEqual({ expired: 0, orphansRemoved: 0 });
  });

  it('a corrupt blob, an unknown codec version and a missing blob each give a typed error naming the blob', async () => {
    const { store, storage, warnings } = await newStore();
    const container = storage.clients.container(storage.container);
    const [corrupt, future, missing] = await Promise.all(
      ['2026-11-20T16:00:00.000Z', '2026-11-20T16:00:01.000Z', '2026-11-20T16:00:02.000Z'].map((iso, i) =>
        store.write(snapshot(T(iso), i + 1)),
      ),
    );
    await container.getBlockBlobClient(corrupt!.blobName).uploadData(Buffer.from('not a snapshot at all'));
    const versioned = Buffer.from(await container.getBlockBlobClient(future!.blobName).downloadToBuffer());
    versioned[2] = 9; // a codec version this build does not know
    await container.getBlockBlobClient(future!.blobName).uploadData(versioned);
    await container.getBlockBlobClient(missing!.blobName).delete();

    const failure = async (id: string) =>
      store.get(id).then(
        () => undefined,
        (e: unknown) => e,
      );
    const e1 = await failure(corrupt!.id);
    expect(isStorageError(e1) && e1.code).toBe('CORRUPT_BLOB');
    expect(e1).toMatchObject({
      blobName: corrupt!.blobName,
      message: expect.stringContaining(corrupt!.blobName),
    });
    expect(await failure(future!.id)).toMatchObject({
      code: 'CORRUPT_BLOB',
      message: expect.stringContaining('UNSUPPORTED_VERSION'),
    });
    expect(await failure(missing!.id)).toMatchObject({ code: 'MISSING_BLOB', blobName: missing!.blobName });
    expect(warnings.map((w) => w.obj.blobName)).toEqual([
      corrupt!.blobName,
      future!.blobName,
      missing!.blobName,
    ]);
  });

  it('range reads skip unreadable snapshots, report them, and go on', async () => {
    const { store, storage } = await newStore();
    const written = [];
    for (let i = 0; i < 6; i++)
      written.push(await store.write(snapshot(T('2026-11-20T17:00:00.000Z') + i * 1000, i + 1)));
    const container = storage.clients.container(storage.container);
    await container.getBlockBlobClient(written[1]!.blobName).uploadData(Buffer.from('garbage'));
    await container.getBlockBlobClient(written[4]!.blobName).delete();
    const skipped: string[] = [];
    const read = await collect(
      store.readRange(written[0]!.generatedAt, written[5]!.generatedAt, {
        onSkip: ({ descriptor, error }) =>
          skipped.push(`${descriptor.id}:${(error as { code?: string }).code}`),
      }),
    );
    expect(read.map((r) => r.snapshot.sequence)).toEqual([1, 3, 4, 6]);
    expect(skipped).toEqual([`${written[1]!.id}:CORRUPT_BLOB`, `${written[4]!.id}:MISSING_BLOB`]);
  });
});

describe('snapshot store: rebuilding the index', () => {
  it('rebuilds a lost index from the blobs, and the rebuilt index answers like the original', async () => {
    const { store, storage } = await newStore();
    const written = [];
    for (const iso of ['2026-11-20T18:59:59.000Z', '2026-11-20T19:00:00.000Z', '2026-11-20T19:00:30.000Z']) {
      written.push(await store.write(snapshot(T(iso), written.length + 1, written.length + 2)));
    }
    // A new, empty index table over the same blobs, as after restoring the blobs from a backup.
    const table = `${storage.table}x`;
    await storage.clients.table(table).createTable();
    const restored = createSnapshotStore({
      clients: storage.clients,
      container: storage.container,
      table,
      retentionMs: 48 * H,
      clock: { now: () => NOW },
    });
    expect(await restored.closestAt(T('2026-11-20T19:00:00.000Z'))).toBeUndefined();
    expect(await restored.rebuildIndex(T('2026-11-20T18:00:00.000Z'), T('2026-11-20T19:59:59.999Z'))).toBe(3);
    expect(
      await collect(restored.between(T('2026-11-20T18:00:00.000Z'), T('2026-11-20T20:00:00.000Z'))),
    ).toEqual(written);
    expect((await restored.closestAt(T('2026-11-20T19:00:10.000Z')))?.id).toBe('2026-11-20T19:00:00.000Z');
    expect(await restored.get(written[2]!.id)).toEqual(await store.get(written[2]!.id));
  });

  it('reindex merges with what the index already lists', async () => {
    const { store } = await newStore();
    const first = await store.write(snapshot(T('2026-11-20T19:30:00.000Z'), 1));
    const second = {
      ...first,
      id: '2026-11-20T19:30:01.000Z',
      generatedAt: T('2026-11-20T19:30:01.000Z'),
      sequence: 2,
    };
    expect(await store.reindex([second])).toBe(1);
    expect(
      ids(await collect(store.between(T('2026-11-20T19:30:00.000Z'), T('2026-11-20T19:30:59.999Z')))),
    ).toEqual([first.id, second.id]);
  });
});

describe('snapshot store: two writers', () => {
  it('alternating writers into one minute (a fail-over overlap) lose no entry: stale caches re-read on 412', async () => {
    const { store: a, storage } = await newStore();
    const b = createSnapshotStore({
      clients: storage.clients,
      container: storage.container,
      table: storage.table,
      retentionMs: 48 * H,
      clock: { now: () => NOW },
    });
    const base = T('2026-11-20T19:45:00.000Z');
    for (let i = 0; i < 6; i++) await (i % 2 === 0 ? a : b).write(snapshot(base + i * 1000, i + 1));
    const listed = await collect(a.between(base, base + 59_999));
    expect(listed.map((d) => d.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
