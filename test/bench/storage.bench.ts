// Benchmark "storage", against Azurite (started here, in memory): issue #3's targets.
// - closestAt(t) p99 ≤ 25 ms over one day of 1 Hz snapshots (86,400 snapshots indexed)
// - writing a 10,000-vehicle snapshot (encode, blob, index rows) p99 ≤ 60 ms

import { blobNameOf, createSnapshotStore, createStorageClients, snapshotId } from '@transit-fusion/storage';
import { startAzurite } from '@transit-fusion/testing';
import { createReporter, percentile, type Figure } from './reporter.js';
import { createPipelineSnapshot } from './synthetic-fleet.js';

export interface StorageBenchOptions {
  /** Snapshots in the seeded day (default 86,400: one per second). */
  readonly daySnapshots?: number;
  readonly closestQueries?: number;
  readonly writeVehicles?: number;
  readonly writes?: number;
  readonly write?: (line: string) => void;
}

const DAY_START = Date.UTC(2026, 10, 20, 0, 0, 0);

export async function run(options: StorageBenchOptions = {}): Promise<Figure[]> {
  const out = options.write ?? console.log;
  const reporter = createReporter('storage', out);
  const daySnapshots = options.daySnapshots ?? 86_400;
  const azurite = await startAzurite();
  try {
    const clients = createStorageClients({ connectionString: azurite.connectionString });
    const store = createSnapshotStore({
      clients,
      container: 'bench-snapshots',
      table: 'BenchSnapshotIndex',
      retentionMs: 30 * 86_400_000,
      clock: { now: () => DAY_START + 86_400_000 },
    });
    await store.ensure();

    // Seed a day at 1 Hz. The index goes in through reindex() (the bulk path used to rebuild an index from
    // blobs) rather than 86,400 single writes: Azurite updates sorted in-memory indices on every insert and runs
    // single-threaded, so one-by-one seeding alone would take ~20 minutes. closestAt reads only the index.
    const step = 86_400_000 / daySnapshots;
    const descriptors = Array.from({ length: daySnapshots }, (_, i) => {
      const generatedAt = DAY_START + Math.round(i * step);
      return {
        id: snapshotId(generatedAt),
        blobName: blobNameOf(generatedAt),
        generatedAt,
        sequence: i + 1,
        vehicleCount: 1,
        bytes: 200,
      };
    });
    const seedStart = performance.now();
    for (let h = 0; h < 24; h++) {
      await store.reindex(
        descriptors.filter(
          (d) =>
            d.generatedAt >= DAY_START + h * 3_600_000 && d.generatedAt < DAY_START + (h + 1) * 3_600_000,
        ),
      );
      if (h % 6 === 5) out(`  indexed ${h + 1} of 24 hours…`);
    }
    reporter.figure(
      'seed_index_rows_per_s',
      daySnapshots,
      daySnapshots / ((performance.now() - seedStart) / 1000),
      '/s',
    );

    // closestAt at random instants across the day (and a little beyond its ends), one at a time.
    const queries = options.closestQueries ?? 1_000;
    const latencies: number[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20; i++) await store.closestAt(DAY_START + random() * 86_400_000); // warm-up
    for (let i = 0; i < queries; i++) {
      const t = DAY_START - 60_000 + random() * (86_400_000 + 120_000);
      const start = performance.now();
      const found = await store.closestAt(t);
      latencies.push(performance.now() - start);
      if (!found) throw new Error(`closestAt(${new Date(t).toISOString()}) found nothing`);
    }
    reporter.figure('closest_at_p50_ms', daySnapshots, percentile(latencies, 50), 'ms');
    reporter.figure('closest_at_p99_ms', daySnapshots, percentile(latencies, 99), 'ms', '≤ 25');

    // Writes of a realistic 10,000-vehicle snapshot, one after another as the composer does each second.
    const vehicles = options.writeVehicles ?? 10_000;
    const writes = options.writes ?? 100;
    const base = await createPipelineSnapshot(vehicles);
    const writeLatencies: number[] = [];
    let bytes = 0;
    for (let i = 0; i < writes + 5; i++) {
      const snapshot = {
        ...base,
        sequence: daySnapshots + i + 1,
        generatedAt: DAY_START + 86_400_000 + i * 1000,
      };
      const start = performance.now();
      const descriptor = await store.write(snapshot);
      if (i >= 5) writeLatencies.push(performance.now() - start); // the first few warm up connections and JIT
      bytes = descriptor.bytes;
    }
    reporter.figure('snapshot_write_p50_ms', vehicles, percentile(writeLatencies, 50), 'ms');
    reporter.figure('snapshot_write_p99_ms', vehicles, percentile(writeLatencies, 99), 'ms', '≤ 60');
    reporter.figure('snapshot_bytes', vehicles, bytes, 'B');
  } finally {
    await azurite.stop();
  }
  return reporter.flush();
}
