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

/**
 * Issues from another lib's INVALID_CONFIG message (`INVALID_CONFIG: TF_X must be…; TF_Y is required…`, as the
 * storage and messaging libs write them), one per variable, so a service reports its own settings and its
 * libs' settings in one ConfigError. A part that names no variable is attributed to `fallback` (`TF_STORAGE_*`).
 */
export function issuesFromMessage(message: string, fallback: string): ConfigIssue[] {
  return message
    .replace(/^INVALID_CONFIG: /, '')
    .split('; ')
    .map((part) => {
      const space = part.indexOf(' ');
      return space > 0 && part.startsWith('TF_')
        ? { variable: part.slice(0, space), message: part.slice(space + 1) }
        : { variable: fallback, message: part };
    });
}
