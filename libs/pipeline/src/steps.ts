// The default composition, stage by stage, in run order. To add a step: write it under processors/ and add one
// line here (or build your own PipelineSteps from the same pieces).

import type { CalibrationCache } from './calibration.js';
import type { PipelineSteps } from './processor.js';
import { calibrate } from './processors/calibrate.js';
import { deriveStatus, type StatusOptions } from './processors/derive-status.js';
import { detectTransportType, type TransportTypeRules } from './processors/detect-transport-type.js';
import { filterInvalidPositions } from './processors/filter-invalid-positions.js';
import { markFreshness, type FreshnessOptions } from './processors/mark-freshness.js';
import { validateRanges, type RangeLimits } from './processors/validate-ranges.js';

export interface DefaultStepsOptions {
  readonly transportTypes?: TransportTypeRules;
  /** Without a cache the calibrate step is left out. */
  readonly calibration?: CalibrationCache;
  readonly ranges?: Partial<RangeLimits>;
  readonly freshness?: FreshnessOptions;
  readonly status?: StatusOptions;
}

export function defaultSteps(options: DefaultStepsOptions = {}): PipelineSteps {
  return {
    pre: [
      detectTransportType(options.transportTypes), //
      filterInvalidPositions(),
    ],
    perType: [
      ...(options.calibration ? [calibrate({ cache: options.calibration })] : []),
      validateRanges(options.ranges),
    ],
    post: [
      markFreshness(options.freshness), // before derive-status: stale evidence must not decide the status
      deriveStatus(options.status),
    ],
  };
}
