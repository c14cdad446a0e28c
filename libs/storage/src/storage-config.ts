// Storage settings, from the environment, parsed once and frozen. Either a connection string (Azurite, or an
// account key in a secret store) or account URLs with an Entra ID credential (managed / workload identity in
// Azure, `az login` on a laptop) through DefaultAzureCredential.

import { z } from 'zod';
import { StorageError } from './storage-error.js';

export interface StorageConfig {
  /** Set when authenticating with a connection string. */
  readonly connectionString?: string;
  /** Set, with tableUrl, when authenticating with Entra ID. */
  readonly blobUrl?: string;
  readonly tableUrl?: string;
  /** Container of composed snapshots. */
  readonly snapshotContainer: string;
  /** Container of each vendor's latest snapshot. */
  readonly vendorContainer: string;
  /** Table of the snapshot time index. */
  readonly snapshotIndexTable: string;
  /** Table of per-vehicle device state. */
  readonly deviceStateTable: string;
  /** Snapshots older than this are deleted by the retention sweep. */
  readonly retentionMs: number;
}

const containerName = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name (3–63 of a-z, 0-9, -)');
const tableName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name (3–63 letters and digits)');
const url = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

const schema = z
  .object({
    TF_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    TF_STORAGE_BLOB_URL: url.optional(),
    TF_STORAGE_TABLE_URL: url.optional(),
    TF_SNAPSHOT_CONTAINER: containerName.default('snapshots'),
    TF_VENDOR_CONTAINER: containerName.default('vendor-snapshots'),
    TF_SNAPSHOT_INDEX_TABLE: tableName.default('SnapshotIndex'),
    TF_DEVICE_STATE_TABLE: tableName.default('DeviceState'),
    TF_SNAPSHOT_RETENTION_HOURS: z.coerce
      .number()
      .positive()
      .default(24 * 7),
  })
  .superRefine((env, ctx) => {
    const byUrl = env.TF_STORAGE_BLOB_URL !== undefined || env.TF_STORAGE_TABLE_URL !== undefined;
    if (env.TF_STORAGE_CONNECTION_STRING && byUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['TF_STORAGE_CONNECTION_STRING'],
        message: 'set either a connection string or TF_STORAGE_BLOB_URL and TF_STORAGE_TABLE_URL, not both',
      });
    } else if (!env.TF_STORAGE_CONNECTION_STRING && !(env.TF_STORAGE_BLOB_URL && env.TF_STORAGE_TABLE_URL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TF_STORAGE_CONNECTION_STRING'],
        message: 'is required unless TF_STORAGE_BLOB_URL and TF_STORAGE_TABLE_URL are both set',
      });
    }
  });

/** Documented defaults, for READMEs and deployment manifests. */
export const STORAGE_ENV_DEFAULTS = Object.freeze({
  TF_SNAPSHOT_CONTAINER: 'snapshots',
  TF_VENDOR_CONTAINER: 'vendor-snapshots',
  TF_SNAPSHOT_INDEX_TABLE: 'SnapshotIndex',
  TF_DEVICE_STATE_TABLE: 'DeviceState',
  TF_SNAPSHOT_RETENTION_HOURS: '168',
});

/** Reads the storage settings from an env object (never process.env implicitly); throws naming the variable. */
export function storageConfigFromEnv(env: Readonly<Record<string, string | undefined>>): StorageConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new StorageError('INVALID_CONFIG', issues.join('; '));
  }
  const e = result.data;
  return Object.freeze({
    ...(e.TF_STORAGE_CONNECTION_STRING ? { connectionString: e.TF_STORAGE_CONNECTION_STRING } : {}),
    ...(e.TF_STORAGE_BLOB_URL ? { blobUrl: e.TF_STORAGE_BLOB_URL, tableUrl: e.TF_STORAGE_TABLE_URL } : {}),
    snapshotContainer: e.TF_SNAPSHOT_CONTAINER,
    vendorContainer: e.TF_VENDOR_CONTAINER,
    snapshotIndexTable: e.TF_SNAPSHOT_INDEX_TABLE,
    deviceStateTable: e.TF_DEVICE_STATE_TABLE,
    retentionMs: e.TF_SNAPSHOT_RETENTION_HOURS * 3_600_000,
  });
}
