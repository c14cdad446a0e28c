/**
 * What every transit-fusion service shares: validated config, structured logs, Prometheus metrics, liveness
 * heartbeats and readiness, the probe/metrics HTTP routes, and a clean shutdown on SIGTERM.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { createLiveness, createLogger, createMetrics, createServiceApp, loadConfig, runService } from '@transit-fusion/service-kit';
 *
 * const config = loadConfig(z.object({ TF_PORT: z.coerce.number().int().default(8080) }), process.env); // ConfigError names bad variables
 * const logger = createLogger({ service: 'example', level: 'info' });
 * const metrics = createMetrics({ service: 'example' });
 * const liveness = createLiveness(); // includes the event-loop heartbeat
 * const app = createServiceApp({
 *   service: 'example', logger, registry: metrics.registry, liveness,
 *   readiness: async () => ({ ok: true, checks: {} }),
 * });
 * app.get('/hello', async () => 'hi');
 * await runService({
 *   logger, shutdownTimeoutMs: 10_000,
 *   start: async () => { await app.listen({ port: config.TF_PORT }); },
 *   stop: async () => { await app.close(); liveness.stop(); },
 * });
 * ```
 */
export {
  ConfigError,
  isConfigError,
  issuesFromMessage,
  collectIssues,
  type IssueCollector,
  type ConfigErrorCode,
  type ConfigIssue,
} from './config-error.js';
export {
  loadConfig,
  isSecretVariable,
  SECRET_VARIABLE_PATTERN,
  type Env,
  type LoadConfigOptions,
} from './load-config.js';
export {
  createLogger,
  REDACTED_PATHS,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  type LoggerOptions,
} from './logger.js';
export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export {
  createLiveness,
  EVENT_LOOP_HEARTBEAT,
  type Liveness,
  type LivenessOptions,
  type LivenessReport,
  type StaleHeartbeat,
} from './liveness.js';
export {
  createServiceApp,
  PROBE_PATHS,
  type ServiceApp,
  type ServiceAppOptions,
  type ReadinessReport,
  type ErrorBody,
} from './service-app.js';
export {
  runService,
  readConfigOrExit,
  EXIT_CONFIG,
  EXIT_OK,
  EXIT_FAILURE,
  type RunServiceOptions,
  type ServiceLogger,
  type ServiceProcess,
} from './run-service.js';
export { Secret } from './secret.js';
export { cronIntervalMs } from './cron-interval.js';
export { parseJsonSetting, readSettingFile, fileErrorCode } from './setting-transforms.js';
export { createTickSchedule, type TickSchedule, type TickScheduleOptions } from './tick-schedule.js';
