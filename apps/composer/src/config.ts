// The composer's settings, from the environment, parsed once at start-up and frozen: which vendors it fuses and
// how each is matched, where the fleet registry comes from, the schedule and budget of a tick, the leader lease,
// the topics it announces on, the data-quality check, and the storage and Service Bus connections (read by their
// libs). A bad setting stops start-up with one ConfigError naming every bad variable.

import { hostname } from 'node:os';
import { isMessagingError, messagingConfigFromEnv, type MessagingConfig } from '@transit-fusion/messaging';
import type { VendorRule } from '@transit-fusion/pipeline';
import {
  collectIssues,
  parseJsonSetting,
  cronIntervalMs,
  loadConfig,
  LOG_LEVELS,
  type IssueCollector,
  type Env,
  type LogLevel,
} from '@transit-fusion/service-kit';
import { isStorageError, storageConfigFromEnv, type StorageConfig } from '@transit-fusion/storage';
import { z } from 'zod';

export interface QualityCheckSettings {
  /** How often the check runs over the recent ticks. */
  readonly intervalMs: number;
  /** How far back incidents count. */
  readonly windowMs: number;
  /** Incidents (invalid coordinates, impossible jumps) within the window that flag a device. */
  readonly threshold: number;
  /** Implied speed between consecutive positions above which a move is an impossible jump, m/s. */
  readonly maxSpeedMps: number;
}

export interface ComposerConfig {
  readonly host: string;
  readonly port: number;
  readonly vendors: readonly VendorRule[];
  readonly priority?: readonly string[];
  /** The fleet registry document: a file path or an http(s) URL, reloaded every registryRefreshMs. */
  readonly registrySource: { readonly file: string } | { readonly url: URL };
  readonly registryRefreshMs: number;
  readonly schedule: string;
  /** The schedule's interval between ticks. */
  readonly tickIntervalMs: number;
  readonly budgetMs: number;
  /** A leader reads the vendors' changed snapshots this long before each tick (0: never). */
  readonly prefetchLeadMs: number;
  /** Vendor data older than this is still used but flagged stale per field. */
  readonly staleAfterMs: number;
  /** /healthz fails when no tick (leading or following) has completed for this long. */
  readonly livenessMaxAgeMs: number;
  readonly instanceId: string;
  readonly lease: {
    readonly container: string;
    readonly blob: string;
    readonly durationSeconds: number;
    readonly takeoverAfterMs: number;
  };
  readonly snapshotsTopic: string;
  readonly alertsTopic: string;
  readonly deviceStateFlushMs: number;
  /** Every vehicle seen is rewritten in the device state table at least this often. */
  readonly deviceStateHeartbeatMs: number;
  readonly quality: QualityCheckSettings;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly storage: StorageConfig;
  readonly serviceBus: MessagingConfig;
}

export const COMPOSER_ENV_DEFAULTS = Object.freeze({
  TF_COMPOSER_HOST: '0.0.0.0',
  TF_COMPOSER_PORT: '8083',
  TF_COMPOSER_SCHEDULE: '* * * * * *',
  TF_COMPOSER_BUDGET_MS: '900',
  TF_COMPOSER_PREFETCH_LEAD_MS: '300',
  TF_COMPOSER_STALE_AFTER_MS: '90000',
  TF_COMPOSER_LIVENESS_MAX_AGE_MS: '30000',
  TF_COMPOSER_REGISTRY_REFRESH_MS: '60000',
  TF_COMPOSER_LEASE_CONTAINER: 'leases',
  TF_COMPOSER_LEASE_BLOB: 'composer-leader',
  TF_COMPOSER_LEASE_DURATION_S: '15',
  TF_COMPOSER_SNAPSHOTS_TOPIC: 'snapshots',
  TF_COMPOSER_ALERTS_TOPIC: 'alerts',
  TF_COMPOSER_DEVICE_STATE_FLUSH_MS: '10000',
  TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS: '60000',
  TF_COMPOSER_QUALITY_INTERVAL_MS: '60000',
  TF_COMPOSER_QUALITY_WINDOW_MS: '600000',
  TF_COMPOSER_QUALITY_THRESHOLD: '3',
  TF_COMPOSER_QUALITY_MAX_SPEED_MPS: '70',
  TF_COMPOSER_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
});

const VENDOR_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function composerConfigFromEnv(env: Env): ComposerConfig {
  // Annotated: a call to a `never` method narrows only through an explicitly typed name.
  const issues: IssueCollector = collectIssues();
  const parsed = issues.take(() => loadConfig(schema, env));
  const storage = issues.take(() => storageConfigFromEnv(env), {
    is: isStorageError,
    variable: 'TF_STORAGE_*',
  });
  const serviceBus = issues.take(() => messagingConfigFromEnv(env), {
    is: isMessagingError,
    variable: 'TF_SERVICEBUS_*',
  });
  if (!parsed || !storage || !serviceBus) issues.fail();

  const intervalMs = cronIntervalMs(parsed.TF_COMPOSER_SCHEDULE);
  if (typeof intervalMs === 'string') {
    issues.add({ variable: 'TF_COMPOSER_SCHEDULE', message: intervalMs });
  } else {
    if (parsed.TF_COMPOSER_BUDGET_MS >= intervalMs) {
      issues.add({
        variable: 'TF_COMPOSER_BUDGET_MS',
        message: `must be shorter than the schedule's interval (${intervalMs} ms)`,
      });
    }
    if (parsed.TF_COMPOSER_PREFETCH_LEAD_MS >= intervalMs) {
      issues.add({
        variable: 'TF_COMPOSER_PREFETCH_LEAD_MS',
        message: `must be shorter than the schedule's interval (${intervalMs} ms)`,
      });
    }
  }
  const registry = parsed.TF_COMPOSER_FLEET_REGISTRY_FILE ?? parsed.TF_COMPOSER_FLEET_REGISTRY_URL;
  if (
    (parsed.TF_COMPOSER_FLEET_REGISTRY_FILE === undefined) ===
    (parsed.TF_COMPOSER_FLEET_REGISTRY_URL === undefined)
  ) {
    issues.add({
      variable: 'TF_COMPOSER_FLEET_REGISTRY_FILE',
      message: 'set exactly one of TF_COMPOSER_FLEET_REGISTRY_FILE and TF_COMPOSER_FLEET_REGISTRY_URL',
    });
  }
  if (parsed.TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS < parsed.TF_COMPOSER_DEVICE_STATE_FLUSH_MS) {
    issues.add({
      variable: 'TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS',
      message: 'must be at least TF_COMPOSER_DEVICE_STATE_FLUSH_MS',
    });
  }
  const ids = parsed.TF_COMPOSER_VENDORS.map((v) => v.vendorId);
  for (const id of parsed.TF_COMPOSER_PRIORITY ?? []) {
    if (!ids.includes(id)) issues.add({ variable: 'TF_COMPOSER_PRIORITY', message: `${id} is not a vendor` });
  }
  if (new Set(ids).size !== ids.length) {
    issues.add({ variable: 'TF_COMPOSER_VENDORS', message: 'a vendor is listed twice' });
  }
  issues.check();
  const interval = intervalMs as number;

  return Object.freeze({
    host: parsed.TF_COMPOSER_HOST,
    port: parsed.TF_COMPOSER_PORT,
    vendors: Object.freeze(parsed.TF_COMPOSER_VENDORS),
    ...(parsed.TF_COMPOSER_PRIORITY ? { priority: Object.freeze(parsed.TF_COMPOSER_PRIORITY) } : {}),
    registrySource: parsed.TF_COMPOSER_FLEET_REGISTRY_FILE
      ? { file: parsed.TF_COMPOSER_FLEET_REGISTRY_FILE }
      : { url: new URL(registry!) },
    registryRefreshMs: parsed.TF_COMPOSER_REGISTRY_REFRESH_MS,
    schedule: parsed.TF_COMPOSER_SCHEDULE,
    tickIntervalMs: interval,
    budgetMs: parsed.TF_COMPOSER_BUDGET_MS,
    prefetchLeadMs: parsed.TF_COMPOSER_PREFETCH_LEAD_MS,
    staleAfterMs: parsed.TF_COMPOSER_STALE_AFTER_MS,
    livenessMaxAgeMs: parsed.TF_COMPOSER_LIVENESS_MAX_AGE_MS,
    instanceId: parsed.TF_COMPOSER_INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    lease: Object.freeze({
      container: parsed.TF_COMPOSER_LEASE_CONTAINER,
      blob: parsed.TF_COMPOSER_LEASE_BLOB,
      durationSeconds: parsed.TF_COMPOSER_LEASE_DURATION_S,
      // About one and a half ticks: a crashed leader is replaced within two (see decision 0010).
      takeoverAfterMs: parsed.TF_COMPOSER_TAKEOVER_AFTER_MS ?? Math.round(1.5 * interval),
    }),
    snapshotsTopic: parsed.TF_COMPOSER_SNAPSHOTS_TOPIC,
    alertsTopic: parsed.TF_COMPOSER_ALERTS_TOPIC,
    deviceStateFlushMs: parsed.TF_COMPOSER_DEVICE_STATE_FLUSH_MS,
    deviceStateHeartbeatMs: parsed.TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS,
    quality: Object.freeze({
      intervalMs: parsed.TF_COMPOSER_QUALITY_INTERVAL_MS,
      windowMs: parsed.TF_COMPOSER_QUALITY_WINDOW_MS,
      threshold: parsed.TF_COMPOSER_QUALITY_THRESHOLD,
      maxSpeedMps: parsed.TF_COMPOSER_QUALITY_MAX_SPEED_MPS,
    }),
    shutdownTimeoutMs: parsed.TF_COMPOSER_SHUTDOWN_TIMEOUT_MS,
    logLevel: parsed.TF_LOG_LEVEL,
    storage,
    serviceBus,
  });
}

const int = (min: number) => z.coerce.number().int().min(min);
const entity = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/, 'must be a Service Bus entity name');
const vendorRule = z
  .object({
    vendorId: z.string().regex(VENDOR_ID, 'must be a vendor id'),
    match: z.discriminatedUnion('by', [
      z.object({ by: z.literal('key') }).strict(),
      z.object({ by: z.literal('attribute'), attribute: z.literal('tripId') }).strict(),
    ]),
  })
  .strict();

const schema = z.object({
  TF_COMPOSER_HOST: z.string().min(1).default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_HOST),
  TF_COMPOSER_PORT: int(0).max(65535).default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_PORT)),
  TF_COMPOSER_VENDORS: z
    .string({
      error:
        'is required: a JSON array of { vendorId, match: { by: "key" } | { by: "attribute", attribute: "tripId" } }',
    })
    .transform(parseJsonSetting)
    .pipe(z.array(vendorRule).min(1, 'must list at least one vendor').max(31)),
  TF_COMPOSER_PRIORITY: z
    .string()
    .transform((t) =>
      t
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .optional(),
  TF_COMPOSER_FLEET_REGISTRY_FILE: z.string().min(1).optional(),
  TF_COMPOSER_FLEET_REGISTRY_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  TF_COMPOSER_REGISTRY_REFRESH_MS: int(1_000).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_REGISTRY_REFRESH_MS),
  ),
  TF_COMPOSER_SCHEDULE: z.string().min(1).default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_SCHEDULE),
  TF_COMPOSER_BUDGET_MS: int(50).default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_BUDGET_MS)),
  TF_COMPOSER_PREFETCH_LEAD_MS: int(0).default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_PREFETCH_LEAD_MS)),
  TF_COMPOSER_STALE_AFTER_MS: int(1).default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_STALE_AFTER_MS)),
  TF_COMPOSER_LIVENESS_MAX_AGE_MS: int(1_000).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_LIVENESS_MAX_AGE_MS),
  ),
  TF_COMPOSER_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/)
    .optional(),
  TF_COMPOSER_LEASE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name')
    .default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_LEASE_CONTAINER),
  TF_COMPOSER_LEASE_BLOB: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/)
    .default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_LEASE_BLOB),
  TF_COMPOSER_LEASE_DURATION_S: int(15)
    .max(60)
    .default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_LEASE_DURATION_S)),
  TF_COMPOSER_TAKEOVER_AFTER_MS: int(100).optional(),
  TF_COMPOSER_SNAPSHOTS_TOPIC: entity.default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_SNAPSHOTS_TOPIC),
  TF_COMPOSER_ALERTS_TOPIC: entity.default(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_ALERTS_TOPIC),
  TF_COMPOSER_DEVICE_STATE_FLUSH_MS: int(100).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_DEVICE_STATE_FLUSH_MS),
  ),
  TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS: int(100).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS),
  ),
  TF_COMPOSER_QUALITY_INTERVAL_MS: int(100).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_QUALITY_INTERVAL_MS),
  ),
  TF_COMPOSER_QUALITY_WINDOW_MS: int(1_000).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_QUALITY_WINDOW_MS),
  ),
  TF_COMPOSER_QUALITY_THRESHOLD: int(1).default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_QUALITY_THRESHOLD)),
  TF_COMPOSER_QUALITY_MAX_SPEED_MPS: z.coerce
    .number()
    .positive()
    .default(Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_QUALITY_MAX_SPEED_MPS)),
  TF_COMPOSER_SHUTDOWN_TIMEOUT_MS: int(1).default(
    Number(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_SHUTDOWN_TIMEOUT_MS),
  ),
  TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
});
