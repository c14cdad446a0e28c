// Benchmark "collector": one pull collector on a 10,000-vehicle GTFS-RT VehiclePositions feed served from
// localhost (the simulator's encoder), storing to Azurite — the production code path, createPullCollector.
// - gtfs_rt_tick_p99_ms: fetch + decode + map + save per tick, ticks run back to back. Target ≤ 150 ms.
// - gtfs_rt_decode_ms: the adapter alone (decode + validate), for reference (~50 ms expected).
// - tick_start_drift_p99_ms: the same collector scheduled by croner at 1 Hz (createCollectorJob) for 60 ticks;
//   how late each tick started after its scheduled second. Target ≤ 50 ms.
// The feed changes every request (two bodies alternate with distinct ETags), so no tick is a cheap 304.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createCollectorJob, createCollectorMetrics, createPullCollector } from '@transit-fusion/collector';
import { createMetrics } from '@transit-fusion/service-kit';
import { createFleet, encodeVehiclePositions, snapshotAt, step } from '@transit-fusion/simulator';
import { createStorageClients, createVendorSnapshotRepository, ensureStorage } from '@transit-fusion/storage';
import { startAzurite } from '@transit-fusion/testing';
import { createFeedDecoder } from '@transit-fusion/vendors';
import { createReporter, percentile, type Figure } from './reporter.js';

export interface CollectorBenchOptions {
  /** Vehicles in the feed (default 10,000). */
  readonly vehicles?: number;
  /** Timed back-to-back ticks (default 100, after 5 untimed). */
  readonly ticks?: number;
  /** Scheduled 1 Hz ticks for the drift figure (default 60). */
  readonly scheduledTicks?: number;
  readonly write?: (line: string) => void;
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

export async function run(options: CollectorBenchOptions = {}): Promise<Figure[]> {
  const reporter = createReporter('collector', options.write ?? console.log);
  const vehicles = options.vehicles ?? 10_000;
  const ticks = options.ticks ?? 100;
  const scheduledTicks = options.scheduledTicks ?? 60;

  const fleet = createFleet({ vehicles, seed: 7 });
  const bodies: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    step(fleet, 1_000);
    const snapshot = snapshotAt(fleet);
    bodies.push(Buffer.from(encodeVehiclePositions(snapshot.vehicles, snapshot.timestampMs)));
  }
  const feed = await serveAlternating(bodies);
  const azurite = await startAzurite();
  try {
    const clients = createStorageClients({ connectionString: azurite.connectionString });
    await ensureStorage(clients, ['vendors'], []);
    const repository = createVendorSnapshotRepository({ clients, container: 'vendors' });
    const vendor = {
      id: 'positions',
      kind: 'pull' as const,
      url: new URL(feed.url),
      format: 'gtfs-rt-vehicle-positions' as const,
      headers: {},
      maxBodyBytes: 64 * 1024 * 1024,
      schedule: '* * * * * *',
      budgetMs: 900,
    };
    const collector = createPullCollector({ vendor, repository });

    for (let i = 0; i < 5; i++) await collector.tick(AbortSignal.timeout(5_000));
    const tickMs: number[] = [];
    for (let i = 0; i < ticks; i++) {
      const started = performance.now();
      const report = await collector.tick(AbortSignal.timeout(5_000));
      tickMs.push(performance.now() - started);
      if (report.vendors[0]?.outcome !== 'saved' || report.vendors[0].records !== vehicles) {
        throw new Error(`tick ${i} did not store ${vehicles} records: ${JSON.stringify(report.vendors[0])}`);
      }
    }
    const decode = createFeedDecoder('gtfs-rt-vehicle-positions');
    const decodeMs: number[] = [];
    // Warm by now (the ticks above ran the same decoder).
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      decode(bodies[i % 2]!, { vendorId: 'positions' });
      decodeMs.push(performance.now() - started);
    }

    reporter.figure('gtfs_rt_feed_bytes', vehicles, bodies[0]!.length, 'bytes');
    reporter.figure('gtfs_rt_decode_ms', vehicles, percentile(decodeMs, 50), 'ms', '~50');
    reporter.figure('gtfs_rt_tick_p50_ms', vehicles, percentile(tickMs, 50), 'ms');
    reporter.figure('gtfs_rt_tick_p99_ms', vehicles, percentile(tickMs, 99), 'ms', '≤ 150');

    // The scheduled run: croner at 1 Hz, as the service runs it.
    const drifts: number[] = [];
    const job = createCollectorJob({
      collector,
      schedule: '* * * * * *',
      budgetMs: 900,
      staleAfterMs: 60_000,
      logger: quiet,
      metrics: createCollectorMetrics(createMetrics({ service: 'bench', defaultMetrics: false })),
      onTickStart: (drift) => drifts.push(drift),
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (drifts.length >= scheduledTicks) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
      job.start();
    });
    await job.stop();
    const status = job.status();
    reporter.figure('tick_start_drift_p50_ms', drifts.length, percentile(drifts, 50), 'ms');
    reporter.figure('tick_start_drift_p99_ms', drifts.length, percentile(drifts, 99), 'ms', '≤ 50');
    reporter.figure('scheduled_ticks_skipped', drifts.length, status.skips, 'ticks', '0');
    reporter.figure('scheduled_ticks_failed', drifts.length, status.failures, 'ticks', '0');
  } finally {
    await azurite.stop();
    await new Promise((resolve) => feed.server.close(resolve));
  }
  return reporter.flush();
}

/** Serves the bodies in turn, each with its own ETag, honouring If-None-Match like a real feed server. */
async function serveAlternating(bodies: readonly Buffer[]): Promise<{ server: Server; url: string }> {
  const etags = bodies.map((b) => `"${createHash('sha1').update(b).digest('hex')}"`);
  let next = 0;
  const server = createServer((request, response) => {
    const i = next++ % bodies.length;
    if (request.headers['if-none-match'] === etags[i]) {
      response.writeHead(304).end();
      return;
    }
    response
      .writeHead(200, {
        'content-type': 'application/x-protobuf',
        'content-length': bodies[i]!.length,
        etag: etags[i],
      })
      .end(bodies[i]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { server, url: `http://127.0.0.1:${address.port}/gtfs-rt/vehicle-positions` };
}
