// The composer on Azurite and the Service Bus emulator: ticks stored, indexed and announced with strictly
// increasing sequences; one leader among replicas; hand-over when the leader stops or crashes; failures counted
// and survived.

import { createDeviceStateTable, createVendorSnapshotRepository } from '@transit-fusion/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotAnnouncement } from '../src/composer.js';
import { startBench, vendorRecords, VEHICLES, type Bench } from './harness.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function first<T>(items: AsyncIterable<T>): Promise<T[]> {
  for await (const item of items) return [item];
  return [];
}

describe('composer', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(() => bench.close());

  async function feed(at: number) {
    const { positions, fuel } = vendorRecords(at);
    await Promise.all([bench.saveVendor('positions', positions, at), bench.saveVendor('fuel', fuel, at)]);
  }

  it('30 ticks → 30 index rows, 30 blobs, 30 announcements, sequences strictly increasing', async () => {
    const a = bench.replica('a');
    await a.service.start();
    for (let i = 0; i < 30; i++) {
      if (i % 5 === 0) await feed(T0 + i * 1000);
      await a.service.runOnce(T0 + i * 1000);
    }
    await a.service.stop();

    const rows = [];
    for await (const d of bench.store.between(T0, T0 + 60_000)) rows.push(d);
    expect(rows.map((d) => d.generatedAt)).toEqual(Array.from({ length: 30 }, (_, i) => T0 + i * 1000));
    expect(rows.every((d) => d.vehicleCount === VEHICLES)).toBe(true);
    const sequences = rows.map((d) => d.sequence);
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);

    const blobs = [];
    for await (const blob of bench.clients.container(bench.env.TF_SNAPSHOT_CONTAINER!).listBlobsFlat()) {
      blobs.push(blob.name);
    }
    expect(blobs.sort()).toEqual(rows.map((d) => d.blobName).sort());

    const announced = (await bench.take('snapshots')).map((m) => m.body as SnapshotAnnouncement);
    expect(announced.map((m) => m.sequence)).toEqual(sequences);
    expect(announced[0]).toMatchObject({
      snapshotId: '2026-11-21T08:47:00.000Z',
      blobName: rows[0]!.blobName,
      generatedAt: T0,
      vehicleCount: VEHICLES,
      changes: { added: VEHICLES, removed: 0 },
      sources: [
        { vendorId: 'positions', stale: false },
        { vendorId: 'fuel', stale: false },
      ],
    });
    // Fused: each vehicle has its position from one vendor and its fuel from the other.
    const first = await bench.store.read(rows[0]!);
    expect(first.vehicles.find((v) => v.id === 'bus-3')).toMatchObject({ fuel: 53, tripId: 'trip-3' });
    // Unchanged vendors in between: nothing moved.
    expect(announced[1]!.changes).toEqual({ added: 0, removed: 0, changed: 0, unchanged: VEHICLES });
  });

  it("prefetches what changed and composes the next tick ahead: that tick's read is all 304s and stores the new data", async () => {
    const repository = createVendorSnapshotRepository({
      clients: bench.clients,
      container: bench.env.TF_VENDOR_CONTAINER!,
    });
    const reads: string[][] = [];
    const counting = (): typeof repository => ({
      ...repository,
      async readAll(ids, etags) {
        const results = await repository.readAll(ids, etags);
        reads.push([...results.values()].map((r) => r.status));
        return results;
      },
    });
    const a = bench.replica('a', { vendorSnapshots: counting() });
    await a.service.start();
    await feed(T0);
    await a.service.runOnce(T0);
    await feed(T0 + 100);
    await a.service.prefetch(T0 + 1_000);
    await a.service.runOnce(T0 + 1_000);
    expect(reads).toEqual([
      ['changed', 'changed'],
      ['changed', 'changed'], // the prefetch
      ['unchanged', 'unchanged'],
    ]);
    const report = a.reports.at(-1)!.report;
    expect(report.role === 'leader' && report.ahead).toBe('used');
    expect(report.role === 'leader' && report.snapshot.sources.map((s) => s.collectedAt)).toEqual([
      T0 + 100,
      T0 + 100,
    ]);
    const stored = await bench.store.closestAt(T0 + 1_000);
    expect(stored?.generatedAt).toBe(T0 + 1_000);
    expect((await bench.store.read(stored!)).vehicles).toEqual(
      report.role === 'leader' && report.snapshot.vehicles,
    );
    expect(await a.metrics.registry.getSingleMetricAsString('composer_composed_ahead_total')).toContain(
      'composer_composed_ahead_total{outcome="used",service="composer"} 1',
    );
    await a.service.stop();

    // On the real 1 Hz schedule the leader prefetches before every tick: two reads a tick.
    reads.length = 0;
    const b = bench.replica('b', { scheduled: true, vendorSnapshots: counting() });
    await b.service.start();
    for (let waited = 0; b.reports.length < 4 && waited < 15_000; waited += 50) await sleep(50);
    const ticks = b.reports.length;
    await b.service.stop();
    expect(b.reports.every((r) => r.report.role === 'leader')).toBe(true);
    expect(reads.length).toBeGreaterThanOrEqual(2 * ticks - 1);
    // Nothing changed between ticks: each tick after the first stores what its prefetch composed.
    expect(b.reports.slice(1).some((r) => r.report.role === 'leader' && r.report.ahead === 'used')).toBe(
      true,
    );
  });

  it('a second replica stays idle while the first leads, and takes over at once when it stops', async () => {
    const a = bench.replica('a');
    const b = bench.replica('b');
    await Promise.all([a.service.start(), b.service.start()]);
    await feed(T0);
    for (let i = 0; i < 3; i++) {
      await a.service.runOnce(T0 + i * 1000);
      await b.service.runOnce(T0 + i * 1000);
    }
    expect(a.reports.map((r) => r.report.role)).toEqual(['leader', 'leader', 'leader']);
    expect(b.reports.map((r) => r.report.role)).toEqual(['follower', 'follower', 'follower']);
    expect(await b.metrics.registry.getSingleMetricAsString('composer_leader')).toMatch(
      /composer_leader{service="composer"} 0/,
    );

    await a.service.stop(); // releases the lease
    await b.service.runOnce(T0 + 3000);
    expect(b.reports.at(-1)?.report).toMatchObject({ role: 'leader', sequence: 4 });
    await b.service.stop();
  });

  it('hands over from a crashed leader within two ticks, with no duplicate or reused sequence (real 1 Hz schedule)', async () => {
    const a = bench.replica('a', { scheduled: true });
    const b = bench.replica('b', { scheduled: true });
    await feed(Date.now());
    await a.service.start();
    await sleep(1_200); // a leads first
    await b.service.start();
    await sleep(3_000);
    a.service.crash(); // no release: b must notice the claims stopped
    await sleep(4_500);
    await b.service.stop();

    const announced = (await bench.take('snapshots')).map((m) => m.body as SnapshotAnnouncement);
    const sequences = announced.map((m) => m.sequence);
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);
    const times = announced.map((m) => m.generatedAt);
    expect(new Set(times).size).toBe(times.length); // no tick written twice
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000 - 1);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2); // at most two ticks missing around the crash
    expect(a.reports.some((r) => r.report.role === 'leader')).toBe(true);
    expect(b.reports.some((r) => r.report.role === 'leader')).toBe(true);
  });

  it('retries a failed store within the budget; a tick that cannot be stored is counted and the next proceeds', async () => {
    let failures = 0;
    const flaky = {
      ...bench.store,
      write: (...args: Parameters<typeof bench.store.write>) =>
        failures-- > 0
          ? Promise.reject(new Error('UNAVAILABLE: blob service down'))
          : bench.store.write(...args),
    };
    const a = bench.replica('a', { store: flaky });
    await a.service.start();
    await feed(T0);
    failures = 1;
    await a.service.runOnce(T0);
    expect(a.reports.at(-1)?.report).toMatchObject({ role: 'leader', writeAttempts: 2 });

    failures = 1_000;
    const started = Date.now();
    await a.service.runOnce(Date.now()); // budget 900 ms from now
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(a.reports.at(-1)?.report).toEqual({ role: 'failed', code: 'STORE_FAILED' });
    expect(await a.metrics.registry.getSingleMetricAsString('composer_ticks_failed_total')).toContain(
      'code="STORE_FAILED",service="composer"} 1',
    );

    failures = 0;
    await a.service.runOnce(T0 + 5_000);
    expect(a.reports.at(-1)?.report).toMatchObject({ role: 'leader' });
    await a.service.stop();
  });

  it('finds a device that keeps jumping impossibly: alert announced, device flagged; device state recorded', async () => {
    const a = bench.replica('a', { env: { TF_COMPOSER_QUALITY_THRESHOLD: '3' } });
    await a.service.start();
    for (let i = 0; i < 5; i++) {
      const at = T0 + i * 1000;
      const { positions, fuel } = vendorRecords(at);
      // bus-0 teleports 10 km back and forth every second (10 km/s); the others move normally.
      positions[0]!.position = { lat: 59.4 + (i % 2) * 0.09, lon: 24.7 };
      await Promise.all([bench.saveVendor('positions', positions, at), bench.saveVendor('fuel', fuel, at)]);
      await a.service.runOnce(at);
    }
    const alerts = await a.service.checkQuality();
    expect(alerts).toEqual([
      expect.objectContaining({ vehicleId: 'bus-0', impossibleJumps: 4, invalidPositions: 0 }),
    ]);
    // Alerted once, not on every check while it stays over the threshold.
    expect(await a.service.checkQuality()).toEqual([]);
    const announced = await bench.take('alerts');
    expect(announced.map((m) => m.body)).toEqual([
      expect.objectContaining({ kind: 'device-quality', vehicleId: 'bus-0', kinds: ['impossible-jump'] }),
    ]);
    const devices = createDeviceStateTable({
      clients: bench.clients,
      table: bench.env.TF_DEVICE_STATE_TABLE!,
    });
    expect((await devices.get('bus-0'))?.flags).toContain('ImpossibleJump');

    expect(await a.service.flushDeviceState({ all: true })).toEqual({ written: VEHICLES, failed: 0 });
    expect(await devices.get('bus-5')).toMatchObject({ messageCount: 5, position: { lon: 24.7 } });
    await a.service.stop();
  });

  it('uses vendor data older than the stale age but flags it stale, per vendor and per field', async () => {
    const a = bench.replica('a', { env: { TF_COMPOSER_STALE_AFTER_MS: '60000' } });
    await a.service.start();
    const { positions, fuel } = vendorRecords(T0);
    const old = vendorRecords(T0 - 120_000);
    await bench.saveVendor('positions', positions, T0);
    await bench.saveVendor('fuel', old.fuel, T0 - 120_000);
    await a.service.runOnce(T0);
    await a.service.stop();
    const [announcement] = (await bench.take('snapshots')).map((m) => m.body as SnapshotAnnouncement);
    expect(announcement!.sources).toEqual([
      expect.objectContaining({ vendorId: 'positions', stale: false }),
      expect.objectContaining({ vendorId: 'fuel', stale: true }),
    ]);
    const [row] = await first(bench.store.between(T0, T0));
    const snapshot = await bench.store.read(row!);
    const bus = snapshot.vehicles.find((v) => v.id === 'bus-1')!;
    expect(bus.fuel).toBe(fuel[1]!.fuel); // still used
    expect(bus.sources.fuel).toMatchObject({ vendorId: 'fuel', stale: true });
    expect(bus.sources.position?.stale).toBeUndefined();
  });

  it('liveness fails when no tick has completed for the configured time', async () => {
    const a = bench.replica('a', { env: { TF_COMPOSER_LIVENESS_MAX_AGE_MS: '5000' } });
    await a.service.start();
    await a.service.runOnce(T0);
    expect(a.liveness.check().ok).toBe(true);
    expect(a.liveness.check(Date.now() + 6_000)).toMatchObject({
      ok: false,
      stale: [expect.objectContaining({ name: 'composer-tick' })],
    });
    await a.service.stop();
  });
});
