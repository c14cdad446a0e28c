// Parses a service's settings from an env object with its zod schema, once, at start-up. The result is deeply
// frozen (settings never change while running); a failure lists every bad variable at once, so an operator fixes
// a deployment in one go rather than one restart per variable.
//
// Secrets: zod's own messages never include input values, but a schema's custom messages or transforms might.
// Every message is therefore scrubbed of the values of variables that look secret (by name, or listed in
// `options.secrets`), and the zod error is not kept as the cause (its issues may carry inputs).

import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Variables whose values are never echoed in errors. */
export const SECRET_VARIABLE_PATTERN = /KEY|SECRET|PASSWORD|CONNECTION_STRING|TOKEN/i;

export interface LoadConfigOptions {
  /** More variables to treat as secret, beyond those matching {@link SECRET_VARIABLE_PATTERN}. */
  readonly secrets?: readonly string[];
}

/**
 * Parses `env` with `schema` (a zod object keyed by variable name) and returns the result, frozen deeply
 * (objects and arrays; class instances' private state and typed arrays are left as they are).
 * Throws {@link ConfigError} `INVALID_CONFIG` naming every bad variable.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Env,
  options: LoadConfigOptions = {},
): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const scrub = scrubberFor(env, options.secrets ?? []);
    const issues: ConfigIssue[] = result.error.issues.map((issue) => ({
      variable: formatPath(issue.path) || '(config)',
      message: scrub(issue.message),
    }));
    throw new ConfigError('INVALID_CONFIG', issues);
  }
  return deepFreeze(result.data);
}

/** Whether a variable's value must never appear in errors or logs. */
export function isSecretVariable(name: string, extra: readonly string[] = []): boolean {
  return SECRET_VARIABLE_PATTERN.test(name) || extra.includes(name);
}

function scrubberFor(env: Env, extra: readonly string[]): (message: string) => string {
  const secrets = Object.entries(env)
    .filter(([name, value]) => value !== undefined && value.length > 0 && isSecretVariable(name, extra))
    .map(([, value]) => value as string)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  return (message) => secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), message);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  // Typed arrays (e.g. a secret read as bytes) cannot be frozen; they are left as they are.
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
