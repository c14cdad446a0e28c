// Per-type processor: applies each device's calibration before range validation judges the values.
// A failing calibration source does not fail the tick: values stay raw (no Calibrated flag) and it is counted.

import { QualityFlag, type TransportType, type Vehicle } from '@transit-fusion/model';
import { CALIBRATED_FIELDS, type CalibrationCache } from '../calibration.js';
import type { Processor } from '../processor.js';

export interface CalibrateOptions {
  readonly cache: CalibrationCache;
  /** Only these types carry calibrated sensors; default all. */
  readonly transportTypes?: readonly TransportType[];
}

export function calibrate(options: CalibrateOptions): Processor {
  const { cache } = options;
  return {
    name: 'calibrate',
    ...(options.transportTypes ? { transportTypes: options.transportTypes } : {}),
    async process(vehicles, context) {
      try {
        await cache.ensure(vehicles.map((v) => v.id));
      } catch {
        context.count('calibrate.load-failed');
      }
      for (const vehicle of vehicles) {
        const calibration = cache.get(vehicle.id);
        if (!calibration) continue;
        let applied = false;
        for (const field of CALIBRATED_FIELDS) {
          const c = calibration[field];
          const raw = vehicle[field];
          if (c === undefined || raw === undefined) continue;
          (vehicle as Pick<Vehicle, typeof field>)[field] = raw * (c.scale ?? 1) + (c.offset ?? 0);
          applied = true;
        }
        if (applied) {
          vehicle.quality |= QualityFlag.Calibrated;
          context.count('calibrate.applied');
        }
      }
    },
  };
}
