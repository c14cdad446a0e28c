// Each test gets its own vendor container on the run's Azurite, so tests never see each other's snapshots.

import { createStorageClients, createVendorSnapshotRepository, ensureStorage } from '@transit-fusion/storage';
import { inject } from 'vitest';

let counter = 0;

export async function freshRepository() {
  const connectionString = inject('azuriteConnectionString');
  const clients = createStorageClients({ connectionString });
  const container = `vendors-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await ensureStorage(clients, [container], []);
  return {
    connectionString,
    clients,
    container,
    repository: createVendorSnapshotRepository({ clients, container }),
  };
}
