// The composer service: a croner schedule (default every second) that runs one tick at a time — a tick never
// starts while the previous one runs; the skipped one is counted — and everything around it: the leader lease,
// metrics per stage, the liveness heartbeat (fails when no tick completed for livenessMaxAgeMs: the source
// system's hung worker went unnoticed for days), the device-state flush and the periodic data-quality check,
// and the HTTP side (/healthz, /readyz, /metrics, /status). `main.ts` wires real clients into this.

import type { OutgoingMessage } from '@transit-fusion/messaging';
import {
  createServiceApp,
  createTickSchedule,
  type Liveness,
  type Logger,
  type Metrics,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import type {
  DeviceStateTable,
  LeaderLease,
  SnapshotStore,
  VendorSnapshotRepository,
} from '@transit-fusion/storage';
import { isComposerError } from './composer-error.js';
import { createComposer, type TickReport } from './composer.js';
import type { ComposerConfig } from './config.js';
import { createDeviceStateWriter } from './device-state-writer.js';
import { createQualityMonitor, type DeviceAlert } from './quality-monitor.js';
import { createRegistrySource } from './registry-source.js';

export interface ComposerServiceDeps {
  readonly config: ComposerConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly liveness: Liveness;
  readonly lease: LeaderLease;
  readonly vendorSnapshots: VendorSnapshotRepository;
  readonly store: SnapshotStore;
  readonly deviceState: DeviceStateTable;
  /** Sends to the snapshots topic; resolves once Service Bus accepted. */
  readonly announce: (message: OutgoingMessage) => Promise<void>;
  /** Sends to the alerts topic. */
  readonly alert: (message: OutgoingMessage) => Promise<void>;
  readonly fetch?: typeof fetch;
  readonly clock?: { now(): number };
  /** Told every tick's report (tests and the benchmark). */
  readonly onTick?: (report: TickReport | { role: 'failed'; code: string }, lateMs: number) => void;
}

export interface ComposerService {
  readonly app: ServiceApp;
  /** Loads the fleet registry, then schedules ticks. */
  start(): Promise<void>;
  /** Runs one tick now for `tickAt` (tests, the benchmark). */
  runOnce(tickAt: number): Promise<void>;
  /** Stops scheduling, lets the tick in hand finish, flushes device state, releases the lease. */
  stop(): Promise<void>;
  /** Stops without releasing the lease or flushing: what a crash looks like to the other replicas (tests). */
  crash(): void;
  /** Runs the data-quality check now (it also runs every quality interval); returns the alerts raised. */
  checkQuality(): Promise<DeviceAlert[]>;
  /**
   * Writes the device state that is due now (it also flushes every flush interval), or with `all` everything
   * pending (as stopping does).
   */
  flushDeviceState(options?: { all?: boolean }): Promise<{ written: number; failed: number }>;
  /**
   * Reads the vendors' changed snapshots now (a leader also does before each tick) and, given the next tick's
   * time, composes that tick ahead; never throws.
   */
  prefetch(nextTickAt?: number): Promise<void>;
  status(): ComposerStatus;
}

export interface ComposerStatus {
  readonly instanceId: string;
  readonly role: 'leader' | 'follower' | 'starting';
  readonly ticks: number;
  readonly skipped: number;
  readonly failed: number;
  readonly lastSequence?: number;
  readonly lastTickAt?: number;
  readonly lastCompletedAt?: number;
  readonly lastError?: { readonly at: number; readonly code: string; readonly message: string };
}

const HEARTBEAT = 'composer-tick';

/** Node's longest timer; a longer delay fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createComposerService(deps: ComposerServiceDeps): ComposerService {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? Date;
  const registry = createRegistrySource({
    source: config.registrySource,
    refreshMs: config.registryRefreshMs,
    logger,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const quality = createQualityMonitor(config.quality);
  /** Settles once every stored snapshot so far has been fed to the quality monitor and device state. */
  let observed = Promise.resolve();
  // Waiting for the end of the next tick: the device state flush writes each partition right after one.
  const tickEndWaiters: (() => void)[] = [];
  const nextTickEnded = () =>
    new Promise<void>((resolve) => {
      // Not forever: while the schedule is stopped (shutting down) there is no next tick.
      const timer = setTimeout(resolve, 2 * config.tickIntervalMs);
      tickEndWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const devices = createDeviceStateWriter(deps.deviceState, {
    logger,
    flushMs: config.deviceStateFlushMs,
    heartbeatMs: config.deviceStateHeartbeatMs,
    pace: nextTickEnded,
  });
  const composer = createComposer({
    vendors: config.vendors,
    ...(config.priority ? { priority: config.priority } : {}),
    staleAfterMs: config.staleAfterMs,
    lease: deps.lease,
    registry,
    vendorSnapshots: deps.vendorSnapshots,
    store: deps.store,
    announce: deps.announce,
    logger,
    clock,
    onStored: (snapshot) => {
      // After the tick, in the idle time before the next: ~10 ms at 10,000 vehicles that the tick (and the
      // announcement) need not wait for. In order, and awaited by the checks and flushes that read them.
      observed = observed.then(
        () =>
          new Promise<void>((resolve) =>
            setImmediate(() => {
              try {
                quality.observe(snapshot);
                devices.add(snapshot);
              } catch (error) {
                logger.error({ err: error }, 'could not feed a snapshot to device state and quality checks');
              }
              resolve();
            }),
          ),
      );
    },
  });

  const m = {
    ticks: metrics.counter({
      name: 'composer_ticks_total',
      help: 'Ticks by outcome: composed (this replica led and stored), idle (follower), deposed, failed.',
      labelNames: ['outcome'],
    }),
    failed: metrics.counter({
      name: 'composer_ticks_failed_total',
      help: 'Ticks that could not be stored or announced, by error code.',
      labelNames: ['code'],
    }),
    skipped: metrics.counter({
      name: 'composer_ticks_skipped_total',
      help: 'Scheduled ticks not started because the previous tick was still running.',
    }),
    late: metrics.histogram({
      name: 'composer_tick_late_seconds',
      help: 'How late each tick started after its scheduled second.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    duration: metrics.histogram({
      name: 'composer_tick_duration_seconds',
      help: 'Duration of the composing ticks, by stage (read, match, process, encode, write, announce, total).',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1],
    }),
    vehicles: metrics.gauge({
      name: 'composer_snapshot_vehicles',
      help: 'Vehicles in the last snapshot stored.',
    }),
    staleVendors: metrics.gauge({
      name: 'composer_stale_vendors',
      help: 'Vendors whose latest snapshot was older than the stale age at the last tick.',
    }),
    ahead: metrics.counter({
      name: 'composer_composed_ahead_total',
      help: 'Composing ticks by what became of the snapshot composed ahead: used, discarded (a vendor, the sequence or the registry changed since), none.',
      labelNames: ['outcome'],
    }),
    leader: metrics.gauge({ name: 'composer_leader', help: '1 while this replica leads, else 0.' }),
    sequence: metrics.gauge({
      name: 'composer_last_sequence',
      help: 'Sequence of the last snapshot stored.',
    }),
    alerts: metrics.counter({
      name: 'composer_quality_alerts_total',
      help: 'Devices flagged by the data-quality check, by kind.',
      labelNames: ['kind'],
    }),
    deviceWrites: metrics.counter({
      name: 'composer_device_state_writes_total',
      help: 'Device state table writes by outcome.',
      labelNames: ['outcome'],
    }),
  };

  const state = {
    role: 'starting' as ComposerStatus['role'],
    ticks: 0,
    skipped: 0,
    failed: 0,
    lastSequence: undefined as number | undefined,
    lastTickAt: undefined as number | undefined,
    lastCompletedAt: undefined as number | undefined,
    lastError: undefined as ComposerStatus['lastError'],
  };
  let scheduled = false;
  const timers: NodeJS.Timeout[] = [];

  let prefetchTimer: NodeJS.Timeout | undefined;
  /** The next tick's vendor reads, `prefetchLeadMs` before it is due (leaders only). */
  function schedulePrefetch(tickAt: number): void {
    if (config.prefetchLeadMs === 0 || !scheduled) return;
    clearTimeout(prefetchTimer);
    const next = tickAt + config.tickIntervalMs;
    const delay = next - config.prefetchLeadMs - clock.now();
    // A timer longer than Node's limit fires at once: schedules that rare gain nothing from a prefetch anyway.
    if (delay > MAX_TIMER_MS) return;
    prefetchTimer = setTimeout(() => void composer.prefetch(next), Math.max(0, delay));
  }

  async function runTick(tickAt: number): Promise<void> {
    const started = clock.now();
    const lateMs = Math.max(0, started - tickAt);
    m.late.observe(lateMs / 1000);
    state.lastTickAt = tickAt;
    try {
      // The budget runs from the scheduled time (a late tick has less of it), or from now for a tick run by hand.
      const report = await composer.tick(
        tickAt,
        (tickAt > started - config.budgetMs ? tickAt : started) + config.budgetMs,
      );
      state.ticks++;
      state.role = report.role === 'leader' ? 'leader' : 'follower';
      m.leader.set(report.role === 'leader' ? 1 : 0);
      if (report.role === 'leader') {
        schedulePrefetch(tickAt);
        m.ticks.inc({ outcome: 'composed' });
        m.ahead.inc({ outcome: report.ahead });
        state.lastSequence = report.sequence;
        m.sequence.set(report.sequence);
        m.vehicles.set(report.snapshot.vehicles.length);
        m.staleVendors.set(report.staleVendors.length);
        for (const [stage, ms] of Object.entries(report.stageMs)) m.duration.observe({ stage }, ms / 1000);
        m.duration.observe({ stage: 'total' }, (clock.now() - started) / 1000);
      } else {
        m.ticks.inc({ outcome: report.role === 'deposed' ? 'deposed' : 'idle' });
      }
      deps.onTick?.(report, lateMs);
    } catch (error) {
      const code = isComposerError(error) ? error.code : 'INTERNAL';
      state.failed++;
      state.lastError = { at: clock.now(), code, message: (error as Error).message };
      m.ticks.inc({ outcome: 'failed' });
      m.failed.inc({ code });
      logger.error({ err: error, code, tickAt: new Date(tickAt).toISOString() }, 'tick failed');
      deps.onTick?.({ role: 'failed', code }, lateMs);
    } finally {
      state.lastCompletedAt = clock.now();
      deps.liveness.beat(HEARTBEAT);
      for (const resume of tickEndWaiters.splice(0)) resume();
    }
  }

  const schedule = createTickSchedule({
    pattern: config.schedule,
    // A tick is for its scheduled second (by hand: the tick asked for; never both undefined in practice).
    tick: (scheduledAt) => runTick(scheduledAt ?? Math.floor(clock.now() / 1000) * 1000),
    onSkip: () => {
      state.skipped++;
      m.skipped.inc();
    },
  });

  async function checkQuality(): Promise<DeviceAlert[]> {
    await observed;
    const alerts = quality.check();
    for (const alert of alerts) await raise(alert);
    return alerts;
  }

  async function flushDeviceState(options?: { all?: boolean }): Promise<{ written: number; failed: number }> {
    await observed;
    const result = await devices.flush(options);
    if (result.written) m.deviceWrites.inc({ outcome: 'written' }, result.written);
    if (result.failed) m.deviceWrites.inc({ outcome: 'failed' }, result.failed);
    return result;
  }

  async function raise(alert: DeviceAlert): Promise<void> {
    const kinds = [
      ...(alert.invalidPositions > 0 ? ['invalid-position'] : []),
      ...(alert.impossibleJumps > 0 ? ['impossible-jump'] : []),
    ];
    for (const kind of kinds) m.alerts.inc({ kind });
    logger.warn({ alert }, 'device reports bad positions repeatedly');
    try {
      await deps.deviceState.flag(alert.vehicleId, alert.quality);
      await deps.alert({
        body: { kind: 'device-quality', ...alert, kinds },
        subject: 'device-quality',
        applicationProperties: { kind: 'device-quality', vehicleId: alert.vehicleId },
      });
    } catch (error) {
      logger.error({ err: error, vehicleId: alert.vehicleId }, 'could not flag or announce a quality alert');
    }
  }

  const app = createServiceApp({
    service: 'composer',
    logger,
    registry: metrics.registry,
    liveness: deps.liveness,
    readiness: async () => {
      const registryLoaded = registry.current() !== undefined;
      return {
        ok: registryLoaded && scheduled,
        checks: {
          registry: registryLoaded ? 'loaded' : 'not loaded yet',
          role: state.role,
        },
      };
    },
  });
  app.get('/status', async () => ({ ...status(), pendingDeviceStates: devices.pending }));

  function status(): ComposerStatus {
    return {
      instanceId: config.instanceId,
      role: state.role,
      ticks: state.ticks,
      skipped: state.skipped,
      failed: state.failed,
      ...(state.lastSequence !== undefined ? { lastSequence: state.lastSequence } : {}),
      ...(state.lastTickAt !== undefined ? { lastTickAt: state.lastTickAt } : {}),
      ...(state.lastCompletedAt !== undefined ? { lastCompletedAt: state.lastCompletedAt } : {}),
      ...(state.lastError ? { lastError: state.lastError } : {}),
    };
  }

  function halt(): void {
    schedule.stop();
    scheduled = false;
    clearTimeout(prefetchTimer);
    for (const t of timers.splice(0)) clearInterval(t);
  }

  return {
    app,
    async start() {
      deps.liveness.register(HEARTBEAT, config.livenessMaxAgeMs);
      try {
        await registry.load();
      } catch (error) {
        // Not fatal: each tick retries, and /readyz says why meanwhile.
        logger.error({ err: error }, 'fleet registry not loaded; ticks retry');
      }
      schedule.start();
      scheduled = true;
      timers.push(
        setInterval(() => {
          flushDeviceState().catch((error: unknown) =>
            logger.warn({ err: error }, 'device state flush failed'),
          );
        }, config.deviceStateFlushMs).unref(),
        setInterval(() => void checkQuality(), config.quality.intervalMs).unref(),
      );
      logger.info(
        {
          instanceId: config.instanceId,
          schedule: config.schedule,
          vendors: config.vendors.map((v) => v.vendorId),
        },
        'composer scheduled',
      );
    },
    runOnce: (tickAt) => schedule.runNow(tickAt),
    async stop() {
      halt();
      await schedule.inFlight();
      await flushDeviceState({ all: true }).catch(() => undefined);
      await deps.lease.release();
      deps.liveness.unregister(HEARTBEAT);
      await app.close();
    },
    crash() {
      halt();
    },
    checkQuality,
    flushDeviceState,
    prefetch: (nextTickAt) => composer.prefetch(nextTickAt),
    status,
  };
}
