// Per-test isolation on the shared Azurite: unique container and table names, and clients for them.

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createStorageClients, ensureStorage, type StorageClients } from '../src/index.js';

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
  table: string;
}

/** Fresh clients with a new container and table created. */
export async function freshStorage(prefix = 't'): Promise<TestStorage> {
  const clients = createStorageClients({ connectionString: azuriteConnectionString() });
  const container = uniqueName(prefix);
  const table = uniqueName(prefix);
  await ensureStorage(clients, [container], [table]);
  return { clients, container, table };
}
