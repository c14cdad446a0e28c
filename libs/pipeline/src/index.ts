/**
 * The composer engine: pipes & filters from vendor snapshots to one fused TransportSnapshot.
 *
 * @example
 * ```ts
 * import { createCompositionEngine, createFleetRegistry, defaultSteps } from '@transit-fusion/pipeline';
 * const engine = createCompositionEngine({
 *   vendors: [
 *     { vendorId: 'positions', match: { by: 'key' } },
 *     { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
 *   ],
 *   steps: defaultSteps({ freshness: { maxAgeMs: 90_000 } }),
 * });
 * const { snapshot, report } = await engine.compose({ sequence: 42, snapshots, registry });
 * ```
 */
export {
  createCompositionEngine,
  MAX_VENDORS,
  type CompositionEngine,
  type CompositionEngineOptions,
  type ComposeInput,
  type ComposeResult,
  type ComposeReport,
  type StageTimings,
} from './engine.js';
export type { VendorMatchReport } from './matching.js';
export type { MatchRule, VendorRule } from './match-rule.js';
export {
  createFleetRegistry,
  parseFleetRegistry,
  type FleetEntry,
  type FleetRegistry,
} from './fleet-registry.js';
export type { Processor, ProcessContext, ProcessResult, PipelineSteps } from './processor.js';
export { defaultSteps, type DefaultStepsOptions } from './steps.js';
export { systemClock, type Clock } from './clock.js';
export {
  createCalibrationCache,
  CALIBRATED_FIELDS,
  type CalibrationCache,
  type CalibrationCacheOptions,
  type CalibrationSource,
  type CalibratedField,
  type DeviceCalibration,
  type FieldCalibration,
} from './calibration.js';
export { detectTransportType, type TransportTypeRules } from './processors/detect-transport-type.js';
export { filterInvalidPositions, isValidPosition } from './processors/filter-invalid-positions.js';
export { calibrate, type CalibrateOptions } from './processors/calibrate.js';
export { validateRanges, DEFAULT_RANGE_LIMITS, type RangeLimits } from './processors/validate-ranges.js';
export { markFreshness, type FreshnessOptions } from './processors/mark-freshness.js';
export { deriveStatus, type StatusOptions } from './processors/derive-status.js';
export { PipelineError, isPipelineError, type PipelineErrorCode } from './pipeline-error.js';
