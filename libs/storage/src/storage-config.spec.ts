import { describe, expect, it } from 'vitest';
import { storageConfigFromEnv } from './storage-config.js';
import { isStorageError } from './storage-error.js';

const cs =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/x;';

describe('storageConfigFromEnv', () => {
  it('takes a connection string and fills documented defaults, frozen', () => {
    const config = storageConfigFromEnv({ TF_STORAGE_CONNECTION_STRING: cs });
    expect(config).toEqual({
      connectionString: cs,
      snapshotContainer: 'snapshots',
      vendorContainer: 'vendor-snapshots',
      snapshotIndexTable: 'SnapshotIndex',
      deviceStateTable: 'DeviceState',
      retentionMs: 7 * 24 * 3_600_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes account URLs for Entra ID instead', () => {
    const config = storageConfigFromEnv({
      TF_STORAGE_BLOB_URL: 'https://acct.blob.core.windows.net',
      TF_STORAGE_TABLE_URL: 'https://acct.table.core.windows.net',
      TF_SNAPSHOT_RETENTION_HOURS: '48',
    });
    expect(config).toMatchObject({
      blobUrl: 'https://acct.blob.core.windows.net',
      retentionMs: 48 * 3_600_000,
    });
    expect(config.connectionString).toBeUndefined();
  });

  it.each([
    [{}, /TF_STORAGE_CONNECTION_STRING is required/],
    [{ TF_STORAGE_BLOB_URL: 'https://a.blob.core.windows.net' }, /is required unless/],
    [
      {
        TF_STORAGE_CONNECTION_STRING: cs,
        TF_STORAGE_BLOB_URL: 'https://a',
        TF_STORAGE_TABLE_URL: 'https://b',
      },
      /not both/,
    ],
    [
      { TF_STORAGE_CONNECTION_STRING: cs, TF_SNAPSHOT_CONTAINER: 'Bad_Name' },
      /TF_SNAPSHOT_CONTAINER must be/,
    ],
    [{ TF_STORAGE_CONNECTION_STRING: cs, TF_SNAPSHOT_RETENTION_HOURS: '-1' }, /TF_SNAPSHOT_RETENTION_HOURS/],
    [
      { TF_STORAGE_BLOB_URL: 'ftp://x', TF_STORAGE_TABLE_URL: 'https://b' },
      /TF_STORAGE_BLOB_URL must be an http/,
    ],
  ])('rejects %j naming the variable', (env, message) => {
    let error: unknown;
    try {
      storageConfigFromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(isStorageError(error) && error.code).toBe('INVALID_CONFIG');
    expect(String((error as Error).message)).toMatch(message);
  });

  it('never echoes the connection string in an error', () => {
    expect(() =>
      storageConfigFromEnv({ TF_STORAGE_CONNECTION_STRING: cs, TF_SNAPSHOT_CONTAINER: 'X' }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('AccountKey') }));
  });
});
