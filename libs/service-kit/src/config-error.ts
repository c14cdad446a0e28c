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

/**
 * Gathers the issues of several settings readers (a service's own schema, the storage and messaging libs), so
 * start-up fails once with a ConfigError naming every bad variable instead of the first reader's.
 */
export interface IssueCollector {
  /**
   * Runs `read` and returns its result; when it throws a ConfigError, or an error `other.is` recognises (another
   * lib's INVALID_CONFIG, attributed by {@link issuesFromMessage}), records the issues and returns undefined.
   */
  take<T>(read: () => T, other?: { is(error: unknown): boolean; variable: string }): T | undefined;
  add(issue: ConfigIssue): void;
  readonly issues: readonly ConfigIssue[];
  /** Throws the ConfigError of everything recorded (always throws). */
  fail(): never;
  /** Throws when anything was recorded. */
  check(): void;
}

export function collectIssues(): IssueCollector {
  const issues: ConfigIssue[] = [];
  const fail = (): never => {
    throw new ConfigError('INVALID_CONFIG', issues);
  };
  return {
    take(read, other) {
      try {
        return read();
      } catch (error) {
        if (isConfigError(error)) issues.push(...error.issues);
        else if (other?.is(error))
          issues.push(...issuesFromMessage((error as Error).message, other.variable));
        else throw error;
        return undefined;
      }
    },
    add: (issue) => void issues.push(issue),
    issues,
    fail,
    check() {
      if (issues.length > 0) fail();
    },
  };
}
