/**
 * The collector service: cron-scheduled collectors that poll pull vendors' feeds (GTFS-RT, SIRI-VM, JSON) and
 * drain push vendors' Service Bus subscriptions, saving each vendor's latest snapshot to storage.
 *
 * @example
 * ```ts
 * import { collectorConfigFromEnv, createCollectorService } from '@transit-fusion/collector';
 * const config = collectorConfigFromEnv(process.env); // ConfigError names every bad variable
 * const service = createCollectorService({ config, logger, metrics, liveness, storage, serviceBus });
 * await service.start();                              // schedules every collector
 * await service.app.listen({ port: config.port });    // /healthz /readyz /metrics /collectors
 * ```
 */
export { CollectorError, isCollectorError, type CollectorErrorCode } from './collector-error.js';
export {
  collectorConfigFromEnv,
  COLLECTOR_ENV_DEFAULTS,
  VENDOR_ID_PATTERN,
  type CollectorConfig,
  type CollectorConfigOptions,
  type VendorSettings,
  type PullVendorSettings,
  type PushVendorSettings,
} from './config.js';
export type { Collector, TickReport, VendorTickReport } from './collector.js';
export {
  createCollectorJob,
  type CollectorJob,
  type CollectorJobDeps,
  type JobStatus,
} from './collector-job.js';
export { createCollectorMetrics, type CollectorMetrics } from './collector-metrics.js';
export { fetchFeed, type FeedResponse, type FeedValidators, type FetchFeedOptions } from './feed-fetcher.js';
export { createPullCollector, type PullCollectorDeps } from './pull-collector.js';
export { createPushCollector, type PushCollectorDeps } from './push-collector.js';
export { createPushVendorState, type PushVendorState, type MergeCounts } from './push-state.js';
export {
  createCollectorService,
  type CollectorService,
  type CollectorServiceDeps,
} from './collector-service.js';
