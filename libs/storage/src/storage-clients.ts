// The Azure SDK clients every repository here is built on, from either a connection string or account URLs
// with an Entra ID credential. Nothing else in the lib decides how to authenticate.

import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { StorageConfig } from './storage-config.js';
import { StorageError } from './storage-error.js';

export type StorageConnection =
  | { readonly connectionString: string }
  | { readonly blobUrl: string; readonly tableUrl: string; readonly credential?: TokenCredential };

export interface StorageClients {
  container(name: string): ContainerClient;
  table(name: string): TableClient;
}

export function createStorageClients(connection: StorageConnection): StorageClients {
  if ('connectionString' in connection) {
    const { connectionString } = connection;
    // http endpoints (Azurite) need the SDK's explicit opt-in; real accounts are https only.
    const insecure = /TableEndpoint=http:\/\//i.test(connectionString);
    const blobs = BlobServiceClient.fromConnectionString(connectionString);
    return {
      container: (name) => blobs.getContainerClient(name),
      table: (name) =>
        TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: insecure }),
    };
  }
  if (!connection.blobUrl || !connection.tableUrl) {
    throw new StorageError(
      'INVALID_CONFIG',
      'both blobUrl and tableUrl are needed without a connection string',
    );
  }
  const credential = connection.credential ?? new DefaultAzureCredential();
  const blobs = new BlobServiceClient(connection.blobUrl, credential);
  return {
    container: (name) => blobs.getContainerClient(name),
    table: (name) => new TableClient(connection.tableUrl, name, credential),
  };
}

/** Creates the container and tables if missing (idempotent; needs rights to create them). */
export async function ensureStorage(
  clients: StorageClients,
  containers: readonly string[],
  tables: readonly string[],
): Promise<void> {
  try {
    await Promise.all([
      ...containers.map((c) => clients.container(c).createIfNotExists()),
      ...tables.map((t) => clients.table(t).createTable()),
    ]);
  } catch (error) {
    throw new StorageError('UNAVAILABLE', `could not create containers/tables: ${String(error)}`, {
      cause: error,
    });
  }
}

/** The clients for validated settings: the connection string when set, else the Entra ID account URLs. */
export function storageClientsFor(config: StorageConfig): StorageClients {
  return createStorageClients(
    config.connectionString !== undefined
      ? { connectionString: config.connectionString }
      : { blobUrl: config.blobUrl!, tableUrl: config.tableUrl! },
  );
}
