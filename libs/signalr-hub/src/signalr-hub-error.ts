// The signalr-hub lib's one error class. Codes are stable: the broadcaster branches on them (a refused or
// unreachable Azure SignalR Service is retried or reported; a message too large is a bug in the caller).
// Messages never contain an access key or a token.

export type SignalRHubErrorCode =
  /** The Azure SignalR connection string is malformed or misses a required key; the message names it. */
  | 'INVALID_CONNECTION_STRING'
  /** Azure SignalR Service answered a REST call with an error status; `status` holds it. */
  | 'SERVICE_REJECTED'
  /** Azure SignalR Service could not be reached (network error, timeout) or the credential failed. */
  | 'SERVICE_UNREACHABLE'
  /** A REST body is larger than the service accepts (1 MB); nothing was sent. */
  | 'MESSAGE_TOO_LARGE'
  /** An option or argument is out of range or malformed (a hub path, a target name, unencodable arguments). */
  | 'INVALID_ARGUMENT';

export class SignalRHubError extends Error {
  override readonly name = 'SignalRHubError';
  readonly code: SignalRHubErrorCode;
  /** For SERVICE_REJECTED: the HTTP status the service answered. */
  readonly status: number | undefined;

  constructor(
    code: SignalRHubErrorCode,
    message: string,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

export function isSignalRHubError(error: unknown): error is SignalRHubError {
  return error instanceof SignalRHubError;
}
