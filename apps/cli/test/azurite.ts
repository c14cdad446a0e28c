// Per-test isolation on the shared Azurite: a unique container and tables, the clients for them, and the
// environment that points the CLI at exactly those.

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import {
  createSnapshotStore,
  createStorageClients,
  ensureStorage,
  type SnapshotStore,
  type StorageClients,
} from '@transit-fusion/storage';

export function azuriteConnectionString(): string {
  return inject('azuriteConnectionString');
}

/** A name valid as a container (lowercase) and as a table (letters and digits, starting with a letter). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`.toLowerCase();
}

export interface TestStorage {
  clients: StorageClients;
  container: string;
  indexTable: string;
  deviceTable: string;
  /** A store on the container and index table, for writing fixtures. */
  store: SnapshotStore;
  /** The CLI's environment for this storage. */
  env: Record<string, string>;
}

export async function freshStorage(prefix = 'cli'): Promise<TestStorage> {
  const connectionString = azuriteConnectionString();
  const clients = createStorageClients({ connectionString });
  const container = uniqueName(prefix);
  const indexTable = uniqueName(`${prefix}idx`);
  const deviceTable = uniqueName(`${prefix}dev`);
  await ensureStorage(clients, [container], [indexTable, deviceTable]);
  const store = createSnapshotStore({
    clients,
    container,
    table: indexTable,
    retentionMs: 7 * 24 * 3_600_000,
  });
  return {
    clients,
    container,
    indexTable,
    deviceTable,
    store,
    env: {
      TF_STORAGE_CONNECTION_STRING: connectionString,
      TF_SNAPSHOT_CONTAINER: container,
      TF_SNAPSHOT_INDEX_TABLE: indexTable,
      TF_DEVICE_STATE_TABLE: deviceTable,
    },
  };
}
