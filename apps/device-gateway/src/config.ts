// The gateway's settings, read once from the environment, validated, and frozen. Every limit that protects the
// process from hostile or broken devices is here with a safe default: connections in total and per address,
// login and idle timeouts, the largest packet, and how many records may wait for the broker before sockets are
// paused.

import { readFileSync } from 'node:fs';
import { isMessagingError, messagingConfigFromEnv, type MessagingConfig } from '@transit-fusion/messaging';
import {
  collectIssues,
  LOG_LEVELS,
  loadConfig,
  parseJsonSetting,
  readSettingFile,
  type Env,
  type IssueCollector,
  type LogLevel,
} from '@transit-fusion/service-kit';
import { DEFAULT_IO_MAPPING, parseIoMapping, type IoMapping } from '@transit-fusion/teltonika';
import { z } from 'zod';

export interface GatewayConfig {
  readonly host: string;
  /** The trackers' TCP port (Teltonika devices are usually configured for 5027). */
  readonly tcpPort: number;
  /** Health, readiness and metrics. */
  readonly httpPort: number;
  /** The vendor id the records carry, and the registry key of each vehicle's tracker IMEI. */
  readonly vendorId: string;
  /** The Service Bus topic the records go to (the receiver's, so the collector drains both alike). */
  readonly topic: string;
  readonly devices: {
    /** IMEIs allowed in addition to the registry's. */
    readonly allowed: readonly string[];
    /** A fleet registry document (file path or http(s) URL) whose vehicles' `keys[vendorId]` are IMEIs. */
    readonly registry?: string;
    readonly refreshMs: number;
  };
  readonly ioMapping: IoMapping;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** New connections accepted per address and second (a reconnect storm from one NAT is throttled). */
  readonly connectRatePerAddress: number;
  readonly loginTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxPacketBytes: number;
  /** Records accepted from devices and not yet confirmed by the broker; beyond it, sockets stop being read. */
  readonly maxPendingRecords: number;
  readonly sendTimeoutMs: number;
  readonly maxMessageBytes: number;
  /** How often the watchdog connects to the gateway's own port to prove connections are still accepted. */
  readonly watchdogIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly serviceBus: MessagingConfig;
}

/** Documented defaults, for the README and the deployment manifests. */
export const GATEWAY_ENV_DEFAULTS = Object.freeze({
  TF_GATEWAY_HOST: '0.0.0.0',
  TF_GATEWAY_TCP_PORT: '5027',
  TF_GATEWAY_HTTP_PORT: '8086',
  TF_GATEWAY_VENDOR_ID: 'trackers',
  TF_GATEWAY_TOPIC: 'vendor-pushes',
  TF_GATEWAY_REGISTRY_REFRESH_MS: '300000',
  TF_GATEWAY_MAX_CONNECTIONS: '20000',
  TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '50',
  TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: '20',
  TF_GATEWAY_LOGIN_TIMEOUT_MS: '10000',
  TF_GATEWAY_IDLE_TIMEOUT_MS: '600000',
  TF_GATEWAY_MAX_PACKET_BYTES: '16384',
  TF_GATEWAY_MAX_PENDING_RECORDS: '50000',
  TF_GATEWAY_SEND_TIMEOUT_MS: '10000',
  TF_GATEWAY_MAX_MESSAGE_BYTES: String(200 * 1024),
  TF_GATEWAY_WATCHDOG_INTERVAL_MS: '5000',
  TF_GATEWAY_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
});

const IMEI = /^\d{1,17}$/;
const int = (min: number, fallback: string) => z.coerce.number().int().min(min).default(Number(fallback));
const D = GATEWAY_ENV_DEFAULTS;

function envSchema(readFile: (path: string) => string) {
  return z.object({
    TF_GATEWAY_HOST: z.string().min(1).default(D.TF_GATEWAY_HOST),
    TF_GATEWAY_TCP_PORT: z.coerce.number().int().min(0).max(65_535).default(Number(D.TF_GATEWAY_TCP_PORT)),
    TF_GATEWAY_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(Number(D.TF_GATEWAY_HTTP_PORT)),
    TF_GATEWAY_VENDOR_ID: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must match [a-z0-9][a-z0-9_-]{0,63}')
      .default(D.TF_GATEWAY_VENDOR_ID),
    TF_GATEWAY_TOPIC: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,259}$/, 'must be a Service Bus topic name')
      .default(D.TF_GATEWAY_TOPIC),
    TF_GATEWAY_ALLOWED_IMEIS: z
      .string()
      .default('')
      .transform((s) => s.split(/[\s,]+/).filter(Boolean))
      .pipe(z.array(z.string().regex(IMEI, 'must be IMEIs (digits), comma-separated'))),
    TF_GATEWAY_DEVICE_REGISTRY: z.string().min(1).optional(),
    TF_GATEWAY_REGISTRY_REFRESH_MS: int(1_000, D.TF_GATEWAY_REGISTRY_REFRESH_MS),
    TF_GATEWAY_IO_MAPPING: z.string().min(1).transform(parseJsonSetting).optional(),
    TF_GATEWAY_IO_MAPPING_FILE: z
      .string()
      .min(1)
      .transform(readSettingFile(readFile))
      .transform(parseJsonSetting)
      .optional(),
    TF_GATEWAY_MAX_CONNECTIONS: int(1, D.TF_GATEWAY_MAX_CONNECTIONS),
    TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: int(1, D.TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS),
    TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: z.coerce
      .number()
      .positive()
      .default(Number(D.TF_GATEWAY_CONNECT_RATE_PER_ADDRESS)),
    TF_GATEWAY_LOGIN_TIMEOUT_MS: int(100, D.TF_GATEWAY_LOGIN_TIMEOUT_MS),
    TF_GATEWAY_IDLE_TIMEOUT_MS: int(1_000, D.TF_GATEWAY_IDLE_TIMEOUT_MS),
    TF_GATEWAY_MAX_PACKET_BYTES: z.coerce
      .number()
      .int()
      .min(64)
      .max(1024 * 1024)
      .default(Number(D.TF_GATEWAY_MAX_PACKET_BYTES)),
    TF_GATEWAY_MAX_PENDING_RECORDS: int(1, D.TF_GATEWAY_MAX_PENDING_RECORDS),
    TF_GATEWAY_SEND_TIMEOUT_MS: int(100, D.TF_GATEWAY_SEND_TIMEOUT_MS),
    TF_GATEWAY_MAX_MESSAGE_BYTES: int(16 * 1024, D.TF_GATEWAY_MAX_MESSAGE_BYTES),
    TF_GATEWAY_WATCHDOG_INTERVAL_MS: int(100, D.TF_GATEWAY_WATCHDOG_INTERVAL_MS),
    TF_GATEWAY_SHUTDOWN_TIMEOUT_MS: int(1_000, D.TF_GATEWAY_SHUTDOWN_TIMEOUT_MS),
    TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
  });
}

export interface GatewayConfigOptions {
  /** Reads a file as UTF-8 (default fs.readFileSync); tests pass a map. */
  readonly readFile?: (path: string) => string;
}

/** Reads the gateway's settings from an env object (never process.env implicitly). Throws ConfigError. */
export function gatewayConfigFromEnv(env: Env, options: GatewayConfigOptions = {}): GatewayConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const issues: IssueCollector = collectIssues();
  const parsed = issues.take(() => loadConfig(envSchema(readFile), env));
  const serviceBus = issues.take(() => messagingConfigFromEnv(env), {
    is: isMessagingError,
    variable: 'TF_SERVICEBUS_*',
  });
  if (!parsed || !serviceBus) issues.fail();
  const mappingSetting = parsed.TF_GATEWAY_IO_MAPPING ?? parsed.TF_GATEWAY_IO_MAPPING_FILE;
  const ioMapping =
    mappingSetting === undefined
      ? DEFAULT_IO_MAPPING
      : issues.take(() => parseIoMapping(mappingSetting), {
          is: (error): error is Error => error instanceof Error,
          variable: parsed.TF_GATEWAY_IO_MAPPING ? 'TF_GATEWAY_IO_MAPPING' : 'TF_GATEWAY_IO_MAPPING_FILE',
        });
  if (parsed.TF_GATEWAY_ALLOWED_IMEIS.length === 0 && !parsed.TF_GATEWAY_DEVICE_REGISTRY) {
    issues.add({
      variable: 'TF_GATEWAY_DEVICE_REGISTRY',
      message: 'no device would be accepted: set TF_GATEWAY_DEVICE_REGISTRY and/or TF_GATEWAY_ALLOWED_IMEIS',
    });
  }
  if (!ioMapping) issues.fail();
  issues.check();

  return Object.freeze({
    host: parsed.TF_GATEWAY_HOST,
    tcpPort: parsed.TF_GATEWAY_TCP_PORT,
    httpPort: parsed.TF_GATEWAY_HTTP_PORT,
    vendorId: parsed.TF_GATEWAY_VENDOR_ID,
    topic: parsed.TF_GATEWAY_TOPIC,
    devices: Object.freeze({
      allowed: Object.freeze([...parsed.TF_GATEWAY_ALLOWED_IMEIS]),
      ...(parsed.TF_GATEWAY_DEVICE_REGISTRY ? { registry: parsed.TF_GATEWAY_DEVICE_REGISTRY } : {}),
      refreshMs: parsed.TF_GATEWAY_REGISTRY_REFRESH_MS,
    }),
    ioMapping,
    maxConnections: parsed.TF_GATEWAY_MAX_CONNECTIONS,
    maxConnectionsPerAddress: parsed.TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS,
    connectRatePerAddress: parsed.TF_GATEWAY_CONNECT_RATE_PER_ADDRESS,
    loginTimeoutMs: parsed.TF_GATEWAY_LOGIN_TIMEOUT_MS,
    idleTimeoutMs: parsed.TF_GATEWAY_IDLE_TIMEOUT_MS,
    maxPacketBytes: parsed.TF_GATEWAY_MAX_PACKET_BYTES,
    maxPendingRecords: parsed.TF_GATEWAY_MAX_PENDING_RECORDS,
    sendTimeoutMs: parsed.TF_GATEWAY_SEND_TIMEOUT_MS,
    maxMessageBytes: parsed.TF_GATEWAY_MAX_MESSAGE_BYTES,
    watchdogIntervalMs: parsed.TF_GATEWAY_WATCHDOG_INTERVAL_MS,
    shutdownTimeoutMs: parsed.TF_GATEWAY_SHUTDOWN_TIMEOUT_MS,
    logLevel: parsed.TF_LOG_LEVEL,
    serviceBus,
  });
}
