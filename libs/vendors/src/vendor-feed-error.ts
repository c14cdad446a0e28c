// The vendors lib's one error class: a feed (or the configuration that reads it) that cannot be read at all.
// Single bad entities never throw: they become `rejected` entries of the FeedResult, so one broken vehicle
// cannot cost the collector the other ten thousand.

export type VendorFeedErrorCode =
  /** The bytes or text are not a feed of the expected format: garbage, truncated, wrong root element. */
  | 'MALFORMED_FEED'
  /** A JSON field mapping (or feed format setting) does not validate; the message names the setting. */
  | 'INVALID_MAPPING'
  /** The vendor answered with an error of its own (a SIRI ErrorCondition), not data. */
  | 'VENDOR_ERROR'
  /** A caller's argument is out of range (a vendor id, a sequence number). */
  | 'INVALID_ARGUMENT'
  /** More records than one vendor snapshot may hold. */
  | 'TOO_LARGE';

export class VendorFeedError extends Error {
  override readonly name = 'VendorFeedError';
  readonly code: VendorFeedErrorCode;

  constructor(code: VendorFeedErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
  }
}

export function isVendorFeedError(error: unknown): error is VendorFeedError {
  return error instanceof VendorFeedError;
}
