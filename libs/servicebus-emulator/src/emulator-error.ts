// The emulator's one error class. Codes are stable: the CLI maps them to messages and exit codes, tests branch on
// them. Errors the Service Bus client sees travel as AMQP error conditions instead (amqp:not-found, …).

export type EmulatorErrorCode =
  /** The entity configuration is not valid; the message names the bad field. */
  | 'INVALID_CONFIG'
  /** The configuration file could not be read or is not JSON. */
  | 'CONFIG_UNREADABLE'
  /** No queue, subscription or dead-letter queue has that path. */
  | 'ENTITY_NOT_FOUND'
  /** The broker could not listen on the host and port (port taken, bad address). */
  | 'LISTEN_FAILED'
  /** The emulator was stopped; it cannot be paused, resumed or inspected any more. */
  | 'STOPPED';

export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
  readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
  }
}

export function isEmulatorError(error: unknown): error is EmulatorError {
  return error instanceof EmulatorError;
}
