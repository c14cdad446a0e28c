// Per-type processor: values outside what the vehicle type can physically do are removed and flagged, so a bus
// never shows 400 km/h and a tank never 104 %. Speed limits differ per type, which is why this runs per type.

import { QualityFlag, type TransportType, type Vehicle } from '@transit-fusion/model';
import type { Processor } from '../processor.js';

export interface RangeLimits {
  /** Highest believable speed per type, m/s. */
  readonly maxSpeed: Readonly<Record<TransportType, number>>;
  /** Delay bounds in seconds (negative: early). */
  readonly minDelay: number;
  readonly maxDelay: number;
}

export const DEFAULT_RANGE_LIMITS: RangeLimits = Object.freeze({
  maxSpeed: Object.freeze({ bus: 35, trolleybus: 25, tram: 28, rail: 90, ferry: 25, other: 70 }),
  minDelay: -6 * 3600,
  maxDelay: 6 * 3600,
});

type NumericField = 'speed' | 'fuel' | 'delay' | 'bearing';

export function validateRanges(overrides: Partial<RangeLimits> = {}): Processor {
  const limits: RangeLimits = {
    ...DEFAULT_RANGE_LIMITS,
    ...overrides,
    maxSpeed: { ...DEFAULT_RANGE_LIMITS.maxSpeed, ...overrides.maxSpeed },
  };
  return {
    name: 'validate-ranges',
    process(vehicles, context) {
      for (const v of vehicles) {
        const maxSpeed = limits.maxSpeed[v.transportType];
        if (v.speed !== undefined && !(v.speed >= 0 && v.speed <= maxSpeed)) {
          reject(v, 'speed', QualityFlag.SpeedOutOfRange, context.count);
        }
        if (v.fuel !== undefined && !(v.fuel >= 0 && v.fuel <= 100)) {
          reject(v, 'fuel', QualityFlag.FuelOutOfRange, context.count);
        }
        if (v.delay !== undefined && !(v.delay >= limits.minDelay && v.delay <= limits.maxDelay)) {
          reject(v, 'delay', QualityFlag.DelayOutOfRange, context.count);
        }
        if (v.bearing !== undefined) {
          // Any finite angle names a heading; vendors differ only in representation (-90, 450), so normalise.
          if (Number.isFinite(v.bearing)) v.bearing = ((v.bearing % 360) + 360) % 360;
          else reject(v, 'bearing', QualityFlag.BearingOutOfRange, context.count);
        }
      }
    },
  };
}

function reject(v: Vehicle, field: NumericField, flag: number, count: (counter: string) => void): void {
  v[field] = undefined; // not `delete`: keeps the vehicle's hidden class (see fusion.ts)
  v.sources[field] = undefined;
  v.quality |= flag;
  count(`validate-ranges.${field}`);
}
