// The broadcaster's settings, from the environment, parsed once at start-up and frozen. Every API needs a bearer
// token (no anonymous access, even locally): TF_BROADCASTER_TOKENS (comma-separated) and/or
// TF_BROADCASTER_TOKENS_FILE (one per line, e.g. a mounted secret), several during a rotation. The live feed
// follows the snapshots topic on this replica's own subscription (TF_BROADCASTER_SUBSCRIPTION), and SignalR is
// either hosted here or by Azure SignalR Service (TF_BROADCASTER_SIGNALR_MODE).

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
import { isMessagingError, messagingConfigFromEnv, type MessagingConfig } from '@transit-fusion/messaging';
import { parseAzureSignalRConnectionString } from '@transit-fusion/signalr-hub';
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
  readonly serviceBus: MessagingConfig;
  /** The built web map (apps/web/dist) to serve at `/`; absent: no map here (it is deployed elsewhere). */
  readonly webDir?: string;
  /** The operator's static GTFS (file or http(s) URL), drawn under the map; see network-map.ts. */
  readonly network?: { readonly gtfs: string; readonly refreshMs: number };
  readonly live: {
    readonly topic: string;
    /** This replica's subscription of the snapshots topic (each replica needs its own). */
    readonly subscription: string;
    /** Create the subscription at start (when the credentials may), deleted by Service Bus after an idle hour. */
    readonly createSubscription: boolean;
    readonly maxViews: number;
    readonly keyframeEvery: number;
    readonly maxLagTicks: number;
    /** The fan-out lets the event loop turn (HTTP/2 sends gRPC's queued updates) at most this often; 0: never. */
    readonly fanOutTurnMs: number;
    readonly maxStreams: number;
    readonly downloadTimeoutMs: number;
  };
  readonly signalr:
    | {
        readonly mode: 'self-hosted';
        readonly hub: string;
        readonly maxConnections: number;
        /** Bytes a connection may have waiting before it counts as busy (backpressure). */
        readonly maxBufferedBytes: number;
        readonly allowedOrigins: readonly string[] | '*';
      }
    | {
        readonly mode: 'azure';
        readonly hub: string;
        readonly connectionString: Secret;
        readonly allowedOrigins: readonly string[] | '*';
      };
}

export const BROADCASTER_ENV_DEFAULTS = Object.freeze({
  TF_BROADCASTER_HOST: '0.0.0.0',
  TF_BROADCASTER_HTTP_PORT: '8084',
  TF_BROADCASTER_GRPC_PORT: '50051',
  TF_BROADCASTER_MAX_RANGE_MS: String(24 * 3_600_000),
  TF_BROADCASTER_KEEPALIVE_MS: '30000',
  TF_BROADCASTER_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
  TF_BROADCASTER_SNAPSHOTS_TOPIC: 'snapshots',
  TF_BROADCASTER_SUBSCRIPTION: 'broadcaster',
  TF_BROADCASTER_CREATE_SUBSCRIPTION: 'false',
  TF_BROADCASTER_MAX_VIEWS: '256',
  TF_BROADCASTER_KEYFRAME_EVERY: '30',
  TF_BROADCASTER_MAX_LAG_TICKS: '10',
  TF_BROADCASTER_FAN_OUT_TURN_MS: '25',
  TF_BROADCASTER_MAX_STREAMS: '5000',
  TF_BROADCASTER_DOWNLOAD_TIMEOUT_MS: '5000',
  TF_BROADCASTER_SIGNALR_MODE: 'self-hosted',
  TF_BROADCASTER_SIGNALR_HUB: 'vehicles',
  TF_BROADCASTER_SIGNALR_MAX_CONNECTIONS: '10000',
  TF_BROADCASTER_SIGNALR_MAX_BUFFERED_BYTES: String(4 * 1024 * 1024),
  TF_BROADCASTER_CORS_ORIGINS: '',
});

const MIN_TOKEN_LENGTH = 16;

export function broadcasterConfigFromEnv(
  env: Env,
  options: { readFile?: (path: string) => Buffer } = {},
): BroadcasterConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path));
  // Annotated: a call to a `never` method narrows only through an explicitly typed name.
  const issues: IssueCollector = collectIssues();
  const parsed = issues.take(() =>
    loadConfig(schema, env, {
      secrets: ['TF_BROADCASTER_TOKENS', 'TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING'],
    }),
  );
  const storage = issues.take(() => storageConfigFromEnv(env), {
    is: isStorageError,
    variable: 'TF_STORAGE_*',
  });
  const serviceBus = issues.take(() => messagingConfigFromEnv(env), {
    is: isMessagingError,
    variable: 'TF_SERVICEBUS_*',
  });
  if (!parsed || !storage || !serviceBus) issues.fail();

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
  const origins = parsed.TF_BROADCASTER_CORS_ORIGINS.trim();
  const allowedOrigins: readonly string[] | '*' =
    origins === '*'
      ? '*'
      : Object.freeze(
          origins
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
        );
  let signalr: BroadcasterConfig['signalr'] | undefined;
  const hub = parsed.TF_BROADCASTER_SIGNALR_HUB;
  if (parsed.TF_BROADCASTER_SIGNALR_MODE === 'azure') {
    const connectionString = parsed.TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING;
    let problem: string | undefined;
    if (!connectionString) {
      problem =
        'required in azure mode: Endpoint=https://<name>.service.signalr.net;AccessKey=<key>;Version=1.0; (or AuthType=aad)';
    } else {
      try {
        parseAzureSignalRConnectionString(connectionString);
      } catch (error) {
        problem = (error as Error).message;
      }
    }
    if (problem || !connectionString) {
      issues.add({
        variable: 'TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING',
        message: problem ?? 'required',
      });
    } else {
      signalr = { mode: 'azure', hub, connectionString: new Secret(connectionString), allowedOrigins };
    }
  } else {
    signalr = {
      mode: 'self-hosted',
      hub,
      maxConnections: parsed.TF_BROADCASTER_SIGNALR_MAX_CONNECTIONS,
      maxBufferedBytes: parsed.TF_BROADCASTER_SIGNALR_MAX_BUFFERED_BYTES,
      allowedOrigins,
    };
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
    serviceBus,
    ...(parsed.TF_BROADCASTER_WEB_DIR ? { webDir: parsed.TF_BROADCASTER_WEB_DIR } : {}),
    ...(parsed.TF_BROADCASTER_NETWORK_GTFS
      ? {
          network: Object.freeze({
            gtfs: parsed.TF_BROADCASTER_NETWORK_GTFS,
            refreshMs: parsed.TF_BROADCASTER_NETWORK_REFRESH_MS,
          }),
        }
      : {}),
    live: Object.freeze({
      topic: parsed.TF_BROADCASTER_SNAPSHOTS_TOPIC,
      subscription: parsed.TF_BROADCASTER_SUBSCRIPTION,
      createSubscription: parsed.TF_BROADCASTER_CREATE_SUBSCRIPTION === 'true',
      maxViews: parsed.TF_BROADCASTER_MAX_VIEWS,
      keyframeEvery: parsed.TF_BROADCASTER_KEYFRAME_EVERY,
      maxLagTicks: parsed.TF_BROADCASTER_MAX_LAG_TICKS,
      fanOutTurnMs: parsed.TF_BROADCASTER_FAN_OUT_TURN_MS,
      maxStreams: parsed.TF_BROADCASTER_MAX_STREAMS,
      downloadTimeoutMs: parsed.TF_BROADCASTER_DOWNLOAD_TIMEOUT_MS,
    }),
    signalr: Object.freeze(signalr!),
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
  TF_BROADCASTER_SNAPSHOTS_TOPIC: z
    .string()
    .min(1)
    .default(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SNAPSHOTS_TOPIC),
  // Service Bus subscription names: letters, digits, '.', '-', '_', at most 50 (a pod name fits after a prefix).
  TF_BROADCASTER_SUBSCRIPTION: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/,
      'must be a Service Bus subscription name (≤ 50 of A-Z a-z 0-9 . - _)',
    )
    .default(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SUBSCRIPTION),
  TF_BROADCASTER_CREATE_SUBSCRIPTION: z.enum(['true', 'false']).default('false'),
  TF_BROADCASTER_MAX_VIEWS: int(1)
    .max(10_000)
    .default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_MAX_VIEWS)),
  TF_BROADCASTER_KEYFRAME_EVERY: int(1).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_KEYFRAME_EVERY),
  ),
  TF_BROADCASTER_MAX_LAG_TICKS: int(1).default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_MAX_LAG_TICKS)),
  TF_BROADCASTER_FAN_OUT_TURN_MS: int(0)
    .max(1_000)
    .default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_FAN_OUT_TURN_MS)),
  TF_BROADCASTER_MAX_STREAMS: int(1).default(Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_MAX_STREAMS)),
  TF_BROADCASTER_DOWNLOAD_TIMEOUT_MS: int(100).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_DOWNLOAD_TIMEOUT_MS),
  ),
  TF_BROADCASTER_SIGNALR_MODE: z.enum(['self-hosted', 'azure']).default('self-hosted'),
  TF_BROADCASTER_SIGNALR_HUB: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,127}$/, 'must be a hub name (letters, digits, _)')
    .default(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SIGNALR_HUB),
  TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING: z.string().min(1).optional(),
  TF_BROADCASTER_SIGNALR_MAX_CONNECTIONS: int(1).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SIGNALR_MAX_CONNECTIONS),
  ),
  TF_BROADCASTER_SIGNALR_MAX_BUFFERED_BYTES: int(65_536).default(
    Number(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_SIGNALR_MAX_BUFFERED_BYTES),
  ),
  TF_BROADCASTER_CORS_ORIGINS: z.string().default(''),
  TF_BROADCASTER_WEB_DIR: z.string().min(1).optional(),
  TF_BROADCASTER_NETWORK_GTFS: z.string().min(1).optional(),
  TF_BROADCASTER_NETWORK_REFRESH_MS: int(60_000).default(3_600_000),
  TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
});
