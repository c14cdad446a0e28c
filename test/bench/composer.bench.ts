// Benchmark "composer": the production composer service (createComposerService → lease, read, match, process,
// encode, write, announce; device state and quality checks in the background) with four vendors × 10,000
// vehicles from the simulator, on Azurite and the Service Bus emulator, on its own schedule: one tick a second,
// as deployed. Mid-way between ticks the four vendor snapshots are rewritten, as collectors do each second, so
// every tick downloads and decodes all four. Target: tick p99 ≤ 200 ms (`tick_p99_ms`), a tick measured from its
// start to its announcement; per-stage p50/p99 and the start lateness printed.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composerConfigFromEnv, createComposerService, type StageMs } from '@transit-fusion/composer';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import type { VendorSnapshot } from '@transit-fusion/model';
import { createLiveness, createLogger, createMetrics } from '@transit-fusion/service-kit';
import { spawnServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { encodeVendorSnapshot } from '@transit-fusion/codec';
import {
  createFleet,
  encodeSiriVm,
  encodeTripUpdates,
  encodeVehiclePositions,
  fleetRegistryDocument,
  fuelRecords,
  snapshotAt,
  step,
} from '@transit-fusion/simulator';
import {
  createDeviceStateTable,
  createLeaderLease,
  createSnapshotStore,
  createStorageClients,
  createVendorSnapshotRepository,
  ensureStorage,
  VENDOR_SNAPSHOT_CONTENT_TYPE,
  vendorSnapshotBlobName,
} from '@transit-fusion/storage';
import { startAzurite } from '@transit-fusion/testing';
import { decodeGtfsRtTripUpdates, decodeGtfsRtVehiclePositions, parseSiriVm } from '@transit-fusion/vendors';
import { createReporter, percentile, type Figure } from './reporter.js';

export interface ComposerBenchOptions {
  readonly vehicles?: number;
  /** Timed ticks, one a second (default 100, after 3 untimed): with fewer, the p99 is just the slowest tick. */
  readonly ticks?: number;
  readonly write?: (line: string) => void;
}

export async function run(options: ComposerBenchOptions = {}): Promise<Figure[]> {
  const reporter = createReporter('composer', options.write ?? console.log);
  const vehicles = options.vehicles ?? 10_000;
  const ticks = options.ticks ?? 100;

  const fleet = createFleet({ vehicles, seed: 11 });
  const dir = mkdtempSync(path.join(tmpdir(), 'composer-bench-'));
  const registryFile = path.join(dir, 'fleet-registry.json');
  writeFileSync(registryFile, JSON.stringify(fleetRegistryDocument(snapshotAt(fleet).vehicles)));

  const azurite = await startAzurite();
  // The broker in its own process, as Service Bus is remote in production: in this process its work would be
  // billed to the composer's announce stage.
  const emulator = await spawnServiceBusEmulator({
    config: emulatorConfigOf({
      topics: [
        { name: 'snapshots', subscriptions: [] },
        { name: 'alerts', subscriptions: [] },
      ],
    }),
  });
  const env = {
    TF_STORAGE_CONNECTION_STRING: azurite.connectionString,
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_COMPOSER_VENDORS: JSON.stringify([
      { vendorId: 'positions', match: { by: 'key' } },
      { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
      { vendorId: 'fuel', match: { by: 'key' } },
      { vendorId: 'speed', match: { by: 'key' } },
    ]),
    TF_COMPOSER_FLEET_REGISTRY_FILE: registryFile,
    TF_COMPOSER_INSTANCE_ID: 'bench',
  };
  const config = composerConfigFromEnv(env);
  const clients = createStorageClients({ connectionString: azurite.connectionString });
  await ensureStorage(
    clients,
    [config.storage.snapshotContainer, config.storage.vendorContainer],
    [config.storage.snapshotIndexTable, config.storage.deviceStateTable],
  );
  const bus = createServiceBusClient(messagingConfigFromEnv(env));
  const snapshots = createMessageSender({ client: bus, entity: 'snapshots' });
  const vendors = createVendorSnapshotRepository({ clients, container: config.storage.vendorContainer });
  // Only the figures are kept: holding every report's snapshot would grow this process's heap by 10,000
  // vehicles a tick and slow the collector's garbage collection, a cost production does not have.
  const reports: { stageMs: StageMs; vehicles: number; totalMs: number; lateMs: number; ahead: string }[] =
    [];
  let enough!: () => void;
  let failed!: (error: Error) => void;
  const composed = new Promise<void>((resolve, reject) => {
    enough = resolve;
    failed = reject;
  });
  const service = createComposerService({
    config,
    logger: createLogger({ service: 'composer', level: 'silent' }),
    metrics: createMetrics({ service: 'composer', defaultMetrics: false }),
    liveness: createLiveness({ eventLoop: false }),
    lease: createLeaderLease({
      clients,
      container: config.lease.container,
      blob: config.lease.blob,
      instanceId: 'bench',
    }),
    vendorSnapshots: vendors,
    store: createSnapshotStore({
      clients,
      container: config.storage.snapshotContainer,
      table: config.storage.snapshotIndexTable,
      retentionMs: 86_400_000,
    }),
    deviceState: createDeviceStateTable({ clients, table: config.storage.deviceStateTable }),
    announce: (m) => snapshots.send(m),
    alert: async () => {},
    onTick: (report, lateMs) => {
      if (report.role === 'failed') failed(new Error(`tick failed: ${report.code}`));
      if (report.role !== 'leader') return;
      // From the tick's start (its scheduled second plus how late it started) to its announcement.
      const totalMs = Date.now() - report.snapshot.generatedAt - lateMs;
      reports.push({
        stageMs: report.stageMs,
        vehicles: report.snapshot.vehicles.length,
        totalMs,
        lateMs,
        ahead: report.ahead,
      });
      if (reports.length === ticks + 3) enough();
    },
  });

  // What the four collectors store before each tick, simulated, decoded and encoded up front: in production they
  // are other processes, so their CPU and garbage must not land in the composer's ticks. Four consecutive
  // seconds of the fleet, cycled: every tick still downloads four changed snapshots, and a few megabytes of
  // buffers (not ~250) sit outside the heap, whose size would otherwise drive the composer's garbage collection.
  let sequence = 0;
  const perTick: { vendorId: string; bytes: Uint8Array }[][] = [];
  for (let i = 0; i < 4; i++) {
    step(fleet, 1_000);
    const { vehicles: truth, timestampMs } = snapshotAt(fleet);
    const encoded = (vendorId: string, records: VendorSnapshot['records']) => ({
      vendorId,
      bytes: encodeVendorSnapshot({ vendorId, sequence: ++sequence, collectedAt: timestampMs, records }),
    });
    perTick.push([
      encoded(
        'positions',
        decodeGtfsRtVehiclePositions(encodeVehiclePositions(truth, timestampMs), { vendorId: 'positions' })
          .records,
      ),
      encoded(
        'delays',
        decodeGtfsRtTripUpdates(encodeTripUpdates(truth, timestampMs), { vendorId: 'delays' }).records,
      ),
      encoded('speed', parseSiriVm(encodeSiriVm(truth, timestampMs), { vendorId: 'speed' }).records),
      encoded('fuel', fuelRecords(truth, timestampMs)),
    ]);
  }
  const vendorContainer = clients.container(config.storage.vendorContainer);
  async function collectorsWrite(i: number): Promise<void> {
    await Promise.all(
      perTick[i % perTick.length]!.map(({ vendorId, bytes }) =>
        vendorContainer.getBlockBlobClient(vendorSnapshotBlobName(vendorId)).upload(bytes, bytes.byteLength, {
          blobHTTPHeaders: { blobContentType: VENDOR_SNAPSHOT_CONTENT_TYPE },
        }),
      ),
    );
  }

  // The collectors: 400 ms into each second, between the composer's ticks.
  let collecting = true;
  let written = 0;
  const collect = async () => {
    while (collecting) {
      let due = Math.floor(Date.now() / 1000) * 1000 + 400;
      if (due <= Date.now()) due += 1000;
      await new Promise((r) => setTimeout(r, due - Date.now()));
      if (collecting) await collectorsWrite(written++);
    }
  };
  let collectors: Promise<void> | undefined;

  try {
    await collectorsWrite(written++); // something to compose from the first tick
    collectors = collect();
    await service.start();
    await composed;
    const timed = reports.slice(3, ticks + 3);
    const n = vehicles * 4;
    reporter.figure('vehicles_per_snapshot', n, timed[0]!.vehicles, 'vehicles');
    for (const stage of ['read', 'match', 'process', 'encode', 'write', 'announce'] as const) {
      const values = timed.map((r) => r.stageMs[stage]);
      reporter.figure(`${stage}_p50_ms`, n, percentile(values, 50), 'ms');
      reporter.figure(`${stage}_p99_ms`, n, percentile(values, 99), 'ms');
    }
    reporter.figure(
      'start_late_p99_ms',
      n,
      percentile(
        timed.map((r) => r.lateMs),
        99,
      ),
      'ms',
    );
    reporter.figure('ticks_skipped', n, service.status().skipped, 'count');
    // Ticks that stored what the prefetch composed ahead (their match, process and encode ran before the tick).
    reporter.figure('ticks_composed_ahead', n, timed.filter((r) => r.ahead === 'used').length, 'count');
    const tickMs = timed.map((r) => r.totalMs);
    reporter.figure('tick_p50_ms', n, percentile(tickMs, 50), 'ms');
    reporter.figure('tick_p99_ms', n, percentile(tickMs, 99), 'ms', '≤ 200');
    if (process.env['BENCH_VERBOSE']) {
      const slowest = [...timed].sort((a, b) => b.totalMs - a.totalMs).slice(0, 5);
      for (const r of slowest)
        console.error(JSON.stringify({ slowTickMs: Math.round(r.totalMs), ahead: r.ahead, ...r.stageMs }));
    }
  } finally {
    collecting = false;
    await collectors;
    await service.stop();
    await snapshots.close();
    await bus.close();
    await emulator.stop();
    await azurite.stop();
  }
  return reporter.flush();
}
