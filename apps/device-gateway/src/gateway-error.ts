// The gateway's one error class: a code for programs and metrics, a message for people, the cause kept.

export type GatewayErrorCode =
  /** The device registry could not be read or is not a fleet registry document. */
  | 'REGISTRY_UNAVAILABLE'
  /** The broker did not accept records within the send timeout (the devices get no ack and resend). */
  | 'FORWARD_FAILED'
  /** The gateway is shutting down: nothing more is forwarded. */
  | 'CLOSED';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: GatewayErrorCode;

  constructor(code: GatewayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}
