// The broadcaster's settings, from the environment, parsed once at start-up and frozen. Every API needs a bearer
// token (no anonymous access, even locally): TF_BROADCASTER_TOKENS (comma-separated) and/or
// TF_BROADCASTER_TOKENS_FILE (one per line, e.g. a mounted secret), several during a rotation.

import { readFileSync } from 'node:fs';
import {
  collectIssues,
  fileErrorCode,
  loadConfig,
  LOG_LEVELS,
  Secret,
  type Env,
  type IssueCollector,
  type LogLevel,
} from '@transit-fusion/service-kit';
import { isStorageError, storageConfigFromEnv, type StorageConfig } from '@transit-fusion/storage';
import { z } from 'zod';

export interface BroadcasterConfig {
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly tokens: readonly Secret[];
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Longest range ListSnapshots and Replay serve. */
  readonly maxRangeMs: number;
  readonly keepaliveMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly storage: StorageConfig;
}

export const BROADCASTER_ENV_DEFAULTS = Object.freeze({
  TF_BROADCASTER_HOST: '0.0.0.0',
  TF_BROADCASTER_HTTP_PORT: '8084',
  TF_BROADCASTER_GRPC_PORT: '50051',
  TF_BROADCASTER_MAX_RANGE_MS: String(24 * 3_600_000),
  TF_BROADCASTER_KEEPALIVE_MS: '30000',
  TF_BROADCASTER_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
});

const MIN_TOKEN_LENGTH = 16;

export function broadcasterConfigFromEnv(
  env: Env,
  options: { readFile?: (path: string) => Buffer } = {},
): BroadcasterConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path));
  // Annotated: a call to a `never` method narrows only through an explicitly typed name.
  const issues: IssueCollector = collectIssues();
  const parsed = issues.take(() => loadConfig(schema, env, { secrets: ['TF_BROADCASTER_TOKENS'] }));
  const storage = issues.take(() => storageConfigFromEnv(env), {
    is: isStorageError,
    variable: 'TF_STORAGE_*',
  });
  if (!parsed || !storage) issues.fail();

  const tokens: Secret[] = [];
  for (const token of parsed.TF_BROADCASTER_TOKENS ?? []) tokens.push(new Secret(token));
  if (parsed.TF_BROADCASTER_TOKENS_FILE) {
    try {
      for (const line of readFile(parsed.TF_BROADCASTER_TOKENS_FILE).toString('utf8').split('\n')) {
        if (line.trim()) tokens.push(new Secret(line.trim()));
      }
    } catch (error) {
      issues.add({
        variable: 'TF_BROADCASTER_TOKENS_FILE',
        message: `cannot be read (${fileErrorCode(error)})`,
      });
    }
  }
  if (tokens.some((t) => t.length < MIN_TOKEN_LENGTH)) {
    issues.add({
      variable: 'TF_BROADCASTER_TOKENS',
      message: `every token must be at least ${MIN_TOKEN_LENGTH} characters`,
    });
  }
  if (tokens.length === 0) {
    issues.add({
      variable: 'TF_BROADCASTER_TOKENS',
      message: 'no API token configured: set TF_BROADCASTER_TOKENS and/or TF_BROADCASTER_TOKENS_FILE',
    });
  }
  let tls: BroadcasterConfig['tls'];
  const certFile = parsed.TF_BROADCASTER_TLS_CERT_FILE;
  const keyFile = parsed.TF_BROADCASTER_TLS_KEY_FILE;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    issues.add({ variable: 'TF_BROADCASTER_TLS_CERT_FILE', message: 'set both TLS files or neither' });
  } else if (certFile && keyFile) {
    try {
      tls = { cert: readFile(certFile), key: readFile(keyFile) };
    } catch (error) {
      issues.add({
        variable: 'TF_BROADCASTER_TLS_CERT_FILE',
        message: `cannot be read (${fileErrorCode(error)})`,
      });
    }
  }
  issues.check();

  return Object.freeze({
    host: parsed.TF_BROADCASTER_HOST,
    httpPort: parsed.TF_BROADCASTER_HTTP_PORT,
    grpcPort: parsed.TF_BROADCASTER_GRPC_PORT,
    tokens: Object.freeze(tokens),
    ...(tls ? { tls } : {}),
    maxRangeMs: parsed.TF_BROADCASTER_MAX_RANGE_MS,
    keepaliveMs: parsed.TF_BROADCASTER_KEEPALIVE_MS,
    shutdownTimeoutMs: parsed.TF_BROADCASTER_SHUTDOWN_TIMEOUT_MS,
    logLevel: parsed.TF_LOG_LEVEL,
    storage,
  });
}

const int = (min: number) => z.coerce.number().int().min(min);
const schema = z.object({
  TF_BROADCASTER_HOST: z.string().min(1).default(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_HOST),
  TF_BROADCASTER_HTTP_PORT: int(0)
    .max(65535)
    .default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_HTTP_PORT)),
  TF_BROADCASTER_GRPC_PORT: int(0)
    .max(65535)
    .default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_GRPC_PORT)),
  TF_BROADCASTER_TOKENS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .optional(),
  TF_BROADCASTER_TOKENS_FILE: z.string().min(1).optional(),
  TF_BROADCASTER_TLS_CERT_FILE: z.string().min(1).optional(),
  TF_BROADCASTER_TLS_KEY_FILE: z.string().min(1).optional(),
  TF_BROADCASTER_MAX_RANGE_MS: int(1_000).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_MAX_RANGE_MS),
  ),
  TF_BROADCASTER_KEEPALIVE_MS: int(1_000).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_KEEPALIVE_MS),
  ),
  TF_BROADCASTER_SHUTDOWN_TIMEOUT_MS: int(1).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SHUTDOWN_TIMEOUT_MS),
  ),
  TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
});
