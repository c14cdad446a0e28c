// main.ts as deployed, in a child process on Azurite and the emulator: it composes on its 1 Hz schedule,
// announces, serves /status, /readyz and /metrics, and on SIGTERM releases the lease and exits 0.

import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotAnnouncement } from '../src/composer.js';
import { startBench, vendorRecords, VEHICLES, type Bench } from './harness.js';

let service: ChildService | undefined;
/** Every child a test started, killed after it whatever happened. */
const children: ChildService[] = [];
let bench: Bench;
beforeEach(async () => {
  bench = await startBench();
});
afterEach(async () => {
  for (const child of [...children.splice(0), ...(service ? [service] : [])]) {
    if (child.child.exitCode === null) child.child.kill('SIGKILL');
  }
  service = undefined;
  await bench.close();
});

describe('the composer process (main.ts)', () => {
  it('composes every second, reports on /status, and exits 0 on SIGTERM', async () => {
    const { positions, fuel } = vendorRecords(Date.now());
    await bench.saveVendor('positions', positions);
    await bench.saveVendor('fuel', fuel);
    const port = await freePort();
    service = startChild('apps/composer/src/main.ts', {
      ...bench.env,
      TF_COMPOSER_HOST: '127.0.0.1',
      TF_COMPOSER_PORT: String(port),
      TF_COMPOSER_INSTANCE_ID: 'proc-1',
      TF_COMPOSER_LEASE_CONTAINER: bench.env.TF_COMPOSER_LEASE_CONTAINER!,
    });
    await service.waitFor((l) => l.msg === 'composer running');
    const deadline = Date.now() + 15_000;
    let status: { role?: string; lastSequence?: number } = {};
    while (Date.now() < deadline && !((status.lastSequence ?? 0) >= 3)) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as typeof status;
    }
    expect(status).toMatchObject({ role: 'leader', instanceId: 'proc-1' });
    expect(status.lastSequence).toBeGreaterThanOrEqual(3);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/composer_ticks_total\{outcome="composed",service="composer"\} [1-9]/);
    expect(metrics).toMatch(/composer_tick_duration_seconds_count\{service="composer",stage="write"\} [1-9]/);

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.lines.map((l) => l.msg)).toContain('leader lease released');
    const announced = (await bench.take('snapshots')).map((m) => m.body as SnapshotAnnouncement);
    expect(announced.length).toBeGreaterThanOrEqual(3);
    expect(announced.every((a) => a.vehicleCount === VEHICLES)).toBe(true);
  });
});

describe('fail-over between composer processes', () => {
  it('a SIGKILLed leader is replaced within two ticks, with no tick written twice and no sequence reused', async () => {
    const { positions, fuel } = vendorRecords(Date.now());
    await bench.saveVendor('positions', positions);
    await bench.saveVendor('fuel', fuel);
    const start = async (id: string) => {
      const port = await freePort();
      const child = startChild('apps/composer/src/main.ts', {
        ...bench.env,
        TF_COMPOSER_HOST: '127.0.0.1',
        TF_COMPOSER_PORT: String(port),
        TF_COMPOSER_INSTANCE_ID: id,
        TF_COMPOSER_LEASE_CONTAINER: bench.env.TF_COMPOSER_LEASE_CONTAINER!,
      });
      children.push(child);
      await child.waitFor((l) => l.msg === 'composer running');
      return child;
    };
    const a = await start('a');
    await a.waitFor((l) => l.msg === 'leader lease acquired');
    const b = await start('b');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    a.child.kill('SIGKILL');
    await a.exited;
    const takeover = await b.waitFor((l) => l.msg === 'leader lease acquired', 15_000);
    expect(takeover).toMatchObject({ instanceId: 'b', tookOver: true });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);

    const announced = (await bench.take('snapshots')).map((m) => m.body as SnapshotAnnouncement);
    const sequences = announced.map((m) => m.sequence);
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);
    const times = announced.map((m) => m.generatedAt);
    expect(new Set(times).size).toBe(times.length);
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000 - 1);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2);
    expect(announced.length).toBeGreaterThanOrEqual(5);
  });
});
