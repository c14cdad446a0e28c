// The collector's one error class. A tick that fails ends with one of these codes: metrics count failures by
// code, health shows the last one with its message, and logs carry the cause.

export type CollectorErrorCode =
  /** The vendor could not be reached: DNS, refused connection, reset, TLS. */
  | 'FETCH_FAILED'
  /** The vendor answered with a status other than 200 or 304. */
  | 'HTTP_STATUS'
  /** The body exceeded the vendor's maxBodyBytes (the download was cut off there). */
  | 'TOO_LARGE'
  /** The tick's time budget ran out (fetch, decode or save). */
  | 'BUDGET_EXCEEDED'
  /** The body is not a feed of the configured format (from the vendors lib). */
  | 'MALFORMED_FEED'
  /** The vendor answered with an error of its own instead of data (a SIRI ErrorCondition). */
  | 'VENDOR_ERROR'
  /** The vendor snapshot could not be read or saved. */
  | 'STORAGE_FAILED'
  /** Service Bus could not be drained. */
  | 'BROKER_FAILED'
  /** The push collector has not yet loaded the state it continues from (it retries every tick). */
  | 'NOT_READY';

export class CollectorError extends Error {
  override readonly name = 'CollectorError';
  readonly code: CollectorErrorCode;

  constructor(code: CollectorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
  }
}

export function isCollectorError(error: unknown): error is CollectorError {
  return error instanceof CollectorError;
}
