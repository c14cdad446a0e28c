// Benchmark "composer": the production composer tick (createComposerService → lease, read, match, process,
// encode, write, announce) with four vendors × 10,000 vehicles from the simulator, on Azurite and the Service Bus
// emulator. Before every tick the four vendor snapshots are rewritten (untimed), as collectors do each second, so
// every tick downloads and decodes all four. Target: tick p99 ≤ 200 ms (`tick_p99_ms`); per-stage p50/p99 printed.

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
  /** Timed ticks (default 100, after 3 untimed): with fewer, the p99 is just the slowest tick. */
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
    TF_COMPOSER_SCHEDULE: '0 0 0 1 1 *', // ticks by hand, back to back
    TF_COMPOSER_INSTANCE_ID: 'bench',
    TF_COMPOSER_DEVICE_STATE_FLUSH_MS: process.env.BENCH_FLUSH_MS ?? '10000',
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
  const reports: { stageMs: StageMs; vehicles: number }[] = [];
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
    onTick: (report) => {
      if (report.role === 'failed') throw new Error(`tick failed: ${report.code}`);
      if (report.role === 'leader') {
        reports.push({ stageMs: report.stageMs, vehicles: report.snapshot.vehicles.length });
      }
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

  try {
    await service.start();
    const tickMs: number[] = [];
    let tickAt = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < ticks + 3; i++) {
      await collectorsWrite(i);
      tickAt += 1000;
      const started = performance.now();
      await service.runOnce(tickAt);
      if (i >= 3) tickMs.push(performance.now() - started);
    }
    const timed = reports.slice(3);
    if (timed.length !== ticks) throw new Error(`${timed.length} of ${ticks} ticks composed`);
    const n = vehicles * 4;
    reporter.figure('vehicles_per_snapshot', n, timed[0]!.vehicles, 'vehicles');
    for (const stage of ['read', 'match', 'process', 'encode', 'write', 'announce'] as const) {
      const values = timed.map((r) => r.stageMs[stage]);
      reporter.figure(`${stage}_p50_ms`, n, percentile(values, 50), 'ms');
      reporter.figure(`${stage}_p99_ms`, n, percentile(values, 99), 'ms');
    }
    reporter.figure('tick_p50_ms', n, percentile(tickMs, 50), 'ms');
    reporter.figure('tick_p99_ms', n, percentile(tickMs, 99), 'ms', '≤ 200');
  } finally {
    await service.stop();
    await snapshots.close();
    await bus.close();
    await emulator.stop();
    await azurite.stop();
  }
  return reporter.flush();
}
