// service-kit's one error class: a service's settings are missing or invalid. Thrown by loadConfig before a
// service starts, so start-up fails with a message naming every bad variable and never a secret's value.

export type ConfigErrorCode =
  /** One or more variables are missing, malformed or contradictory; `issues` names each. */
  'INVALID_CONFIG';

export interface ConfigIssue {
  /** The environment variable at fault (or a path inside it, e.g. `TF_RECEIVER_VENDORS.acme.auth`). */
  readonly variable: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`, options);
    this.code = code;
    this.issues = issues;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}
