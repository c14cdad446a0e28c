// The grpc-api lib's one error class: a message from the wire that does not map to the model.

export type GrpcApiErrorCode =
  /** A field is missing or out of its domain (an unknown enum name, a non-finite number). */
  'INVALID_MESSAGE';

export class GrpcApiError extends Error {
  override readonly name = 'GrpcApiError';
  readonly code: GrpcApiErrorCode;

  constructor(code: GrpcApiErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export function isGrpcApiError(error: unknown): error is GrpcApiError {
  return error instanceof GrpcApiError;
}
