// What the broadcaster's tests share: a snapshot store of their own on the run's Azurite, filled with the given
// snapshots, and the service app (probes, metrics) the HTTP routes are registered on.

import { randomBytes } from 'node:crypto';
import type { MessageSender } from '@transit-fusion/messaging';
import type { TransportSnapshot } from '@transit-fusion/model';
import {
  createLiveness,
  createLogger,
  createMetrics,
  createServiceApp,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import {
  createSnapshotStore,
  createStorageClients,
  ensureStorage,
  type SnapshotDescriptor,
  type SnapshotStore,
} from '@transit-fusion/storage';
import { inject } from 'vitest';

export async function storeWith(snapshots: readonly TransportSnapshot[]): Promise<SnapshotStore> {
  const clients = createStorageClients({ connectionString: inject('azuriteConnectionString') });
  const suffix = randomBytes(4).toString('hex');
  const store = createSnapshotStore({
    clients,
    container: `snap${suffix}`,
    table: `idx${suffix}`,
    // Long enough that fixed test times in the past are never swept.
    retentionMs: 3_650 * 86_400_000,
  });
  await ensureStorage(clients, [`snap${suffix}`], [`idx${suffix}`]);
  for (const snapshot of snapshots) await store.write(snapshot);
  return store;
}

export function testApp(): ServiceApp {
  return createServiceApp({
    service: 'broadcaster',
    logger: createLogger({ service: 'broadcaster', level: 'silent' }),
    registry: createMetrics({ service: 'broadcaster', defaultMetrics: false }).registry,
    liveness: createLiveness({ eventLoop: false }),
    readiness: async () => ({ ok: true, checks: {} }),
  });
}

/** Announces a stored snapshot on the snapshots topic the way the composer does. */
export async function announce(sender: MessageSender, d: SnapshotDescriptor): Promise<void> {
  const { id, ...rest } = d;
  await sender.send([{ body: { snapshotId: id, ...rest, changes: {}, sources: [] } }]);
}
