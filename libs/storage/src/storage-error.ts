// The storage lib's one error class. Codes are stable; callers branch on them (the CLI's exit codes, the HTTP
// API's statuses) and logs name the blob or row involved.

export type StorageErrorCode =
  /** No snapshot, vendor snapshot or device entity matches. */
  | 'NOT_FOUND'
  /** A blob exists but does not decode (garbage, truncated, unknown codec version); `blobName` says which. */
  | 'CORRUPT_BLOB'
  /** An index row points at a blob that does not exist; `blobName` says which. */
  | 'MISSING_BLOB'
  /** Optimistic-concurrency retries ran out: another writer kept winning. */
  | 'CONFLICT_RETRIES_EXHAUSTED'
  /** Settings are missing or contradictory. */
  | 'INVALID_CONFIG'
  /** An argument is out of range (a time, a page size, a continuation token). */
  | 'INVALID_ARGUMENT'
  /** The storage service failed or could not be reached. */
  | 'UNAVAILABLE';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  /** The blob involved, when there is one. */
  readonly blobName: string | undefined;

  constructor(code: StorageErrorCode, message: string, options: { cause?: unknown; blobName?: string } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
    this.blobName = options.blobName;
  }
}

export function isStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError;
}

/** HTTP status of an Azure SDK RestError, if it is one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}
