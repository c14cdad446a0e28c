// Each vendor's latest snapshot as one blob, `vendors/<vendorId>/latest.msgpack`: its collector overwrites it
// every tick and the composer reads all of them every tick. Reads are conditional on the ETag the composer saw
// last, so a vendor that has not changed costs a 304 without a body instead of a download and a decode.

import type { ContainerClient } from '@azure/storage-blob';
import { decodeVendorSnapshot, encodeVendorSnapshot, isCodecError } from '@transit-fusion/codec';
import type { VendorSnapshot } from '@transit-fusion/model';
import type { StorageClients } from './storage-clients.js';
import { readBody } from './blob-body.js';
import { isStorageError, StorageError, statusOf } from './storage-error.js';
import { silentLogger, type StorageLogger } from './storage-logger.js';

export type { StorageLogger } from './storage-logger.js';

export const VENDOR_SNAPSHOT_CONTENT_TYPE = 'application/vnd.transit-fusion.vendor-snapshot';

/** Vendor ids become one segment of a blob name, so only characters that need no escaping there. */
const VENDOR_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** `.` and `..` match the pattern but are path segments URLs collapse: `vendors/../latest.msgpack`. */
const DOTS_ONLY = /^\.+$/;

export type VendorRead =
  | {
      readonly status: 'changed';
      readonly snapshot: VendorSnapshot;
      readonly etag: string;
      readonly bytes: number;
      /**
       * The blob's bytes as read. A caller that must keep a vendor's snapshot across ticks (to reuse it when the
       * next read is 'unchanged') can keep these — off the JavaScript heap — and decode again, instead of holding
       * ten thousand decoded records the garbage collector has to copy and promote.
       */
      readonly body: Uint8Array;
    }
  /** The blob still has the ETag given as `ifNoneMatch`: nothing was downloaded. */
  | { readonly status: 'unchanged'; readonly etag: string }
  /** The vendor has no snapshot yet. */
  | { readonly status: 'missing' };

export type VendorReadResult = VendorRead | { readonly status: 'failed'; readonly error: StorageError };

export interface VendorSnapshotRepository {
  /**
   * Encodes and overwrites the vendor's latest snapshot. Throws INVALID_ARGUMENT or UNAVAILABLE (also when
   * `abortSignal` fires first: the upload is one PUT, so the blob then holds either the old or the new snapshot).
   */
  save(
    snapshot: VendorSnapshot,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ etag: string; bytes: number }>;
  /**
   * The vendor's latest snapshot, or 'unchanged' when its ETag is still `ifNoneMatch`. Throws INVALID_ARGUMENT
   * (bad vendor id), CORRUPT_BLOB (naming the blob) or UNAVAILABLE.
   */
  readLatest(vendorId: string, ifNoneMatch?: string): Promise<VendorRead>;
  /**
   * {@link readLatest} for every vendor in parallel, each conditional on its ETag in `previous`. A vendor that
   * cannot be read is 'failed' in the result; the others are unaffected.
   */
  readAll(
    vendorIds: readonly string[],
    previous?: ReadonlyMap<string, string>,
  ): Promise<Map<string, VendorReadResult>>;
}

export interface VendorSnapshotRepositoryOptions {
  clients: StorageClients;
  container: string;
  logger?: StorageLogger;
}

/** The blob holding a vendor's latest snapshot; throws INVALID_ARGUMENT for an id unsafe in a blob name. */
export function vendorSnapshotBlobName(vendorId: string): string {
  if (typeof vendorId !== 'string' || !VENDOR_ID.test(vendorId) || DOTS_ONLY.test(vendorId)) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `vendor id ${JSON.stringify(vendorId)} must be 1–64 of A-Z, a-z, 0-9, '.', '_', '-' and not only dots`,
    );
  }
  return `vendors/${vendorId}/latest.msgpack`;
}

export function createVendorSnapshotRepository(
  options: VendorSnapshotRepositoryOptions,
): VendorSnapshotRepository {
  const container: ContainerClient = options.clients.container(options.container);
  const logger = options.logger ?? silentLogger;

  async function save(
    snapshot: VendorSnapshot,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<{ etag: string; bytes: number }> {
    const blobName = vendorSnapshotBlobName(snapshot.vendorId);
    let body: Uint8Array;
    try {
      body = encodeVendorSnapshot(snapshot);
    } catch (error) {
      if (!isCodecError(error)) throw error;
      throw new StorageError('INVALID_ARGUMENT', `vendor snapshot cannot be encoded: ${error.message}`, {
        cause: error,
        blobName,
      });
    }
    try {
      const response = await container.getBlockBlobClient(blobName).upload(body, body.byteLength, {
        blobHTTPHeaders: { blobContentType: VENDOR_SNAPSHOT_CONTENT_TYPE },
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      return { etag: response.etag ?? '', bytes: body.byteLength };
    } catch (error) {
      throw unavailable(`could not save ${blobName}`, error, blobName);
    }
  }

  async function readLatest(vendorId: string, ifNoneMatch?: string): Promise<VendorRead> {
    const blobName = vendorSnapshotBlobName(vendorId);
    let body: Uint8Array;
    let etag: string;
    try {
      const response = await container
        .getBlobClient(blobName)
        .download(0, undefined, ifNoneMatch ? { conditions: { ifNoneMatch } } : {});
      // The service always sends an ETag; '' only makes the next read unconditional.
      etag = response.etag ?? '';
      body = await readBody(response.readableStreamBody);
    } catch (error) {
      const status = statusOf(error);
      // The SDK reports "Not Modified" as a RestError; Azurite's carries no ETag header, so echo the caller's.
      if (status === 304 && ifNoneMatch) return { status: 'unchanged', etag: ifNoneMatch };
      if (status === 404 && errorCode(error) !== 'ContainerNotFound') return { status: 'missing' };
      throw unavailable(`could not read ${blobName}`, error, blobName);
    }

    let snapshot: VendorSnapshot;
    try {
      snapshot = decodeVendorSnapshot(body);
    } catch (error) {
      if (!isCodecError(error)) throw error;
      throw corrupt(blobName, etag, body.byteLength, error.message, error);
    }
    // A blob under another vendor's name would feed the composer the wrong vendor's vehicles.
    if (snapshot.vendorId !== vendorId) {
      throw corrupt(blobName, etag, body.byteLength, `holds vendor "${snapshot.vendorId}"`);
    }
    return { status: 'changed', snapshot, etag, bytes: body.byteLength, body };
  }

  async function readAll(
    vendorIds: readonly string[],
    previous?: ReadonlyMap<string, string>,
  ): Promise<Map<string, VendorReadResult>> {
    const unique = [...new Set(vendorIds)];
    const results = await Promise.all(
      unique.map(async (vendorId): Promise<VendorReadResult> => {
        try {
          return await readLatest(vendorId, previous?.get(vendorId));
        } catch (error) {
          const storageError = isStorageError(error)
            ? error
            : unavailable(`could not read vendor ${vendorId}`, error, undefined);
          // Corrupt blobs were logged by readLatest; the composer goes on without this vendor either way.
          if (storageError.code !== 'CORRUPT_BLOB') {
            logger.warn({ vendorId, code: storageError.code, err: storageError }, 'vendor snapshot not read');
          }
          return { status: 'failed', error: storageError };
        }
      }),
    );
    return new Map(unique.map((vendorId, i) => [vendorId, results[i]!]));
  }

  function corrupt(blobName: string, etag: string, bytes: number, detail: string, cause?: unknown) {
    logger.warn({ blobName, etag, bytes, detail }, 'vendor snapshot blob does not decode');
    return new StorageError('CORRUPT_BLOB', `${blobName} does not decode: ${detail}`, { cause, blobName });
  }

  return { save, readLatest, readAll };
}

function unavailable(message: string, cause: unknown, blobName: string | undefined): StorageError {
  const detail =
    errorCode(cause) ?? statusOf(cause) ?? (cause instanceof Error ? cause.message : String(cause));
  return new StorageError('UNAVAILABLE', `${message}: ${detail}`, {
    cause,
    ...(blobName ? { blobName } : {}),
  });
}

/** The service's error code (`BlobNotFound`, `ContainerNotFound`...) of an SDK RestError. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
