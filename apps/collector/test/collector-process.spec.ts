// main.ts as it runs in production, in a child process: a pull vendor (the real Caltrain feed over HTTP) and a
// push vendor (its subscription on the Service Bus emulator), storage on Azurite. Health shows each collector's
// last success, last error and staleness; metrics count per vendor; SIGTERM exits 0.

import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { createStorageClients, createVendorSnapshotRepository } from '@transit-fusion/storage';
import {
  freePort,
  readSharedFile,
  sharedDataMissing,
  startChild,
  type ChildService,
} from '@transit-fusion/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { JobStatus } from '../src/collector-job.js';
import { startFeedServer } from './feed-server.js';

let service: ChildService | undefined;
afterEach(() => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  service = undefined;
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(sharedDataMissing)('the collector process (main.ts)', () => {
  it('collects a pull and a push vendor on schedule, shows failures on /collectors, and stops on SIGTERM', async () => {
    const feed = await startFeedServer({
      body: readSharedFile('gtfs-rt/ct-vehicle-positions.pb'),
      validators: true,
    });
    const emulator = await startServiceBusEmulator({
      config: emulatorConfigOf({
        topics: [{ name: 'vendor-pushes', subscriptions: [{ name: 'collector' }] }],
      }),
      port: 0,
    });
    const client = createServiceBusClient(
      messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
    );
    const container = `vendors-proc-${Date.now().toString(36)}`;
    const repository = createVendorSnapshotRepository({
      clients: createStorageClients({ connectionString: inject('azuriteConnectionString') }),
      container,
    });
    const port = await freePort();
    try {
      service = startChild('apps/collector/src/main.ts', {
        TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
        TF_VENDOR_CONTAINER: container,
        TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
        TF_COLLECTOR_HOST: '127.0.0.1',
        TF_COLLECTOR_PORT: String(port),
        TF_COLLECTOR_VENDORS: JSON.stringify({
          caltrain: { kind: 'pull', format: 'gtfs-rt-vehicle-positions', url: feed.url },
          fuel: { kind: 'push' },
        }),
      });
      await service.waitFor((l) => l.msg === 'collector running');
      const base = `http://127.0.0.1:${port}`;
      const statuses = async () =>
        ((await (await fetch(`${base}/collectors`)).json()) as { collectors: JobStatus[] }).collectors;

      // The pull vendor is stored on its first ticks.
      const caltrain = await until('caltrain stored', async () => {
        const read = await repository.readLatest('caltrain');
        return read.status === 'changed' ? read : undefined;
      });
      expect(caltrain.snapshot.records).toHaveLength(14);

      // A push reaches the fuel snapshot within a tick or two.
      await createMessageSender({ client, entity: 'vendor-pushes' }).send([
        {
          body: Buffer.from(
            JSON.stringify({
              pushId: 'p1',
              vendorId: 'fuel',
              receivedAt: Date.now(),
              records: [{ vendorId: 'fuel', vehicleKey: 'bus-7', observedAt: Date.now(), fuel: 64 }],
            }),
          ),
          contentType: 'application/json',
        },
      ]);
      const fuel = await until('fuel stored', async () => {
        const read = await repository.readLatest('fuel');
        return read.status === 'changed' ? read : undefined;
      });
      expect(fuel.snapshot.records).toMatchObject([{ vehicleKey: 'bus-7', fuel: 64 }]);

      // A malformed feed: the collector says so and the stored snapshot stays the last good one.
      feed.answer = { body: Buffer.from('<html>502 Bad Gateway</html>') };
      const failing = await until('caltrain failing', async () => {
        const s = (await statuses()).find((c) => c.name === 'caltrain');
        return s?.lastError && s.lastError.at > (s.lastSuccessAt ?? 0) ? s : undefined;
      });
      expect(failing).toMatchObject({
        vendorIds: ['caltrain'],
        schedule: '* * * * * *',
        stale: false,
        lastError: { code: 'MALFORMED_FEED', message: expect.stringContaining('caltrain') },
      });
      expect(failing.lastSuccessAt).toBeGreaterThan(0);
      expect(failing.stalenessMs).toBeGreaterThanOrEqual(0);
      expect((await repository.readLatest('caltrain', caltrain.etag)).status).toBe('unchanged');

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /collector_failures_total\{collector="caltrain",code="MALFORMED_FEED",service="collector"\} [1-9]/,
      );
      expect(metrics).toMatch(/collector_records_total\{vendor="caltrain",service="collector"\} 14/);
      expect(metrics).toMatch(/collector_records_total\{vendor="fuel",service="collector"\} 1/);
      expect(metrics).toMatch(
        /collector_bytes_total\{vendor="caltrain",direction="in",service="collector"\} \d+/,
      );
      expect(metrics).toMatch(
        /collector_ticks_total\{collector="fuel",outcome="success",service="collector"\} [1-9]/,
      );
      expect(metrics).toContain('collector_staleness_seconds{collector="caltrain"');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(JSON.stringify(service.lines)).not.toContain('SharedAccessKey=');

      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      expect(service.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    } finally {
      await client.close();
      await emulator.stop();
      await feed.close();
    }
  });
});
