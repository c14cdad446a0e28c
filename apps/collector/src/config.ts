// The collector's settings, from the environment, parsed once at start-up and frozen: which vendors it collects
// and how (pull: a feed URL and format; push: a Service Bus subscription), their schedules and time budgets,
// where it listens for probes, and the storage and Service Bus connections (read by their libs). A bad setting
// stops start-up with one ConfigError naming every bad variable, never echoing a secret.
//
// Vendors come from TF_COLLECTOR_VENDORS (JSON) and/or TF_COLLECTOR_VENDORS_FILE (a JSON file, e.g. a mounted
// ConfigMap), keyed by vendor id. Production runs one vendor per container from one shared file by setting
// TF_COLLECTOR_ONLY to that vendor's id; locally one process runs them all. A header sent to a vendor may be
// written inline or as `{ "fromFile": "/mnt/secrets/x" }` (the file's content, trimmed), and is never logged.

import { readFileSync } from 'node:fs';
import { isMessagingError, messagingConfigFromEnv, type MessagingConfig } from '@transit-fusion/messaging';
import {
  collectIssues,
  fileErrorCode,
  parseJsonSetting,
  readSettingFile,
  cronIntervalMs,
  loadConfig,
  LOG_LEVELS,
  Secret,
  type ConfigIssue,
  type IssueCollector,
  type Env,
  type LogLevel,
} from '@transit-fusion/service-kit';
import { isStorageError, storageConfigFromEnv, type StorageConfig } from '@transit-fusion/storage';
import { createFeedDecoder, FEED_FORMATS, isVendorFeedError, type FeedFormat } from '@transit-fusion/vendors';
import { z } from 'zod';

interface VendorCommon {
  readonly id: string;
  /** Seconds-resolution cron pattern (six fields). */
  readonly schedule: string;
  /** Longest a tick may take; it is aborted (and counted as failed) past this. */
  readonly budgetMs: number;
}

export interface PullVendorSettings extends VendorCommon {
  readonly kind: 'pull';
  readonly url: URL;
  readonly format: FeedFormat;
  /** The field mapping of the `json` format (validated by the vendors lib at start-up). */
  readonly mapping?: unknown;
  /** Sent with every request (API keys, Authorization); values are secrets. */
  readonly headers: Readonly<Record<string, Secret>>;
  /** A body larger than this (after gzip) is refused. */
  readonly maxBodyBytes: number;
}

export interface PushVendorSettings extends VendorCommon {
  readonly kind: 'push';
  /** The topic its pushes arrive on (the receiver's), and this collector's subscription to it. */
  readonly topic: string;
  readonly subscription: string;
  /** A vehicle not heard of for this long leaves the vendor's snapshot. */
  readonly maxRecordAgeMs: number;
  /** Messages received and settled together (one snapshot save per batch). */
  readonly batchSize: number;
}

export type VendorSettings = PullVendorSettings | PushVendorSettings;

export interface CollectorConfig {
  readonly host: string;
  readonly port: number;
  /** The vendors this process collects, in id order (after TF_COLLECTOR_ONLY). */
  readonly vendors: readonly VendorSettings[];
  /** A vendor with no successful tick for this long is reported stale on /collectors and in metrics. */
  readonly staleAfterMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly storage: StorageConfig;
  /** Present when at least one push vendor is collected. */
  readonly serviceBus?: MessagingConfig;
}

/** Documented defaults, for the README and deployment manifests. */
export const COLLECTOR_ENV_DEFAULTS = Object.freeze({
  TF_COLLECTOR_HOST: '0.0.0.0',
  TF_COLLECTOR_PORT: '8082',
  TF_COLLECTOR_DEFAULT_SCHEDULE: '* * * * * *',
  TF_COLLECTOR_DEFAULT_BUDGET_MS: '800',
  TF_COLLECTOR_MAX_BODY_BYTES: String(32 * 1024 * 1024),
  TF_COLLECTOR_PUSH_TOPIC: 'vendor-pushes',
  TF_COLLECTOR_PUSH_SUBSCRIPTION: 'collector',
  TF_COLLECTOR_PUSH_MAX_RECORD_AGE_MS: String(15 * 60_000),
  TF_COLLECTOR_PUSH_BATCH_SIZE: '64',
  TF_COLLECTOR_STALE_AFTER_MS: '30000',
  TF_COLLECTOR_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
});

/** Vendor ids are blob path segments and metric label values (and the receiver's path segments). */
export const VENDOR_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** RFC 7230 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/;

export interface CollectorConfigOptions {
  /** Reads a file as UTF-8 (default fs.readFileSync); tests pass a map. */
  readonly readFile?: (path: string) => string;
}

/** Reads the collector's settings from an env object (never process.env implicitly). Throws ConfigError. */
export function collectorConfigFromEnv(env: Env, options: CollectorConfigOptions = {}): CollectorConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  // Annotated: a call to a `never` method narrows only through an explicitly typed name.
  const collector: IssueCollector = collectIssues();
  const parsed = collector.take(() =>
    loadConfig(envSchema(readFile), env, { secrets: ['TF_COLLECTOR_VENDORS'] }),
  );
  const storage = collector.take(() => storageConfigFromEnv(env), {
    is: isStorageError,
    variable: 'TF_STORAGE_*',
  });
  if (!parsed || !storage) collector.fail();
  const issues = collector;

  const all = { ...parsed.TF_COLLECTOR_VENDORS, ...parsed.TF_COLLECTOR_VENDORS_FILE };
  const only = parsed.TF_COLLECTOR_ONLY;
  for (const id of only ?? []) {
    if (!(id in all)) {
      issues.add({ variable: 'TF_COLLECTOR_ONLY', message: `vendor ${id} is not configured` });
    }
  }
  const vendors: VendorSettings[] = [];
  for (const id of Object.keys(all).sort()) {
    if (only && !only.includes(id)) continue;
    const raw = all[id]!;
    const common = {
      id,
      schedule: raw.schedule ?? parsed.TF_COLLECTOR_DEFAULT_SCHEDULE,
      budgetMs: raw.budgetMs ?? parsed.TF_COLLECTOR_DEFAULT_BUDGET_MS,
    };
    const variable =
      id in (parsed.TF_COLLECTOR_VENDORS ?? {}) ? 'TF_COLLECTOR_VENDORS' : 'TF_COLLECTOR_VENDORS_FILE';
    const scheduleIssue = checkSchedule(common.schedule, common.budgetMs);
    if (scheduleIssue) issues.add({ variable, message: `${id}: ${scheduleIssue}` });
    if (raw.kind === 'pull') {
      try {
        // Validates the format and the json mapping now, so a bad mapping fails start-up, not every tick.
        createFeedDecoder(raw.format, raw.mapping);
      } catch (error) {
        if (!isVendorFeedError(error)) throw error;
        issues.add({ variable, message: `${id}: ${error.message}` });
      }
      vendors.push(
        Object.freeze({
          ...common,
          kind: 'pull',
          url: raw.url,
          format: raw.format,
          ...(raw.mapping !== undefined ? { mapping: raw.mapping } : {}),
          headers: Object.freeze(
            resolveHeaders(raw.headers, readFile, (message) =>
              issues.add({ variable, message: `${id}: ${message}` }),
            ),
          ),
          maxBodyBytes: raw.maxBodyBytes ?? parsed.TF_COLLECTOR_MAX_BODY_BYTES,
        } satisfies PullVendorSettings),
      );
    } else {
      vendors.push(
        Object.freeze({
          ...common,
          kind: 'push',
          topic: raw.topic ?? parsed.TF_COLLECTOR_PUSH_TOPIC,
          subscription: raw.subscription ?? parsed.TF_COLLECTOR_PUSH_SUBSCRIPTION,
          maxRecordAgeMs: raw.maxRecordAgeMs ?? parsed.TF_COLLECTOR_PUSH_MAX_RECORD_AGE_MS,
          batchSize: raw.batchSize ?? parsed.TF_COLLECTOR_PUSH_BATCH_SIZE,
        } satisfies PushVendorSettings),
      );
    }
  }
  for (const issue of sharedSubscriptionIssues(vendors)) issues.add(issue);

  const serviceBus = vendors.some((v) => v.kind === 'push')
    ? collector.take(() => messagingConfigFromEnv(env), { is: isMessagingError, variable: 'TF_SERVICEBUS_*' })
    : undefined;
  collector.check();

  return Object.freeze({
    host: parsed.TF_COLLECTOR_HOST,
    port: parsed.TF_COLLECTOR_PORT,
    vendors: Object.freeze(vendors),
    staleAfterMs: parsed.TF_COLLECTOR_STALE_AFTER_MS,
    shutdownTimeoutMs: parsed.TF_COLLECTOR_SHUTDOWN_TIMEOUT_MS,
    logLevel: parsed.TF_LOG_LEVEL,
    storage,
    ...(serviceBus ? { serviceBus } : {}),
  });
}

/**
 * Push vendors on one subscription are drained together by one drainer (a message says which vendor it is
 * for), so they must agree on how: one schedule, budget and batch size.
 */
function sharedSubscriptionIssues(vendors: readonly VendorSettings[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const first = new Map<string, PushVendorSettings>();
  for (const v of vendors) {
    if (v.kind !== 'push') continue;
    const key = `${v.topic}/${v.subscription}`.toLowerCase();
    const other = first.get(key);
    if (!other) {
      first.set(key, v);
    } else if (
      other.schedule !== v.schedule ||
      other.budgetMs !== v.budgetMs ||
      other.batchSize !== v.batchSize
    ) {
      issues.push({
        variable: 'TF_COLLECTOR_VENDORS',
        message: `${v.id} and ${other.id} share subscription ${key} but differ in schedule, budgetMs or batchSize`,
      });
    }
  }
  return issues;
}

/** An invalid pattern, or a budget that would let a tick run into the next one, as a message; else undefined. */
function checkSchedule(pattern: string, budgetMs: number): string | undefined {
  const intervalMs = cronIntervalMs(pattern);
  if (typeof intervalMs === 'string') return intervalMs;
  if (budgetMs >= intervalMs) {
    return `budgetMs ${budgetMs} must be shorter than the schedule's interval (${intervalMs} ms), or ticks would be skipped`;
  }
  return undefined;
}

function envSchema(readFile: (path: string) => string) {
  // Header values are resolved (files read) only for the vendors this process runs: in a one-vendor
  // container the other vendors' secret files are not mounted.
  const headerValue = z.union([z.string().min(1), z.object({ fromFile: z.string().min(1) }).strict()]);
  const common = {
    schedule: z.string().min(1).optional(),
    budgetMs: z.number().int().min(10).max(3_600_000).optional(),
  };
  const pull = z
    .object({
      kind: z.literal('pull'),
      format: z.enum(FEED_FORMATS),
      url: z
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
        .transform((text) => new URL(text)),
      mapping: z.unknown().optional(),
      headers: z
        .record(z.string().regex(HEADER_NAME, 'must be a valid header name'), headerValue)
        .default({}),
      maxBodyBytes: z.number().int().positive().optional(),
      ...common,
    })
    .strict();
  const push = z
    .object({
      kind: z.literal('push'),
      topic: z.string().regex(ENTITY_NAME, 'must be a Service Bus entity name').optional(),
      subscription: z.string().regex(ENTITY_NAME, 'must be a Service Bus entity name').max(50).optional(),
      maxRecordAgeMs: z.number().int().positive().optional(),
      batchSize: z.number().int().min(1).max(1000).optional(),
      ...common,
    })
    .strict();
  const vendors = z
    .record(
      z.string(),
      z.discriminatedUnion('kind', [pull, push], {
        error: 'each vendor needs "kind": "pull" (a polled feed) or "push" (a Service Bus subscription)',
      }),
    )
    .superRefine((record, ctx) => {
      for (const id of Object.keys(record)) {
        if (!VENDOR_ID_PATTERN.test(id)) {
          ctx.addIssue({
            code: 'custom',
            path: [id],
            message: 'vendor ids must match [a-z0-9][a-z0-9_-]{0,63}',
          });
        }
      }
    })
    .optional();
  const int = (min: number) => z.coerce.number().int().min(min);
  return z
    .object({
      TF_COLLECTOR_HOST: z.string().min(1).default(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_HOST),
      TF_COLLECTOR_PORT: int(0).max(65535).default(Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PORT)),
      TF_COLLECTOR_VENDORS: z.string().transform(parseJsonSetting).pipe(vendors).optional(),
      TF_COLLECTOR_VENDORS_FILE: z
        .string()
        .transform(readSettingFile(readFile))
        .transform(parseJsonSetting)
        .pipe(vendors)
        .optional(),
      TF_COLLECTOR_ONLY: z
        .string()
        .transform((text) =>
          text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        )
        .optional(),
      TF_COLLECTOR_DEFAULT_SCHEDULE: z
        .string()
        .min(1)
        .default(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_DEFAULT_SCHEDULE),
      TF_COLLECTOR_DEFAULT_BUDGET_MS: int(10).default(
        Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_DEFAULT_BUDGET_MS),
      ),
      TF_COLLECTOR_MAX_BODY_BYTES: int(1).default(Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_MAX_BODY_BYTES)),
      TF_COLLECTOR_PUSH_TOPIC: z
        .string()
        .regex(ENTITY_NAME)
        .default(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PUSH_TOPIC),
      TF_COLLECTOR_PUSH_SUBSCRIPTION: z
        .string()
        .regex(ENTITY_NAME)
        .default(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PUSH_SUBSCRIPTION),
      TF_COLLECTOR_PUSH_MAX_RECORD_AGE_MS: int(1).default(
        Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PUSH_MAX_RECORD_AGE_MS),
      ),
      TF_COLLECTOR_PUSH_BATCH_SIZE: int(1)
        .max(1000)
        .default(Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PUSH_BATCH_SIZE)),
      TF_COLLECTOR_STALE_AFTER_MS: int(1).default(Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_STALE_AFTER_MS)),
      TF_COLLECTOR_SHUTDOWN_TIMEOUT_MS: int(1).default(
        Number(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_SHUTDOWN_TIMEOUT_MS),
      ),
      TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
    })
    .superRefine((env, ctx) => {
      const inline = Object.keys(env.TF_COLLECTOR_VENDORS ?? {});
      const fromFile = Object.keys(env.TF_COLLECTOR_VENDORS_FILE ?? {});
      const both = inline.filter((id) => fromFile.includes(id));
      if (both.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['TF_COLLECTOR_VENDORS'],
          message: `vendor ${both.join(', ')} is also defined in TF_COLLECTOR_VENDORS_FILE; define each vendor once`,
        });
      }
      if (inline.length + fromFile.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['TF_COLLECTOR_VENDORS'],
          message: 'no vendor configured: set TF_COLLECTOR_VENDORS and/or TF_COLLECTOR_VENDORS_FILE',
        });
      }
    });
}

function resolveHeaders(
  headers: Readonly<Record<string, string | { fromFile: string }>>,
  readFile: (path: string) => string,
  report: (message: string) => void,
): Record<string, Secret> {
  const resolved: Record<string, Secret> = {};
  for (const [name, ref] of Object.entries(headers)) {
    if (typeof ref === 'string') {
      resolved[name] = new Secret(ref);
      continue;
    }
    try {
      resolved[name] = new Secret(readFile(ref.fromFile).trim());
    } catch (error) {
      report(`header ${name}: cannot read ${ref.fromFile} (${fileErrorCode(error)})`);
    }
  }
  return resolved;
}
