// A composer test bench on real parts: Azurite (per-test containers and tables), the Service Bus emulator with the
// snapshots and alerts topics, a fleet registry file, and vendor snapshots written through the real repository.
// Replicas are createComposerService instances with their own lease clients, as separate pods would have.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import type { VendorRecord } from '@transit-fusion/model';
import { createLiveness, createLogger, createMetrics } from '@transit-fusion/service-kit';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import {
  createDeviceStateTable,
  createLeaderLease,
  createSnapshotStore,
  createStorageClients,
  createVendorSnapshotRepository,
  ensureStorage,
  type SnapshotStore,
  type StorageClients,
} from '@transit-fusion/storage';
import { inject } from 'vitest';
import { createComposerService, type ComposerServiceDeps } from '../src/composer-service.js';
import type { TickReport } from '../src/composer.js';
import { composerConfigFromEnv } from '../src/config.js';

export const quiet = createLogger({ service: 'composer', level: 'silent' });

export interface Bench {
  readonly clients: StorageClients;
  readonly store: SnapshotStore;
  readonly env: Record<string, string>;
  readonly bus: ServiceBusClient;
  /** Writes vendor snapshots the way collectors do. */
  saveVendor(vendorId: string, records: VendorRecord[], collectedAt?: number): Promise<void>;
  replica(instanceId: string, overrides?: ReplicaOverrides): Replica;
  /** Everything announced on a topic so far (completed). */
  take(topic: 'snapshots' | 'alerts'): Promise<ServiceBusReceivedMessage[]>;
  close(): Promise<void>;
}

export type ReplicaOverrides = Partial<ComposerServiceDeps> & {
  /** Extra environment for the replica's config. */
  env?: Record<string, string>;
  /** Run the real 1 Hz schedule (default: ticks only by hand, with runOnce). */
  scheduled?: boolean;
};

export interface Replica {
  readonly service: ReturnType<typeof createComposerService>;
  readonly reports: { report: TickReport | { role: 'failed'; code: string }; lateMs: number }[];
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly liveness: ReturnType<typeof createLiveness>;
}

export const VEHICLES = 20;

export async function startBench(): Promise<Bench> {
  const emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({
      topics: [
        { name: 'snapshots', subscriptions: [{ name: 'test' }] },
        { name: 'alerts', subscriptions: [{ name: 'test' }] },
      ],
    }),
    port: 0,
  });
  const connectionString = inject('azuriteConnectionString');
  const clients = createStorageClients({ connectionString });
  const suffix = randomBytes(4).toString('hex');
  const names = {
    TF_SNAPSHOT_CONTAINER: `snap${suffix}`,
    TF_VENDOR_CONTAINER: `vend${suffix}`,
    TF_SNAPSHOT_INDEX_TABLE: `idx${suffix}`,
    TF_DEVICE_STATE_TABLE: `dev${suffix}`,
    TF_COMPOSER_LEASE_CONTAINER: `lease${suffix}`,
  };
  await ensureStorage(
    clients,
    [names.TF_SNAPSHOT_CONTAINER, names.TF_VENDOR_CONTAINER],
    [names.TF_SNAPSHOT_INDEX_TABLE, names.TF_DEVICE_STATE_TABLE],
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'composer-'));
  const registryFile = path.join(dir, 'fleet-registry.json');
  writeFileSync(
    registryFile,
    JSON.stringify({
      vehicles: Array.from({ length: VEHICLES }, (_, i) => ({
        vehicleId: `bus-${i}`,
        transportType: 'bus',
        keys: { positions: `P${i}`, fuel: `F${i}` },
      })),
    }),
  );
  const env = {
    TF_STORAGE_CONNECTION_STRING: connectionString,
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_COMPOSER_VENDORS: JSON.stringify([
      { vendorId: 'positions', match: { by: 'key' } },
      { vendorId: 'fuel', match: { by: 'key' } },
    ]),
    TF_COMPOSER_FLEET_REGISTRY_FILE: registryFile,
    ...names,
  };
  const store = createSnapshotStore({
    clients,
    container: names.TF_SNAPSHOT_CONTAINER,
    table: names.TF_SNAPSHOT_INDEX_TABLE,
    retentionMs: 86_400_000,
  });
  const bus = createServiceBusClient(messagingConfigFromEnv(env));
  const vendors = createVendorSnapshotRepository({ clients, container: names.TF_VENDOR_CONTAINER });
  let vendorSequence = 0;
  const replicas: Replica[] = [];

  return {
    clients,
    store,
    env,
    bus,
    async saveVendor(vendorId, records, collectedAt = Date.now()) {
      await vendors.save({ vendorId, sequence: ++vendorSequence, collectedAt, records });
    },
    replica(instanceId, overrides: ReplicaOverrides = {}) {
      const config = composerConfigFromEnv({
        ...env,
        // Ticks by hand (runOnce) unless a test asks for the real schedule: once a year is never during a test.
        TF_COMPOSER_SCHEDULE: overrides.scheduled ? '* * * * * *' : '0 0 0 1 1 *',
        TF_COMPOSER_INSTANCE_ID: instanceId,
        TF_COMPOSER_LEASE_CONTAINER: names.TF_COMPOSER_LEASE_CONTAINER,
        ...overrides.env,
      });
      const { env: _env, scheduled: _scheduled, ...deps } = overrides;
      const metrics = createMetrics({ service: 'composer', defaultMetrics: false });
      const liveness = createLiveness({ eventLoop: false });
      const snapshots = createMessageSender({ client: bus, entity: 'snapshots' });
      const alerts = createMessageSender({ client: bus, entity: 'alerts' });
      const reports: Replica['reports'] = [];
      const service = createComposerService({
        config,
        logger: quiet,
        metrics,
        liveness,
        lease: createLeaderLease({
          clients,
          container: config.lease.container,
          blob: config.lease.blob,
          instanceId,
          takeoverAfterMs: config.lease.takeoverAfterMs,
        }),
        vendorSnapshots: vendors,
        store,
        deviceState: createDeviceStateTable({ clients, table: names.TF_DEVICE_STATE_TABLE }),
        announce: (m) => snapshots.send(m),
        alert: (m) => alerts.send(m),
        onTick: (report, lateMs) => reports.push({ report, lateMs }),
        ...deps,
      });
      const replica = { service, reports, metrics, liveness };
      replicas.push(replica);
      return replica;
    },
    async take(topic) {
      const receiver = bus.createReceiver(topic, 'test', { receiveMode: 'receiveAndDelete' });
      const all: ServiceBusReceivedMessage[] = [];
      try {
        for (;;) {
          const batch = await receiver.receiveMessages(256, { maxWaitTimeInMs: 300 });
          if (batch.length === 0) return all;
          all.push(...batch);
        }
      } finally {
        await receiver.close();
      }
    },
    async close() {
      for (const r of replicas) r.service.crash();
      await bus.close();
      await emulator.stop();
    },
  };
}

/** Positions and fuel for every vehicle, observed at `at`. */
export function vendorRecords(at: number, moveMetres = 10) {
  const positions: VendorRecord[] = [];
  const fuel: VendorRecord[] = [];
  for (let i = 0; i < VEHICLES; i++) {
    positions.push({
      vendorId: 'positions',
      vehicleKey: `P${i}`,
      observedAt: at,
      position: { lat: 59.4 + i * 0.001 + (moveMetres * (at / 1000)) / 111_320 / 1e6, lon: 24.7 },
      speed: 8,
      tripId: `trip-${i}`,
    });
    fuel.push({ vendorId: 'fuel', vehicleKey: `F${i}`, observedAt: at, fuel: 50 + i });
  }
  return { positions, fuel };
}
