// The composer's one error class: why a tick could not be stored or announced. Metrics count failed ticks by
// code; the log line carries the cause.

export type ComposerErrorCode =
  /** The fleet registry could not be loaded or does not validate. */
  | 'REGISTRY_UNAVAILABLE'
  /** The leader lease could not be checked or claimed. */
  | 'LEASE_FAILED'
  /** The snapshot could not be stored within the tick's budget (after retries). */
  | 'STORE_FAILED'
  /** The snapshot was stored but its announcement was not accepted. */
  | 'ANNOUNCE_FAILED'
  /** The tick's budget ran out. */
  | 'BUDGET_EXCEEDED';

export class ComposerError extends Error {
  override readonly name = 'ComposerError';
  readonly code: ComposerErrorCode;

  constructor(code: ComposerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
  }
}

export function isComposerError(error: unknown): error is ComposerError {
  return error instanceof ComposerError;
}
