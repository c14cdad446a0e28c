// Runs one collector on its cron schedule through service-kit's tick schedule: a tick never starts while the
// previous one runs (the late one is skipped and counted, never stacked), and every tick gets an AbortSignal that fires when its budget is spent or the service shuts down. The job records each
// tick's outcome for health and metrics, measures how late each tick started against its scheduled time, and
// beats a liveness heartbeat when a tick ends — so a tick that hangs despite its signal stops the beats, the
// heartbeat goes stale, /healthz fails and the orchestrator restarts the process.

import { createTickSchedule, cronIntervalMs } from '@transit-fusion/service-kit';
import { isCollectorError, type CollectorErrorCode } from './collector-error.js';
import type { CollectorMetrics } from './collector-metrics.js';
import type { Collector, TickReport } from './collector.js';

export interface JobLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface HeartbeatRegistry {
  register(name: string, maxAgeMs: number): void;
  beat(name: string): void;
  unregister(name: string): void;
}

export interface JobStatus {
  readonly name: string;
  readonly vendorIds: readonly string[];
  readonly schedule: string;
  readonly budgetMs: number;
  readonly running: boolean;
  readonly ticks: number;
  readonly skips: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly lastTickAt?: number;
  readonly lastSuccessAt?: number;
  readonly lastError?: {
    readonly at: number;
    readonly code: CollectorErrorCode | 'INTERNAL';
    readonly message: string;
  };
  readonly lastReport?: TickReport;
  /** Milliseconds since the last success (or since the job started, before any). */
  readonly stalenessMs: number;
  readonly stale: boolean;
}

export interface CollectorJob {
  readonly name: string;
  start(): void;
  /** Runs one tick now, outside the schedule (tests, the benchmark); skipped if one is running. */
  runOnce(): Promise<void>;
  status(now?: number): JobStatus;
  /** Stops scheduling, waits for the tick in hand (bounded by its budget), then closes the collector. */
  stop(): Promise<void>;
}

export interface CollectorJobDeps {
  readonly collector: Collector;
  readonly schedule: string;
  readonly budgetMs: number;
  readonly staleAfterMs: number;
  readonly logger: JobLogger;
  readonly metrics: CollectorMetrics;
  readonly liveness?: HeartbeatRegistry;
  readonly clock?: { now(): number };
  /** Called with each tick's start drift in ms (the benchmark's hook). */
  readonly onTickStart?: (driftMs: number) => void;
}

export function createCollectorJob(deps: CollectorJobDeps): CollectorJob {
  const { collector, logger, metrics } = deps;
  const clock = deps.clock ?? Date;
  const heartbeat = `collector:${collector.name}`;
  const shutdown = new AbortController();
  let startedAt = clock.now();
  const state = {
    ticks: 0,
    skips: 0,
    failures: 0,
    consecutiveFailures: 0,
    lastTickAt: undefined as number | undefined,
    lastSuccessAt: undefined as number | undefined,
    lastError: undefined as JobStatus['lastError'],
    lastReport: undefined as TickReport | undefined,
  };

  async function runTick(scheduledAt: number | undefined): Promise<void> {
    const start = clock.now();
    if (scheduledAt !== undefined) {
      const drift = Math.max(0, start - scheduledAt);
      metrics.tickStartDrift(collector.name, drift / 1000);
      deps.onTickStart?.(drift);
    }
    state.lastTickAt = start;
    const signal = AbortSignal.any([AbortSignal.timeout(deps.budgetMs), shutdown.signal]);
    try {
      const report = await collector.tick(signal);
      const end = clock.now();
      state.ticks++;
      state.consecutiveFailures = 0;
      state.lastSuccessAt = end;
      state.lastReport = report;
      metrics.tick(collector.name, 'success', (end - start) / 1000);
      metrics.lastSuccess(collector.name, end / 1000);
      for (const v of report.vendors) metrics.vendorReport(v);
      logger.debug({ collector: collector.name, ms: end - start, report }, 'tick done');
    } catch (error) {
      const end = clock.now();
      const code = isCollectorError(error) ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      state.ticks++;
      state.failures++;
      state.consecutiveFailures++;
      state.lastError = { at: end, code, message };
      metrics.tick(collector.name, 'failure', (end - start) / 1000);
      metrics.failure(collector.name, code);
      // The first failure of a run and then one in 60 are warnings; the rest debug (a vendor down for an hour
      // would otherwise log 3,600 warnings), while metrics and /collectors count every one.
      const level = code === 'INTERNAL' ? 'error' : state.consecutiveFailures % 60 === 1 ? 'warn' : 'debug';
      logger[level](
        { collector: collector.name, code, consecutiveFailures: state.consecutiveFailures, err: error },
        'tick failed',
      );
    } finally {
      deps.liveness?.beat(heartbeat);
    }
  }

  function onSkip(): void {
    state.skips++;
    metrics.skip(collector.name);
    logger.debug(
      { collector: collector.name, skips: state.skips },
      'tick skipped: the previous one still runs',
    );
  }

  const schedule = createTickSchedule({ pattern: deps.schedule, tick: runTick, onSkip });
  let started = false;

  return {
    name: collector.name,
    start() {
      if (started) return;
      started = true;
      startedAt = clock.now();
      schedule.start();
      // A tick that never ends stops the beats; allow a few intervals and the budget before calling it stuck.
      const interval = cronIntervalMs(deps.schedule);
      const intervalMs = typeof interval === 'number' ? interval : 1_000;
      deps.liveness?.register(heartbeat, Math.max(30_000, 5 * intervalMs + deps.budgetMs));
      logger.info(
        {
          collector: collector.name,
          vendors: collector.vendorIds,
          schedule: deps.schedule,
          budgetMs: deps.budgetMs,
        },
        'collector scheduled',
      );
    },
    runOnce: () => schedule.runNow(),
    status(now = clock.now()) {
      const stalenessMs = now - (state.lastSuccessAt ?? startedAt);
      return {
        name: collector.name,
        vendorIds: collector.vendorIds,
        schedule: deps.schedule,
        budgetMs: deps.budgetMs,
        running: schedule.inFlight() !== undefined,
        ticks: state.ticks,
        skips: state.skips,
        failures: state.failures,
        consecutiveFailures: state.consecutiveFailures,
        ...(state.lastTickAt !== undefined ? { lastTickAt: state.lastTickAt } : {}),
        ...(state.lastSuccessAt !== undefined ? { lastSuccessAt: state.lastSuccessAt } : {}),
        ...(state.lastError ? { lastError: state.lastError } : {}),
        ...(state.lastReport ? { lastReport: state.lastReport } : {}),
        stalenessMs,
        stale: stalenessMs > deps.staleAfterMs,
      };
    },
    async stop() {
      schedule.stop();
      started = false;
      const inFlight = schedule.inFlight();
      // The tick in hand may finish (its budget bounds it): its saves and settlements are worth keeping. One
      // that ignores its signal is abandoned after that, so shutdown cannot hang on it.
      if (inFlight && !(await settlesWithin(inFlight, deps.budgetMs + 1_000))) {
        shutdown.abort(new Error('the collector is shutting down'));
        if (!(await settlesWithin(inFlight, 1_000))) {
          logger.warn({ collector: collector.name }, 'a tick did not end at shutdown; abandoning it');
        }
      }
      shutdown.abort(new Error('the collector is shutting down'));
      deps.liveness?.unregister(heartbeat);
      await collector.close();
    },
  };
}

/** Whether `promise` settles within `ms` (never rejects). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
