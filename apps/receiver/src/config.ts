// The receiver's settings, from the environment, parsed once at start-up and frozen: where it listens, which
// vendors may push and how each authenticates, the limits, and the Service Bus connection (read by the messaging
// lib). A bad setting stops start-up with one ConfigError naming every bad variable, never echoing a secret.
//
// Vendors come from TF_RECEIVER_VENDORS (JSON) and/or TF_RECEIVER_VENDORS_FILE (a JSON file, e.g. a Kubernetes
// secret or Key Vault CSI mount); a vendor may be defined in only one of them. Any credential may be written
// inline or as `{ "fromFile": "/mnt/secrets/x" }` (the file's content, trimmed). Files are read once, here:
// rotating a credential means adding the new one next to the old, rolling the pods, then removing the old.

import { readFileSync } from 'node:fs';
import { isMessagingError, messagingConfigFromEnv, type MessagingConfig } from '@transit-fusion/messaging';
import {
  collectIssues,
  fileErrorCode,
  parseJsonSetting,
  readSettingFile,
  loadConfig,
  LOG_LEVELS,
  type IssueCollector,
  type Env,
  type LogLevel,
} from '@transit-fusion/service-kit';
import { z } from 'zod';
import { Secret } from '@transit-fusion/service-kit';

export type VendorAuth =
  /** `x-api-key` must equal one of the keys (several during a rotation). */
  | { readonly type: 'api-key'; readonly keys: readonly Secret[] }
  /** `x-signature: sha256=<hex>` over `<x-timestamp>.<body>` with one of the secrets. */
  | { readonly type: 'hmac'; readonly secrets: readonly Secret[] };

export interface VendorSettings {
  readonly id: string;
  readonly auth: VendorAuth;
  /** Token bucket: sustained pushes per second, and how many may come at once. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly maxBodyBytes: number;
  readonly maxRecords: number;
}

export interface ReceiverConfig {
  readonly host: string;
  readonly port: number;
  /** Service Bus topic the pushes go to. */
  readonly topic: string;
  /** By vendor id (the `:vendor` path segment). */
  readonly vendors: Readonly<Record<string, VendorSettings>>;
  /** Largest message body sent to Service Bus; bigger pushes are split into parts. */
  readonly maxMessageBytes: number;
  /** A send not accepted within this time is answered 503 (its outcome is then unknown). */
  readonly sendTimeoutMs: number;
  /** The Retry-After of 503 answers. */
  readonly retryAfterSeconds: number;
  /** Readiness: the broker is probed when no send has told its state for this long. */
  readonly brokerProbeIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly serviceBus: MessagingConfig;
}

/** Documented defaults, for the README and deployment manifests. */
export const RECEIVER_ENV_DEFAULTS = Object.freeze({
  TF_RECEIVER_HOST: '0.0.0.0',
  TF_RECEIVER_PORT: '8081',
  TF_RECEIVER_TOPIC: 'vendor-pushes',
  TF_RECEIVER_MAX_BODY_BYTES: String(1024 * 1024),
  TF_RECEIVER_MAX_RECORDS: '10000',
  TF_RECEIVER_MAX_MESSAGE_BYTES: String(200 * 1024),
  TF_RECEIVER_RATE_PER_SECOND: '20',
  TF_RECEIVER_RATE_BURST: '40',
  TF_RECEIVER_SEND_TIMEOUT_MS: '10000',
  TF_RECEIVER_RETRY_AFTER_SECONDS: '5',
  TF_RECEIVER_BROKER_PROBE_INTERVAL_MS: '5000',
  TF_RECEIVER_SHUTDOWN_TIMEOUT_MS: '25000',
  TF_LOG_LEVEL: 'info',
});

/** Vendor ids are path segments and label values: short, lower-case, URL-safe. */
export const VENDOR_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MIN_CREDENTIAL_LENGTH = 16;
const MIN_MESSAGE_BYTES = 16 * 1024;

export interface ReceiverConfigOptions {
  /** Reads a file as UTF-8 (default fs.readFileSync); tests pass a map. */
  readonly readFile?: (path: string) => string;
}

/** Reads the receiver's settings from an env object (never process.env implicitly). Throws ConfigError. */
export function receiverConfigFromEnv(env: Env, options: ReceiverConfigOptions = {}): ReceiverConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  // Annotated: a call to a `never` method narrows only through an explicitly typed name.
  const issues: IssueCollector = collectIssues();
  const parsed = issues.take(() =>
    loadConfig(envSchema(readFile), env, { secrets: ['TF_RECEIVER_VENDORS'] }),
  );
  const serviceBus = issues.take(() => messagingConfigFromEnv(env), {
    is: isMessagingError,
    variable: 'TF_SERVICEBUS_*',
  });
  if (!parsed || !serviceBus) issues.fail();

  const defaults = {
    rateLimit: { perSecond: parsed.TF_RECEIVER_RATE_PER_SECOND, burst: parsed.TF_RECEIVER_RATE_BURST },
    maxBodyBytes: parsed.TF_RECEIVER_MAX_BODY_BYTES,
    maxRecords: parsed.TF_RECEIVER_MAX_RECORDS,
  };
  const vendors: Record<string, VendorSettings> = {};
  for (const [id, vendor] of Object.entries({
    ...parsed.TF_RECEIVER_VENDORS,
    ...parsed.TF_RECEIVER_VENDORS_FILE,
  })) {
    vendors[id] = Object.freeze({
      id,
      auth:
        vendor.auth.type === 'api-key'
          ? Object.freeze({ type: 'api-key' as const, keys: Object.freeze([...vendor.auth.keys]) })
          : Object.freeze({
              type: 'hmac' as const,
              secrets: Object.freeze([
                ...(vendor.auth.secrets ?? []),
                ...(vendor.auth.secret ? [vendor.auth.secret] : []),
              ]),
            }),
      rateLimit: Object.freeze({ ...defaults.rateLimit, ...vendor.rateLimit }),
      maxBodyBytes: vendor.maxBodyBytes ?? defaults.maxBodyBytes,
      maxRecords: vendor.maxRecords ?? defaults.maxRecords,
    });
  }
  return Object.freeze({
    host: parsed.TF_RECEIVER_HOST,
    port: parsed.TF_RECEIVER_PORT,
    topic: parsed.TF_RECEIVER_TOPIC,
    vendors: Object.freeze(vendors),
    maxMessageBytes: parsed.TF_RECEIVER_MAX_MESSAGE_BYTES,
    sendTimeoutMs: parsed.TF_RECEIVER_SEND_TIMEOUT_MS,
    retryAfterSeconds: parsed.TF_RECEIVER_RETRY_AFTER_SECONDS,
    brokerProbeIntervalMs: parsed.TF_RECEIVER_BROKER_PROBE_INTERVAL_MS,
    shutdownTimeoutMs: parsed.TF_RECEIVER_SHUTDOWN_TIMEOUT_MS,
    logLevel: parsed.TF_LOG_LEVEL,
    serviceBus,
  });
}

const positiveInt = (fallback: string) => z.coerce.number().int().positive().default(Number(fallback));

function envSchema(readFile: (path: string) => string) {
  const fromFile = z.object({ fromFile: z.string().min(1) }).strict();
  // A credential, inline or from a file; too short to resist guessing is refused.
  const credential = z.union([z.string(), fromFile]).transform((ref, ctx) => {
    let value = typeof ref === 'string' ? ref : undefined;
    if (typeof ref !== 'string') {
      try {
        value = readFile(ref.fromFile).trim();
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `cannot read ${ref.fromFile} (${fileErrorCode(error)})` });
        return z.NEVER;
      }
    }
    if (value!.length < MIN_CREDENTIAL_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${MIN_CREDENTIAL_LENGTH} characters` });
      return z.NEVER;
    }
    return new Secret(value!);
  });
  const vendor = z
    .object({
      auth: z.discriminatedUnion('type', [
        z.object({ type: z.literal('api-key'), keys: z.array(credential).min(1) }).strict(),
        z
          .object({
            type: z.literal('hmac'),
            secret: credential.optional(),
            secrets: z.array(credential).min(1).optional(),
          })
          .strict()
          .refine((a) => (a.secret === undefined) !== (a.secrets === undefined), {
            message: 'set either secret or secrets (for a rotation), not both',
          }),
      ]),
      rateLimit: z
        .object({
          perSecond: z.number().positive().optional(),
          burst: z.number().int().positive().optional(),
        })
        .strict()
        .optional(),
      maxBodyBytes: z.number().int().positive().optional(),
      maxRecords: z.number().int().positive().optional(),
    })
    .strict();
  const vendors = z.record(z.string(), vendor).superRefine((record, ctx) => {
    for (const id of Object.keys(record)) {
      if (!VENDOR_ID_PATTERN.test(id)) {
        ctx.addIssue({
          code: 'custom',
          path: [id],
          message: 'vendor ids must match [a-z0-9][a-z0-9_-]{0,63}',
        });
      }
    }
  });

  return z
    .object({
      TF_RECEIVER_HOST: z.string().min(1).default(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_HOST),
      TF_RECEIVER_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
      TF_RECEIVER_TOPIC: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,259}$/, 'must be a Service Bus topic name')
        .default(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_TOPIC),
      TF_RECEIVER_VENDORS: z.string().transform(parseJsonSetting).pipe(vendors).optional(),
      TF_RECEIVER_VENDORS_FILE: z
        .string()
        .min(1)
        .transform(readSettingFile(readFile))
        .transform(parseJsonSetting)
        .pipe(vendors)
        .optional(),
      TF_RECEIVER_MAX_BODY_BYTES: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_MAX_BODY_BYTES),
      TF_RECEIVER_MAX_RECORDS: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_MAX_RECORDS),
      TF_RECEIVER_MAX_MESSAGE_BYTES: z.coerce
        .number()
        .int()
        .min(MIN_MESSAGE_BYTES, `must be at least ${MIN_MESSAGE_BYTES} (one record must fit)`)
        .default(Number(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_MAX_MESSAGE_BYTES)),
      TF_RECEIVER_RATE_PER_SECOND: z.coerce.number().positive().default(20),
      TF_RECEIVER_RATE_BURST: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_RATE_BURST),
      TF_RECEIVER_SEND_TIMEOUT_MS: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_SEND_TIMEOUT_MS),
      TF_RECEIVER_RETRY_AFTER_SECONDS: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_RETRY_AFTER_SECONDS),
      TF_RECEIVER_BROKER_PROBE_INTERVAL_MS: positiveInt(
        RECEIVER_ENV_DEFAULTS.TF_RECEIVER_BROKER_PROBE_INTERVAL_MS,
      ),
      TF_RECEIVER_SHUTDOWN_TIMEOUT_MS: positiveInt(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_SHUTDOWN_TIMEOUT_MS),
      TF_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
    })
    .superRefine((env, ctx) => {
      const inline = Object.keys(env.TF_RECEIVER_VENDORS ?? {});
      const fromFileIds = Object.keys(env.TF_RECEIVER_VENDORS_FILE ?? {});
      const both = inline.filter((id) => fromFileIds.includes(id));
      if (both.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['TF_RECEIVER_VENDORS'],
          message: `vendor ${both.join(', ')} is also defined in TF_RECEIVER_VENDORS_FILE; define each vendor once`,
        });
      }
      if (inline.length + fromFileIds.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['TF_RECEIVER_VENDORS'],
          message: 'no vendor configured: set TF_RECEIVER_VENDORS and/or TF_RECEIVER_VENDORS_FILE',
        });
      }
    });
}
