// What the receiver knows about Service Bus, for readiness and for failing fast.
//
// Readiness (`/readyz`) follows the last outcome of any broker contact: a send that resolved means reachable, a
// send that failed for availability reasons means unreachable. When no send has told anything for
// `probeIntervalMs`, the sink's probe (a cheap round trip) is run instead, so an idle receiver still notices an
// outage, and notices the recovery. Without a probe, readiness follows sends alone (ready until one fails).
//
// Failing fast: while the broker is known unreachable, one push at a time is let through as a trial; the others
// are answered 503 at once instead of each waiting out the send timeout. The first success (trial or probe)
// opens the way again.

import type { ReadinessReport } from '@transit-fusion/service-kit';
import type { PushSendOptions } from './push-sink.js';

export type Admission =
  /** Send normally. */
  | 'send'
  /** The broker is down: this send is the one trial; report its outcome with `trial: true`. */
  | 'trial'
  /** The broker is down and a trial is in flight: answer 503 without sending. */
  | 'reject';

export interface BrokerHealth {
  readonly up: boolean;
  admit(): Admission;
  succeeded(options?: { trial?: boolean }): void;
  failed(reason: string, options?: { trial?: boolean }): void;
  /** Released without an outcome (a trial that turned out not to reach the broker). */
  released(options?: { trial?: boolean }): void;
  report(): ReadinessReport;
  /** Runs the probe if nothing has been heard for a probe interval; called by the timer `start` sets up. */
  tick(): Promise<void>;
  start(): void;
  stop(): void;
}

export interface BrokerHealthOptions {
  readonly probe?: (options?: PushSendOptions) => Promise<void>;
  readonly probeIntervalMs: number;
  /** Wall clock, for the `since` in reports. */
  readonly clock: { now(): number };
  /** Called when reachability changes (a metric, a log line). */
  readonly onChange?: (up: boolean, reason: string) => void;
}

export function createBrokerHealth(options: BrokerHealthOptions): BrokerHealth {
  const { clock, probe, probeIntervalMs } = options;
  // Without a probe nothing would ever make the receiver ready before its first send: assume reachable.
  let state: 'unknown' | 'up' | 'down' = probe ? 'unknown' : 'up';
  // Intervals on the monotonic clock (immune to wall-clock jumps); `since` on the wall clock, for people.
  let lastContactAt: number | undefined;
  let since = clock.now();
  let reason = probe ? 'not contacted yet' : 'no failure seen';
  let trialInFlight = false;
  let probing = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (next: 'up' | 'down', why: string) => {
    lastContactAt = performance.now();
    if (next !== state) {
      state = next;
      since = clock.now();
      options.onChange?.(next === 'up', why);
    }
    reason = why;
  };
  const endTrial = (o?: { trial?: boolean }) => {
    if (o?.trial) trialInFlight = false;
  };

  const health: BrokerHealth = {
    get up() {
      return state === 'up';
    },
    admit() {
      if (state !== 'down') return 'send';
      if (trialInFlight) return 'reject';
      trialInFlight = true;
      return 'trial';
    },
    succeeded(o) {
      endTrial(o);
      set('up', 'ok');
    },
    failed(why, o) {
      endTrial(o);
      set('down', why);
    },
    released(o) {
      endTrial(o);
    },
    report() {
      if (state === 'up') {
        const contact =
          lastContactAt === undefined
            ? 'no contact yet'
            : `last contact ${((performance.now() - lastContactAt) / 1000).toFixed(1)} s ago`;
        return { ok: true, checks: { broker: `ok: ${contact}` } };
      }
      if (state === 'unknown') return { ok: false, checks: { broker: reason } };
      return {
        ok: false,
        checks: { broker: `unreachable since ${new Date(since).toISOString()}: ${reason}` },
      };
    },
    async tick() {
      if (!probe || probing) return;
      if (lastContactAt !== undefined && performance.now() - lastContactAt < probeIntervalMs) return;
      probing = true;
      try {
        await probe({ abortSignal: AbortSignal.timeout(probeIntervalMs) });
        set('up', 'ok');
      } catch (error) {
        set('down', `probe failed: ${describe(error)}`);
      } finally {
        probing = false;
      }
    },
    start() {
      if (!probe || timer) return;
      void health.tick();
      timer = setInterval(() => void health.tick(), Math.max(100, Math.floor(probeIntervalMs / 2))).unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  return health;
}

/** An error's code or name, never its full message (which may quote an endpoint or a token). */
export function describe(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | null;
  return String(e?.code ?? e?.name ?? 'error');
}
