// The collector service: one job per pull vendor and one per push subscription, all saving through one vendor
// snapshot repository, and the HTTP side — probes, metrics, and /collectors, which shows every collector's
// last success, last error and staleness. `main.ts` wires the real clients into this; tests and the benchmark
// call it directly.

import type { ServiceBusClient } from '@azure/service-bus';
import {
  createServiceApp,
  type Liveness,
  type Logger,
  type Metrics,
  type ReadinessReport,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import {
  createVendorSnapshotRepository,
  ensureStorage,
  type StorageClients,
  type VendorSnapshotRepository,
} from '@transit-fusion/storage';
import type { FeedRejection } from '@transit-fusion/vendors';
import { createCollectorJob, type CollectorJob, type JobStatus } from './collector-job.js';
import { createCollectorMetrics } from './collector-metrics.js';
import type { Collector } from './collector.js';
import type { CollectorConfig, PushVendorSettings } from './config.js';
import { createPullCollector } from './pull-collector.js';
import { createPushCollector } from './push-collector.js';

export interface CollectorServiceDeps {
  readonly config: CollectorConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly liveness: Liveness;
  readonly storage: StorageClients;
  /** Needed when the config has push vendors. */
  readonly serviceBus?: ServiceBusClient;
  readonly fetch?: typeof fetch;
  readonly clock?: { now(): number };
  /** Called with each tick's start drift in ms, per collector (the benchmark's hook). */
  readonly onTickStart?: (collector: string, driftMs: number) => void;
}

export interface CollectorService {
  readonly app: ServiceApp;
  readonly jobs: readonly CollectorJob[];
  readonly repository: VendorSnapshotRepository;
  /** Creates the vendor container if missing, then schedules every job. */
  start(): Promise<void>;
  /** Stops every job (each finishes its tick in hand) and closes the HTTP server. */
  stop(): Promise<void>;
  statuses(): JobStatus[];
}

/** How many of a feed's latest rejections /collectors shows per vendor. */
const REJECTION_SAMPLE = 10;
/** How long a storage probe's answer is reused by /readyz. */
const READINESS_CACHE_MS = 5_000;

export function createCollectorService(deps: CollectorServiceDeps): CollectorService {
  const { config, logger } = deps;
  const clock = deps.clock ?? Date;
  const collectorMetrics = createCollectorMetrics(deps.metrics);
  const repository = createVendorSnapshotRepository({
    clients: deps.storage,
    container: config.storage.vendorContainer,
    logger,
  });
  const rejectionSamples = new Map<string, readonly FeedRejection[]>();

  const collectors: { collector: Collector; schedule: string; budgetMs: number }[] = [];
  const pushGroups = new Map<string, PushVendorSettings[]>();
  for (const vendor of config.vendors) {
    if (vendor.kind === 'pull') {
      collectors.push({
        collector: createPullCollector({
          vendor,
          repository,
          clock,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          onRejections: (vendorId, rejections) => {
            rejectionSamples.set(vendorId, rejections.slice(0, REJECTION_SAMPLE));
            logger.debug(
              { vendor: vendorId, rejected: rejections.length, sample: rejections.slice(0, 3) },
              'feed entities rejected',
            );
          },
        }),
        schedule: vendor.schedule,
        budgetMs: vendor.budgetMs,
      });
    } else {
      const key = `${vendor.topic}/${vendor.subscription}`.toLowerCase();
      pushGroups.set(key, [...(pushGroups.get(key) ?? []), vendor]);
    }
  }
  for (const vendors of pushGroups.values()) {
    if (!deps.serviceBus) throw new Error('push vendors are configured but no Service Bus client was given');
    collectors.push({
      collector: createPushCollector({ vendors, client: deps.serviceBus, repository, clock, logger }),
      schedule: vendors[0]!.schedule,
      budgetMs: vendors[0]!.budgetMs,
    });
  }

  const jobs = collectors.map(({ collector, schedule, budgetMs }) =>
    createCollectorJob({
      collector,
      schedule,
      budgetMs,
      staleAfterMs: config.staleAfterMs,
      logger,
      metrics: collectorMetrics,
      liveness: deps.liveness,
      clock,
      ...(deps.onTickStart
        ? { onTickStart: (drift: number) => deps.onTickStart!(collector.name, drift) }
        : {}),
    }),
  );

  deps.metrics.gauge({
    name: 'collector_staleness_seconds',
    help: 'Seconds since the collector last succeeded (since start, before its first success).',
    labelNames: ['collector'],
    collect() {
      for (const job of jobs) this.set({ collector: job.name }, job.status().stalenessMs / 1000);
    },
  });

  let probed: { at: number; report: ReadinessReport } | undefined;
  async function readiness(): Promise<ReadinessReport> {
    const now = clock.now();
    if (probed && now - probed.at < READINESS_CACHE_MS) return probed.report;
    let storage: string;
    let ok = true;
    try {
      const exists = await deps.storage.container(config.storage.vendorContainer).exists();
      storage = exists ? 'ok' : `container ${config.storage.vendorContainer} is missing`;
      ok = exists;
    } catch (error) {
      storage = `unreachable: ${(error as Error).message}`;
      ok = false;
    }
    // A failing vendor does not make the collector unready: traffic is not routed to it, and a restart would not
    // bring the vendor back. Its state is on /collectors and in the metrics.
    const checks: Record<string, string> = { storage };
    for (const job of jobs) {
      const s = job.status(now);
      checks[`collector:${s.name}`] =
        s.lastError && (s.lastSuccessAt ?? 0) < s.lastError.at
          ? `failing: ${s.lastError.code}`
          : s.lastSuccessAt !== undefined
            ? 'ok'
            : 'no tick yet';
    }
    probed = { at: now, report: { ok, checks } };
    return probed.report;
  }

  const app = createServiceApp({
    service: 'collector',
    logger,
    registry: deps.metrics.registry,
    liveness: deps.liveness,
    readiness,
  });
  app.get('/collectors', async () => ({
    staleAfterMs: config.staleAfterMs,
    collectors: jobs.map((job) => {
      const status = job.status();
      const samples = status.vendorIds.flatMap((id) =>
        (rejectionSamples.get(id) ?? []).map((r) => ({ vendorId: id, ...r })),
      );
      return samples.length > 0 ? { ...status, rejectionSample: samples } : status;
    }),
  }));

  return {
    app,
    jobs,
    repository,
    async start() {
      await ensureStorage(deps.storage, [config.storage.vendorContainer], []);
      for (const job of jobs) job.start();
    },
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
      await app.close();
    },
    statuses: () => jobs.map((job) => job.status()),
  };
}
