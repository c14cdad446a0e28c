// Shared by the receiver's tests: a config with one API key vendor (`acme`) and one HMAC vendor (`globex`), an
// in-memory PushSink that records pushes and fails or stalls on demand, and sample records.

import { createLogger, createMetrics, type Metrics } from '@transit-fusion/service-kit';
import { receiverConfigFromEnv, type ReceiverConfig } from '../src/config.js';
import { createReceiverApp } from '../src/receiver-app.js';
import type { PushSendOptions, PushSink, VendorPush } from '../src/push-sink.js';
import { signBody } from '../src/vendor-auth.js';

export const API_KEY = 'acme-key-0000000000000001';
export const NEXT_API_KEY = 'acme-key-0000000000000002';
export const HMAC_SECRET = 'globex-secret-00000000000001';
/** A connection string that parses but is never dialled by unit tests. */
export const DUMMY_CONNECTION_STRING =
  'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=any;SharedAccessKey=any;UseDevelopmentEmulator=true';
/** 2026-11-21T08:47:00Z */
export const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);

export const VENDORS = {
  acme: {
    auth: { type: 'api-key', keys: [API_KEY, NEXT_API_KEY] },
    rateLimit: { perSecond: 1000, burst: 1000 },
  },
  globex: {
    auth: { type: 'hmac', secret: HMAC_SECRET },
    rateLimit: { perSecond: 1000, burst: 1000 },
    maxBodyBytes: 4096,
    maxRecords: 50,
  },
};

export function testConfig(env: Record<string, string> = {}, vendors: object = VENDORS): ReceiverConfig {
  return receiverConfigFromEnv({
    TF_RECEIVER_VENDORS: JSON.stringify(vendors),
    TF_SERVICEBUS_CONNECTION_STRING: DUMMY_CONNECTION_STRING,
    TF_RECEIVER_RETRY_AFTER_SECONDS: '7',
    ...env,
  });
}

export interface FakeSink extends PushSink {
  readonly pushes: VendorPush[];
  /** The next sends reject with this error (until cleared with undefined). */
  failWith(error: Error | undefined): void;
  /** The next sends wait until the returned function is called (then follow failWith). */
  hold(): () => void;
  /** Calls received, accepted or not. */
  calls: number;
}

export function fakeSink(): FakeSink {
  let failure: Error | undefined;
  let gate: Promise<void> | undefined;
  const sink: FakeSink = {
    pushes: [],
    calls: 0,
    failWith(error) {
      failure = error;
    },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
    async send(push: VendorPush, options: PushSendOptions = {}) {
      sink.calls += 1;
      if (gate) {
        await Promise.race([
          gate,
          new Promise((_resolve, reject) =>
            options.abortSignal?.addEventListener('abort', () => reject(options.abortSignal!.reason)),
          ),
        ]);
      }
      if (failure) throw failure;
      sink.pushes.push(push);
    },
  };
  return sink;
}

export function sampleRecord(i: number, extra: Record<string, unknown> = {}) {
  return {
    vehicleKey: `bus-${i}`,
    observedAt: T0 - 1_000,
    position: { lat: 60.17 + i / 1000, lon: 24.94 },
    speed: 8.5,
    ...extra,
  };
}

export function hmacHeaders(body: string, timestamp = Math.floor(T0 / 1000), secret = HMAC_SECRET) {
  return {
    'content-type': 'application/json',
    'x-timestamp': String(timestamp),
    'x-signature': signBody(secret, String(timestamp), body),
  };
}

export function buildReceiver(options: { config?: ReceiverConfig; sink?: PushSink } = {}) {
  let now = T0;
  const clock = {
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'receiver',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const metrics: Metrics = createMetrics({ service: 'receiver', defaultMetrics: false });
  const sink = options.sink ?? fakeSink();
  const app = createReceiverApp({ config: options.config ?? testConfig(), sink, logger, metrics, clock });
  return { app, sink, clock, metrics, lines };
}

/** The value of one series in the registry, e.g. `receiver_pushes_accepted_total{vendor="acme"}`. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>) {
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (!name.startsWith(metric.name)) continue;
    const value = (metric.values as { metricName?: string; labels: object; value: number }[]).find(
      (v) =>
        (v.metricName ?? metric.name) === name &&
        Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    );
    if (value) return value.value;
  }
  return 0;
}
