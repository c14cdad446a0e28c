/**
 * The composer service: one fused transport snapshot per tick from every vendor's latest snapshot, stored under
 * the time index and announced on the snapshots topic, with one leader among replicas (a fenced blob lease).
 *
 * @example
 * ```ts
 * import { composerConfigFromEnv, createComposerService } from '@transit-fusion/composer';
 * const config = composerConfigFromEnv(process.env);
 * const service = createComposerService({ config, logger, metrics, liveness, lease, vendorSnapshots, store, deviceState, announce, alert });
 * await service.start();
 * ```
 */
export { ComposerError, isComposerError, type ComposerErrorCode } from './composer-error.js';
export {
  composerConfigFromEnv,
  COMPOSER_ENV_DEFAULTS,
  type ComposerConfig,
  type QualityCheckSettings,
} from './config.js';
export {
  createComposer,
  type Composer,
  type ComposerDeps,
  type SnapshotAnnouncement,
  type StageMs,
  type TickReport,
} from './composer.js';
export {
  createComposerService,
  type ComposerService,
  type ComposerServiceDeps,
  type ComposerStatus,
} from './composer-service.js';
export { createChangeTracker, type ChangeSummary, type ChangeTracker } from './change-summary.js';
export { createQualityMonitor, distanceM, type DeviceAlert, type QualityMonitor } from './quality-monitor.js';
export { createDeviceStateWriter, type DeviceStateWriter } from './device-state-writer.js';
export { createRegistrySource, type RegistrySource } from './registry-source.js';
