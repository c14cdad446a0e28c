// Post-processor: on duty or parked. A vendor's current status wins; otherwise a vehicle serving a trip is on duty,
// and one standing still with no trip is parked. Stale evidence decides nothing (runs after mark-freshness).

import type { Processor } from '../processor.js';

export interface StatusOptions {
  /** At or below this speed (m/s) a vehicle counts as standing. Default 0.5. */
  readonly standingSpeed?: number;
}

export function deriveStatus(options: StatusOptions = {}): Processor {
  const standing = options.standingSpeed ?? 0.5;
  return {
    name: 'derive-status',
    process(vehicles) {
      for (const v of vehicles) {
        const s = v.sources;
        if (s.status !== undefined && !s.status.stale) continue;
        if (v.tripId !== undefined && !s.tripId?.stale) v.status = 'on_duty';
        else if (v.speed !== undefined && v.speed <= standing && !s.speed?.stale) v.status = 'parked';
        else v.status = 'unknown';
      }
    },
  };
}
