import { describe, expect, it } from 'vitest';
import { run as runCompose } from './compose.bench.js';
import { run as runStorage } from './storage.bench.js';
import { run as runCollector } from './collector.bench.js';
import { run as runComposer } from './composer.bench.js';
import { run as runBroadcast } from './broadcast.bench.js';
import { run as runGateway } from './gateway.bench.js';
import { createReporter } from './reporter.js';

// Smoke tests: each benchmark runs tiny so it cannot rot between benchmark runs. Timings are not asserted
// (machines are shared and noisy); the benchmarks themselves report them.
describe('benchmarks', () => {
  it('compose prints a table and one well-formed JSON line per figure', async () => {
    const lines: string[] = [];
    const figures = await runCompose({ sizes: [200], write: (l) => lines.push(l) });
    const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(json).toEqual(figures);
    expect(json.map((f) => f.metric)).toEqual(
      expect.arrayContaining([
        'us_per_vehicle',
        'encode_us_per_vehicle',
        'decode_us_per_vehicle',
        'msgpack_to_json_size_ratio',
      ]),
    );
    for (const f of json) {
      expect(f).toEqual({
        bench: 'compose',
        metric: expect.any(String),
        n: 200,
        value: expect.any(Number),
        unit: expect.any(String),
      });
      expect(Number.isFinite(f.value)).toBe(true);
    }
    expect(json.find((f) => f.metric === 'msgpack_to_json_size_ratio').value).toBeLessThan(0.5);
    expect(lines.join('\n').split('\n')).toContainEqual(
      expect.stringMatching(/^metric\s+n\s+value\s+unit\s+target$/),
    );
  });

  it('storage runs end to end against its own Azurite and reports its figures', async () => {
    const lines: string[] = [];
    const figures = await runStorage({
      daySnapshots: 240,
      closestQueries: 20,
      writeVehicles: 200,
      writes: 5,
      write: (l) => lines.push(l),
    });
    expect(figures.map((f) => f.metric)).toEqual([
      'seed_index_rows_per_s',
      'closest_at_p50_ms',
      'closest_at_p99_ms',
      'snapshot_write_p50_ms',
      'snapshot_write_p99_ms',
      'snapshot_bytes',
    ]);
    for (const f of figures) expect(Number.isFinite(f.value) && f.value > 0).toBe(true);
  }, 120_000);

  it('collector runs ticks and a scheduled run against its own Azurite and reports its figures', async () => {
    const figures = await runCollector({ vehicles: 300, ticks: 3, scheduledTicks: 2, write: () => {} });
    expect(figures.map((f) => f.metric)).toEqual([
      'gtfs_rt_feed_bytes',
      'gtfs_rt_decode_ms',
      'gtfs_rt_tick_p50_ms',
      'gtfs_rt_tick_p99_ms',
      'tick_start_drift_p50_ms',
      'tick_start_drift_p99_ms',
      'scheduled_ticks_skipped',
      'scheduled_ticks_failed',
    ]);
    expect(figures.find((f) => f.metric === 'scheduled_ticks_failed')?.value).toBe(0);
    expect(figures.every((f) => Number.isFinite(f.value) && f.value >= 0)).toBe(true);
  }, 120_000);

  it('composer runs its ticks on its own Azurite and emulator and reports every stage', async () => {
    const figures = await runComposer({ vehicles: 200, ticks: 3, write: () => {} });
    const metrics = figures.map((f) => f.metric);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'tick_p99_ms',
        'read_p99_ms',
        'write_p99_ms',
        'announce_p99_ms',
        'ticks_composed_ahead',
      ]),
    );
    expect(figures.find((f) => f.metric === 'vehicles_per_snapshot')?.value).toBe(200);
  }, 120_000);

  it('broadcast runs a broadcaster process with SignalR and gRPC subscribers and reports delivery lag', async () => {
    const figures = await runBroadcast({
      vehicles: 400,
      signalrClients: 10,
      officialClients: 2, // and 8 protocol-level clients
      grpcStreams: 10,
      officialGrpcStreams: 4, // and 6 plain HTTP/2 streams
      ticks: 3,
      rawSockets: 10,
      rawMessages: 20,
      write: () => {},
    });
    const value = (metric: string) => figures.find((f) => f.metric === metric)?.value;
    expect(value('views')).toBe(10); // 20 subscribers over the first 10 of the 20 profiles
    // Every subscriber got every tick: the keyframe at subscribe, 5 untimed and 3 timed ticks.
    expect(value('updates_received')).toBe(value('updates_expected'));
    expect(value('client_errors')).toBe(0);
    expect(value('delivery_lag_p99_ms')).toBeGreaterThan(0);
    // Each timed tick's last receipt, so at least the p99 of them all, and each tick counted once at most.
    expect(value('tick_last_receipt_max_ms')).toBeGreaterThanOrEqual(value('delivery_lag_p99_ms')!);
    expect(figures.find((f) => f.metric === 'tick_last_receipt_p50_ms')?.n).toBe(3);
    expect(value('ticks_last_receipt_over_200ms')).toBeLessThanOrEqual(3);
    expect(figures.find((f) => f.metric === 'signalr_official_lag_p50_ms')?.n).toBe(2 * 3);
    expect(value('cpu_ms_per_tick_broadcaster')).toBeGreaterThan(0);
    expect(value('hub_vs_raw_ws_ratio')).toBeGreaterThan(0);
    expect(value('views_publish_20_ms')).toBeGreaterThan(0);
    expect(value('views_publish_256_ms')).toBeGreaterThan(0);
  }, 180_000);

  it('gateway runs simulated trackers against a gateway process and reports connections, records/s and ack latency', async () => {
    const figures = await runGateway({ devices: 50, seconds: 2, intervalMs: 500, write: () => {} });
    const value = (metric: string) => figures.find((f) => f.metric === metric)?.value;
    expect(value('connections')).toBe(50);
    // 50 devices × 10 records every 0.5 s offer 1,000 records/s; all of them are acknowledged.
    expect(value('records_per_s')).toBeGreaterThan(500);
    expect(value('ack_p99_ms')).toBeGreaterThan(0);
    expect(value('resends')).toBe(0);
  }, 120_000);

  it('the reporter rounds and aligns', () => {
    const lines: string[] = [];
    const r = createReporter('x', (l) => lines.push(l));
    r.figure('m', 1000, 1.23456, 'us');
    expect(r.flush()).toEqual([{ bench: 'x', metric: 'm', n: 1000, value: 1.235, unit: 'us' }]);
    expect(lines).toContain('m       1,000  1.235  us          ');
  });
});
