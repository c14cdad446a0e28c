// Composing ahead, as logic: in-memory stand-ins for the lease, the vendor snapshots and the store (their real
// adapters are tested on Azurite in test/). What matters here is when a tick may use the snapshot its prefetch
// composed, and that what it stores then is exactly what composing in the tick would have stored.

import { encodeVendorSnapshot, decodeVendorSnapshot } from '@transit-fusion/codec';
import type { VendorRecord } from '@transit-fusion/model';
import { parseFleetRegistry } from '@transit-fusion/pipeline';
import type {
  LeaderLease,
  SnapshotDescriptor,
  SnapshotStore,
  VendorReadResult,
  VendorSnapshotRepository,
} from '@transit-fusion/storage';
import { describe, expect, it } from 'vitest';
import { createComposer, type TickReport } from './composer.js';
import type { RegistrySource } from './registry-source.js';

const T0 = Date.UTC(2026, 10, 22, 8, 47, 0);
const VEHICLES = 50;
const STALE_AFTER_MS = 3_000;

/** The vendors' latest snapshots as a blob container holds them: bytes under an ETag that changes on write. */
function vendorBlobs() {
  const blobs = new Map<string, { etag: string; body: Uint8Array }>();
  let version = 0;
  const reads: string[][] = [];
  const repository: VendorSnapshotRepository = {
    save: () => Promise.reject(new Error('not used')),
    readLatest: () => Promise.reject(new Error('not used')),
    async readAll(ids, previous) {
      await Promise.resolve();
      const results = new Map<string, VendorReadResult>();
      for (const id of ids) {
        const blob = blobs.get(id);
        if (!blob) results.set(id, { status: 'missing' });
        else if (previous?.get(id) === blob.etag) results.set(id, { status: 'unchanged', etag: blob.etag });
        else {
          const snapshot = decodeVendorSnapshot(blob.body);
          results.set(id, {
            status: 'changed',
            snapshot,
            etag: blob.etag,
            bytes: blob.body.byteLength,
            body: blob.body,
          });
        }
      }
      reads.push([...results.values()].map((r) => r.status));
      return results;
    },
  };
  return {
    repository,
    reads,
    write(vendorId: string, collectedAt: number, records: VendorRecord[]) {
      const body = encodeVendorSnapshot({ vendorId, sequence: ++version, collectedAt, records });
      blobs.set(vendorId, { etag: `"${version}"`, body });
    },
  };
}

function positions(at: number): VendorRecord[] {
  return Array.from({ length: VEHICLES }, (_, i) => ({
    vendorId: 'positions',
    vehicleKey: `P${i}`,
    observedAt: at,
    position: { lat: 59.4 + i * 0.001 + at / 1e12, lon: 24.7 },
    speed: 8 + (i % 5),
    tripId: `trip-${i}`,
  }));
}

function fuel(at: number): VendorRecord[] {
  return Array.from({ length: VEHICLES }, (_, i) => ({
    vendorId: 'fuel',
    vehicleKey: `F${i}`,
    observedAt: at,
    fuel: 40 + i,
  }));
}

const registry = parseFleetRegistry({
  vehicles: Array.from({ length: VEHICLES }, (_, i) => ({
    vehicleId: `bus-${i}`,
    transportType: 'bus',
    keys: { positions: `P${i}`, fuel: `F${i}` },
  })),
});

function composerOn(blobs: ReturnType<typeof vendorBlobs>) {
  let leaseSequence = 0;
  let following = false;
  const stored: { descriptor: SnapshotDescriptor; encoded: Uint8Array }[] = [];
  const lease: LeaderLease = {
    check: async () =>
      following
        ? { role: 'follower' }
        : { role: 'leader', lastSequence: leaseSequence, since: T0, tookOver: false },
    claim: async (sequence) => {
      leaseSequence = sequence;
      return true;
    },
    release: async () => {},
    isLeader: true,
  };
  const store = {
    async write(snapshot, options) {
      const descriptor: SnapshotDescriptor = {
        id: new Date(snapshot.generatedAt).toISOString(),
        blobName: `snapshots/${snapshot.generatedAt}`,
        generatedAt: snapshot.generatedAt,
        sequence: snapshot.sequence,
        vehicleCount: snapshot.vehicles.length,
        bytes: options!.encoded!.byteLength,
      };
      stored.push({ descriptor, encoded: options!.encoded! });
      return descriptor;
    },
  } as Pick<SnapshotStore, 'write'> as SnapshotStore;
  const registrySource: RegistrySource = {
    current: () => registry,
    load: async () => registry,
    refreshIfDue: () => {},
  };
  const composer = createComposer({
    vendors: [
      { vendorId: 'positions', match: { by: 'key' } },
      { vendorId: 'fuel', match: { by: 'key' } },
    ],
    staleAfterMs: STALE_AFTER_MS,
    lease,
    registry: registrySource,
    vendorSnapshots: blobs.repository,
    store,
    announce: async () => {},
    logger: { warn: () => {} },
  });
  const tick = async (at: number) => {
    const report: TickReport = await composer.tick(at, at + 900);
    if (report.role !== 'leader') throw new Error(`expected to lead, was ${report.role}`);
    return report;
  };
  return {
    composer,
    tick,
    stored,
    /** Another leader claimed sequences in between (a failover and back). */
    leaseMovedTo: (sequence: number) => (leaseSequence = sequence),
    /** The lease is another replica's (true) or this one's again. */
    follow: (yes: boolean) => (following = yes),
  };
}

describe('composing ahead', () => {
  it('stores exactly the bytes composing in the tick would have, when nothing changed since the prefetch', async () => {
    // Two composers over the same blobs: one composes the second tick ahead, the other in the tick.
    const blobs = vendorBlobs();
    blobs.write('positions', T0 - 600, positions(T0 - 600));
    // Fuel is older than the stale age at the second tick (not at the first): its freshness must be judged
    // at the tick's time, not at the time the prefetch composed.
    blobs.write('fuel', T0 - 2_500, fuel(T0 - 2_500));
    const ahead = composerOn(blobs);
    const inTick = composerOn(blobs);
    expect((await ahead.tick(T0)).ahead).toBe('none');
    expect((await inTick.tick(T0)).ahead).toBe('none');
    blobs.write('positions', T0 + 400, positions(T0 + 400));

    await ahead.composer.prefetch(T0 + 1_000);
    const used = await ahead.tick(T0 + 1_000);
    const composed = await inTick.tick(T0 + 1_000);

    expect(used.ahead).toBe('used');
    expect(composed.ahead).toBe('none');
    expect(used.staleVendors).toEqual(['fuel']);
    expect(used.snapshot).toMatchObject({ sequence: 2, generatedAt: T0 + 1_000 });
    expect(used.snapshot.sources.map((s) => s.collectedAt)).toEqual([T0 + 400, T0 - 2_500]);
    expect(Buffer.from(ahead.stored[1]!.encoded).equals(Buffer.from(inTick.stored[1]!.encoded))).toBe(true);
    expect(ahead.stored[1]!.descriptor).toEqual(inTick.stored[1]!.descriptor);
    // The prefetch downloaded the change; the tick's read was all 304s.
    expect(blobs.reads.slice(-3)).toEqual([
      ['changed', 'unchanged'], // ahead's prefetch
      ['unchanged', 'unchanged'], // ahead's tick
      ['changed', 'unchanged'], // inTick's tick
    ]);
  });

  it('composes in the tick when a vendor changed after the prefetch', async () => {
    const blobs = vendorBlobs();
    blobs.write('positions', T0 - 600, positions(T0 - 600));
    blobs.write('fuel', T0 - 600, fuel(T0 - 600));
    const c = composerOn(blobs);
    await c.tick(T0);
    blobs.write('positions', T0 + 400, positions(T0 + 400));
    await c.composer.prefetch(T0 + 1_000);
    blobs.write('fuel', T0 + 900, fuel(T0 + 900));

    const report = await c.tick(T0 + 1_000);
    expect(report.ahead).toBe('discarded');
    expect(report.snapshot.sources.map((s) => s.collectedAt)).toEqual([T0 + 400, T0 + 900]);
    expect(report.snapshot.vehicles.find((v) => v.id === 'bus-3')?.sources.fuel?.observedAt).toBe(T0 + 900);
  });

  it('composes in the tick when the tick or the sequence is not the one composed for', async () => {
    const blobs = vendorBlobs();
    blobs.write('positions', T0 - 600, positions(T0 - 600));
    blobs.write('fuel', T0 - 600, fuel(T0 - 600));
    const c = composerOn(blobs);
    await c.tick(T0);

    // The schedule skipped a second: composed for T0 + 1 s, ticking for T0 + 2 s.
    await c.composer.prefetch(T0 + 1_000);
    const skipped = await c.tick(T0 + 2_000);
    expect(skipped.ahead).toBe('discarded');
    expect(skipped.snapshot.generatedAt).toBe(T0 + 2_000);

    // Another replica led for a while: the lease holds a later sequence than this one composed ahead with.
    await c.composer.prefetch(T0 + 3_000);
    c.leaseMovedTo(40);
    const resumed = await c.tick(T0 + 3_000);
    expect(resumed.ahead).toBe('discarded');
    expect(resumed.sequence).toBe(41);
    expect(c.stored.at(-1)!.descriptor.sequence).toBe(41);

    // And back to normal on the next tick.
    await c.composer.prefetch(T0 + 4_000);
    expect((await c.tick(T0 + 4_000)).ahead).toBe('used');

    // A replica that lost the lease after its prefetch keeps nothing of it.
    await c.composer.prefetch(T0 + 5_000);
    c.follow(true);
    expect(await c.composer.tick(T0 + 5_000, T0 + 5_900)).toEqual({ role: 'follower' });
    c.follow(false);
    expect((await c.tick(T0 + 6_000)).ahead).toBe('none');
  });
});
