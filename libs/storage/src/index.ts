/**
 * Storage on Azure Blob and Table storage (or Azurite): vendor snapshots, the time-indexed snapshot store and
 * per-vehicle device state.
 *
 * @example
 * ```ts
 * import { createStorageClients, storageConfigFromEnv } from '@transit-fusion/storage';
 * const config = storageConfigFromEnv(process.env); // throws StorageError INVALID_CONFIG naming the variable
 * const clients = createStorageClients(config.connectionString ? config : { blobUrl: config.blobUrl!, tableUrl: config.tableUrl! });
 * ```
 */
export { StorageError, isStorageError, type StorageErrorCode } from './storage-error.js';
export { storageConfigFromEnv, STORAGE_ENV_DEFAULTS, type StorageConfig } from './storage-config.js';
export {
  createStorageClients,
  storageClientsFor,
  ensureStorage,
  type StorageClients,
  type StorageConnection,
} from './storage-clients.js';
export {
  createSnapshotStore,
  snapshotStoreFor,
  snapshotId,
  parseSnapshotId,
  blobNameOf,
  type SnapshotStore,
  type SnapshotStoreOptions,
  type SnapshotDescriptor,
  type SnapshotPage,
  type SkippedSnapshot,
  type SweepReport,
} from './snapshot-store.js';
export { silentLogger, type StorageLogger } from './storage-logger.js';
export {
  createVendorSnapshotRepository,
  vendorSnapshotBlobName,
  VENDOR_SNAPSHOT_CONTENT_TYPE,
  type VendorSnapshotRepository,
  type VendorSnapshotRepositoryOptions,
  type VendorRead,
  type VendorReadResult,
} from './vendor-snapshot-repository.js';
export {
  createDeviceStateTable,
  backoffDelay,
  deviceStateBucket,
  deviceStatePartition,
  deviceStateRowKey,
  DEVICE_STATE_BUCKETS,
  type DeviceStateTable,
  type DeviceStateTableOptions,
  type DeviceStateRetryOptions,
  type DeviceState,
  type DeviceObservation,
  type RecordOutcome,
} from './device-state-table.js';
export {
  createLeaderLease,
  type LeaderLease,
  type LeaderLeaseOptions,
  type LeaseClaim,
  type LeaseState,
} from './leader-lease.js';
