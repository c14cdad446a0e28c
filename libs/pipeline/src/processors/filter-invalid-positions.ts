// Pre-processor: removes positions no vehicle can have — (0,0) "Null Island" (a GPS without a fix), out of range
// or not finite — and flags the vehicle, so maps never draw it in the Gulf of Guinea and the data-quality check
// can find devices that keep doing it.

import { QualityFlag, type Position } from '@transit-fusion/model';
import type { Processor } from '../processor.js';

export function isValidPosition(p: Position): boolean {
  const { lat, lon } = p;
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return false;
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return false;
  return !(lat === 0 && lon === 0);
}

export function filterInvalidPositions(): Processor {
  return {
    name: 'filter-invalid-positions',
    process(vehicles, context) {
      for (const vehicle of vehicles) {
        if (vehicle.position === undefined || isValidPosition(vehicle.position)) continue;
        // Assigned, not deleted: deleting would push the vehicle out of its hidden class for every later step.
        vehicle.position = undefined;
        vehicle.sources.position = undefined;
        vehicle.quality |= QualityFlag.InvalidPosition;
        context.count('filter-invalid-positions.removed');
      }
    },
  };
}
