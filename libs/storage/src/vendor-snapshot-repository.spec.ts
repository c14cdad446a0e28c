import { TableClient } from '@azure/data-tables';
import {
  BlobServiceClient,
  Pipeline,
  StorageSharedKeyCredential,
  type RequestPolicyFactory,
} from '@azure/storage-blob';
import { decodeVendorSnapshot, encodeVendorSnapshot } from '@transit-fusion/codec';
import type { VendorSnapshot } from '@transit-fusion/model';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { azuriteConnectionString, freshStorage, type TestStorage } from '../test/azurite.js';
import type { StorageClients } from './storage-clients.js';
import { isStorageError, type StorageError } from './storage-error.js';
import type { StorageLogger } from './storage-logger.js';
import {
  createVendorSnapshotRepository,
  VENDOR_SNAPSHOT_CONTENT_TYPE,
  vendorSnapshotBlobName,
} from './vendor-snapshot-repository.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47);

function snapshot(vendorId: string, sequence: number): VendorSnapshot {
  return {
    vendorId,
    sequence,
    collectedAt: T0 + sequence * 1000,
    records: [
      {
        vendorId,
        vehicleKey: 'gtfs-1042',
        observedAt: T0,
        position: { lat: 59.437, lon: 24.7536 },
        speed: 11.5,
      },
      { vendorId, vehicleKey: 'gtfs-7', observedAt: T0 - 500, transportType: 'tram', status: 'on_duty' },
    ],
  };
}

function recordingLogger() {
  return { warn: vi.fn<StorageLogger['warn']>(), error: vi.fn<StorageLogger['error']>() };
}

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(isStorageError(error)).toBe(true);
    return error as StorageError;
  }
  throw new Error('expected a StorageError');
}

function connectionPart(name: string): string {
  const match = new RegExp(`${name}=([^;]+)`).exec(azuriteConnectionString());
  if (!match) throw new Error(`no ${name} in the Azurite connection string`);
  return match[1]!;
}

interface WireResponse {
  status: number;
  headers: { get(name: string): string | undefined };
  bodyAsText?: string | null;
}

/** Clients whose blob requests are all recorded as they went over the wire. */
function recordingClients(): {
  clients: StorageClients;
  wire: { method: string; status: number; body: number }[];
} {
  const wire: { method: string; status: number; body: number }[] = [];
  const record = (method: string, response: WireResponse) =>
    wire.push({
      method,
      status: response.status,
      body: Math.max(Number(response.headers.get('content-length') ?? 0), response.bodyAsText?.length ?? 0),
    });
  const recorder: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: async (request) => {
        try {
          const response = await next.sendRequest(request);
          record(request.method, response);
          return response;
        } catch (error) {
          // Statuses the SDK treats as failures (a 304 among them) arrive here as a RestError with the response.
          const response = (error as { response?: WireResponse }).response;
          if (response) record(request.method, response);
          throw error;
        }
      },
    }),
  };
  const credential = new StorageSharedKeyCredential(
    connectionPart('AccountName'),
    connectionPart('AccountKey'),
  );
  const blobs = new BlobServiceClient(connectionPart('BlobEndpoint'), new Pipeline([recorder, credential]));
  const clients: StorageClients = {
    container: (name) => blobs.getContainerClient(name),
    table: (name) => TableClient.fromConnectionString(azuriteConnectionString(), name),
  };
  return { clients, wire };
}

describe('vendor snapshot repository', () => {
  let storage: TestStorage;
  beforeEach(async () => {
    storage = await freshStorage('vendors');
  });

  it('saves a snapshot and reads it back with its etag and size', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    const saved = await repo.save(snapshot('vendor-a', 1));
    expect(saved.etag).toMatch(/^".+"$/);
    expect(saved.bytes).toBeGreaterThan(0);

    const read = await repo.readLatest('vendor-a');
    expect(read).toEqual({
      status: 'changed',
      snapshot: snapshot('vendor-a', 1),
      ...saved,
      body: expect.any(Uint8Array),
    });
    // The bytes as stored: decoding them again gives the same snapshot (the composer keeps these between ticks).
    if (read.status !== 'changed') throw new Error('not changed');
    expect(read.body.byteLength).toBe(saved.bytes);
    expect(decodeVendorSnapshot(read.body)).toEqual(snapshot('vendor-a', 1));

    const properties = await storage.clients
      .container(storage.container)
      .getBlobClient('vendors/vendor-a/latest.msgpack')
      .getProperties();
    expect(properties.contentType).toBe(VENDOR_SNAPSHOT_CONTENT_TYPE);
    expect(properties.contentLength).toBe(saved.bytes);
  });

  it('answers unchanged for the etag it last returned, from a 304 without a body', async () => {
    const { clients, wire } = recordingClients();
    const repo = createVendorSnapshotRepository({ clients, container: storage.container });
    const saved = await repo.save(snapshot('vendor-a', 1));

    const first = await repo.readLatest('vendor-a');
    expect(first.status).toBe('changed');
    expect(wire.at(-1)).toEqual({ method: 'GET', status: 200, body: saved.bytes });
    wire.length = 0;

    const again = await repo.readLatest('vendor-a', saved.etag);
    expect(again).toEqual({ status: 'unchanged', etag: saved.etag });
    expect(wire).toEqual([{ method: 'GET', status: 304, body: 0 }]);
  });

  it('sees a new save as changed, with a new etag', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    const first = await repo.save(snapshot('vendor-a', 1));
    const second = await repo.save(snapshot('vendor-a', 2));
    expect(second.etag).not.toBe(first.etag);

    const read = await repo.readLatest('vendor-a', first.etag);
    expect(read).toMatchObject({ status: 'changed', etag: second.etag });
    expect(read.status === 'changed' && read.snapshot.sequence).toBe(2);
    expect(await repo.readLatest('vendor-a', second.etag)).toEqual({
      status: 'unchanged',
      etag: second.etag,
    });
  });

  it('reports a vendor without a snapshot as missing, with or without an etag', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    expect(await repo.readLatest('vendor-z')).toEqual({ status: 'missing' });
    expect(await repo.readLatest('vendor-z', '"0x1"')).toEqual({ status: 'missing' });
  });

  it('throws CORRUPT_BLOB naming a blob that does not decode, and logs it', async () => {
    const logger = recordingLogger();
    const repo = createVendorSnapshotRepository({
      clients: storage.clients,
      container: storage.container,
      logger,
    });
    const garbage = new TextEncoder().encode('definitely not msgpack');
    await storage.clients
      .container(storage.container)
      .getBlockBlobClient('vendors/vendor-bad/latest.msgpack')
      .upload(garbage, garbage.byteLength);

    const error = await rejection(repo.readLatest('vendor-bad'));
    expect(error.code).toBe('CORRUPT_BLOB');
    expect(error.blobName).toBe('vendors/vendor-bad/latest.msgpack');
    expect(error.message).toContain('vendors/vendor-bad/latest.msgpack');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ blobName: 'vendors/vendor-bad/latest.msgpack' }),
      expect.any(String),
    );
  });

  it('treats a blob holding another vendor as corrupt', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    const body = encodeVendorSnapshot(snapshot('vendor-b', 1));
    await storage.clients
      .container(storage.container)
      .getBlockBlobClient('vendors/vendor-a/latest.msgpack')
      .upload(body, body.byteLength);

    const error = await rejection(repo.readLatest('vendor-a'));
    expect(error).toMatchObject({ code: 'CORRUPT_BLOB', blobName: 'vendors/vendor-a/latest.msgpack' });
  });

  it('reads every vendor in parallel; one failing does not fail the others', async () => {
    const logger = recordingLogger();
    const repo = createVendorSnapshotRepository({
      clients: storage.clients,
      container: storage.container,
      logger,
    });
    const a = await repo.save(snapshot('vendor-a', 1));
    await repo.save(snapshot('vendor-b', 4));
    const garbage = new Uint8Array([0x54, 0x46, 0xff, 0xff]);
    await storage.clients
      .container(storage.container)
      .getBlockBlobClient(vendorSnapshotBlobName('vendor-bad'))
      .upload(garbage, garbage.byteLength);

    const results = await repo.readAll(
      ['vendor-a', 'vendor-b', 'vendor-bad', 'vendor-none', 'not/valid'],
      new Map([['vendor-a', a.etag]]),
    );
    expect([...results.keys()]).toEqual(['vendor-a', 'vendor-b', 'vendor-bad', 'vendor-none', 'not/valid']);
    expect(results.get('vendor-a')).toEqual({ status: 'unchanged', etag: a.etag });
    expect(results.get('vendor-b')).toMatchObject({ status: 'changed', snapshot: { sequence: 4 } });
    expect(results.get('vendor-none')).toEqual({ status: 'missing' });
    const bad = results.get('vendor-bad');
    expect(bad?.status === 'failed' && bad.error).toMatchObject({
      code: 'CORRUPT_BLOB',
      blobName: 'vendors/vendor-bad/latest.msgpack',
    });
    const invalid = results.get('not/valid');
    expect(invalid?.status === 'failed' && invalid.error.code).toBe('INVALID_ARGUMENT');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ blobName: 'vendors/vendor-bad/latest.msgpack' }),
      expect.any(String),
    );
  });

  it('reports an unreachable service or a missing container as UNAVAILABLE, per vendor', async () => {
    const down: StorageClients = {
      container: (name) =>
        BlobServiceClient.fromConnectionString(
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;' +
            'BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
          { retryOptions: { maxTries: 1 } },
        ).getContainerClient(name),
      table: () => {
        throw new Error('unused');
      },
    };
    const unreachable = createVendorSnapshotRepository({ clients: down, container: storage.container });
    const results = await unreachable.readAll(['vendor-a', 'vendor-b']);
    for (const result of results.values()) {
      expect(result.status === 'failed' && result.error.code).toBe('UNAVAILABLE');
    }
    expect((await rejection(unreachable.save(snapshot('vendor-a', 1)))).code).toBe('UNAVAILABLE');

    const noContainer = createVendorSnapshotRepository({
      clients: storage.clients,
      container: 'no-such-container',
    });
    const error = await rejection(noContainer.readLatest('vendor-a'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('ContainerNotFound');
  });

  it('rejects vendor ids that are not safe in a blob name', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    for (const id of ['', 'a/b', '..', '.', 'x'.repeat(65), 'väli', 'a b', 'a?b']) {
      expect((await rejection(repo.readLatest(id))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(repo.save({ ...snapshot('x', 1), vendorId: id, records: [] }))).code).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(vendorSnapshotBlobName('Vendor_A.v2-x')).toBe('vendors/Vendor_A.v2-x/latest.msgpack');
    expect(vendorSnapshotBlobName('x'.repeat(64))).toMatch(/^vendors\/x{64}\/latest\.msgpack$/);
  });

  it('rejects a snapshot the codec cannot encode, before writing anything', async () => {
    const repo = createVendorSnapshotRepository({ clients: storage.clients, container: storage.container });
    const bad = { ...snapshot('vendor-a', 1), collectedAt: 1.5 };
    expect((await rejection(repo.save(bad))).code).toBe('INVALID_ARGUMENT');
    expect(await repo.readLatest('vendor-a')).toEqual({ status: 'missing' });
  });
});
