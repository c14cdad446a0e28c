// The pipeline's one error class. Composition itself never throws for bad vendor data (that is counted in the
// report); these codes are for misconfiguration and for a processor that failed outright.

export type PipelineErrorCode =
  /** The engine options or the step list are inconsistent (duplicate vendor or step names, unknown priority). */
  | 'INVALID_CONFIG'
  /** The fleet registry is inconsistent (one vendor key mapped to two vehicles) or malformed. */
  | 'INVALID_REGISTRY'
  /** A processor threw; the tick's snapshot is not produced. */
  | 'PROCESSOR_FAILED';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

export function isPipelineError(error: unknown): error is PipelineError {
  return error instanceof PipelineError;
}
