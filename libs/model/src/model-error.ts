// The model's one error class: untrusted input that does not fit the model.

export type ModelErrorCode = 'INVALID_INPUT';

export interface ValidationIssue {
  /** Dotted path to the offending value, e.g. `records[3].position.lat`; empty for the root. */
  path: string;
  message: string;
}

export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly issues: readonly ValidationIssue[];

  constructor(code: ModelErrorCode, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    super(formatIssues(issues), options);
    this.code = code;
    this.issues = issues;
  }
}

export function isModelError(error: unknown): error is ModelError {
  return error instanceof ModelError;
}

const MAX_ISSUES_IN_MESSAGE = 5;

function formatIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more =
    issues.length > MAX_ISSUES_IN_MESSAGE ? ` (and ${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : '';
  return `invalid input: ${shown.join('; ')}${more}`;
}
