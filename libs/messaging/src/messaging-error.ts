// The messaging lib's one error class, and the one place where Service Bus SDK errors are translated into it.
// Codes are stable; callers branch on them (the receiver answers 413 for MESSAGE_TOO_LARGE, 503 for
// UNAVAILABLE). Messages never contain a connection string.

import { isServiceBusError } from '@azure/service-bus';

export type MessagingErrorCode =
  /** Settings are missing, malformed or contradictory; the message names the variable. */
  | 'INVALID_CONFIG'
  /** An argument is out of range or malformed (a topology, a batch size, a message body). */
  | 'INVALID_ARGUMENT'
  /** One message alone is larger than a batch may be; nothing of that send was sent. */
  | 'MESSAGE_TOO_LARGE'
  /**
   * Service Bus failed or could not be reached (after the SDK's own retries), or refused the operation
   * (missing entity, missing rights). For a send: not every message is known to be accepted
   * (`acceptedCount` says how many were).
   */
  | 'UNAVAILABLE'
  /** The caller's abort signal fired; a send may or may not have been accepted. */
  | 'ABORTED'
  /** A drain or the subscriber loop is already running on this drainer. */
  | 'BUSY';

export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  readonly code: MessagingErrorCode;
  /** For a failed send: how many of its messages Service Bus had accepted before the failure. */
  readonly acceptedCount: number | undefined;

  constructor(
    code: MessagingErrorCode,
    message: string,
    options: { cause?: unknown; acceptedCount?: number } = {},
  ) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
    this.acceptedCount = options.acceptedCount;
  }
}

export function isMessagingError(error: unknown): error is MessagingError {
  return error instanceof MessagingError;
}

/**
 * Translates whatever the SDK threw into a MessagingError. `what` names the operation for the message
 * ("send to topic vendor-a"); the SDK's own text is kept as the cause, not repeated.
 */
export function toMessagingError(
  error: unknown,
  what: string,
  options: { acceptedCount?: number } = {},
): MessagingError {
  if (isMessagingError(error)) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError') {
    return new MessagingError('ABORTED', `${what} was aborted`, { cause: error, ...options });
  }
  if (isServiceBusError(error)) {
    if (error.code === 'MessageSizeExceeded') {
      return new MessagingError('MESSAGE_TOO_LARGE', `${what}: a message exceeds the size limit`, {
        cause: error,
        ...options,
      });
    }
    return new MessagingError('UNAVAILABLE', `${what} failed (Service Bus: ${error.code})`, {
      cause: error,
      ...options,
    });
  }
  // The SDK validates message shapes with TypeErrors (e.g. an application property of an unsupported type).
  if (error instanceof TypeError) {
    return new MessagingError('INVALID_ARGUMENT', `${what}: ${error.message}`, { cause: error, ...options });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return new MessagingError('UNAVAILABLE', `${what} failed${detail}`, { cause: error, ...options });
}
